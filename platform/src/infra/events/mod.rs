//! The transactional event outbox: every state change writes its event row in the same
//! transaction as the change, so an event exists exactly when its change committed. The same
//! transaction writes one pending webhook delivery per endpoint that wants the event, so a
//! crash loses neither.

pub mod entity;
pub mod fan_out;
pub mod view;
pub mod wake;
pub mod webhook_tables;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Select,
};
use serde_json::{Map, Value};
use uuid::Uuid;

pub use entity::Model as Event;

/// Declares [`EventType`] and [`EVENT_TYPES`] from one list, so the enum, its wire names and
/// the list the OpenAPI document and endpoint validation read cannot drift apart.
macro_rules! event_types {
    ($($variant:ident => $name:literal,)*) => {
        /// Every event type Agora records, by object. Webhook endpoints subscribe to these
        /// (exactly, or by a prefix pattern that matches at least one); [`record_at`] takes
        /// no other. Serialised as its wire name (`charge.succeeded`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $($variant,)*
        }

        impl EventType {
            /// Every type, in the order of the list.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            /// The wire name: `charge.succeeded`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }

            /// The Rust name, for the check that every type is recorded somewhere.
            #[cfg(test)]
            const fn variant_name(self) -> &'static str {
                match self {
                    $(EventType::$variant => stringify!($variant),)*
                }
            }
        }

        /// The wire names of [`EventType::ALL`].
        pub const EVENT_TYPES: &[&str] = &[$($name,)*];
    };
}

event_types! {
    AccountCreated => "account.created",
    AccountUpdated => "account.updated",
    AccountExternalAccountCreated => "account.external_account.created",
    AccountExternalAccountUpdated => "account.external_account.updated",
    AccountExternalAccountDeleted => "account.external_account.deleted",
    AccountPayoutSettingsUpdated => "account.payout_settings.updated",
    CapabilityUpdated => "capability.updated",
    ReviewOpened => "review.opened",
    ReviewClosed => "review.closed",
    FeeRuleCreated => "fee_rule.created",
    FeeRuleUpdated => "fee_rule.updated",
    ChargeSucceeded => "charge.succeeded",
    ChargePending => "charge.pending",
    ChargeFailed => "charge.failed",
    ChargeCaptured => "charge.captured",
    ChargeRefunded => "charge.refunded",
    ChargeDisputeCreated => "charge.dispute.created",
    ChargeDisputeClosed => "charge.dispute.closed",
    TransferCreated => "transfer.created",
    TransferReversed => "transfer.reversed",
    BalanceAvailable => "balance.available",
    PayoutCreated => "payout.created",
    PayoutUpdated => "payout.updated",
    PayoutPaid => "payout.paid",
    PayoutFailed => "payout.failed",
    PayoutCanceled => "payout.canceled",
    WebhookEndpointCreated => "webhook_endpoint.created",
    WebhookEndpointUpdated => "webhook_endpoint.updated",
    WebhookEndpointDeleted => "webhook_endpoint.deleted",
    WebhookEndpointDisabled => "webhook_endpoint.disabled",
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventType {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or(())
    }
}

impl serde::Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Is `kind` one of [`EVENT_TYPES`]?
pub fn is_event_type(kind: &str) -> bool {
    kind.parse::<EventType>().is_ok()
}

/// Where a change came from, carried into its event so a platform can match events to calls.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub livemode: bool,
    pub account_id: Option<Uuid>,
    pub kind: EventType,
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
    event: NewEvent,
    origin: &Origin,
) -> Result<Event, DbErr> {
    let now = crate::infra::clock::now(db, event.livemode).await?;
    record_at(db, event, origin, now).await
}

