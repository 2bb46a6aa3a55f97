//! `/readyz` (issue 18): ready means the database answers in time and has every migration
//! the binary needs; the workers are reported beside it.

use std::time::{Duration, Instant};

use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};
use serde_json::Value;

use crate::helpers::{spawn_app, Response, TestApp};

async fn readyz(app: &TestApp) -> Response {
    app.raw(Method::GET, "/readyz", &[], vec![]).await
}

fn worker<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["workers"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["name"] == name))
        .unwrap_or_else(|| panic!("{name} in {body}"))
}

#[tokio::test]
async fn readiness_reports_the_database_its_migrations_and_every_worker() {
    let app = spawn_app().await;
    let expected = agora_platform::infra::db::schema::expected();
    // The workers' first passes run at start; wait for settlement's to be recorded.
    let mut res = readyz(&app).await;
    for _ in 0..100 {
        if worker(&res.body, "settlement:test")["last_success_at"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        res = readyz(&app).await;
    }
    assert_eq!(res.status, 200, "{}", res.body);
    let body = &res.body;
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"]["status"], "ok");
    assert_eq!(body["migrations"]["status"], "ok");
    assert_eq!(body["migrations"]["applied"], expected.len());
    assert_eq!(body["migrations"]["expected"], expected.len());
    assert_eq!(body["migrations"]["missing"], serde_json::json!([]));
    for name in [
        "expiry_sweeper",
        "settlement:test",
        "settlement:live",
        "kyc_deadlines:test",
        "payouts:live",
        "webhooks:test",
        "webhooks:live",
        "emails",
    ] {
        let w = worker(body, name);
        assert_eq!(w["running"], true, "{w}");
        assert!(w["interval_s"].as_f64().is_some_and(|s| s > 0.0), "{w}");
        for field in ["stale", "restarts", "failures", "passes", "items"] {
            assert!(!w[field].is_null(), "{field} in {w}");
        }
    }
    let settlement = worker(body, "settlement:test");
    assert_eq!(settlement["stale"], false);
    assert_eq!(settlement["interval_s"], 10.0);
    assert!(settlement["seconds_since_success"]
        .as_i64()
        .is_some_and(|s| s < 60));
    // Worker errors stay in the logs: the probe is unauthenticated.
    assert!(settlement.get("last_error").is_none());
}

/// A database behind the binary (a migration not applied) cannot serve it: 503
/// `migrations_pending`, naming the missing one. A database ahead (a newer binary's migration
/// applied, as in a rolling deploy) is reported and still ready.
#[tokio::test]
async fn a_database_behind_the_binary_is_not_ready_and_one_ahead_is_reported() {
    let app = spawn_app().await;
    let last = agora_platform::infra::db::schema::expected()
        .pop()
        .expect("migrations");
    let backend = app.db.get_database_backend();
    let run = |sql: String| {
        let db = app.db.clone();
        async move {
            db.execute(sea_orm::Statement::from_string(backend, sql))
                .await
                .expect("statement")
        }
    };
    run(format!(
        "DELETE FROM seaql_migrations WHERE version = '{last}'"
    ))
    .await;
    let res = readyz(&app).await;
    let error = res.error(503, "api_error");
    assert_eq!(error["code"], "migrations_pending");
    assert_eq!(res.body["status"], "unavailable");
    assert_eq!(res.body["database"]["status"], "ok");
    assert_eq!(res.body["migrations"]["status"], "behind");
    assert_eq!(res.body["migrations"]["missing"], serde_json::json!([last]));
    assert!(res.body["workers"].is_array(), "the detail is there too");

    run(format!(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{last}', 0), \
         ('m20991231_000099_from_a_newer_binary', 0)"
    ))
    .await;
    let res = readyz(&app).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["status"], "ready");
    assert_eq!(res.body["migrations"]["status"], "ahead");
    assert_eq!(
        res.body["migrations"]["unknown"],
        serde_json::json!(["m20991231_000099_from_a_newer_binary"])
    );
}

/// A database that does not answer makes the probe answer 503 within its bound (about 2 s),
/// not hang with it; liveness never asks the database.
#[tokio::test]
async fn a_hanging_database_fails_readiness_within_two_seconds() {
    let app = spawn_app().await;
    assert_eq!(readyz(&app).await.status, 200);
    // Hold what the probe needs: SQLite's one pooled connection (the app shares this pool),
    // or, on PostgreSQL, a lock on the migrations table that its read waits for.
    let txn = app.db.begin().await.expect("begin");
    if app.db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("LOCK TABLE seaql_migrations IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");
    }
    let started = Instant::now();
    let res = readyz(&app).await;
    let took = started.elapsed();
    assert_eq!(res.error(503, "api_error")["code"], "database_unavailable");
    assert_eq!(res.body["database"]["status"], "timeout");
    assert_eq!(res.body["migrations"]["status"], "unknown");
    assert!(took < Duration::from_millis(2_500), "answered in {took:?}");
    let started = Instant::now();
    let res = app.raw(Method::GET, "/healthz", &[], vec![]).await;
    assert_eq!(res.status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "no database call"
    );
    txn.rollback().await.expect("rollback");
    assert_eq!(readyz(&app).await.status, 200);
}

/// `/metrics` exports the same worker status `/readyz` shows (the alerts watch it there).
#[tokio::test]
async fn the_metrics_export_the_workers_status() {
    let app = spawn_app().await;
    let mut scraped = crate::metrics::scrape(&app).await;
    for _ in 0..100 {
        if scraped.value(
            "agora_worker_last_success_timestamp_seconds",
            &[("worker", "settlement:test")],
        ) > 0.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        scraped = crate::metrics::scrape(&app).await;
    }
    let worker = [("worker", "settlement:test")];
    let last = scraped.value("agora_worker_last_success_timestamp_seconds", &worker);
    let now = chrono::Utc::now().timestamp() as f64;
    assert!((now - 120.0..=now + 1.0).contains(&last), "{last} vs {now}");
    assert!(scraped.has("agora_worker_stale"));
    assert_eq!(scraped.value("agora_worker_stale", &worker), 0.0);
    for counter in [
        "agora_worker_items_processed_total",
        "agora_worker_failures_total",
        "agora_worker_restarts_total",
    ] {
        assert!(scraped.has(counter), "{counter}");
    }
}
