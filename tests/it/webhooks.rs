//! Webhooks end to end: a real HTTP receiver in the test process verifies every signature
//! itself (HMAC-SHA256 computed here, not with Agora's code), fails when told to, and records
//! what arrived.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{spawn_app_with, TestApp};

#[derive(Clone, Debug)]
pub(crate) struct Received {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    accepted: bool,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The `v1,` signatures that verify with `secret` (computed independently).
    fn verifies_with(&self, secret: &str) -> bool {
        let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        let signed = format!(
            "{}.{}.{}",
            self.header("webhook-id"),
            self.header("webhook-timestamp"),
            String::from_utf8_lossy(&self.body)
        );
        mac.update(signed.as_bytes());
        let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
        self.signatures().iter().any(|s| *s == expected)
    }

    fn signatures(&self) -> Vec<&str> {
        self.header("webhook-signature").split(' ').collect()
    }
}

/// A tiny HTTP/1.1 server: answers 500 to the first `fail_first` requests, then 200.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    inner: Arc<Mutex<(usize, Vec<Received>)>>,
}

impl Receiver {
    pub(crate) async fn start(fail_first: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hook",
            listener.local_addr().unwrap().port()
        );
        let inner = Arc::new(Mutex::new((fail_first, Vec::new())));
        let shared = inner.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let Some((headers, body)) = read_request(&mut socket).await else {
                        return;
                    };
                    let accepted = {
                        let mut guard = shared.lock().unwrap();
                        let accepted = guard.0 == 0;
                        guard.0 = guard.0.saturating_sub(1);
                        guard.1.push(Received {
                            headers,
                            body,
                            accepted,
                        });
                        accepted
                    };
                    let status = if accepted {
                        "200 OK"
                    } else {
                        "500 Internal Server Error"
                    };
                    let _ = socket
                        .write_all(
                            format!(
                                "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                            )
                            .as_bytes(),
                        )
                        .await;
                });
            }
        });
        Self { url, inner }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().1.clone()
    }

    /// Waits (up to 10 s) until `n` requests have arrived.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("expected {n} requests, got {}", self.received().len());
    }
}

async fn read_request(
    socket: &mut tokio::net::TcpStream,
) -> Option<(BTreeMap<String, String>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers: BTreeMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers.get("content-length")?.parse().ok()?;
    while buf.len() < head_end + len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((headers, buf[head_end..head_end + len].to_vec()))
}

async fn fast_app() -> TestApp {
    spawn_app_with(|c| c.webhook_poll_ms = 50).await
}

