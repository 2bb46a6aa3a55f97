//! Connected accounts: `POST /v1/accounts`, `GET /v1/accounts/{id}`,
//! `POST /v1/accounts/{id}`, `GET /v1/accounts`.

use std::collections::BTreeMap;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use agora_ledger::Currency;
use agora_onboarding::accounts::{
    self, Account, AccountChanges, BusinessType, CountryCode, Email, NewAccount, Tag,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::parse_currency;
use crate::events::{self, NewEvent};
use crate::gateway::error::ApiError;
use crate::gateway::ids::{self, IdKind};
use crate::gateway::metadata::MetadataParam;
use crate::gateway::pagination::{Cursor, ListBody};
use crate::gateway::{idempotency, ApiQuery, Auth, JsonBody};
use crate::state::AppState;

/// A connected account: one seller on the platform.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountObject {
    #[schema(example = "acct_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    /// Always `account`.
    #[schema(example = "account")]
    pub object: &'static str,
    pub livemode: bool,
    /// RFC 3339, UTC.
    #[schema(example = "2026-11-25T17:27:22Z")]
    pub created: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "SE")]
    pub country: String,
    pub email: Option<String>,
    /// `individual` or `company`.
    pub business_type: Option<String>,
    /// Lower-case ISO 4217.
    #[schema(example = "sek")]
    pub default_currency: String,
    pub metadata: BTreeMap<String, String>,
    /// Seller tags (fee rules can match on them with `conditions.seller_tags`).
    #[schema(example = json!(["gold"]))]
    pub tags: Vec<String>,
    /// Days a charge's funds stay pending; null: the platform's default.
    pub settlement_delay_days: Option<i32>,
}

impl AccountObject {
    pub fn from_model(account: &Account) -> Self {
        Self {
            id: ids::encode(IdKind::Account, account.id),
            object: "account",
            livemode: account.livemode,
            created: super::timestamp(account.created_at),
            country: account.country.clone(),
            email: account.email.clone(),
            business_type: account.business_type.clone(),
            default_currency: account.default_currency.clone(),
            metadata: account.metadata_map(),
            tags: account.tags_list(),
            settlement_delay_days: account.settlement_delay_days,
        }
    }

