//! Prometheus metrics: one recorder per process (the `metrics` facade's global), installed by
//! `agora serve` when `metrics` is on, rendered by the `/metrics` handler. Code anywhere records
//! with the facade's macros (`metrics::counter!(names::…)`); without a recorder they cost a
//! branch and do nothing (the CLI's one-shot commands, or `metrics = false`).
//!
//! Label sets are bounded: route patterns (never raw paths or ids), methods folded to the
//! standard ones, status classes, currencies (ISO 4217), modes, worker and queue names, and
//! API key display prefixes (as many as the operator created keys).
//!
//! Every name lives in [`names`] so the alert rules in `deploy/` and the tests use the same
//! spelling as the code; `tests/it/metrics.rs` checks that every metric the rules name is
//! exported.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Every metric's name.
pub mod names {
    pub const HTTP_REQUESTS: &str = "agora_http_requests_total";
    pub const HTTP_DURATION: &str = "agora_http_request_duration_seconds";
    pub const HTTP_IN_FLIGHT: &str = "agora_http_requests_in_flight";
    pub const HTTP_RATE_LIMITED: &str = "agora_http_rate_limited_total";
    pub const HTTP_BODY_REJECTED: &str = "agora_http_body_rejections_total";

    pub const CHARGES: &str = "agora_charges_total";
    pub const CHARGE_AMOUNT: &str = "agora_charge_amount_minor_total";
    pub const CHARGE_BATCH_SIZE: &str = "agora_charge_batch_size";
    pub const CHARGE_BATCH_WAIT: &str = "agora_charge_batch_wait_seconds";
    pub const CHARGE_BATCH_COMMIT: &str = "agora_charge_batch_commit_seconds";
    pub const CHARGE_BATCH_FAILURES: &str = "agora_charge_batch_failures_total";
    pub const IDEMPOTENT_REPLAYS: &str = "agora_idempotent_replays_total";
    pub const IDEMPOTENCY_CONFLICTS: &str = "agora_idempotency_conflicts_total";

    pub const LEDGER_ENTRIES_POSTED: &str = agora_ledger::ENTRIES_POSTED_METRIC;
    pub const LEDGER_VERIFY_LAST_RUN: &str = "agora_ledger_verify_last_run_timestamp_seconds";
    pub const LEDGER_VERIFY_OK: &str = "agora_ledger_verify_ok";
    pub const LEDGER_VERIFY_PROBLEMS: &str = "agora_ledger_verify_problems";
    pub const LEDGER_VERIFY_DURATION: &str = "agora_ledger_verify_duration_seconds";
    pub const LEDGER_ENTRIES: &str = "agora_ledger_entries";

    pub const WORKER_LAST_SUCCESS: &str = "agora_worker_last_success_timestamp_seconds";
    pub const WORKER_ITEMS: &str = "agora_worker_items_processed_total";
    pub const WORKER_FAILURES: &str = "agora_worker_failures_total";
    pub const WORKER_RESTARTS: &str = "agora_worker_restarts_total";
    pub const WORKER_STALE: &str = "agora_worker_stale";
    pub const QUEUE_DEPTH: &str = "agora_queue_depth";
    pub const QUEUE_OLDEST_AGE: &str = "agora_queue_oldest_age_seconds";

    pub const WEBHOOK_DELIVERIES: &str = "agora_webhook_deliveries_total";
    pub const WEBHOOK_ATTEMPT_DURATION: &str = "agora_webhook_attempt_duration_seconds";
    pub const WEBHOOK_ENDPOINTS_DISABLED: &str = "agora_webhook_endpoints_disabled_total";

    pub const PAYOUTS_FAILED_RECENT: &str = "agora_payouts_failed_24h";

    pub const DB_POOL_CONNECTIONS: &str = "agora_db_pool_connections";
    pub const DB_POOL_MAX: &str = "agora_db_pool_max_connections";
    pub const DB_ACQUIRE: &str = "agora_db_acquire_seconds";
    pub const DB_UP: &str = "agora_db_up";
    pub const LEDGER_VERIFY_INTERVAL: &str = "agora_ledger_verify_interval_seconds";

    pub const BUILD_INFO: &str = "agora_build_info";
}

/// Latency buckets (seconds): from a cached read to a slow webhook endpoint.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Charges per group commit, up to the largest `charge_batch_max` allowed.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1000.0,
];
/// A `ledger verify` run reads every line: seconds to minutes.
const VERIFY_BUCKETS: &[f64] = &[0.01, 0.1, 1.0, 10.0, 60.0, 300.0];

