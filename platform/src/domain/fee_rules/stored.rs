//! The JSON kept in `fee_rules.conditions` and `fee_rules.pricing`.
//!
//! A storage format of its own, apart from both the engine's types (which may change shape)
//! and the API's (which speaks public ids): decimals are strings, so no store turns a rate
//! into a float; currencies are lower-case ISO codes; times are RFC 3339. Unknown fields are
//! refused on read, so an older binary never prices with a rule it only half understands.

use std::collections::BTreeMap;

use agora_fees::{Conditions, Pricing, Rounding, Tier, TierMode, Tiers, Vat};
use agora_ledger::Currency;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredConditions {
    seller_ids: Vec<Uuid>,
    seller_tags: Vec<String>,
    countries: Vec<String>,
    currencies: Vec<String>,
    payment_method_types: Vec<String>,
    amount_min: Option<i64>,
    amount_max: Option<i64>,
    cross_border: Option<bool>,
    valid_from: Option<DateTime<Utc>>,
    valid_to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredPricing {
    #[serde(with = "rust_decimal::serde::str")]
    percent: Decimal,
    fixed: BTreeMap<String, i64>,
    min: BTreeMap<String, i64>,
    max: BTreeMap<String, i64>,
    tiers: Option<StoredTiers>,
    vat: Option<StoredVat>,
    /// `half_even` or `half_up`.
    rounding: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredTiers {
    /// `graduated` or `volume`.
    mode: String,
    tiers: Vec<StoredTier>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredTier {
    up_to: Option<i64>,
    #[serde(with = "rust_decimal::serde::str")]
    percent: Decimal,
    fixed: i64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredVat {
    #[serde(with = "rust_decimal::serde::str")]
    rate: Decimal,
    inclusive: bool,
}

pub fn rounding_name(r: Rounding) -> &'static str {
    match r {
        Rounding::HalfEven => "half_even",
        Rounding::HalfUp => "half_up",
    }
}

pub fn tier_mode_name(m: TierMode) -> &'static str {
    match m {
        TierMode::Graduated => "graduated",
        TierMode::Volume => "volume",
    }
}

fn amounts_out(map: &BTreeMap<Currency, i64>) -> BTreeMap<String, i64> {
    map.iter().map(|(c, v)| (c.api_code(), *v)).collect()
}

fn amounts_in(map: BTreeMap<String, i64>) -> Result<BTreeMap<Currency, i64>, String> {
    map.into_iter()
        .map(|(c, v)| {
            Currency::parse(&c)
                .map(|c| (c, v))
                .map_err(|e| format!("currency {c}: {e}"))
        })
        .collect()
}

pub fn conditions_to_json(c: &Conditions) -> Result<Value, serde_json::Error> {
    serde_json::to_value(StoredConditions {
        seller_ids: c.seller_ids.clone(),
        seller_tags: c.seller_tags.clone(),
        countries: c.countries.clone(),
        currencies: c.currencies.iter().map(|c| c.api_code()).collect(),
        payment_method_types: c.payment_method_types.clone(),
        amount_min: c.amount_min,
        amount_max: c.amount_max,
        cross_border: c.cross_border,
        valid_from: c.valid_from,
        valid_to: c.valid_to,
    })
}

pub fn conditions_from_json(value: &Value) -> Result<Conditions, String> {
    let s = StoredConditions::deserialize(value).map_err(|e| e.to_string())?;
    Ok(Conditions {
        seller_ids: s.seller_ids,
        seller_tags: s.seller_tags,
        countries: s.countries,
        currencies: s
            .currencies
            .iter()
            .map(|c| Currency::parse(c).map_err(|e| format!("currency {c}: {e}")))
            .collect::<Result<_, _>>()?,
        payment_method_types: s.payment_method_types,
        amount_min: s.amount_min,
        amount_max: s.amount_max,
        cross_border: s.cross_border,
        valid_from: s.valid_from,
        valid_to: s.valid_to,
    })
}

pub fn pricing_to_json(p: &Pricing) -> Result<Value, serde_json::Error> {
    serde_json::to_value(StoredPricing {
        percent: p.percent,
        fixed: amounts_out(&p.fixed),
        min: amounts_out(&p.min),
        max: amounts_out(&p.max),
        tiers: p.tiers.as_ref().map(|t| StoredTiers {
            mode: tier_mode_name(t.mode).to_owned(),
            tiers: t
                .tiers
                .iter()
                .map(|t| StoredTier {
                    up_to: t.up_to,
                    percent: t.percent,
                    fixed: t.fixed,
                })
                .collect(),
        }),
        vat: p.vat.as_ref().map(|v| StoredVat {
            rate: v.rate,
            inclusive: v.inclusive,
        }),
        rounding: rounding_name(p.rounding).to_owned(),
    })
}

pub fn pricing_from_json(value: &Value) -> Result<Pricing, String> {
    let s = StoredPricing::deserialize(value).map_err(|e| e.to_string())?;
    let tiers = match s.tiers {
        None => None,
        Some(t) => Some(Tiers {
            mode: match t.mode.as_str() {
                "graduated" => TierMode::Graduated,
                "volume" => TierMode::Volume,
                other => return Err(format!("unknown tier mode {other}")),
            },
            tiers: t
                .tiers
                .into_iter()
                .map(|t| Tier {
                    up_to: t.up_to,
                    percent: t.percent,
                    fixed: t.fixed,
                })
                .collect(),
        }),
    };
    Ok(Pricing {
        percent: s.percent,
        fixed: amounts_in(s.fixed)?,
        min: amounts_in(s.min)?,
        max: amounts_in(s.max)?,
        tiers,
        vat: s.vat.map(|v| Vat {
            rate: v.rate,
            inclusive: v.inclusive,
        }),
        rounding: match s.rounding.as_str() {
            "half_even" => Rounding::HalfEven,
            "half_up" => Rounding::HalfUp,
            other => return Err(format!("unknown rounding {other}")),
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::str::FromStr;

    use chrono::TimeZone;

    use super::*;

    #[test]
    fn round_trips_without_losing_digits() {
        let eur = Currency::parse("eur").unwrap();
        let conditions = Conditions {
            seller_ids: vec![Uuid::now_v7()],
            seller_tags: vec!["gold".into()],
            countries: vec!["SE".into()],
            currencies: vec![eur],
            payment_method_types: vec!["card".into()],
            amount_min: Some(1),
            amount_max: Some(2),
            cross_border: Some(false),
            valid_from: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single(),
            valid_to: None,
        };
        let pricing = Pricing {
            percent: Decimal::ZERO,
            fixed: BTreeMap::new(),
            min: [(eur, 50)].into(),
            max: [(eur, 5000)].into(),
            tiers: Some(Tiers {
                mode: TierMode::Graduated,
                tiers: vec![
                    Tier {
                        up_to: Some(100_000),
                        percent: Decimal::from_str("2.123456789012345678").unwrap(),
                        fixed: 30,
                    },
                    Tier {
                        up_to: None,
                        percent: Decimal::from_str("1.5").unwrap(),
                        fixed: 0,
                    },
                ],
            }),
            vat: Some(Vat {
                rate: Decimal::from_str("25").unwrap(),
                inclusive: true,
            }),
            rounding: Rounding::HalfUp,
        };
        let c = conditions_to_json(&conditions).unwrap();
        let p = pricing_to_json(&pricing).unwrap();
        assert_eq!(p["tiers"]["tiers"][0]["percent"], "2.123456789012345678");
        assert_eq!(conditions_from_json(&c).unwrap(), conditions);
        assert_eq!(pricing_from_json(&p).unwrap(), pricing);
    }
}
