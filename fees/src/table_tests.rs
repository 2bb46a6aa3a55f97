//! Hand-computed quotes. Each case states its inputs and the arithmetic done on paper; the
//! expected numbers were not produced by this crate. Amounts are minor units: EUR/USD cents,
//! JPY yen, KWD fils (1 KWD = 1000 fils).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::rule::{Pricing, Rounding, Rule, Tier, TierMode, Tiers, Vat};
use crate::test_support::{ctx, cur, dec, rule_with};
use crate::{price, Conditions};

/// Pricing built up case by case.
#[derive(Clone)]
struct P(Pricing, &'static str);

impl P {
    fn pct(currency: &'static str, percent: &str) -> Self {
        P(
            Pricing {
                percent: dec(percent),
                ..Pricing::default()
            },
            currency,
        )
    }
    fn tiers(currency: &'static str, mode: TierMode, tiers: &[(Option<i64>, &str, i64)]) -> Self {
        let tiers = tiers
            .iter()
            .map(|(up_to, percent, fixed)| Tier {
                up_to: *up_to,
                percent: dec(percent),
                fixed: *fixed,
            })
            .collect();
        P(
            Pricing {
                percent: Decimal::ZERO,
                tiers: Some(Tiers { mode, tiers }),
                ..Pricing::default()
            },
            currency,
        )
    }
    fn map(&self, v: i64) -> BTreeMap<agora_ledger::Currency, i64> {
        BTreeMap::from([(cur(self.1), v)])
    }
    fn fixed(mut self, v: i64) -> Self {
        self.0.fixed = self.map(v);
        self
    }
    fn min(mut self, v: i64) -> Self {
        self.0.min = self.map(v);
        self
    }
    fn max(mut self, v: i64) -> Self {
        self.0.max = self.map(v);
        self
    }
    fn vat(mut self, rate: &str, inclusive: bool) -> Self {
        self.0.vat = Some(Vat {
            rate: dec(rate),
            inclusive,
        });
        self
    }
    fn half_up(mut self) -> Self {
        self.0.rounding = Rounding::HalfUp;
        self
    }
}

struct Case {
    name: &'static str,
    amount: i64,
    monthly_volume: i64,
    pricing: P,
    /// (fee_amount, tax_amount, seller_amount)
    expect: (i64, i64, i64),
}

fn case(name: &'static str, amount: i64, pricing: P, expect: (i64, i64, i64)) -> Case {
    Case {
        name,
        amount,
        monthly_volume: 0,
        pricing,
        expect,
    }
}

fn with_volume(mut c: Case, monthly_volume: i64) -> Case {
    c.monthly_volume = monthly_volume;
    c
}

fn cases() -> Vec<Case> {
    use TierMode::{Graduated, Volume};
    // Tiers shared by several EUR cases: 3 % below 1000.00, 2 % + 0.10 below 10000.00, then 1 %.
    let eur_tiers = |mode| {
        P::tiers(
            "eur",
            mode,
            &[
                (Some(100_000), "3", 0),
                (Some(1_000_000), "2", 10),
                (None, "1", 0),
            ],
        )
    };
    vec![
        // 10 % of 100.00 EUR = 10000 × 10 / 100 = 1000 exactly. Seller 10000 − 1000 = 9000.
        case(
            "eur plain percent",
            10_000,
            P::pct("eur", "10"),
            (1000, 0, 9000),
        ),
        // 10000 × 2.9 / 100 = 290; + 30 fixed = 320. Seller 10000 − 320 = 9680.
        case(
            "eur percent plus fixed",
            10_000,
            P::pct("eur", "2.9").fixed(30),
            (320, 0, 9680),
        ),
        // F = 1000; VAT exclusive 25 %: 1000 × 25 / 100 = 250. Seller 10000 − 1250 = 8750.
        case(
            "eur vat exclusive",
            10_000,
            P::pct("eur", "10").vat("25", false),
            (1000, 250, 8750),
        ),
        // F = 1000 gross; VAT inclusive 25 %: 1000 × 25 / 125 = 200; fee 800. Seller 9000.
        case(
            "eur vat inclusive",
            10_000,
            P::pct("eur", "10").vat("25", true),
            (800, 200, 9000),
        ),
        // 1 % of 10.00 EUR = 10 < min 50 → 50. Seller 1000 − 50 = 950.
        case(
            "eur min hit",
            1000,
            P::pct("eur", "1").min(50),
            (50, 0, 950),
        ),
        // 5 % of 1000.00 = 5000 > max 2000 → 2000; VAT excl 20 %: 400. Seller 100000 − 2400.
        case(
            "eur max hit, vat exclusive",
            100_000,
            P::pct("eur", "5").max(2000).vat("20", false),
            (2000, 400, 97_600),
        ),
        // 5 % of 0.50 EUR = 50 × 5 / 100 = 2.5, midpoint: half-even → 2. Seller 48.
        case("eur midpoint half-even", 50, P::pct("eur", "5"), (2, 0, 48)),
        // Same 2.5, half-up → 3. Seller 47.
        case(
            "eur midpoint half-up",
            50,
            P::pct("eur", "5").half_up(),
            (3, 0, 47),
        ),
        // 3.6 % of 1000 JPY = 36; VAT excl 10 %: 3.6 → 4. Seller 1000 − 40 = 960.
        case(
            "jpy vat exclusive rounds",
            1000,
            P::pct("jpy", "3.6").vat("10", false),
            (36, 4, 960),
        ),
        // 5 % of 250 JPY = 12.5, half-even → 12. Seller 238.
        case(
            "jpy midpoint half-even",
            250,
            P::pct("jpy", "5"),
            (12, 0, 238),
        ),
        // 12.5 half-up → 13. Seller 237.
        case(
            "jpy midpoint half-up",
            250,
            P::pct("jpy", "5").half_up(),
            (13, 0, 237),
        ),
        // 2 % of 12.345 KWD = 12345 × 2 / 100 = 246.9 → 247; + 100 fils = 347;
        // VAT excl 5 %: 347 × 5 / 100 = 17.35 → 17. Seller 12345 − 364 = 11981.
        case(
            "kwd percent fixed vat",
            12_345,
            P::pct("kwd", "2").fixed(100).vat("5", false),
            (347, 17, 11_981),
        ),
        // 1 % of 1.000 KWD = 10; VAT excl 25 %: 2.5 → half-even 2. Seller 1000 − 12 = 988.
        case(
            "kwd vat midpoint half-even",
            1000,
            P::pct("kwd", "1").vat("25", false),
            (10, 2, 988),
        ),
        // Same, 2.5 → half-up 3. Seller 1000 − 13 = 987.
        case(
            "kwd vat midpoint half-up",
            1000,
            P::pct("kwd", "1").vat("25", false).half_up(),
            (10, 3, 987),
        ),
        // 1 % of 15.00 USD = 15 gross; VAT incl 20 %: 15 × 20 / 120 = 2.5 → half-even 2;
        // fee 13. Seller 1500 − 15 = 1485.
        case(
            "usd vat inclusive midpoint half-even",
            1500,
            P::pct("usd", "1").vat("20", true),
            (13, 2, 1485),
        ),
        // Same 2.5 → half-up 3; fee 12. Seller 1485.
        case(
            "usd vat inclusive midpoint half-up",
            1500,
            P::pct("usd", "1").vat("20", true).half_up(),
            (12, 3, 1485),
        ),
        // 2.9 % of 10.05 USD = 1005 × 2.9 / 100 = 29.145 → 29; + 30 = 59;
        // VAT excl 8.1 %: 59 × 8.1 / 100 = 4.779 → 5. Seller 1005 − 64 = 941.
        case(
            "usd card style",
            1005,
            P::pct("usd", "2.9").fixed(30).vat("8.1", false),
            (59, 5, 941),
        ),
        // 0.5 % of 1.00 USD = 0.5 → half-even 0. Seller 100.
        case(
            "usd half cent half-even",
            100,
            P::pct("usd", "0.5"),
            (0, 0, 100),
        ),
        // 0.5 → half-up 1. Seller 99.
        case(
            "usd half cent half-up",
            100,
            P::pct("usd", "0.5").half_up(),
            (1, 0, 99),
        ),
        // 0 % + 0.30 EUR fixed on a 0.20 EUR charge: 30 > 20 → capped at 20. Seller 0.
        case(
            "eur fixed above the charge, no vat",
            20,
            P::pct("eur", "0").fixed(30),
            (20, 0, 0),
        ),
        // 10 % of 0.40 = 4 < min 50 → 50; VAT excl 25 %: 12.5 → 12; 62 > 40 → cap:
        // tax = 40 × 25 / 125 = 8, fee 40 − 8 = 32. Seller 0.
        case(
            "eur min above the charge, vat exclusive",
            40,
            P::pct("eur", "10").min(50).vat("25", false),
            (32, 8, 0),
        ),
        // 1 % of 0.50 USD = 0.5 → half-up 1 < min 100 → 100; VAT incl 20 %: 100 / 6 = 16.67
        // → 17, fee 83; 100 > 50 → cap: tax = 50 × 20 / 120 = 8.33 → 8, fee 42. Seller 0.
        case(
            "usd min above the charge, vat inclusive",
            50,
            P::pct("usd", "1").min(100).vat("20", true).half_up(),
            (42, 8, 0),
        ),
        // 100 % of 1.234 KWD = 1234; VAT excl 10 %: 123.4 → 123; 1357 > 1234 → cap:
        // tax = 1234 × 10 / 110 = 112.18 → 112, fee 1122. Seller 0.
        case(
            "kwd full percent plus vat capped",
            1234,
            P::pct("kwd", "100").vat("10", false),
            (1122, 112, 0),
        ),
        // 0 %, no fixed; VAT excl 25 % of 0 = 0. Seller keeps all 1000.
        case(
            "eur zero fee",
            1000,
            P::pct("eur", "0").vat("25", false),
            (0, 0, 1000),
        ),
        // Volume: month so far 1500.00 EUR is in tier 2 [1000.00, 10000.00):
        // 2 % of 200.00 = 20000 × 2 / 100 = 400, + tier fixed 10 = 410. Seller 19590.
        with_volume(
            case(
                "eur volume tier 2",
                20_000,
                eur_tiers(Volume),
                (410, 0, 19_590),
            ),
            150_000,
        ),
        // Volume exactly 1000.00 EUR: bounds are exclusive above, so tier 2 again → 410.
        with_volume(
            case(
                "eur volume on the boundary",
                20_000,
                eur_tiers(Volume),
                (410, 0, 19_590),
            ),
            100_000,
        ),
        // Volume 999.99 EUR: still tier 1, which prices the whole charge:
        // 3 % of 200.00 = 600, no fixed. Seller 19400.
        with_volume(
            case(
                "eur volume below the boundary",
                20_000,
                eur_tiers(Volume),
                (600, 0, 19_400),
            ),
            99_999,
        ),
        // Graduated from 950.00 EUR, charge 100.00: 50.00 in tier 1 at 3 % = 150,
        // 50.00 in tier 2 at 2 % = 100; sum 250; fixed of the start tier (1) = 0. Seller 9750.
        with_volume(
            case(
                "eur graduated across a boundary",
                10_000,
                eur_tiers(Graduated),
                (250, 0, 9750),
            ),
            95_000,
        ),
        // Graduated starting in tier 2 (1500.00): all 100.00 at 2 % = 200, + tier 2 fixed 10.
        with_volume(
            case(
                "eur graduated inside tier 2",
                10_000,
                eur_tiers(Graduated),
                (210, 0, 9790),
            ),
            150_000,
        ),
        // USD graduated, 1.5 % below 10.00 then 0.5 %; month so far 9.00, charge 3.00:
        // 100 × 1.5 % = 1.5 and 200 × 0.5 % = 1.0, exact sum 2.5 rounded ONCE half-even → 2
        // (rounding each portion would give 2 + 1 = 3). Seller 298.
        with_volume(
            case(
                "usd graduated single rounding half-even",
                300,
                P::tiers(
                    "usd",
                    Graduated,
                    &[(Some(1000), "1.5", 0), (None, "0.5", 0)],
                ),
                (2, 0, 298),
            ),
            900,
        ),
        // Same, 2.5 half-up → 3. Seller 297.
        with_volume(
            case(
                "usd graduated single rounding half-up",
                300,
                P::tiers(
                    "usd",
                    Graduated,
                    &[(Some(1000), "1.5", 0), (None, "0.5", 0)],
                )
                .half_up(),
                (3, 0, 297),
            ),
            900,
        ),
        // JPY graduated over three tiers, from 5000 JPY, charge 20000 JPY:
        // 5000 × 4 % = 200, 10000 × 3 % = 300, 5000 × 2 % = 100; 600 + start tier fixed 30
        // = 630; VAT excl 10 % = 63. Seller 20000 − 693 = 19307.
        with_volume(
            case(
                "jpy graduated three tiers with vat",
                20_000,
                P::tiers(
                    "jpy",
                    Graduated,
                    &[
                        (Some(10_000), "4", 30),
                        (Some(20_000), "3", 20),
                        (None, "2", 0),
                    ],
                )
                .vat("10", false),
                (630, 63, 19_307),
            ),
            5000,
        ),
        // KWD graduated from 0, charge 600.000 KWD: 500000 × 2 % = 10000, 100000 × 1 % = 1000;
        // 11000 > max 5000 → 5000; VAT incl 25 %: 5000 × 25 / 125 = 1000, fee 4000.
        // Seller 600000 − 5000 = 595000.
        case(
            "kwd graduated max vat inclusive",
            600_000,
            P::tiers("kwd", Graduated, &[(Some(500_000), "2", 0), (None, "1", 0)])
                .max(5000)
                .vat("25", true),
            (4000, 1000, 595_000),
        ),
        // EUR volume tier 2 (month 2000.00 ≥ 1000.00): 0.5 % of 50.00 = 25 < min 50 → 50;
        // VAT incl 25 %: 10, fee 40. Seller 5000 − 50 = 4950.
        with_volume(
            case(
                "eur volume min vat inclusive",
                5000,
                P::tiers("eur", Volume, &[(Some(100_000), "1", 0), (None, "0.5", 0)])
                    .min(50)
                    .vat("25", true),
                (40, 10, 4950),
            ),
            200_000,
        ),
    ]
}

fn rule_for(case: &Case) -> Rule {
    let mut rule = rule_with(1, 0, Conditions::default());
    rule.pricing = case.pricing.0.clone();
    if rule.pricing.tiers.is_some() {
        rule.conditions.currencies = vec![cur(case.pricing.1)];
    }
    rule
}

#[test]
fn hand_computed_quotes() {
    let all = cases();
    assert!(all.len() >= 20);
    let mut failures = Vec::new();
    for case in &all {
        let mut c = ctx(case.amount, case.pricing.1);
        c.monthly_volume = case.monthly_volume;
        let q = price(&rule_for(case), &c).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let got = (q.fee_amount, q.tax_amount, q.seller_amount);
        if got != case.expect {
            failures.push(format!(
                "{}: expected {:?}, got {got:?}\n  {}",
                case.name,
                case.expect,
                q.explanation.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn currencies_and_features_are_covered() {
    let all = cases();
    for code in ["jpy", "eur", "usd", "kwd"] {
        assert!(all.iter().any(|c| c.pricing.1 == code), "{code}");
    }
    let has = |f: &dyn Fn(&Pricing) -> bool| all.iter().any(|c| f(&c.pricing.0));
    assert!(has(&|p| p.vat.as_ref().is_some_and(|v| v.inclusive)));
    assert!(has(&|p| p.vat.as_ref().is_some_and(|v| !v.inclusive)));
    assert!(has(&|p| !p.min.is_empty()) && has(&|p| !p.max.is_empty()));
    assert!(has(&|p| p.rounding == Rounding::HalfUp));
    assert!(has(&|p| p
        .tiers
        .as_ref()
        .is_some_and(|t| t.mode == TierMode::Volume)));
    assert!(has(&|p| p
        .tiers
        .as_ref()
        .is_some_and(|t| t.mode == TierMode::Graduated)));
}
