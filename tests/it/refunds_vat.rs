//! Found by a platform engineer's walkthrough (issue 22): VAT on refunded fees, the platform's
//! take at the top of a charge, carts seen by each of their sellers, which balance a refund
//! moved, and amounts that are not positive.

use agora_ledger::{AccountKind, AccountRef, Currency};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn verify(app: &TestApp) {
    let report = agora_ledger::verify::verify(&app.db).await.unwrap();
    assert!(report.is_ok(), "ledger broken: {:#?}", report.problems);
}

async fn seller(app: &TestApp, country: &str) -> String {
    app.create_seller(json!({"country": country})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn ok(app: &TestApp, path: &str, body: Value) -> Value {
    let res = app.post(path, body).await;
    assert_eq!(res.status, 200, "{path}: {}", res.body);
    res.body
}

async fn as_seller(app: &TestApp, seller: &str, path: &str) -> crate::helpers::Response {
    app.send(
        Method::GET,
        path,
        None,
        &app.test_key,
        &[("agora-account", seller)],
    )
    .await
}

/// available + pending of the platform (None) or a seller, in `currency`.
async fn total(app: &TestApp, account: Option<&str>, currency: &str) -> i64 {
    let headers: Vec<(&str, &str)> = account
        .map(|a| vec![("agora-account", a)])
        .unwrap_or_default();
    let res = app
        .send(Method::GET, "/v1/balance", None, &app.test_key, &headers)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    ["available", "pending"]
        .iter()
        .map(|side| {
            res.body[*side]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| b["currency"] == currency)
                .map(|b| b["amount"].as_i64().unwrap())
                .sum::<i64>()
        })
        .sum()
}

/// A fee rule of `percent` with 25 % VAT, above the default rule.
async fn vat_rule(app: &TestApp, percent: &str, inclusive: bool) {
    ok(
        app,
        "/v1/fee_rules",
        json!({"priority": 10, "percent": percent, "vat": {"rate": "25", "inclusive": inclusive}}),
    )
    .await;
}

/// The platform's VAT liability in `currency`, read from the ledger.
async fn tax_payable(app: &TestApp, currency: &str) -> i64 {
    let currency = Currency::parse(currency).unwrap();
    agora_ledger::journal::balances(
        &app.db,
        false,
        AccountRef::platform(AccountKind::TaxPayable, currency),
    )
    .await
    .unwrap()
    .posted(AccountKind::TaxPayable)
}

#[tokio::test]
async fn a_refunded_charge_gives_back_the_vat_and_leaves_the_platform_where_it_was() {
    let app = spawn_app().await;
    let s = seller(&app, "SE").await;
    vat_rule(&app, "5", false).await;
    // 100.00 SEK: fee 5.00, VAT 1.25, the seller keeps 93.75.
    let c = ok(&app, "/v1/charges", json!({"amount": 10000, "currency": "sek", "destination": s, "payment_method": "pm_card_visa"})).await;
    assert_eq!(
        (
            c["application_fee_amount"].as_i64(),
            c["application_fee_tax_amount"].as_i64(),
            c["transfer"]["amount"].as_i64()
        ),
        (Some(500), Some(125), Some(9375)),
        "amount - application_fee_amount - application_fee_tax_amount is the seller's: {c}"
    );
    assert_eq!(tax_payable(&app, "sek").await, 125);
    assert_eq!(total(&app, None, "sek").await, 500);
    // The seller's row: fee is everything taken from the amount, broken down.
    let rows = as_seller(&app, &s, "/v1/balance_transactions?type=charge").await;
    let row = &rows.body["data"][0];
    assert_eq!(
        (
            row["amount"].as_i64(),
            row["fee"].as_i64(),
            row["net"].as_i64()
        ),
        (Some(10000), Some(625), Some(9375))
    );
    assert_eq!(
        row["fee_details"],
        json!([{"type": "application_fee", "amount": 500}, {"type": "tax", "amount": 125}])
    );

    // Three partial refunds that do not divide evenly, then the rest.
    let mut vat_back = 0;
    for amount in [3333, 3333, 1] {
        let r = ok(
            &app,
            "/v1/refunds",
            json!({"charge": c["id"], "amount": amount}),
        )
        .await;
        let share = &r["allocation"][0];
        assert_eq!(
            share["seller_amount"].as_i64().unwrap()
                + share["platform_amount"].as_i64().unwrap()
                + share["tax_amount"].as_i64().unwrap(),
            amount
        );
        vat_back += share["tax_amount"].as_i64().unwrap();
        assert_eq!(tax_payable(&app, "sek").await, 125 - vat_back);
    }
    assert!(
        vat_back > 0 && vat_back < 125,
        "the partial refunds took VAT in proportion: {vat_back}"
    );
    ok(&app, "/v1/refunds", json!({"charge": c["id"]})).await;
    assert_eq!(tax_payable(&app, "sek").await, 0, "no VAT owed on nothing");
    assert_eq!(
        total(&app, None, "sek").await,
        0,
        "the platform is where it was"
    );
    assert_eq!(
        total(&app, Some(&s), "sek").await,
        0,
        "and so is the seller"
    );
    // The platform's rows still add up to its balance: its refund rows carry the fee only.
    let platform_rows = app.get("/v1/balance_transactions?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .clone();
    let net: i64 = platform_rows
        .iter()
        .map(|r| r["net"].as_i64().unwrap())
        .sum();
    assert_eq!(net, 0);
    // A refund of nothing more is refused and changes nothing, with or without an amount;
    // the error has no one parameter at fault, and says so with `param: null`.
    for body in [
        json!({"charge": c["id"]}),
        json!({"charge": c["id"], "amount": 1}),
    ] {
        let again = app.post("/v1/refunds", body).await;
        let error = again.error(400, "invalid_request_error");
        assert_eq!(error["code"], "charge_already_refunded", "{}", again.body);
        assert!(
            error.as_object().unwrap().contains_key("param") && error["param"].is_null(),
            "{}",
            again.body
        );
    }
    verify(&app).await;
}

#[tokio::test]
async fn a_refund_that_keeps_the_fee_keeps_the_vat_owed() {
    let app = spawn_app().await;
    let s = seller(&app, "SE").await;
    vat_rule(&app, "10", true).await;
    // 10 % of 200.00 = 20.00 including 25 % VAT: fee 16.00, VAT 4.00.
    let c = ok(&app, "/v1/charges", json!({"amount": 20000, "currency": "sek", "destination": s, "payment_method": "pm_card_visa"})).await;
    assert_eq!(
        (
            c["application_fee_amount"].as_i64(),
            c["application_fee_tax_amount"].as_i64()
        ),
        (Some(1600), Some(400))
    );
    // The seller bears the whole refund; the platform keeps its fee, so the VAT stays owed.
    let r = ok(
        &app,
        "/v1/refunds",
        json!({"charge": c["id"], "amount": 5000, "refund_application_fee": false}),
    )
    .await;
    assert_eq!(
        r["allocation"][0],
        json!({"destination": s, "seller_amount": 5000, "platform_amount": 0, "tax_amount": 0})
    );
    assert_eq!(tax_payable(&app, "sek").await, 400);
    // The rest with the fee: what remains of fee and VAT goes back in full.
    let r = ok(&app, "/v1/refunds", json!({"charge": c["id"]})).await;
    let share = &r["allocation"][0];
    assert_eq!(
        (
            share["platform_amount"].as_i64(),
            share["tax_amount"].as_i64()
        ),
        (Some(1600 * 15000 / 20000), Some(400 * 15000 / 20000))
    );
    assert_eq!(tax_payable(&app, "sek").await, 100);
    verify(&app).await;
}

#[tokio::test]
async fn a_dispute_reverses_the_vat_and_a_win_owes_it_again() {
    let app = spawn_app().await;
    let s = seller(&app, "SE").await;
    vat_rule(&app, "5", false).await;
    let c = ok(&app, "/v1/charges", json!({"amount": 10000, "currency": "sek", "destination": s, "payment_method": "pm_card_createDispute"})).await;
    assert_eq!(c["disputed"], true);
    assert_eq!(tax_payable(&app, "sek").await, 0);
    // The platform gave back its fee and received the dispute fee (15.00 SEK by default).
    assert_eq!(total(&app, None, "sek").await, 1500);
    let d = app
        .get(&format!(
            "/v1/disputes?charge={}",
            c["id"].as_str().unwrap()
        ))
        .await
        .body["data"][0]
        .clone();
    let closed = app
        .post(
            &format!("/v1/disputes/{}/close", d["id"].as_str().unwrap()),
            json!({"outcome": "won"}),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert_eq!(tax_payable(&app, "sek").await, 125);
    assert_eq!(total(&app, None, "sek").await, 1500 + 500);
    verify(&app).await;
}

/// A small deterministic generator, so a failure can be replayed from its seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[tokio::test]
async fn random_vat_charges_refunded_in_steps_return_platform_and_tax_to_zero() {
    let app = spawn_app().await;
    let sellers = [
        seller(&app, "SE").await,
        seller(&app, "DE").await,
        seller(&app, "FR").await,
    ];
    let rule = ok(
        &app,
        "/v1/fee_rules",
        json!({"priority": 10, "percent": "1"}),
    )
    .await;
    let rule_path = format!("/v1/fee_rules/{}", rule["id"].as_str().unwrap());
    let mut rng = Lcg(22);
    for case in 0..12 {
        let currency = ["sek", "eur", "jpy", "kwd"][rng.below(4) as usize];
        let vat_rate = ["25", "19", "7.7", "12.5", "6"][rng.below(5) as usize];
        let percent = format!("{}.{}", rng.below(15), rng.below(100));
        let body = json!({
            "percent": percent,
            "fixed": {currency: rng.below(300)},
            "vat": {"rate": vat_rate, "inclusive": rng.below(2) == 0},
            "rounding": if rng.below(2) == 0 { "half_even" } else { "half_up" },
        });
        ok(&app, &rule_path, body.clone()).await;
        let before_platform = total(&app, None, currency).await;
        let before_tax = tax_payable(&app, currency).await;
        let parts = 1 + rng.below(3) as usize;
        let splits: Vec<Value> = (0..parts)
            .map(|i| json!({"destination": sellers[i], "amount": 1000 + rng.below(200_000) as i64}))
            .collect();
        let amount: i64 = splits.iter().map(|s| s["amount"].as_i64().unwrap()).sum();
        let c = ok(&app, "/v1/charges", json!({"amount": amount, "currency": currency, "splits": splits, "payment_method": "pm_card_visa"})).await;
        let fee = c["application_fee_amount"].as_i64().unwrap();
        let vat = c["application_fee_tax_amount"].as_i64().unwrap();
        assert_eq!(
            tax_payable(&app, currency).await - before_tax,
            vat,
            "case {case}: {body}"
        );
        assert_eq!(total(&app, None, currency).await - before_platform, fee);
        let mut left = amount;
        while left > 0 {
            let step = if rng.below(3) == 0 {
                left
            } else {
                1 + rng.below(left as u64) as i64
            };
            ok(
                &app,
                "/v1/refunds",
                json!({"charge": c["id"], "amount": step}),
            )
            .await;
            left -= step;
        }
        assert_eq!(
            tax_payable(&app, currency).await,
            before_tax,
            "case {case}: {body}, charge {c}"
        );
        assert_eq!(
            total(&app, None, currency).await,
            before_platform,
            "case {case}: {body}, charge {c}"
        );
    }
    for s in &sellers {
        for currency in ["sek", "eur", "jpy", "kwd"] {
            assert_eq!(total(&app, Some(s), currency).await, 0);
        }
    }
    verify(&app).await;
}

#[tokio::test]
async fn each_seller_of_a_cart_sees_the_charge_with_its_own_split_only() {
    let app = spawn_app().await;
    let a = seller(&app, "DE").await;
    let b = seller(&app, "SE").await;
    let outsider = seller(&app, "FR").await;
    let cart = ok(
        &app,
        "/v1/charges",
        json!({"amount": 10000, "currency": "eur", "payment_method": "pm_card_visa",
        "splits": [{"destination": a, "amount": 6000, "application_fee_amount": 600},
                   {"destination": b, "amount": 4000, "application_fee_amount": 300}]}),
    )
    .await;
    let single = ok(&app, "/v1/charges", json!({"amount": 500, "currency": "eur", "destination": a, "application_fee_amount": 50, "payment_method": "pm_card_visa"})).await;
    let id = cart["id"].as_str().unwrap();

    // The platform finds the cart under either seller.
    let listed = app.get(&format!("/v1/charges?destination={b}")).await.body;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);
    let listed = app.get(&format!("/v1/charges?destination={a}")).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);

    // B reads the cart: its split, its fee, its share; A's part is not shown.
    let seen = as_seller(&app, &b, &format!("/v1/charges/{id}")).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(
        seen.body["splits"],
        json!([{"destination": b, "amount": 4000, "application_fee_amount": 300,
                "application_fee_tax_amount": 0, "fee_rule": null, "fee_rule_version": null}])
    );
    assert_eq!(seen.body["application_fee_amount"], 300);
    assert_eq!(
        seen.body["transfer"],
        json!({"destination": b, "amount": 3700})
    );
    assert!(
        !seen.body.to_string().contains(&a),
        "nothing of the other seller: {}",
        seen.body
    );
    // Its balance transaction names the charge, which it can now open.
    let rows = as_seller(&app, &b, "/v1/balance_transactions").await;
    assert_eq!(rows.body["data"][0]["source"], id);
    let own = as_seller(&app, &b, "/v1/charges").await;
    assert_eq!(own.body["data"].as_array().unwrap().len(), 1);
    let own = as_seller(&app, &a, "/v1/charges").await;
    let own_ids: Vec<&str> = own.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(own_ids, vec![single["id"].as_str().unwrap(), id]);

    // In the cart, B's amounts are its part: refund 25.00 of the cart (B's part 10.00).
    ok(&app, "/v1/refunds", json!({"charge": id, "amount": 2500})).await;
    let seen = as_seller(&app, &b, &format!("/v1/charges/{id}")).await.body;
    let b_row = rows.body["data"][0]["id"].clone();
    assert_eq!(
        (
            seen["amount"].as_i64(),
            seen["amount_captured"].as_i64(),
            seen["amount_refunded"].as_i64(),
            seen["refunded"].as_bool()
        ),
        (Some(4000), Some(4000), Some(1000), Some(false)),
        "{seen}"
    );
    assert_eq!(seen["balance_transaction"], b_row);
    let listed = as_seller(&app, &b, "/v1/charges").await.body;
    assert_eq!(listed["data"][0], seen, "the list shows the same view");
    // The platform still sees the whole cart.
    let whole = app.get(&format!("/v1/charges/{id}")).await.body;
    assert_eq!(
        (whole["amount"].as_i64(), whole["amount_refunded"].as_i64()),
        (Some(10000), Some(2500))
    );

    // Two splits to one seller would price it twice: refused, nothing written.
    let before = app.get("/v1/charges?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .len();
    let twice = app
        .post(
            "/v1/charges",
            json!({"amount": 1000, "currency": "eur", "payment_method": "pm_card_visa",
            "splits": [{"destination": a, "amount": 600}, {"destination": a, "amount": 400}]}),
        )
        .await;
    let error = twice.error(400, "invalid_request_error");
    assert_eq!(
        (error["code"].as_str(), error["param"].as_str()),
        (Some("splits_invalid"), Some("splits[1].destination"))
    );
    let after = app.get("/v1/charges?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);

    // A seller with no split sees neither.
    let res = as_seller(&app, &outsider, &format!("/v1/charges/{id}")).await;
    res.error(404, "invalid_request_error");
    let none = as_seller(&app, &outsider, "/v1/charges").await;
    assert_eq!(none.body["data"], json!([]));
    verify(&app).await;
}

#[tokio::test]
async fn a_refunds_balance_transactions_say_which_balance_they_moved() {
    let app = spawn_app().await;
    let s = seller(&app, "DE").await;
    let c = ok(&app, "/v1/charges", json!({"amount": 10000, "currency": "eur", "destination": s, "application_fee_amount": 1000, "payment_method": "pm_card_visa"})).await;
    // Before settlement the money is pending, and so is the refund's row.
    ok(
        &app,
        "/v1/refunds",
        json!({"charge": c["id"], "amount": 4000}),
    )
    .await;
    let rows = as_seller(&app, &s, "/v1/balance_transactions?type=refund").await;
    let row = &rows.body["data"][0];
    assert_eq!(
        (
            row["amount"].as_i64(),
            row["status"].as_str(),
            row["available_on"].as_str()
        ),
        (Some(-3600), Some("pending"), c["available_on"].as_str()),
        "{row}"
    );
    let platform = app.get("/v1/balance_transactions?type=refund").await.body;
    assert_eq!(platform["data"][0]["status"], "pending");

    // After settlement the rest comes off the available balance: an available row.
    let res = app
        .post(
            "/v1/test_helpers/advance_clock",
            json!({"seconds": 3 * 24 * 3600}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    ok(
        &app,
        "/v1/refunds",
        json!({"charge": c["id"], "amount": 1000}),
    )
    .await;
    let rows = as_seller(&app, &s, "/v1/balance_transactions?type=refund").await;
    let newest = &rows.body["data"][0];
    assert_eq!(
        (newest["amount"].as_i64(), newest["status"].as_str()),
        (Some(-900), Some("available"))
    );
    // The rows add up to the balance either way.
    let all = as_seller(&app, &s, "/v1/balance_transactions").await;
    let net: i64 = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["net"].as_i64().unwrap())
        .sum();
    assert_eq!(net, total(&app, Some(&s), "eur").await);
    verify(&app).await;
}

#[tokio::test]
async fn amounts_that_are_not_positive_are_invalid_not_too_large() {
    let app = spawn_app().await;
    let s = seller(&app, "DE").await;
    let c = ok(&app, "/v1/charges", json!({"amount": 10000, "currency": "eur", "destination": s, "application_fee_amount": 1000, "payment_method": "pm_card_visa"})).await;
    let auth = ok(&app, "/v1/charges", json!({"amount": 5000, "currency": "eur", "destination": s, "application_fee_amount": 100, "payment_method": "pm_card_visa", "capture": false})).await;
    ok(&app, "/v1/charges", json!({"amount": 20000, "currency": "eur", "destination": s, "application_fee_amount": 0, "payment_method": "pm_card_visa"})).await;
    let res = app
        .post(
            "/v1/test_helpers/advance_clock",
            json!({"seconds": 3 * 24 * 3600}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let t = ok(
        &app,
        "/v1/transfers",
        json!({"amount": 500, "currency": "eur", "destination": s}),
    )
    .await;
    let cases = [
        (
            "/v1/refunds".to_owned(),
            json!({"charge": c["id"], "amount": -500}),
        ),
        (
            "/v1/refunds".to_owned(),
            json!({"charge": c["id"], "amount": 0}),
        ),
        (
            format!("/v1/charges/{}/capture", auth["id"].as_str().unwrap()),
            json!({"amount": -1}),
        ),
        (
            format!("/v1/transfers/{}/reversals", t["id"].as_str().unwrap()),
            json!({"amount": -5}),
        ),
        (
            "/v1/transfers".to_owned(),
            json!({"amount": -5, "currency": "eur", "destination": s}),
        ),
        (
            "/v1/charges".to_owned(),
            json!({"amount": -100, "currency": "eur", "destination": s, "payment_method": "pm_card_visa"}),
        ),
        (
            "/v1/fee_quotes".to_owned(),
            json!({"amount": -100, "currency": "eur", "destination": s}),
        ),
        (
            "/v1/payouts".to_owned(),
            json!({"amount": -100, "currency": "eur", "account": s}),
        ),
    ];
    for (path, body) in cases {
        let res = app.post(&path, body.clone()).await;
        let error = res.error(400, "invalid_request_error");
        assert_eq!(
            (error["code"].as_str(), error["param"].as_str()),
            (Some("amount_invalid"), Some("amount")),
            "{path} {body}: {}",
            res.body
        );
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with("amount must be"),
            "{path}: reads well: {message}"
        );
    }
    // Too much is still too large.
    let res = app
        .post("/v1/refunds", json!({"charge": c["id"], "amount": 10001}))
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "amount_too_large"
    );
    // And nothing moved.
    let after = app
        .get(&format!("/v1/charges/{}", c["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(after["amount_refunded"], 0);
    let t_after = app
        .get(&format!("/v1/transfers/{}", t["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(t_after["amount_reversed"], 0);
    verify(&app).await;
}
