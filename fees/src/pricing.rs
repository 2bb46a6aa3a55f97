//! Pricing one charge with one rule, and explaining every step.
//!
//! The steps, in order (see [`price`]):
//! 1. base fee F: `amount × percent / 100` rounded once, plus the fixed part for the charge
//!    currency; or the tiers (volume or graduated) in place of percent and fixed;
//! 2. the `min` and `max` of the charge currency;
//! 3. VAT on F, exclusive (added on top) or inclusive (split out of F);
//! 4. never more than the charge: if fee + VAT exceeds the amount, the amount is treated as the
//!    VAT-inclusive total and split again;
//! 5. the seller keeps the rest.
//!
//! Everything runs in exact decimals and `i128` minor units, with one rounding per component
//! (percent part, VAT), so no intermediate value can overflow or drift; the results are then
//! at most the charge amount and fit `i64` again.

use agora_ledger::{Currency, Money};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::conditions::select_rule;
use crate::rule::{ChargeContext, Quote, Rounding, Rule, Tier, TierMode, Tiers};
use crate::validate::{validate, RuleError};

/// Why a charge could not be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("the charge amount must be positive, got {0}")]
    NonPositiveAmount(i64),
    #[error("the monthly volume must not be negative, got {0}")]
    NegativeMonthlyVolume(i64),
    #[error("no fee rule matches this charge")]
    NoMatchingRule,
    #[error("rule {rule_id} is invalid: {source}")]
    InvalidRule { rule_id: Uuid, source: RuleError },
    #[error("rule {rule_id} has tiers in {tier_currency}, the charge is in {charge_currency}")]
    TierCurrencyMismatch {
        rule_id: Uuid,
        tier_currency: Currency,
        charge_currency: Currency,
    },
    /// Not reachable with validated rules and `i64` amounts; kept so nothing can panic.
    #[error("arithmetic overflow while pricing")]
    Overflow,
}

/// Selects the rule for the charge ([`select_rule`]) and prices it ([`price`]).
pub fn quote(rules: &[Rule], ctx: &ChargeContext) -> Result<Quote, QuoteError> {
    check_context(ctx)?;
    let rule = select_rule(rules, ctx).ok_or(QuoteError::NoMatchingRule)?;
    price(rule, ctx)
}

