//! Transfers from the platform's balance to a seller: `POST /v1/transfers`,
//! `POST /v1/transfers/{id}/reversals`, `GET /v1/transfers/{id}`, `GET /v1/transfers`.

use crate::infra::events::EventType;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::listing;
use super::{check_text, parse_account_id, parse_currency, MAX_SHORT_TEXT};
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::metadata::MetadataParam;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
use crate::adapters::state::AppState;
use crate::domain::payments::{self, NewTransfer, Transfer};
use crate::infra::clock;
use crate::infra::events::{self, NewEvent};
use crate::infra::wire::ids::{self, IdKind};

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferObject {
    #[schema(example = "tr_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "transfer")]
    pub object: &'static str,
    pub livemode: bool,
    pub created: String,
    pub amount: i64,
    pub currency: String,
    pub destination: String,
    pub source_transaction: Option<String>,
    pub transfer_group: Option<String>,
    pub amount_reversed: i64,
    pub reversed: bool,
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl TransferObject {
    pub fn from_model(t: &Transfer) -> Self {
        Self {
            id: ids::encode(IdKind::Transfer, t.id),
            object: "transfer",
            livemode: t.livemode,
            created: super::timestamp(t.created_at),
            amount: t.amount,
            currency: t.currency.clone(),
            destination: ids::encode(IdKind::Account, t.destination_id),
            source_transaction: t.source_transaction.map(|c| ids::encode(IdKind::Charge, c)),
            transfer_group: t.transfer_group.clone(),
            amount_reversed: t.amount_reversed,
            reversed: t.amount_reversed == t.amount,
            metadata: serde_json::from_value(t.metadata.clone()).unwrap_or_default(),
        }
    }

    fn json(t: &Transfer) -> Result<Value, ApiError> {
        serde_json::to_value(Self::from_model(t)).map_err(ApiError::internal)
    }
}

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

fn event(kind: EventType, t: &Transfer, object: Value) -> NewEvent {
    NewEvent {
        livemode: t.livemode,
        account_id: Some(t.destination_id),
        kind,
        object,
        previous_attributes: None,
    }
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
            .map(|s| {
                ids::decode(IdKind::Charge, s).map_err(|e| {
                    ApiError::invalid(
                        "source_transaction",
                        "parameter_invalid",
                        format!("Invalid source_transaction: {e}"),
                    )
                })
            })
            .transpose()?;
        let now = clock::now(txn, auth.livemode).await?;
        let t = payments::create_transfer(
            txn,
            auth.livemode,
            now,
            NewTransfer {
                amount: input.amount,
                currency,
                destination,
                source_transaction,
                transfer_group: input.transfer_group,
                metadata: input.metadata.unwrap_or_default().into_new()?,
            },
        )
        .await?;
        let object = TransferObject::json(&t)?;
        events::record_at(
            txn,
            event(EventType::TransferCreated, &t, object.clone()),
            &origin,
            now,
        )
        .await?;
        Ok(object)
    })
    .await
}

fn transfer_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    ids::decode(IdKind::Transfer, raw).map_err(|_| ApiError::not_found("transfer", raw))
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
        let now = clock::now(txn, auth.livemode).await?;
        let (t, _) = payments::reverse_transfer(txn, auth.livemode, now, id, input.amount)
            .await
            .map_err(|e| match e {
                payments::PaymentError::NotFound(_) => ApiError::not_found("transfer", &raw),
                other => other.into(),
            })?;
        let object = TransferObject::json(&t)?;
        events::record_at(
            txn,
            event(EventType::TransferReversed, &t, object.clone()),
            &origin,
            now,
        )
        .await?;
        Ok(object)
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
