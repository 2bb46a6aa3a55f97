//! API usage per key (issue 18): requests counted per key, route, method and minute in memory,
//! flushed to the database by the usage worker, read back with `GET /v1/api_usage` in minute,
//! hour or day buckets; who may read it; its parameters; the retention sweep; a failed flush.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use agora_platform::domain::keys::{self, Mode};
use agora_platform::domain::usage::{self, entity, Caller, Granularity, Range, Recorder};
use agora_platform::infra::wire::ids::{self, IdKind};
use reqwest::Method;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{spawn_app_with, TestApp};

/// How long each slow request's body is held back: its latency on the server is at least this.
const BODY_DELAY: Duration = Duration::from_millis(200);
/// The histogram's resolution: a reported quantile is within this factor of what was measured.
const RESOLUTION: f64 = 1.1893; // 2^¼, and a little

async fn app() -> TestApp {
    // Flushed often, so the tests read what they did within a moment.
    spawn_app_with(|c| c.api_usage_flush_ms = 50).await
}

/// The `key_…` id of a secret.
async fn key_id(app: &TestApp, secret: &str) -> String {
    let key = keys::authenticate(&app.db, secret)
        .await
        .unwrap()
        .expect("a key");
    ids::encode(IdKind::ApiKey, key.id)
}

/// `POST /v1/accounts` whose body arrives [`BODY_DELAY`] after its head: the server measures
/// at least that. Returns the status and how long the whole exchange took here (at most what
/// the server can have measured... plus the network: an upper bound).
async fn slow_create_account(app: &TestApp, key: &str) -> (u16, Duration) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let body = r#"{"country":"SE"}"#;
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /v1/accounts HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(BODY_DELAY).await;
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let elapsed = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, elapsed)
}

async fn usage(app: &TestApp, reader: &str, query: &str) -> crate::helpers::Response {
    app.send(
        Method::GET,
        &format!("/v1/api_usage?{query}"),
        None,
        reader,
        &[],
    )
    .await
}

/// Per (method, route): requests, errors, 2xx, 3xx, 4xx, 5xx summed over the answer's buckets.
fn totals(body: &Value) -> BTreeMap<(String, String), [u64; 6]> {
    let mut out = BTreeMap::new();
    for row in body["data"].as_array().unwrap() {
        let entry: &mut [u64; 6] = out
            .entry((
                row["method"].as_str().unwrap().to_owned(),
                row["route"].as_str().unwrap().to_owned(),
            ))
            .or_default();
        let values = [
            &row["requests"],
            &row["errors"],
            &row["status"]["2xx"],
            &row["status"]["3xx"],
            &row["status"]["4xx"],
            &row["status"]["5xx"],
        ];
        for (sum, value) in entry.iter_mut().zip(values) {
            *sum += value.as_u64().unwrap();
        }
    }
    out
}

fn route(method: &str, route: &str) -> (String, String) {
    (method.to_owned(), route.to_owned())
}

