//! The event log: `GET /v1/events`, `GET /v1/events/{id}`. A connected account acting through
//! `Agora-Account` sees only its own events.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;

use super::listing;
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{ApiQuery, Auth};
use crate::infra::events;
use crate::infra::wire::ids::IdKind;

pub use crate::infra::events::view::{EventObject, EventRequest};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only events of this type, e.g. `account.updated`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    #[param(min_length = 1, max_length = 64)]
    pub kind: Option<String>,
    /// 1 to 100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^evt_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^evt_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(ListQuery);

/// Longest event type name accepted as a filter.
const MAX_TYPE_LEN: usize = 64;

#[utoipa::path(
    tag = "Events",
    params(ListQuery),
    responses((status = 200, description = "Events, newest first", body = crate::adapters::api::openapi::EventList)),
    security(("api_key" = []))
)]
#[get("/events")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    listing::page(
        &state.db,
        "/v1/events",
        IdKind::Event,
        &q,
        async || {
            listing::check_type(&q.kind, MAX_TYPE_LEN, "type must be 1 to 64 characters.")?;
            Ok(events::query(
                auth.livemode,
                auth.account_uuid(),
                q.kind.clone(),
            ))
        },
        EventObject::from_model,
    )
    .await
}

#[utoipa::path(
    tag = "Events",
    params(("id" = String, Path, description = "An `evt_` id", pattern = "^evt_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The event", body = EventObject),
        (status = 404, description = "No such event", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/events/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve_in(
        &state.db,
        IdKind::Event,
        "event",
        &path.into_inner(),
        events::scoped(auth.livemode, auth.account_uuid()),
        EventObject::from_model,
    )
    .await
}
