//! Statements per request on the hot paths, read from `Server-Timing` (`server_timing` on):
//! each path runs a small, fixed number of statements whatever the size of the cart or the
//! page, so an N+1 query cannot creep back unseen.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Response, TestApp};

/// `desc="N statements"` of the response's `Server-Timing` header.
fn statements(res: &Response) -> u32 {
    let header = res
        .header("server-timing")
        .unwrap_or_else(|| panic!("no Server-Timing header: {:?}", res.headers));
    let desc = header
        .split("desc=\"")
        .nth(1)
        .and_then(|d| d.split(' ').next())
        .and_then(|n| n.parse().ok());
    desc.unwrap_or_else(|| panic!("no statement count in {header}"))
}

/// A charge of 10.00 EUR to each of `sellers`; `fee`: each split names its fee, else the fee
/// rules price it (with each seller's monthly volume).
async fn charge(app: &TestApp, sellers: &[String], fee: bool, key: &str) -> u32 {
    let splits: Vec<Value> = sellers
        .iter()
        .map(|s| match fee {
            true => json!({"destination": s, "amount": 1000, "application_fee_amount": 100}),
            false => json!({"destination": s, "amount": 1000}),
        })
        .collect();
    let body = json!({
        "amount": 1000 * sellers.len(),
        "currency": "eur",
        "splits": splits,
        "payment_method": "pm_card_visa",
    });
    let res = app
        .send(
            Method::POST,
            "/v1/charges",
            Some(body),
            &app.test_key,
            &[("Idempotency-Key", key)],
        )
        .await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    statements(&res)
}

#[tokio::test]
async fn hot_paths_run_a_fixed_number_of_statements() {
    let app = spawn_app_with(|c| {
        c.server_timing = true;
        // Counted without the in-memory caches: what a charge costs when nothing is cached,
        // and a count other tests in this binary cannot move (their changes empty the
        // caches, which are process-wide in their invalidation).
        c.cache_ttl_ms = 0;
        // Nothing in the background shares the measured connections' work.
        c.webhook_worker = false;
        c.email_worker = false;
        c.payout_worker = false;
    })
    .await;
    let mut sellers = Vec::new();
    for _ in 0..5 {
        let seller = app.create_seller(json!({"country": "DE"})).await;
        sellers.push(seller["id"].as_str().unwrap_or_default().to_owned());
    }
    // Warm: the first charge of a mode may create ledger accounts and the default fee rule.
    charge(&app, &sellers, true, "warm").await;
    charge(&app, &sellers, false, "warm-priced").await;
    let one = charge(&app, &sellers[..1], true, "one").await;
    let five = charge(&app, &sellers, true, "five").await;
    let priced_one = charge(&app, &sellers[..1], false, "priced-one").await;
    let priced_five = charge(&app, &sellers, false, "priced-five").await;
    for i in 0..100 {
        charge(&app, &sellers[..1], true, &format!("fill-{i}")).await;
    }
    let list_10 = statements(&app.get("/v1/charges?limit=10").await);
    let list_100 = statements(&app.get("/v1/charges?limit=100").await);
    let balance = statements(&app.get("/v1/balance").await);
    eprintln!(
        "statements: charge 1 split {one}, 5 splits {five}; priced by the fee rules 1 split \
         {priced_one}, 5 splits {priced_five}; list 10 {list_10}, 100 {list_100}; balance {balance}"
    );
    assert_eq!(
        list_10, list_100,
        "a page of charges costs the same at any size"
    );
    // The charge writer writes a batch with a fixed number of statements (one multi-row
    // INSERT per table, one UPDATE for every ledger account): a cart costs what one split
    // does, on either database.
    assert_eq!(five, one, "a cart costs what a single charge does");
    assert_eq!(
        priced_five, priced_one,
        "pricing a cart costs what one split does"
    );
    // Today's figures (SQLite reads an inserted row back where PostgreSQL uses RETURNING):
    // these bounds only go down.
    assert!(one <= 14, "a charge ran {one} statements");
    assert!(
        priced_one <= one + 4,
        "pricing ran {} statements",
        priced_one - one
    );
    assert!(list_100 <= 2, "a list ran {list_100} statements");
    assert!(balance <= 2, "a balance ran {balance} statements");
}
