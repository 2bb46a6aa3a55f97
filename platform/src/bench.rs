//! `agora bench charges` and `agora bench webhooks`: the charge path and webhook delivery
//! measured end to end on this machine.
//!
//! `charges`: N clients post charges to a server of its own (a temporary SQLite database, or
//! `--database-url`) or to one at `--url`, then the ledger is verified.
//!
//! `webhooks`:
//! Starts an Agora server in this process (a temporary SQLite database, or `--database-url`),
//! a receiver that answers 200 at once (or uses `--url`), subscribes it to `charge.succeeded`,
//! and creates charges through the HTTP API from several clients, as a platform would. Prints
//! the backlog once a second, then deliveries per second and the event-to-delivery latency
//! (the event's `created`, read from the `agora-event-created` header, to its arrival at the
//! receiver; the event is created inside the charge's transaction, so this is commit to
//! delivery plus the commit itself). `--slow` adds a second endpoint whose receiver answers
//! after 2 s, to show that it does not hold the fast one back.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{json, Value};

use crate::domain::keys::{self, Mode};
use crate::infra::config::Config;
use crate::Application;

/// What `agora bench webhooks` was asked for.
#[derive(Debug, Clone)]
pub struct WebhookBench {
    /// Concurrent API clients creating charges.
    pub clients: usize,
    /// How long charges are created.
    pub seconds: u64,
    /// Stop after this many charges (events), if sooner.
    pub events: Option<u64>,
    /// Deliver to this URL instead of the built-in receiver (no latency then).
    pub url: Option<String>,
    /// Add an endpoint whose receiver answers after `slow_ms`.
    pub slow: bool,
    pub slow_ms: u64,
    /// Longest wait for the backlog to drain after the charges stop.
    pub drain_s: u64,
    /// Create every charge first with no delivery worker running, then start one and measure
    /// how fast it drains the backlog: delivery capacity, whatever the charge rate.
    pub backlog: bool,
}

/// A receiver's record: requests seen, their latency, and the most in flight at once.
#[derive(Default)]
struct Sink {
    delay: Duration,
    received: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Milliseconds from the event's creation to its arrival here.
    latencies_ms: Mutex<Vec<f64>>,
    last_at: Mutex<Option<Instant>>,
}

impl Sink {
    fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    fn percentiles(&self) -> Option<(f64, f64, f64)> {
        let mut all = self.latencies_ms.lock().ok()?.clone();
        if all.is_empty() {
            return None;
        }
        all.sort_by(f64::total_cmp);
        let at = |p: f64| all[((all.len() - 1) as f64 * p).round() as usize];
        Some((at(0.5), at(0.99), at(1.0)))
    }
}

async fn receive(req: HttpRequest, _body: web::Bytes, sink: web::Data<Arc<Sink>>) -> HttpResponse {
    let arrived = Utc::now();
    let now = sink.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    sink.max_in_flight.fetch_max(now, Ordering::Relaxed);
    let created = req
        .headers()
        .get("agora-event-created")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc3339(v).ok());
    // Retries are not first deliveries: count each event's latency once.
    let first = req
        .headers()
        .get("agora-delivery-attempt")
        .is_none_or(|v| v.as_bytes() == b"1");
    if let (Some(created), true) = (created, first) {
        let ms = (arrived - created.with_timezone(&Utc))
            .num_microseconds()
            .unwrap_or(0) as f64
            / 1000.0;
        if let Ok(mut l) = sink.latencies_ms.lock() {
            l.push(ms);
        }
    }
    if !sink.delay.is_zero() {
        tokio::time::sleep(sink.delay).await;
    }
    sink.received.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut last) = sink.last_at.lock() {
        *last = Some(Instant::now());
    }
    sink.in_flight.fetch_sub(1, Ordering::Relaxed);
    HttpResponse::Ok().body("ok")
}

