//! Webhook endpoints as the platform manages them: create (at most
//! [`MAX_ENDPOINTS_PER_MODE`](super::MAX_ENDPOINTS_PER_MODE) per mode, a fresh sealed secret),
//! update, delete (with their pending deliveries), rotate the secret, and redeliver an event.
//! Each runs in the caller's transaction at the mode's clock and records its
//! `webhook_endpoint.*` event there (never with the secret).

use crate::infra::events::EventType;
use std::collections::BTreeMap;

use agora_onboarding::seal::Sealer;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::entity::{delivery as deliveries, endpoint as endpoints};
use super::view::EndpointObject;
use super::{new_secret, pending_delivery, seal_secret, wants, MAX_ENDPOINTS_PER_MODE};
use crate::infra::events::{self, NewEvent, Origin};
use crate::infra::wire::ids::{self, IdKind};

pub use endpoints::Model as Endpoint;

/// What managing endpoints refuses or fails at; mapped to HTTP once (`api/errors.rs`).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The endpoint or event named in the path (`id`, its public id) is not in this mode.
    #[error("no such {what}: {id}")]
    NotFound { what: &'static str, id: String },
    /// An id in the input names no `what` in this mode.
    #[error("no such {what}: {id}")]
    Missing {
        param: &'static str,
        what: &'static str,
        id: String,
    },
    #[error("{message}")]
    Invalid {
        param: &'static str,
        code: &'static str,
        message: String,
    },
    /// The request is valid but the mode's state forbids it (the endpoint limit).
    #[error("{message}")]
    State { code: &'static str, message: String },
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Internal(String),
}

fn endpoint_missing(id: Uuid) -> WebhookError {
    WebhookError::NotFound {
        what: "webhook_endpoint",
        id: ids::encode(IdKind::WebhookEndpoint, id),
    }
}

fn object_json(endpoint: &Endpoint) -> Result<Value, WebhookError> {
    serde_json::to_value(EndpointObject::from_model(endpoint))
        .map_err(|e| WebhookError::Internal(e.to_string()))
}

/// An endpoint of this mode.
pub async fn find(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: Uuid,
) -> Result<Option<Endpoint>, sea_orm::DbErr> {
    crate::infra::db::page::find_by_id(db, super::endpoints(livemode), id).await
}

async fn found(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: Uuid,
) -> Result<Endpoint, WebhookError> {
    find(db, livemode, id)
        .await?
        .ok_or_else(|| endpoint_missing(id))
}

async fn record(
    db: &impl ConnectionTrait,
    livemode: bool,
    origin: &Origin,
    kind: EventType,
    object: Value,
    previous: Option<Value>,
) -> Result<(), WebhookError> {
    events::record(
        db,
        NewEvent {
            livemode,
            account_id: None,
            kind,
            object,
            previous_attributes: previous,
        },
        origin,
    )
    .await?;
    Ok(())
}

/// A new endpoint, checked by the caller (URL against SSRF, patterns, texts, metadata).
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: String,
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// Creates an endpoint with a new secret; returns it and the secret in the clear (shown once).
pub async fn create(
    txn: &impl ConnectionTrait,
    sealer: &Sealer,
    livemode: bool,
    new: NewEndpoint,
    origin: &Origin,
) -> Result<(Endpoint, String), WebhookError> {
    let count = endpoints::Entity::find()
        .filter(endpoints::Column::Livemode.eq(livemode))
        .count(txn)
        .await?;
    if count >= MAX_ENDPOINTS_PER_MODE {
        return Err(WebhookError::State {
            code: "limit_exceeded",
            message: format!(
                "A mode can have at most {MAX_ENDPOINTS_PER_MODE} webhook endpoints; delete one first."
            ),
        });
    }
    let now = crate::infra::clock::now(txn, livemode).await?;
    let secret = new_secret();
    let endpoint = endpoints::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(livemode),
        url: Set(new.url),
        enabled_events: Set(json!(new.enabled_events)),
        description: Set(new.description.filter(|d| !d.is_empty())),
        metadata: Set(json!(new.metadata)),
        disabled: Set(false),
        secret: Set(seal_secret(sealer, &secret)),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    // The event carries the object without its secret.
    record(
        txn,
        livemode,
        origin,
        EventType::WebhookEndpointCreated,
        object_json(&endpoint)?,
        None,
    )
    .await?;
    Ok((endpoint, secret))
}

/// A change to an endpoint, checked by the caller against the current endpoint.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    /// `Some("")` removes the description.
    pub description: Option<String>,
    /// The whole metadata after the merge.
    pub metadata: Option<BTreeMap<String, String>>,
    /// `false` re-enables and clears `failing_since`.
    pub disabled: Option<bool>,
}

/// Changes an endpoint: `check` turns the request into the change once the current endpoint
/// is found (so a missing endpoint is reported before a bad parameter), and the update
/// records `webhook_endpoint.updated` when the public object changed.
pub async fn update<E: From<WebhookError>>(
    txn: &impl ConnectionTrait,
    livemode: bool,
    id: Uuid,
    check: impl FnOnce(&Endpoint) -> Result<EndpointChange, E>,
    origin: &Origin,
) -> Result<Endpoint, E> {
    let current = found(txn, livemode, id).await?;
    let before = object_json(&current)?;
    let change = check(&current)?;
    let mut model: endpoints::ActiveModel = current.into();
    if let Some(url) = change.url {
        model.url = Set(url);
    }
    if let Some(patterns) = change.enabled_events {
        model.enabled_events = Set(json!(patterns));
    }
    if let Some(description) = change.description {
        model.description = Set(Some(description).filter(|d| !d.is_empty()));
    }
    if let Some(metadata) = change.metadata {
        model.metadata = Set(json!(metadata));
    }
    if let Some(disabled) = change.disabled {
        model.disabled = Set(disabled);
        if !disabled {
            // A fresh start: the 3-day failure window counts from the next failure.
            model.failing_since = Set(None);
        }
    }
    let after = model.update(txn).await.map_err(WebhookError::from)?;
    let object = object_json(&after)?;
    let previous = events::previous_attributes(&before, &object);
    if previous.as_object().is_some_and(|m| !m.is_empty()) {
        record(
            txn,
            livemode,
            origin,
            EventType::WebhookEndpointUpdated,
            object,
            Some(previous),
        )
        .await?;
    }
    Ok(after)
}

