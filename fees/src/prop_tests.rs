//! Property tests: the invariants every quote keeps, for any valid rule and charge.

use std::collections::BTreeMap;

use agora_ledger::Currency;
use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::rule::{Pricing, Rounding, Rule, Tier, TierMode, Tiers, Vat};
use crate::test_support::{ctx, cur};
use crate::{overlaps, price, validate, Conditions};

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["jpy", "eur", "usd", "kwd"]).prop_map(cur)
}

/// 0.00 ..= 100.00 percent, sometimes with four decimals.
fn percent() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (0i64..=10_000).prop_map(|bp| Decimal::new(bp, 2)),
        (0i64..=1_000_000).prop_map(|v| Decimal::new(v, 4)),
    ]
}

fn vat() -> impl Strategy<Value = Option<Vat>> {
    prop::option::of(
        (
            (0i64..10_000).prop_map(|v| Decimal::new(v, 2)),
            any::<bool>(),
        )
            .prop_map(|(rate, inclusive)| Vat { rate, inclusive }),
    )
}

fn rounding() -> impl Strategy<Value = Rounding> {
    prop_oneof![Just(Rounding::HalfEven), Just(Rounding::HalfUp)]
}

/// Small amounts where fixed parts, minimums and the charge are of the same size (so capping
/// and its boundary happen often), or anything up to `i64::MAX`.
fn money_scale() -> impl Strategy<Value = i64> {
    prop_oneof![3 => 0i64..5_000, 1 => 0i64..=i64::MAX]
}

fn min_max() -> impl Strategy<Value = (Option<i64>, Option<i64>)> {
    (
        prop::option::of(money_scale()),
        prop::option::of(money_scale()),
    )
        .prop_map(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
            other => other,
        })
}

fn in_currency(currency: Currency, value: Option<i64>) -> BTreeMap<Currency, i64> {
    value.map(|v| (currency, v)).into_iter().collect()
}

/// A valid rule without tiers, priced in `currency`.
fn flat_pricing(currency: Currency) -> impl Strategy<Value = Pricing> {
    (
        percent(),
        prop::option::of(money_scale()),
        min_max(),
        vat(),
        rounding(),
    )
        .prop_map(move |(percent, fixed, (min, max), vat, rounding)| Pricing {
            percent,
            fixed: in_currency(currency, fixed),
            min: in_currency(currency, min),
            max: in_currency(currency, max),
            tiers: None,
            vat,
            rounding,
        })
}

fn tiers() -> impl Strategy<Value = Tiers> {
    (
        prop_oneof![Just(TierMode::Graduated), Just(TierMode::Volume)],
        prop::collection::vec((1i64..1_000_000, percent(), 0i64..1_000), 1..5),
    )
        .prop_map(|(mode, raw)| {
            let last = raw.len() - 1;
            let mut bound = 0i64;
            let tiers = raw
                .into_iter()
                .enumerate()
                .map(|(i, (step, percent, fixed))| {
                    bound += step;
                    Tier {
                        up_to: (i < last).then_some(bound),
                        percent,
                        fixed,
                    }
                })
                .collect();
            Tiers { mode, tiers }
        })
}

fn tiered_pricing(currency: Currency) -> impl Strategy<Value = Pricing> {
    (tiers(), min_max(), vat(), rounding()).prop_map(move |(tiers, (min, max), vat, rounding)| {
        Pricing {
            percent: Decimal::ZERO,
            fixed: BTreeMap::new(),
            min: in_currency(currency, min),
            max: in_currency(currency, max),
            tiers: Some(tiers),
            vat,
            rounding,
        }
    })
}

fn rule(currency: Currency, pricing: Pricing) -> Rule {
    Rule {
        id: Uuid::from_u128(7),
        version: 1,
        priority: 0,
        conditions: Conditions {
            currencies: vec![currency],
            ..Conditions::default()
        },
        pricing,
    }
}

