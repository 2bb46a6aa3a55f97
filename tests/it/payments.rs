//! Money flows end to end over HTTP, checked against DESIGN.md's table, with the ledger
//! verified after each.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Response, TestApp};

async fn verify(app: &TestApp) {
    let report = agora_ledger::verify::verify(&app.db).await.unwrap();
    assert!(report.is_ok(), "ledger broken: {:#?}", report.problems);
}

async fn seller(app: &TestApp) -> String {
    app.create_seller(json!({"country": "DE"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn charge(app: &TestApp, body: Value) -> Value {
    let res = app.post("/v1/charges", body).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

/// (available, pending) in `currency` for the platform, or a seller with Some(acct).
async fn balance(app: &TestApp, account: Option<&str>, currency: &str) -> (i64, i64) {
    let headers: Vec<(&str, &str)> = account
        .map(|a| vec![("agora-account", a)])
        .unwrap_or_default();
    let res = app
        .send(Method::GET, "/v1/balance", None, &app.test_key, &headers)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let pick = |side: &str| {
        res.body[side]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["currency"] == currency)
            .map_or(0, |b| b["amount"].as_i64().unwrap())
    };
    (pick("available"), pick("pending"))
}

async fn events_of(app: &TestApp, kind: &str) -> Vec<Value> {
    app.get(&format!("/v1/events?type={kind}&limit=100"))
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn advance(app: &TestApp, seconds: i64) -> Response {
    app.post(
        "/v1/test_helpers/advance_clock",
        json!({"seconds": seconds}),
    )
    .await
}

#[tokio::test]
async fn a_captured_charge_splits_fee_and_seller_share() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let c = charge(
        &app,
        json!({"amount": 10000, "currency": "eur", "destination": s, "application_fee_amount": 1000,
               "payment_method": "pm_card_visa", "description": "order 1", "transfer_group": "order-1", "metadata": {"order": "1"}}),
    )
    .await;
    assert!(c["id"].as_str().unwrap().starts_with("ch_"));
    assert_eq!(
        (c["status"].as_str(), c["captured"].as_bool()),
        (Some("succeeded"), Some(true))
    );
    assert_eq!(
        (
            c["amount_captured"].as_i64(),
            c["application_fee_amount"].as_i64()
        ),
        (Some(10000), Some(1000))
    );
    assert_eq!(c["destination"], s.as_str());
    assert_eq!(
        c["splits"],
        json!([{"destination": s, "amount": 10000, "application_fee_amount": 1000,
                "application_fee_tax_amount": 0, "fee_rule": null, "fee_rule_version": null}])
    );
    assert!(c["available_on"].is_string());

    // Dr clearing 100 · Cr seller.pending 90 · Cr platform.pending 10
    assert_eq!(balance(&app, Some(&s), "eur").await, (0, 9000));
    assert_eq!(balance(&app, None, "eur").await, (0, 1000));
    let clearing = agora_ledger::journal::balances(
        &app.db,
        false,
        agora_ledger::AccountRef::platform(
            agora_ledger::AccountKind::Clearing,
            agora_ledger::Currency::parse("eur").unwrap(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(clearing.posted(agora_ledger::AccountKind::Clearing), 10000);
    assert_eq!(events_of(&app, "charge.succeeded").await.len(), 1);
    assert_eq!(
        app.get(&format!("/v1/charges/{}", c["id"].as_str().unwrap()))
            .await
            .body,
        c
    );
    // The seller sees its charge; the list filters work.
    let mine = app
        .send(
            Method::GET,
            "/v1/charges",
            None,
            &app.test_key,
            &[("agora-account", &s)],
        )
        .await;
    assert_eq!(mine.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/v1/charges?transfer_group=order-1").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get("/v1/charges?transfer_group=other").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get("/v1/charges?created[gte]=2000-01-01T00:00:00Z")
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get("/v1/charges?created[lte]=2000-01-01T00:00:00Z")
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get("/v1/charges?created[gte]=yesterday")
            .await
            .error(400, "invalid_request_error")["param"],
        "created[gte]"
    );
    verify(&app).await;
}

#[tokio::test]
async fn declined_cards_record_only_the_failed_charge() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    for (token, code) in [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_insufficientFunds", "insufficient_funds"),
    ] {
        let body =
            json!({"amount": 5000, "currency": "eur", "destination": s, "payment_method": token});
        let res = app
            .send(
                Method::POST,
                "/v1/charges",
                Some(body.clone()),
                &app.test_key,
                &[("idempotency-key", token)],
            )
            .await;
        let error = res.error(402, "card_error");
        assert_eq!(error["code"], code);
        let id = error["charge"].as_str().unwrap().to_owned();
        let failed = app.get(&format!("/v1/charges/{id}")).await.body;
        assert_eq!(
            (failed["status"].as_str(), failed["failure_code"].as_str()),
            (Some("failed"), Some(code))
        );
        assert_eq!(failed["amount_captured"], 0);
        // A retry replays the decline; it does not charge again.
        let again = app
            .send(
                Method::POST,
                "/v1/charges",
                Some(body),
                &app.test_key,
                &[("idempotency-key", token)],
            )
            .await;
        assert_eq!(
            (again.status.as_u16(), again.header("idempotent-replayed")),
            (402, Some("true"))
        );
    }
    assert_eq!(events_of(&app, "charge.failed").await.len(), 2);
    assert_eq!(balance(&app, Some(&s), "eur").await, (0, 0));
    let report = agora_ledger::verify::verify(&app.db).await.unwrap();
    assert_eq!(report.entries, 0, "no money moved");
}

#[tokio::test]
async fn bad_charges_name_the_param_and_change_nothing() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let other_mode = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(crate::helpers::seller_body(json!({"country": "SE"}))),
            &app.live_key,
            &[],
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (body, param) in [
        (
            json!({"amount": 0, "currency": "eur", "destination": s, "payment_method": "pm_card_visa"}),
            "amount",
        ),
        (
            json!({"amount": -5, "currency": "eur", "destination": s, "payment_method": "pm_card_visa"}),
            "amount",
        ),
        (
            json!({"amount": 100, "currency": "eurr", "destination": s, "payment_method": "pm_card_visa"}),
            "currency",
        ),
        (
            json!({"amount": 100, "currency": "eur", "payment_method": "pm_card_visa"}),
            "destination",
        ),
        (
            json!({"amount": 100, "currency": "eur", "destination": other_mode, "payment_method": "pm_card_visa"}),
            "destination",
        ),
        (
            json!({"amount": 100, "currency": "eur", "destination": s, "application_fee_amount": 101, "payment_method": "pm_card_visa"}),
            "application_fee_amount",
        ),
        (
            json!({"amount": 100, "currency": "eur", "destination": s, "payment_method": "pm_card_unknown"}),
            "payment_method",
        ),
        (
            json!({"amount": 100, "currency": "eur", "destination": s, "payment_method": {"type": "external"}}),
            "payment_method.reference",
        ),
        (
            json!({"amount": 100, "currency": "eur", "destination": s}),
            "payment_method",
        ),
        (
            json!({"amount": 100, "currency": "eur", "splits": [{"destination": s, "amount": 60}], "payment_method": "pm_card_visa"}),
            "splits",
        ),
        (
            json!({"amount": 100, "currency": "eur", "splits": [{"destination": s, "amount": 60}, {"destination": "acct_01h455vb4pex5vsknk084sn02q", "amount": 40}], "payment_method": "pm_card_visa"}),
            "splits[1].destination",
        ),
        (
            json!({"amount": 1.5, "currency": "eur", "destination": s, "payment_method": "pm_card_visa"}),
            "amount",
        ),
    ] {
        let res = app.post("/v1/charges", body.clone()).await;
        assert_eq!(
            res.error(400, "invalid_request_error")["param"],
            param,
            "{body}"
        );
    }
    assert_eq!(app.get("/v1/charges").await.body["data"], json!([]));
    assert_eq!(
        agora_ledger::verify::verify(&app.db).await.unwrap().entries,
        0
    );
    // Platform keys only.
    let res = app
        .send(Method::POST, "/v1/charges", Some(json!({"amount": 100, "currency": "eur", "destination": s, "payment_method": "pm_card_visa"})), &app.test_key, &[("agora-account", &s)])
        .await;
    res.error(403, "permission_error");
    // A test token with a live key is refused; an external payment works in live mode.
    let live = app
        .send(Method::POST, "/v1/charges", Some(json!({"amount": 100, "currency": "sek", "destination": other_mode, "payment_method": "pm_card_visa"})), &app.live_key, &[])
        .await;
    assert_eq!(
        live.error(400, "invalid_request_error")["code"],
        "test_token_in_live_mode"
    );
    let live = app
        .send(
            Method::POST,
            "/v1/charges",
            Some(json!({"amount": 100, "currency": "sek", "destination": other_mode, "payment_method": {"type": "external", "reference": "psp_123"}})),
            &app.live_key,
            &[],
        )
        .await;
    assert_eq!(live.status, 200, "{}", live.body);
    assert_eq!(
        (
            live.body["livemode"].as_bool(),
            live.body["payment_method_reference"].as_str()
        ),
        (Some(true), Some("psp_123"))
    );
    verify(&app).await;
}

#[tokio::test]
async fn authorise_then_capture_part() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let c = charge(&app, json!({"amount": 10000, "currency": "eur", "destination": s, "application_fee_amount": 1000, "payment_method": "pm_card_visa", "capture": false})).await;
    let id = c["id"].as_str().unwrap();
    assert_eq!(
        (
            c["status"].as_str(),
            c["captured"].as_bool(),
            c["amount_captured"].as_i64()
        ),
        (Some("pending"), Some(false), Some(0))
    );
    assert_eq!(
        balance(&app, Some(&s), "eur").await,
        (0, 0),
        "authorised money is not yet the seller's"
    );
    verify(&app).await;

    let res = app
        .post(
            &format!("/v1/charges/{id}/capture"),
            json!({"amount": 10001}),
        )
        .await;
    assert_eq!(res.error(400, "invalid_request_error")["param"], "amount");
    let res = app
        .post(
            &format!("/v1/charges/{id}/capture"),
            json!({"amount": 6000}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        (
            res.body["status"].as_str(),
            res.body["amount_captured"].as_i64(),
            res.body["application_fee_amount"].as_i64()
        ),
        (Some("succeeded"), Some(6000), Some(600))
    );
    assert_eq!(balance(&app, Some(&s), "eur").await, (0, 5400));
    assert_eq!(balance(&app, None, "eur").await, (0, 600));
    let res = app
        .post(&format!("/v1/charges/{id}/capture"), json!({}))
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "charge_not_capturable"
    );
    assert_eq!(events_of(&app, "charge.captured").await.len(), 1);
    app.post(
        "/v1/charges/ch_01h455vb4pex5vsknk084sn02q/capture",
        json!({}),
    )
    .await
    .error(404, "invalid_request_error");
    verify(&app).await;
}

#[tokio::test]
async fn a_cart_splits_between_sellers() {
    let app = spawn_app().await;
    let a = seller(&app).await;
    let b = seller(&app).await;
    let c = charge(
        &app,
        json!({"amount": 10000, "currency": "eur", "payment_method": "pm_card_visa",
               "splits": [{"destination": a, "amount": 6000, "application_fee_amount": 600}, {"destination": b, "amount": 4000, "application_fee_amount": 400}]}),
    )
    .await;
    assert_eq!(c["destination"], Value::Null);
    assert_eq!(c["application_fee_amount"], 1000);
    assert_eq!(balance(&app, Some(&a), "eur").await, (0, 5400));
    assert_eq!(balance(&app, Some(&b), "eur").await, (0, 3600));
    assert_eq!(balance(&app, None, "eur").await, (0, 1000));

    // Refund 25.00 over the cart: A 15.00 (13.50 seller, 1.50 platform), B 10.00 (9.00 + 1.00).
    let r = app
        .post("/v1/refunds", json!({"charge": c["id"], "amount": 2500}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["allocation"],
        json!([{"destination": a, "seller_amount": 1350, "platform_amount": 150, "tax_amount": 0}, {"destination": b, "seller_amount": 900, "platform_amount": 100, "tax_amount": 0}])
    );
    assert_eq!(balance(&app, Some(&a), "eur").await, (0, 5400 - 1350));
    assert_eq!(balance(&app, Some(&b), "eur").await, (0, 3600 - 900));
    assert_eq!(balance(&app, None, "eur").await, (0, 1000 - 250));
    verify(&app).await;
}

#[tokio::test]
async fn refunds_follow_the_design_table_and_never_exceed_the_capture() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let c = charge(&app, json!({"amount": 10000, "currency": "eur", "destination": s, "application_fee_amount": 1000, "payment_method": "pm_card_visa"})).await;
    // refund 40, reverse transfer, refund fee: Dr seller 36 · Dr platform 4 · Cr clearing 40
    let r = app
        .post(
            "/v1/refunds",
            json!({"charge": c["id"], "amount": 4000, "reason": "requested_by_customer"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(r.body["allocation"][0]["seller_amount"], 3600);
    assert_eq!(r.body["allocation"][0]["platform_amount"], 400);
    assert_eq!(balance(&app, Some(&s), "eur").await, (0, 5400));
    assert_eq!(balance(&app, None, "eur").await, (0, 600));

    let res = app
        .post("/v1/refunds", json!({"charge": c["id"], "amount": 6001}))
        .await;
    assert_eq!(res.error(400, "invalid_request_error")["param"], "amount");
    let res = app
        .post("/v1/refunds", json!({"charge": c["id"], "reason": "bored"}))
        .await;
    assert_eq!(res.error(400, "invalid_request_error")["param"], "reason");
    // Without reverse_transfer, the platform bears it all.
    let r2 = app
        .post(
            "/v1/refunds",
            json!({"charge": c["id"], "amount": 1000, "reverse_transfer": false}),
        )
        .await;
    assert_eq!(
        r2.body["allocation"][0],
        json!({"destination": s, "seller_amount": 0, "platform_amount": 1000, "tax_amount": 0})
    );
    // The rest (50.00) by default.
    let r3 = app.post("/v1/refunds", json!({"charge": c["id"]})).await;
    assert_eq!(r3.body["amount"], 5000);
    let after = app
        .get(&format!("/v1/charges/{}", c["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(
        (
            after["amount_refunded"].as_i64(),
            after["refunded"].as_bool()
        ),
        (Some(10000), Some(true))
    );
    let res = app
        .post("/v1/refunds", json!({"charge": c["id"], "amount": 1}))
        .await;
    res.error(400, "invalid_request_error");
    assert_eq!(events_of(&app, "charge.refunded").await.len(), 3);
    let list = app
        .get(&format!("/v1/refunds?charge={}", c["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    let one = app
        .get(&format!("/v1/refunds/{}", r.body["id"].as_str().unwrap()))
        .await;
    assert_eq!(one.body, r.body);
    // Uncaptured charges cannot be refunded.
    let pending = charge(&app, json!({"amount": 500, "currency": "eur", "destination": s, "payment_method": "pm_card_visa", "capture": false})).await;
    let res = app
        .post("/v1/refunds", json!({"charge": pending["id"]}))
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "charge_not_refundable"
    );
    verify(&app).await;
}

#[tokio::test]
async fn settlement_then_transfers_and_reversals() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let c = charge(&app, json!({"amount": 10000, "currency": "eur", "destination": s, "application_fee_amount": 1000, "payment_method": "pm_card_visa"})).await;

    // Not yet: one day is not the two-day delay.
    let res = advance(&app, 24 * 3600).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(balance(&app, Some(&s), "eur").await, (0, 9000));
    let res = advance(&app, 24 * 3600 + 60).await;
    assert_eq!(res.body["object"], "test_clock");
    assert_eq!(balance(&app, Some(&s), "eur").await, (9000, 0));
    assert_eq!(balance(&app, None, "eur").await, (1000, 0));
    let available = events_of(&app, "balance.available").await;
    assert_eq!(available.len(), 2, "the platform's and the seller's");
    // Settling again moves nothing twice.
    advance(&app, 3600).await;
    assert_eq!(balance(&app, Some(&s), "eur").await, (9000, 0));
    verify(&app).await;

    // Transfers come out of the platform's available balance, never more than it has.
    let t = app.post("/v1/transfers", json!({"amount": 600, "currency": "eur", "destination": s, "source_transaction": c["id"]})).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert!(t.body["id"].as_str().unwrap().starts_with("tr_"));
    assert_eq!(balance(&app, None, "eur").await, (400, 0));
    assert_eq!(balance(&app, Some(&s), "eur").await, (9600, 0));
    let res = app
        .post(
            "/v1/transfers",
            json!({"amount": 401, "currency": "eur", "destination": s}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "balance_insufficient"
    );
    let res = app
        .post(
            "/v1/transfers",
            json!({"amount": 1, "currency": "usd", "destination": s}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "balance_insufficient"
    );

    let tid = t.body["id"].as_str().unwrap();
    let rev = app
        .post(
            &format!("/v1/transfers/{tid}/reversals"),
            json!({"amount": 200}),
        )
        .await;
    assert_eq!(
        (rev.status.as_u16(), rev.body["amount_reversed"].as_i64()),
        (200, Some(200))
    );
    assert_eq!(balance(&app, None, "eur").await, (600, 0));
    let res = app
        .post(
            &format!("/v1/transfers/{tid}/reversals"),
            json!({"amount": 401}),
        )
        .await;
    assert_eq!(res.error(400, "invalid_request_error")["param"], "amount");
    let rev = app
        .post(&format!("/v1/transfers/{tid}/reversals"), json!({}))
        .await;
    assert_eq!(rev.body["reversed"], true);
    assert_eq!(events_of(&app, "transfer.created").await.len(), 1);
    assert_eq!(events_of(&app, "transfer.reversed").await.len(), 2);
    verify(&app).await;

    // Test helpers do not exist for live keys.
    let res = app
        .send(
            Method::POST,
            "/v1/test_helpers/advance_clock",
            Some(json!({"seconds": 1})),
            &app.live_key,
            &[],
        )
        .await;
    res.error(404, "invalid_request_error");
    assert_eq!(
        advance(&app, 0).await.error(400, "invalid_request_error")["param"],
        "seconds"
    );
}

#[tokio::test]
async fn a_refund_after_settlement_can_take_a_seller_negative_and_later_charges_recover_it() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let c = charge(&app, json!({"amount": 10000, "currency": "eur", "destination": s, "application_fee_amount": 1000, "payment_method": "pm_card_visa"})).await;
    advance(&app, 3 * 24 * 3600).await;
    app.post(
        "/v1/transfers",
        json!({"amount": 0, "currency": "eur", "destination": s}),
    )
    .await
    .error(400, "invalid_request_error");
    // The seller bears it all (the platform keeps its fee): 100.00 out of 90.00 available.
    let r = app
        .post(
            "/v1/refunds",
            json!({"charge": c["id"], "refund_application_fee": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(balance(&app, Some(&s), "eur").await, (-1000, 0));
    verify(&app).await;
    // The next charge's settlement recovers the debt first.
    charge(&app, json!({"amount": 5000, "currency": "eur", "destination": s, "application_fee_amount": 500, "payment_method": "pm_card_visa"})).await;
    advance(&app, 3 * 24 * 3600).await;
    assert_eq!(balance(&app, Some(&s), "eur").await, (3500, 0));
    verify(&app).await;
}

/// 200 concurrent charges, refunds and transfers over 5 sellers, each sent twice with the same
/// idempotency key. Afterwards each charge exists once, none is over-refunded, and the ledger
/// verifies.
#[tokio::test]
async fn concurrent_money_movements_with_retries() {
    let app = spawn_app().await;
    let mut sellers = Vec::new();
    for _ in 0..5 {
        sellers.push(seller(&app).await);
    }
    let post = |path: &'static str, body: Value, key: String| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                path,
                Some(body),
                &app.test_key,
                &[("idempotency-key", &key)],
            )
            .await
        }
    };
    // Round 1: 100 charges, each sent twice at once.
    let mut calls = Vec::new();
    for i in 0..100 {
        let body = json!({"amount": 1000 + i, "currency": "eur", "destination": sellers[i as usize % 5], "application_fee_amount": 100, "payment_method": "pm_card_visa"});
        for _ in 0..2 {
            calls.push(post("/v1/charges", body.clone(), format!("charge-{i}")));
        }
    }
    let results = join_all(calls).await;
    let mut charge_ids = std::collections::BTreeSet::new();
    for r in &results {
        match r.status.as_u16() {
            200 => {
                charge_ids.insert(r.body["id"].as_str().unwrap().to_owned());
            }
            409 => {}
            other => panic!("{other}: {}", r.body),
        }
    }
    assert_eq!(charge_ids.len(), 100, "each charge exists once");
    advance(&app, 3 * 24 * 3600).await;
    let charge_ids: Vec<String> = charge_ids.into_iter().collect();

    // Round 2: 60 refunds (three racing per charge, each for 40% — at most two fit) and 40
    // transfers, each sent twice.
    let mut calls = Vec::new();
    for i in 0..60 {
        let charge = &charge_ids[i / 3];
        let amount = 400;
        for _ in 0..2 {
            calls.push(post(
                "/v1/refunds",
                json!({"charge": charge, "amount": amount}),
                format!("refund-{i}"),
            ));
        }
    }
    for i in 0..40 {
        let body = json!({"amount": 50, "currency": "eur", "destination": sellers[i % 5]});
        for _ in 0..2 {
            calls.push(post("/v1/transfers", body.clone(), format!("transfer-{i}")));
        }
    }
    let results = join_all(calls).await;
    for r in &results {
        assert!(
            matches!(r.status.as_u16(), 200 | 400 | 409),
            "{}: {}",
            r.status,
            r.body
        );
    }

    let charges = app.get("/v1/charges?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(charges.len(), 100);
    for c in &charges {
        let refunded = c["amount_refunded"].as_i64().unwrap();
        assert!(
            refunded <= c["amount_captured"].as_i64().unwrap(),
            "over-refunded: {c}"
        );
        let refunds = app
            .get(&format!(
                "/v1/refunds?charge={}&limit=100",
                c["id"].as_str().unwrap()
            ))
            .await
            .body;
        let sum: i64 = refunds["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["amount"].as_i64().unwrap())
            .sum();
        assert_eq!(
            sum, refunded,
            "refund rows match the charge's amount_refunded"
        );
    }
    let transfers = app.get("/v1/transfers?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(transfers, 40, "each transfer exists once");
    verify(&app).await;
}

#[tokio::test]
async fn disputes_take_the_money_and_the_fee_and_a_win_returns_the_money() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let c = charge(&app, json!({"amount": 10000, "currency": "eur", "destination": s, "application_fee_amount": 1000, "payment_method": "pm_card_createDispute"})).await;
    assert_eq!(
        (c["status"].as_str(), c["disputed"].as_bool()),
        (Some("succeeded"), Some(true))
    );
    // Dr seller 90 · Dr platform 10 · Cr clearing 100; Dr seller 15 · Cr platform 15
    assert_eq!(balance(&app, Some(&s), "eur").await, (-1500, 0));
    assert_eq!(balance(&app, None, "eur").await, (1500, 0));
    let created = events_of(&app, "charge.dispute.created").await;
    assert_eq!(created.len(), 1);
    let disputes = app
        .get(&format!(
            "/v1/disputes?charge={}",
            c["id"].as_str().unwrap()
        ))
        .await
        .body;
    let d = disputes["data"][0].clone();
    assert_eq!(
        (
            d["amount"].as_i64(),
            d["fee"].as_i64(),
            d["status"].as_str()
        ),
        (Some(10000), Some(1500), Some("needs_response"))
    );
    verify(&app).await;

    let res = app.post("/v1/refunds", json!({"charge": c["id"]})).await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "charge_disputed"
    );
    let did = d["id"].as_str().unwrap();
    assert_eq!(
        app.post(
            &format!("/v1/disputes/{did}/close"),
            json!({"outcome": "maybe"})
        )
        .await
        .error(400, "invalid_request_error")["param"],
        "outcome"
    );
    let won = app
        .post(
            &format!("/v1/disputes/{did}/close"),
            json!({"outcome": "won"}),
        )
        .await;
    assert_eq!(
        (won.status.as_u16(), won.body["status"].as_str()),
        (200, Some("won"))
    );
    // The money comes back to available; the fee stays paid.
    assert_eq!(balance(&app, Some(&s), "eur").await, (7500, 0));
    assert_eq!(balance(&app, None, "eur").await, (2500, 0));
    let again = app
        .post(
            &format!("/v1/disputes/{did}/close"),
            json!({"outcome": "lost"}),
        )
        .await;
    assert_eq!(
        again.error(400, "invalid_request_error")["code"],
        "dispute_closed"
    );
    assert_eq!(events_of(&app, "charge.dispute.closed").await.len(), 1);
    assert_eq!(app.get(&format!("/v1/disputes/{did}")).await.body, won.body);
    verify(&app).await;
}

#[tokio::test]
async fn a_lost_dispute_after_settlement_and_a_partial_refund() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let c = charge(&app, json!({"amount": 20000, "currency": "usd", "destination": s, "application_fee_amount": 2000, "payment_method": "pm_card_visa"})).await;
    advance(&app, 3 * 24 * 3600).await;
    app.post("/v1/refunds", json!({"charge": c["id"], "amount": 5000}))
        .await;
    assert_eq!(balance(&app, Some(&s), "usd").await, (18000 - 4500, 0));
    let id = c["id"].as_str().unwrap();
    let d = app
        .post(&format!("/v1/test_helpers/charges/{id}/dispute"), json!({}))
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(
        d.body["amount"], 15000,
        "only what was not refunded is disputed"
    );
    // Seller gives back 135.00 plus the 15.00 fee.
    assert_eq!(
        balance(&app, Some(&s), "usd").await,
        (13500 - 13500 - 1500, 0)
    );
    let again = app
        .post(&format!("/v1/test_helpers/charges/{id}/dispute"), json!({}))
        .await;
    assert_eq!(
        again.error(400, "invalid_request_error")["code"],
        "charge_not_disputable"
    );
    let lost = app
        .post(
            &format!("/v1/disputes/{}/close", d.body["id"].as_str().unwrap()),
            json!({"outcome": "lost"}),
        )
        .await;
    assert_eq!(lost.body["status"], "lost");
    assert_eq!(balance(&app, Some(&s), "usd").await, (-1500, 0));
    let live = app
        .send(
            Method::POST,
            &format!("/v1/test_helpers/charges/{id}/dispute"),
            Some(json!({})),
            &app.live_key,
            &[],
        )
        .await;
    live.error(404, "invalid_request_error");
    verify(&app).await;
}

#[tokio::test]
async fn charges_without_a_fee_are_priced_by_the_rules_and_keep_their_quote() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let rule = app
        .post("/v1/fee_rules", json!({"priority": 10, "conditions": {"currencies": ["eur"]}, "percent": "10", "fixed": {"eur": 30}, "vat": {"rate": "25", "inclusive": false}}))
        .await;
    assert_eq!(rule.status, 200, "{}", rule.body);
    let rule_id = rule.body["id"].as_str().unwrap().to_owned();
    // 10% of 100.00 + 0.30 = 10.30; VAT 25% exclusive = 2.575 → 2.58 (half-even); seller 87.12.
    let c1 = charge(&app, json!({"amount": 10000, "currency": "eur", "destination": s, "payment_method": "pm_card_visa"})).await;
    assert_eq!(c1["application_fee_amount"], 1030);
    assert_eq!(c1["splits"][0]["application_fee_tax_amount"], 258);
    assert_eq!(
        (
            c1["splits"][0]["fee_rule"].as_str(),
            c1["splits"][0]["fee_rule_version"].as_i64()
        ),
        (Some(rule_id.as_str()), Some(1))
    );
    assert_eq!(balance(&app, Some(&s), "eur").await, (0, 8712));
    assert_eq!(balance(&app, None, "eur").await, (0, 1030));

    // A new version prices new charges; the old charge keeps its quote.
    let v2 = app
        .post(
            &format!("/v1/fee_rules/{rule_id}"),
            json!({"percent": "5", "fixed": {"eur": 0}, "vat": null}),
        )
        .await;
    assert_eq!(v2.status, 200, "{}", v2.body);
    let c2 = charge(&app, json!({"amount": 10000, "currency": "eur", "destination": s, "payment_method": "pm_card_visa"})).await;
    assert_eq!(
        (
            c2["application_fee_amount"].as_i64(),
            c2["splits"][0]["fee_rule_version"].as_i64()
        ),
        (Some(500), Some(2))
    );
    let again = app
        .get(&format!("/v1/charges/{}", c1["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(again, c1, "a rule change never alters a past charge");

    // A full refund of the first charge returns the stored fee from the platform and the VAT
    // on it from tax_payable.
    let r = app.post("/v1/refunds", json!({"charge": c1["id"]})).await;
    assert_eq!(r.body["allocation"][0]["seller_amount"], 8712);
    assert_eq!(r.body["allocation"][0]["platform_amount"], 1030);
    assert_eq!(r.body["allocation"][0]["tax_amount"], 258);
    // An explicit fee still wins over the rules; other currencies fall to the default rule (0%).
    let c3 = charge(&app, json!({"amount": 10000, "currency": "eur", "destination": s, "application_fee_amount": 7, "payment_method": "pm_card_visa"})).await;
    assert_eq!(
        (
            c3["application_fee_amount"].as_i64(),
            c3["splits"][0]["fee_rule"].as_str()
        ),
        (Some(7), None)
    );
    let c4 = charge(&app, json!({"amount": 10000, "currency": "usd", "destination": s, "payment_method": "pm_card_visa"})).await;
    assert_eq!(c4["application_fee_amount"], 0);
    assert!(
        c4["splits"][0]["fee_rule"].is_string(),
        "the default rule priced it"
    );
    verify(&app).await;
}

#[tokio::test]
async fn volume_tiers_read_the_sellers_monthly_volume_from_the_ledger() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let rule = app
        .post(
            "/v1/fee_rules",
            json!({"priority": 5, "conditions": {"currencies": ["eur"]},
                   "tiers": {"mode": "volume", "tiers": [{"up_to": 15000, "percent": "10"}, {"up_to": null, "percent": "5"}]}}),
        )
        .await;
    assert_eq!(rule.status, 200, "{}", rule.body);
    // Volume 0 → tier 1 (10%); then 100.00 captured → still tier 1; then 200.00 → tier 2 (5%).
    let fees: Vec<i64> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            let c = charge(&app, json!({"amount": 10000, "currency": "eur", "destination": s, "payment_method": "pm_card_visa"})).await;
            out.push(c["application_fee_amount"].as_i64().unwrap());
        }
        out
    };
    assert_eq!(fees, vec![1000, 1000, 500]);
    verify(&app).await;
}

#[tokio::test]
async fn balance_transactions_explain_every_balance() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let c = charge(&app, json!({"amount": 10000, "currency": "eur", "destination": s, "application_fee_amount": 1000, "payment_method": "pm_card_visa"})).await;
    let rows = seller_bts(&app, &s, "").await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert!(row["id"].as_str().unwrap().starts_with("bt_"));
    assert_eq!(
        (
            row["type"].as_str(),
            row["amount"].as_i64(),
            row["fee"].as_i64(),
            row["net"].as_i64(),
            row["status"].as_str()
        ),
        (
            Some("charge"),
            Some(10000),
            Some(1000),
            Some(9000),
            Some("pending")
        )
    );
    assert_eq!(row["source"], c["id"]);
    assert_eq!(row["available_on"], c["available_on"]);
    assert_eq!(
        c["balance_transaction"], row["id"],
        "the charge names the seller's row"
    );
    assert_eq!(c["transfer"], json!({"destination": s, "amount": 9000}));

    app.post("/v1/refunds", json!({"charge": c["id"], "amount": 4000}))
        .await;
    advance(&app, 3 * 24 * 3600).await;
    app.post(
        "/v1/transfers",
        json!({"amount": 100, "currency": "eur", "destination": s}),
    )
    .await;

    let rows = seller_bts(&app, &s, "").await;
    let kinds: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["transfer", "refund", "charge"]);
    assert_eq!(
        rows[2]["status"], "available",
        "the test clock passed available_on"
    );
    let net: i64 = rows.iter().map(|r| r["net"].as_i64().unwrap()).sum();
    let (available, pending) = balance(&app, Some(&s), "eur").await;
    assert_eq!(
        net,
        available + pending,
        "the seller's rows add up to its balance"
    );

    let platform = app.get("/v1/balance_transactions").await.body["data"]
        .as_array()
        .unwrap()
        .clone();
    let kinds: Vec<&str> = platform
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["transfer", "refund", "application_fee"]);
    let net: i64 = platform.iter().map(|r| r["net"].as_i64().unwrap()).sum();
    let (available, pending) = balance(&app, None, "eur").await;
    assert_eq!(
        net,
        available + pending,
        "the platform's rows add up to its balance"
    );

    assert_eq!(seller_bts(&app, &s, "?type=refund").await.len(), 1);
    assert_eq!(
        seller_bts(&app, &s, &format!("?source={}", c["id"].as_str().unwrap()))
            .await
            .len(),
        1
    );
    assert_eq!(
        seller_bts(&app, &s, "?available_on[gte]=2999-01-01T00:00:00Z")
            .await
            .len(),
        0
    );
    let bad = app
        .get("/v1/balance_transactions?source=acct_01h455vb4pex5vsknk084sn02q")
        .await;
    assert_eq!(bad.error(400, "invalid_request_error")["param"], "source");
    verify(&app).await;
}

async fn seller_bts(app: &TestApp, seller: &str, query: &str) -> Vec<Value> {
    let path = format!("/v1/balance_transactions{query}");
    let res = app
        .send(
            Method::GET,
            &path,
            None,
            &app.test_key,
            &[("agora-account", seller)],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn each_seller_can_have_its_own_settlement_delay() {
    let app = spawn_app().await;
    let fast = app
        .create_seller(json!({"country": "SE", "settlement_delay_days": 0}))
        .await;
    assert_eq!(fast["settlement_delay_days"], 0);
    let slow = app
        .create_seller(json!({"country": "SE", "settlement_delay_days": 7}))
        .await;
    let (fast, slow) = (
        fast["id"].as_str().unwrap().to_owned(),
        slow["id"].as_str().unwrap().to_owned(),
    );
    for bad in [json!(-1), json!(366), json!("2")] {
        let res = app
            .post(
                "/v1/accounts",
                json!({"country": "SE", "settlement_delay_days": bad}),
            )
            .await;
        assert_eq!(
            res.error(400, "invalid_request_error")["param"],
            "settlement_delay_days"
        );
    }
    for s in [&fast, &slow] {
        charge(&app, json!({"amount": 1000, "currency": "sek", "destination": s, "payment_method": "pm_card_visa"})).await;
    }
    advance(&app, 60).await;
    assert_eq!(balance(&app, Some(&fast), "sek").await, (1000, 0));
    assert_eq!(balance(&app, Some(&slow), "sek").await, (0, 1000));
    advance(&app, 3 * 24 * 3600).await;
    assert_eq!(
        balance(&app, Some(&slow), "sek").await,
        (0, 1000),
        "7 days, not the platform's 2"
    );
    // Back to the platform's default.
    let res = app
        .post(
            &format!("/v1/accounts/{slow}"),
            json!({"settlement_delay_days": null}),
        )
        .await;
    assert_eq!(res.body["settlement_delay_days"], Value::Null);
    let c = charge(&app, json!({"amount": 500, "currency": "sek", "destination": slow, "payment_method": "pm_card_visa"})).await;
    advance(&app, 2 * 24 * 3600 + 60).await;
    assert_eq!(balance(&app, Some(&slow), "sek").await, (500, 1000), "{c}");
    verify(&app).await;
}
