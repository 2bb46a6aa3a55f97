//! Money and the double-entry ledger.
//!
//! This crate knows nothing of sellers, charges or HTTP: it moves integer minor units between
//! ledger accounts. Amounts are always `i64` minor units of one ISO 4217 currency; floats never
//! come near an amount.

pub mod money;

pub use money::{Currency, CurrencyError, Money, MoneyError};
