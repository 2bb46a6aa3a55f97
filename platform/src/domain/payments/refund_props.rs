//! Property tests of refund allocation: charges priced by real fee rules with VAT (inclusive
//! and exclusive, several rates and roundings, JPY, EUR and KWD), refunded in random steps to
//! the full amount, return every component exactly: the platform's fee, the VAT on it (so
//! `tax_payable`) and each seller's net.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use agora_fees::{ChargeContext, Conditions, Pricing, Rounding, Rule, Vat};
use agora_ledger::Currency;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{refund_shares, refunded_parts, RefundShare, Split};

fn rule(percent: Decimal, fixed: i64, currency: Currency, vat: Vat, rounding: Rounding) -> Rule {
    Rule {
        id: Uuid::from_u128(1),
        version: 1,
        priority: 0,
        conditions: Conditions::default(),
        pricing: Pricing {
            percent,
            fixed: BTreeMap::from([(currency, fixed)]),
            vat: Some(vat),
            rounding,
            ..Pricing::default()
        },
    }
}

fn priced(rule: &Rule, destination: u128, amount: i64, currency: Currency) -> Split {
    let ctx = ChargeContext {
        amount,
        currency,
        seller_id: Uuid::from_u128(destination),
        seller_country: "SE".into(),
        seller_tags: vec![],
        payment_method_type: "card".into(),
        cross_border: false,
        at: Utc
            .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
            .single()
            .unwrap(),
        monthly_volume: 0,
    };
    let quote = agora_fees::price(rule, &ctx).unwrap();
    Split {
        destination: Uuid::from_u128(destination),
        amount,
        application_fee_amount: quote.fee_amount,
        tax_amount: quote.tax_amount,
        fee_rule: Some((rule.id, 1)),
    }
}

/// Cuts `total` into refund steps at the given fractions (per mille of what is left).
fn steps(total: i64, cuts: &[u16]) -> Vec<i64> {
    let mut left = total;
    let mut out = Vec::new();
    for cut in cuts {
        if left == 0 {
            break;
        }
        let step = (left * i64::from(*cut) / 1000).clamp(1, left);
        out.push(step);
        left -= step;
    }
    if left > 0 {
        out.push(left);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn refunded_in_steps_every_component_comes_back_exactly(
        code in prop::sample::select(vec!["jpy", "eur", "kwd", "sek"]),
        percent_bp in 0i64..3_000,
        fixed in 0i64..500,
        vat_rate in prop::sample::select(vec!["25", "19", "7.7", "12.5", "6", "0"]),
        inclusive in any::<bool>(),
        half_up in any::<bool>(),
        amounts in prop::collection::vec(1i64..5_000_000, 1..4),
        cuts in prop::collection::vec(1u16..1000, 0..8),
        keep_fee_on in prop::collection::vec(prop::bool::weighted(0.1), 9),
    ) {
        let currency = Currency::parse(code).unwrap();
        let vat = Vat { rate: vat_rate.parse().unwrap(), inclusive };
        let rounding = if half_up { Rounding::HalfUp } else { Rounding::HalfEven };
        let rule = rule(Decimal::new(percent_bp, 2), fixed, currency, vat, rounding);
        let splits: Vec<Split> = amounts
            .iter()
            .enumerate()
            .map(|(i, a)| priced(&rule, i as u128 + 1, *a, currency))
            .collect();
        let total: i64 = splits.iter().map(|s| s.amount).sum();
        let mut history: Vec<Vec<RefundShare>> = Vec::new();
        let (mut seller, mut platform, mut tax) = (0i64, 0i64, 0i64);
        for (i, step) in steps(total, &cuts).into_iter().enumerate() {
            let done = refunded_parts(&splits, &history);
            // Some steps refund without the fee: the seller bears them, VAT stays owed.
            let refund_fee = !keep_fee_on[i];
            let shares = refund_shares(&splits, &done, step, true, refund_fee).unwrap();
            let sum: i64 = shares.iter().map(|s| s.seller_amount + s.platform_amount + s.tax_amount).sum();
            prop_assert_eq!(sum, step);
            for (sh, sp) in shares.iter().zip(&splits) {
                prop_assert!(sh.seller_amount >= 0 && sh.platform_amount >= 0 && sh.tax_amount >= 0);
                let part = sh.part.unwrap();
                prop_assert!(part.fee >= 0 && part.tax >= 0 && part.net() >= 0);
                prop_assert!(part.amount <= sp.amount);
            }
            seller += shares.iter().map(|s| s.seller_amount).sum::<i64>();
            platform += shares.iter().map(|s| s.platform_amount).sum::<i64>();
            tax += shares.iter().map(|s| s.tax_amount).sum::<i64>();
            history.push(shares);
        }
        // Everything refunded: each split's parts add up to the split, component by component.
        let done = refunded_parts(&splits, &history);
        for (d, s) in done.iter().zip(&splits) {
            prop_assert_eq!((d.amount, d.fee, d.tax), (s.amount, s.application_fee_amount, s.tax_amount));
        }
        prop_assert_eq!(seller + platform + tax, total);
        // Refunds with the fee never return more fee or VAT than the charge took.
        let fees: i64 = splits.iter().map(|s| s.application_fee_amount).sum();
        let vats: i64 = splits.iter().map(|s| s.tax_amount).sum();
        prop_assert!(platform <= fees && tax <= vats);
        if keep_fee_on.iter().all(|k| !k) {
            // Every step refunded the fee: the platform and tax_payable are back to zero.
            prop_assert_eq!((platform, tax), (fees, vats));
        }
    }
}

#[test]
fn rows_from_before_vat_reversal_are_read_as_refunded_parts() {
    let split = Split {
        destination: Uuid::from_u128(1),
        amount: 10_000,
        application_fee_amount: 500,
        tax_amount: 125,
        fee_rule: None,
    };
    // An old row: the platform's amount held fee and VAT, and no part was recorded.
    let old = RefundShare {
        destination: split.destination,
        seller_amount: 3_750,
        platform_amount: 250,
        tax_amount: 0,
        part: None,
    };
    let done = refunded_parts(std::slice::from_ref(&split), &[vec![old]]);
    assert_eq!(done[0].amount, 4_000);
    assert_eq!(done[0].fee + done[0].tax, 250);
    // The rest comes back exactly.
    let rest = refund_shares(std::slice::from_ref(&split), &done, 6_000, true, true).unwrap();
    assert_eq!(
        (
            rest[0].seller_amount,
            rest[0].platform_amount,
            rest[0].tax_amount
        ),
        (5_625, 300, 75)
    );
    assert!(refund_shares(std::slice::from_ref(&split), &done, 6_001, true, true).is_none());
}
