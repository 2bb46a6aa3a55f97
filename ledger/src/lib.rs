//! Money and the double-entry ledger.
//!
//! This crate knows nothing of sellers, charges or HTTP: it moves integer minor units between
//! ledger accounts (an owner, a kind, a currency) in journal entries that balance per
//! currency. Amounts are always `i64` minor units of one ISO 4217 currency; floats never come
//! near an amount. Lines are append-only; a mistake is corrected by a reversing entry.
//!
//! - [`money`]: `Currency` (exponents from `iso_currency`) and `Money`.
//! - [`journal`]: accounts, posting, two-phase entries, balances.
//! - [`batch`]: group commit, many new entries in a fixed number of statements.
//! - [`verify`]: the invariants of DESIGN.md, checked over a whole database.

pub mod batch;
pub mod entity;
pub mod journal;
pub mod money;
pub mod verify;

pub use journal::{
    AccountKind, AccountRef, Balances, Guard, LedgerError, LineSpec, NewEntry, Owner, Posted,
    Resolution, Side,
};
pub use money::{Currency, CurrencyError, Money, MoneyError};

/// The counter of journal entries written (a `metrics` facade counter, labelled `mode`; the
/// binary that installs a recorder exports it). Counted when the INSERT succeeds: an entry in a
/// transaction that later rolls back was counted too.
pub const ENTRIES_POSTED_METRIC: &str = "agora_ledger_entries_posted_total";

pub(crate) fn count_entries(livemode: bool, n: usize) {
    let mode = if livemode { "live" } else { "test" };
    metrics::counter!(ENTRIES_POSTED_METRIC, "mode" => mode).increment(n as u64);
}