/// Reads `key`'s usage until `ready` holds for its totals (the worker flushes every 50 ms).
async fn usage_when(
    app: &TestApp,
    reader: &str,
    query: &str,
    ready: impl Fn(&BTreeMap<(String, String), [u64; 6]>) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let res = usage(app, reader, query).await;
        assert_eq!(res.status, 200, "{}", res.body);
        if ready(&totals(&res.body)) {
            return res.body;
        }
        assert!(
            Instant::now() < deadline,
            "usage never showed up: {}",
            res.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn requests_are_counted_per_key_route_and_status_with_their_latency() {
    let app = app().await;
    let a = app.test_key.clone();
    let b = keys::create(&app.db, Mode::Test).await.unwrap().secret;
    // The reader has a key of its own, so its reads are not part of what it reads.
    let reader = keys::create(&app.db, Mode::Test).await.unwrap().secret;
    let a_id = key_id(&app, &a).await;
    let b_id = key_id(&app, &b).await;

    // Key A: three accounts created (slowly: each body 200 ms late), two lookups of an
    // account that does not exist (404), one list with a bad limit (400).
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        let (status, elapsed) = slow_create_account(&app, &a).await;
        assert_eq!(status, 200);
        slowest = slowest.max(elapsed);
    }
    for _ in 0..2 {
        let res = app
            .send(
                Method::GET,
                "/v1/accounts/acct_01h455vb4pex5vsknk084sn02q",
                None,
                &a,
                &[],
            )
            .await;
        assert_eq!(res.status, 404, "{}", res.body);
    }
    let res = app
        .send(Method::GET, "/v1/accounts?limit=0", None, &a, &[])
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
    // Key B lists accounts four times.
    for _ in 0..4 {
        let res = app.send(Method::GET, "/v1/accounts", None, &b, &[]).await;
        assert_eq!(res.status, 200, "{}", res.body);
    }
    // Without a valid key nothing is counted for anyone.
    let res = app
        .send(Method::GET, "/v1/accounts", None, "sk_test_nonsense", &[])
        .await;
    assert_eq!(res.status, 401);
    let res = app.raw(Method::GET, "/healthz", &[], Vec::new()).await;
    assert_eq!(res.status, 200);

    let expected_a: BTreeMap<(String, String), [u64; 6]> = [
        (route("POST", "/v1/accounts"), [3, 0, 3, 0, 0, 0]),
        (route("GET", "/v1/accounts/{id}"), [2, 2, 0, 0, 2, 0]),
        (route("GET", "/v1/accounts"), [1, 1, 0, 0, 1, 0]),
    ]
    .into();
    let minutes = usage_when(
        &app,
        &reader,
        &format!("key={a_id}&granularity=minute"),
        |t| t == &expected_a,
    )
    .await;
    assert_eq!(minutes["object"], "api_usage");
    assert_eq!(minutes["key"], a_id.as_str());
    assert_eq!(minutes["granularity"], "minute");
    assert_eq!(minutes["livemode"], false);
    // A moment later still exactly the same: every request was counted once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = usage(&app, &reader, &format!("key={a_id}&granularity=minute")).await;
    assert_eq!(totals(&again.body), expected_a, "{}", again.body);

    // Hours and days sum the same minutes; the default granularity is hour.
    for query in [
        format!("key={a_id}"),
        format!("key={a_id}&granularity=hour"),
        format!("key={a_id}&granularity=day"),
    ] {
        let res = usage(&app, &reader, &query).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(totals(&res.body), expected_a, "{query}: {}", res.body);
    }
    let hours = usage(&app, &reader, &format!("key={a_id}")).await.body;
    assert_eq!(hours["granularity"], "hour");
    for row in hours["data"].as_array().unwrap() {
        let start = chrono::DateTime::parse_from_rfc3339(row["start"].as_str().unwrap()).unwrap();
        assert_eq!(start.timestamp() % 3600, 0, "buckets start on the hour");
    }

    // Latency: every slow request took at least BODY_DELAY on the server and at most what it
    // took here, so p50 and p99 lie between, within the histogram's resolution.
    let low = BODY_DELAY.as_secs_f64() * 1000.0 / RESOLUTION;
    let high = slowest.as_secs_f64() * 1000.0 * RESOLUTION;
    let days = usage(&app, &reader, &format!("key={a_id}&granularity=day"))
        .await
        .body;
    let mut seen = 0;
    for row in days["data"].as_array().unwrap() {
        let latency = &row["latency_ms"];
        assert!(latency["p50"].as_f64().unwrap() > 0.0, "{row}");
        assert!(
            latency["p99"].as_f64().unwrap() >= latency["p50"].as_f64().unwrap(),
            "{row}"
        );
        if row["route"] == "/v1/accounts" && row["method"] == "POST" {
            seen += 1;
            for q in ["p50", "p99"] {
                let value = latency[q].as_f64().unwrap();
                assert!(
                    value >= low && value <= high,
                    "{q} {value} ms, measured between {} and {} ms",
                    BODY_DELAY.as_millis(),
                    slowest.as_millis()
                );
            }
        }
    }
    assert!(seen >= 1, "{days}");

    // Key B: only its own requests; the reader's reads are the reader's.
    let b_usage = usage_when(&app, &reader, &format!("key={b_id}"), |t| {
        t == &BTreeMap::from([(route("GET", "/v1/accounts"), [4, 0, 4, 0, 0, 0])])
    })
    .await;
    assert_eq!(b_usage["key"], b_id.as_str());
    let reader_id = key_id(&app, &reader).await;
    let reads = usage_when(&app, &b, &format!("key={reader_id}"), |t| {
        t.get(&route("GET", "/v1/api_usage"))
            .is_some_and(|c| c[0] >= 5)
    })
    .await;
    assert_eq!(totals(&reads).len(), 1, "{reads}");

    // The key can be named by its public prefix too, as the lists show it.
    let prefix = &a[..12];
    let res = usage(&app, &reader, &format!("key={prefix}&granularity=day")).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["key"], a_id.as_str());
    assert_eq!(totals(&res.body), expected_a);
    let redacted = res.body["redacted"].as_str().unwrap().to_owned();
    assert!(redacted.starts_with(prefix), "{redacted}");
    let dotted = redacted.replace('…', "...");
    let res = usage(&app, &reader, &format!("key={dotted}&granularity=day")).await;
    assert_eq!(res.body["key"], a_id.as_str(), "{}", res.body);
}