/// Prices the charge with this rule, whether or not its conditions match (the caller chose
/// it; [`quote`] chooses by conditions).
///
/// - Base fee F, without tiers: `amount × percent / 100`, rounded once to minor units with the
///   rule's [`Rounding`], plus `fixed` of the charge currency (0 if absent).
/// - With [`Tiers`] (the charge must be in the rule's one currency):
///   [`TierMode::Volume`]: the tier containing `monthly_volume` prices the whole amount;
///   [`TierMode::Graduated`]: the charge occupies `[monthly_volume, monthly_volume + amount)`
///   of the month's volume, each portion is priced at its tier's percent, the exact sum is
///   rounded once; the fixed part is that of the tier containing `monthly_volume`, where the
///   charge starts (one fixed part per charge, never one per portion).
/// - `min` then `max` of the charge currency bound F (validation keeps `min <= max`).
/// - VAT exclusive: `tax = round(F × rate / 100)`, fee = F. VAT inclusive: F is gross,
///   `tax = round(F × rate / (100 + rate))`, fee = F − tax.
/// - If fee + tax exceeds the amount, the whole amount becomes the gross fee and is split as
///   inclusive VAT: `tax = round(amount × rate / (100 + rate))`, fee = amount − tax (without
///   VAT the fee is the amount). The seller then keeps 0. Fee + tax never decreases as the
///   amount grows, and for rules without tiers neither does the fee.
/// - `seller_amount = amount − fee − tax`.
pub fn price(rule: &Rule, ctx: &ChargeContext) -> Result<Quote, QuoteError> {
    check_context(ctx)?;
    validate(rule).map_err(|source| QuoteError::InvalidRule {
        rule_id: rule.id,
        source,
    })?;
    let pricing = &rule.pricing;
    let currency = ctx.currency;
    let rounding = pricing.rounding;
    let amount = i128::from(ctx.amount);
    let mut lines = vec![format!(
        "rule {} v{} (priority {})",
        rule.id, rule.version, rule.priority
    )];

    // 1. Base fee.
    let mut fee = match &pricing.tiers {
        None => {
            let part = percent_of(&mut lines, pricing.percent, amount, currency, rounding)?;
            let fixed = pricing.fixed.get(&currency).copied().unwrap_or(0);
            add_fixed(&mut lines, "fixed", part, fixed, currency)
        }
        Some(tiers) => tiered_fee(&mut lines, rule, tiers, ctx)?,
    };

    // 2. Minimum and maximum.
    if let Some(&min) = pricing.min.get(&currency) {
        let min = i128::from(min);
        if fee < min {
            lines.push(format!(
                "min {} applied (fee was {})",
                show(min, currency),
                show(fee, currency)
            ));
            fee = min;
        } else {
            lines.push(format!("min {} not hit", show(min, currency)));
        }
    }
    if let Some(&max) = pricing.max.get(&currency) {
        let max = i128::from(max);
        if fee > max {
            lines.push(format!(
                "max {} applied (fee was {})",
                show(max, currency),
                show(fee, currency)
            ));
            fee = max;
        } else {
            lines.push(format!("max {} not hit", show(max, currency)));
        }
    }

    // 3. VAT.
    let (mut fee_net, mut tax) = match &pricing.vat {
        None => (fee, 0),
        Some(vat) if !vat.inclusive => {
            let exact = mul_div(fee, vat.rate, Decimal::ONE_HUNDRED)?;
            let tax = round(exact, rounding)?;
            lines.push(format!(
                "VAT {}% exclusive on {} = {}",
                vat.rate.normalize(),
                show(fee, currency),
                rounded(exact, tax, currency, rounding)
            ));
            (fee, tax)
        }
        Some(vat) => {
            let gross_rate = vat
                .rate
                .checked_add(Decimal::ONE_HUNDRED)
                .ok_or(QuoteError::Overflow)?;
            let exact = mul_div(fee, vat.rate, gross_rate)?;
            let tax = round(exact, rounding)?;
            lines.push(format!(
                "VAT {}% inclusive in {} = {}, fee net of VAT {}",
                vat.rate.normalize(),
                show(fee, currency),
                rounded(exact, tax, currency, rounding),
                show(fee - tax, currency)
            ));
            (fee - tax, tax)
        }
    };

    // 4. Never more than the charge.
    if fee_net + tax > amount {
        let taken = fee_net + tax;
        match &pricing.vat {
            None => {
                fee_net = amount;
                tax = 0;
                lines.push(format!(
                    "fee {} exceeds the charge: capped at the charge amount {}",
                    show(taken, currency),
                    show(amount, currency)
                ));
            }
            Some(vat) => {
                let gross_rate = vat
                    .rate
                    .checked_add(Decimal::ONE_HUNDRED)
                    .ok_or(QuoteError::Overflow)?;
                tax = round(mul_div(amount, vat.rate, gross_rate)?, rounding)?;
                fee_net = amount - tax;
                lines.push(format!(
                    "fee and VAT {} exceed the charge: capped at the charge amount {}, \
                     VAT {}% inclusive = {}, fee {}",
                    show(taken, currency),
                    show(amount, currency),
                    vat.rate.normalize(),
                    show(tax, currency),
                    show(fee_net, currency)
                ));
            }
        }
    }

    // 5. The seller's share.
    let seller = amount - fee_net - tax;
    lines.push(format!(
        "fee {} + VAT {}, seller receives {}",
        show(fee_net, currency),
        show(tax, currency),
        show(seller, currency)
    ));
    debug_assert!(fee_net >= 0 && tax >= 0 && seller >= 0);

    let to_i64 = |v: i128| i64::try_from(v).map_err(|_| QuoteError::Overflow);
    Ok(Quote {
        fee_amount: to_i64(fee_net)?,
        tax_amount: to_i64(tax)?,
        seller_amount: to_i64(seller)?,
        rule_id: rule.id,
        rule_version: rule.version,
        explanation: lines,
    })
}

