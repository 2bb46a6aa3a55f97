//! One clock per mode: once the test clock has moved, every test-mode object and event carries
//! the test clock's time, never the real time.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

/// The smallest valid PNG: a 1×1 pixel.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\xa7\xa5\x9b\x8f\0\0\0\0IEND\xaeB`\x82";

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

fn instant(v: &Value) -> DateTime<Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("a timestamp: {v}"));
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

async fn ok(app: &TestApp, path: &str, body: Value) -> Value {
    let res = app.post(path, body).await;
    assert_eq!(res.status, 200, "{path}: {}", res.body);
    res.body
}

async fn advance(app: &TestApp, seconds: i64) -> DateTime<Utc> {
    let res = ok(
        app,
        "/v1/test_helpers/advance_clock",
        json!({ "seconds": seconds }),
    )
    .await;
    instant(&res["now"])
}

#[tokio::test]
async fn test_mode_objects_and_events_carry_the_test_clock() {
    let app = spawn_app_with(|c| {
        c.document_review = agora_platform::domain::kyc::DocumentReview::Manual;
        c.payout_worker = false;
    })
    .await;
    let real_start = Utc::now();
    let start = advance(&app, 10 * 86_400).await;
    assert!(start - real_start > Duration::days(10) - Duration::minutes(1));

    let endpoint = ok(
        &app,
        "/v1/webhook_endpoints",
        json!({"url": "http://localhost:9/hooks", "enabled_events": ["*"]}),
    )
    .await;
    let rule = ok(
        &app,
        "/v1/fee_rules",
        json!({"priority": 10, "percent": "5", "conditions": {"currencies": ["eur"]}}),
    )
    .await;
    let account = app
        .create_seller(json!({"country": "SE", "settlement_delay_days": 0}))
        .await;
    let acct = id(&account);
    ok(
        &app,
        &format!("/v1/accounts/{acct}"),
        json!({"individual": {"phone": "+46701234567", "address": {"line1": "Storgatan 1", "city": "Stockholm", "postal_code": "111 22"}}}),
    )
    .await;
    let bank = ok(
        &app,
        &format!("/v1/accounts/{acct}/external_accounts"),
        json!({"country": "SE", "currency": "eur", "iban": "SE4550000000058398257466"}),
    )
    .await;
    // A document waits for the operator: a file, a review opened and closed.
    let form = reqwest::multipart::Form::new()
        .text("purpose", "identity_document")
        .part(
            "file",
            reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("passport.png"),
        );
    let file: Value = app
        .client
        .post(format!("{}/v1/files", app.address))
        .bearer_auth(&app.test_key)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ok(
        &app,
        &format!("/v1/accounts/{acct}"),
        json!({"individual": {"verification": {"document": id(&file)}}}),
    )
    .await;
    let queue = app.get("/v1/reviews?status=open").await.body;
    let review = ok(
        &app,
        &format!("/v1/reviews/{}/approve", id(&queue["data"][0])),
        json!({}),
    )
    .await;
    let charge = ok(
        &app,
        "/v1/charges",
        json!({"amount": 10000, "currency": "eur", "destination": acct, "payment_method": "pm_card_visa"}),
    )
    .await;
    let refund = ok(
        &app,
        "/v1/refunds",
        json!({"charge": charge["id"], "amount": 1000}),
    )
    .await;
    // Settlement makes the seller's and the platform's shares available.
    advance(&app, 1).await;
    let transfer = ok(
        &app,
        "/v1/transfers",
        json!({"amount": 100, "currency": "eur", "destination": acct}),
    )
    .await;
    let payout = ok(
        &app,
        "/v1/payouts",
        json!({"amount": 5000, "currency": "eur", "account": acct}),
    )
    .await;
    let link = ok(
        &app,
        "/v1/account_links",
        json!({"account": acct, "type": "account_onboarding",
               "refresh_url": "https://platform.example/refresh",
               "return_url": "https://platform.example/return"}),
    )
    .await;
    let end = advance(&app, 1).await;

    // Timestamps are whole seconds: allow one either side.
    let within = |what: &str, t: DateTime<Utc>| {
        assert!(
            t >= start - Duration::seconds(1) && t <= end + Duration::seconds(1),
            "{what} at {t}: not on the test clock ({start} … {end})"
        );
    };
    for (what, object) in [
        ("webhook endpoint", &endpoint),
        ("fee rule", &rule),
        ("account", &account),
        ("bank account", &bank),
        ("file", &file),
        ("review", &review),
        ("charge", &charge),
        ("refund", &refund),
        ("transfer", &transfer),
        ("payout", &payout),
    ] {
        within(what, instant(&object["created"]));
    }
    within("review closed", instant(&review["closed"]));
    within("account link", instant(&link["created"]));
    let ttl = (instant(&link["expires_at"]) - instant(&link["created"])).num_seconds();
    assert_eq!(ttl, i64::try_from(app.config.account_link_ttl_s).unwrap());
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    within("account", instant(&account["created"]));
    let events = app.get("/v1/events?limit=100").await.body;
    let events = events["data"].as_array().unwrap();
    let mut kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in [
        "webhook_endpoint.created",
        "fee_rule.created",
        "account.created",
        "account.updated",
        "capability.updated",
        "account.external_account.created",
        "review.opened",
        "review.closed",
        "charge.succeeded",
        "charge.refunded",
        "balance.available",
        "transfer.created",
        "payout.created",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    for event in events {
        let created = instant(&event["created"]);
        within(&format!("event {}", event["type"]), created);
        // The event and the object it carries were made at the same moment.
        if let Some(object_created) = event["data"]["object"]["created"].as_str() {
            let object_created = instant(&json!(object_created));
            let kind = event["type"].as_str().unwrap();
            if kind.ends_with(".created") || kind == "charge.succeeded" {
                assert!(
                    (created - object_created).num_seconds().abs() <= 60,
                    "{kind}: event {created}, object {object_created}"
                );
            }
        }
    }
    // The link expires by the test clock too: past its expiry it leads to refresh_url.
    advance(&app, ttl + 1).await;
    let opened = app
        .client
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 303);
    assert_eq!(
        opened.headers()["location"],
        "https://platform.example/refresh"
    );
}