/// Starts a receiver on a free local port; returns its URL and record.
fn start_receiver(delay: Duration) -> anyhow::Result<(String, Arc<Sink>)> {
    let sink = Arc::new(Sink {
        delay,
        ..Sink::default()
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr()?.port());
    let data = web::Data::new(sink.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(1024 * 1024))
            .default_service(web::to(receive))
    })
    .workers(1)
    .listen(listener)?
    .run();
    tokio::spawn(server);
    Ok((url, sink))
}

/// A JSON call to the API; the body of a 2xx, else an error naming the answer.
async fn call(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let res = client
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await?;
    anyhow::ensure!(status.is_success(), "POST {path}: {status} {body}");
    Ok(body)
}

/// `count` sellers that can be charged (the KYC minimum tier).
async fn sellers_n(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let res = call(
            client,
            base,
            key,
            "/v1/accounts",
            json!({
                "country": "DE",
                "business_type": "individual",
                "business_profile": {"mcc": "5734", "url": "https://shop.example.de"},
                "individual": {"first_name": "Erika", "last_name": "Muster",
                               "email": "erika@example.de", "dob": "1980-05-01"},
                "tos_acceptance": {"ip": "192.0.2.10"},
            }),
        )
        .await?;
        anyhow::ensure!(
            res["charges_enabled"] == true,
            "the seller cannot be charged: {res}"
        );
        out.push(res["id"].as_str().unwrap_or_default().to_owned());
    }
    Ok(out)
}

