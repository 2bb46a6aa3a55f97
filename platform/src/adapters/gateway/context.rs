//! The request context middleware, outermost on every route: it gives each request an id, one
//! tracing span (method, route, status, latency, request id; never headers, bodies or query
//! strings, which carry keys and personal data), the `Request-Id` header, HSTS when
//! `public_url` is https, and turns any error
//! response that is not already our JSON (405 from the router, 413 from a payload limit…) into
//! the standard error body.

use std::time::Instant;

use actix_http::BoxedPayloadStream;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{
    HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING,
};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse};
use futures_util::StreamExt;
use tracing::Instrument;
use uuid::Uuid;

use super::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::infra::db::stats;
use crate::infra::metrics::{self, names};
use crate::infra::wire::ids::{self, IdKind};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("request-id");
/// HSTS when `public_url` is https: a year, this host only (subdomains are the operator's,
/// not ours to pin), no preload (that is the operator's decision to submit).
const HSTS: &str = "max-age=31536000";
const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

pub use super::request_id::current_request_id;
use super::request_id::REQUEST_ID;

/// The request id as stored in the request's extensions, for handlers.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// What a body reader sees when the body did not arrive in time (gateway::input maps it to
/// 408 `request_timeout`).
pub const BODY_TIMEOUT: &str = "the request body did not arrive within body_timeout_ms";

/// The body must arrive within `timeout` of the head: actix bounds only the head
/// (`client_request_timeout`), so without this a client sending a byte a minute holds a
/// connection and a handler forever. Every body reader (JSON, forms, multipart) reads
/// through this stream and gets a `TimedOut` error at the deadline.
fn body_with_deadline(payload: Payload, timeout: std::time::Duration) -> Payload {
    let deadline = tokio::time::Instant::now() + timeout;
    let stream = futures_util::stream::unfold(Some(payload), move |state| async move {
        let mut payload = state?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(item)) => Some((item, Some(payload))),
            Ok(None) => None,
            Err(_) => Some((
                Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    BODY_TIMEOUT,
                ))),
                None,
            )),
        }
    });
    // Fused: a reader may poll again after the end (multipart does), which unfold forbids.
    let boxed: BoxedPayloadStream = Box::pin(stream.fuse());
    Payload::from(boxed)
}

fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let _in_flight = metrics::InFlight::start();
    if has_body(&req) {
        let timeout = req
            .app_data::<web::Data<AppState>>()
            .map(|s| std::time::Duration::from_millis(s.config.body_timeout_ms));
        if let Some(timeout) = timeout {
            let payload = req.take_payload();
            req.set_payload(body_with_deadline(payload, timeout));
        }
    }
    let request_id = ids::encode(IdKind::Request, Uuid::now_v7());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let state = req.app_data::<web::Data<AppState>>();
    let server_timing = state.is_some_and(|s| s.config.server_timing);
    // Browsers ignore HSTS received over plain http, so sending it on the proxy's plain hop
    // is right: the proxy passes it on over https.
    let hsts = state.is_some_and(|s| s.public_url_is_https());
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
    let probe = route == "/healthz"
        || route == "/readyz"
        || res
            .request()
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.config.metrics_path == route);
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
    if hsts {
        res.headers_mut().insert(
            actix_web::http::header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
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
    let elapsed = started.elapsed();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    super::usage::observe(res.request(), &route, status, latency_ms);
    let method = metrics::method_label(res.request().method().as_str());
    ::metrics::counter!(
        names::HTTP_REQUESTS,
        "route" => route.clone(),
        "method" => method,
        "status" => metrics::status_class(status.as_u16()),
    )
    .increment(1);
    ::metrics::histogram!(names::HTTP_DURATION, "route" => route, "method" => method)
        .record(elapsed.as_secs_f64());
    if res
        .headers()
        .contains_key(super::request_id::REPLAYED_HEADER)
    {
        ::metrics::counter!(names::IDEMPOTENT_REPLAYS).increment(1);
    }
    span.record("db_statements", db_work.statements);
    span.record("db_ms", db_ms);
    // As i64: an exported span keeps it a number (u64 fields become strings there).
    span.record("status", i64::from(status.as_u16()));
    span.record("latency_ms", latency_ms);
    // Probes and scrapes come every few seconds from machines: at info they would be most of
    // the log. A probe's 503 (the database is down) is the probe doing its job: a warning.
    span.in_scope(|| match (probe, status.is_server_error()) {
        (false, true) => tracing::error!("request finished"),
        (false, false) => tracing::info!("request finished"),
        (true, true) => tracing::warn!("request finished"),
        (true, false) => tracing::debug!("request finished"),
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
