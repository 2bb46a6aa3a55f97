//! The data of the engine: rules (conditions + pricing), the charge they are applied to, and
//! the quote that comes out.
//!
//! Plain Rust types on purpose: the API layer owns the wire format (serde DTOs, public ids) and
//! converts at the edge, so these can change shape without breaking a client.
//!
//! Units: every amount is an `i64` in minor units (cents, yen, fils) of one currency, named
//! by the field or by the map key; every rate is a [`Decimal`] in percent (`2.9` = 2.9 %).
//! No floats.

use std::collections::BTreeMap;

use agora_ledger::Currency;
use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

/// One version of an operator's fee rule.
///
/// A rule applies to a charge when its [`Conditions`] match; among the matching rules the one
/// with the highest `priority` wins (see [`crate::select_rule`]). Rules are versioned: editing
/// a rule makes a new version with the same `id`, and a quote names the version that priced
/// it, so an old charge can always be explained with the rule it was priced under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: Uuid,
    pub version: u32,
    /// Higher wins. Two active rules with the same priority must not overlap
    /// ([`crate::check_conflicts`]).
    pub priority: i32,
    pub conditions: Conditions,
    pub pricing: Pricing,
}

/// Which charges a rule applies to. Every dimension is ANDed; an empty `Vec` or a `None` means
/// "any" on that dimension, so `Conditions::default()` matches every charge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conditions {
    /// The charge's seller is one of these.
    pub seller_ids: Vec<Uuid>,
    /// The seller carries ANY of these tags (exact, case-sensitive comparison).
    pub seller_tags: Vec<String>,
    /// The seller's country, ISO 3166 alpha-2 in upper case (`"SE"`); validation refuses
    /// anything else. The charge's country is compared ignoring ASCII case.
    pub countries: Vec<String>,
    /// The charge currency is one of these.
    pub currencies: Vec<Currency>,
    /// The payment method type (`"card"`, `"sepa_debit"`, …), exact comparison.
    pub payment_method_types: Vec<String>,
    /// Inclusive lower bound of the charge amount, in minor units of the *charge* currency
    /// (so 1000 is 10.00 EUR but 1000 JPY: condition on one currency when that matters).
    pub amount_min: Option<i64>,
    /// Inclusive upper bound of the charge amount, minor units of the charge currency.
    pub amount_max: Option<i64>,
    /// `Some(true)`: only cross-border charges; `Some(false)`: only domestic ones.
    pub cross_border: Option<bool>,
    /// The rule applies from this instant on (inclusive).
    pub valid_from: Option<DateTime<Utc>>,
    /// The rule applies before this instant (exclusive), so consecutive windows can share the
    /// boundary without overlapping.
    pub valid_to: Option<DateTime<Utc>>,
}

/// How a matching rule prices a charge. See [`crate::price`] for the order of the steps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pricing {
    /// Percent of the charge amount, 0..=100. Must be zero when `tiers` is set (the tiers carry
    /// the percent then).
    pub percent: Decimal,
    /// Fixed part per charge currency, minor units; a currency missing here adds 0. Must be
    /// empty when `tiers` is set (each tier has its own fixed part).
    pub fixed: BTreeMap<Currency, i64>,
    /// Lowest fee (before VAT) per charge currency, minor units.
    pub min: BTreeMap<Currency, i64>,
    /// Highest fee (before VAT) per charge currency, minor units.
    pub max: BTreeMap<Currency, i64>,
    /// Percent and fixed part by the seller's monthly volume, instead of `percent`/`fixed`.
    pub tiers: Option<Tiers>,
    /// VAT charged on the fee (the platform's fee is a service the seller buys).
    pub vat: Option<Vat>,
    /// How the percent part and the VAT are rounded to minor units.
    pub rounding: Rounding,
}

/// Volume tiers. Tier bounds are monthly volume in minor units of the one currency the rule is
/// conditioned on (validation insists on exactly one).
///
/// Tier `i` covers monthly volume from the previous tier's `up_to` (0 for the first tier),
/// inclusive, to its own `up_to`, exclusive: `up_to: Some(100_000)` is "the first 1000.00 EUR
/// of the month". A seller who has already captured exactly 1000.00 EUR is in the next tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiers {
    pub mode: TierMode,
    /// Ascending `up_to`; only the last has `up_to: None` (and it must).
    pub tiers: Vec<Tier>,
}

/// How the seller's monthly volume selects the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierMode {
    /// Like a progressive tax: the charge fills the month's volume from `monthly_volume`
    /// upwards, and each portion is priced at the percent of the tier it falls in. The exact
    /// sum is rounded once. The fixed part is the one of the tier where the charge starts.
    Graduated,
    /// The tier that contains the seller's volume before this charge prices the whole charge
    /// (percent and fixed part).
    Volume,
}

/// One tier of [`Tiers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// Exclusive upper bound of monthly volume in minor units; `None` = no bound (last only).
    pub up_to: Option<i64>,
    /// Percent, 0..=100.
    pub percent: Decimal,
    /// Fixed part per charge, minor units of the rule's currency.
    pub fixed: i64,
}

/// VAT on the fee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vat {
    /// Percent, `0 <= rate < 100` (`25` = 25 %).
    pub rate: Decimal,
    /// `false`: VAT is added on top of the fee. `true`: the priced fee already includes VAT
    /// and is split into net fee and VAT.
    pub inclusive: bool,
}

/// How a computed amount with fractions of a minor unit becomes whole minor units. Only exact
/// midpoints differ; amounts are never negative, so "up" and "away from zero" agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rounding {
    /// Banker's rounding: 0.5 → 0, 1.5 → 2, 2.5 → 2. Unbiased over many charges.
    #[default]
    HalfEven,
    /// Commercial rounding: 0.5 → 1, 2.5 → 3.
    HalfUp,
}

impl Rounding {
    pub(crate) fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Rounding::HalfEven => "half-even",
            Rounding::HalfUp => "half-up",
        }
    }
}

/// Everything the engine knows about the charge being priced. The caller supplies the time
/// and the seller's volume, which keeps the engine free of clocks and databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeContext {
    /// Charge amount in minor units of `currency`; must be positive.
    pub amount: i64,
    pub currency: Currency,
    pub seller_id: Uuid,
    /// ISO 3166 alpha-2 (compared ignoring ASCII case).
    pub seller_country: String,
    pub seller_tags: Vec<String>,
    pub payment_method_type: String,
    pub cross_border: bool,
    /// When the charge happens; decides `valid_from`/`valid_to`.
    pub at: DateTime<Utc>,
    /// The seller's captured volume this month *before* this charge, minor units of
    /// `currency`; must not be negative. Only tiered rules read it.
    pub monthly_volume: i64,
}

/// The priced charge. Always `fee_amount + tax_amount + seller_amount == amount` with all three
/// non-negative, in minor units of the charge currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The platform's fee, net of VAT.
    pub fee_amount: i64,
    /// VAT on the fee.
    pub tax_amount: i64,
    /// What the seller keeps.
    pub seller_amount: i64,
    pub rule_id: Uuid,
    pub rule_version: u32,
    /// One line per step, for people (dashboards, support, the seller's statement).
    pub explanation: Vec<String>,
}
