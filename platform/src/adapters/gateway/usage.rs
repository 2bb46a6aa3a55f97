//! API usage per key, as the gateway sees it: `Auth` marks a request with its key once the key
//! is known ([`mark`]), and the context middleware hands every finished request to
//! [`observe`], which counts the marked ones in the process's `domain::usage::Recorder`.
//! Requests without a valid key (401s, hosted pages, /healthz) carry no mark and are not
//! counted per key.

use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest};

use crate::adapters::gateway::state::AppState;
use crate::domain::usage::Caller;

/// Marks the request as made with this key: from here on, whatever the answer (a restricted
/// key's 403, a 429, a handler's error), the request counts as the key's.
pub fn mark(req: &HttpRequest, caller: Caller) {
    req.extensions_mut().insert(caller);
}

/// Counts a finished request made with a key; `route` is the matched route pattern.
pub fn observe(req: &HttpRequest, route: &str, status: StatusCode, latency_ms: f64) {
    let Some(caller) = req.extensions().get::<Caller>().copied() else {
        return;
    };
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return;
    };
    if !state.config.api_usage {
        return;
    }
    // `as` saturates (and NaN is 0): a float that does not fit cannot wrap a count.
    let latency_us = (latency_ms * 1000.0) as u64;
    state.usage.record(
        caller,
        route,
        req.method().as_str(),
        status.as_u16(),
        latency_us,
        chrono::Utc::now().timestamp(),
    );
}