fn check_context(ctx: &ChargeContext) -> Result<(), QuoteError> {
    if ctx.amount <= 0 {
        return Err(QuoteError::NonPositiveAmount(ctx.amount));
    }
    if ctx.monthly_volume < 0 {
        return Err(QuoteError::NegativeMonthlyVolume(ctx.monthly_volume));
    }
    Ok(())
}

/// The fee from tiers, before min/max. Tier `i` covers `[lower_i, up_to_i)` of the month's
/// volume, `lower_0 = 0`, `lower_i = up_to_{i-1}`.
fn tiered_fee(
    lines: &mut Vec<String>,
    rule: &Rule,
    tiers: &Tiers,
    ctx: &ChargeContext,
) -> Result<i128, QuoteError> {
    let currency = ctx.currency;
    let rounding = rule.pricing.rounding;
    match rule.conditions.currencies.as_slice() {
        [only] if *only == currency => {}
        // Validation leaves exactly one currency; name it (or the charge's, if somehow none).
        other => {
            return Err(QuoteError::TierCurrencyMismatch {
                rule_id: rule.id,
                tier_currency: other.first().copied().unwrap_or(currency),
                charge_currency: currency,
            })
        }
    }

    let start = i128::from(ctx.monthly_volume);
    let amount = i128::from(ctx.amount);
    let end = start + amount;
    let ranges = tier_ranges(&tiers.tiers);
    let count = ranges.len();
    // The last range is unbounded, so some tier contains `start`.
    let (start_index, (start_lower, start_upper, start_tier)) = ranges
        .iter()
        .copied()
        .enumerate()
        .find(|(_, (lower, upper, _))| *lower <= start && upper.is_none_or(|u| start < u))
        .ok_or(QuoteError::Overflow)?;
    let tier_name = |i: usize| format!("tier {} of {count}", i + 1);

    let priced = match tiers.mode {
        TierMode::Volume => {
            lines.push(format!(
                "volume {}: monthly volume so far {} is in {}",
                tier_name(start_index),
                show(start, currency),
                describe_range(start_lower, start_upper, currency)
            ));
            percent_of(lines, start_tier.percent, amount, currency, rounding)?
        }
        TierMode::Graduated => {
            lines.push(format!(
                "graduated tiers from monthly volume so far {}",
                show(start, currency)
            ));
            let mut exact = Decimal::ZERO;
            for (i, (lower, upper, tier)) in ranges.iter().enumerate() {
                let from = start.max(*lower);
                let to = upper.map_or(end, |u| end.min(u));
                if to <= from {
                    continue;
                }
                let portion = to - from;
                let part = mul_div(portion, tier.percent, Decimal::ONE_HUNDRED)?;
                exact = exact.checked_add(part).ok_or(QuoteError::Overflow)?;
                lines.push(format!(
                    "{} ({}): {}% of {} = {}",
                    tier_name(i),
                    describe_range(*lower, *upper, currency),
                    tier.percent.normalize(),
                    show(portion, currency),
                    show_exact(part, currency)
                ));
            }
            let sum = round(exact, rounding)?;
            lines.push(format!(
                "graduated sum {}",
                rounded(exact, sum, currency, rounding)
            ));
            sum
        }
    };
    let label = format!("{} fixed", tier_name(start_index));
    Ok(add_fixed(lines, &label, priced, start_tier.fixed, currency))
}

/// `(lower, upper, tier)` per tier; `upper == None` only for the last (validated).
fn tier_ranges(tiers: &[Tier]) -> Vec<(i128, Option<i128>, &Tier)> {
    let mut lower = 0i128;
    tiers
        .iter()
        .map(|tier| {
            let upper = tier.up_to.map(i128::from);
            let range = (lower, upper, tier);
            lower = upper.unwrap_or(lower);
            range
        })
        .collect()
}

