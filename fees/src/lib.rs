//! The fee rules engine: match a charge to the operator's rules, price it, round it, explain it.
//!
//! Pure by design: no I/O, no database, no clock of its own (time and the seller's monthly
//! volume come in the [`ChargeContext`]), so a quote is deterministic and can be
//! property-tested, and the platform can cache rules and price a batch of charges without
//! touching storage.
//!
//! - [`rule`]: the types — rules, conditions, pricing, the charge context and the quote.
//! - [`conditions`]: matching ([`Conditions::matches`]), [`select_rule`] (highest priority
//!   wins) and [`overlaps`] (could one charge match two rules?).
//! - [`validate`](mod@validate): [`validate()`] a rule field by field and [`check_conflicts`]
//!   with the active rules; errors carry a field path and a stable code.
//! - [`pricing`]: [`price`] a charge with a rule and [`quote`] (select + price), with
//!   explanation lines.
//!
//! Money is `i64` minor units of an [`agora_ledger::Currency`]; rates are `Decimal` percent.
//! No floats; one rounding per component; the fee plus its VAT never exceeds the charge.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod conditions;
pub mod pricing;
pub mod rule;
pub mod validate;

pub use conditions::{overlaps, select_rule};
pub use pricing::{price, quote, QuoteError};
pub use rule::{
    ChargeContext, Conditions, Pricing, Quote, Rounding, Rule, Tier, TierMode, Tiers, Vat,
};
pub use validate::{check_conflicts, validate, RuleError};

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod table_tests;

#[cfg(test)]
pub(crate) mod test_support {
    use std::str::FromStr;

    use agora_ledger::Currency;
    use chrono::{TimeZone, Utc};
    use rust_decimal::Decimal;
    use uuid::Uuid;

    use crate::rule::{ChargeContext, Conditions, Pricing, Rule};

    pub fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    pub fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// A domestic card charge by seller 42 (SE, tagged "vip") on 2025-06-15, first of the month.
    pub fn ctx(amount: i64, currency: &str) -> ChargeContext {
        ChargeContext {
            amount,
            currency: cur(currency),
            seller_id: Uuid::from_u128(42),
            seller_country: "SE".into(),
            seller_tags: vec!["vip".into()],
            payment_method_type: "card".into(),
            cross_border: false,
            at: Utc
                .with_ymd_and_hms(2025, 6, 15, 12, 0, 0)
                .single()
                .unwrap(),
            monthly_volume: 0,
        }
    }

    /// Rule `id` v1: 10 %, nothing else.
    pub fn rule_with(id: u128, priority: i32, conditions: Conditions) -> Rule {
        Rule {
            id: Uuid::from_u128(id),
            version: 1,
            priority,
            conditions,
            pricing: Pricing {
                percent: dec("10"),
                ..Pricing::default()
            },
        }
    }
}
