//! `/metrics`: the Prometheus text a scraper reads, after real traffic. Tests of one binary share
//! one recorder (it is process-wide, as in `agora serve`), so counters are compared before and
//! after, and only ever asked to have moved by at least what this test did.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use crate::webhooks::{create_endpoint, Receiver};

/// One scrape, parsed: (name, labels, value) per sample line.
pub(crate) struct Scrape {
    pub(crate) text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    fn parse(text: String) -> Self {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample line");
            let value: f64 = value.parse().expect("sample value");
            let (name, labels) = match series.split_once('{') {
                None => (series.to_owned(), BTreeMap::new()),
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').expect("closing brace");
                    let labels = split_labels(rest)
                        .into_iter()
                        .map(|pair| {
                            let (k, v) = pair.split_once('=').expect("label pair");
                            (k.to_owned(), v.trim_matches('"').replace("\\\"", "\""))
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
            };
            samples.push((name, labels, value));
        }
        Self { text, samples }
    }

    /// The sum of every series of `name` whose labels include `labels`.
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|(n, _, _)| n == name)
    }

    /// Every metric family named in the scrape (histogram suffixes stripped).
    pub(crate) fn families(&self) -> std::collections::BTreeSet<String> {
        self.samples
            .iter()
            .map(|(n, _, _)| {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| n.strip_suffix(s))
                    .unwrap_or(n)
                    .to_owned()
            })
            .collect()
    }
}

