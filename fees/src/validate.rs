//! Checks on a rule before it is stored or used, with errors the API can hand to the operator
//! as they are: the offending field (`"percent"`, `"fixed.eur"`, `"tiers[1].up_to"`,
//! `"conditions.amount_min"`), a stable machine code and a sentence.
//!
//! Pricing relies on these checks (non-negative parts, `min <= max`, ordered tiers) for its
//! guarantees, so [`crate::price`] validates the rule again rather than trust the caller.
//!
//! Field names: pricing fields are bare (`percent`, `fixed.<currency>`, `min.<currency>`,
//! `max.<currency>`, `tiers`, `tiers[i].up_to`, `vat.rate`), condition fields are prefixed
//! `conditions.`, and the currency in a map key is the lower-case API code.

use std::collections::BTreeMap;

use agora_ledger::{Currency, Money};
use rust_decimal::Decimal;

use crate::conditions::overlaps;
use crate::rule::{Conditions, Pricing, Rule, Tiers};

/// Why a rule is refused. `code` is stable and meant for programs; `message` is for people.
///
/// Codes: `percent_out_of_range`, `amount_negative`, `min_above_max`, `rate_out_of_range`,
/// `window_empty`, `country_invalid`, `tiers_empty`, `tiers_unordered`,
/// `tier_unbounded_not_last`, `tiers_last_must_be_unbounded`, `tiers_need_one_currency`,
/// `conflicts_with_tiers`, `priority_conflict`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RuleError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl RuleError {
    fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Checks one rule on its own and returns the first problem, in a fixed order (pricing:
/// percent, fixed, min, max, min vs max, tiers, VAT; then conditions).
///
/// - `percent` and every tier percent in 0..=100; `vat.rate` in 0..100 (100 % VAT inclusive
///   would leave no fee at all).
/// - `fixed`, `min`, `max`, tier `fixed`, `amount_min`, `amount_max` not negative;
///   `min <= max` per currency; `amount_min <= amount_max`; `valid_from < valid_to`.
/// - tiers: at least one; `up_to` strictly ascending from above 0; only the last tier
///   unbounded, and it must be, so every volume has a tier; the rule conditioned on exactly
///   one currency (the unit of the bounds); `percent` zero and `fixed` empty, because the
///   tiers replace them and silently ignoring a price would surprise the operator.
/// - countries: two upper-case ASCII letters.
pub fn validate(rule: &Rule) -> Result<(), RuleError> {
    validate_pricing(&rule.pricing)?;
    validate_conditions(&rule.conditions)?;
    if rule.pricing.tiers.is_some() && rule.conditions.currencies.len() != 1 {
        return Err(RuleError::new(
            "conditions.currencies",
            "tiers_need_one_currency",
            "a rule with tiers must be conditioned on exactly one currency: tier bounds are \
             minor units of that currency",
        ));
    }
    Ok(())
}

fn validate_pricing(p: &Pricing) -> Result<(), RuleError> {
    check_percent("percent", p.percent)?;
    check_amounts("fixed", &p.fixed)?;
    check_amounts("min", &p.min)?;
    check_amounts("max", &p.max)?;
    for (currency, min) in &p.min {
        if let Some(max) = p.max.get(currency) {
            if min > max {
                return Err(RuleError::new(
                    format!("min.{}", currency.api_code()),
                    "min_above_max",
                    format!(
                        "the minimum fee {} is above the maximum fee {}",
                        Money::new(*min, *currency),
                        Money::new(*max, *currency)
                    ),
                ));
            }
        }
    }
    if let Some(tiers) = &p.tiers {
        validate_tiers(tiers)?;
        if !p.percent.is_zero() {
            return Err(RuleError::new(
                "percent",
                "conflicts_with_tiers",
                "a rule with tiers takes its percent from the tiers; set percent to 0",
            ));
        }
        if let Some(currency) = p.fixed.keys().next() {
            return Err(RuleError::new(
                format!("fixed.{}", currency.api_code()),
                "conflicts_with_tiers",
                "a rule with tiers takes its fixed part from the tiers; leave fixed empty",
            ));
        }
    }
    if let Some(vat) = &p.vat {
        if vat.rate < Decimal::ZERO || vat.rate >= Decimal::ONE_HUNDRED {
            return Err(RuleError::new(
                "vat.rate",
                "rate_out_of_range",
                format!(
                    "VAT rate must be at least 0 and below 100 percent, got {}",
                    vat.rate
                ),
            ));
        }
    }
    Ok(())
}

fn check_percent(field: &str, percent: Decimal) -> Result<(), RuleError> {
    if percent < Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
        return Err(RuleError::new(
            field,
            "percent_out_of_range",
            format!("percent must be between 0 and 100, got {percent}"),
        ));
    }
    Ok(())
}