/// Records `event` with `created` = `now`, which must be the mode's clock
/// (`clock::now(db, event.livemode)`), and writes its webhook deliveries.
pub async fn record_at(
    db: &impl ConnectionTrait,
    event: NewEvent,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<Event, DbErr> {
    let event = entity::ActiveModel::from(row(event, origin.clone(), now))
        .insert(db)
        .await?;
    fan_out::fan_out(db, std::slice::from_ref(&event)).await?;
    Ok(event)
}

/// Records many events at once (the charge writer's batch), each with its own origin and
/// time (the mode's clock), and their webhook deliveries: one INSERT for the events, one
/// query for the endpoints per mode present, one INSERT for the deliveries.
pub async fn record_many(
    db: &impl ConnectionTrait,
    events: Vec<(NewEvent, Origin, DateTime<Utc>)>,
) -> Result<(), DbErr> {
    let models: Vec<Event> = events
        .into_iter()
        .map(|(event, origin, now)| row(event, origin, now))
        .collect();
    if models.is_empty() {
        return Ok(());
    }
    let rows: Vec<entity::ActiveModel> = models.iter().cloned().map(Into::into).collect();
    // Events carry their objects whole (a cart's charge is a few KB): a few hundred per
    // INSERT stays well within both databases' statement and parameter limits.
    for chunk in rows.chunks(256) {
        entity::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    fan_out::fan_out(db, &models).await
}

/// The row of `event`, created at `now` (the mode's clock).
fn row(event: NewEvent, origin: Origin, now: DateTime<Utc>) -> Event {
    let mut data = Map::new();
    data.insert("object".to_owned(), event.object);
    if let Some(previous) = event.previous_attributes {
        data.insert("previous_attributes".to_owned(), previous);
    }
    entity::Model {
        id: Uuid::now_v7(),
        livemode: event.livemode,
        account_id: event.account_id,
        kind: event.kind.as_str().to_owned(),
        data: Value::Object(data),
        request_id: origin.request_id,
        idempotency_key: origin.idempotency_key,
        created_at: now,
    }
}

/// Events visible to a caller: one mode, and for a connected account only its own.
pub fn scoped(livemode: bool, account: Option<Uuid>) -> Select<entity::Entity> {
    let query = entity::Entity::find().filter(entity::Column::Livemode.eq(livemode));
    match account {
        Some(account) => query.filter(entity::Column::AccountId.eq(account)),
        None => query,
    }
}

/// `GET /v1/events`: the caller's events, optionally of one type.
pub fn query(
    livemode: bool,
    account: Option<Uuid>,
    kind: Option<String>,
) -> Select<entity::Entity> {
    let query = scoped(livemode, account);
    match kind {
        Some(kind) => query.filter(entity::Column::Kind.eq(kind)),
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

    /// Literals in the sources that look like event types but name something else.
    const NOT_EVENT_TYPES: &[&str] = &[
        // Ledger entry kinds (payments).
        "charge.authorized",
        "charge.settled",
        "transfer.reversal",
    ];

    /// The string literals of Rust `code` (comments, char literals and lifetimes skipped; raw
    /// strings read whole), each with the code just before it.
    fn string_literals(code: &str) -> Vec<(String, String)> {
        let chars: Vec<char> = code.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if c == '/' && next == Some('/') {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            } else if c == '/' && next == Some('*') {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            } else if c == '\'' {
                // A char literal ('x', '\n', '"') or a lifetime ('a).
                if next == Some('\\') {
                    // Past the backslash and the escaped char, to the closing quote.
                    i += 3;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            } else if c == 'r'
                && (next == Some('"') || next == Some('#'))
                && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    i += 1;
                    continue;
                }
                let body_start = j + 1;
                let mut k = body_start;
                while k < chars.len()
                    && !(chars[k] == '"' && (1..=hashes).all(|h| chars.get(k + h) == Some(&'#')))
                {
                    k += 1;
                }
                let before: String = chars[i.saturating_sub(8)..i].iter().collect();
                out.push((
                    chars[body_start..k.min(chars.len())].iter().collect(),
                    before,
                ));
                i = k + 1 + hashes;
            } else if c == '"' {
                let before: String = chars[i.saturating_sub(8)..i].iter().collect();
                let mut literal = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    if let Some(&c) = chars.get(i) {
                        literal.push(c);
                    }
                    i += 1;
                }
                out.push((literal, before));
                i += 1;
            } else {
                i += 1;
            }
        }
        out
    }

    /// Every string literal `"object.verb"` (an object of some event type) in `src`, outside
    /// test modules and page/email string keys, with its file.
    fn event_like_literals() -> Vec<(String, String)> {
        let objects: Vec<&str> = EVENT_TYPES
            .iter()
            .filter_map(|t| t.split('.').next())
            .collect();
        let mut found = Vec::new();
        for (path, code) in shipped_sources() {
            // Page and email strings are keyed `review.name`, `payout.paid.subject`, …
            if path.ends_with("infra/i18n.rs") {
                continue;
            }
            for (literal, before) in string_literals(&code) {
                let looks_like = literal.contains('.')
                    && literal.split('.').all(|p| {
                        !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    })
                    && objects.contains(&literal.split('.').next().unwrap_or(""));
                let string_key = before.ends_with(".s(") || before.ends_with("fill(");
                if looks_like && !string_key {
                    found.push((literal, path.display().to_string()));
                }
            }
        }
        found
    }

    #[test]
    fn the_literal_reader_skips_comments_chars_and_lifetimes() {
        let code = r##"fn f<'a>(x: &'a str) -> char { // "not.this"
            let q = '"'; /* "nor.this" */ let e = '\''; s("key.x"); r#"raw "q""#; "a\"b" }"##;
        let found: Vec<String> = string_literals(code).into_iter().map(|(l, _)| l).collect();
        assert_eq!(found, ["key.x", "raw \"q\"", "a\"b"]);
    }

    /// Every source file of the crate with the part before its first `#[cfg(test)]` (what
    /// ships).
    fn shipped_sources() -> Vec<(std::path::PathBuf, String)> {
        let mut out = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
                let path = entry.map(|e| e.path()).unwrap_or_default();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    let source = std::fs::read_to_string(&path).unwrap_or_default();
                    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
                    out.push((path, code.to_owned()));
                }
            }
        }
        out
    }

    #[test]
    fn the_enum_and_the_list_agree() {
        assert_eq!(EventType::ALL.len(), EVENT_TYPES.len());
        for (kind, name) in EventType::ALL.iter().zip(EVENT_TYPES) {
            assert_eq!(kind.as_str(), *name);
            assert_eq!(name.parse::<EventType>(), Ok(*kind));
            assert_eq!(serde_json::to_value(kind).ok(), Some(json!(name)));
        }
        assert!("charge.nonsense".parse::<EventType>().is_err());
    }

    #[test]
    fn every_event_type_the_code_names_is_listed() {
        let found = event_like_literals();
        for (literal, file) in &found {
            assert!(
                is_event_type(literal) || NOT_EVENT_TYPES.contains(&literal.as_str()),
                "{file} names {literal}: add it to EVENT_TYPES (or, if it is no event, to NOT_EVENT_TYPES here)"
            );
        }
        // And every type is recorded somewhere: some source outside this file names its
        // variant (`EventType::ChargeSucceeded`).
        let sources: Vec<String> = shipped_sources()
            .into_iter()
            .filter(|(path, _)| !path.ends_with("infra/events/mod.rs"))
            .map(|(_, code)| code)
            .collect();
        for kind in EventType::ALL {
            let named = format!("EventType::{}", kind.variant_name());
            assert!(
                sources.iter().any(|s| s.contains(&named)),
                "{kind} is listed but nothing records it"
            );
        }
        let mut sorted = EVENT_TYPES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), EVENT_TYPES.len(), "no duplicates");
    }

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