/// Label pairs split on the commas between them (a value may hold a comma inside quotes).
fn split_labels(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            '\\' if quoted => escaped = !escaped,
            '"' if !escaped => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

pub(crate) async fn scrape_at(app: &TestApp, base: &str, token: Option<&str>) -> Scrape {
    let mut req = app.client.get(format!("{base}/metrics"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("scrape");
    assert_eq!(res.status(), 200);
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Scrape::parse(res.text().await.expect("scrape body"))
}

pub(crate) async fn scrape(app: &TestApp) -> Scrape {
    scrape_at(app, &app.address, None).await
}

async fn seller(app: &TestApp) -> String {
    app.create_seller(json!({"country": "DE"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_charge_and_its_webhook_move_the_counters() {
    let app = spawn_app_with(|c| c.webhook_poll_ms = 50).await;
    let receiver = Receiver::start(0).await;
    create_endpoint(&app, &receiver.url, json!(["charge.succeeded"])).await;
    let acct = seller(&app).await;
    let before = scrape(&app).await;

    let body = json!({"amount": 2500, "currency": "sek", "destination": acct,
        "application_fee_amount": 100, "payment_method": "pm_card_visa"});
    let headers = [("idempotency-key", "metrics-charge-1")];
    let res = app
        .send(
            Method::POST,
            "/v1/charges",
            Some(body.clone()),
            &app.test_key,
            &headers,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    // The same key again: a replay, not a second charge.
    let again = app
        .send(
            Method::POST,
            "/v1/charges",
            Some(body),
            &app.test_key,
            &headers,
        )
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    receiver.wait_for(1).await;
    // The recorder writes the outcome just after the endpoint answered.
    let mut after = scrape(&app).await;
    for _ in 0..100 {
        let delivered = [("outcome", "delivered"), ("mode", "test")];
        if after.value("agora_webhook_deliveries_total", &delivered)
            > before.value("agora_webhook_deliveries_total", &delivered)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = scrape(&app).await;
    }
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };

    let posted = [
        ("route", "/v1/charges"),
        ("method", "POST"),
        ("status", "2xx"),
    ];
    assert!(moved("agora_http_requests_total", &posted) >= 2.0);
    assert!(
        moved(
            "agora_http_request_duration_seconds_count",
            &[("route", "/v1/charges"), ("method", "POST")]
        ) >= 2.0
    );
    let sek = [
        ("outcome", "succeeded"),
        ("currency", "sek"),
        ("mode", "test"),
    ];
    // One charge, however many times its key was sent.
    assert!(moved("agora_charges_total", &sek) >= 1.0);
    assert!(moved("agora_charge_amount_minor_total", &sek) >= 2500.0);
    assert!(moved("agora_idempotent_replays_total", &[]) >= 1.0);
    assert!(moved("agora_charge_batch_size_count", &[]) >= 1.0);
    assert!(moved("agora_charge_batch_wait_seconds_count", &[]) >= 1.0);
    assert!(moved("agora_ledger_entries_posted_total", &[("mode", "test")]) >= 1.0);
    assert!(
        moved(
            "agora_webhook_deliveries_total",
            &[("outcome", "delivered"), ("mode", "test")]
        ) >= 1.0,
        "{}",
        after.text
    );
    assert!(
        moved(
            "agora_webhook_attempt_duration_seconds_count",
            &[("mode", "test")]
        ) >= 1.0
    );
    // Sampled at scrape: the queues and the pool.
    assert!(after.has("agora_queue_depth"), "{}", after.text);
    assert!(after
        .text
        .contains("agora_queue_depth{queue=\"webhook_deliveries\",mode=\"test\"}"));
    assert!(after
        .text
        .contains("agora_queue_depth{queue=\"emails\",mode=\"\"}"));
    assert!(after.has("agora_db_pool_max_connections"));
    assert!(after.has("agora_db_acquire_seconds"));
    assert!(after.has("agora_http_requests_in_flight"));
    assert!(after.text.contains("# HELP agora_charges_total"));
}

#[tokio::test]
async fn labels_are_route_patterns_never_ids() {
    let app = spawn_app().await;
    let acct = seller(&app).await;
    let before = scrape(&app).await;
    let res = app.get(&format!("/v1/accounts/{acct}")).await;
    assert_eq!(res.status, 200);
    let res = app.get("/nope/acct_0000000000000000000000").await;
    assert_eq!(res.status, 404);
    let res = app
        .raw(
            Method::POST,
            "/v1/charges",
            &[
                ("authorization", &format!("Bearer {}", app.test_key)),
                ("content-type", "application/json"),
            ],
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(res.status, 400);
    let after = scrape(&app).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert!(
        moved(
            "agora_http_requests_total",
            &[
                ("route", "/v1/accounts/{id}"),
                ("method", "GET"),
                ("status", "2xx")
            ]
        ) >= 1.0
    );
    assert!(
        moved(
            "agora_http_requests_total",
            &[("route", "unmatched"), ("status", "4xx")]
        ) >= 1.0
    );
    assert!(
        moved(
            "agora_http_body_rejections_total",
            &[("reason", "parse_error")]
        ) >= 1.0
    );
    assert!(
        !after.text.contains(&acct),
        "an account id leaked into a label"
    );
    assert!(
        !after.text.contains("/nope/"),
        "a raw path leaked into a label"
    );
    assert!(!after.text.contains(&app.test_key), "a key leaked");
}

#[tokio::test]
async fn a_metrics_token_guards_the_scrape() {
    let token = "scrape-token-0123456789";
    let app = spawn_app_with(|c| c.metrics_token = Some(token.to_owned())).await;
    let url = format!("{}/metrics", app.address);
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "metrics_token_invalid");
    let res = app
        .client
        .get(&url)
        .bearer_auth("scrape-token-wrong-guess")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // An API key is not the metrics token.
    let res = app
        .client
        .get(&url)
        .bearer_auth(&app.test_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let scraped = scrape_at(&app, &app.address, Some(token)).await;
    assert!(scraped.has("agora_build_info"));
}

#[tokio::test]
async fn metrics_can_have_a_listener_of_their_own_or_be_off() {
    let app = spawn_app_with(|c| {
        c.metrics_bind = Some("127.0.0.1:0".to_owned());
        c.metrics_path = "/internal/metrics".to_owned();
    })
    .await;
    let base = app.metrics_address.clone().expect("a metrics listener");
    // Not on the API's port, under either path.
    for path in ["/metrics", "/internal/metrics"] {
        let res = app.raw(Method::GET, path, &[], vec![]).await;
        assert_eq!(res.status, 404, "{path}");
    }
    let res = app
        .client
        .get(format!("{base}/internal/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("agora_build_info"));
    // Nothing else is served there.
    let res = app
        .client
        .get(format!("{base}/v1/charges"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let off = spawn_app_with(|c| c.metrics = false).await;
    let res = off.raw(Method::GET, "/metrics", &[], vec![]).await;
    assert_eq!(res.status, 404);
}

#[test]
fn labels_with_commas_and_quotes_parse() {
    let s = Scrape::parse("m{a=\"x,y\",b=\"q\\\"z\"} 3\nm{a=\"w\"} 4\n".to_owned());
    assert_eq!(s.value("m", &[("a", "x,y")]), 3.0);
    assert_eq!(s.value("m", &[]), 7.0);
}

/// The metric names a file of `deploy/` refers to (histogram suffixes stripped).
fn names_in(path: &str) -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut names = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("agora_") {
        let start = i + at;
        let preceded =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(text.len(), |n| start + n);
        if !preceded {
            let name = &text[start..end];
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            names.insert(base.to_owned());
        }
        i = end;
    }
    names
}

#[tokio::test]
async fn every_metric_the_alerts_and_the_dashboard_name_is_exported() {
    let app = spawn_app_with(|c| c.webhook_poll_ms = 50).await;
    let receiver = Receiver::start(0).await;
    create_endpoint(&app, &receiver.url, json!(["charge.succeeded"])).await;
    let acct = seller(&app).await;
    let res = app
        .post(
            "/v1/charges",
            json!({"amount": 1000, "currency": "eur", "destination": acct, "payment_method": "pm_card_visa"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    receiver.wait_for(1).await;
    let mut named = names_in("deploy/prometheus/alerts.yml");
    assert!(named.len() >= 10, "{named:?}");
    named.extend(names_in("deploy/grafana/agora-dashboard.json"));
    // Workers and the ledger verifier report their first pass shortly after start.
    let mut missing = Vec::new();
    for _ in 0..100 {
        let families = scrape(&app).await.families();
        missing = named
            .iter()
            .filter(|n| !families.contains(*n))
            .cloned()
            .collect();
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        missing.is_empty(),
        "named in deploy/ but not exported: {missing:?}"
    );
}
