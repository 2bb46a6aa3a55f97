//! The transactional event outbox: every state change writes its event row in the same
//! transaction as the change, so an event exists exactly when its change committed. The same
//! transaction writes one pending webhook delivery per endpoint that wants the event, so a
//! crash loses neither.

pub mod entity;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Select, Set,
};
use serde_json::{Map, Value};
use uuid::Uuid;

pub use entity::Model as Event;

/// Where a change came from, carried into its event so a platform can match events to calls.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
}

pub struct NewEvent<'a> {
    pub livemode: bool,
    pub account_id: Option<Uuid>,
    pub kind: &'a str,
    /// The object after the change, in its API shape.
    pub object: Value,
    /// For updates, the changed attributes' values before the change.
    pub previous_attributes: Option<Value>,
}

/// Records `event` at the mode's clock (test mode: the test clock), read here: one small
/// query in test mode. A caller that already read the clock in this transaction passes its
/// `now` to [`record_at`] instead.
pub async fn record(
    db: &impl ConnectionTrait,
    event: NewEvent<'_>,
    origin: &Origin,
) -> Result<Event, DbErr> {
    let now = crate::payments::clock::now(db, event.livemode).await?;
    record_at(db, event, origin, now).await
}

/// Records `event` with `created` = `now`, which must be the mode's clock
/// (`clock::now(db, event.livemode)`), and writes its webhook deliveries.
pub async fn record_at(
    db: &impl ConnectionTrait,
    event: NewEvent<'_>,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<Event, DbErr> {
    let mut data = Map::new();
    data.insert("object".to_owned(), event.object);
    if let Some(previous) = event.previous_attributes {
        data.insert("previous_attributes".to_owned(), previous);
    }
    let event = entity::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(event.livemode),
        account_id: Set(event.account_id),
        kind: Set(event.kind.to_owned()),
        data: Set(Value::Object(data)),
        request_id: Set(origin.request_id.clone()),
        idempotency_key: Set(origin.idempotency_key.clone()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    crate::webhooks::fan_out(db, &event).await?;
    Ok(event)
}

/// Events visible to a caller: one mode, and for a connected account only its own.
pub fn scoped(livemode: bool, account: Option<Uuid>) -> Select<entity::Entity> {
    let query = entity::Entity::find().filter(entity::Column::Livemode.eq(livemode));
    match account {
        Some(account) => query.filter(entity::Column::AccountId.eq(account)),
        None => query,
    }
}

/// The top-level attributes of `before` whose value differs in `after`, with their old values:
/// the `previous_attributes` of an update event.
pub fn previous_attributes(before: &Value, after: &Value) -> Value {
    let (Value::Object(before), Value::Object(after)) = (before, after) else {
        return Value::Object(Map::new());
    };
    Value::Object(
        before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn previous_attributes_holds_only_changes() {
        let before = json!({"id": "a", "email": "x@y.se", "metadata": {"k": "1"}});
        let after = json!({"id": "a", "email": "z@y.se", "metadata": {"k": "1"}});
        assert_eq!(
            previous_attributes(&before, &after),
            json!({"email": "x@y.se"})
        );
        assert_eq!(previous_attributes(&before, &before), json!({}));
    }
}
