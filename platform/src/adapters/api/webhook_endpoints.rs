//! Webhook endpoints (platform keys only): `POST /v1/webhook_endpoints`, `GET` one and the
//! list, `POST /v1/webhook_endpoints/{id}` (update), `DELETE`, `POST …/rotate_secret`, the
//! delivery log `GET …/attempts`, and `POST /v1/events/{id}/redeliver`.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::listing;
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::metadata::MetadataParam;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
use crate::domain::webhooks::endpoints::{self, Endpoint, EndpointChange, NewEndpoint};
use crate::domain::webhooks::{self, ssrf};
use crate::infra::wire::ids::{self, IdKind};

pub use crate::domain::webhooks::view::EndpointObject;

fn json(endpoint: &Endpoint) -> Result<Value, ApiError> {
    serde_json::to_value(EndpointObject::from_model(endpoint)).map_err(ApiError::internal)
}

/// The object plus its `secret` (in the clear, as made): the one response that shows it.
fn json_with_secret(endpoint: &Endpoint, secret: &str) -> Result<Value, ApiError> {
    let mut value = json(endpoint)?;
    if let Some(map) = value.as_object_mut() {
        map.insert("secret".to_owned(), Value::String(secret.to_owned()));
    }
    Ok(value)
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
    listing::path_id::<crate::infra::wire::typed::WebhookEndpointId>("webhook_endpoint", raw)
        .map(|id| id.uuid())
}

async fn check_url(state: &AppState, raw: &str, livemode: bool) -> Result<String, ApiError> {
    ssrf::check_url(raw, livemode, state.config.webhook_allow_private_targets)
        .await
        .map(|_| raw.to_owned())
        .map_err(|message| ApiError::invalid("url", "url_invalid", message))
}

fn check_patterns(patterns: &[String]) -> Result<Vec<String>, ApiError> {
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
    Ok(patterns.to_vec())
}

fn check_description(description: &Option<String>) -> Result<(), ApiError> {
    super::check_text("description", description, super::MAX_TEXT)
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
        Ok(i) => Some(check_url(&state, &i.url, auth.livemode).await),
        Err(_) => None,
    };
    // The answer carries the signing secret: kept for replay sealed.
    idempotency::run_with_secret(&state, &auth, &req, &body, async |txn| {
        let input = input?;
        let url = url.unwrap_or_else(|| Err(ApiError::internal("url not checked")))?;
        let enabled_events = check_patterns(&input.enabled_events)?;
        check_description(&input.description)?;
        let metadata = input.metadata.unwrap_or_default().into_new()?;
        let new = NewEndpoint {
            url,
            enabled_events,
            description: input.description,
            metadata,
        };
        let (endpoint, secret) =
            endpoints::create(txn, &state.kyc.sealer, auth.livemode, new, &origin).await?;
        json_with_secret(&endpoint, &secret)
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
        Ok(UpdateEndpointRequest { url: Some(u), .. }) => {
            Some(check_url(&state, u, auth.livemode).await)
        }
        _ => None,
    };
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input = input?;
        let url = url.transpose()?;
        let after = endpoints::update(
            txn,
            auth.livemode,
            id,
            |current| {
                let mut change = EndpointChange {
                    url,
                    ..EndpointChange::default()
                };
                if let Some(patterns) = &input.enabled_events {
                    change.enabled_events = Some(check_patterns(patterns)?);
                }
                if input.description.is_some() {
                    check_description(&input.description)?;
                    change.description = input.description.clone();
                }
                if let Some(metadata) = &input.metadata {
                    change.metadata = Some(metadata.merge_into(
                        serde_json::from_value(current.metadata.clone()).unwrap_or_default(),
                    )?);
                }
                change.disabled = input.disabled;
                Ok::<_, ApiError>(change)
            },
            &origin,
        )
        .await?;
        json(&after)
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
        endpoints::delete(txn, auth.livemode, id, &origin).await?;
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
    idempotency::run_with_secret(&state, &auth, &req, &body, async |txn| {
        let _: EmptyRequest = body.parse()?;
        let (after, secret) =
            endpoints::rotate_secret(txn, &state.kyc.sealer, auth.livemode, id).await?;
        json_with_secret(&after, &secret)
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
    endpoints::find(&state.db, auth.livemode, id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook_endpoint", &raw))?;
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
        let endpoint = input.endpoint.as_deref().map(|we| {
            ids::decode(IdKind::WebhookEndpoint, we).map_err(|e| {
                ApiError::invalid(
                    "endpoint",
                    "parameter_invalid",
                    format!("Invalid endpoint: {e}"),
                )
            })
        });
        let targets = endpoints::redeliver(txn, auth.livemode, event_id, endpoint).await?;
        Ok(json!({
            "object": "event_redelivery",
            "event": raw,
            "endpoints": targets.iter().map(|id| ids::encode(IdKind::WebhookEndpoint, *id)).collect::<Vec<_>>(),
        }))
    })
    .await
}
