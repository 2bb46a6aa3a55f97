//! Refunds: `POST /v1/refunds`, `GET /v1/refunds/{id}`, `GET /v1/refunds`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::listing;
use super::{check_text, MAX_SHORT_TEXT};
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::metadata::MetadataParam;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
pub use crate::domain::payments::view::{RefundObject, RefundShareObject};
use crate::domain::payments::{self, NewRefund, PaymentError};
use crate::infra::wire::ids::IdKind;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefundRequest {
    /// A `ch_` id.
    #[schema(pattern = "^ch_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub charge: String,
    /// Default: all that has not been refunded yet.
    #[schema(minimum = 1)]
    pub amount: Option<i64>,
    /// `duplicate`, `fraudulent` or `requested_by_customer`.
    #[schema(pattern = "^(duplicate|fraudulent|requested_by_customer)$")]
    pub reason: Option<String>,
    /// Take the sellers' shares back (default true). When false the platform bears the refund.
    pub reverse_transfer: Option<bool>,
    /// The platform returns its fee in proportion (default true).
    pub refund_application_fee: Option<bool>,
    pub metadata: Option<MetadataParam>,
}

const REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer"];

#[utoipa::path(
    tag = "Refunds",
    request_body = CreateRefundRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours.")),
    responses((status = 200, description = "The refund", body = RefundObject), (status = 400, description = "Invalid, or more than remains", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[post("/refunds")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: CreateRefundRequest = body.parse()?;
        let charge_id = listing::filter_id("charge", &input.charge)?;
        if let Some(reason) = &input.reason {
            if !REASONS.contains(&reason.as_str()) {
                return Err(ApiError::invalid(
                    "reason",
                    "parameter_invalid",
                    format!("reason must be one of {}", REASONS.join(", ")),
                ));
            }
        }
        check_text("reason", &input.reason, MAX_SHORT_TEXT)?;
        let new = NewRefund {
            charge_id,
            amount: input.amount,
            reason: input.reason,
            reverse_transfer: input.reverse_transfer.unwrap_or(true),
            refund_application_fee: input.refund_application_fee.unwrap_or(true),
            metadata: input.metadata.unwrap_or_default().into_new()?,
        };
        let refund = payments::create_refund(txn, auth.livemode, new, &origin)
            .await
            .map_err(|e| match e {
                PaymentError::NotFound("charge") => ApiError::invalid(
                    "charge",
                    "resource_missing",
                    format!("No such charge: '{}'", input.charge),
                ),
                other => other.into(),
            })?;
        Ok(RefundObject::json(&refund)?)
    })
    .await
}

#[utoipa::path(
    tag = "Refunds",
    params(("id" = String, Path, description = "A `re_` id", pattern = "^re_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The refund", body = RefundObject), (status = 404, description = "No such refund", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[get("/refunds/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    listing::retrieve_in(
        &state.db,
        IdKind::Refund,
        "refund",
        &path.into_inner(),
        payments::scoped_refunds(auth.livemode),
        RefundObject::from_model,
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only refunds of this charge (`ch_…`).
    #[param(pattern = "^ch_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub charge: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^re_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^re_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(ListQuery);

#[utoipa::path(tag = "Refunds", params(ListQuery), responses((status = 200, description = "Refunds, newest first")), security(("api_key" = [])))]
#[get("/refunds")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let q = query.0;
    listing::page(
        &state.db,
        "/v1/refunds",
        IdKind::Refund,
        &q,
        async || {
            let charge = listing::optional(&q.charge, |c| {
                listing::filter_id::<crate::infra::wire::typed::ChargeId>("charge", c)
            })?;
            Ok(payments::lists::refunds(auth.livemode, charge))
        },
        RefundObject::from_model,
    )
    .await
}