    fn json(account: &Account) -> Result<Value, ApiError> {
        serde_json::to_value(Self::from_model(account)).map_err(ApiError::internal)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountRequest {
    /// ISO 3166-1 alpha-2 country of the seller.
    #[schema(example = "SE")]
    pub country: String,
    #[schema(example = "anna@example.se")]
    pub email: Option<String>,
    /// `individual` or `company`.
    #[schema(example = "individual")]
    pub business_type: Option<String>,
    /// Lower-case ISO 4217; defaults to the country's currency.
    #[schema(example = "sek")]
    pub default_currency: Option<String>,
    pub metadata: Option<MetadataParam>,
    /// Up to 20 tags, each 1 to 40 characters of `a-z`, `0-9`, `_`, `-`.
    #[schema(example = json!(["gold"]))]
    pub tags: Option<Vec<String>>,
    /// 0 to 365 days a charge's funds stay pending; default: the platform's setting.
    pub settlement_delay_days: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccountRequest {
    /// Cannot change; accepted only if equal to the current country.
    pub country: Option<String>,
    /// An empty string removes the email.
    pub email: Option<String>,
    pub business_type: Option<String>,
    pub default_currency: Option<String>,
    /// Merged into the current metadata; an empty value removes a key.
    pub metadata: Option<MetadataParam>,
    /// Replaces the whole tag list (`[]` removes every tag).
    pub tags: Option<Vec<String>>,
    /// 0 to 365; `null` returns to the platform's default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub settlement_delay_days: Option<Option<i64>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one not sent (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Ok(Some(Option::<i64>::deserialize(d)?))
}

fn parse_delay(days: i64) -> Result<u32, ApiError> {
    u32::try_from(days)
        .ok()
        .filter(|d| *d <= accounts::MAX_SETTLEMENT_DELAY_DAYS)
        .ok_or_else(|| {
            ApiError::invalid(
                "settlement_delay_days",
                "parameter_invalid",
                format!(
                    "settlement_delay_days must be between 0 and {}",
                    accounts::MAX_SETTLEMENT_DELAY_DAYS
                ),
            )
        })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 100, default 10.
    pub limit: Option<i64>,
    /// An `acct_` id: the page after it (older).
    pub starting_after: Option<String>,
    /// An `acct_` id: the page before it (newer).
    pub ending_before: Option<String>,
}

fn parse_country(value: &str) -> Result<CountryCode, ApiError> {
    CountryCode::parse(value).map_err(|e| ApiError::invalid("country", e.code, e.message))
}

fn parse_email(value: &str) -> Result<Email, ApiError> {
    Email::parse(value).map_err(|e| ApiError::invalid("email", e.code, e.message))
}

fn parse_business_type(value: &str) -> Result<BusinessType, ApiError> {
    BusinessType::parse(value).map_err(|e| ApiError::invalid("business_type", e.code, e.message))
}

fn parse_tags(tags: &[String]) -> Result<Vec<Tag>, ApiError> {
    accounts::parse_tags(tags).map_err(|(index, e)| {
        let param = match index {
            Some(i) => format!("tags[{i}]"),
            None => "tags".to_owned(),
        };
        ApiError::invalid(param, e.code, e.message)
    })
}

fn parse_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    ids::decode(IdKind::Account, id).map_err(|_| ApiError::not_found("account", id))
}

/// Only the platform, or the account itself through `Agora-Account`, may see an account.
fn check_access(auth: &Auth, id: uuid::Uuid, raw: &str) -> Result<(), ApiError> {
    match auth.account {
        Some(acting) if acting != id => Err(ApiError::not_found("account", raw)),
        _ => Ok(()),
    }
}

#[utoipa::path(
    tag = "Accounts",
    request_body = CreateAccountRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours.")),
    responses(
        (status = 200, description = "The new account", body = AccountObject),
        (status = 400, description = "Invalid parameters", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/accounts")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: CreateAccountRequest = body.parse()?;
        let country = parse_country(&input.country)?;
        let default_currency = match &input.default_currency {
            Some(c) => parse_currency("default_currency", c)?,
            None => Currency::for_country(country.as_str()).ok_or_else(|| {
                ApiError::invalid(
                    "default_currency",
                    "parameter_missing",
                    format!(
                        "No default currency is known for {}; give default_currency.",
                        country.as_str()
                    ),
                )
            })?,
        };
        let new = NewAccount {
            country,
            email: input.email.as_deref().map(parse_email).transpose()?,
            business_type: input
                .business_type
                .as_deref()
                .map(parse_business_type)
                .transpose()?,
            default_currency,
            metadata: input.metadata.unwrap_or_default().into_new()?,
            tags: parse_tags(input.tags.as_deref().unwrap_or_default())?,
            settlement_delay_days: input.settlement_delay_days.map(parse_delay).transpose()?,
        };
        let account = accounts::create(txn, auth.livemode, new).await?;
        let object = AccountObject::json(&account)?;
        events::record(
            txn,
            NewEvent {
                livemode: auth.livemode,
                account_id: Some(account.id),
                kind: "account.created",
                object: object.clone(),
                previous_attributes: None,
            },
            &origin,
        )
        .await?;
        Ok(object)
    })
    .await
}

#[utoipa::path(
    tag = "Accounts",
    params(("id" = String, Path, description = "An `acct_` id")),
    responses(
        (status = 200, description = "The account", body = AccountObject),
        (status = 404, description = "No such account in this mode", body = crate::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/accounts/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let raw = path.into_inner();
    let id = parse_id(&raw)?;
    check_access(&auth, id, &raw)?;
    let account = accounts::find(&state.db, auth.livemode, id)
        .await?
        .ok_or_else(|| ApiError::not_found("account", &raw))?;
    Ok(HttpResponse::Ok().json(AccountObject::from_model(&account)))
}

#[utoipa::path(
    tag = "Accounts",
    request_body = UpdateAccountRequest,
    params(
        ("id" = String, Path, description = "An `acct_` id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours."),
    ),
    responses(
        (status = 200, description = "The updated account", body = AccountObject),
        (status = 400, description = "Invalid parameters", body = crate::api::openapi::ErrorBody),
        (status = 404, description = "No such account in this mode", body = crate::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/accounts/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let raw = path.into_inner();
    let id = parse_id(&raw)?;
    check_access(&auth, id, &raw)?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: UpdateAccountRequest = body.parse()?;
        let current = accounts::find_for_update(txn, auth.livemode, id)
            .await?
            .ok_or_else(|| ApiError::not_found("account", &raw))?;
        if let Some(country) = &input.country {
            if parse_country(country)?.as_str() != current.country {
                return Err(ApiError::invalid(
                    "country",
                    "parameter_immutable",
                    "An account's country cannot be changed; create a new account instead.",
                ));
            }
        }
        let changes = AccountChanges {
            email: input
                .email
                .as_deref()
                .map(|e| {
                    if e.is_empty() {
                        Ok(None)
                    } else {
                        parse_email(e).map(Some)
                    }
                })
                .transpose()?,
            business_type: input
                .business_type
                .as_deref()
                .map(parse_business_type)
                .transpose()?,
            default_currency: input
                .default_currency
                .as_deref()
                .map(|c| parse_currency("default_currency", c))
                .transpose()?,
            metadata: input
                .metadata
                .as_ref()
                .map(|m| m.merge_into(current.metadata_map()))
                .transpose()?,
            tags: input.tags.as_deref().map(parse_tags).transpose()?,
            settlement_delay_days: input
                .settlement_delay_days
                .map(|d| d.map(parse_delay).transpose())
                .transpose()?,
        };
        let (before, after) = accounts::update(txn, auth.livemode, id, changes)
            .await?
            .ok_or_else(|| ApiError::not_found("account", &raw))?;
        let before = AccountObject::json(&before)?;
        let object = AccountObject::json(&after)?;
        let previous = events::previous_attributes(&before, &object);
        // A no-op update changes nothing, so it records no event.
        if previous.as_object().is_some_and(|m| !m.is_empty()) {
            events::record(
                txn,
                NewEvent {
                    livemode: auth.livemode,
                    account_id: Some(after.id),
                    kind: "account.updated",
                    object: object.clone(),
                    previous_attributes: Some(previous),
                },
                &origin,
            )
            .await?;
        }
        Ok(object)
    })
    .await
}

#[utoipa::path(
    tag = "Accounts",
    params(ListQuery),
    responses(
        (status = 200, description = "Accounts, newest first", body = crate::api::openapi::AccountList),
        (status = 403, description = "Not available with Agora-Account", body = crate::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/accounts")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let q = query.0;
    let cursor = Cursor::parse(
        IdKind::Account,
        q.limit,
        q.starting_after.as_deref(),
        q.ending_before.as_deref(),
    )?;
    let page = cursor
        .fetch(
            &state.db,
            accounts::scoped(auth.livemode),
            accounts::entity::Column::Id,
        )
        .await?;
    let data = page.rows.iter().map(AccountObject::from_model).collect();
    Ok(HttpResponse::Ok().json(ListBody::new("/v1/accounts", data, page.has_more)))
}
