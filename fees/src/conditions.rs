//! Which rule applies: matching a charge against [`Conditions`], choosing among matching rules,
//! and deciding whether two rules could ever compete for the same charge.
//!
//! `overlaps` is the static twin of `matches`: it answers "is there any charge that both
//! condition sets match?", so that operators cannot create two rules of equal priority whose
//! winner would depend on tie-breaking.

use std::cmp::Ordering;

use crate::rule::{ChargeContext, Conditions, Rule};

impl Conditions {
    /// Whether a charge satisfies every dimension (empty list / `None` = any).
    pub fn matches(&self, ctx: &ChargeContext) -> bool {
        let any_of =
            |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        (self.seller_ids.is_empty() || self.seller_ids.contains(&ctx.seller_id))
            && (self.seller_tags.is_empty()
                || self.seller_tags.iter().any(|t| ctx.seller_tags.contains(t)))
            && (self.countries.is_empty()
                || self
                    .countries
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&ctx.seller_country)))
            && (self.currencies.is_empty() || self.currencies.contains(&ctx.currency))
            && any_of(&self.payment_method_types, &ctx.payment_method_type)
            && self.amount_min.is_none_or(|min| ctx.amount >= min)
            && self.amount_max.is_none_or(|max| ctx.amount <= max)
            && self.cross_border.is_none_or(|cb| cb == ctx.cross_border)
            && self.valid_from.is_none_or(|from| ctx.at >= from)
            && self.valid_to.is_none_or(|to| ctx.at < to)
    }
}

/// Whether some single charge could match both condition sets.
///
/// Per dimension: two non-empty lists of ids, countries, currencies or payment method types
/// must share a value; amount ranges must intersect (and contain a positive amount, since
/// charges are positive); validity windows must intersect (half-open, so `[a, b)` and
/// `[b, c)` do not); `cross_border` must not be `Some(true)` against `Some(false)`.
/// Seller tags never separate two rules: a seller may carry a tag of each rule.
pub fn overlaps(a: &Conditions, b: &Conditions) -> bool {
    fn share<T: PartialEq>(a: &[T], b: &[T]) -> bool {
        a.is_empty() || b.is_empty() || a.iter().any(|x| b.contains(x))
    }
    let countries_share = a.countries.is_empty()
        || b.countries.is_empty()
        || a.countries
            .iter()
            .any(|x| b.countries.iter().any(|y| x.eq_ignore_ascii_case(y)));

    let amount_lo = [Some(1), a.amount_min, b.amount_min]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(1);
    let amount_hi = [a.amount_max, b.amount_max]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(i64::MAX);

    let from = a.valid_from.max(b.valid_from); // None < Some: the later start wins
    let to = match (a.valid_to, b.valid_to) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let window = match (from, to) {
        (Some(from), Some(to)) => from < to,
        _ => true,
    };

    let cross_border = match (a.cross_border, b.cross_border) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };

    share(&a.seller_ids, &b.seller_ids)
        && countries_share
        && share(&a.currencies, &b.currencies)
        && share(&a.payment_method_types, &b.payment_method_types)
        && amount_lo <= amount_hi
        && window
        && cross_border
}

/// The rule that prices this charge: the matching rule with the highest priority.
///
/// Validation keeps equal-priority active rules from overlapping, but if the caller passes
/// such rules anyway the choice is still deterministic: the smaller id wins, then the higher
/// version. The order of `rules` never matters.
pub fn select_rule<'a>(rules: &'a [Rule], ctx: &ChargeContext) -> Option<&'a Rule> {
    rules
        .iter()
        .filter(|r| r.conditions.matches(ctx))
        .max_by(|a, b| precedence(a, b))
}