#[tokio::test]
async fn only_secret_keys_of_the_same_mode_read_usage_and_bad_parameters_are_named() {
    let app = app().await;
    let test_id = key_id(&app, &app.test_key).await;
    let live_id = key_id(&app, &app.live_key).await;

    // A restricted key, even one with every permission, cannot read usage.
    let everything: Vec<String> = keys::Resource::ALL
        .into_iter()
        .map(|r| keys::Permission::new(r, keys::Access::Write).to_string())
        .collect();
    let res = app
        .post("/v1/restricted_keys", json!({"permissions": everything}))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let restricted = res.body["secret"].as_str().unwrap().to_owned();
    let res = usage(&app, &restricted, &format!("key={test_id}")).await;
    let error = res.error(403, "permission_error");
    assert_eq!(error["code"], "secret_key_required");

    // A key of the other mode is not there for it, by id or by prefix.
    let res = usage(&app, &app.live_key, &format!("key={test_id}")).await;
    let error = res.error(404, "invalid_request_error");
    assert_eq!(error["code"], "resource_missing");
    assert_eq!(error["param"], "key");
    let res = usage(&app, &app.test_key, &format!("key={live_id}")).await;
    assert_eq!(res.error(404, "invalid_request_error")["param"], "key");
    let res = usage(&app, &app.test_key, &format!("key={}", &app.live_key[..12])).await;
    assert_eq!(res.error(404, "invalid_request_error")["param"], "key");
    // Its own mode's keys it reads, the live key its own.
    let res = usage(&app, &app.live_key, &format!("key={live_id}")).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["livemode"], true);
    // Acting for a connected account is not the platform reading its keys.
    let seller = app.create_account(json!({"country": "SE"})).await;
    let res = app
        .send(
            Method::GET,
            &format!("/v1/api_usage?key={test_id}"),
            None,
            &app.test_key,
            &[("agora-account", seller["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(
        res.error(403, "permission_error")["code"],
        "platform_key_required"
    );

    // A well-formed key that does not exist.
    let res = usage(&app, &app.test_key, "key=key_01h455vb4pex5vsknk084sn02q").await;
    let error = res.error(404, "invalid_request_error");
    assert_eq!(error["code"], "resource_missing");
    assert_eq!(error["param"], "key");

    let cases: Vec<(String, &str, &str)> = vec![
        (String::new(), "key", "parameter_missing"),
        ("key=sk_test_".to_owned(), "key", "parameter_invalid"),
        (
            "key=acct_01h455vb4pex5vsknk084sn02q".to_owned(),
            "key",
            "parameter_invalid",
        ),
        (
            format!("key={test_id}&granularity=week"),
            "granularity",
            "parameter_invalid",
        ),
        (
            format!("key={test_id}&from=yesterday"),
            "from",
            "parameter_invalid",
        ),
        (
            format!("key={test_id}&to=2026-13-01T00:00:00Z"),
            "to",
            "parameter_invalid",
        ),
        // Ends before it begins.
        (
            format!("key={test_id}&from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z"),
            "from",
            "parameter_invalid",
        ),
        // Two days of minutes: 2880 buckets, more than 1440.
        (
            format!(
                "key={test_id}&granularity=minute&from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z"
            ),
            "from",
            "parameter_invalid",
        ),
        // A year of hours.
        (
            format!("key={test_id}&from=2025-11-01T00:00:00Z&to=2026-11-01T00:00:00Z"),
            "from",
            "parameter_invalid",
        ),
        (
            format!("key={test_id}&limit=3"),
            "limit",
            "parameter_unknown",
        ),
    ];
    for (query, param, code) in &cases {
        let res = usage(&app, &app.test_key, query).await;
        let error = res.error(400, "invalid_request_error");
        assert_eq!(error["param"], *param, "{query}: {}", res.body);
        assert_eq!(error["code"], *code, "{query}: {}", res.body);
    }
    // Exactly 1440 minutes is fine, and a past range with nothing in it is empty.
    let res = usage(
        &app,
        &app.test_key,
        &format!(
            "key={test_id}&granularity=minute&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z"
        ),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["data"], json!([]));
    assert_eq!(res.body["from"], "2026-11-01T00:00:00Z");
    assert_eq!(res.body["to"], "2026-11-02T00:00:00Z");
}

/// Counts `n` requests by a made-up key, `minutes_ago` minutes back, straight into the table.
async fn old_usage(app: &TestApp, caller: Caller, minutes_ago: i64, n: u32) {
    let recorder = Recorder::new(100);
    let at = chrono::Utc::now().timestamp() - minutes_ago * 60;
    for _ in 0..n {
        recorder.record(caller, "/v1/charges", "POST", 200, 5_000, at);
    }
    let flushed = recorder.flush(&app.db).await.unwrap();
    assert_eq!(flushed.requests, u64::from(n));
}

#[tokio::test]
async fn usage_older_than_the_retention_is_swept() {
    let app = app().await;
    let caller = Caller {
        key_id: uuid::Uuid::now_v7(),
        livemode: false,
    };
    let day = 24 * 60;
    old_usage(&app, caller, 31 * day, 2).await;
    old_usage(&app, caller, 29 * day, 3).await;
    assert_eq!(entity::Entity::find().count(&app.db).await.unwrap(), 2);
    // The first app keeps 90 days. A second server keeping 30 sweeps at start.
    app.start_another(|c| c.api_usage_retention_days = 30).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let rows = entity::Entity::find().all(&app.db).await.unwrap();
        if rows.len() == 1 {
            let now = chrono::Utc::now().timestamp();
            let age_days = (now - rows[0].minute_start) / 86_400;
            assert_eq!(age_days, 29, "the newer minute stays");
            break;
        }
        assert!(Instant::now() < deadline, "not swept: {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_failed_flush_keeps_its_counts_and_counts_them_once() {
    let app = app().await;
    let caller = Caller {
        key_id: uuid::Uuid::now_v7(),
        livemode: false,
    };
    let recorder = Recorder::new(100);
    let now = chrono::Utc::now().timestamp();
    for status in [200, 200, 404, 500, 200] {
        recorder.record(caller, "/v1/charges", "POST", status, 3_000, now);
    }
    recorder.record(caller, "/v1/refunds", "POST", 200, 3_000, now);
    // A database without the table: the flush fails, and keeps its cells.
    let dir = tempfile::tempdir().unwrap();
    let empty = sea_orm::Database::connect(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("empty.db").display()
    ))
    .await
    .unwrap();
    assert!(recorder.flush(&empty).await.is_err());
    assert_eq!(recorder.pending(), 2);
    // Counted meanwhile: added to what was put back.
    recorder.record(caller, "/v1/charges", "POST", 200, 3_000, now);
    let flushed = recorder.flush(&app.db).await.unwrap();
    assert_eq!(flushed.requests, 7);
    assert_eq!(flushed.rows, 2);
    assert_eq!(
        recorder.flush(&app.db).await.unwrap().rows,
        0,
        "nothing twice"
    );
    let range = Range::new(None, None, Granularity::Day, now).unwrap();
    let rows = usage::report(&app.db, caller.key_id, &range).await.unwrap();
    let charges = rows
        .iter()
        .find(|r| r.route == "/v1/charges")
        .expect("charges row");
    assert_eq!(charges.requests, 6);
    assert_eq!(charges.status, [4, 0, 1, 1]);
    assert_eq!(charges.errors(), 2);
    assert_eq!(charges.latency.total(), 6);
    // A second flush of the same minute adds to the stored row.
    recorder.record(caller, "/v1/charges", "POST", 200, 3_000, now);
    recorder.flush(&app.db).await.unwrap();
    let rows = usage::report(&app.db, caller.key_id, &range).await.unwrap();
    let charges = rows.iter().find(|r| r.route == "/v1/charges").unwrap();
    assert_eq!(charges.requests, 7);
    assert_eq!(entity::Entity::find().count(&app.db).await.unwrap(), 2);
}
