//! The transactional outbox's second half: every event is fanned out to the webhook
//! endpoints of its mode that want it, in the event's transaction. The webhook tables
//! ([`super::webhook_tables`]) are written here; the webhooks domain owns their meaning
//! (endpoints, signing, delivery) and imports this module, never the other way round.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::webhook_tables::{delivery as deliveries, endpoint as endpoints};

/// Does an endpoint listening for `pattern` want events of type `kind`?
pub fn matches(pattern: &str, kind: &str) -> bool {
    if pattern == "*" || pattern == kind {
        return true;
    }
    match pattern.strip_suffix('*') {
        // `charge.*` covers `charge.refunded` and `charge.dispute.closed`, not `charges.x`.
        Some(prefix) => prefix.ends_with('.') && kind.starts_with(prefix),
        None => false,
    }
}

/// Does an endpoint with these stored patterns want `kind`?
pub fn wants(enabled_events: &serde_json::Value, kind: &str) -> bool {
    enabled_events.as_array().is_some_and(|list| {
        list.iter()
            .filter_map(|p| p.as_str())
            .any(|p| matches(p, kind))
    })
}

/// The transactional outbox's second half: one pending delivery per enabled endpoint of an
/// event's mode that wants it, written in the events' transaction, due at the event's time
/// (the mode's clock). One endpoints query per mode present (at most 20 endpoints each), one
/// INSERT (in chunks) for every delivery, one wake-up.
pub async fn fan_out(db: &impl ConnectionTrait, events: &[super::Event]) -> Result<(), DbErr> {
    let mut rows = Vec::new();
    for livemode in [false, true] {
        if !events.iter().any(|e| e.livemode == livemode) {
            continue;
        }
        let endpoints = endpoints::Entity::find()
            .filter(endpoints::Column::Livemode.eq(livemode))
            .filter(endpoints::Column::Disabled.eq(false))
            .all(db)
            .await?;
        for event in events.iter().filter(|e| e.livemode == livemode) {
            for endpoint in endpoints
                .iter()
                .filter(|e| wants(&e.enabled_events, &event.kind))
            {
                rows.push(pending_delivery(
                    livemode,
                    endpoint.id,
                    event.id,
                    event.created_at,
                ));
            }
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    for chunk in rows.chunks(1_000) {
        deliveries::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    super::wake::written(db, super::wake::Outbox::Webhooks).await
}

pub fn pending_delivery(
    livemode: bool,
    endpoint_id: Uuid,
    event_id: Uuid,
    now: DateTime<Utc>,
) -> deliveries::ActiveModel {
    deliveries::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(livemode),
        endpoint_id: Set(endpoint_id),
        event_id: Set(event_id),
        status: Set(deliveries::DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_status_code: Set(None),
        last_error: Set(None),
        last_latency_ms: Set(None),
        delivered_at: Set(None),
        created_at: Set(now),
    }
}
