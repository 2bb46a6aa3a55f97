//! Fee rules and quotes: `POST /v1/fee_rules`, `GET /v1/fee_rules`, `GET /v1/fee_rules/{id}`,
//! `POST /v1/fee_rules/{id}`, `DELETE /v1/fee_rules/{id}`, `POST /v1/fee_quotes`.
//!
//! Platform keys only: fee rules are the operator's business, not a seller's. Decimals
//! (`percent`, `vat.rate`, tier percents) are JSON strings only, so no client ever rounds a
//! rate through a float; a number there is a 400 naming the field.

use std::collections::BTreeMap;

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use agora_fees::{Conditions, Pricing, Quote, Rounding, Tier, TierMode, Tiers, Vat};
use agora_ledger::Currency;
use agora_onboarding::accounts::{CountryCode, Tag};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{listing, parse_currency};
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::pagination::Page;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
use crate::domain::fee_rules::{self, FeeRule, NewRule, QuoteInput, RuleChanges};
use crate::infra::wire::ids::{self, IdKind};

/// Longest decimal string accepted (digits, sign and point): far more precision than any
/// rate needs, and a bound on what we parse.
const DECIMAL_MAX_LEN: usize = 32;
/// Longest payment method type (`card`, `sepa_debit`, …).
const PAYMENT_METHOD_TYPE_MAX_LEN: usize = 40;
/// Largest charge amount a quote accepts, in minor units (10^15: a quadrillion cents).
const AMOUNT_MAX: i64 = 1_000_000_000_000_000;

// ---------------------------------------------------------------------------------------------
// Wire shapes

/// A decimal written as a JSON string (`"2.9"`). A JSON number is refused: it may already have
/// been rounded through a float on the client's side.
#[derive(Debug, Clone, Copy)]
pub struct DecimalString(pub Decimal);