/// Histograms keep raw samples until they are folded into buckets; without a scrape they would
/// grow without bound, so a thread folds them this often.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder once (later calls return the same handle). `None` if another
/// recorder was installed first, which only a test harness would do.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(build).as_ref()
}

/// The recorder's handle if [`install`] ran.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get().and_then(Option::as_ref)
}

fn build() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new();
    let builder = [
        (names::HTTP_DURATION, LATENCY_BUCKETS),
        (names::CHARGE_BATCH_WAIT, LATENCY_BUCKETS),
        (names::CHARGE_BATCH_COMMIT, LATENCY_BUCKETS),
        (names::WEBHOOK_ATTEMPT_DURATION, LATENCY_BUCKETS),
        (names::CHARGE_BATCH_SIZE, BATCH_BUCKETS),
        (names::LEDGER_VERIFY_DURATION, VERIFY_BUCKETS),
    ]
    .into_iter()
    .try_fold(builder, |b, (name, buckets)| {
        b.set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
    });
    let builder = match builder {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "metrics buckets refused; metrics are off");
            return None;
        }
    };
    match builder.install_recorder() {
        Ok(handle) => {
            describe();
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "metrics upkeep thread not started; histograms are folded at each scrape only");
            }
            metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            zero_series();
            Some(handle)
        }
        Err(e) => {
            tracing::warn!(error = %e, "a metrics recorder was already installed; /metrics is off");
            None
        }
    }
}

/// Series an alert divides or sums over exist from the start at 0: a counter that appears only
/// at its first increment makes `rate()` and `increase()` miss that first event.
fn zero_series() {
    for at in ["before_commit", "commit"] {
        metrics::counter!(names::CHARGE_BATCH_FAILURES, "at" => at).increment(0);
    }
    // Histograms too (registered, no sample): a panel over a histogram nobody has fed yet
    // (no webhook attempt so far) shows an empty series rather than "no such metric".
    for name in [
        names::CHARGE_BATCH_SIZE,
        names::CHARGE_BATCH_WAIT,
        names::CHARGE_BATCH_COMMIT,
        names::LEDGER_VERIFY_DURATION,
    ] {
        let _ = metrics::histogram!(name);
    }
    for mode in ["test", "live"] {
        let _ = metrics::histogram!(names::WEBHOOK_ATTEMPT_DURATION, "mode" => mode);
        metrics::counter!(names::WEBHOOK_ENDPOINTS_DISABLED, "mode" => mode).increment(0);
        for outcome in ["delivered", "retrying", "failed"] {
            metrics::counter!(names::WEBHOOK_DELIVERIES, "outcome" => outcome, "mode" => mode)
                .increment(0);
        }
    }
    metrics::counter!(names::IDEMPOTENT_REPLAYS).increment(0);
    for kind in ["reused", "in_flight"] {
        metrics::counter!(names::IDEMPOTENCY_CONFLICTS, "kind" => kind).increment(0);
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    use names::*;
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route pattern, method and status class."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its response, by route pattern and method."
    );
    describe_gauge!(HTTP_IN_FLIGHT, "Requests being served now.");
    describe_counter!(
        HTTP_RATE_LIMITED,
        "Requests refused with 429, by limiter (key, address, page) and API key display prefix."
    );
    describe_counter!(
        HTTP_BODY_REJECTED,
        "Request bodies refused before a handler ran, by reason (too_large, timeout, invalid)."
    );
    describe_counter!(
        CHARGES,
        "Charges committed, by outcome (succeeded, pending, failed), currency and mode."
    );
    describe_counter!(
        CHARGE_AMOUNT,
        "Sum of committed charges' amounts in minor units, by outcome, currency and mode."
    );
    describe_histogram!(CHARGE_BATCH_SIZE, "Charges per group commit.");
    describe_histogram!(
        CHARGE_BATCH_WAIT,
        Unit::Seconds,
        "Time a charge waited in the writer's queue before its batch began."
    );
    describe_histogram!(
        CHARGE_BATCH_COMMIT,
        Unit::Seconds,
        "Time a group commit took, from BEGIN to COMMIT."
    );
    describe_counter!(
        CHARGE_BATCH_FAILURES,
        "Group commits whose transaction failed (rerun one by one, or answered 503)."
    );
    describe_counter!(
        IDEMPOTENT_REPLAYS,
        "Requests answered with a stored response for their Idempotency-Key."
    );
    describe_counter!(
        IDEMPOTENCY_CONFLICTS,
        "Idempotency-Key refusals: in_flight (409) and reused (400, another body or key)."
    );
    describe_counter!(
        LEDGER_ENTRIES_POSTED,
        "Journal entries written, by mode (an entry in a transaction that later rolled back is counted too)."
    );
    describe_gauge!(
        LEDGER_VERIFY_LAST_RUN,
        Unit::Seconds,
        "When the server's last ledger verify finished (unix time)."
    );
    describe_gauge!(
        LEDGER_VERIFY_OK,
        "1 if the last ledger verify found every invariant holding, 0 if not."
    );
    describe_gauge!(
        LEDGER_VERIFY_PROBLEMS,
        "Problems the last ledger verify found."
    );
    describe_histogram!(
        LEDGER_VERIFY_DURATION,
        Unit::Seconds,
        "How long a ledger verify took."
    );
    describe_gauge!(
        LEDGER_ENTRIES,
        "Journal entries in the database, as counted by the last ledger verify."
    );
    describe_gauge!(
        WORKER_LAST_SUCCESS,
        Unit::Seconds,
        "When each worker last finished a pass without error (unix time)."
    );
    describe_counter!(
        WORKER_ITEMS,
        "Items each worker processed (rows settled, deliveries attempted, emails sent…)."
    );
    describe_counter!(WORKER_FAILURES, "Worker passes that ended in an error.");
    describe_counter!(
        WORKER_RESTARTS,
        "Worker restarts by the supervisor after a panic or an unexpected end."
    );
    describe_gauge!(
        WORKER_STALE,
        "1 if the worker has not passed within its expected interval, 0 if it has."
    );
    describe_gauge!(
        QUEUE_DEPTH,
        "Work due now, by queue and mode (sampled at scrape, at most once a few seconds)."
    );
    describe_gauge!(
        QUEUE_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest item due in each queue."
    );
    describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts, by outcome (delivered, retrying, failed) and mode."
    );
    describe_histogram!(
        WEBHOOK_ATTEMPT_DURATION,
        Unit::Seconds,
        "Time a webhook endpoint took to answer an attempt."
    );
    describe_counter!(
        WEBHOOK_ENDPOINTS_DISABLED,
        "Webhook endpoints disabled after failing for 3 days, by mode."
    );
    describe_gauge!(
        PAYOUTS_FAILED_RECENT,
        "Payouts that failed (returned by the bank) in the last 24 hours, by mode (sampled at scrape)."
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Database pool connections by state (idle, in_use)."
    );
    describe_gauge!(DB_POOL_MAX, "The database pool's size limit.");
    describe_gauge!(
        DB_ACQUIRE,
        Unit::Seconds,
        "How long the scrape's own probe waited for a pooled connection."
    );
    describe_gauge!(
        DB_UP,
        "1 if the scrape's probe reached the database, 0 if it failed or timed out."
    );
    describe_gauge!(
        LEDGER_VERIFY_INTERVAL,
        Unit::Seconds,
        "ledger_verify_interval_s: how often the server verifies the ledger (0: off)."
    );
    describe_gauge!(BUILD_INFO, "Always 1; its label is the running version.");
}

