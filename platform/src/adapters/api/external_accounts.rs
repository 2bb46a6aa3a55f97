//! A seller's bank accounts (external accounts): `POST/GET /v1/accounts/{id}/external_accounts`,
//! `GET/POST/DELETE /v1/accounts/{id}/external_accounts/{ba}`. One default per currency; the
//! number is sealed at once and shown only as `last4`.

use crate::infra::events::EventType;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use agora_onboarding::accounts::{self, CountryCode};
use agora_onboarding::kyc::entities::external_account as bank;
use agora_onboarding::seal;
use agora_onboarding::verify::{self, Failure};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::parse_currency;
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::pagination::ListBody;
use crate::adapters::gateway::{idempotency, Auth, JsonBody};
use crate::adapters::state::AppState;
use crate::domain::kyc::view::AccountObject;
use crate::infra::clock;
use crate::infra::events::{self, NewEvent, Origin};
use crate::infra::wire::ids::{self, IdKind};

/// Most bank accounts one seller may keep.
pub const MAX_EXTERNAL_ACCOUNTS: usize = 20;

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

pub fn object(b: &bank::Model) -> Value {
    json!({
        "id": ids::encode(IdKind::ExternalAccount, b.id),
        "object": "bank_account",
        "account": ids::encode(IdKind::Account, b.account_id),
        "country": b.country,
        "currency": b.currency,
        "routing_number": b.routing_number,
        "last4": b.last4,
        "fingerprint": b.fingerprint,
        "account_holder_name": b.account_holder_name,
        "account_holder_type": b.account_holder_type,
        "default_for_currency": b.default_for_currency,
        "status": b.status,
        "failure_code": b.failure_code,
        "created": super::timestamp(b.created_at),
    })
}

fn fail(param: &str, failure: Failure) -> ApiError {
    ApiError::invalid(param, failure.code, failure.reason)
}

fn required<'a>(param: &str, value: &'a Option<String>, why: &str) -> Result<&'a str, ApiError> {
    value.as_deref().ok_or_else(|| {
        ApiError::invalid(
            param,
            "parameter_missing",
            format!("{param} is required {why}"),
        )
    })
}

/// What to store of a checked bank account: kind, routing number, the number to seal.
struct Checked {
    kind: &'static str,
    routing: Option<String>,
    number: String,
}

fn check(input: &CreateExternalAccountRequest, country: &str) -> Result<Checked, ApiError> {
    if let Some(iban) = &input.iban {
        let iban = verify::iban(iban).map_err(|e| fail("iban", e))?;
        if iban.country() != country {
            return Err(ApiError::invalid(
                "iban",
                "invalid_iban_country",
                format!(
                    "the IBAN is from {}, not {country}; give the bank's country",
                    iban.country()
                ),
            ));
        }
        return Ok(Checked {
            kind: "iban",
            routing: None,
            number: iban.as_str().to_owned(),
        });
    }
    match country {
        "US" => {
            let routing = required("routing_number", &input.routing_number, "for US banks")?;
            let number = required("account_number", &input.account_number, "for US banks")?;
            Ok(Checked {
                kind: "us_aba",
                routing: Some(
                    verify::aba_routing_number(routing).map_err(|e| fail("routing_number", e))?,
                ),
                number: verify::us_account_number(number).map_err(|e| fail("account_number", e))?,
            })
        }
        "GB" => {
            let sort = required(
                "sort_code",
                &input.sort_code,
                "for UK banks without an IBAN",
            )?;
            let number = required(
                "account_number",
                &input.account_number,
                "for UK banks without an IBAN",
            )?;
            Ok(Checked {
                kind: "gb_sort_code",
                routing: Some(verify::sort_code(sort).map_err(|e| fail("sort_code", e))?),
                number: verify::gb_account_number(number).map_err(|e| fail("account_number", e))?,
            })
        }
        _ => Err(ApiError::invalid(
            "iban",
            "parameter_missing",
            format!("iban is required for banks in {country}"),
        )),
    }
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    ids::decode(IdKind::Account, raw).map_err(|_| ApiError::not_found("account", raw))
}

fn parse_bank_id(raw: &str) -> Result<Uuid, ApiError> {
    ids::decode(IdKind::ExternalAccount, raw)
        .map_err(|_| ApiError::not_found("external_account", raw))
}

fn check_access(auth: &Auth, id: Uuid, raw: &str) -> Result<(), ApiError> {
    match auth.account {
        Some(acting) if acting != id => Err(ApiError::not_found("account", raw)),
        _ => Ok(()),
    }
}

