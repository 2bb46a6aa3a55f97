//! The JSON API under `/v1`: thin translations between HTTP shapes and the domain crates.

pub mod accounts;
pub mod events;
pub mod fee_rules;
pub mod health;
pub mod openapi;

use chrono::{DateTime, SecondsFormat, Utc};

/// RFC 3339 UTC, whole seconds: `2026-11-25T17:27:22Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