impl<'de> Deserialize<'de> for DecimalString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DecimalString;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a decimal number written as a string, such as \"2.9\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DecimalString, E> {
                if v.len() <= DECIMAL_MAX_LEN {
                    if let Ok(d) = Decimal::from_str_exact(v) {
                        return Ok(DecimalString(d));
                    }
                }
                Err(E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// Distinguishes an absent field (`None`: keep) from `null` (`Some(None)`: remove).
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Which charges a rule applies to. Every condition given must hold; an empty list or a
/// missing field means "any".
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionsParam {
    /// `acct_` ids: the charge's seller is one of these.
    #[serde(default)]
    pub seller_ids: Vec<String>,
    /// The seller carries any of these tags.
    #[serde(default)]
    #[schema(example = json!(["gold"]))]
    pub seller_tags: Vec<String>,
    /// ISO 3166-1 alpha-2: the seller's country is one of these.
    #[serde(default)]
    #[schema(example = json!(["SE"]))]
    pub countries: Vec<String>,
    /// Lower-case ISO 4217: the charge currency is one of these.
    #[serde(default)]
    #[schema(example = json!(["eur"]))]
    pub currencies: Vec<String>,
    /// `card`, `sepa_debit`, …
    #[serde(default)]
    pub payment_method_types: Vec<String>,
    /// Inclusive, minor units of the charge currency.
    pub amount_min: Option<i64>,
    /// Inclusive, minor units of the charge currency.
    pub amount_max: Option<i64>,
    /// `true`: only charges paid from another country than the seller's; `false`: only
    /// domestic ones.
    pub cross_border: Option<bool>,
    /// RFC 3339; the rule applies from this instant (inclusive).
    pub valid_from: Option<String>,
    /// RFC 3339; the rule applies before this instant (exclusive).
    pub valid_to: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TierModeParam {
    Graduated,
    Volume,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoundingParam {
    HalfEven,
    HalfUp,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TiersParam {
    pub mode: TierModeParam,
    pub tiers: Vec<TierParam>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierParam {
    /// Exclusive upper bound of the seller's monthly volume, minor units; null on the last.
    pub up_to: Option<i64>,
    #[schema(value_type = String, example = "2")]
    pub percent: DecimalString,
    /// Minor units of the rule's one currency.
    #[serde(default)]
    pub fixed: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VatParam {
    /// Percent, at least 0 and below 100.
    #[schema(value_type = String, example = "25")]
    pub rate: DecimalString,
    /// `false` (default): VAT is added on top of the fee; `true`: the fee includes it.
    #[serde(default)]
    pub inclusive: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFeeRuleRequest {
    /// Higher wins among matching rules; -1000000 to 1000000, default 0. Two active rules
    /// with the same priority must not have overlapping conditions.
    #[schema(example = 10)]
    pub priority: Option<i32>,
    pub conditions: Option<ConditionsParam>,
    /// Percent of the charge, 0 to 100, as a string. Default "0".
    #[schema(value_type = Option<String>, example = "10")]
    pub percent: Option<DecimalString>,
    /// Fixed part per charge currency, minor units.
    #[schema(example = json!({"eur": 30}))]
    pub fixed: Option<BTreeMap<String, i64>>,
    /// Lowest fee (before VAT) per charge currency, minor units.
    #[schema(example = json!({"eur": 50}))]
    pub min: Option<BTreeMap<String, i64>>,
    /// Highest fee (before VAT) per charge currency, minor units.
    #[schema(example = json!({"eur": 5000}))]
    pub max: Option<BTreeMap<String, i64>>,
    /// Volume tiers instead of percent and fixed (the rule must then name one currency).
    pub tiers: Option<TiersParam>,
    pub vat: Option<VatParam>,
    /// `half_even` (default) or `half_up`.
    pub rounding: Option<RoundingParam>,
}

/// Makes a new version; fields not given keep their value, `null` removes tiers or VAT.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFeeRuleRequest {
    pub priority: Option<i32>,
    /// Replaces all conditions.
    pub conditions: Option<ConditionsParam>,
    #[schema(value_type = Option<String>, example = "10")]
    pub percent: Option<DecimalString>,
    pub fixed: Option<BTreeMap<String, i64>>,
    pub min: Option<BTreeMap<String, i64>>,
    pub max: Option<BTreeMap<String, i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<TiersParam>)]
    pub tiers: Option<Option<TiersParam>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<VatParam>)]
    pub vat: Option<Option<VatParam>>,
    pub rounding: Option<RoundingParam>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyRequest {}

pub use crate::domain::fee_rules::view::{
    ConditionsObject, FeeRuleObject, TierObject, TiersObject, VatObject,
};

/// The rule's API object, or the error a failed encoding is (a bug: 500).
fn rule_json(r: &FeeRule) -> Result<Value, ApiError> {
    FeeRuleObject::json(r).map_err(|e| api_error(e, ""))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFeeQuoteRequest {
    /// Charge amount in minor units, positive.
    #[schema(example = 10000)]
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000i64)]
    pub amount: i64,
    #[schema(example = "eur")]
    pub currency: String,
    /// The `acct_` id of the seller receiving the charge.
    #[schema(pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub destination: String,
    /// Default `card`.
    pub payment_method_type: Option<String>,
    /// ISO 3166-1 alpha-2 of the card or bank account; when it differs from the seller's
    /// country the charge is cross-border.
    pub payment_method_country: Option<String>,
}

/// What a charge would cost the seller, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeeQuoteObject {
    /// Always `fee_quote`.
    #[schema(example = "fee_quote")]
    pub object: &'static str,
    pub livemode: bool,
    pub amount: i64,
    /// The platform's fee, net of VAT, minor units.
    pub fee_amount: i64,
    /// VAT on the fee, minor units.
    pub tax_amount: i64,
    /// What the seller keeps: amount − fee − tax.
    pub seller_amount: i64,
    pub currency: String,
    /// The `fee_` id of the rule that priced the charge.
    pub rule: String,
    pub rule_version: u32,
    /// One line per pricing step, for people.
    pub explanation: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// A `fee_` id: the page after it (older).
    #[param(pattern = "^fee_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    /// A `fee_` id: the page before it (newer).
    #[param(pattern = "^fee_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
    /// Only active (`true`) or only deactivated (`false`) rules.
    pub active: Option<bool>,
}

listing::paged!(ListQuery);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RetrieveQuery {
    /// A past version; default the latest.
    pub version: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// Parsing requests into the engine's types

fn check_len<T>(param: &str, values: &[T]) -> Result<(), ApiError> {
    if values.len() > fee_rules::MAX_LIST_LEN {
        return Err(ApiError::invalid(
            param,
            "too_many_values",
            format!(
                "{param} can hold at most {} values, got {}",
                fee_rules::MAX_LIST_LEN,
                values.len()
            ),
        ));
    }
    Ok(())
}

fn parse_amounts(
    field: &str,
    map: Option<BTreeMap<String, i64>>,
) -> Result<Option<BTreeMap<Currency, i64>>, ApiError> {
    let Some(map) = map else { return Ok(None) };
    if map.len() > fee_rules::MAX_LIST_LEN {
        return Err(ApiError::invalid(
            field,
            "too_many_values",
            format!(
                "{field} can hold at most {} currencies",
                fee_rules::MAX_LIST_LEN
            ),
        ));
    }
    let mut out = BTreeMap::new();
    for (code, amount) in map {
        let param = format!("{field}.{code}");
        let currency = parse_currency(param.clone(), &code)?;
        // "EUR" and "eur" are the same currency: say so rather than keep one silently.
        if out.insert(currency, amount).is_some() {
            return Err(ApiError::invalid(
                param,
                "currency_duplicate",
                format!("{field} names {} twice", currency.api_code()),
            ));
        }
    }
    Ok(Some(out))
}

fn parse_payment_method_type(param: &str, value: &str) -> Result<String, ApiError> {
    let ok = !value.is_empty()
        && value.len() <= PAYMENT_METHOD_TYPE_MAX_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(ApiError::invalid(
            param,
            "payment_method_type_invalid",
            format!(
                "a payment method type is 1 to {PAYMENT_METHOD_TYPE_MAX_LEN} characters of a-z, \
                 0-9 and _ (card, sepa_debit, …)"
            ),
        ));
    }
    Ok(value.to_owned())
}

fn parse_time(param: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::invalid(
                param,
                "timestamp_invalid",
                format!("`{value}` is not an RFC 3339 timestamp (2026-01-01T00:00:00Z)"),
            )
        })
}