fn check_amounts(field: &str, amounts: &BTreeMap<Currency, i64>) -> Result<(), RuleError> {
    for (currency, amount) in amounts {
        check_non_negative(&format!("{field}.{}", currency.api_code()), *amount)?;
    }
    Ok(())
}

fn check_non_negative(field: &str, amount: i64) -> Result<(), RuleError> {
    if amount < 0 {
        return Err(RuleError::new(
            field,
            "amount_negative",
            format!("amount must not be negative, got {amount}"),
        ));
    }
    Ok(())
}

fn validate_tiers(tiers: &Tiers) -> Result<(), RuleError> {
    let Some(last_index) = tiers.tiers.len().checked_sub(1) else {
        return Err(RuleError::new(
            "tiers",
            "tiers_empty",
            "tiers need at least one tier",
        ));
    };
    let mut previous_bound = 0i64;
    for (i, tier) in tiers.tiers.iter().enumerate() {
        check_percent(&format!("tiers[{i}].percent"), tier.percent)?;
        check_non_negative(&format!("tiers[{i}].fixed"), tier.fixed)?;
        match tier.up_to {
            Some(up_to) if i == last_index => {
                return Err(RuleError::new(
                    format!("tiers[{i}].up_to"),
                    "tiers_last_must_be_unbounded",
                    format!(
                        "the last tier must have no up_to, so volume above {up_to} has a price"
                    ),
                ));
            }
            Some(up_to) if up_to <= previous_bound => {
                return Err(RuleError::new(
                    format!("tiers[{i}].up_to"),
                    "tiers_unordered",
                    format!(
                        "up_to must be above {previous_bound} (the previous bound), got {up_to}"
                    ),
                ));
            }
            Some(up_to) => previous_bound = up_to,
            None if i != last_index => {
                return Err(RuleError::new(
                    format!("tiers[{i}].up_to"),
                    "tier_unbounded_not_last",
                    "only the last tier may have no up_to",
                ));
            }
            None => {}
        }
    }
    Ok(())
}

