//! Charge-path load test: the real server in-process, N concurrent clients posting charges
//! for a fixed time, then the ledger verified. Prints throughput and latency percentiles.
//!
//! ```sh
//! cargo run --release -p agora-platform --example charge_load -- [clients] [seconds]
//! AGORA_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/agora_bench cargo run --release …
//! ```
//! With `AGORA_BENCH_DATABASE_URL` it runs on that (empty, or created) database; otherwise on a
//! fresh SQLite file. Each charge: one seller of 5, an explicit fee, `pm_card_visa`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use agora_platform::domain::keys::{self, Mode};
use agora_platform::{Application, Config};

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    let clients: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        bind: "127.0.0.1:0".to_owned(),
        data_dir: dir.path().to_path_buf(),
        rate_limit_per_second: 0,
        log: "warn".to_owned(),
        ..Config::default()
    };
    if let Ok(url) = std::env::var("AGORA_BENCH_DATABASE_URL") {
        config.database_url = Some(url);
    }
    let backend = if config.is_sqlite() {
        "sqlite"
    } else {
        "postgres"
    };
    let db = agora_platform::infra::db::connect(&config).await.unwrap();
    agora_platform::infra::db::migrate(&db).await.unwrap();
    let key = keys::create(&db, Mode::Test).await.unwrap().secret;
    let app = Application::build_with_db(config, db.clone()).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let mut sellers = Vec::new();
    for _ in 0..5 {
        let res: serde_json::Value = client
            .post(format!("{base}/v1/accounts"))
            .bearer_auth(&key)
            // What a seller must give before it can be charged (the KYC minimum tier).
            .json(&serde_json::json!({
                "country": "DE",
                "business_type": "individual",
                "business_profile": {"mcc": "5734", "url": "https://shop.example.de"},
                "individual": {"first_name": "Erika", "last_name": "Muster",
                               "email": "erika@example.de", "dob": "1980-05-01"},
                "tos_acceptance": {"ip": "192.0.2.10"},
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            res["charges_enabled"], true,
            "a seller that can be charged: {res}"
        );
        sellers.push(res["id"].as_str().unwrap().to_owned());
    }
    let sellers = Arc::new(sellers);
    // Keys are per mode: a fresh run prefix keeps a reused database from replaying old keys.
    let run = uuid::Uuid::now_v7().simple().to_string();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, key, sellers, run) = (
            client.clone(),
            base.clone(),
            key.clone(),
            sellers.clone(),
            run.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = 0usize;
            while Instant::now() < deadline {
                let body = serde_json::json!({"amount": 1000 + (i % 1000), "currency": "eur",
                    "destination": sellers[(c + i) % sellers.len()], "application_fee_amount": 100, "payment_method": "pm_card_visa"});
                let t = Instant::now();
                let ok = client
                    .post(format!("{base}/v1/charges"))
                    .bearer_auth(&key)
                    .header("idempotency-key", format!("bench-{run}-{c}-{i}"))
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                latencies.push(t.elapsed());
                if !ok {
                    errors += 1;
                }
                i += 1;
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "{backend}: {clients} clients, {:.1} s: {} charges ({errors} failed), {:.0} charges/s, latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        elapsed,
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    let report = agora_ledger::verify::verify(&db).await.unwrap();
    println!("{}", report.summary());
    assert!(report.is_ok(), "{:?}", report.problems);
    // A refused charge is cheap: throughput with failures in it measures nothing.
    assert_eq!(errors, 0, "every charge must succeed");
}