async fn parse_conditions(
    db: &impl ConnectionTrait,
    livemode: bool,
    c: ConditionsParam,
) -> Result<Conditions, ApiError> {
    check_len("conditions.seller_ids", &c.seller_ids)?;
    check_len("conditions.seller_tags", &c.seller_tags)?;
    check_len("conditions.countries", &c.countries)?;
    check_len("conditions.currencies", &c.currencies)?;
    check_len("conditions.payment_method_types", &c.payment_method_types)?;
    let mut seller_ids = Vec::with_capacity(c.seller_ids.len());
    for (i, raw) in c.seller_ids.iter().enumerate() {
        let id = super::parse_account_id(&format!("conditions.seller_ids[{i}]"), raw)?;
        seller_ids.push(id.uuid());
    }
    if !seller_ids.is_empty() {
        // A rule for a seller that does not exist (in this mode) is a mistake worth naming.
        if let Some(i) = fee_rules::first_unknown_seller(db, livemode, &seller_ids).await? {
            return Err(ApiError::missing(
                format!("conditions.seller_ids[{i}]"),
                "account",
                &c.seller_ids[i],
            ));
        }
    }
    let seller_tags = c
        .seller_tags
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Tag::parse(t).map(|t| t.as_str().to_owned()).map_err(|e| {
                ApiError::invalid(format!("conditions.seller_tags[{i}]"), e.code, e.message)
            })
        })
        .collect::<Result<_, _>>()?;
    let countries = c
        .countries
        .iter()
        .enumerate()
        .map(|(i, v)| {
            CountryCode::parse(v)
                .map(|c| c.as_str().to_owned())
                .map_err(|e| {
                    ApiError::invalid(format!("conditions.countries[{i}]"), e.code, e.message)
                })
        })
        .collect::<Result<_, _>>()?;
    let currencies = c
        .currencies
        .iter()
        .enumerate()
        .map(|(i, v)| parse_currency(format!("conditions.currencies[{i}]"), v))
        .collect::<Result<_, _>>()?;
    let payment_method_types = c
        .payment_method_types
        .iter()
        .enumerate()
        .map(|(i, v)| {
            parse_payment_method_type(&format!("conditions.payment_method_types[{i}]"), v)
        })
        .collect::<Result<_, _>>()?;
    Ok(Conditions {
        seller_ids,
        seller_tags,
        countries,
        currencies,
        payment_method_types,
        amount_min: c.amount_min,
        amount_max: c.amount_max,
        cross_border: c.cross_border,
        valid_from: c
            .valid_from
            .as_deref()
            .map(|v| parse_time("conditions.valid_from", v))
            .transpose()?,
        valid_to: c
            .valid_to
            .as_deref()
            .map(|v| parse_time("conditions.valid_to", v))
            .transpose()?,
    })
}