/// A finished `ledger verify`: its time, result and size.
pub fn record_verify(report: &agora_ledger::verify::Report, took: Duration) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    metrics::gauge!(names::LEDGER_VERIFY_LAST_RUN).set(now);
    metrics::gauge!(names::LEDGER_VERIFY_OK).set(if report.is_ok() { 1.0 } else { 0.0 });
    metrics::gauge!(names::LEDGER_VERIFY_PROBLEMS).set(report.problems.len() as f64);
    metrics::gauge!(names::LEDGER_ENTRIES).set(report.entries as f64);
    metrics::histogram!(names::LEDGER_VERIFY_DURATION).record(took.as_secs_f64());
}

/// Folds a method into a bounded set: anything else a client sends is `other`.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "DELETE" => "DELETE",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// `2xx`, `4xx`…: per-code series would multiply every route's series by the codes seen.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

pub fn mode_label(livemode: bool) -> &'static str {
    if livemode {
        "live"
    } else {
        "test"
    }
}

/// Counts one request in flight until dropped, so a cancelled request is uncounted too.
pub struct InFlight;

impl InFlight {
    pub fn start() -> Self {
        metrics::gauge!(names::HTTP_IN_FLIGHT).increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(names::HTTP_IN_FLIGHT).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(method_label("POST"), "POST");
        assert_eq!(method_label("BREW"), "other");
        assert_eq!(status_class(201), "2xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(999), "5xx");
        assert_eq!(mode_label(true), "live");
    }
}
