//! The event log: `GET /v1/events`, `GET /v1/events/{id}`. A connected account acting through
//! `Agora-Account` sees only its own events.

use actix_web::{get, web, HttpResponse};
use sea_orm::{ColumnTrait, QueryFilter};
use serde::Deserialize;

use crate::events;
use crate::gateway::error::ApiError;
use crate::gateway::pagination::{Cursor, ListBody};
use crate::gateway::{ApiQuery, Auth};
use crate::state::AppState;
use crate::wire::ids::{self, IdKind};

pub use crate::events::view::{EventObject, EventRequest};

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

/// Longest event type name accepted as a filter.
const MAX_TYPE_LEN: usize = 64;

#[utoipa::path(
    tag = "Events",
    params(ListQuery),
    responses((status = 200, description = "Events, newest first", body = crate::api::openapi::EventList)),
    security(("api_key" = []))
)]
#[get("/events")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let cursor = Cursor::parse(
        IdKind::Event,
        q.limit,
        q.starting_after.as_deref(),
        q.ending_before.as_deref(),
    )?;
    let mut select = events::scoped(auth.livemode, auth.account);
    if let Some(kind) = q.kind {
        if kind.is_empty() || kind.chars().count() > MAX_TYPE_LEN {
            return Err(ApiError::invalid(
                "type",
                "parameter_invalid",
                "type must be 1 to 64 characters.",
            ));
        }
        select = select.filter(events::entity::Column::Kind.eq(kind));
    }
    let page = cursor
        .fetch(&state.db, select, events::entity::Column::Id)
        .await?;
    let data = page.rows.iter().map(EventObject::from_model).collect();
    Ok(HttpResponse::Ok().json(ListBody::new("/v1/events", data, page.has_more)))
}

#[utoipa::path(
    tag = "Events",
    params(("id" = String, Path, description = "An `evt_` id", pattern = "^evt_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The event", body = EventObject),
        (status = 404, description = "No such event", body = crate::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/events/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let raw = path.into_inner();
    let id = ids::decode(IdKind::Event, &raw).map_err(|_| ApiError::not_found("event", &raw))?;
    let event = events::scoped(auth.livemode, auth.account)
        .filter(events::entity::Column::Id.eq(id))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("event", &raw))?;
    Ok(HttpResponse::Ok().json(EventObject::from_model(&event)))
}
