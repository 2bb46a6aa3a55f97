//! `GET /metrics` (or `metrics_path`, or on `metrics_bind`): the Prometheus text format. Not
//! part of the API (no key, not in the OpenAPI document); optionally guarded by
//! `metrics_token`. What is counted as it happens is rendered as is; what lives in the database
//! (queue depths) and the pool's state are sampled here, at most once per [`SAMPLE_EVERY`]
//! whatever the number of scrapers, each sample bounded by [`SAMPLE_TIMEOUT`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

use crate::adapters::gateway::error::{ApiError, ErrorType};
use crate::adapters::gateway::state::AppState;
use crate::domain::queues;
use crate::infra::metrics::{self, names};

/// Samples younger than this are served again: a scrape storm costs the database nothing.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// A scrape must answer even when the database hangs: past this, the last sample stands.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);
/// The database probe's bound: past it the database counts as down for this scrape.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

static LAST_SAMPLE: Mutex<Option<Instant>> = Mutex::new(None);

/// Whether this scrape should sample (and marks it taken, so concurrent scrapes do not).
fn sample_due() -> bool {
    let Ok(mut last) = LAST_SAMPLE.lock() else {
        return false;
    };
    let due = last.is_none_or(|t| t.elapsed() >= SAMPLE_EVERY);
    if due {
        *last = Some(Instant::now());
    }
    due
}

pub async fn scrape(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.config.metrics_token {
        let given = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let same: bool = given.as_bytes().ct_eq(token.as_bytes()).into();
        if !same {
            let error = ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorType::AuthenticationError,
                "metrics_token_invalid",
                "Send the metrics token as `Authorization: Bearer <metrics_token>`.",
            );
            return Ok(error_with_challenge(error));
        }
    }
    let Some(handle) = metrics::handle() else {
        return Err(ApiError::from_status(StatusCode::NOT_FOUND));
    };
    // In memory and cheap: every scrape, not only when sampling is due.
    worker_metrics(chrono::Utc::now());
    if sample_due() {
        sample(&state).await;
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render()))
}

fn error_with_challenge(error: ApiError) -> HttpResponse {
    let mut res = actix_web::ResponseError::error_response(&error);
    res.headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    res
}

/// Each worker's status (`infra::workers_status`, what `/readyz` shows too): its last
/// successful pass, whether it is stale, and its items, failed passes and restarts, which the
/// registry counts (set here as the counters' absolute values).
fn worker_metrics(now: chrono::DateTime<chrono::Utc>) {
    for w in crate::infra::workers_status::snapshot() {
        let worker = w.name;
        if let Some(at) = w.last_success_at {
            ::metrics::gauge!(names::WORKER_LAST_SUCCESS, "worker" => worker)
                .set(at.timestamp_millis() as f64 / 1000.0);
        }
        ::metrics::gauge!(names::WORKER_STALE, "worker" => worker).set(if w.is_stale(now) {
            1.0
        } else {
            0.0
        });
        ::metrics::counter!(names::WORKER_ITEMS, "worker" => worker).absolute(w.items);
        ::metrics::counter!(names::WORKER_FAILURES, "worker" => worker).absolute(w.failures);
        ::metrics::counter!(names::WORKER_RESTARTS, "worker" => worker).absolute(w.restarts);
    }
}

/// The pool's state, then — if a probe reaches the database within [`PROBE_TIMEOUT`] — queue
/// depths and failed payouts, all within [`SAMPLE_TIMEOUT`] together, so a database that is
/// down costs a scrape one probe, not a timeout per query (Prometheus gives up at 10 s).
async fn sample(state: &AppState) {
    if !pool_gauges(state).await {
        return;
    }
    let queries = async {
        match queues::depths(&state.db).await {
            Ok(depths) => {
                for d in depths {
                    let mode = d.livemode.map_or("", metrics::mode_label);
                    ::metrics::gauge!(names::QUEUE_DEPTH, "queue" => d.queue, "mode" => mode)
                        .set(d.due as f64);
                    ::metrics::gauge!(names::QUEUE_OLDEST_AGE, "queue" => d.queue, "mode" => mode)
                        .set(d.oldest_age_s as f64);
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics: queue depths not sampled"),
        }
        for livemode in [false, true] {
            match queues::failed_payouts(&state.db, livemode, chrono::Duration::hours(24)).await {
                Ok(n) => ::metrics::gauge!(
                    names::PAYOUTS_FAILED_RECENT,
                    "mode" => metrics::mode_label(livemode)
                )
                .set(n as f64),
                Err(e) => tracing::warn!(error = %e, "metrics: failed payouts not sampled"),
            }
        }
    };
    if tokio::time::timeout(SAMPLE_TIMEOUT, queries).await.is_err() {
        tracing::warn!("metrics: queue depths not sampled within 2 s; the last sample stands");
    }
}

/// The pool as sqlx sees it, and whether and how fast the database answers now (a probe: sqlx
/// counts no waiters, but a probe that waits says the pool is short). Returns whether the
/// database answered.
async fn pool_gauges(state: &AppState) -> bool {
    if let Some((size, idle, max)) = pool_state(&state.db) {
        ::metrics::gauge!(names::DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
        ::metrics::gauge!(names::DB_POOL_CONNECTIONS, "state" => "in_use")
            .set(f64::from(size.saturating_sub(idle)));
        ::metrics::gauge!(names::DB_POOL_MAX).set(f64::from(max));
    }
    let started = Instant::now();
    let (waited, up) =
        match tokio::time::timeout(PROBE_TIMEOUT, crate::infra::db::ping(&state.db)).await {
            Ok(Ok(_)) => (started.elapsed(), true),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "metrics: the database probe failed");
                (started.elapsed(), false)
            }
            Err(_) => (PROBE_TIMEOUT, false),
        };
    ::metrics::gauge!(names::DB_ACQUIRE).set(waited.as_secs_f64());
    ::metrics::gauge!(names::DB_UP).set(if up { 1.0 } else { 0.0 });
    up
}

fn pool_state(db: &sea_orm::DatabaseConnection) -> Option<(u32, u32, u32)> {
    match db {
        sea_orm::DatabaseConnection::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            Some((
                pool.size(),
                u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                pool.options().get_max_connections(),
            ))
        }
        sea_orm::DatabaseConnection::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            Some((
                pool.size(),
                u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                pool.options().get_max_connections(),
            ))
        }
        _ => None,
    }
}
