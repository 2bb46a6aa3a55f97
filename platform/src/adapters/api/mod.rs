//! The JSON API under `/v1`: thin translations between HTTP shapes and the domain crates.

pub mod account_links;
pub mod accounts;
pub mod api_usage;
mod errors;
pub mod events;
pub mod external_accounts;
pub mod fee_rules;
pub mod files;
pub mod health;
pub mod listing;
pub mod metrics;
pub mod openapi;
pub mod reviews;

use chrono::{DateTime, Utc};

pub use crate::infra::wire::timestamp;

pub mod balance;
pub mod charges;
pub mod disputes;
pub mod payouts;
pub mod refunds;
pub mod restricted_keys;
pub mod transfers;
pub mod webhook_endpoints;

use crate::adapters::gateway::error::ApiError;

/// `created[gte]` / `created[lte]` list filters: RFC 3339 instants.
pub fn parse_instant(param: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::invalid(
                param,
                "parameter_invalid",
                format!("{param} must be an RFC 3339 time, e.g. 2026-11-25T00:00:00Z"),
            )
        })
}

/// Reads a `cur` code into a currency, naming `param` on failure.
/// Any letter case is accepted: upper case is a common slip.
pub fn parse_currency(
    param: impl Into<String>,
    value: &str,
) -> Result<agora_ledger::Currency, ApiError> {
    agora_ledger::Currency::parse(value)
        .map_err(|e| ApiError::invalid(param, "currency_invalid", e.to_string()))
}

/// Reads an `acct_` id that must name an account (existence is checked by the domain).
pub fn parse_account_id(
    param: &str,
    value: &str,
) -> Result<crate::infra::wire::typed::AccountId, ApiError> {
    listing::filter_id(param, value)
}

/// Longest free text accepted (descriptions, transfer groups, references).
pub const MAX_TEXT: usize = 1000;
pub const MAX_SHORT_TEXT: usize = 255;

pub fn check_text(param: &str, value: &Option<String>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > max => Err(ApiError::invalid(
            param,
            "parameter_too_long",
            format!("{param} can be at most {max} characters"),
        )),
        _ => Ok(()),
    }
}
