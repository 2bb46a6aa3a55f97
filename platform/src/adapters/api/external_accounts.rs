//! A seller's bank accounts (external accounts): `POST/GET /v1/accounts/{id}/external_accounts`,
//! `GET/POST/DELETE /v1/accounts/{id}/external_accounts/{ba}`. One default per currency; the
//! number is sealed at once and shown only as `last4`.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::listing;
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, Auth, JsonBody};
use crate::domain::kyc::banks::{self, BankUpdate, NewBankAccount};
pub use crate::domain::kyc::banks::{object, MAX_EXTERNAL_ACCOUNTS};
use crate::domain::kyc::KycError;
use crate::infra::wire::ids::{self, IdKind};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExternalAccountRequest {
    /// ISO 3166-1 alpha-2 country of the bank.
    #[schema(example = "SE")]
    pub country: String,
    /// Lower-case ISO 4217 currency paid to this account.
    #[schema(example = "sek")]
    pub currency: String,
    /// For IBAN countries (SEPA, GB, …).
    #[schema(example = "SE4550000000058398257466")]
    pub iban: Option<String>,
    /// US: the 9-digit ABA routing number.
    pub routing_number: Option<String>,
    /// GB: the 6-digit sort code.
    pub sort_code: Option<String>,
    /// US (4–17 digits) or GB (8 digits), with `routing_number` or `sort_code`.
    pub account_number: Option<String>,
    pub account_holder_name: Option<String>,
    /// `individual` or `company`.
    pub account_holder_type: Option<String>,
    /// Make this the account for payouts in its currency (the first one always is).
    pub default_for_currency: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateExternalAccountRequest {
    pub default_for_currency: Option<bool>,
    pub account_holder_name: Option<String>,
}

fn parse_id(raw: &str) -> Result<crate::infra::wire::typed::AccountId, ApiError> {
    listing::path_id("account", raw)
}

/// The bank account a write names. A malformed id names none (the nil id matches no row), so
/// a missing account is still reported first, as before the bank; the domain's `NotFound`
/// is then reported with the id as written.
fn bank_id(raw: &str) -> Uuid {
    ids::decode(IdKind::ExternalAccount, raw).unwrap_or(Uuid::nil())
}

fn bank_error(err: KycError, raw_bank: &str) -> ApiError {
    match err {
        KycError::NotFound {
            what: "external_account",
            ..
        } => ApiError::not_found("external_account", raw_bank),
        other => other.into(),
    }
}

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

impl From<CreateExternalAccountRequest> for NewBankAccount {
    fn from(r: CreateExternalAccountRequest) -> Self {
        NewBankAccount {
            country: r.country,
            currency: r.currency,
            iban: r.iban,
            routing_number: r.routing_number,
            sort_code: r.sort_code,
            account_number: r.account_number,
            account_holder_name: r.account_holder_name,
            account_holder_type: r.account_holder_type,
            default_for_currency: r.default_for_currency,
        }
    }
}

#[utoipa::path(
    tag = "External accounts",
    request_body = CreateExternalAccountRequest,
    params(
        ("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours."),
    ),
    responses(
        (status = 200, description = "The new bank account", body = crate::adapters::api::openapi::ExternalAccountObject),
        (status = 400, description = "Invalid bank details", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such account in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/accounts/{id}/external_accounts")]
pub async fn create(
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
        let input: CreateExternalAccountRequest = body.parse()?;
        let created = banks::add(
            txn,
            &state.kyc.sealer,
            auth.livemode,
            id.uuid(),
            &input.into(),
            &origin,
        )
        .await?;
        Ok(object(&created))
    })
    .await
}

#[utoipa::path(
    tag = "External accounts",
    params(("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The account's bank accounts, newest first", body = crate::adapters::api::openapi::ExternalAccountList),
        (status = 404, description = "No such account in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/accounts/{id}/external_accounts")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let raw = path.into_inner();
    let id = parse_id(&raw)?;
    check_access(&auth, id, &raw)?;
    // At most MAX_EXTERNAL_ACCOUNTS: one page holds them all.
    listing::whole(
        &format!("/v1/accounts/{raw}/external_accounts"),
        async || Ok(banks::list(&state.db, auth.livemode, id.uuid()).await?),
        object,
    )
    .await
}

#[utoipa::path(
    tag = "External accounts",
    params(
        ("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("bank" = String, Path, description = "A `ba_` id", pattern = "^ba_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
    ),
    responses(
        (status = 200, description = "The bank account", body = crate::adapters::api::openapi::ExternalAccountObject),
        (status = 404, description = "No such bank account", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/accounts/{id}/external_accounts/{bank}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw, raw_bank) = path.into_inner();
    let id = parse_id(&raw)?;
    check_access(&auth, id, &raw)?;
    listing::retrieve(
        "external_account",
        &raw_bank,
        async |bank: crate::infra::wire::typed::ExternalAccountId| {
            Ok(banks::find(&state.db, auth.livemode, id.uuid(), bank.uuid()).await?)
        },
        |b| object(&b),
    )
    .await
}

#[utoipa::path(
    tag = "External accounts",
    request_body = UpdateExternalAccountRequest,
    params(
        ("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("bank" = String, Path, description = "A `ba_` id", pattern = "^ba_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
    ),
    responses(
        (status = 200, description = "The bank account", body = crate::adapters::api::openapi::ExternalAccountObject),
        (status = 400, description = "Invalid parameters", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such bank account", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/accounts/{id}/external_accounts/{bank}")]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let (raw, raw_bank) = path.into_inner();
    let id = parse_id(&raw)?;
    check_access(&auth, id, &raw)?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: UpdateExternalAccountRequest = body.parse()?;
        let change = BankUpdate {
            default_for_currency: input.default_for_currency,
            account_holder_name: input.account_holder_name,
        };
        let updated = banks::update(
            txn,
            auth.livemode,
            id.uuid(),
            bank_id(&raw_bank),
            &change,
            &origin,
        )
        .await
        .map_err(|e| bank_error(e, &raw_bank))?;
        Ok(object(&updated))
    })
    .await
}

#[utoipa::path(
    tag = "External accounts",
    params(
        ("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("bank" = String, Path, description = "A `ba_` id", pattern = "^ba_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
    ),
    responses(
        (status = 200, description = "The deleted bank account", body = crate::adapters::api::openapi::ExternalAccountObject),
        (status = 404, description = "No such bank account", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[delete("/accounts/{id}/external_accounts/{bank}")]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let (raw, raw_bank) = path.into_inner();
    let id = parse_id(&raw)?;
    check_access(&auth, id, &raw)?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let _: EmptyRequest = body.parse()?;
        let deleted = banks::delete(txn, auth.livemode, id.uuid(), bank_id(&raw_bank), &origin)
            .await
            .map_err(|e| bank_error(e, &raw_bank))?;
        let mut body = object(&deleted);
        body["deleted"] = json!(true);
        Ok(body)
    })
    .await
}

/// A request that takes no parameters (an empty body or `{}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyRequest {}