fn parse_tiers(t: TiersParam) -> Result<Tiers, ApiError> {
    check_len("tiers.tiers", &t.tiers)?;
    Ok(Tiers {
        mode: match t.mode {
            TierModeParam::Graduated => TierMode::Graduated,
            TierModeParam::Volume => TierMode::Volume,
        },
        tiers: t
            .tiers
            .into_iter()
            .map(|t| Tier {
                up_to: t.up_to,
                percent: t.percent.0,
                fixed: t.fixed,
            })
            .collect(),
    })
}

fn parse_vat(v: VatParam) -> Vat {
    Vat {
        rate: v.rate.0,
        inclusive: v.inclusive,
    }
}

fn parse_rounding(r: RoundingParam) -> Rounding {
    match r {
        RoundingParam::HalfEven => Rounding::HalfEven,
        RoundingParam::HalfUp => Rounding::HalfUp,
    }
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    listing::path_id::<crate::infra::wire::typed::FeeRuleId>("fee rule", raw).map(|id| id.uuid())
}

/// The engine names tiers `tiers[i]`; the API nests them one level down (`tiers.tiers[i]`).
fn api_field(field: &str) -> String {
    match field.strip_prefix("tiers[") {
        Some(rest) => format!("tiers.tiers[{rest}"),
        None => field.to_owned(),
    }
}