/// Issue #15: the test clock can be at most 10 years ahead of real time, so `now + offset`
/// can never overflow (it panicked there, in every test-mode request, after enough advances).
/// An advance past the cap is a 400 naming `seconds` and moves nothing.
#[tokio::test]
async fn the_test_clock_is_never_more_than_ten_years_ahead() {
    let app = spawn_app_with(|c| c.payout_worker = false).await;
    let year = 366 * 86_400;
    let mut now = Utc::now();
    // 9 × 366 days = 3,294 days ahead: within the cap (3,653 days).
    for _ in 0..9 {
        now = advance(&app, year).await;
    }
    let res = app
        .post("/v1/test_helpers/advance_clock", json!({ "seconds": year }))
        .await;
    let error = res.error(400, "invalid_request_error");
    assert_eq!(error["param"], "seconds", "{}", res.body);
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("10 years"), "{message}");
    // Nothing moved: a day more lands a day after the last advance.
    let after = advance(&app, 86_400).await;
    assert!(after - now >= Duration::days(1), "{now} → {after}");
    assert!(
        after - now < Duration::days(1) + Duration::minutes(1),
        "{now} → {after}"
    );
}

/// An offset stored beyond the cap (by an older version, or by hand) is read as the cap: the
/// mode keeps working instead of panicking on every request, and advancing it is a 400.
#[tokio::test]
async fn an_offset_beyond_the_cap_is_read_as_the_cap() {
    use agora_platform::infra::clock::entity as clock_offset;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let app = spawn_app_with(|c| c.payout_worker = false).await;
    advance(&app, 1).await;
    clock_offset::ActiveModel {
        livemode: Set(false),
        offset_seconds: Set(i64::MAX / 2),
    }
    .update(&app.db)
    .await
    .expect("offset stored");
    let res = app
        .post("/v1/test_helpers/advance_clock", json!({ "seconds": 1 }))
        .await;
    assert_eq!(res.error(400, "invalid_request_error")["param"], "seconds");
    let seller = app.create_seller(json!({"country": "SE"})).await;
    let created = instant(&seller["created"]);
    let ahead = created - Utc::now();
    assert!(ahead > Duration::days(3650), "{created}");
    assert!(ahead <= Duration::days(3653), "{created}");
}
