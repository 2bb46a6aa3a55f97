//! The API's view of a fee rule version ([`FeeRuleObject`]), also what the `fee_rule.*`
//! events carry.

use std::collections::BTreeMap;

use agora_ledger::Currency;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::FeeRule;
use crate::infra::wire::ids::{self, IdKind};

#[derive(Debug, Serialize, ToSchema)]
pub struct ConditionsObject {
    pub seller_ids: Vec<String>,
    pub seller_tags: Vec<String>,
    pub countries: Vec<String>,
    pub currencies: Vec<String>,
    pub payment_method_types: Vec<String>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    pub cross_border: Option<bool>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TiersObject {
    /// `graduated` or `volume`.
    pub mode: &'static str,
    pub tiers: Vec<TierObject>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierObject {
    pub up_to: Option<i64>,
    #[schema(example = "2")]
    pub percent: String,
    pub fixed: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VatObject {
    #[schema(example = "25")]
    pub rate: String,
    pub inclusive: bool,
}

/// One version of a fee rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeeRuleObject {
    #[schema(example = "fee_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    /// Always `fee_rule`.
    #[schema(example = "fee_rule")]
    pub object: &'static str,
    pub livemode: bool,
    /// When this version was made, RFC 3339 UTC.
    pub created: String,
    /// 1 for a new rule, +1 per change (deactivation included). Old versions stay readable.
    pub version: u32,
    pub active: bool,
    /// The mode's default rule: no conditions, below every other rule, never deactivated.
    #[serde(rename = "default")]
    pub is_default: bool,
    /// The default rule has -2147483648 (below everything).
    pub priority: i32,
    pub conditions: ConditionsObject,
    #[schema(example = "10")]
    pub percent: String,
    #[schema(example = json!({"eur": 30}))]
    pub fixed: BTreeMap<String, i64>,
    pub min: BTreeMap<String, i64>,
    pub max: BTreeMap<String, i64>,
    pub tiers: Option<TiersObject>,
    pub vat: Option<VatObject>,
    /// `half_even` or `half_up`.
    pub rounding: &'static str,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    // Validity bounds keep their sub-second digits, unlike `created`: they are operator input.
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn amounts(map: &BTreeMap<Currency, i64>) -> BTreeMap<String, i64> {
    map.iter().map(|(c, v)| (c.api_code(), *v)).collect()
}

impl FeeRuleObject {
    /// The rule's API object, as JSON (what the handlers answer and `fee_rule.*` events carry).
    pub fn json(r: &FeeRule) -> Result<serde_json::Value, super::Error> {
        Ok(serde_json::to_value(Self::from_rule(r))?)
    }

    pub fn from_rule(r: &FeeRule) -> Self {
        let c = &r.rule.conditions;
        let p = &r.rule.pricing;
        Self {
            id: ids::encode(IdKind::FeeRule, r.rule.id),
            object: "fee_rule",
            livemode: r.livemode,
            created: crate::infra::wire::timestamp(r.created_at),
            version: r.rule.version,
            active: r.active,
            is_default: r.is_default,
            priority: r.rule.priority,
            conditions: ConditionsObject {
                seller_ids: c
                    .seller_ids
                    .iter()
                    .map(|id| ids::encode(IdKind::Account, *id))
                    .collect(),
                seller_tags: c.seller_tags.clone(),
                countries: c.countries.clone(),
                currencies: c.currencies.iter().map(|c| c.api_code()).collect(),
                payment_method_types: c.payment_method_types.clone(),
                amount_min: c.amount_min,
                amount_max: c.amount_max,
                cross_border: c.cross_border,
                valid_from: c.valid_from.map(rfc3339),
                valid_to: c.valid_to.map(rfc3339),
            },
            percent: p.percent.to_string(),
            fixed: amounts(&p.fixed),
            min: amounts(&p.min),
            max: amounts(&p.max),
            tiers: p.tiers.as_ref().map(|t| TiersObject {
                mode: super::stored::tier_mode_name(t.mode),
                tiers: t
                    .tiers
                    .iter()
                    .map(|t| TierObject {
                        up_to: t.up_to,
                        percent: t.percent.to_string(),
                        fixed: t.fixed,
                    })
                    .collect(),
            }),
            vat: p.vat.as_ref().map(|v| VatObject {
                rate: v.rate.to_string(),
                inclusive: v.inclusive,
            }),
            rounding: super::stored::rounding_name(p.rounding),
        }
    }
}