/// `Greater` = `a` wins.
fn precedence(a: &Rule, b: &Rule) -> Ordering {
    a.priority
        .cmp(&b.priority)
        .then_with(|| b.id.cmp(&a.id))
        .then_with(|| a.version.cmp(&b.version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ctx, cur, rule_with};
    use chrono::TimeZone;
    use chrono::Utc;
    use uuid::Uuid;

    fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap()
    }

    #[test]
    fn empty_conditions_match_everything() {
        assert!(Conditions::default().matches(&ctx(1, "eur")));
        assert!(Conditions::default().matches(&ctx(i64::MAX, "jpy")));
    }

    #[test]
    fn each_dimension_filters() {
        let c = ctx(10_000, "eur"); // seller in SE, tags ["vip"], card, domestic, 2025-06-15
        let m = |f: &dyn Fn(&mut Conditions)| {
            let mut k = Conditions::default();
            f(&mut k);
            k.matches(&c)
        };
        assert!(m(&|k| k.seller_ids = vec![c.seller_id]));
        assert!(!m(&|k| k.seller_ids = vec![Uuid::nil()]));
        assert!(m(&|k| k.seller_tags = vec!["x".into(), "vip".into()]));
        assert!(!m(&|k| k.seller_tags = vec!["VIP".into()]));
        assert!(m(&|k| k.countries = vec!["SE".into()]));
        assert!(!m(&|k| k.countries = vec!["NO".into()]));
        assert!(m(&|k| k.currencies = vec![cur("usd"), cur("eur")]));
        assert!(!m(&|k| k.currencies = vec![cur("sek")]));
        assert!(m(&|k| k.payment_method_types = vec!["card".into()]));
        assert!(!m(&|k| k.payment_method_types = vec!["sepa_debit".into()]));
        assert!(m(&|k| k.amount_min = Some(10_000)));
        assert!(!m(&|k| k.amount_min = Some(10_001)));
        assert!(m(&|k| k.amount_max = Some(10_000)));
        assert!(!m(&|k| k.amount_max = Some(9_999)));
        assert!(m(&|k| k.cross_border = Some(false)));
        assert!(!m(&|k| k.cross_border = Some(true)));
        assert!(m(&|k| k.valid_from = Some(c.at)));
        assert!(!m(
            &|k| k.valid_from = Some(c.at + chrono::Duration::seconds(1))
        ));
        assert!(m(
            &|k| k.valid_to = Some(c.at + chrono::Duration::seconds(1))
        ));
        assert!(!m(&|k| k.valid_to = Some(c.at))); // exclusive
    }

    #[test]
    fn country_of_the_charge_ignores_case() {
        let mut c = ctx(100, "eur");
        c.seller_country = "se".into();
        let k = Conditions {
            countries: vec!["SE".into()],
            ..Conditions::default()
        };
        assert!(k.matches(&c));
    }

    #[test]
    fn overlaps_per_dimension() {
        let any = Conditions::default();
        assert!(overlaps(&any, &any));
        let with = |f: &dyn Fn(&mut Conditions)| {
            let mut k = Conditions::default();
            f(&mut k);
            k
        };
        let eur = with(&|k| k.currencies = vec![cur("eur")]);
        let usd = with(&|k| k.currencies = vec![cur("usd")]);
        let eur_usd = with(&|k| k.currencies = vec![cur("usd"), cur("eur")]);
        assert!(!overlaps(&eur, &usd));
        assert!(overlaps(&eur, &eur_usd));
        assert!(overlaps(&eur, &any));

        let se = with(&|k| k.countries = vec!["SE".into()]);
        let no = with(&|k| k.countries = vec!["NO".into()]);
        assert!(!overlaps(&se, &no));
        assert!(overlaps(
            &se,
            &with(&|k| k.countries = vec!["NO".into(), "SE".into()])
        ));

        let s1 = with(&|k| k.seller_ids = vec![Uuid::from_u128(1)]);
        let s2 = with(&|k| k.seller_ids = vec![Uuid::from_u128(2)]);
        assert!(!overlaps(&s1, &s2));
        assert!(overlaps(&s1, &s1));

        let card = with(&|k| k.payment_method_types = vec!["card".into()]);
        let sepa = with(&|k| k.payment_method_types = vec!["sepa_debit".into()]);
        assert!(!overlaps(&card, &sepa));

        // Tags never separate: one seller can carry both tags.
        let t1 = with(&|k| k.seller_tags = vec!["a".into()]);
        let t2 = with(&|k| k.seller_tags = vec!["b".into()]);
        assert!(overlaps(&t1, &t2));

        // Amounts: inclusive bounds.
        let small = with(&|k| k.amount_max = Some(1000));
        let large = with(&|k| k.amount_min = Some(1001));
        let edge = with(&|k| k.amount_min = Some(1000));
        assert!(!overlaps(&small, &large));
        assert!(overlaps(&small, &edge));
        // Charges are positive: "amount <= 0" matches nothing.
        let nonpositive = with(&|k| k.amount_max = Some(0));
        assert!(!overlaps(&nonpositive, &any));

        // Cross-border.
        let cb = with(&|k| k.cross_border = Some(true));
        let dom = with(&|k| k.cross_border = Some(false));
        assert!(!overlaps(&cb, &dom));
        assert!(overlaps(&cb, &any));

        // Windows are half-open.
        let h1 = with(&|k| k.valid_to = Some(at(2025, 7, 1)));
        let h2 = with(&|k| k.valid_from = Some(at(2025, 7, 1)));
        assert!(!overlaps(&h1, &h2));
        let h2_early = with(&|k| {
            k.valid_from = Some(at(2025, 6, 30));
            k.valid_to = Some(at(2025, 12, 1));
        });
        assert!(overlaps(&h1, &h2_early));
        assert!(overlaps(&h2, &h2_early));

        // All dimensions must overlap at once.
        let mut eur_card = eur.clone();
        eur_card.payment_method_types = vec!["card".into()];
        let mut eur_sepa = eur.clone();
        eur_sepa.payment_method_types = vec!["sepa_debit".into()];
        assert!(!overlaps(&eur_card, &eur_sepa));
    }

    #[test]
    fn overlaps_is_symmetric_and_agrees_with_a_witness() {
        let a = Conditions {
            currencies: vec![cur("eur")],
            amount_min: Some(500),
            valid_from: Some(at(2025, 1, 1)),
            ..Conditions::default()
        };
        let b = Conditions {
            countries: vec!["SE".into()],
            amount_max: Some(20_000),
            valid_to: Some(at(2026, 1, 1)),
            cross_border: Some(false),
            ..Conditions::default()
        };
        assert!(overlaps(&a, &b) && overlaps(&b, &a));
        let witness = ctx(10_000, "eur"); // SE, domestic, mid-2025
        assert!(a.matches(&witness) && b.matches(&witness));
    }

    #[test]
    fn highest_priority_matching_rule_wins() {
        let low = rule_with(1, 0, Conditions::default());
        let high_other_currency = rule_with(
            2,
            100,
            Conditions {
                currencies: vec![cur("usd")],
                ..Conditions::default()
            },
        );
        let mid = rule_with(
            3,
            10,
            Conditions {
                currencies: vec![cur("eur")],
                ..Conditions::default()
            },
        );
        let rules = vec![low.clone(), high_other_currency.clone(), mid.clone()];
        let c = ctx(1000, "eur");
        assert_eq!(select_rule(&rules, &c).map(|r| r.id), Some(mid.id));
        let c_usd = ctx(1000, "usd");
        assert_eq!(
            select_rule(&rules, &c_usd).map(|r| r.id),
            Some(high_other_currency.id)
        );
        let c_jpy = ctx(1000, "jpy");
        assert_eq!(select_rule(&rules, &c_jpy).map(|r| r.id), Some(low.id));
        assert!(select_rule(&rules[1..], &c_jpy).is_none());
        assert!(select_rule(&[], &c).is_none());
    }

    #[test]
    fn ties_break_by_smaller_id_then_higher_version_in_any_order() {
        let a = rule_with(7, 5, Conditions::default());
        let b = rule_with(9, 5, Conditions::default());
        let mut a2 = a.clone();
        a2.version = 2;
        let c = ctx(1000, "eur");
        for rules in [
            vec![a.clone(), b.clone(), a2.clone()],
            vec![b.clone(), a2.clone(), a.clone()],
            vec![a2.clone(), a.clone(), b.clone()],
        ] {
            let chosen = select_rule(&rules, &c).unwrap();
            assert_eq!((chosen.id, chosen.version), (a.id, 2));
        }
    }
}