/// Five sellers, for the webhook benchmark.
async fn sellers(client: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<Vec<String>> {
    sellers_n(client, base, key, 5).await
}

/// Deliveries of `endpoint` in `status` (for `--url`, where no receiver of ours counts them).
async fn deliveries(db: &DatabaseConnection, endpoint: uuid::Uuid, status: &str) -> u64 {
    let backend = db.get_database_backend();
    let sql = crate::infra::db::placeholders(
        backend,
        "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = $2",
    );
    let row = db
        .query_one(Statement::from_sql_and_values(
            backend,
            sql,
            [endpoint.into(), status.into()],
        ))
        .await;
    match row {
        Ok(Some(row)) => row.try_get::<i64>("", "n").unwrap_or(0).max(0) as u64,
        _ => 0,
    }
}

/// Runs the benchmark and prints its report on stdout.
pub async fn webhooks(mut config: Config, bench: WebhookBench) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("agora-bench-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    config.bind = "127.0.0.1:0".to_owned();
    config.data_dir = dir.clone();
    config.rate_limit_per_second = 0;
    // Its own scratch server, test mode only, and the receivers are local (127.0.0.1, or a
    // --url on this machine): the SSRF guard would refuse them.
    config.webhook_allow_private_targets = true;
    let backend = if config.is_sqlite() {
        "sqlite"
    } else {
        "postgres"
    };
    let db = crate::infra::db::connect(&config).await?;
    crate::infra::db::migrate(&db).await?;
    let key = keys::create(&db, Mode::Test).await?.secret;
    let mut serving = config.clone();
    serving.webhook_worker = !bench.backlog;
    let app = Application::build_with_db(serving, db.clone())?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(bench.clients)
        .timeout(Duration::from_secs(30))
        .build()?;
    let (fast_url, fast) = match &bench.url {
        Some(url) => (url.clone(), None),
        None => {
            let (url, sink) = start_receiver(Duration::ZERO)?;
            (url, Some(sink))
        }
    };
    let endpoint = call(
        &client,
        &base,
        &key,
        "/v1/webhook_endpoints",
        json!({"url": fast_url, "enabled_events": ["charge.succeeded"]}),
    )
    .await?;
    let endpoint_id = crate::infra::wire::ids::decode(
        crate::infra::wire::ids::IdKind::WebhookEndpoint,
        endpoint["id"].as_str().unwrap_or_default(),
    )
    .map_err(|_| anyhow::anyhow!("the endpoint's id: {endpoint}"))?;
    let slow = if bench.slow {
        let (url, sink) = start_receiver(Duration::from_millis(bench.slow_ms))?;
        call(
            &client,
            &base,
            &key,
            "/v1/webhook_endpoints",
            json!({"url": url, "enabled_events": ["charge.succeeded"]}),
        )
        .await?;
        Some(sink)
    } else {
        None
    };
    let sellers = Arc::new(sellers(&client, &base, &key).await?);
    println!(
        "agora bench webhooks: {backend}, {} clients for {} s{}, one endpoint ({}){}; \
         webhook_max_per_endpoint {}, webhook_max_in_flight {}, webhook_poll_ms {}",
        bench.clients,
        bench.seconds,
        bench
            .events
            .map(|n| format!(" or {n} charges"))
            .unwrap_or_default(),
        if bench.url.is_some() {
            "--url"
        } else {
            "instant receiver"
        },
        if bench.slow {
            format!(" + one answering after {} ms", bench.slow_ms)
        } else {
            String::new()
        },
        config.webhook_max_per_endpoint,
        config.webhook_max_in_flight,
        config.webhook_poll_ms,
    );

    let created = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let run = uuid::Uuid::now_v7().simple().to_string();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(bench.seconds);
    let limit = bench.events.unwrap_or(u64::MAX);
    let mut tasks = Vec::new();
    for c in 0..bench.clients {
        let (client, base, key, sellers, run, created, failed) = (
            client.clone(),
            base.clone(),
            key.clone(),
            sellers.clone(),
            run.clone(),
            created.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = 0usize;
            while Instant::now() < deadline && created.load(Ordering::Relaxed) < limit {
                let body = json!({"amount": 1000 + (i % 1000), "currency": "eur",
                    "destination": sellers[(c + i) % sellers.len()],
                    "application_fee_amount": 100, "payment_method": "pm_card_visa"});
                let ok = client
                    .post(format!("{base}/v1/charges"))
                    .bearer_auth(&key)
                    .header("idempotency-key", format!("bench-{run}-{c}-{i}"))
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                if ok {
                    created.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }
    if bench.backlog {
        for t in tasks.drain(..) {
            let _ = t.await;
        }
        let charged = created.load(Ordering::Relaxed);
        println!(
            "backlog: {charged} charges in {:.1} s, none delivered yet; starting the delivery worker",
            started.elapsed().as_secs_f64()
        );
        let limiter = Arc::new(crate::adapters::gateway::rate_limit::RateLimiter::new(0, 0));
        let mut delivering = config.clone();
        delivering.payout_worker = false;
        delivering.email_worker = false;
        let state =
            crate::adapters::gateway::state::AppState::build(delivering, db.clone(), 0, limiter)?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        std::mem::forget(stop); // runs until the process ends
        let drain_started = Instant::now();
        crate::workers::spawn(state, stopped);
        let mut last_report = (0u64, Instant::now());
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let d = match &fast {
                Some(sink) => sink.received(),
                None => deliveries(&db, endpoint_id, "delivered").await,
            };
            if last_report.1.elapsed() >= Duration::from_secs(1) || d >= charged {
                println!(
                    "{:>5.1} s  delivered {d:>7}  backlog {:>7}",
                    drain_started.elapsed().as_secs_f64(),
                    charged.saturating_sub(d)
                );
                last_report = (d, Instant::now());
            }
            if d >= charged || drain_started.elapsed() > Duration::from_secs(bench.drain_s) {
                let took = fast
                    .as_ref()
                    .and_then(|s| s.last_at.lock().ok().and_then(|l| *l))
                    .map(|at| at.saturating_duration_since(drain_started))
                    .unwrap_or(drain_started.elapsed())
                    .as_secs_f64();
                println!(
                    "drained: {d} of {charged} delivered in {took:.2} s: {:.0} deliveries/s",
                    d as f64 / took.max(0.001)
                );
                break;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    let delivered = |db: DatabaseConnection, fast: Option<Arc<Sink>>| async move {
        match fast {
            Some(sink) => sink.received(),
            None => deliveries(&db, endpoint_id, "delivered").await,
        }
    };
    println!(
        "   t    charges  delivered  backlog{}",
        if slow.is_some() {
            "  slow delivered"
        } else {
            ""
        }
    );
    let mut charging_done_at = None;
    let drain_deadline = deadline + Duration::from_secs(bench.drain_s);
    let mut backlog_peak = 0u64;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let c = created.load(Ordering::Relaxed);
        let d = delivered(db.clone(), fast.clone()).await;
        let backlog = c.saturating_sub(d);
        backlog_peak = backlog_peak.max(backlog);
        println!(
            "{:>4.0}  {c:>9}  {d:>9}  {backlog:>7}{}",
            started.elapsed().as_secs_f64(),
            slow.as_ref()
                .map(|s| format!("  {:>14}", s.received()))
                .unwrap_or_default()
        );
        let charging = tasks.iter().any(|t| !t.is_finished());
        if !charging && charging_done_at.is_none() {
            charging_done_at = Some(started.elapsed());
        }
        if !charging && (backlog == 0 || Instant::now() > drain_deadline) {
            break;
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let charged = created.load(Ordering::Relaxed);
    let charging_s = charging_done_at
        .unwrap_or(started.elapsed())
        .min(Duration::from_secs(bench.seconds))
        .max(Duration::from_millis(1))
        .as_secs_f64();
    let d = delivered(db.clone(), fast.clone()).await;
    let last = fast
        .as_ref()
        .and_then(|s| s.last_at.lock().ok().and_then(|l| *l))
        .map(|at| at.duration_since(started).as_secs_f64())
        .unwrap_or(started.elapsed().as_secs_f64());
    println!(
        "charges: {charged} in {charging_s:.1} s ({:.0}/s, {} failed)",
        charged as f64 / charging_s,
        failed.load(Ordering::Relaxed)
    );
    println!(
        "delivered: {d} of {charged} to the endpoint, the last {last:.1} s after the start: \
         {:.0} deliveries/s; peak backlog {backlog_peak}",
        d as f64 / last.max(0.001)
    );
    if let Some(sink) = &fast {
        if let Some((p50, p99, max)) = sink.percentiles() {
            println!(
                "latency, event created to delivered: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms; \
                 requests in flight to it at once: at most {}",
                sink.max_in_flight.load(Ordering::Relaxed)
            );
        }
    }
    if let Some(sink) = &slow {
        println!(
            "slow endpoint: {} delivered, at most {} in flight to it (the rest wait in the database)",
            sink.received(),
            sink.max_in_flight.load(Ordering::Relaxed)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    // A benchmark that lost events or charges measured nothing: say so with the exit status.
    let failed = failed.load(Ordering::Relaxed);
    anyhow::ensure!(failed == 0, "{failed} charges failed");
    anyhow::ensure!(
        d >= charged,
        "only {d} of {charged} events reached the endpoint before the drain deadline"
    );
    Ok(())
}

/// What `agora bench charges` was asked for.
#[derive(Debug, Clone)]
pub struct ChargeBench {
    /// Concurrent API clients, each sending one charge at a time.
    pub clients: usize,
    /// How long charges are sent.
    pub seconds: u64,
    /// Sellers the charges go to (round robin), created and verified first.
    pub sellers: usize,
    /// Every charge to the first seller: the hottest ledger rows there can be.
    pub hot: bool,
    /// A running server to load instead of one of our own, with its test key.
    pub url: Option<String>,
    pub key: Option<String>,
}

/// Milliseconds at fraction `p` of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// `agora bench charges`: N clients post destination charges (an explicit fee,
/// `pm_card_visa`, a fresh Idempotency-Key each) for S seconds; prints charges/s, latency
/// percentiles and errors by status, then verifies the ledger. Fails if any charge failed or
/// the ledger is off, since a run with refusals in it measures nothing.
pub async fn charges(mut config: Config, bench: ChargeBench) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("agora-bench-{}", uuid::Uuid::now_v7().simple()));
    let own_server = bench.url.is_none();
    // Our own server: a scratch data dir, and the database given (or a temporary SQLite file).
    // Someone else's (`--url`): their database only if `--database-url` says where it is.
    let db = if own_server || config.database_url.is_some() {
        if own_server {
            std::fs::create_dir_all(&dir)?;
            config.data_dir = dir.clone();
        }
        let db = crate::infra::db::connect(&config).await?;
        crate::infra::db::migrate(&db).await?;
        Some(db)
    } else {
        None
    };
    let backend = match (&db, config.is_sqlite()) {
        (None, _) => "a server at --url",
        (Some(_), true) => "sqlite",
        (Some(_), false) => "postgres",
    };
    let (base, key) = match (&bench.url, &bench.key, &db) {
        (Some(url), Some(key), _) => (url.trim_end_matches('/').to_owned(), key.clone()),
        (Some(_), None, _) => anyhow::bail!("--url needs --key (a test-mode secret key)"),
        (None, _, Some(db)) => {
            let key = keys::create(db, Mode::Test).await?.secret;
            let mut serving = config.clone();
            serving.bind = "127.0.0.1:0".to_owned();
            serving.rate_limit_per_second = 0;
            let app = Application::build_with_db(serving, db.clone())?;
            let base = format!("http://127.0.0.1:{}", app.port());
            tokio::spawn(app.run_until_stopped());
            (base, key)
        }
        (None, _, None) => anyhow::bail!("no database to serve from"),
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(bench.clients)
        .timeout(Duration::from_secs(30))
        .build()?;
    let sellers = Arc::new(sellers_n(&client, &base, &key, bench.sellers).await?);
    // Keys are per mode: a fresh run prefix keeps a reused database from replaying old keys.
    let run = uuid::Uuid::now_v7().simple().to_string();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(bench.seconds);
    let mut tasks = Vec::with_capacity(bench.clients);
    for c in 0..bench.clients {
        let (client, base, key, sellers, run) = (
            client.clone(),
            base.clone(),
            key.clone(),
            sellers.clone(),
            run.clone(),
        );
        let hot = bench.hot;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut statuses: std::collections::BTreeMap<String, u64> = Default::default();
            let mut i = 0usize;
            while Instant::now() < deadline {
                let seller = if hot { 0 } else { (c + i) % sellers.len() };
                let body = json!({"amount": 1000 + (i % 1000), "currency": "eur",
                    "destination": sellers[seller], "application_fee_amount": 100,
                    "payment_method": "pm_card_visa"});
                let t = Instant::now();
                let status = client
                    .post(format!("{base}/v1/charges"))
                    .bearer_auth(&key)
                    .header("idempotency-key", format!("bench-{run}-{c}-{i}"))
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16().to_string())
                    .unwrap_or_else(|e| format!("no answer ({e})"));
                latencies.push(t.elapsed());
                if status != "200" {
                    *statuses.entry(status).or_default() += 1;
                }
                i += 1;
            }
            (latencies, statuses)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors: std::collections::BTreeMap<String, u64> = Default::default();
    for t in tasks {
        let (l, s) = t.await?;
        latencies.extend(l);
        for (status, n) in s {
            *errors.entry(status).or_default() += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let failed: u64 = errors.values().sum();
    println!(
        "{backend}: {} clients, {} sellers{}, {elapsed:.1} s: {} charges, {:.0} charges/s",
        bench.clients,
        bench.sellers,
        if bench.hot {
            " (every charge to one)"
        } else {
            ""
        },
        latencies.len(),
        latencies.len() as f64 / elapsed
    );
    println!(
        "latency: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    if errors.is_empty() {
        println!("errors: none");
    } else {
        let list: Vec<String> = errors.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        println!("errors by status: {}", list.join(", "));
    }
    let ledger_ok = match &db {
        Some(db) => {
            let report = agora_ledger::verify::verify(db).await?;
            for problem in &report.problems {
                println!("BROKEN: {problem}");
            }
            println!("{}", report.summary());
            report.is_ok()
        }
        None => {
            println!("ledger verify: skipped (give --database-url to check the server's ledger)");
            true
        }
    };
    if own_server {
        let _ = std::fs::remove_dir_all(&dir);
    }
    anyhow::ensure!(failed == 0, "{failed} charges failed");
    anyhow::ensure!(ledger_ok, "the ledger does not verify");
    Ok(())
}
