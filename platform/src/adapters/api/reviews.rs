//! The operator's review queue: `GET /v1/reviews`, `GET /v1/reviews/{id}`,
//! `POST /v1/reviews/{id}/approve` and `/reject`. Platform key only.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use agora_onboarding::kyc::entities::review;
use agora_onboarding::kyc::entities::review::ReviewStatus;
use sea_orm::ConnectionTrait;
use serde::Deserialize;
use utoipa::ToSchema;

use super::listing;
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
use crate::domain::kyc::reviews;
use crate::infra::wire::ids::IdKind;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` (the queue), `approved` or `rejected`.
    #[param(pattern = "^(open|approved|rejected)$")]
    pub status: Option<String>,
    /// Only this account's reviews (an `acct_` id).
    #[param(pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub account: Option<String>,
    /// 1 to 100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^rev_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^rev_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(ListQuery);

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseReviewRequest {
    /// Why: shown to the seller for a rejected document, kept for the audit trail otherwise.
    #[schema(max_length = 500, pattern = "\\S")]
    pub reason: Option<String>,
}

#[utoipa::path(
    tag = "Reviews",
    params(ListQuery),
    responses(
        (status = 200, description = "Reviews, newest first", body = crate::adapters::api::openapi::ReviewList),
        (status = 403, description = "Not available with Agora-Account", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/reviews")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let q = query.0;
    listing::page(
        &state.db,
        "/v1/reviews",
        IdKind::Review,
        &q,
        async || {
            let status = listing::optional(&q.status, |s| {
                ReviewStatus::parse(s).ok_or_else(|| {
                    ApiError::invalid(
                        "status",
                        "parameter_invalid",
                        "status must be open, approved or rejected",
                    )
                })
            })?;
            let account = listing::optional(&q.account, |a| super::parse_account_id("account", a))?;
            Ok(reviews::query(auth.livemode, status, account))
        },
        reviews::object,
    )
    .await
}

async fn find(
    db: &impl ConnectionTrait,
    auth: &Auth,
    raw: &str,
) -> Result<review::Model, ApiError> {
    let id = listing::path_id::<crate::infra::wire::typed::ReviewId>("review", raw)?;
    reviews::find(db, auth.livemode, id)
        .await?
        .ok_or_else(|| ApiError::not_found("review", raw))
}

#[utoipa::path(
    tag = "Reviews",
    params(("id" = String, Path, description = "A `rev_` id", pattern = "^rev_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The review", body = crate::adapters::api::openapi::ReviewObject),
        (status = 404, description = "No such review in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/reviews/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    listing::retrieve(
        "review",
        &path.into_inner(),
        async |id: crate::infra::wire::typed::ReviewId| {
            Ok(reviews::find(&state.db, auth.livemode, id).await?)
        },
        |r| reviews::object(&r),
    )
    .await
}

async fn decide(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    raw: String,
    body: JsonBody,
    approved: bool,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: CloseReviewRequest = body.parse()?;
        super::check_text("reason", &input.reason, 500)?;
        if !approved && input.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(ApiError::invalid(
                "reason",
                "parameter_missing",
                "a rejection needs a reason",
            ));
        }
        let r = find(txn, &auth, &raw).await?;
        if r.status != agora_onboarding::kyc::entities::review::ReviewStatus::Open {
            return Err(ApiError::bad_request(
                "review_closed",
                format!("This review is already {}.", r.status),
            ));
        }
        let closed = reviews::close(txn, r, approved, input.reason, &origin).await?;
        Ok(reviews::object(&closed))
    })
    .await
}

#[utoipa::path(
    tag = "Reviews",
    request_body = CloseReviewRequest,
    params(("id" = String, Path, description = "A `rev_` id", pattern = "^rev_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The approved review; the account is evaluated again", body = crate::adapters::api::openapi::ReviewObject),
        (status = 400, description = "Already closed", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such review in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/reviews/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    decide(state, auth, req, path.into_inner(), body, true).await
}

#[utoipa::path(
    tag = "Reviews",
    request_body = crate::adapters::api::openapi::RejectReviewRequest,
    params(("id" = String, Path, description = "A `rev_` id", pattern = "^rev_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The rejected review: a confirmed sanctions match rejects the account; a rejected document is due again", body = crate::adapters::api::openapi::ReviewObject),
        (status = 400, description = "Already closed, or no reason", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such review in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/reviews/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    decide(state, auth, req, path.into_inner(), body, false).await
}
