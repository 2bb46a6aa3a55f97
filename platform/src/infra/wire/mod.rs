//! How every layer writes what the API shows: public ids (TypeIDs) and times. The domain's
//! views (the objects its events carry) and the adapters use the same two formats.

pub mod ids;
pub mod typed;

use chrono::{DateTime, SecondsFormat, Utc};

/// RFC 3339 UTC, whole seconds: `2026-11-25T17:27:22Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