pub async fn live_banks(
    db: &impl ConnectionTrait,
    livemode: bool,
    account: Uuid,
) -> Result<Vec<bank::Model>, sea_orm::DbErr> {
    bank::Entity::find()
        .filter(bank::Column::AccountId.eq(account))
        .filter(bank::Column::Livemode.eq(livemode))
        .filter(bank::Column::DeletedAt.is_null())
        .order_by_desc(bank::Column::Id)
        .all(db)
        .await
}

/// Makes `id` the only default in its currency (at `now`, the mode's clock).
async fn make_default(
    db: &impl ConnectionTrait,
    banks: &[bank::Model],
    chosen: &bank::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for b in banks
        .iter()
        .filter(|b| b.currency == chosen.currency && b.id != chosen.id && b.default_for_currency)
    {
        let mut model: bank::ActiveModel = b.clone().into();
        model.default_for_currency = Set(false);
        model.updated_at = Set(now);
        model.update(db).await?;
    }
    Ok(())
}

async fn record(
    db: &impl ConnectionTrait,
    kind: EventType,
    b: &bank::Model,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    events::record_at(
        db,
        NewEvent {
            livemode: b.livemode,
            account_id: Some(b.account_id),
            kind,
            object: object(b),
            previous_attributes: None,
        },
        origin,
        now,
    )
    .await?;
    Ok(())
}

/// Checks and adds a bank account to `account` (locked by the caller: the duplicate and
/// default checks below cannot race), records its event and re-evaluates the account. Shared
/// by the API and the hosted onboarding pages, so both refuse the same input the same way.
pub(crate) async fn add(
    state: &AppState,
    txn: &sea_orm::DatabaseTransaction,
    account: accounts::Account,
    input: &CreateExternalAccountRequest,
    origin: &Origin,
) -> Result<bank::Model, ApiError> {
    if account.rejected_reason.is_some() {
        return Err(ApiError::bad_request(
            "account_rejected",
            "This account was rejected and can no longer be changed.",
        ));
    }
    let id = account.id;
    let livemode = account.livemode;
    let country = CountryCode::parse(&input.country)
        .map_err(|e| ApiError::invalid("country", e.code, e.message))?;
    let currency = parse_currency("currency", &input.currency)?;
    let checked = check(input, country.as_str())?;
    super::check_text("account_holder_name", &input.account_holder_name, 140)?;
    if let Some(t) = &input.account_holder_type {
        if t != "individual" && t != "company" {
            return Err(ApiError::invalid(
                "account_holder_type",
                "parameter_invalid",
                "account_holder_type must be individual or company",
            ));
        }
    }
    let sealer = &state.kyc.sealer;
    let fingerprint = sealer.fingerprint(
        "bank_account",
        &format!(
            "{}|{}|{}",
            country.as_str(),
            checked.routing.as_deref().unwrap_or(""),
            checked.number
        ),
    );
    let banks = live_banks(txn, livemode, id).await?;
    if banks.iter().any(|b| b.fingerprint == fingerprint) {
        // Name the field the caller gave the number in.
        let param = if input.iban.is_some() {
            "iban"
        } else {
            "account_number"
        };
        return Err(ApiError::invalid(
            param,
            "bank_account_exists",
            "this bank account is already on the account",
        ));
    }
    if banks.len() >= MAX_EXTERNAL_ACCOUNTS {
        return Err(ApiError::bad_request(
            "too_many_external_accounts",
            format!("an account can have at most {MAX_EXTERNAL_ACCOUNTS} bank accounts"),
        ));
    }
    let code = currency.api_code();
    // An errored bank account (a payout to it failed) does not keep the default: the seller's
    // replacement takes over, so the next payout goes to the working one.
    let first_in_currency = !banks.iter().any(|b| {
        b.currency == code
            && b.default_for_currency
            && b.status
                != agora_onboarding::kyc::entities::external_account::BankAccountStatus::Errored
    });
    let now = clock::now(txn, livemode).await?;
    let before = AccountObject::json(&account)?;
    let created = bank::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(livemode),
        account_id: Set(id),
        country: Set(country.as_str().to_owned()),
        currency: Set(code),
        kind: Set(checked.kind.to_owned()),
        routing_number: Set(checked.routing.clone()),
        account_number_sealed: Set(sealer.seal_str("bank_account", &checked.number)),
        last4: Set(seal::last4(&checked.number)),
        fingerprint: Set(fingerprint),
        account_holder_name: Set(input
            .account_holder_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)),
        account_holder_type: Set(input.account_holder_type.clone()),
        default_for_currency: Set(first_in_currency || input.default_for_currency.unwrap_or(false)),
        status: Set(agora_onboarding::kyc::entities::external_account::BankAccountStatus::New),
        failure_code: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
    .insert(txn)
    .await?;
    if created.default_for_currency {
        make_default(txn, &banks, &created, now).await?;
    }
    record(
        txn,
        EventType::AccountExternalAccountCreated,
        &created,
        origin,
        now,
    )
    .await?;
    crate::domain::kyc::refresh(txn, account, Some(&before), origin).await?;
    Ok(created)
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
        // The account row lock serialises this seller's bank changes: the duplicate and
        // default checks below cannot race.
        let account = accounts::find_for_update(txn, auth.livemode, id)
            .await?
            .ok_or_else(|| ApiError::not_found("account", &raw))?;
        let created = add(&state, txn, account, &input, &origin).await?;
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
    accounts::find(&state.db, auth.livemode, id)
        .await?
        .ok_or_else(|| ApiError::not_found("account", &raw))?;
    let banks = live_banks(&state.db, auth.livemode, id).await?;
    let data: Vec<Value> = banks.iter().map(object).collect();
    let url = format!("/v1/accounts/{raw}/external_accounts");
    // At most MAX_EXTERNAL_ACCOUNTS: one page holds them all.
    Ok(HttpResponse::Ok().json(ListBody::new(&url, data, false)))
}

