//! The request context middleware, outermost on every route: it gives each request an id, one
//! tracing span (method, route, status, latency, request id; never headers, bodies or query
//! strings, which carry keys and personal data), the `Request-Id` header, and turns any error
//! response that is not already our JSON (405 from the router, 413 from a payload limit…) into
//! the standard error body.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse};
use tracing::Instrument;
use uuid::Uuid;

use super::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::infra::db::stats;
use crate::infra::wire::ids::{self, IdKind};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("request-id");
const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

pub use super::request_id::current_request_id;
use super::request_id::REQUEST_ID;

/// The request id as stored in the request's extensions, for handlers.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = ids::encode(IdKind::Request, Uuid::now_v7());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let server_timing = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.server_timing);
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        route = tracing::field::Empty,
        request_id = %request_id,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
        db_statements = tracing::field::Empty,
        db_ms = tracing::field::Empty,
    );
    let (result, db_work) = stats::measured(
        REQUEST_ID
            .scope(request_id.clone(), next.call(req))
            .instrument(span.clone()),
    )
    .await;
    let mut res = match result {
        Ok(res) => res.map_into_boxed_body(),
        // Handlers and extractors turn their errors into responses; only an error raised
        // below the router can arrive here, and actix renders it through `ResponseError`.
        Err(err) => return Err(err),
    };
    let status = res.status();
    // The route pattern (`/v1/accounts/{id}`), known only after routing: bounded
    // cardinality and no ids or personal data in the span.
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    span.record("route", route.as_str());
    // The hosted pages answer their errors in HTML, for people; everything else gets JSON.
    if (status.is_client_error() || status.is_server_error()) && !is_json(&res) && !is_html(&res) {
        let error = ApiError::from_status(status);
        let body = error.body_json(Some(&request_id));
        let (req, _) = res.into_parts();
        let response = HttpResponse::build(status)
            .content_type("application/json")
            .body(body);
        res = ServiceResponse::new(req, response);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let db_ms = db_work.time.as_secs_f64() * 1000.0;
    if server_timing {
        let timing = format!(
            "db;dur={db_ms:.3};desc=\"{} statements\"",
            db_work.statements
        );
        if let Ok(value) = HeaderValue::from_str(&timing) {
            res.headers_mut().insert(SERVER_TIMING, value);
        }
    }
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.record("db_statements", db_work.statements);
    span.record("db_ms", db_ms);
    span.record("status", status.as_u16());
    span.record("latency_ms", latency_ms);
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!("request finished");
        } else {
            tracing::info!("request finished");
        }
    });
    Ok(res)
}

fn is_json(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn is_html(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}
