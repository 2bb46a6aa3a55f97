//! Webhook endpoints (platform keys only): `POST /v1/webhook_endpoints`, `GET` one and the
//! list, `POST /v1/webhook_endpoints/{id}` (update), `DELETE`, `POST …/rotate_secret`, the
//! delivery log `GET …/attempts`, and `POST /v1/events/{id}/redeliver`.

use crate::infra::events::EventType;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::listing;
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::metadata::MetadataParam;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
use crate::adapters::state::AppState;
use crate::domain::webhooks::entity::{delivery as deliveries, endpoint as endpoints};
use crate::domain::webhooks::{self, ssrf};
use crate::infra::clock;
use crate::infra::db::page::find_by_id;
use crate::infra::events::{self, NewEvent, Origin};
use crate::infra::wire::ids::{self, IdKind};

pub use crate::domain::webhooks::view::EndpointObject;

impl EndpointObject {
    fn json(endpoint: &endpoints::Model) -> Result<Value, ApiError> {
        serde_json::to_value(Self::from_model(endpoint)).map_err(ApiError::internal)
    }

    /// The object plus its `secret` (in the clear, as made): the one response that shows it.
    fn json_with_secret(endpoint: &endpoints::Model, secret: &str) -> Result<Value, ApiError> {
        let mut value = Self::json(endpoint)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("secret".to_owned(), Value::String(secret.to_owned()));
        }
        Ok(value)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointRequest {
    /// https (live mode: resolving to public addresses only); test mode may use http.
    #[schema(example = "https://platform.example/agora/webhooks")]
    #[schema(
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?(\\.[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?)*(:[0-9]{1,4})?([/?#][!-~]*)?$"
    )]
    pub url: String,
    /// 1 to 100 patterns: `*`, an event type (`charge.refunded`), or a prefix (`charge.*`)
    /// that matches at least one event type; an unknown type is refused.
    #[schema(example = json!(["*"]))]
    #[schema(min_items = 1, max_items = 100)]
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
    pub metadata: Option<MetadataParam>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpointRequest {
    #[schema(
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?(\\.[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?)*(:[0-9]{1,4})?([/?#][!-~]*)?$"
    )]
    pub url: Option<String>,
    #[schema(min_items = 1, max_items = 100)]
    pub enabled_events: Option<Vec<String>>,
    /// An empty string removes the description.
    pub description: Option<String>,
    /// Merged into the current metadata; an empty value removes a key.
    pub metadata: Option<MetadataParam>,
    /// `true` stops deliveries; `false` re-enables (and clears `failing_since`).
    pub disabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyRequest {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverRequest {
    /// Only this endpoint (a `we_` id); default: every enabled endpoint that wants the event.
    #[schema(pattern = "^we_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub endpoint: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^we_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^we_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(ListQuery, AttemptListQuery);

/// The attempts log's page: its cursors are attempt ids.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttemptListQuery {
    /// 1 to 100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^wa_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^wa_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

/// One delivery attempt, from the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptObject {
    #[schema(example = "wa_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "webhook_attempt")]
    pub object: &'static str,
    pub endpoint: String,
    pub event: String,
    /// The receiver's HTTP status; null if none came (timeout, refused, SSRF guard).
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    /// In the mode's clock (test mode: the test clock).
    pub attempted_at: String,
    /// When the next attempt is due; null if delivered or given up.
    pub next_retry_at: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EndpointList {
    #[schema(example = "list")]
    object: String,
    data: Vec<EndpointObject>,
    has_more: bool,
    url: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AttemptList {
    #[schema(example = "list")]
    object: String,
    data: Vec<AttemptObject>,
    has_more: bool,
    url: String,
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    listing::path_id(IdKind::WebhookEndpoint, "webhook_endpoint", raw)
}

async fn check_url(raw: &str, livemode: bool) -> Result<String, ApiError> {
    ssrf::check_url(raw, livemode)
        .await
        .map(|_| raw.to_owned())
        .map_err(|message| ApiError::invalid("url", "url_invalid", message))
}

fn check_patterns(patterns: &[String]) -> Result<Value, ApiError> {
    if patterns.is_empty() || patterns.len() > webhooks::MAX_ENABLED_EVENTS {
        return Err(ApiError::invalid(
            "enabled_events",
            "parameter_invalid",
            format!(
                "enabled_events must list 1 to {} patterns",
                webhooks::MAX_ENABLED_EVENTS
            ),
        ));
    }
    for (i, p) in patterns.iter().enumerate() {
        webhooks::check_pattern(p).map_err(|message| {
            ApiError::invalid(format!("enabled_events[{i}]"), "parameter_invalid", message)
        })?;
    }
    Ok(json!(patterns))
}

fn check_description(description: &Option<String>) -> Result<(), ApiError> {
    super::check_text("description", description, super::MAX_TEXT)
}

async fn find(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: Uuid,
    raw: &str,
) -> Result<endpoints::Model, ApiError> {
    find_by_id(db, webhooks::endpoints(livemode), id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook_endpoint", raw))
}

async fn record(
    txn: &impl ConnectionTrait,
    livemode: bool,
    origin: &Origin,
    kind: EventType,
    object: &Value,
    previous: Option<Value>,
) -> Result<(), ApiError> {
    events::record(
        txn,
        NewEvent {
            livemode,
            account_id: None,
            kind,
            object: object.clone(),
            previous_attributes: previous,
        },
        origin,
    )
    .await?;
    Ok(())
}

#[utoipa::path(
    tag = "Webhook endpoints",
    request_body = CreateEndpointRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours.")),
    responses(
        (status = 200, description = "The new endpoint, with its `secret` (shown only here)", body = EndpointObject),
        (status = 400, description = "Invalid parameters", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/webhook_endpoints")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let origin = idempotency::origin(&req);
    // Resolving the host happens before the transaction: DNS must not hold a write lock.
    let input: Result<CreateEndpointRequest, ApiError> = body.parse();
    let url = match &input {
        Ok(i) => Some(check_url(&i.url, auth.livemode).await),
        Err(_) => None,
    };
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input = input?;
        let url = url.unwrap_or_else(|| Err(ApiError::internal("url not checked")))?;
        let enabled_events = check_patterns(&input.enabled_events)?;
        check_description(&input.description)?;
        let metadata = input.metadata.unwrap_or_default().into_new()?;
        let count = endpoints::Entity::find()
            .filter(endpoints::Column::Livemode.eq(auth.livemode))
            .count(txn)
            .await?;
        if count >= webhooks::MAX_ENDPOINTS_PER_MODE {
            return Err(ApiError::bad_request(
                "limit_exceeded",
                format!(
                    "A mode can have at most {} webhook endpoints; delete one first.",
                    webhooks::MAX_ENDPOINTS_PER_MODE
                ),
            ));
        }
        let now = clock::now(txn, auth.livemode).await?;
        let secret = webhooks::new_secret();
        let endpoint = endpoints::ActiveModel {
            id: Set(Uuid::now_v7()),
            livemode: Set(auth.livemode),
            url: Set(url),
            enabled_events: Set(enabled_events),
            description: Set(input.description.filter(|d| !d.is_empty())),
            metadata: Set(json!(metadata)),
            disabled: Set(false),
            secret: Set(webhooks::seal_secret(&state.kyc.sealer, &secret)),
            previous_secret: Set(None),
            previous_secret_expires_at: Set(None),
            failing_since: Set(None),
            created_at: Set(now),
        }
        .insert(txn)
        .await?;
        let object = EndpointObject::json(&endpoint)?;
        // The event carries the object without its secret.
        record(
            txn,
            auth.livemode,
            &origin,
            EventType::WebhookEndpointCreated,
            &object,
            None,
        )
        .await?;
        EndpointObject::json_with_secret(&endpoint, &secret)
    })
    .await
}

#[utoipa::path(
    tag = "Webhook endpoints",
    params(("id" = String, Path, description = "A `we_` id", pattern = "^we_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The endpoint", body = EndpointObject),
        (status = 404, description = "No such endpoint in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/webhook_endpoints/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    listing::retrieve_in(
        &state.db,
        IdKind::WebhookEndpoint,
        "webhook_endpoint",
        &path.into_inner(),
        webhooks::endpoints(auth.livemode),
        EndpointObject::from_model,
    )
    .await
}

#[utoipa::path(
    tag = "Webhook endpoints",
    params(ListQuery),
    responses((status = 200, description = "Endpoints, newest first", body = EndpointList)),
    security(("api_key" = []))
)]
#[get("/webhook_endpoints")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    listing::page(
        &state.db,
        "/v1/webhook_endpoints",
        IdKind::WebhookEndpoint,
        &query.0,
        async || Ok(webhooks::endpoints(auth.livemode)),
        EndpointObject::from_model,
    )
    .await
}

#[utoipa::path(
    tag = "Webhook endpoints",
    request_body = UpdateEndpointRequest,
    params(
        ("id" = String, Path, description = "A `we_` id", pattern = "^we_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours."),
    ),
    responses(
        (status = 200, description = "The updated endpoint", body = EndpointObject),
        (status = 400, description = "Invalid parameters", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such endpoint in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/webhook_endpoints/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = parse_id(&raw)?;
    let origin = idempotency::origin(&req);
    let input: Result<UpdateEndpointRequest, ApiError> = body.parse();
    let url = match &input {
        Ok(UpdateEndpointRequest { url: Some(u), .. }) => Some(check_url(u, auth.livemode).await),
        _ => None,
    };
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input = input?;
        let url = url.transpose()?;
        let current = find(txn, auth.livemode, id, &raw).await?;
        let before = EndpointObject::json(&current)?;
        let mut model: endpoints::ActiveModel = current.clone().into();
        if let Some(url) = url {
            model.url = Set(url);
        }
        if let Some(patterns) = &input.enabled_events {
            model.enabled_events = Set(check_patterns(patterns)?);
        }
        if input.description.is_some() {
            check_description(&input.description)?;
            model.description = Set(input.description.clone().filter(|d| !d.is_empty()));
        }
        if let Some(metadata) = &input.metadata {
            let merged = metadata
                .merge_into(serde_json::from_value(current.metadata.clone()).unwrap_or_default())?;
            model.metadata = Set(json!(merged));
        }
        if let Some(disabled) = input.disabled {
            model.disabled = Set(disabled);
            if !disabled {
                // A fresh start: the 3-day failure window counts from the next failure.
                model.failing_since = Set(None);
            }
        }
        let after = model.update(txn).await?;
        let object = EndpointObject::json(&after)?;
        let previous = events::previous_attributes(&before, &object);
        if previous.as_object().is_some_and(|m| !m.is_empty()) {
            record(
                txn,
                auth.livemode,
                &origin,
                EventType::WebhookEndpointUpdated,
                &object,
                Some(previous),
            )
            .await?;
        }
        Ok(object)
    })
    .await
}

#[utoipa::path(
    tag = "Webhook endpoints",
    params(
        ("id" = String, Path, description = "A `we_` id", pattern = "^we_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours."),
    ),
    responses(
        (status = 200, description = "`{\"id\", \"object\": \"webhook_endpoint\", \"deleted\": true}`"),
        (status = 404, description = "No such endpoint in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[delete("/webhook_endpoints/{id}")]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = parse_id(&raw)?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let _: EmptyRequest = body.parse()?;
        let current = find(txn, auth.livemode, id, &raw).await?;
        // Pending deliveries go with it; the attempt log stays (it names the endpoint by id).
        deliveries::Entity::delete_many()
            .filter(deliveries::Column::EndpointId.eq(id))
            .exec(txn)
            .await?;
        endpoints::Entity::delete_by_id(id).exec(txn).await?;
        let object = EndpointObject::json(&current)?;
        record(
            txn,
            auth.livemode,
            &origin,
            EventType::WebhookEndpointDeleted,
            &object,
            None,
        )
        .await?;
        Ok(json!({"id": raw, "object": "webhook_endpoint", "deleted": true}))
    })
    .await
}

#[utoipa::path(
    tag = "Webhook endpoints",
    params(
        ("id" = String, Path, description = "A `we_` id", pattern = "^we_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours."),
    ),
    responses(
        (status = 200, description = "The endpoint with its new `secret`; the previous one keeps signing for 24 hours", body = EndpointObject),
        (status = 404, description = "No such endpoint in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/webhook_endpoints/{id}/rotate_secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = parse_id(&raw)?;
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let _: EmptyRequest = body.parse()?;
        let current = find(txn, auth.livemode, id, &raw).await?;
        let now = clock::now(txn, auth.livemode).await?;
        let mut model: endpoints::ActiveModel = current.clone().into();
        // One previous secret at a time: rotating again within 24 h retires the oldest.
        model.previous_secret = Set(Some(current.secret.clone()));
        model.previous_secret_expires_at = Set(Some(now + webhooks::ROTATION_OVERLAP));
        let secret = webhooks::new_secret();
        model.secret = Set(webhooks::seal_secret(&state.kyc.sealer, &secret));
        let after = model.update(txn).await?;
        // No event: nothing in the public object changed, and events never carry secrets.
        EndpointObject::json_with_secret(&after, &secret)
    })
    .await
}

#[utoipa::path(
    tag = "Webhook endpoints",
    params(("id" = String, Path, description = "A `we_` id", pattern = "^we_[0-7][0-9a-hjkmnp-tv-z]{25}$"), AttemptListQuery),
    responses(
        (status = 200, description = "Delivery attempts to this endpoint, newest first", body = AttemptList),
        (status = 404, description = "No such endpoint in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/webhook_endpoints/{id}/attempts")]
pub async fn attempts(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    query: ApiQuery<AttemptListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = parse_id(&raw)?;
    // Scopes the log to the caller's mode: the attempts table has no mode of its own.
    find(&state.db, auth.livemode, id, &raw).await?;
    let ts = |t: Option<DateTime<Utc>>| t.map(super::timestamp);
    listing::page(
        &state.db,
        &format!("/v1/webhook_endpoints/{raw}/attempts"),
        IdKind::WebhookAttempt,
        &query.0,
        async || Ok(webhooks::attempts_of(id)),
        |a| AttemptObject {
            id: ids::encode(IdKind::WebhookAttempt, a.id),
            object: "webhook_attempt",
            endpoint: raw.clone(),
            event: ids::encode(IdKind::Event, a.event_id),
            status_code: a.status_code,
            error: a.error.clone(),
            latency_ms: a.latency_ms,
            attempted_at: super::timestamp(a.attempted_at),
            next_retry_at: ts(a.next_retry_at),
        },
    )
    .await
}

#[utoipa::path(
    tag = "Webhook endpoints",
    request_body = RedeliverRequest,
    params(
        ("id" = String, Path, description = "An `evt_` id", pattern = "^evt_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours."),
    ),
    responses(
        (status = 200, description = "`{\"object\": \"event_redelivery\", \"event\", \"endpoints\": [we_…]}`: a new pending delivery to each"),
        (status = 400, description = "The endpoint is disabled or does not want this event", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such event in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/events/{id}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let event_id =
        ids::decode(IdKind::Event, &raw).map_err(|_| ApiError::not_found("event", &raw))?;
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: RedeliverRequest = body.parse()?;
        let event = events::scoped(auth.livemode, None)
            .filter(events::entity::Column::Id.eq(event_id))
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::not_found("event", &raw))?;
        let targets: Vec<Uuid> = match &input.endpoint {
            Some(we) => {
                let id = ids::decode(IdKind::WebhookEndpoint, we).map_err(|e| {
                    ApiError::invalid("endpoint", "parameter_invalid", format!("Invalid endpoint: {e}"))
                })?;
                let endpoint = endpoints::Entity::find_by_id(id)
                    .filter(endpoints::Column::Livemode.eq(auth.livemode))
                    .one(txn)
                    .await?
                    .ok_or_else(|| ApiError::missing("endpoint", "webhook_endpoint", we))?;
                if endpoint.disabled {
                    return Err(ApiError::invalid("endpoint", "endpoint_disabled", "The endpoint is disabled; enable it first."));
                }
                if !webhooks::wants(&endpoint.enabled_events, &event.kind) {
                    return Err(ApiError::invalid("endpoint", "event_not_enabled", format!("The endpoint does not listen for {}.", event.kind)));
                }
                vec![id]
            }
            None => endpoints::Entity::find()
                .filter(endpoints::Column::Livemode.eq(auth.livemode))
                .filter(endpoints::Column::Disabled.eq(false))
                .all(txn)
                .await?
                .into_iter()
                .filter(|e| webhooks::wants(&e.enabled_events, &event.kind))
                .map(|e| e.id)
                .collect(),
        };
        let now = clock::now(txn, auth.livemode).await?;
        for endpoint_id in &targets {
            // The (endpoint, event) row exists if the event was fanned out to it: start it
            // over as a fresh delivery (a new 3-day window, the schedule from the start).
            deliveries::Entity::insert(webhooks::pending_delivery(auth.livemode, *endpoint_id, event.id, now))
                .on_conflict(
                    OnConflict::columns([deliveries::Column::EndpointId, deliveries::Column::EventId])
                        .update_columns([
                            deliveries::Column::Status,
                            deliveries::Column::Attempts,
                            deliveries::Column::NextAttemptAt,
                            deliveries::Column::LockedUntil,
                            deliveries::Column::DeliveredAt,
                            deliveries::Column::CreatedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
        }
        Ok(json!({
            "object": "event_redelivery",
            "event": raw,
            "endpoints": targets.iter().map(|id| ids::encode(IdKind::WebhookEndpoint, *id)).collect::<Vec<_>>(),
        }))
    })
    .await
}
