//! Probes for orchestrators. `/healthz` (liveness) says the process answers, and touches
//! nothing else. `/readyz` (readiness) says whether this instance can serve requests: the
//! database answers within the probe's time and has every migration this binary needs. It also
//! reports each background worker's status, without failing on it (README, "Readiness and
//! liveness", says why).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use crate::adapters::gateway::context::current_request_id;
use crate::adapters::gateway::error::{ApiError, ErrorType};
use crate::adapters::gateway::state::AppState;
use crate::infra::db::schema;
use crate::infra::wire::timestamp;
use crate::infra::workers_status;

/// The database check's bound: a probe must answer within about 2 s (orchestrators' default
/// probe timeouts are 1 to 5 s) even when the pool is exhausted or the network hangs.
pub const DATABASE_TIMEOUT: Duration = Duration::from_millis(1_500);

#[utoipa::path(
    tag = "Health",
    responses((status = 200, description = "The process is up (liveness: nothing else is checked, no database call)"))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// What `/readyz` answers, ready or not.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` (200) or `unavailable` (503).
    #[schema(example = "ready")]
    status: &'static str,
    database: DatabaseCheck,
    migrations: MigrationsCheck,
    /// This process's background workers (none for an instance that runs none).
    workers: Vec<WorkerCheck>,
    /// The names of the workers that are stale; reported, never a reason for 503.
    stale_workers: Vec<&'static str>,
}

/// 503: the standard error (`database_unavailable` or `migrations_pending`) with the same
/// detail as a ready answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NotReady {
    error: crate::adapters::api::openapi::ErrorDetail,
    #[schema(example = "unavailable")]
    status: String,
    database: DatabaseCheck,
    migrations: MigrationsCheck,
    workers: Vec<WorkerCheck>,
    stale_workers: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DatabaseCheck {
    /// `ok`, `error` (it answered with an error) or `timeout` (no answer within 1.5 s). The
    /// cause is logged, not shown.
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct MigrationsCheck {
    /// `ok`; `behind` (the database lacks migrations this binary needs: not ready); `ahead`
    /// (the database has migrations a newer binary applied: still ready, see README);
    /// `unknown` (the database could not be read).
    #[schema(example = "ok")]
    status: &'static str,
    /// Migrations applied in the database.
    applied: Option<usize>,
    /// Migrations this binary carries.
    expected: usize,
    /// This binary's migrations the database lacks.
    missing: Vec<String>,
    /// Migrations in the database this binary does not know.
    unknown: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WorkerCheck {
    #[schema(example = "settlement:test")]
    name: &'static str,
    running: bool,
    /// No successful pass within 3 intervals + 30 s while running.
    stale: bool,
    /// How often it is expected to pass, in seconds (none: it waits for events and is never
    /// stale).
    interval_s: Option<f64>,
    last_success_at: Option<String>,
    seconds_since_success: Option<i64>,
    passes: u64,
    items: u64,
    failures: u64,
    restarts: u64,
}

#[utoipa::path(
    tag = "Health",
    responses(
        (status = 200, description = "Ready: the database answers and has every migration this binary needs. Workers are reported (a stale one does not fail readiness)", body = Readiness),
        (status = 503, description = "Not ready: `database_unavailable` (no answer within 1.5 s, or an error) or `migrations_pending` (the database lacks migrations this binary needs)", body = NotReady),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    // One query answers both questions: the database is reachable if the migrations table
    // can be read.
    let checked = match tokio::time::timeout(DATABASE_TIMEOUT, schema::check(&state.db)).await {
        Ok(Ok(migrations)) => Checked::Answered(migrations),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Checked::Failed
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = DATABASE_TIMEOUT.as_millis() as u64,
                "readiness check: the database did not answer in time"
            );
            Checked::TimedOut
        }
    };
    if let Checked::Answered(m) = &checked {
        if m.is_behind() || m.is_ahead() {
            tracing::warn!(
                missing = ?m.missing,
                unknown = ?m.unknown,
                "the database's migrations differ from this binary's"
            );
        }
    }
    let (readiness, failure) = judge(
        checked,
        schema::expected().len(),
        workers_status::snapshot(),
        Utc::now(),
    );
    let Some((code, message)) = failure else {
        return HttpResponse::Ok().json(readiness);
    };
    // The standard error body (so anything that reads our errors reads this one), with the
    // detail beside it.
    let error = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorType::ApiError,
        code,
        message,
    );
    let mut body: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&error.body_json(current_request_id().as_deref())).unwrap_or_default();
    if let Ok(serde_json::Value::Object(detail)) = serde_json::to_value(&readiness) {
        body.extend(detail);
    }
    HttpResponse::ServiceUnavailable().json(body)
}

/// What the database check found.
enum Checked {
    Answered(schema::Migrations),
    Failed,
    TimedOut,
}

/// Why an instance is not ready: the error's code and message.
type Failure = (&'static str, &'static str);

