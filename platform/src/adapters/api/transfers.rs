//! Transfers from the platform's balance to a seller: `POST /v1/transfers`,
//! `POST /v1/transfers/{id}/reversals`, `GET /v1/transfers/{id}`, `GET /v1/transfers`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use agora_ledger::Money;
use serde::Deserialize;
use utoipa::ToSchema;

use super::listing;
use super::{check_text, parse_account_id, parse_currency, MAX_SHORT_TEXT};
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::metadata::MetadataParam;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
pub use crate::domain::payments::view::TransferObject;
use crate::domain::payments::{self, NewReversal, NewTransfer};
use crate::infra::wire::ids::IdKind;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTransferRequest {
    #[schema(minimum = 1)]
    pub amount: i64,
    pub currency: String,
    /// The seller (`acct_…`).
    #[schema(pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub destination: String,
    /// The charge (`ch_…`) the money came from, for reconciliation.
    #[schema(pattern = "^ch_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub source_transaction: Option<String>,
    #[schema(max_length = 255)]
    pub transfer_group: Option<String>,
    pub metadata: Option<MetadataParam>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReversalRequest {
    /// Default: all that is not yet reversed.
    #[schema(minimum = 1)]
    pub amount: Option<i64>,
}

#[utoipa::path(
    tag = "Transfers",
    request_body = CreateTransferRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours.")),
    responses((status = 200, description = "The transfer", body = TransferObject), (status = 400, description = "Invalid, or the platform's balance is too low", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[post("/transfers")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: CreateTransferRequest = body.parse()?;
        let currency = parse_currency("currency", &input.currency)?;
        let destination = parse_account_id("destination", &input.destination)?;
        check_text("transfer_group", &input.transfer_group, MAX_SHORT_TEXT)?;
        let source_transaction = input
            .source_transaction
            .as_deref()
            .map(|s| listing::filter_id("source_transaction", s))
            .transpose()?;
        let new = NewTransfer {
            amount: Money::new(input.amount, currency),
            destination,
            source_transaction,
            transfer_group: input.transfer_group,
            metadata: input.metadata.unwrap_or_default().into_new()?,
        };
        let t = payments::create_transfer(txn, auth.livemode, new, &origin).await?;
        Ok(TransferObject::json(&t)?)
    })
    .await
}

fn transfer_id(raw: &str) -> Result<crate::infra::wire::typed::TransferId, ApiError> {
    listing::path_id("transfer", raw)
}

#[utoipa::path(
    tag = "Transfers",
    request_body = ReversalRequest,
    params(("id" = String, Path, description = "A `tr_` id", pattern = "^tr_[0-7][0-9a-hjkmnp-tv-z]{25}$"), ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry.")),
    responses((status = 200, description = "The transfer after the reversal", body = TransferObject)),
    security(("api_key" = []))
)]
#[post("/transfers/{id}/reversals")]
pub async fn reverse(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = transfer_id(&raw)?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: ReversalRequest = body.parse()?;
        let reversal = NewReversal {
            transfer_id: id,
            amount: input.amount,
        };
        let t = payments::reverse_transfer(txn, auth.livemode, reversal, &origin)
            .await
            .map_err(|e| match e {
                payments::PaymentError::NotFound(_) => ApiError::not_found("transfer", &raw),
                other => other.into(),
            })?;
        Ok(TransferObject::json(&t)?)
    })
    .await
}

#[utoipa::path(
    tag = "Transfers",
    params(("id" = String, Path, description = "A `tr_` id", pattern = "^tr_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The transfer", body = TransferObject), (status = 404, description = "No such transfer", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[get("/transfers/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve_in(
        &state.db,
        IdKind::Transfer,
        "transfer",
        &path.into_inner(),
        payments::lists::transfer_for(auth.livemode, auth.account),
        TransferObject::from_model,
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub destination: Option<String>,
    pub transfer_group: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^tr_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^tr_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(ListQuery);

#[utoipa::path(tag = "Transfers", params(ListQuery), responses((status = 200, description = "Transfers, newest first")), security(("api_key" = [])))]
#[get("/transfers")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    listing::page(
        &state.db,
        "/v1/transfers",
        IdKind::Transfer,
        &q,
        async || {
            let filter = payments::lists::TransferFilter {
                viewer: auth.account,
                destination: listing::optional(&q.destination, |d| {
                    parse_account_id("destination", d)
                })?,
                transfer_group: q.transfer_group.clone(),
            };
            Ok(payments::lists::transfers(auth.livemode, &filter))
        },
        TransferObject::from_model,
    )
    .await
}
