//! Payouts: `POST /v1/payouts`, `GET /v1/payouts`, `GET /v1/payouts/{id}`,
//! `POST /v1/payouts/{id}/cancel`, `GET /v1/payouts/{id}/reconciliation.csv`; schedules
//! (`GET|POST /v1/accounts/{id}/payout_schedule`); batches (`GET /v1/payout_batches`, `…/{id}`,
//! `…/{id}/file`, `POST …/{id}/mark_sent`); and test helpers
//! (`POST /v1/test_helpers/payouts/{id}/pay|fail`, `POST /v1/test_helpers/payouts/run`).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use agora_payouts::{FailureCode, Method};
use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{listing, parse_account_id, parse_currency};
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
pub use crate::domain::payouts::view::{
    PayoutBatchObject, PayoutObject, PayoutSettingsObject, ScheduleObject,
};
use crate::domain::payouts::{self, Outcome, Payout, PayoutBatch};
use crate::infra::clock;
use crate::infra::wire::ids::{self, IdKind};
use crate::infra::wire::typed::PayoutId;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayoutRequest {
    #[schema(minimum = 1)]
    pub amount: i64,
    pub currency: String,
    /// A bank account (`ba_…`) of the seller; default: its default one for the currency.
    #[schema(pattern = "^ba_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub destination: Option<String>,
    /// `standard` (default) or `instant`.
    #[schema(pattern = "^(standard|instant)$")]
    pub method: Option<String>,
    /// The seller (`acct_…`), unless named by the `Agora-Account` header.
    #[schema(pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub account: Option<String>,
}

fn payout_id(raw: &str) -> Result<crate::infra::wire::typed::PayoutId, ApiError> {
    listing::path_id::<crate::infra::wire::typed::PayoutId>("payout", raw)
}

/// A payout the caller may see: the platform sees all of the mode's, a seller its own.
async fn visible(state: &AppState, auth: &Auth, raw: &str) -> Result<Payout, ApiError> {
    let id = payout_id(raw)?;
    payouts::find_for(&state.db, auth.livemode, auth.account, id)
        .await?
        .ok_or_else(|| ApiError::not_found("payout", raw))
}

#[utoipa::path(
    tag = "Payouts",
    request_body = CreatePayoutRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours.")),
    responses((status = 200, description = "The payout", body = PayoutObject), (status = 400, description = "Invalid, payouts disabled or paused, or the balance is too low", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[post("/payouts")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: CreatePayoutRequest = body.parse()?;
        let currency = parse_currency("currency", &input.currency)?;
        let named = input
            .account
            .as_deref()
            .map(|a| parse_account_id("account", a))
            .transpose()?;
        let account = match (auth.account, named) {
            (Some(acting), Some(named)) if acting != named => {
                return Err(ApiError::invalid(
                    "account",
                    "parameter_invalid",
                    "account differs from the Agora-Account header",
                ))
            }
            (Some(acting), _) => acting,
            (None, Some(named)) => named,
            (None, None) => {
                return Err(ApiError::invalid(
                    "account",
                    "parameter_missing",
                    "name the seller with account or the Agora-Account header",
                ))
            }
        };
        let destination = input
            .destination
            .as_deref()
            .map(|d| listing::filter_id("destination", d))
            .transpose()?;
        let method = match input.method.as_deref() {
            None | Some("standard") => Method::Standard,
            Some("instant") => Method::Instant,
            Some(_) => {
                return Err(ApiError::invalid(
                    "method",
                    "parameter_invalid",
                    "method must be standard or instant",
                ))
            }
        };
        let now = clock::now(txn, auth.livemode).await?;
        let p = payouts::create(
            txn,
            &state.config,
            auth.livemode,
            now,
            now,
            payouts::NewPayout {
                account,
                amount: agora_ledger::Money::new(input.amount, currency),
                destination,
                method,
                period_key: None,
            },
            &origin,
        )
        .await?
        .ok_or_else(|| ApiError::internal("a manual payout collided on its period"))?;
        Ok(PayoutObject::json(&p)?)
    })
    .await
}

