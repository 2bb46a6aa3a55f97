//! The operator's review queue: `GET /v1/reviews`, `GET /v1/reviews/{id}`,
//! `POST /v1/reviews/{id}/approve` and `/reject`. Platform key only.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use agora_onboarding::kyc::entities::review;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::gateway::error::ApiError;
use crate::gateway::pagination::{Cursor, ListBody};
use crate::gateway::{idempotency, ApiQuery, Auth, JsonBody};
use crate::kyc::reviews;
use crate::state::AppState;
use crate::wire::ids::{self, IdKind};

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
        (status = 200, description = "Reviews, newest first", body = crate::api::openapi::ReviewList),
        (status = 403, description = "Not available with Agora-Account", body = crate::api::openapi::ErrorBody),
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
    let cursor = Cursor::parse(
        IdKind::Review,
        q.limit,
        q.starting_after.as_deref(),
        q.ending_before.as_deref(),
    )?;
    let mut select = review::Entity::find().filter(review::Column::Livemode.eq(auth.livemode));
    if let Some(status) = &q.status {
        if !["open", "approved", "rejected"].contains(&status.as_str()) {
            return Err(ApiError::invalid(
                "status",
                "parameter_invalid",
                "status must be open, approved or rejected",
            ));
        }
        select = select.filter(review::Column::Status.eq(status.as_str()));
    }
    if let Some(account) = &q.account {
        let id = super::parse_account_id("account", account)?;
        select = select.filter(review::Column::AccountId.eq(id));
    }
    let page = cursor.fetch(&state.db, select, review::Column::Id).await?;
    let data: Vec<Value> = page.rows.iter().map(reviews::object).collect();
    Ok(HttpResponse::Ok().json(ListBody::new("/v1/reviews", data, page.has_more)))
}

async fn find(
    db: &impl ConnectionTrait,
    auth: &Auth,
    raw: &str,
) -> Result<review::Model, ApiError> {
    let id = ids::decode(IdKind::Review, raw).map_err(|_| ApiError::not_found("review", raw))?;
    review::Entity::find_by_id(id)
        .filter(review::Column::Livemode.eq(auth.livemode))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("review", raw))
}

#[utoipa::path(
    tag = "Reviews",
    params(("id" = String, Path, description = "A `rev_` id", pattern = "^rev_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The review", body = crate::api::openapi::ReviewObject),
        (status = 404, description = "No such review in this mode", body = crate::api::openapi::ErrorBody),
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
    let r = find(&state.db, &auth, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(reviews::object(&r)))
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
        if r.status != "open" {
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
        (status = 200, description = "The approved review; the account is evaluated again", body = crate::api::openapi::ReviewObject),
        (status = 400, description = "Already closed", body = crate::api::openapi::ErrorBody),
        (status = 404, description = "No such review in this mode", body = crate::api::openapi::ErrorBody),
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
    request_body = crate::api::openapi::RejectReviewRequest,
    params(("id" = String, Path, description = "A `rev_` id", pattern = "^rev_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The rejected review: a confirmed sanctions match rejects the account; a rejected document is due again", body = crate::api::openapi::ReviewObject),
        (status = 400, description = "Already closed, or no reason", body = crate::api::openapi::ErrorBody),
        (status = 404, description = "No such review in this mode", body = crate::api::openapi::ErrorBody),
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