fn describe_range(lower: i128, upper: Option<i128>, currency: Currency) -> String {
    match upper {
        Some(upper) => format!(
            "monthly volume {} to {}",
            show(lower, currency),
            show(upper, currency)
        ),
        None => format!("monthly volume from {}", show(lower, currency)),
    }
}

/// `percent` of `amount`, rounded once, with its explanation line.
fn percent_of(
    lines: &mut Vec<String>,
    percent: Decimal,
    amount: i128,
    currency: Currency,
    rounding: Rounding,
) -> Result<i128, QuoteError> {
    let exact = mul_div(amount, percent, Decimal::ONE_HUNDRED)?;
    let part = round(exact, rounding)?;
    lines.push(format!(
        "{}% of {} = {}",
        percent.normalize(),
        show(amount, currency),
        rounded(exact, part, currency, rounding)
    ));
    Ok(part)
}

fn add_fixed(
    lines: &mut Vec<String>,
    label: &str,
    fee: i128,
    fixed: i64,
    currency: Currency,
) -> i128 {
    if fixed == 0 {
        return fee;
    }
    let total = fee + i128::from(fixed);
    lines.push(format!(
        "+ {label} {} = {}",
        show(fixed.into(), currency),
        show(total, currency)
    ));
    total
}

/// `value × numerator / denominator`, exact as far as `Decimal` goes (28 digits).
fn mul_div(value: i128, numerator: Decimal, denominator: Decimal) -> Result<Decimal, QuoteError> {
    Decimal::try_from_i128_with_scale(value, 0)
        .ok()
        .and_then(|v| v.checked_mul(numerator))
        .and_then(|v| v.checked_div(denominator))
        .ok_or(QuoteError::Overflow)
}

fn round(exact: Decimal, rounding: Rounding) -> Result<i128, QuoteError> {
    exact
        .round_dp_with_strategy(0, rounding.strategy())
        .to_i128()
        .ok_or(QuoteError::Overflow)
}

/// `"10.00 EUR"` when nothing was rounded, else `"0.29145 EUR, rounded half-even to 0.29 EUR"`.
fn rounded(exact: Decimal, result: i128, currency: Currency, rounding: Rounding) -> String {
    if exact.fract().is_zero() {
        show(result, currency)
    } else {
        format!(
            "{}, rounded {} to {}",
            show_exact(exact, currency),
            rounding.label(),
            show(result, currency)
        )
    }
}

/// Minor units as money: `Money`'s display (`"10.50 EUR"`, `"1000 JPY"`, `"1.234 KWD"`).
fn show(minor: i128, currency: Currency) -> String {
    match i64::try_from(minor) {
        Ok(v) => Money::new(v, currency).to_string(),
        Err(_) => match Decimal::try_from_i128_with_scale(minor, 0) {
            Ok(d) => show_exact(d, currency),
            Err(_) => format!("{minor} minor units of {currency}"),
        },
    }
}

