//! Connected accounts: `POST /v1/accounts`, `GET /v1/accounts/{id}`,
//! `POST /v1/accounts/{id}`, `GET /v1/accounts`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use agora_ledger::Currency;
use agora_onboarding::accounts::{
    self, AccountChanges, BusinessType, CountryCode, Email, NewAccount, Tag,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{listing, parse_currency};
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::metadata::MetadataParam;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
use crate::domain::kyc::input::{
    BusinessProfileParams, CompanyParams, KycParams, PersonParams, TosAcceptanceParams,
};
use crate::domain::{kyc, payouts};
use crate::infra::wire::ids::IdKind;

use crate::adapters::gateway::state::AppState;
pub use crate::domain::kyc::view::AccountObject;

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
    pub business_profile: Option<BusinessProfileParams>,
    /// The seller, when business_type is `individual`.
    pub individual: Option<PersonParams>,
    /// The company, when business_type is `company`.
    pub company: Option<CompanyParams>,
    /// When and from where the seller accepted the platform's terms.
    pub tos_acceptance: Option<TosAcceptanceParams>,
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
    pub business_profile: Option<BusinessProfileParams>,
    /// The seller, when business_type is `individual`.
    pub individual: Option<PersonParams>,
    /// The company, when business_type is `company`.
    pub company: Option<CompanyParams>,
    /// When and from where the seller accepted the platform's terms.
    pub tos_acceptance: Option<TosAcceptanceParams>,
    /// RFC 3339: when what is eventually due becomes past due (charges stop); `null` removes
    /// the deadline.
    #[serde(default, deserialize_with = "present_text")]
    #[schema(value_type = Option<String>)]
    pub requirements_deadline: Option<Option<String>>,
    /// `{"payouts": {"schedule": {...}, "paused": bool}}`, as `POST
    /// /v1/accounts/{id}/payout_settings` takes it; `paused` is the platform's alone.
    pub settings: Option<AccountSettingsParams>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountSettingsParams {
    pub payouts: Option<crate::adapters::api::payouts::UpdateSettingsRequest>,
}

/// Tells a field sent as `null` (`Some(None)`) from one not sent (`None`).
fn present_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectAccountRequest {
    /// `fraud`, `terms_of_service` or `other`.
    #[schema(example = "fraud")]
    #[schema(pattern = "^(fraud|terms_of_service|other)$")]
    pub reason: String,
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
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// An `acct_` id: the page after it (older).
    #[param(pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    /// An `acct_` id: the page before it (newer).
    #[param(pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(ListQuery);

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

fn parse_id(id: &str) -> Result<crate::infra::wire::typed::AccountId, ApiError> {
    listing::path_id::<crate::infra::wire::typed::AccountId>("account", id)
}

/// Only the platform, or the account itself through `Agora-Account`, may see an account.
fn check_access(
    auth: &Auth,
    id: crate::infra::wire::typed::AccountId,
    raw: &str,
) -> Result<(), ApiError> {
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
        (status = 400, description = "Invalid parameters", body = crate::adapters::api::openapi::ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = crate::adapters::api::openapi::ErrorBody),
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
        let kyc = KycParams {
            business_profile: input.business_profile,
            individual: input.individual,
            company: input.company,
            tos_acceptance: input.tos_acceptance,
        };
        let account =
            kyc::create_account(txn, &state.kyc, auth.livemode, new, &kyc, &origin).await?;
        Ok(AccountObject::json(&account)?)
    })
    .await
}

#[utoipa::path(
    tag = "Accounts",
    params(("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The account", body = AccountObject),
        (status = 404, description = "No such account in this mode", body = crate::adapters::api::openapi::ErrorBody),
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
    listing::retrieve(
        "account",
        &raw,
        async |id: crate::infra::wire::typed::AccountId| {
            check_access(&auth, id, &raw)?;
            Ok(accounts::find(&state.db, auth.livemode, id.uuid()).await?)
        },
        |account| AccountObject::from_model(&account),
    )
    .await
}

#[utoipa::path(
    tag = "Accounts",
    request_body = UpdateAccountRequest,
    params(
        ("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours."),
    ),
    responses(
        (status = 200, description = "The updated account", body = AccountObject),
        (status = 400, description = "Invalid parameters", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such account in this mode", body = crate::adapters::api::openapi::ErrorBody),
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
        let current = kyc::lock_account(txn, auth.livemode, id.uuid()).await?;
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
        if current.rejected_reason.is_some() && (changes.business_type.is_some()) {
            return Err(ApiError::bad_request(
                "account_rejected",
                "This account was rejected and can no longer be changed.",
            ));
        }
        let deadline = input
            .requirements_deadline
            .as_ref()
            .map(|d| {
                d.as_deref()
                    .map(|d| super::parse_instant("requirements_deadline", d))
                    .transpose()
            })
            .transpose()?;
        let kyc = KycParams {
            business_profile: input.business_profile,
            individual: input.individual,
            company: input.company,
            tos_acceptance: input.tos_acceptance,
        };
        let payout_settings = input.settings.as_ref().and_then(|s| s.payouts.as_ref());
        if payout_settings.is_some_and(|p| p.paused.is_some()) && auth.account.is_some() {
            return Err(ApiError::forbidden(
                "platform_key_required",
                "Only the platform can pause or resume an account's payouts.",
            ));
        }
        let (before, after) = kyc::change_account(txn, auth.livemode, id.uuid(), changes).await?;
        let before = AccountObject::json(&before)?;
        let after = match payout_settings {
            Some(settings) => {
                payouts::change_settings(txn, auth.livemode, id, &settings.change())
                    .await
                    .map_err(|e| {
                        let mut e = ApiError::from(e);
                        e.param = e.param.map(|p| format!("settings.payouts.{p}"));
                        e
                    })?
                    .ok_or_else(|| ApiError::not_found("account", &raw))?;
                kyc::reload(txn, auth.livemode, id.uuid()).await?
            }
            None => after,
        };
        let after = match deadline {
            Some(deadline) => kyc::set_deadline(txn, after, deadline).await?,
            None => after,
        };
        // Records account.updated (and capability.updated) for whatever changed; a no-op
        // update changes nothing, so it records no event.
        let account = kyc::apply(txn, &state.kyc, after, &kyc, Some(&before), &origin).await?;
        Ok(AccountObject::json(&account)?)
    })
    .await
}

#[utoipa::path(
    tag = "Accounts",
    params(ListQuery),
    responses(
        (status = 200, description = "Accounts, newest first", body = crate::adapters::api::openapi::AccountList),
        (status = 403, description = "Not available with Agora-Account", body = crate::adapters::api::openapi::ErrorBody),
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
    listing::page(
        &state.db,
        "/v1/accounts",
        IdKind::Account,
        &q,
        async || Ok(accounts::scoped(auth.livemode)),
        AccountObject::from_model,
    )
    .await
}

#[utoipa::path(
    tag = "Accounts",
    request_body = RejectAccountRequest,
    params(("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The rejected account", body = AccountObject),
        (status = 400, description = "Invalid reason, or already rejected", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such account in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/accounts/{id}/reject")]
pub async fn reject(
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
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: RejectAccountRequest = body.parse()?;
        if !["fraud", "terms_of_service", "other"].contains(&input.reason.as_str()) {
            return Err(ApiError::invalid(
                "reason",
                "parameter_invalid",
                "reason must be fraud, terms_of_service or other",
            ));
        }
        let account = kyc::reject(txn, auth.livemode, id.uuid(), input.reason, &origin).await?;
        Ok(AccountObject::json(&account)?)
    })
    .await
}