/// The readiness answer: not ready when the database did not answer, or lacks migrations
/// this binary needs. A database ahead of the binary and stale workers are reported and do
/// not fail it.
fn judge(
    checked: Checked,
    expected: usize,
    workers: Vec<workers_status::WorkerStatus>,
    now: chrono::DateTime<Utc>,
) -> (Readiness, Option<Failure>) {
    const UNREACHABLE: Failure = ("database_unavailable", "The database is not reachable.");
    let (database, migrations, failure) = match checked {
        Checked::Answered(m) => {
            let status = if m.is_behind() {
                "behind"
            } else if m.is_ahead() {
                "ahead"
            } else {
                "ok"
            };
            let failure = m.is_behind().then_some((
                "migrations_pending",
                "The database lacks migrations this binary needs: run `agora migrate` (or restart, which migrates).",
            ));
            let migrations = MigrationsCheck {
                status,
                applied: Some(m.applied),
                expected,
                missing: m.missing,
                unknown: m.unknown,
            };
            (DatabaseCheck { status: "ok" }, migrations, failure)
        }
        Checked::Failed => (
            DatabaseCheck { status: "error" },
            unknown_migrations(expected),
            Some(UNREACHABLE),
        ),
        Checked::TimedOut => (
            DatabaseCheck { status: "timeout" },
            unknown_migrations(expected),
            Some(UNREACHABLE),
        ),
    };
    let mut stale_workers = Vec::new();
    let workers = workers
        .into_iter()
        .map(|w| {
            let stale = w.is_stale(now);
            if stale {
                stale_workers.push(w.name);
            }
            WorkerCheck {
                name: w.name,
                running: w.running,
                stale,
                interval_s: w.interval.map(|i| i.as_secs_f64()),
                last_success_at: w.last_success_at.map(timestamp),
                seconds_since_success: w.seconds_since_success(now),
                passes: w.passes,
                items: w.items,
                failures: w.failures,
                restarts: w.restarts,
            }
        })
        .collect();
    let readiness = Readiness {
        status: if failure.is_some() {
            "unavailable"
        } else {
            "ready"
        },
        database,
        migrations,
        workers,
        stale_workers,
    };
    (readiness, failure)
}

fn unknown_migrations(expected: usize) -> MigrationsCheck {
    MigrationsCheck {
        status: "unknown",
        applied: None,
        expected,
        missing: Vec::new(),
        unknown: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(
        name: &'static str,
        last_success_ago_s: i64,
        now: chrono::DateTime<Utc>,
    ) -> workers_status::WorkerStatus {
        workers_status::WorkerStatus {
            name,
            interval: Some(Duration::from_secs(10)),
            running: true,
            running_since: Some(now - chrono::Duration::hours(1)),
            last_pass_started_at: None,
            last_pass_finished_at: None,
            last_success_at: Some(now - chrono::Duration::seconds(last_success_ago_s)),
            passes: 7,
            items: 3,
            failures: 2,
            restarts: 1,
            last_error: Some("boom".to_owned()),
        }
    }

    fn migrations(missing: &[&str], unknown: &[&str]) -> schema::Migrations {
        schema::Migrations {
            applied: 14 - missing.len() + unknown.len(),
            expected: 14,
            missing: missing.iter().map(|s| (*s).to_owned()).collect(),
            unknown: unknown.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// A stuck background worker does not make the instance unready (it can still serve);
    /// it is reported, by name and in its own entry.
    #[test]
    fn a_stale_worker_is_reported_but_the_instance_stays_ready() {
        let now = Utc::now();
        let workers = vec![
            worker("settlement:test", 5, now),
            worker("payouts:live", 3600, now),
        ];
        let (readiness, failure) = judge(Checked::Answered(migrations(&[], &[])), 14, workers, now);
        assert_eq!(failure, None);
        assert_eq!(readiness.status, "ready");
        assert_eq!(readiness.stale_workers, vec!["payouts:live"]);
        assert!(!readiness.workers[0].stale && readiness.workers[1].stale);
        assert_eq!(readiness.workers[1].seconds_since_success, Some(3600));
        assert_eq!(readiness.workers[1].restarts, 1);
        assert_eq!(readiness.workers[1].failures, 2);
    }

    #[test]
    fn behind_is_not_ready_ahead_is_ready_and_an_unreachable_database_is_not() {
        let now = Utc::now();
        let (r, failure) = judge(
            Checked::Answered(migrations(&["m14"], &[])),
            14,
            vec![],
            now,
        );
        assert_eq!(failure.map(|f| f.0), Some("migrations_pending"));
        assert_eq!((r.status, r.migrations.status), ("unavailable", "behind"));
        assert_eq!(r.migrations.missing, vec!["m14"]);

        let (r, failure) = judge(
            Checked::Answered(migrations(&[], &["m15"])),
            14,
            vec![],
            now,
        );
        assert_eq!(failure, None);
        assert_eq!((r.status, r.migrations.status), ("ready", "ahead"));
        assert_eq!(r.migrations.unknown, vec!["m15"]);

        for (checked, status) in [(Checked::Failed, "error"), (Checked::TimedOut, "timeout")] {
            let (r, failure) = judge(checked, 14, vec![], now);
            assert_eq!(failure.map(|f| f.0), Some("database_unavailable"));
            assert_eq!(
                (r.database.status, r.migrations.status),
                (status, "unknown")
            );
        }
    }
}