#[utoipa::path(
    tag = "Payouts",
    params(("id" = String, Path, description = "A `po_` id", pattern = "^po_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The payout", body = PayoutObject), (status = 404, description = "No such payout", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[get("/payouts/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve(
        "payout",
        &path.into_inner(),
        async |id: crate::infra::wire::typed::PayoutId| {
            Ok(payouts::find_for(&state.db, auth.livemode, auth.account, id).await?)
        },
        |p| PayoutObject::from_model(&p),
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this seller's payouts (`acct_…`).
    #[param(pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub account: Option<String>,
    /// `pending`, `in_transit`, `paid`, `failed` or `canceled`.
    #[param(value_type = Option<String>, pattern = "^(pending|in_transit|paid|failed|canceled)$")]
    pub status: Option<String>,
    /// Only the payouts of this batch (`pob_…`).
    #[param(pattern = "^pob_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub batch: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^po_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^po_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(ListQuery);

#[utoipa::path(tag = "Payouts", params(ListQuery), responses((status = 200, description = "Payouts, newest first")), security(("api_key" = [])))]
#[get("/payouts")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    listing::page(
        &state.db,
        "/v1/payouts",
        IdKind::Payout,
        &q,
        async || {
            let account = listing::optional(&q.account, |a| parse_account_id("account", a))?;
            let status = listing::optional(&q.status, |s| {
                payouts::PayoutStatus::parse(s).ok_or_else(|| {
                    ApiError::invalid(
                        "status",
                        "parameter_invalid",
                        "status must be pending, in_transit, paid, failed or canceled",
                    )
                })
            })?;
            let batch = listing::optional(&q.batch, |b| {
                listing::filter_id::<crate::infra::wire::typed::PayoutBatchId>("batch", b)
            })?;
            let filter = payouts::PayoutFilter {
                viewer: auth.account,
                account,
                status,
                batch,
            };
            Ok(payouts::query(auth.livemode, &filter))
        },
        PayoutObject::from_model,
    )
    .await
}

#[utoipa::path(
    tag = "Payouts",
    params(("id" = String, Path, description = "A `po_` id", pattern = "^po_[0-7][0-9a-hjkmnp-tv-z]{25}$"), ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry.")),
    responses((status = 200, description = "The canceled payout; its money is back in the balance", body = PayoutObject), (status = 400, description = "Not pending any more", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[post("/payouts/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let p = visible(&state, &auth, &raw).await?;
    move_payout(
        &state,
        &auth,
        &req,
        &body,
        PayoutId::from_uuid(p.id),
        |body| {
            let _: EmptyRequest = body.parse()?;
            Ok(Outcome::Canceled)
        },
    )
    .await
}

/// Moves a payout to the outcome read from the request body, inside the request's
/// transaction (with its ledger entry, balance transaction and events); the seller's email
/// goes out once that has committed.
async fn move_payout(
    state: &AppState,
    auth: &Auth,
    req: &HttpRequest,
    body: &JsonBody,
    id: PayoutId,
    outcome: impl Fn(&JsonBody) -> Result<Outcome, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let origin = idempotency::origin(req);
    idempotency::run(state, auth, req, body, async |txn| {
        let outcome = outcome(body)?;
        let after = payouts::move_payout(
            txn,
            &state.config,
            &state.kyc.sealer,
            auth.livemode,
            id,
            outcome,
            &origin,
        )
        .await?;
        Ok(PayoutObject::json(&after)?)
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyRequest {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailRequest {
    /// `account_closed` (default), `no_account`, `invalid_account_number`, `account_frozen`,
    /// `declined`, `could_not_process`, `insufficient_funds`, `bank_account_restricted`,
    /// `invalid_currency`.
    pub failure_code: Option<String>,
}

fn test_only(auth: &Auth) -> Result<(), ApiError> {
    if auth.livemode {
        // Test helpers do not exist for live keys.
        return Err(ApiError::from_status(
            actix_web::http::StatusCode::NOT_FOUND,
        ));
    }
    auth.require_platform()
}

#[utoipa::path(
    tag = "Test helpers",
    params(("id" = String, Path, description = "A `po_` id", pattern = "^po_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The payout, paid", body = PayoutObject), (status = 404, description = "With a live key")),
    security(("api_key" = []))
)]
#[post("/test_helpers/payouts/{id}/pay")]
pub async fn test_pay(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    test_only(&auth)?;
    let p = visible(&state, &auth, &path.into_inner()).await?;
    move_payout(
        &state,
        &auth,
        &req,
        &body,
        PayoutId::from_uuid(p.id),
        |body| {
            let _: EmptyRequest = body.parse()?;
            Ok(Outcome::Paid)
        },
    )
    .await
}

#[utoipa::path(
    tag = "Test helpers",
    request_body = FailRequest,
    params(("id" = String, Path, description = "A `po_` id", pattern = "^po_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The payout, failed; the money is back in the balance and the bank account errored", body = PayoutObject), (status = 404, description = "With a live key")),
    security(("api_key" = []))
)]
#[post("/test_helpers/payouts/{id}/fail")]
pub async fn test_fail(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    test_only(&auth)?;
    let p = visible(&state, &auth, &path.into_inner()).await?;
    move_payout(
        &state,
        &auth,
        &req,
        &body,
        PayoutId::from_uuid(p.id),
        |body| {
            let input: FailRequest = body.parse()?;
            let code = match input.failure_code.as_deref() {
                None => FailureCode::AccountClosed,
                Some(c) => FailureCode::parse(c).ok_or_else(|| {
                    ApiError::invalid("failure_code", "parameter_invalid", "unknown failure_code")
                })?,
            };
            Ok(Outcome::Failed(code))
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The payout day, `YYYY-MM-DD`; default: today by the test clock. Payouts are submitted
    /// at 10:00 UTC of that day (for arrival dates).
    #[schema(format = Date, pattern = "^(20[0-9]{2}|2100)-")]
    pub as_of: Option<String>,
    /// Report what would be paid; change nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlannedObject {
    pub account: String,
    pub amount: i64,
    pub currency: String,
    pub rail: String,
    pub arrival_date: String,
    pub period: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunObject {
    #[schema(example = "payout_run")]
    pub object: &'static str,
    pub as_of: String,
    pub dry_run: bool,
    pub planned: Vec<PlannedObject>,
    pub created: Vec<PayoutObject>,
    pub already_created: usize,
    pub batches: Vec<PayoutBatchObject>,
    /// Payouts of sent batches that arrived by `as_of`, now `paid`.
    pub paid: Vec<PayoutObject>,
    /// Payouts refused when made (dry run: that would be); each is also in `skipped`.
    pub errors: usize,
    /// Every seller the run looked at and did not pay, per currency (`currency` null when
    /// it has no available balance), with a stable `reason`; at most 1,000: the sellers the
    /// run may pay first, then the others (paused, manual, payouts disabled), in account order.
    pub skipped: Vec<SkippedObject>,
    /// How many were skipped in all (more than `skipped` holds when the list was cut).
    pub skipped_total: usize,
}

/// A seller the run did not pay, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedObject {
    pub account: String,
    /// Lower-case ISO 4217; null when the seller has no available balance.
    pub currency: Option<String>,
    /// The available balance in `currency`, minor units.
    pub available: Option<i64>,
    /// `payouts_disabled`, `paused`, `schedule_manual`, `schedule_invalid`, `no_balance`,
    /// `no_bank_account_in_currency`, `bank_account_errored`, `not_a_payout_day`,
    /// `held_back_by_delay`, `too_many_recent_credits`, `below_minimum`,
    /// `already_paid_this_period`, or the code a payout request would be refused with
    /// (`fx_rate_unavailable`, `amount_too_small`, `balance_insufficient`, …).
    #[schema(example = "not_a_payout_day")]
    pub reason: &'static str,
    /// For a person: amounts, the minimum, the next payout day, what to change.
    pub message: String,
}

/// Parses an `as_of` date: `YYYY-MM-DD` from 2000 to 2100 (bank calendars and file formats
/// are not meant for dates beyond, and far dates would only be typos).
pub fn parse_date(param: &str, value: &str) -> Result<NaiveDate, ApiError> {
    use chrono::Datelike;
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&d.year()))
        .ok_or_else(|| {
            ApiError::invalid(
                param,
                "parameter_invalid",
                format!("{param} must be a date YYYY-MM-DD between 2000 and 2100"),
            )
        })
}

/// The time payouts of a run `as_of` a given day count as submitted: 10:00 UTC, before every
/// rail's cut-off, so arrival dates are those of a morning run.
pub fn submitted_on(day: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    day.and_time(NaiveTime::from_hms_opt(10, 0, 0).unwrap_or(NaiveTime::MIN))
        .and_utc()
}

pub fn run_json(as_of: NaiveDate, dry_run: bool, r: &payouts::RunReport) -> RunObject {
    RunObject {
        object: "payout_run",
        as_of: as_of.format("%Y-%m-%d").to_string(),
        dry_run,
        planned: r
            .planned
            .iter()
            .map(|p| PlannedObject {
                account: ids::encode(IdKind::Account, p.account),
                amount: p.amount,
                currency: p.currency.clone(),
                rail: p.rail.as_str().to_owned(),
                arrival_date: p.arrival_date.format("%Y-%m-%d").to_string(),
                period: p.period_key.clone(),
            })
            .collect(),
        created: r.created.iter().map(PayoutObject::from_model).collect(),
        already_created: r.already_created,
        batches: r
            .batches
            .iter()
            .map(PayoutBatchObject::from_model)
            .collect(),
        paid: r.paid.iter().map(PayoutObject::from_model).collect(),
        errors: r.errors,
        skipped: r
            .skipped
            .iter()
            .map(|s| SkippedObject {
                account: ids::encode(IdKind::Account, s.account),
                currency: s.currency.clone(),
                available: s.available,
                reason: s.reason.code(),
                message: s.message.clone(),
            })
            .collect(),
        skipped_total: r.skipped_total,
    }
}

#[utoipa::path(
    tag = "Test helpers",
    request_body = RunRequest,
    responses((status = 200, description = "What the test-mode payout run did", body = RunObject), (status = 404, description = "With a live key")),
    security(("api_key" = []))
)]
#[post("/test_helpers/payouts/run")]
pub async fn test_run(
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    test_only(&auth)?;
    // Not under an Idempotency-Key: a run is idempotent per period by itself.
    let input: RunRequest = body.parse()?;
    let now = clock::now(&state.db, false).await?;
    let (as_of, submitted_at) = match &input.as_of {
        Some(d) => {
            let day = parse_date("as_of", d)?;
            (day, submitted_on(day))
        }
        None => (payouts::local_date(&state.config, now), now),
    };
    let dry_run = input.dry_run.unwrap_or(false);
    let report = payouts::run(
        &state.db,
        &state.config,
        &state.kyc.sealer,
        &payouts::RunOptions {
            livemode: false,
            as_of,
            submitted_at,
            dry_run,
            explain: true,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(run_json(as_of, dry_run, &report)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettingsRequest {
    pub schedule: Option<ScheduleRequest>,
    pub paused: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    #[schema(pattern = "^(manual|daily|weekly|monthly)$")]
    pub interval: String,
    #[schema(pattern = "^(monday|tuesday|wednesday|thursday|friday)$")]
    pub weekly_anchor: Option<String>,
    #[schema(minimum = 1, maximum = 31)]
    pub monthly_anchor: Option<i64>,
    #[schema(minimum = 0, maximum = 365)]
    pub delay_days: Option<i64>,
}

#[utoipa::path(
    tag = "Payouts",
    params(("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The account's payout schedule and pause flag", body = PayoutSettingsObject)),
    security(("api_key" = []))
)]
#[get("/accounts/{id}/payout_settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let raw = path.into_inner();
    let id = listing::path_id::<crate::infra::wire::typed::AccountId>("account", &raw)?;
    let s = payouts::settings(&state.db, auth.livemode, id.uuid())
        .await?
        .filter(|s| auth.account.is_none_or(|a| a.uuid() == s.id))
        .ok_or_else(|| ApiError::not_found("account", &raw))?;
    Ok(HttpResponse::Ok().json(PayoutSettingsObject::from_model(&s)))
}

#[utoipa::path(
    tag = "Payouts",
    request_body = UpdateSettingsRequest,
    params(("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$"), ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry.")),
    responses((status = 200, description = "The account's payout settings", body = PayoutSettingsObject), (status = 400, description = "Invalid schedule", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[post("/accounts/{id}/payout_settings")]
pub async fn update_settings(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = listing::path_id::<crate::infra::wire::typed::AccountId>("account", &raw)?;
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: UpdateSettingsRequest = body.parse()?;
        let after = payouts::update_settings(
            txn,
            auth.livemode,
            id,
            &input.change(),
            &idempotency::origin(&req),
        )
        .await?
        .ok_or_else(|| ApiError::not_found("account", &raw))?;
        Ok(PayoutSettingsObject::json(&after)?)
    })
    .await
}

impl UpdateSettingsRequest {
    /// The domain's change, checked there.
    pub fn change(&self) -> payouts::SettingsChange {
        payouts::SettingsChange {
            schedule: self.schedule.as_ref().map(|s| payouts::ScheduleChange {
                interval: s.interval.clone(),
                weekly_anchor: s.weekly_anchor.clone(),
                monthly_anchor: s.monthly_anchor,
                delay_days: s.delay_days,
            }),
            paused: self.paused,
        }
    }
}

async fn batch_of(state: &AppState, auth: &Auth, raw: &str) -> Result<PayoutBatch, ApiError> {
    auth.require_platform()?;
    let id = listing::path_id::<crate::infra::wire::typed::PayoutBatchId>("payout_batch", raw)?;
    payouts::find_batch(&state.db, auth.livemode, id)
        .await?
        .ok_or_else(|| ApiError::not_found("payout_batch", raw))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BatchListQuery {
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^pob_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^pob_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(BatchListQuery);

#[utoipa::path(tag = "Payouts", params(BatchListQuery), responses((status = 200, description = "Payout batches (bank files), newest first")), security(("api_key" = [])))]
#[get("/payout_batches")]
pub async fn list_batches(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<BatchListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    listing::page(
        &state.db,
        "/v1/payout_batches",
        IdKind::PayoutBatch,
        &query.0,
        async || Ok(payouts::scoped_batches(auth.livemode)),
        PayoutBatchObject::from_model,
    )
    .await
}

#[utoipa::path(
    tag = "Payouts",
    params(("id" = String, Path, description = "A `pob_` id", pattern = "^pob_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The batch", body = PayoutBatchObject)),
    security(("api_key" = []))
)]
#[get("/payout_batches/{id}")]
pub async fn retrieve_batch(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let b = batch_of(&state, &auth, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(PayoutBatchObject::from_model(&b)))
}

#[utoipa::path(
    tag = "Payouts",
    params(("id" = String, Path, description = "A `pob_` id", pattern = "^pob_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The bank file (pain.001 XML, NACHA, Standard 18 or CSV), as written: its SHA-256 is the batch's `file_sha256`"),
        (status = 410, description = "`bank_file_expired`: the file was deleted `bank_file_retention_days` after the batch was marked sent", body = crate::adapters::api::openapi::ErrorBody),
        (status = 500, description = "`bank_file_checksum_mismatch`: the stored file is not the one written for this batch, so it is not served", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/payout_batches/{id}/file")]
pub async fn batch_file(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let b = batch_of(&state, &auth, &path.into_inner()).await?;
    let bytes =
        crate::domain::payouts::files::contents(&state.db, &state.config, &state.kyc.sealer, &b)
            .await?;
    let mime = match b.file_name.rsplit('.').next() {
        Some("xml") => "application/xml",
        Some("csv") => "text/csv; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        // Full account numbers: no cache keeps a copy.
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", b.file_name),
        ))
        .body(bytes))
}

#[utoipa::path(
    tag = "Payouts",
    params(("id" = String, Path, description = "A `pob_` id", pattern = "^pob_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The batch, marked sent", body = PayoutBatchObject)),
    security(("api_key" = []))
)]
#[post("/payout_batches/{id}/mark_sent")]
pub async fn mark_sent(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let b = batch_of(&state, &auth, &path.into_inner()).await?;
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let _: EmptyRequest = body.parse()?;
        let after = payouts::mark_batch_sent(
            txn,
            auth.livemode,
            crate::infra::wire::typed::PayoutBatchId::from_uuid(b.id),
        )
        .await?;
        serde_json::to_value(PayoutBatchObject::from_model(&after)).map_err(ApiError::internal)
    })
    .await
}

#[utoipa::path(
    tag = "Payouts",
    params(("id" = String, Path, description = "A `po_` id", pattern = "^po_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "CSV: the balance transactions the payout paid")),
    security(("api_key" = []))
)]
#[get("/payouts/{id}/reconciliation.csv")]
pub async fn reconciliation(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = visible(&state, &auth, &path.into_inner()).await?;
    let rows = payouts::reconciliation_rows(&state.db, &p).await?;
    let mut out = String::from("balance_transaction,type,source,amount,fee,net,currency,created\n");
    for bt in rows {
        let kind = match bt.source_kind.as_str() {
            "charge" => IdKind::Charge,
            "refund" => IdKind::Refund,
            "transfer" => IdKind::Transfer,
            "payout" => IdKind::Payout,
            _ => IdKind::Dispute,
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            ids::encode(IdKind::BalanceTransaction, bt.id),
            bt.kind,
            ids::encode(kind, bt.source_id),
            bt.amount,
            bt.fee,
            bt.net,
            bt.currency,
            super::timestamp(bt.created_at)
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(out))
}
