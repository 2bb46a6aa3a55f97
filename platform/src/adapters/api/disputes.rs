//! Disputes: opened by the test processor (`pm_card_createDispute`) or, in test mode,
//! `POST /v1/test_helpers/charges/{id}/dispute`; `POST /v1/disputes/{id}/close`,
//! `GET /v1/disputes`, `GET /v1/disputes/{id}`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::listing;
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
use crate::domain::payments;
use crate::infra::wire::ids::IdKind;

pub use crate::domain::payments::view::DisputeObject;

#[utoipa::path(
    tag = "Test helpers",
    params(("id" = String, Path, description = "A `ch_` id", pattern = "^ch_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The new dispute", body = DisputeObject), (status = 404, description = "With a live key, or no such charge")),
    security(("api_key" = []))
)]
#[post("/test_helpers/charges/{id}/dispute")]
pub async fn test_dispute(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    if auth.livemode {
        return Err(ApiError::from_status(
            actix_web::http::StatusCode::NOT_FOUND,
        ));
    }
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = listing::path_id::<crate::infra::wire::typed::ChargeId>("charge", &raw)?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let _: Empty = body.parse()?;
        let d = payments::dispute_charge(
            txn,
            false,
            id,
            "fraudulent",
            state.config.dispute_fee,
            &origin,
        )
        .await
        .map_err(|e| match e {
            payments::PaymentError::NotFound("charge") => ApiError::not_found("charge", &raw),
            other => other.into(),
        })?;
        Ok(DisputeObject::json(&d)?)
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// `won` (the money comes back) or `lost`.
    #[schema(pattern = "^(won|lost)$")]
    pub outcome: String,
}

#[utoipa::path(
    tag = "Disputes",
    request_body = CloseRequest,
    params(("id" = String, Path, description = "A `dp_` id", pattern = "^dp_[0-7][0-9a-hjkmnp-tv-z]{25}$"), ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry.")),
    responses((status = 200, description = "The closed dispute", body = DisputeObject), (status = 400, description = "Already closed or bad outcome", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[post("/disputes/{id}/close")]
pub async fn close(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = listing::path_id::<crate::infra::wire::typed::DisputeId>("dispute", &raw)?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: CloseRequest = body.parse()?;
        let won = match input.outcome.as_str() {
            "won" => true,
            "lost" => false,
            _ => {
                return Err(ApiError::invalid(
                    "outcome",
                    "parameter_invalid",
                    "outcome must be won or lost",
                ))
            }
        };
        let closing = payments::DisputeClosing {
            dispute_id: id,
            won,
        };
        let d = payments::close_dispute(txn, auth.livemode, closing, &origin)
            .await
            .map_err(|e| match e {
                payments::PaymentError::NotFound(_) => ApiError::not_found("dispute", &raw),
                other => other.into(),
            })?;
        Ok(DisputeObject::json(&d)?)
    })
    .await
}

#[utoipa::path(
    tag = "Disputes",
    params(("id" = String, Path, description = "A `dp_` id", pattern = "^dp_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The dispute", body = DisputeObject), (status = 404, description = "No such dispute", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[get("/disputes/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    listing::retrieve_in(
        &state.db,
        IdKind::Dispute,
        "dispute",
        &path.into_inner(),
        payments::scoped_disputes(auth.livemode),
        DisputeObject::from_model,
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(pattern = "^ch_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub charge: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^dp_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^dp_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(ListQuery);

#[utoipa::path(tag = "Disputes", params(ListQuery), responses((status = 200, description = "Disputes, newest first")), security(("api_key" = [])))]
#[get("/disputes")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let q = query.0;
    listing::page(
        &state.db,
        "/v1/disputes",
        IdKind::Dispute,
        &q,
        async || {
            let charge = listing::optional(&q.charge, |c| {
                listing::filter_id::<crate::infra::wire::typed::ChargeId>("charge", c)
            })?;
            Ok(payments::lists::disputes(auth.livemode, charge))
        },
        DisputeObject::from_model,
    )
    .await
}