async fn find_bank(
    db: &impl ConnectionTrait,
    auth: &Auth,
    account: Uuid,
    raw_bank: &str,
) -> Result<bank::Model, ApiError> {
    let bank_id = parse_bank_id(raw_bank)?;
    bank::Entity::find_by_id(bank_id)
        .filter(bank::Column::AccountId.eq(account))
        .filter(bank::Column::Livemode.eq(auth.livemode))
        .filter(bank::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("external_account", raw_bank))
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
    let b = find_bank(&state.db, &auth, id, &raw_bank).await?;
    Ok(HttpResponse::Ok().json(object(&b)))
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
        accounts::find_for_update(txn, auth.livemode, id)
            .await?
            .ok_or_else(|| ApiError::not_found("account", &raw))?;
        let b = find_bank(txn, &auth, id, &raw_bank).await?;
        if input.default_for_currency == Some(false) && b.default_for_currency {
            return Err(ApiError::invalid(
                "default_for_currency",
                "parameter_invalid",
                "make another bank account the default for this currency instead",
            ));
        }
        super::check_text("account_holder_name", &input.account_holder_name, 140)?;
        let mut model: bank::ActiveModel = b.clone().into();
        if let Some(name) = &input.account_holder_name {
            model.account_holder_name = Set(Some(name.trim().to_owned()));
        }
        if input.default_for_currency == Some(true) {
            model.default_for_currency = Set(true);
        }
        let now = clock::now(txn, auth.livemode).await?;
        model.updated_at = Set(now);
        let updated = model.update(txn).await?;
        if updated.default_for_currency && !b.default_for_currency {
            let banks = live_banks(txn, auth.livemode, id).await?;
            make_default(txn, &banks, &updated, now).await?;
        }
        record(
            txn,
            EventType::AccountExternalAccountUpdated,
            &updated,
            &origin,
            now,
        )
        .await?;
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
        let account = accounts::find_for_update(txn, auth.livemode, id)
            .await?
            .ok_or_else(|| ApiError::not_found("account", &raw))?;
        let b = find_bank(txn, &auth, id, &raw_bank).await?;
        let before = AccountObject::json(&account)?;
        let now = clock::now(txn, auth.livemode).await?;
        let mut model: bank::ActiveModel = b.clone().into();
        model.deleted_at = Set(Some(now));
        model.default_for_currency = Set(false);
        let deleted = model.update(txn).await?;
        // The newest other bank account in the currency takes over as default.
        if b.default_for_currency {
            let banks = live_banks(txn, auth.livemode, id).await?;
            if let Some(next) = banks.iter().find(|o| o.currency == b.currency) {
                let mut model: bank::ActiveModel = next.clone().into();
                model.default_for_currency = Set(true);
                model.updated_at = Set(now);
                model.update(txn).await?;
            }
        }
        record(
            txn,
            EventType::AccountExternalAccountDeleted,
            &deleted,
            &origin,
            now,
        )
        .await?;
        crate::domain::kyc::refresh(txn, account, Some(&before), &origin).await?;
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