/// Deletes an endpoint and its pending deliveries (the attempt log stays: it names the
/// endpoint by id); records `webhook_endpoint.deleted` with the endpoint as it was.
pub async fn delete(
    txn: &impl ConnectionTrait,
    livemode: bool,
    id: Uuid,
    origin: &Origin,
) -> Result<Endpoint, WebhookError> {
    let current = found(txn, livemode, id).await?;
    deliveries::Entity::delete_many()
        .filter(deliveries::Column::EndpointId.eq(id))
        .exec(txn)
        .await?;
    endpoints::Entity::delete_by_id(id).exec(txn).await?;
    record(
        txn,
        livemode,
        origin,
        EventType::WebhookEndpointDeleted,
        object_json(&current)?,
        None,
    )
    .await?;
    Ok(current)
}

/// Gives an endpoint a new secret; the previous one keeps signing for
/// [`ROTATION_OVERLAP`](super::ROTATION_OVERLAP). Returns it and the new secret in the clear.
/// No event: nothing in the public object changed, and events never carry secrets.
pub async fn rotate_secret(
    txn: &impl ConnectionTrait,
    sealer: &Sealer,
    livemode: bool,
    id: Uuid,
) -> Result<(Endpoint, String), WebhookError> {
    let current = found(txn, livemode, id).await?;
    let now = crate::infra::clock::now(txn, livemode).await?;
    let mut model: endpoints::ActiveModel = current.clone().into();
    // One previous secret at a time: rotating again within 24 h retires the oldest.
    model.previous_secret = Set(Some(current.secret.clone()));
    model.previous_secret_expires_at = Set(Some(now + super::ROTATION_OVERLAP));
    let secret = new_secret();
    model.secret = Set(seal_secret(sealer, &secret));
    let after = model.update(txn).await?;
    Ok((after, secret))
}

/// Delivers an event again: to `endpoint` (decoded by the caller; its error comes after a
/// missing event), or to every enabled endpoint of the mode that wants it. Each gets a fresh
/// pending delivery (a new 3-day window, the schedule from the start). Returns the endpoints.
pub async fn redeliver<E: From<WebhookError>>(
    txn: &impl ConnectionTrait,
    livemode: bool,
    event_id: Uuid,
    endpoint: Option<Result<Uuid, E>>,
) -> Result<Vec<Uuid>, E> {
    let event = events::scoped(livemode, None)
        .filter(events::entity::Column::Id.eq(event_id))
        .one(txn)
        .await
        .map_err(WebhookError::from)?
        .ok_or_else(|| WebhookError::NotFound {
            what: "event",
            id: ids::encode(IdKind::Event, event_id),
        })?;
    let targets: Vec<Uuid> = match endpoint {
        Some(id) => {
            let id = id?;
            let endpoint = endpoints::Entity::find_by_id(id)
                .filter(endpoints::Column::Livemode.eq(livemode))
                .one(txn)
                .await
                .map_err(WebhookError::from)?
                .ok_or_else(|| WebhookError::Missing {
                    param: "endpoint",
                    what: "webhook_endpoint",
                    id: ids::encode(IdKind::WebhookEndpoint, id),
                })?;
            if endpoint.disabled {
                return Err(WebhookError::Invalid {
                    param: "endpoint",
                    code: "endpoint_disabled",
                    message: "The endpoint is disabled; enable it first.".to_owned(),
                }
                .into());
            }
            if !wants(&endpoint.enabled_events, &event.kind) {
                return Err(WebhookError::Invalid {
                    param: "endpoint",
                    code: "event_not_enabled",
                    message: format!("The endpoint does not listen for {}.", event.kind),
                }
                .into());
            }
            vec![id]
        }
        None => endpoints::Entity::find()
            .filter(endpoints::Column::Livemode.eq(livemode))
            .filter(endpoints::Column::Disabled.eq(false))
            .all(txn)
            .await
            .map_err(WebhookError::from)?
            .into_iter()
            .filter(|e| wants(&e.enabled_events, &event.kind))
            .map(|e| e.id)
            .collect(),
    };
    let now = crate::infra::clock::now(txn, livemode)
        .await
        .map_err(WebhookError::from)?;
    for endpoint_id in &targets {
        // The (endpoint, event) row exists if the event was fanned out to it: start it over.
        deliveries::Entity::insert(pending_delivery(livemode, *endpoint_id, event.id, now))
            .on_conflict(
                OnConflict::columns([deliveries::Column::EndpointId, deliveries::Column::EventId])
                    .update_columns([
                        deliveries::Column::Status,
                        deliveries::Column::Attempts,
                        deliveries::Column::NextAttemptAt,
                        deliveries::Column::LockedUntil,
                        deliveries::Column::DeliveredAt,
                        deliveries::Column::CreatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await
            .map_err(WebhookError::from)?;
    }
    Ok(targets)
}