/// Fractional minor units as money with all their digits: 29.145 cents → `"0.29145 EUR"`.
fn show_exact(minor: Decimal, currency: Currency) -> String {
    if minor.fract().is_zero() {
        if let Some(v) = minor.to_i64() {
            return Money::new(v, currency).to_string();
        }
    }
    let exponent = currency.exponent();
    let mut major = minor;
    if major.set_scale(minor.scale() + exponent).is_err() {
        return format!("{minor} minor units of {currency}");
    }
    let mut major = major.normalize();
    if major.scale() < exponent {
        major.rescale(exponent);
    }
    format!("{major} {currency}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{Conditions, Pricing, Vat};
    use crate::test_support::{ctx, cur, dec, rule_with};

    fn priced(pricing: Pricing, amount: i64, currency: &str) -> Quote {
        let mut rule = rule_with(1, 0, Conditions::default());
        rule.pricing = pricing;
        price(&rule, &ctx(amount, currency)).unwrap()
    }

    #[test]
    fn explanation_reads_like_the_arithmetic() {
        let q = priced(
            Pricing {
                percent: dec("10"),
                min: [(cur("eur"), 50)].into(),
                vat: Some(Vat {
                    rate: dec("25"),
                    inclusive: false,
                }),
                ..Pricing::default()
            },
            10_000,
            "eur",
        );
        assert_eq!(
            q.explanation,
            vec![
                format!("rule {} v1 (priority 0)", q.rule_id),
                "10% of 100.00 EUR = 10.00 EUR".to_string(),
                "min 0.50 EUR not hit".to_string(),
                "VAT 25% exclusive on 10.00 EUR = 2.50 EUR".to_string(),
                "fee 10.00 EUR + VAT 2.50 EUR, seller receives 87.50 EUR".to_string(),
            ]
        );
    }

    #[test]
    fn explanation_shows_exact_values_before_rounding() {
        let q = priced(
            Pricing {
                percent: dec("2.90"),
                fixed: [(cur("usd"), 30)].into(),
                max: [(cur("usd"), 40)].into(),
                ..Pricing::default()
            },
            1005,
            "usd",
        );
        assert_eq!(
            q.explanation[1..],
            [
                "2.9% of 10.05 USD = 0.29145 USD, rounded half-even to 0.29 USD",
                "+ fixed 0.30 USD = 0.59 USD",
                "max 0.40 USD applied (fee was 0.59 USD)",
                "fee 0.40 USD + VAT 0.00 USD, seller receives 9.65 USD",
            ]
        );
        let q = priced(
            Pricing {
                percent: dec("1"),
                vat: Some(Vat {
                    rate: dec("20"),
                    inclusive: true,
                }),
                ..Pricing::default()
            },
            1234,
            "kwd",
        );
        assert_eq!(
            q.explanation[1..],
            [
                "1% of 1.234 KWD = 0.01234 KWD, rounded half-even to 0.012 KWD",
                "VAT 20% inclusive in 0.012 KWD = 0.002 KWD, fee net of VAT 0.010 KWD",
                "fee 0.010 KWD + VAT 0.002 KWD, seller receives 1.222 KWD",
            ]
        );
    }

    #[test]
    fn capping_is_explained() {
        let q = priced(
            Pricing {
                fixed: [(cur("jpy"), 500)].into(),
                vat: Some(Vat {
                    rate: dec("10"),
                    inclusive: false,
                }),
                ..Pricing::default()
            },
            110,
            "jpy",
        );
        assert_eq!((q.fee_amount, q.tax_amount, q.seller_amount), (100, 10, 0));
        assert!(
            q.explanation
                .iter()
                .any(|l| l.contains("capped at the charge amount 110 JPY")),
            "{:?}",
            q.explanation
        );
    }

    #[test]
    fn tier_lines_name_tiers_and_portions() {
        let mut rule = rule_with(1, 0, Conditions::default());
        rule.conditions.currencies = vec![cur("eur")];
        rule.pricing = Pricing {
            percent: Decimal::ZERO,
            tiers: Some(Tiers {
                mode: TierMode::Graduated,
                tiers: vec![
                    Tier {
                        up_to: Some(100_000),
                        percent: dec("3"),
                        fixed: 25,
                    },
                    Tier {
                        up_to: None,
                        percent: dec("1.5"),
                        fixed: 0,
                    },
                ],
            }),
            ..Pricing::default()
        };
        let mut c = ctx(10_001, "eur");
        c.monthly_volume = 95_000;
        let q = price(&rule, &c).unwrap();
        // 5000 × 3 % = 150; 5001 × 1.5 % = 75.015; sum 225.015 → 225; + 25 = 250.
        assert_eq!(q.fee_amount, 250);
        assert_eq!(
            q.explanation[1..5],
            [
                "graduated tiers from monthly volume so far 950.00 EUR",
                "tier 1 of 2 (monthly volume 0.00 EUR to 1000.00 EUR): 3% of 50.00 EUR = 1.50 EUR",
                "tier 2 of 2 (monthly volume from 1000.00 EUR): 1.5% of 50.01 EUR = 0.75015 EUR",
                "graduated sum 2.25015 EUR, rounded half-even to 2.25 EUR",
            ]
        );
        assert_eq!(q.explanation[5], "+ tier 1 of 2 fixed 0.25 EUR = 2.50 EUR");

        let mut volume = rule.clone();
        if let Some(t) = volume.pricing.tiers.as_mut() {
            t.mode = TierMode::Volume;
        }
        let q = price(&volume, &c).unwrap();
        // Tier 1 prices all: 10001 × 3 % = 300.03 → 300; + 25 = 325.
        assert_eq!(q.fee_amount, 325);
        assert_eq!(
            q.explanation[1],
            "volume tier 1 of 2: monthly volume so far 950.00 EUR is in monthly volume \
             0.00 EUR to 1000.00 EUR"
        );
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let rule = rule_with(1, 0, Conditions::default());
        assert_eq!(
            price(&rule, &ctx(0, "eur")),
            Err(QuoteError::NonPositiveAmount(0))
        );
        assert_eq!(
            quote(std::slice::from_ref(&rule), &ctx(-5, "eur")),
            Err(QuoteError::NonPositiveAmount(-5))
        );
        let mut c = ctx(100, "eur");
        c.monthly_volume = -1;
        assert_eq!(price(&rule, &c), Err(QuoteError::NegativeMonthlyVolume(-1)));
        let mut bad = rule.clone();
        bad.pricing.percent = dec("101");
        match price(&bad, &ctx(100, "eur")) {
            Err(QuoteError::InvalidRule { rule_id, source }) => {
                assert_eq!(rule_id, bad.id);
                assert_eq!(source.code, "percent_out_of_range");
            }
            other => panic!("{other:?}"),
        }
        let usd_only = rule_with(
            2,
            0,
            Conditions {
                currencies: vec![cur("usd")],
                ..Conditions::default()
            },
        );
        assert_eq!(
            quote(&[usd_only], &ctx(100, "eur")),
            Err(QuoteError::NoMatchingRule)
        );
    }

    #[test]
    fn tiers_refuse_a_charge_in_another_currency() {
        let mut rule = rule_with(1, 0, Conditions::default());
        rule.conditions.currencies = vec![cur("eur")];
        rule.pricing = Pricing {
            percent: Decimal::ZERO,
            tiers: Some(Tiers {
                mode: TierMode::Volume,
                tiers: vec![Tier {
                    up_to: None,
                    percent: dec("1"),
                    fixed: 0,
                }],
            }),
            ..Pricing::default()
        };
        assert_eq!(
            price(&rule, &ctx(100, "usd")),
            Err(QuoteError::TierCurrencyMismatch {
                rule_id: rule.id,
                tier_currency: cur("eur"),
                charge_currency: cur("usd"),
            })
        );
    }

    #[test]
    fn extremes_do_not_overflow() {
        let q = priced(
            Pricing {
                percent: dec("100"),
                fixed: [(cur("eur"), i64::MAX)].into(),
                vat: Some(Vat {
                    rate: dec("99.99"),
                    inclusive: false,
                }),
                ..Pricing::default()
            },
            i64::MAX,
            "eur",
        );
        assert_eq!(q.fee_amount + q.tax_amount, i64::MAX);
        assert_eq!(q.seller_amount, 0);
    }

    #[test]
    fn quote_uses_the_selected_rule() {
        let mut cheap = rule_with(1, 0, Conditions::default());
        cheap.pricing.percent = dec("1");
        let mut vip = rule_with(
            2,
            10,
            Conditions {
                seller_tags: vec!["vip".into()],
                ..Conditions::default()
            },
        );
        vip.pricing.percent = dec("0.5");
        vip.version = 3;
        let q = quote(&[cheap, vip.clone()], &ctx(10_000, "eur")).unwrap();
        assert_eq!((q.rule_id, q.rule_version, q.fee_amount), (vip.id, 3, 50));
    }
}