/// Maps a storage error to the API's, naming fields as the caller wrote them.
fn api_error(e: fee_rules::Error, raw_id: &str) -> ApiError {
    use fee_rules::Error as E;
    match e {
        E::Db(e) => ApiError::from(e),
        E::NotFound => ApiError::not_found("fee rule", raw_id),
        E::Invalid(e) => ApiError::invalid(api_field(&e.field), e.code, e.message),
        E::Conflict { error, other } => ApiError::invalid(
            api_field(&error.field),
            error.code,
            error
                .message
                .replace(&other.to_string(), &ids::encode(IdKind::FeeRule, other)),
        ),
        E::DefaultUndeletable => ApiError::invalid(
            "id",
            "default_rule_undeletable",
            "The default fee rule prices every charge no other rule matches, so it cannot be \
             deactivated; change its pricing with POST /v1/fee_rules/{id} instead.",
        ),
        E::Inactive => ApiError::invalid(
            "id",
            "fee_rule_inactive",
            "This fee rule is deactivated and cannot be changed; create a new rule instead.",
        ),
        E::TooManyRules => ApiError::bad_request(
            "fee_rules_limit_reached",
            format!(
                "A mode can have at most {} active fee rules; deactivate one first.",
                fee_rules::MAX_ACTIVE_RULES
            ),
        ),
        E::TooManyVersions => ApiError::invalid(
            "id",
            "fee_rule_versions_limit_reached",
            format!(
                "A fee rule can have at most {} versions; create a new rule instead.",
                fee_rules::MAX_VERSIONS
            ),
        ),
        E::AccountNotFound => ApiError::missing("destination", "account", raw_id),
        E::Quote(agora_fees::QuoteError::NonPositiveAmount(n)) => ApiError::invalid(
            "amount",
            "amount_invalid",
            format!("amount must be a positive number of minor units, got {n}"),
        ),
        // The default rule matches every charge and stored rules are validated, so these
        // are bugs, not caller errors.
        E::Quote(e) => ApiError::internal(e),
        e @ E::Corrupt { .. } => ApiError::internal(e),
        e @ E::Encode(_) => ApiError::internal(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

#[utoipa::path(
    tag = "Fee rules",
    request_body = CreateFeeRuleRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours.")),
    responses(
        (status = 200, description = "The new rule (version 1)", body = FeeRuleObject),
        (status = 400, description = "Invalid parameters, or a priority tie with an overlapping active rule", body = crate::adapters::api::openapi::ErrorBody),
        (status = 403, description = "Not available with Agora-Account", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/fee_rules")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let origin = idempotency::origin(&req);
    let default_percent = state.config.default_fee_percent;
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: CreateFeeRuleRequest = body.parse()?;
        let conditions =
            parse_conditions(txn, auth.livemode, input.conditions.unwrap_or_default()).await?;
        let new = NewRule {
            priority: input.priority.unwrap_or(0),
            conditions,
            pricing: Pricing {
                percent: input.percent.map_or(Decimal::ZERO, |p| p.0),
                fixed: parse_amounts("fixed", input.fixed)?.unwrap_or_default(),
                min: parse_amounts("min", input.min)?.unwrap_or_default(),
                max: parse_amounts("max", input.max)?.unwrap_or_default(),
                tiers: input.tiers.map(parse_tiers).transpose()?,
                vat: input.vat.map(parse_vat),
                rounding: input.rounding.map(parse_rounding).unwrap_or_default(),
            },
        };
        let rule = fee_rules::create(txn, auth.livemode, default_percent, new, &origin)
            .await
            .map_err(|e| api_error(e, ""))?;
        rule_json(&rule)
    })
    .await
}

#[utoipa::path(
    tag = "Fee rules",
    params(ListQuery),
    responses(
        (status = 200, description = "Rules (latest version of each), newest first", body = crate::adapters::api::openapi::FeeRuleList),
        (status = 403, description = "Not available with Agora-Account", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/fee_rules")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let q = query.0;
    listing::list(
        "/v1/fee_rules",
        IdKind::FeeRule,
        &q,
        async |cursor| {
            let (rows, has_more) = fee_rules::list(
                &state.db,
                auth.livemode,
                state.config.default_fee_percent,
                q.active,
                &cursor,
            )
            .await
            .map_err(|e| api_error(e, ""))?;
            Ok(Page { rows, has_more })
        },
        async |rules| Ok(rules.iter().map(FeeRuleObject::from_rule).collect()),
    )
    .await
}

#[utoipa::path(
    tag = "Fee rules",
    params(("id" = String, Path, description = "A `fee_` id", pattern = "^fee_[0-7][0-9a-hjkmnp-tv-z]{25}$"), RetrieveQuery),
    responses(
        (status = 200, description = "The rule's latest version, or the one asked for", body = FeeRuleObject),
        (status = 404, description = "No such rule (or version) in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/fee_rules/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    query: ApiQuery<RetrieveQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    listing::retrieve(
        "fee rule",
        &raw,
        async |id: crate::infra::wire::typed::FeeRuleId| {
            fee_rules::get(
                &state.db,
                auth.livemode,
                state.config.default_fee_percent,
                id.uuid(),
                query.0.version,
            )
            .await
            .map_err(|e| api_error(e, &raw))
        },
        |rule| FeeRuleObject::from_rule(&rule),
    )
    .await
}

#[utoipa::path(
    tag = "Fee rules",
    request_body = UpdateFeeRuleRequest,
    params(
        ("id" = String, Path, description = "A `fee_` id", pattern = "^fee_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours."),
    ),
    responses(
        (status = 200, description = "The new version", body = FeeRuleObject),
        (status = 400, description = "Invalid parameters", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such rule in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/fee_rules/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = parse_id(&raw)?;
    let origin = idempotency::origin(&req);
    let default_percent = state.config.default_fee_percent;
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: UpdateFeeRuleRequest = body.parse()?;
        let conditions = match input.conditions {
            Some(c) => Some(parse_conditions(txn, auth.livemode, c).await?),
            None => None,
        };
        let changes = RuleChanges {
            priority: input.priority,
            conditions,
            percent: input.percent.map(|p| p.0),
            fixed: parse_amounts("fixed", input.fixed)?,
            min: parse_amounts("min", input.min)?,
            max: parse_amounts("max", input.max)?,
            tiers: input
                .tiers
                .map(|t| t.map(parse_tiers).transpose())
                .transpose()?,
            vat: input.vat.map(|v| v.map(parse_vat)),
            rounding: input.rounding.map(parse_rounding),
        };
        // A no-op update writes no version, so it records no event.
        let (_, after) =
            fee_rules::update(txn, auth.livemode, default_percent, id, changes, &origin)
                .await
                .map_err(|e| api_error(e, &raw))?;
        rule_json(&after)
    })
    .await
}

#[utoipa::path(
    tag = "Fee rules",
    params(
        ("id" = String, Path, description = "A `fee_` id", pattern = "^fee_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours."),
    ),
    responses(
        (status = 200, description = "The rule, deactivated (a new version with active: false)", body = FeeRuleObject),
        (status = 400, description = "The default rule cannot be deactivated", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such rule in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[delete("/fee_rules/{id}")]
pub async fn deactivate(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = parse_id(&raw)?;
    let origin = idempotency::origin(&req);
    let default_percent = state.config.default_fee_percent;
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let _: EmptyRequest = body.parse()?;
        let (_, after) = fee_rules::deactivate(txn, auth.livemode, default_percent, id, &origin)
            .await
            .map_err(|e| api_error(e, &raw))?;
        rule_json(&after)
    })
    .await
}

fn quote_object(livemode: bool, amount: i64, currency: Currency, priced: &Quote) -> FeeQuoteObject {
    let rule = ids::encode(IdKind::FeeRule, priced.rule_id);
    let internal = priced.rule_id.to_string();
    FeeQuoteObject {
        object: "fee_quote",
        livemode,
        amount,
        fee_amount: priced.fee_amount,
        tax_amount: priced.tax_amount,
        seller_amount: priced.seller_amount,
        currency: currency.api_code(),
        // The engine names the rule by its UUID; the API speaks public ids only.
        explanation: priced
            .explanation
            .iter()
            .map(|line| line.replace(&internal, &rule))
            .collect(),
        rule,
        rule_version: priced.rule_version,
    }
}

#[utoipa::path(
    tag = "Fee rules",
    request_body = CreateFeeQuoteRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Accepted like on every POST; a quote changes nothing.")),
    responses(
        (status = 200, description = "The fee, VAT and the seller's share, with the rule that priced them", body = FeeQuoteObject),
        (status = 400, description = "Invalid parameters", body = crate::adapters::api::openapi::ErrorBody),
        (status = 403, description = "Not available with Agora-Account", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/fee_quotes")]
pub async fn quote(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let default_percent = state.config.default_fee_percent;
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: CreateFeeQuoteRequest = body.parse()?;
        if !(1..=AMOUNT_MAX).contains(&input.amount) {
            return Err(ApiError::invalid(
                "amount",
                "amount_invalid",
                format!("amount must be between 1 and {AMOUNT_MAX} minor units"),
            ));
        }
        let currency = parse_currency("currency".to_owned(), &input.currency)?;
        let destination = super::parse_account_id("destination", &input.destination)?.uuid();
        let payment_method_type = parse_payment_method_type(
            "payment_method_type",
            input.payment_method_type.as_deref().unwrap_or("card"),
        )?;
        let payment_method_country = input
            .payment_method_country
            .as_deref()
            .map(|c| {
                CountryCode::parse(c)
                    .map(|c| c.as_str().to_owned())
                    .map_err(|e| ApiError::invalid("payment_method_country", e.code, e.message))
            })
            .transpose()?;
        let quote_input = QuoteInput {
            amount: input.amount,
            currency,
            destination,
            payment_method_type,
            payment_method_country,
            at: crate::infra::clock::now(txn, auth.livemode).await?,
        };
        // The seller's captured volume this month, from the ledger, as a charge would use it.
        let monthly_volume = crate::domain::payments::monthly_volume(
            txn,
            auth.livemode,
            destination,
            currency,
            quote_input.at,
        )
        .await?;
        let priced = fee_rules::quote_for(
            txn,
            auth.livemode,
            default_percent,
            &quote_input,
            monthly_volume,
        )
        .await
        .map_err(|e| api_error(e, &input.destination))?;
        serde_json::to_value(quote_object(auth.livemode, input.amount, currency, &priced))
            .map_err(ApiError::internal)
    })
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decimals_are_strings_only() {
        let ok: CreateFeeRuleRequest = serde_json::from_str(r#"{"percent":"2.9"}"#).unwrap();
        assert_eq!(ok.percent.map(|p| p.0.to_string()), Some("2.9".to_owned()));
        for bad in [
            r#"{"percent":2.9}"#,
            r#"{"percent":"1e3"}"#,
            r#"{"percent":"abc"}"#,
        ] {
            assert!(
                serde_json::from_str::<CreateFeeRuleRequest>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn update_tells_null_from_absent() {
        let absent: UpdateFeeRuleRequest = serde_json::from_str("{}").unwrap();
        assert!(absent.vat.is_none());
        let null: UpdateFeeRuleRequest = serde_json::from_str(r#"{"vat":null}"#).unwrap();
        assert!(matches!(null.vat, Some(None)));
    }

    #[test]
    fn engine_fields_become_api_fields() {
        assert_eq!(api_field("tiers[1].up_to"), "tiers.tiers[1].up_to");
        assert_eq!(api_field("fixed.eur"), "fixed.eur");
    }
}