fn validate_conditions(c: &Conditions) -> Result<(), RuleError> {
    for (i, country) in c.countries.iter().enumerate() {
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(RuleError::new(
                format!("conditions.countries[{i}]"),
                "country_invalid",
                format!("`{country}` is not an upper-case ISO 3166 alpha-2 country code"),
            ));
        }
    }
    if let Some(min) = c.amount_min {
        check_non_negative("conditions.amount_min", min)?;
    }
    if let Some(max) = c.amount_max {
        check_non_negative("conditions.amount_max", max)?;
    }
    if let (Some(min), Some(max)) = (c.amount_min, c.amount_max) {
        if min > max {
            return Err(RuleError::new(
                "conditions.amount_min",
                "min_above_max",
                format!("amount_min {min} is above amount_max {max}"),
            ));
        }
    }
    if let (Some(from), Some(to)) = (c.valid_from, c.valid_to) {
        if from >= to {
            return Err(RuleError::new(
                "conditions.valid_from",
                "window_empty",
                format!(
                    "valid_from {} must be before valid_to {} (valid_to is exclusive)",
                    from.to_rfc3339(),
                    to.to_rfc3339()
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a candidate that would compete with an active rule: the same priority and
/// conditions that some charge could match both of ([`overlaps`]). The error names the field
/// `priority` and the other rule's id.
///
/// An active rule with the candidate's own id is skipped: a new version replaces the old one.
/// When several rules conflict, the one with the smallest id is reported, so the answer does
/// not depend on the order of `existing_active`. Run [`validate`] as well; this checks only
/// the relation to other rules.
pub fn check_conflicts(existing_active: &[Rule], candidate: &Rule) -> Result<(), RuleError> {
    let conflict = existing_active
        .iter()
        .filter(|r| r.id != candidate.id && r.priority == candidate.priority)
        .filter(|r| overlaps(&r.conditions, &candidate.conditions))
        .min_by_key(|r| r.id);
    match conflict {
        None => Ok(()),
        Some(other) => Err(RuleError::new(
            "priority",
            "priority_conflict",
            format!(
                "rule {} already has priority {} and its conditions overlap with this rule's; \
                 choose another priority or make the conditions exclusive",
                other.id, other.priority
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{Tier, TierMode, Vat};
    use crate::test_support::{cur, dec, rule_with};
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    fn base() -> Rule {
        rule_with(1, 0, Conditions::default())
    }

    fn err(rule: &Rule) -> (String, &'static str) {
        let e = validate(rule).unwrap_err();
        assert!(!e.message.is_empty());
        (e.field, e.code)
    }

    fn tier(up_to: Option<i64>, percent: &str) -> Tier {
        Tier {
            up_to,
            percent: dec(percent),
            fixed: 0,
        }
    }

    fn tiered(tiers: Vec<Tier>) -> Rule {
        let mut r = base();
        r.pricing.percent = Decimal::ZERO;
        r.pricing.tiers = Some(Tiers {
            mode: TierMode::Graduated,
            tiers,
        });
        r.conditions.currencies = vec![cur("eur")];
        r
    }

    #[test]
    fn a_plain_rule_is_valid() {
        let mut r = base();
        r.pricing.percent = dec("100");
        r.pricing.fixed.insert(cur("eur"), 0);
        r.pricing.min.insert(cur("eur"), 50);
        r.pricing.max.insert(cur("eur"), 50);
        r.pricing.vat = Some(Vat {
            rate: dec("99.99"),
            inclusive: true,
        });
        r.conditions.countries = vec!["SE".into()];
        r.conditions.amount_min = Some(0);
        r.conditions.amount_max = Some(0);
        assert_eq!(validate(&r), Ok(()));
        assert_eq!(
            validate(&tiered(vec![tier(Some(1), "2"), tier(None, "1")])),
            Ok(())
        );
    }

    #[test]
    fn percent_range() {
        for bad in ["-0.01", "100.01"] {
            let mut r = base();
            r.pricing.percent = dec(bad);
            assert_eq!(err(&r), ("percent".into(), "percent_out_of_range"));
        }
    }

    #[test]
    fn negative_amounts_name_the_currency() {
        let mut r = base();
        r.pricing.fixed.insert(cur("eur"), -1);
        assert_eq!(err(&r), ("fixed.eur".into(), "amount_negative"));
        let mut r = base();
        r.pricing.min.insert(cur("jpy"), -1);
        assert_eq!(err(&r), ("min.jpy".into(), "amount_negative"));
        let mut r = base();
        r.pricing.max.insert(cur("kwd"), -5);
        assert_eq!(err(&r), ("max.kwd".into(), "amount_negative"));
        let mut r = base();
        r.conditions.amount_min = Some(-1);
        assert_eq!(err(&r), ("conditions.amount_min".into(), "amount_negative"));
        let mut r = base();
        r.conditions.amount_max = Some(-1);
        assert_eq!(err(&r), ("conditions.amount_max".into(), "amount_negative"));
    }

    #[test]
    fn min_above_max() {
        let mut r = base();
        r.pricing.min.insert(cur("usd"), 501);
        r.pricing.max.insert(cur("usd"), 500);
        r.pricing.max.insert(cur("eur"), 1); // other currency: no relation
        let e = validate(&r).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("min.usd", "min_above_max"));
        assert!(e.message.contains("5.01 USD"), "{}", e.message);
        let mut r = base();
        r.conditions.amount_min = Some(10);
        r.conditions.amount_max = Some(9);
        assert_eq!(err(&r), ("conditions.amount_min".into(), "min_above_max"));
    }

    #[test]
    fn vat_rate_range() {
        for bad in ["-1", "100", "150"] {
            let mut r = base();
            r.pricing.vat = Some(Vat {
                rate: dec(bad),
                inclusive: false,
            });
            assert_eq!(err(&r), ("vat.rate".into(), "rate_out_of_range"));
        }
    }

    #[test]
    fn validity_window() {
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap();
        let mut r = base();
        r.conditions.valid_from = Some(t);
        r.conditions.valid_to = Some(t);
        assert_eq!(err(&r), ("conditions.valid_from".into(), "window_empty"));
    }

    #[test]
    fn countries_are_upper_case_alpha_2() {
        for bad in ["se", "SWE", "", "S1"] {
            let mut r = base();
            r.conditions.countries = vec!["NO".into(), bad.into()];
            assert_eq!(
                err(&r),
                ("conditions.countries[1]".into(), "country_invalid")
            );
        }
    }

    #[test]
    fn tiers() {
        assert_eq!(err(&tiered(vec![])), ("tiers".into(), "tiers_empty"));
        assert_eq!(
            err(&tiered(vec![tier(Some(0), "1"), tier(None, "1")])),
            ("tiers[0].up_to".into(), "tiers_unordered")
        );
        assert_eq!(
            err(&tiered(vec![
                tier(Some(100), "1"),
                tier(Some(100), "1"),
                tier(None, "1")
            ])),
            ("tiers[1].up_to".into(), "tiers_unordered")
        );
        assert_eq!(
            err(&tiered(vec![tier(None, "1"), tier(None, "1")])),
            ("tiers[0].up_to".into(), "tier_unbounded_not_last")
        );
        assert_eq!(
            err(&tiered(vec![tier(Some(100), "1"), tier(Some(200), "1")])),
            ("tiers[1].up_to".into(), "tiers_last_must_be_unbounded")
        );
        assert_eq!(
            err(&tiered(vec![tier(Some(100), "1"), tier(None, "101")])),
            ("tiers[1].percent".into(), "percent_out_of_range")
        );
        let mut neg = tier(None, "1");
        neg.fixed = -1;
        assert_eq!(
            err(&tiered(vec![neg])),
            ("tiers[0].fixed".into(), "amount_negative")
        );
    }

    #[test]
    fn tiers_need_one_currency() {
        let mut r = tiered(vec![tier(None, "1")]);
        r.conditions.currencies = vec![];
        assert_eq!(
            err(&r),
            ("conditions.currencies".into(), "tiers_need_one_currency")
        );
        r.conditions.currencies = vec![cur("eur"), cur("usd")];
        assert_eq!(
            err(&r),
            ("conditions.currencies".into(), "tiers_need_one_currency")
        );
    }

    #[test]
    fn tiers_replace_percent_and_fixed() {
        let mut r = tiered(vec![tier(None, "1")]);
        r.pricing.percent = dec("1");
        assert_eq!(err(&r), ("percent".into(), "conflicts_with_tiers"));
        let mut r = tiered(vec![tier(None, "1")]);
        r.pricing.fixed.insert(cur("eur"), 0);
        assert_eq!(err(&r), ("fixed.eur".into(), "conflicts_with_tiers"));
    }

    #[test]
    fn conflicts_need_same_priority_and_overlap() {
        let eur = Conditions {
            currencies: vec![cur("eur")],
            ..Conditions::default()
        };
        let usd = Conditions {
            currencies: vec![cur("usd")],
            ..Conditions::default()
        };
        let existing = vec![
            rule_with(10, 5, eur.clone()),
            rule_with(11, 6, Conditions::default()),
        ];
        // Same priority, disjoint: fine. Other priority, overlapping: fine.
        assert_eq!(check_conflicts(&existing, &rule_with(20, 5, usd)), Ok(()));
        assert_eq!(
            check_conflicts(&existing, &rule_with(20, 7, eur.clone())),
            Ok(())
        );
        // Same priority, overlapping: refused, naming the other rule.
        let e = check_conflicts(&existing, &rule_with(20, 6, eur.clone())).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code),
            ("priority", "priority_conflict")
        );
        assert!(e.message.contains(&Uuid::from_u128(11).to_string()));
        // A new version of the same rule does not conflict with itself.
        let mut v2 = existing[0].clone();
        v2.version = 2;
        assert_eq!(check_conflicts(&existing, &v2), Ok(()));
    }

    #[test]
    fn the_reported_conflict_does_not_depend_on_order() {
        let a = rule_with(3, 1, Conditions::default());
        let b = rule_with(2, 1, Conditions::default());
        let cand = rule_with(9, 1, Conditions::default());
        for existing in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
            let e = check_conflicts(&existing, &cand).unwrap_err();
            assert!(e.message.contains(&b.id.to_string()), "{}", e.message);
        }
    }
}