pub(crate) async fn create_endpoint(app: &TestApp, url: &str, events: Value) -> (String, String) {
    let res = app
        .post(
            "/v1/webhook_endpoints",
            json!({"url": url, "enabled_events": events}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    (
        res.body["id"].as_str().unwrap().to_owned(),
        res.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn advance(app: &TestApp, seconds: i64) {
    let res = app
        .post(
            "/v1/test_helpers/advance_clock",
            json!({"seconds": seconds}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

async fn attempts(app: &TestApp, endpoint: &str) -> Vec<Value> {
    let res = app
        .get(&format!(
            "/v1/webhook_endpoints/{endpoint}/attempts?limit=100"
        ))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["data"].as_array().unwrap().clone()
}

/// The attempt log once it holds `n` attempts (the receiver answers before the worker
/// records the attempt), waiting up to 10 s.
async fn wait_attempts(app: &TestApp, endpoint: &str, n: usize) -> Vec<Value> {
    for _ in 0..400 {
        let log = attempts(app, endpoint).await;
        if log.len() >= n {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("expected {n} attempts in the log");
}

fn instant(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[tokio::test]
async fn every_event_arrives_signed_and_retries_follow_the_schedule() {
    let app = fast_app().await;
    let receiver = Receiver::start(2).await;
    let (endpoint, secret) = create_endpoint(&app, &receiver.url, json!(["account.created"])).await;

    let account = app.create_seller(json!({"country": "SE"})).await;
    // Attempt 1 fails at once; the retry is due 5 s later on the test clock.
    receiver.wait_for(1).await;
    let log = wait_attempts(&app, &endpoint, 1).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["status_code"], 500);
    let gap = instant(&log[0]["next_retry_at"]) - instant(&log[0]["attempted_at"]);
    assert!(
        (4..=6).contains(&gap.num_seconds()),
        "first retry after 5 s (+jitter): {gap}"
    );
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing before the retry is due"
    );

    advance(&app, 6).await;
    receiver.wait_for(2).await;
    let log = wait_attempts(&app, &endpoint, 2).await;
    assert_eq!(log.len(), 2);
    let gap = instant(&log[0]["next_retry_at"]) - instant(&log[0]["attempted_at"]);
    assert!(
        (299..=331).contains(&gap.num_seconds()),
        "second retry after 5 min: {gap}"
    );

    advance(&app, 331).await;
    let got = receiver.wait_for(3).await;
    let log = wait_attempts(&app, &endpoint, 3).await;
    assert_eq!(log.len(), 3, "newest first: {log:?}");
    assert_eq!(log[0]["status_code"], 200);
    assert!(log[0]["next_retry_at"].is_null());
    assert_eq!(log[0]["object"], "webhook_attempt");
    assert!(log[0]["latency_ms"].as_i64().unwrap() >= 0);
    assert!(got[2].accepted && !got[1].accepted && !got[0].accepted);

    // Every attempt is the same event, signed, with the body GET /v1/events/{id} returns.
    let events = app.get("/v1/events?type=account.created").await.body;
    let event = &events["data"][0];
    assert_eq!(event["data"]["object"]["id"], account["id"]);
    for r in &got {
        assert!(
            r.verifies_with(&secret),
            "signature must verify: {:?}",
            r.headers
        );
        assert_eq!(r.header("webhook-id"), event["id"].as_str().unwrap());
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.json(), *event);
        let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
        assert!(
            (chrono::Utc::now().timestamp() - ts).abs() < 60,
            "real time"
        );
    }

    // Now healthy: every further event arrives once.
    for _ in 0..5 {
        app.create_seller(json!({"country": "SE"})).await;
    }
    let got = receiver.wait_for(8).await;
    let events = app
        .get("/v1/events?type=account.created&limit=100")
        .await
        .body;
    let expected: BTreeSet<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let delivered: BTreeSet<String> = got
        .iter()
        .filter(|r| r.accepted)
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    assert_eq!(expected.len(), 6);
    assert_eq!(delivered, expected);
    assert!(got.iter().all(|r| r.verifies_with(&secret)));

    // For .ci/run: one delivered request, checked again with PyPI's standardwebhooks.
    if let Ok(path) = std::env::var("AGORA_WEBHOOK_SAMPLE") {
        let last = got.last().unwrap();
        let sample = json!({
            "secret": secret,
            "headers": {
                "webhook-id": last.header("webhook-id"),
                "webhook-timestamp": last.header("webhook-timestamp"),
                "webhook-signature": last.header("webhook-signature"),
            },
            "body": String::from_utf8(last.body.clone()).unwrap(),
        });
        if let Some(dir) = std::path::Path::new(&path).parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&path, serde_json::to_vec_pretty(&sample).unwrap()).unwrap();
    }
}

#[tokio::test]
async fn redelivery_and_rotation_send_both_signatures_for_a_day() {
    let app = fast_app().await;
    let receiver = Receiver::start(0).await;
    let (endpoint, old) = create_endpoint(&app, &receiver.url, json!(["account.*"])).await;
    app.create_seller(json!({"country": "SE"})).await;
    let first = receiver.wait_for(1).await.remove(0);
    assert!(first.verifies_with(&old));
    assert_eq!(first.signatures().len(), 1);
    let event = first.header("webhook-id").to_owned();

    let rotated = app
        .post(
            &format!("/v1/webhook_endpoints/{endpoint}/rotate_secret"),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    let shown = app.get(&format!("/v1/webhook_endpoints/{endpoint}")).await;
    assert!(
        shown.body.get("secret").is_none(),
        "the secret is shown only once"
    );

    let res = app
        .post(&format!("/v1/events/{event}/redeliver"), json!({}))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["endpoints"], json!([endpoint]));
    let second = receiver.wait_for(2).await.remove(1);
    assert_eq!(second.header("webhook-id"), event);
    assert_eq!(
        second.signatures().len(),
        2,
        "both secrets sign during rotation"
    );
    assert!(second.verifies_with(&new) && second.verifies_with(&old));

    // After 24 hours only the new secret signs.
    advance(&app, 24 * 3600 + 1).await;
    let res = app
        .post(
            &format!("/v1/events/{event}/redeliver"),
            json!({"endpoint": endpoint}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let third = receiver.wait_for(3).await.remove(2);
    assert_eq!(third.signatures().len(), 1);
    assert!(third.verifies_with(&new) && !third.verifies_with(&old));
    assert_eq!(wait_attempts(&app, &endpoint, 3).await.len(), 3);

    let res = app
        .post(
            "/v1/events/evt_01h455vb4pex5vsknk084sn02q/redeliver",
            json!({}),
        )
        .await;
    res.error(404, "invalid_request_error");
}

#[tokio::test]
async fn modes_are_separate_and_a_disabled_endpoint_gets_nothing() {
    let app = fast_app().await;
    let on = Receiver::start(0).await;
    let off = Receiver::start(0).await;
    let (_, secret) = create_endpoint(&app, &on.url, json!(["*"])).await;
    let (disabled, _) = create_endpoint(&app, &off.url, json!(["*"])).await;
    let res = app
        .post(
            &format!("/v1/webhook_endpoints/{disabled}"),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["disabled"], true);
    // A live endpoint (a public address on the discard port, where nothing answers, which
    // does not matter here; 192.0.2.0/24 is documentation, refused by the guard).
    let live = app
        .send(
            Method::POST,
            "/v1/webhook_endpoints",
            Some(json!({"url": "https://1.1.1.1:9/hook", "enabled_events": ["account.*"]})),
            &app.live_key.clone(),
            &[],
        )
        .await;
    assert_eq!(live.status, 200, "{}", live.body);
    assert_eq!(live.body["livemode"], true);

    let live_account = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(json!({"country": "SE"})),
            &app.live_key.clone(),
            &[],
        )
        .await;
    assert_eq!(live_account.status, 200);
    app.create_seller(json!({"country": "SE"})).await;
    // The test endpoint gets the test events: its own creation, the second endpoint's
    // creation and update, the account; never the live account.
    let got = on.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = on.received();
    assert_eq!(got_now.len(), 4, "{:?}", got.len());
    let kinds: Vec<String> = got_now
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        got_now.iter().all(|r| r.json()["livemode"] == false),
        "{kinds:?}"
    );
    assert!(got_now.iter().all(|r| r.verifies_with(&secret)));
    assert!(kinds.contains(&"account.created".to_owned()), "{kinds:?}");
    // A disabled endpoint gets nothing from the moment it is disabled. Its own creation event
    // was due to it while it was still enabled, and a fast worker may deliver that one before
    // the disabling request lands: that is the only event it may have seen.
    let off_got: Vec<Value> = off.received().iter().map(|r| r.json()).collect();
    assert!(
        off_got
            .iter()
            .all(|e| e["type"] == "webhook_endpoint.created"
                && e["data"]["object"]["id"].as_str() == Some(disabled.as_str())),
        "a disabled endpoint gets nothing: {off_got:?}"
    );

    // The live endpoint's deliveries are all of live events.
    use agora_platform::domain::webhooks::entity::delivery;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let live_id = agora_platform::infra::wire::ids::decode(
        agora_platform::infra::wire::ids::IdKind::WebhookEndpoint,
        live.body["id"].as_str().unwrap(),
    )
    .unwrap();
    let rows = delivery::Entity::find()
        .filter(delivery::Column::EndpointId.eq(live_id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "only the live account.created");
    assert!(rows.iter().all(|r| r.livemode));
}

#[tokio::test]
async fn endpoints_api_validates_and_guards_against_ssrf() {
    let app = fast_app().await;
    let live = app.live_key.clone();
    for url in [
        "https://127.0.0.1/x",
        "https://10.0.0.1/x",
        "https://169.254.169.254/x",
        "https://[::1]/x",
        "https://localhost/x",
        "http://192.0.2.1/x",
    ] {
        let res = app
            .send(
                Method::POST,
                "/v1/webhook_endpoints",
                Some(json!({"url": url, "enabled_events": ["*"]})),
                &live,
                &[],
            )
            .await;
        let error = res.error(400, "invalid_request_error");
        assert_eq!(error["param"], "url", "{url}: {}", res.body);
    }
    // Test mode may use http and localhost, for local development.
    let (id, _) = create_endpoint(&app, "http://localhost:9/x", json!(["*"])).await;
    assert!(id.starts_with("we_"));

    let res = app
        .post(
            "/v1/webhook_endpoints",
            json!({"url": "http://localhost:9/x", "enabled_events": ["*", "Bad Pattern"]}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["param"],
        "enabled_events[1]"
    );
    let res = app
        .post(
            "/v1/webhook_endpoints",
            json!({"url": "http://localhost:9/x", "enabled_events": []}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["param"],
        "enabled_events"
    );
    let res = app
        .post(
            "/v1/webhook_endpoints",
            json!({"url": "http://localhost:9/x", "enabled_events": ["*"], "extra": 1}),
        )
        .await;
    res.error(400, "invalid_request_error");

    // Updating the URL is checked the same way (live endpoint, private address).
    let live_ep = app
        .send(
            Method::POST,
            "/v1/webhook_endpoints",
            // A public address (192.0.2.0/24 is documentation, refused); nothing is sent to
            // it in this test: no payout is paid.
            Some(json!({"url": "https://1.1.1.1/hook", "enabled_events": ["payout.paid"]})),
            &live,
            &[],
        )
        .await;
    let live_id = live_ep.body["id"].as_str().unwrap();
    let res = app
        .send(
            Method::POST,
            &format!("/v1/webhook_endpoints/{live_id}"),
            Some(json!({"url": "https://10.0.0.1/x"})),
            &live,
            &[],
        )
        .await;
    assert_eq!(res.error(400, "invalid_request_error")["param"], "url");
    // The other mode's endpoint is a 404.
    app.get(&format!("/v1/webhook_endpoints/{live_id}"))
        .await
        .error(404, "invalid_request_error");

    // Update, list, delete, limit.
    let res = app
        .post(
            &format!("/v1/webhook_endpoints/{id}"),
            json!({"description": "orders", "metadata": {"team": "a"}, "enabled_events": ["charge.*"]}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["description"], "orders");
    assert_eq!(res.body["enabled_events"], json!(["charge.*"]));
    for _ in 0..19 {
        create_endpoint(&app, "http://localhost:9/x", json!(["charge.*"])).await;
    }
    let res = app
        .post(
            "/v1/webhook_endpoints",
            json!({"url": "http://localhost:9/x", "enabled_events": ["*"]}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "limit_exceeded"
    );
    let page = app.get("/v1/webhook_endpoints?limit=15").await.body;
    assert_eq!(page["data"].as_array().unwrap().len(), 15);
    assert_eq!(page["has_more"], true);
    let last = page["data"][14]["id"].as_str().unwrap();
    let rest = app
        .get(&format!("/v1/webhook_endpoints?starting_after={last}"))
        .await
        .body;
    assert_eq!(rest["data"].as_array().unwrap().len(), 5);

    let res = app
        .call(Method::DELETE, &format!("/v1/webhook_endpoints/{id}"), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.body,
        json!({"id": id, "object": "webhook_endpoint", "deleted": true})
    );
    app.get(&format!("/v1/webhook_endpoints/{id}"))
        .await
        .error(404, "invalid_request_error");
}

#[tokio::test]
async fn an_event_written_before_a_crash_is_delivered_after_restart() {
    // The first server delivers nothing: as if it died right after the events committed.
    let app = spawn_app_with(|c| c.webhook_worker = false).await;
    let receiver = Receiver::start(0).await;
    let (endpoint, secret) = create_endpoint(&app, &receiver.url, json!(["account.created"])).await;
    let a = app.create_seller(json!({"country": "SE"})).await;
    let b = app.create_seller(json!({"country": "SE"})).await;
    // A worker claimed b's delivery and crashed mid-attempt: its claim holds for 60 s.
    use agora_platform::domain::webhooks::entity::delivery;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let events = app.get("/v1/events?type=account.created").await.body;
    let event_of = |account: &Value| {
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["data"]["object"]["id"] == account["id"])
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (event_a, event_b) = (event_of(&a), event_of(&b));
    let b_uuid = agora_platform::infra::wire::ids::decode(
        agora_platform::infra::wire::ids::IdKind::Event,
        &event_b,
    )
    .unwrap();
    let now = agora_platform::infra::clock::now(&app.db, false)
        .await
        .unwrap();
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LockedUntil,
            Expr::value(now + chrono::Duration::seconds(60)),
        )
        .filter(delivery::Column::EventId.eq(b_uuid))
        .exec(&app.db)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());

    app.start_another(|c| {
        c.webhook_worker = true;
        c.webhook_poll_ms = 50;
    })
    .await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].header("webhook-id"), event_a);
    assert!(got[0].verifies_with(&secret));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "b is still claimed");
    // The crashed worker's claim expires; the attempt is made again.
    advance(&app, 61).await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].header("webhook-id"), event_b);
    assert_eq!(wait_attempts(&app, &endpoint, 2).await.len(), 2);
}

#[tokio::test]
async fn three_days_of_failures_disable_the_endpoint_and_email_the_operator() {
    let app = spawn_app_with(|c| {
        c.webhook_poll_ms = 50;
        c.operator_email = Some("ops@example.se".to_owned());
    })
    .await;
    let receiver = Receiver::start(usize::MAX).await;
    let (endpoint, _) = create_endpoint(&app, &receiver.url, json!(["account.created"])).await;
    app.create_seller(json!({"country": "SE"})).await;
    receiver.wait_for(1).await;
    // Every step of 11 h makes exactly one retry due (no delay is longer than 10 h + 10 %);
    // the last comes at the 3-day deadline.
    let mut n = 1;
    while n < 20 {
        wait_attempts(&app, &endpoint, n).await;
        let shown = app
            .get(&format!("/v1/webhook_endpoints/{endpoint}"))
            .await
            .body;
        if shown["disabled"] == true {
            break;
        }
        advance(&app, 11 * 3600).await;
        n += 1;
        receiver.wait_for(n).await;
    }
    let shown = app
        .get(&format!("/v1/webhook_endpoints/{endpoint}"))
        .await
        .body;
    assert_eq!(shown["disabled"], true, "{shown}");
    assert_eq!(n, 8, "attempts at 0, 11, 22, 33, 44, 55, 66 and 77 h");
    let log = attempts(&app, &endpoint).await;
    assert!(log[0]["next_retry_at"].is_null(), "given up: {}", log[0]);
    let events = app
        .get("/v1/events?type=webhook_endpoint.disabled")
        .await
        .body;
    assert_eq!(events["data"][0]["data"]["object"]["id"], endpoint.as_str());
    let mails = crate::helpers::outbox(&app, 1).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(
        mail.contains("ops@example.se") && mail.contains(&endpoint),
        "{mail}"
    );
    // Disabled: later events are not even queued.
    app.create_seller(json!({"country": "SE"})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 8);
}

#[tokio::test]
async fn unknown_event_types_are_refused_by_name() {
    let app = fast_app().await;
    let refused = |res: &crate::helpers::Response, param: &str, named: &str, hint: &str| {
        let error = res.error(400, "invalid_request_error");
        assert_eq!(error["code"], "parameter_invalid", "{}", res.body);
        assert_eq!(error["param"], param, "{}", res.body);
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(named), "{message}");
        assert!(message.contains(hint), "{message}");
    };
    let res = app
        .post(
            "/v1/webhook_endpoints",
            json!({"url": "http://localhost:9/x", "enabled_events": ["charge.sucseeded"]}),
        )
        .await;
    refused(
        &res,
        "enabled_events[0]",
        "'charge.sucseeded' is not an event type",
        "Did you mean 'charge.succeeded'?",
    );
    // A prefix must match at least one known type.
    let res = app
        .post(
            "/v1/webhook_endpoints",
            json!({"url": "http://localhost:9/x", "enabled_events": ["payout.paid", "charges.*"]}),
        )
        .await;
    refused(
        &res,
        "enabled_events[1]",
        "'charges.*' matches no event type",
        "Did you mean 'charge.*'?",
    );
    assert_eq!(
        app.get("/v1/webhook_endpoints").await.body["data"],
        json!([]),
        "nothing was created"
    );

    // What is known is accepted: `*`, exact types, prefixes of one or more segments.
    let (id, _) = create_endpoint(
        &app,
        "http://localhost:9/x",
        json!([
            "charge.dispute.*",
            "payout.paid",
            "account.external_account.*"
        ]),
    )
    .await;
    // An update is checked the same way and changes nothing when refused.
    let res = app
        .post(
            &format!("/v1/webhook_endpoints/{id}"),
            json!({"enabled_events": ["*", "payout.payed"]}),
        )
        .await;
    refused(
        &res,
        "enabled_events[1]",
        "'payout.payed' is not an event type",
        "Did you mean 'payout.paid'?",
    );
    let endpoint = app.get(&format!("/v1/webhook_endpoints/{id}")).await.body;
    assert_eq!(
        endpoint["enabled_events"],
        json!([
            "charge.dispute.*",
            "payout.paid",
            "account.external_account.*"
        ])
    );
    let res = app
        .post(
            &format!("/v1/webhook_endpoints/{id}"),
            json!({"enabled_events": ["invoice.paid"]}),
        )
        .await;
    refused(
        &res,
        "enabled_events[0]",
        "'invoice.paid' is not an event type",
        "Event types begin with account.*, capability.*",
    );
}

/// A receiver that answers 200 after `delay`, and while `hold` is set not at all; it counts
/// the requests in flight at once.
#[derive(Clone)]
struct Gate {
    url: String,
    delay: Duration,
    hold: tokio::sync::watch::Sender<bool>,
    stats: Arc<Mutex<GateStats>>,
}

#[derive(Default, Debug)]
struct GateStats {
    in_flight: usize,
    max_in_flight: usize,
    /// Event ids, in order of arrival.
    arrived: Vec<String>,
    answered: usize,
}

impl Gate {
    async fn start(delay: Duration, hold: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hook",
            listener.local_addr().unwrap().port()
        );
        let (hold, _) = tokio::sync::watch::channel(hold);
        let gate = Self {
            url,
            delay,
            hold,
            stats: Arc::new(Mutex::new(GateStats::default())),
        };
        let server = gate.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let gate = server.clone();
                tokio::spawn(async move {
                    // Keep-alive: one connection carries many requests.
                    while let Some((headers, _)) = read_request(&mut socket).await {
                        {
                            let mut s = gate.stats.lock().unwrap();
                            s.in_flight += 1;
                            s.max_in_flight = s.max_in_flight.max(s.in_flight);
                            s.arrived
                                .push(headers.get("webhook-id").cloned().unwrap_or_default());
                        }
                        let mut hold = gate.hold.subscribe();
                        let _ = hold.wait_for(|held| !held).await;
                        tokio::time::sleep(gate.delay).await;
                        {
                            let mut s = gate.stats.lock().unwrap();
                            s.in_flight -= 1;
                            s.answered += 1;
                        }
                        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if socket.write_all(ok).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        gate
    }

    fn release(&self) {
        self.hold.send_replace(false);
    }

    fn stats<T>(&self, f: impl FnOnce(&GateStats) -> T) -> T {
        f(&self.stats.lock().unwrap())
    }

    /// Waits (up to `secs`) until `n` requests have been answered.
    async fn wait_answered(&self, n: usize, secs: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while self.stats(|s| s.answered) < n {
            assert!(
                std::time::Instant::now() < deadline,
                "expected {n} answered requests: {:?}",
                self.stats.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Creates `n` sellers (one `account.created` event each), 4 at a time.
async fn create_sellers(app: &TestApp, n: usize) {
    let mut created = 0;
    while created < n {
        let batch = (n - created).min(4);
        futures_util::future::join_all(
            (0..batch).map(|_| app.create_seller(json!({"country": "SE"}))),
        )
        .await;
        created += batch;
    }
}

#[tokio::test]
async fn an_endpoint_never_has_more_than_its_cap_in_flight() {
    let app = spawn_app_with(|c| {
        c.webhook_max_per_endpoint = 3;
        c.webhook_poll_ms = 50;
    })
    .await;
    let gate = Gate::start(Duration::ZERO, true).await;
    create_endpoint(&app, &gate.url, json!(["account.created"])).await;
    create_sellers(&app, 10).await;
    // The receiver holds every request: the worker fills the cap and waits.
    for _ in 0..200 {
        if gate.stats(|s| s.in_flight) == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(gate.stats(|s| s.in_flight), 3, "the cap is filled and held");
    gate.release();
    gate.wait_answered(10, 20).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    gate.stats(|s| {
        assert_eq!(s.max_in_flight, 3, "never more than the cap: {s:?}");
        let distinct: BTreeSet<&String> = s.arrived.iter().collect();
        assert_eq!(distinct.len(), 10, "every event once: {s:?}");
        assert_eq!(s.arrived.len(), 10, "none twice: {s:?}");
    });
}

#[tokio::test]
async fn a_new_event_wakes_the_worker_without_waiting_for_the_poll() {
    // The fallback poll is a minute away: only the commit's wake-up can be this quick.
    let app = spawn_app_with(|c| c.webhook_poll_ms = 60_000).await;
    let gate = Gate::start(Duration::ZERO, false).await;
    create_endpoint(&app, &gate.url, json!(["account.created"])).await;
    for n in 1..=3 {
        let started = std::time::Instant::now();
        app.create_seller(json!({"country": "SE"})).await;
        gate.wait_answered(n, 10).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "delivered {:?} after the commit",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_slow_endpoint_does_not_hold_back_a_fast_one() {
    let app = spawn_app_with(|c| {
        c.webhook_max_per_endpoint = 2;
        c.webhook_poll_ms = 50;
    })
    .await;
    let slow = Gate::start(Duration::from_secs(2), false).await;
    let fast = Gate::start(Duration::ZERO, false).await;
    create_endpoint(&app, &slow.url, json!(["account.created"])).await;
    create_endpoint(&app, &fast.url, json!(["account.created"])).await;
    let started = std::time::Instant::now();
    create_sellers(&app, 10).await;
    fast.wait_answered(10, 10).await;
    // Ten at two in flight and 2 s each take the slow one 10 s; the fast one did not wait.
    let fast_took = started.elapsed();
    let slow_answered = slow.stats(|s| s.answered);
    assert!(
        slow_answered < 10,
        "the slow one is still busy ({slow_answered} answered)"
    );
    assert!(
        fast_took < Duration::from_secs(8),
        "the fast one took {fast_took:?}"
    );
    assert!(slow.stats(|s| s.max_in_flight) <= 2);
    // The slow one gets everything too, in its own time.
    slow.wait_answered(10, 30).await;
}

/// Issue #15: a test key must not turn webhook endpoints into an internal port scanner. Without
/// `webhook_allow_private_targets`, test mode refuses the same addresses as live mode (only
/// `http` is still allowed), at create and at update, and nothing is stored.
#[tokio::test]
async fn test_mode_endpoints_cannot_reach_internal_addresses() {
    let app = spawn_app_with(|c| c.webhook_allow_private_targets = false).await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:6379/",
        "http://localhost:9/x",
        "http://[::1]:9/x",
        "http://10.0.0.1/x",
        "http://192.168.1.1/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0x7f.1/x",
        "http://2130706433/x",
        "http://[64:ff9b::a9fe:a9fe]/x",
        "http://[2002:7f00:1::1]/x",
    ] {
        let res = app
            .post(
                "/v1/webhook_endpoints",
                json!({"url": url, "enabled_events": ["*"]}),
            )
            .await;
        let error = res.error(400, "invalid_request_error");
        assert_eq!(error["param"], "url", "{url}: {}", res.body);
        assert_eq!(error["code"], "url_invalid", "{url}: {}", res.body);
    }
    let list = app.get("/v1/webhook_endpoints").await.body;
    assert_eq!(list["data"], json!([]), "nothing was created");

    // A public address is fine, over http too in test mode; changing it to an internal one
    // is refused and leaves it as it was.
    let (id, _) = create_endpoint(&app, "http://1.1.1.1/hook", json!(["payout.paid"])).await;
    for url in ["http://127.0.0.1:6379/", "http://localhost/x"] {
        let res = app
            .post(
                &format!("/v1/webhook_endpoints/{id}"),
                json!({ "url": url }),
            )
            .await;
        assert_eq!(res.error(400, "invalid_request_error")["param"], "url");
    }
    let endpoint = app.get(&format!("/v1/webhook_endpoints/{id}")).await.body;
    assert_eq!(endpoint["url"], "http://1.1.1.1/hook");
}

/// Issue #15: the guard holds again at delivery, in test mode too: an endpoint saved while the
/// operator allowed private targets (or a name whose DNS changed since) is not contacted once
/// they are forbidden, whether its URL names the address or a host that resolves to it.
#[tokio::test]
async fn a_test_endpoint_on_an_internal_address_is_not_contacted_at_delivery() {
    // The first server allows private targets (the suite's default) and delivers nothing.
    let app = spawn_app_with(|c| c.webhook_worker = false).await;
    let receiver = Receiver::start(0).await;
    let (by_address, _) = create_endpoint(&app, &receiver.url, json!(["account.created"])).await;
    let by_name_url = receiver.url.replace("127.0.0.1", "localhost");
    let (by_name, _) = create_endpoint(&app, &by_name_url, json!(["account.created"])).await;
    app.create_seller(json!({"country": "SE"})).await;

    // The next process forbids them.
    app.start_another(|c| {
        c.webhook_worker = true;
        c.webhook_poll_ms = 50;
        c.webhook_allow_private_targets = false;
    })
    .await;
    for endpoint in [&by_address, &by_name] {
        let log = wait_attempts(&app, endpoint, 1).await;
        assert_eq!(log[0]["status_code"], Value::Null, "{}", log[0]);
        let error = log[0]["error"].as_str().unwrap_or_default();
        assert!(error.contains("private"), "{endpoint}: {error}");
        assert!(
            !log[0]["next_retry_at"].is_null(),
            "retried later: {}",
            log[0]
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty(), "the receiver was reached");
}