/// Any valid rule (flat or tiered) with a charge in its currency.
fn rule_and_charge() -> impl Strategy<Value = (Rule, i64, i64)> {
    currency().prop_flat_map(|currency| {
        (
            prop_oneof![flat_pricing(currency), tiered_pricing(currency)],
            prop_oneof![3 => 1i64..10_000, 1 => 1i64..=i64::MAX],
            prop_oneof![0i64..5_000_000, 0i64..=i64::MAX],
        )
            .prop_map(move |(pricing, amount, volume)| (rule(currency, pricing), amount, volume))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn quotes_split_the_charge_exactly((rule, amount, volume) in rule_and_charge()) {
        prop_assert_eq!(validate(&rule), Ok(()));
        let currency = rule.conditions.currencies[0];
        let mut c = ctx(amount, currency.code());
        c.monthly_volume = volume;
        let q = price(&rule, &c).unwrap();
        prop_assert!(q.fee_amount >= 0 && q.tax_amount >= 0 && q.seller_amount >= 0, "{:?}", q);
        prop_assert!(q.fee_amount + q.tax_amount <= amount);
        prop_assert_eq!(
            i128::from(q.seller_amount) + i128::from(q.fee_amount) + i128::from(q.tax_amount),
            i128::from(amount)
        );
        prop_assert!(!q.explanation.is_empty());
        // Deterministic: the same input gives the same quote, explanation included.
        prop_assert_eq!(price(&rule, &c).unwrap(), q);
    }

    #[test]
    fn without_tiers_a_larger_charge_never_costs_less(
        (rule, amount, step) in currency().prop_flat_map(|currency| (
            flat_pricing(currency).prop_map(move |p| rule(currency, p)),
            prop_oneof![3 => 1i64..10_000, 1 => 1i64..1_000_000_000_000_000],
            prop_oneof![Just(1i64), 0i64..1_000, 0i64..1_000_000_000],
        ))
    ) {
        let currency = rule.conditions.currencies[0];
        let small = price(&rule, &ctx(amount, currency.code())).unwrap();
        let large = price(&rule, &ctx(amount + step, currency.code())).unwrap();
        prop_assert!(
            small.fee_amount + small.tax_amount <= large.fee_amount + large.tax_amount,
            "{:?} then {:?}", small, large
        );
        prop_assert!(small.fee_amount <= large.fee_amount, "{:?} then {:?}", small, large);
    }

    #[test]
    fn overlaps_is_never_wrong_about_disjoint_rules(
        a in conditions(), b in conditions(), c in charge()
    ) {
        // If one charge matches both, `overlaps` must have said so.
        if a.matches(&c) && b.matches(&c) {
            prop_assert!(overlaps(&a, &b));
        }
        prop_assert_eq!(overlaps(&a, &b), overlaps(&b, &a));
    }
}

/// Conditions over tiny domains, so that matches and overlaps both happen often.
fn conditions() -> impl Strategy<Value = Conditions> {
    let small_vec = |values: Vec<&'static str>| {
        prop::collection::vec(prop::sample::select(values), 0..3)
            .prop_map(|v| v.into_iter().map(String::from).collect::<Vec<_>>())
    };
    (
        prop::collection::vec((0u128..3).prop_map(Uuid::from_u128), 0..3),
        small_vec(vec!["a", "b", "c"]),
        small_vec(vec!["SE", "NO"]),
        prop::collection::vec(currency(), 0..3),
        small_vec(vec!["card", "sepa_debit"]),
        (prop::option::of(0i64..20), prop::option::of(0i64..20)),
        prop::option::of(any::<bool>()),
        (prop::option::of(0i64..10), prop::option::of(0i64..10)),
    )
        .prop_map(
            |(ids, tags, countries, currencies, methods, amounts, cross_border, days)| {
                let day = |d: i64| ctx(1, "eur").at + chrono::Duration::days(d);
                Conditions {
                    seller_ids: ids,
                    seller_tags: tags,
                    countries,
                    currencies,
                    payment_method_types: methods,
                    amount_min: amounts.0,
                    amount_max: amounts.1,
                    cross_border,
                    valid_from: days.0.map(day),
                    valid_to: days.1.map(day),
                }
            },
        )
}

fn charge() -> impl Strategy<Value = crate::ChargeContext> {
    (
        0u128..3,
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..3),
        prop::sample::select(vec!["SE", "NO", "se"]),
        currency(),
        prop::sample::select(vec!["card", "sepa_debit"]),
        1i64..25,
        any::<bool>(),
        -1i64..12,
    )
        .prop_map(
            |(id, tags, country, currency, method, amount, cross_border, day)| {
                let mut c = ctx(amount, currency.code());
                c.seller_id = Uuid::from_u128(id);
                c.seller_tags = tags.into_iter().map(String::from).collect();
                c.seller_country = country.into();
                c.payment_method_type = method.into();
                c.cross_border = cross_border;
                c.at += chrono::Duration::days(day);
                c
            },
        )
}
