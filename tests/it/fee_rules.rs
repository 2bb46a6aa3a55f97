//! Fee rules and quotes: versions, the default rule, priority ties, validation, tags.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

async fn create_rule(app: &TestApp, body: Value) -> Value {
    let res = app.post("/v1/fee_rules", body).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

async fn quote(app: &TestApp, body: Value) -> Value {
    let res = app.post("/v1/fee_quotes", body).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

async fn delete(app: &TestApp, path: &str) -> crate::helpers::Response {
    app.call(Method::DELETE, path, None).await
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn list_ids(app: &TestApp, query: &str) -> Vec<String> {
    let res = app.get(&format!("/v1/fee_rules{query}")).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn create_quote_new_version_and_deactivate() {
    let app = spawn_app_with(|c| c.default_fee_percent = "1.5".parse().unwrap()).await;
    let seller = app.create_seller(json!({"country": "SE"})).await;
    let seller_id = id(&seller);

    let rule = create_rule(
        &app,
        json!({
            "priority": 10,
            "conditions": {"currencies": ["eur"], "countries": ["SE"]},
            "percent": "10",
            "fixed": {"eur": 30},
            "min": {"eur": 50},
            "max": {"eur": 5000}
        }),
    )
    .await;
    let rule_id = id(&rule);
    assert!(
        rule_id.starts_with("fee_") && rule_id.len() == 30,
        "{rule_id}"
    );
    assert_eq!(rule["object"], "fee_rule");
    assert_eq!(rule["livemode"], false);
    assert_eq!(rule["version"], 1);
    assert_eq!(rule["active"], true);
    assert_eq!(rule["default"], false);
    assert_eq!(rule["priority"], 10);
    assert_eq!(
        rule["conditions"],
        json!({
            "seller_ids": [], "seller_tags": [], "countries": ["SE"], "currencies": ["eur"],
            "payment_method_types": [], "amount_min": null, "amount_max": null,
            "cross_border": null, "valid_from": null, "valid_to": null
        })
    );
    assert_eq!(rule["percent"], "10");
    assert_eq!(rule["fixed"], json!({"eur": 30}));
    assert_eq!(rule["min"], json!({"eur": 50}));
    assert_eq!(rule["max"], json!({"eur": 5000}));
    assert_eq!(rule["tiers"], json!(null));
    assert_eq!(rule["vat"], json!(null));
    assert_eq!(rule["rounding"], "half_even");
    assert_eq!(
        app.get(&format!("/v1/fee_rules/{rule_id}")).await.body,
        rule
    );

    // 10 % of 100.00 EUR = 10.00, + 0.30 fixed = 10.30; the seller keeps 89.70.
    let q = quote(
        &app,
        json!({"amount": 10000, "currency": "eur", "destination": seller_id}),
    )
    .await;
    assert_eq!(q["object"], "fee_quote");
    assert_eq!(
        (&q["fee_amount"], &q["tax_amount"], &q["seller_amount"]),
        (&json!(1030), &json!(0), &json!(8970))
    );
    assert_eq!(q["currency"], "eur");
    assert_eq!(q["rule"], rule_id);
    assert_eq!(q["rule_version"], 1);
    assert_eq!(
        q["explanation"],
        json!([
            format!("rule {rule_id} v1 (priority 10)"),
            "10% of 100.00 EUR = 10.00 EUR",
            "+ fixed 0.30 EUR = 10.30 EUR",
            "min 0.50 EUR not hit",
            "max 50.00 EUR not hit",
            "fee 10.30 EUR + VAT 0.00 EUR, seller receives 89.70 EUR"
        ])
    );

    // Version 2 adds 25 % VAT on top: 10.30 × 0.25 = 2.575 → half-even 2.58.
    let v2 = app
        .post(
            &format!("/v1/fee_rules/{rule_id}"),
            json!({"vat": {"rate": "25", "inclusive": false}}),
        )
        .await;
    assert_eq!(v2.status, 200, "{}", v2.body);
    assert_eq!(v2.body["id"], rule_id);
    assert_eq!(v2.body["version"], 2);
    assert_eq!(v2.body["vat"], json!({"rate": "25", "inclusive": false}));
    assert_eq!(v2.body["percent"], "10", "fields not given are kept");
    let q = quote(
        &app,
        json!({"amount": 10000, "currency": "eur", "destination": seller_id}),
    )
    .await;
    assert_eq!(
        (&q["fee_amount"], &q["tax_amount"], &q["seller_amount"]),
        (&json!(1030), &json!(258), &json!(8712))
    );
    assert_eq!(q["rule_version"], 2);
    let lines = q["explanation"].as_array().unwrap();
    assert!(
        lines.contains(&json!(
            "VAT 25% exclusive on 10.30 EUR = 2.575 EUR, rounded half-even to 2.58 EUR"
        )),
        "{}",
        q["explanation"]
    );
    assert_eq!(
        lines.last().unwrap(),
        "fee 10.30 EUR + VAT 2.58 EUR, seller receives 87.12 EUR"
    );

    // Old versions stay readable as they were.
    let v1 = app.get(&format!("/v1/fee_rules/{rule_id}?version=1")).await;
    assert_eq!(v1.status, 200);
    assert_eq!(v1.body, rule);
    assert_eq!(
        app.get(&format!("/v1/fee_rules/{rule_id}")).await.body,
        v2.body
    );
    app.get(&format!("/v1/fee_rules/{rule_id}?version=3"))
        .await
        .error(404, "invalid_request_error");

    // A charge no rule matches falls to the default rule: 1.5 % of 100.00 USD.
    let q = quote(
        &app,
        json!({"amount": 10000, "currency": "usd", "destination": seller_id}),
    )
    .await;
    assert_eq!(
        (&q["fee_amount"], &q["seller_amount"]),
        (&json!(150), &json!(9850))
    );
    let default_id = q["rule"].as_str().unwrap().to_owned();
    assert_ne!(default_id, rule_id);
    let default = app.get(&format!("/v1/fee_rules/{default_id}")).await.body;
    assert_eq!(default["default"], true);
    assert_eq!(default["percent"], "1.5");
    assert_eq!(default["priority"], i32::MIN);

    // Deactivation is version 3 with active: false; quotes fall back to the default.
    let gone = delete(&app, &format!("/v1/fee_rules/{rule_id}")).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(gone.body["active"], false);
    assert_eq!(gone.body["version"], 3);
    let q = quote(
        &app,
        json!({"amount": 10000, "currency": "eur", "destination": seller_id}),
    )
    .await;
    assert_eq!(q["rule"], default_id.as_str());
    assert_eq!(q["fee_amount"], 150);
    // Deactivating again changes nothing; changing a deactivated rule is refused.
    let again = delete(&app, &format!("/v1/fee_rules/{rule_id}")).await;
    assert_eq!(again.body, gone.body);
    let res = app
        .post(&format!("/v1/fee_rules/{rule_id}"), json!({"percent": "5"}))
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "fee_rule_inactive"
    );

    // Lists: newest first, latest version of each rule, filtered by state.
    assert_eq!(
        list_ids(&app, "").await,
        vec![rule_id.to_owned(), default_id.clone()]
    );
    assert_eq!(
        list_ids(&app, "?active=false").await,
        vec![rule_id.to_owned()]
    );
    assert_eq!(
        list_ids(&app, "?active=true").await,
        vec![default_id.clone()]
    );
    assert_eq!(list_ids(&app, "?limit=1").await, vec![rule_id.to_owned()]);
    assert_eq!(
        list_ids(&app, &format!("?starting_after={rule_id}")).await,
        vec![default_id.clone()]
    );
    assert_eq!(
        list_ids(&app, &format!("?ending_before={default_id}")).await,
        vec![rule_id.to_owned()]
    );

    // Events: created, updated (v2), updated (deactivated), with previous attributes.
    let events = app.get("/v1/events?type=fee_rule.created").await.body;
    let created = events["data"].as_array().unwrap();
    assert_eq!(created.len(), 1, "{events}");
    assert_eq!(created[0]["data"]["object"], rule);
    assert_eq!(created[0]["account"], json!(null));
    let events = app.get("/v1/events?type=fee_rule.updated").await.body;
    let updated = events["data"].as_array().unwrap();
    assert_eq!(updated.len(), 2, "{events}");
    assert_eq!(updated[0]["data"]["object"], gone.body);
    assert_eq!(
        updated[0]["data"]["previous_attributes"]["active"],
        json!(true)
    );
    assert_eq!(updated[0]["data"]["previous_attributes"]["version"], 2);
    assert_eq!(updated[1]["data"]["object"], v2.body);
    assert_eq!(
        updated[1]["data"]["previous_attributes"]["vat"],
        json!(null)
    );
    assert_eq!(updated[1]["data"]["previous_attributes"]["version"], 1);

    // Test-mode rules do not exist in live mode.
    app.send(
        Method::GET,
        &format!("/v1/fee_rules/{rule_id}"),
        None,
        &app.live_key.clone(),
        &[],
    )
    .await
    .error(404, "invalid_request_error");
}

#[tokio::test]
async fn the_default_rule_always_exists_and_stays_below() {
    let app = spawn_app().await;
    let rules = app.get("/v1/fee_rules").await.body;
    let data = rules["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{rules}");
    let default = &data[0];
    assert_eq!(default["default"], true);
    assert_eq!(default["active"], true);
    assert_eq!(default["percent"], "0", "default_fee_percent defaults to 0");
    assert_eq!(default["priority"], i32::MIN);
    let default_id = id(default).to_owned();

    let res = delete(&app, &format!("/v1/fee_rules/{default_id}")).await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "default_rule_undeletable"
    );
    for (body, param, code) in [
        (json!({"priority": 0}), "priority", "default_rule_priority"),
        (
            json!({"conditions": {"currencies": ["eur"]}}),
            "conditions",
            "default_rule_conditions",
        ),
    ] {
        let res = app.post(&format!("/v1/fee_rules/{default_id}"), body).await;
        let e = res.error(400, "invalid_request_error");
        assert_eq!(
            (e["param"].as_str(), e["code"].as_str()),
            (Some(param), Some(code))
        );
    }
    // Its pricing can change: a new version.
    let v2 = app
        .post(
            &format!("/v1/fee_rules/{default_id}"),
            json!({"percent": "2"}),
        )
        .await;
    assert_eq!(v2.status, 200, "{}", v2.body);
    assert_eq!(
        (&v2.body["version"], &v2.body["percent"]),
        (&json!(2), &json!("2"))
    );

    let seller = app.create_seller(json!({"country": "NO"})).await;
    let q = quote(
        &app,
        json!({"amount": 5000, "currency": "nok", "destination": id(&seller)}),
    )
    .await;
    assert_eq!(
        (&q["rule"], &q["rule_version"], &q["fee_amount"]),
        (&json!(default_id), &json!(2), &json!(100))
    );

    // No other rule may sit at or below the default's priority.
    let res = app
        .post(
            "/v1/fee_rules",
            json!({"priority": -2_000_000, "percent": "1"}),
        )
        .await;
    let e = res.error(400, "invalid_request_error");
    assert_eq!(
        (e["param"].as_str(), e["code"].as_str()),
        (Some("priority"), Some("priority_out_of_range"))
    );

    // Each mode has its own default rule.
    let live = app
        .send(
            Method::GET,
            "/v1/fee_rules",
            None,
            &app.live_key.clone(),
            &[],
        )
        .await
        .body;
    assert_eq!(live["data"].as_array().unwrap().len(), 1);
    assert_eq!(live["data"][0]["livemode"], true);
    assert_ne!(live["data"][0]["id"], json!(default_id));
}

#[tokio::test]
async fn equal_priorities_may_not_overlap() {
    let app = spawn_app().await;
    let eur = create_rule(
        &app,
        json!({"priority": 5, "conditions": {"currencies": ["eur"]}, "percent": "3"}),
    )
    .await;
    let res = app
        .post(
            "/v1/fee_rules",
            json!({"priority": 5, "conditions": {"countries": ["SE"]}, "percent": "4"}),
        )
        .await;
    let e = res.error(400, "invalid_request_error");
    assert_eq!(
        (e["param"].as_str(), e["code"].as_str()),
        (Some("priority"), Some("priority_conflict"))
    );
    assert!(e["message"].as_str().unwrap().contains(id(&eur)), "{e}");

    // Disjoint currencies at the same priority: no charge can match both.
    let usd = create_rule(
        &app,
        json!({"priority": 5, "conditions": {"currencies": ["usd"]}, "percent": "4"}),
    )
    .await;
    // Moving it onto EUR would tie again.
    let res = app
        .post(
            &format!("/v1/fee_rules/{}", id(&usd)),
            json!({"conditions": {"currencies": ["usd", "eur"]}}),
        )
        .await;
    assert_eq!(res.error(400, "invalid_request_error")["param"], "priority");
    // A deactivated rule competes with nobody.
    assert_eq!(
        delete(&app, &format!("/v1/fee_rules/{}", id(&eur)))
            .await
            .status,
        200
    );
    let res = app
        .post(
            &format!("/v1/fee_rules/{}", id(&usd)),
            json!({"conditions": {"currencies": ["usd", "eur"]}}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["version"], 2);
}

#[tokio::test]
async fn bad_rules_name_the_param_and_change_nothing() {
    let app = spawn_app().await;
    let many: Vec<String> = (0..101).map(|_| "eur".to_owned()).collect();
    for (body, param, code) in [
        (json!({"percent": "101"}), "percent", "percent_out_of_range"),
        (json!({"percent": "-1"}), "percent", "percent_out_of_range"),
        (json!({"percent": 10}), "percent", "parameter_invalid"),
        (json!({"percent": "ten"}), "percent", "parameter_invalid"),
        (
            json!({"fixed": {"eur": -1}}),
            "fixed.eur",
            "amount_negative",
        ),
        (
            json!({"fixed": {"xyz": 1}}),
            "fixed.xyz",
            "currency_invalid",
        ),
        (
            json!({"min": {"eur": 60}, "max": {"eur": 50}}),
            "min.eur",
            "min_above_max",
        ),
        (
            json!({"conditions": {"currencies": ["xyz"]}}),
            "conditions.currencies[0]",
            "currency_invalid",
        ),
        (
            json!({"conditions": {"countries": ["SE", "SWE"]}}),
            "conditions.countries[1]",
            "country_invalid",
        ),
        (
            json!({"conditions": {"seller_ids": ["acct_01h455vb4pex5vsknk084sn02q"]}}),
            "conditions.seller_ids[0]",
            "resource_missing",
        ),
        (
            json!({"conditions": {"seller_tags": ["Gold"]}}),
            "conditions.seller_tags[0]",
            "tag_invalid",
        ),
        (
            json!({"conditions": {"valid_from": "yesterday"}}),
            "conditions.valid_from",
            "timestamp_invalid",
        ),
        (
            json!({"conditions": {"currencies": many}}),
            "conditions.currencies",
            "too_many_values",
        ),
        (
            json!({"conditions": {"colour": "red"}}),
            "conditions.colour",
            "parameter_unknown",
        ),
        (json!({"bogus": 1}), "bogus", "parameter_unknown"),
        (
            json!({"vat": {"rate": "100"}}),
            "vat.rate",
            "rate_out_of_range",
        ),
        (
            json!({"vat": {"rate": 25}}),
            "vat.rate",
            "parameter_invalid",
        ),
        (json!({"rounding": "down"}), "rounding", "parameter_invalid"),
        (
            json!({"conditions": {"currencies": ["eur"]}, "tiers": {"mode": "graduated", "tiers": [{"up_to": 100, "percent": "2"}]}}),
            "tiers.tiers[0].up_to",
            "tiers_last_must_be_unbounded",
        ),
        (
            json!({"tiers": {"mode": "volume", "tiers": [{"up_to": null, "percent": "2"}]}}),
            "conditions.currencies",
            "tiers_need_one_currency",
        ),
        (
            json!({"priority": 2_000_000}),
            "priority",
            "priority_out_of_range",
        ),
    ] {
        let res = app.post("/v1/fee_rules", body.clone()).await;
        let e = res.error(400, "invalid_request_error");
        assert_eq!(
            (e["param"].as_str(), e["code"].as_str()),
            (Some(param), Some(code)),
            "{body}: {e}"
        );
    }
    // Nothing was created (only the default rule exists) and no event was written.
    let rules = app.get("/v1/fee_rules").await.body;
    assert_eq!(rules["data"].as_array().unwrap().len(), 1, "{rules}");
    assert_eq!(rules["data"][0]["default"], true);
    assert_eq!(app.get("/v1/events").await.body["data"], json!([]));

    // The same checks apply to updates, and a refused update makes no version.
    let rule = create_rule(&app, json!({"percent": "1"})).await;
    let path = format!("/v1/fee_rules/{}", id(&rule));
    for (body, param) in [
        (json!({"percent": "100.5"}), "percent"),
        (json!({"fixed": {"sek": -5}}), "fixed.sek"),
        (json!({"version": 9}), "version"),
    ] {
        let res = app.post(&path, body.clone()).await;
        assert_eq!(
            res.error(400, "invalid_request_error")["param"],
            param,
            "{body}"
        );
    }
    assert_eq!(app.get(&path).await.body, rule);
    app.get("/v1/fee_rules/fee_01h455vb4pex5vsknk084sn02q")
        .await
        .error(404, "invalid_request_error");
    app.get("/v1/fee_rules/acct_01h455vb4pex5vsknk084sn02q")
        .await
        .error(404, "invalid_request_error");
}

#[tokio::test]
async fn connected_accounts_cannot_touch_fee_rules() {
    let app = spawn_app().await;
    let seller = app.create_seller(json!({"country": "SE"})).await;
    let rule = create_rule(&app, json!({"percent": "1"})).await;
    let acting = [("agora-account", id(&seller))];
    let key = app.test_key.clone();
    for (method, path, body) in [
        (
            Method::POST,
            "/v1/fee_rules".to_owned(),
            Some(json!({"percent": "2"})),
        ),
        (Method::GET, "/v1/fee_rules".to_owned(), None),
        (Method::GET, format!("/v1/fee_rules/{}", id(&rule)), None),
        (
            Method::POST,
            format!("/v1/fee_rules/{}", id(&rule)),
            Some(json!({"percent": "2"})),
        ),
        (Method::DELETE, format!("/v1/fee_rules/{}", id(&rule)), None),
        (
            Method::POST,
            "/v1/fee_quotes".to_owned(),
            Some(json!({"amount": 100, "currency": "sek", "destination": id(&seller)})),
        ),
    ] {
        let res = app.send(method.clone(), &path, body, &key, &acting).await;
        assert_eq!(
            res.error(403, "permission_error")["code"],
            "platform_key_required",
            "{method} {path}"
        );
    }
    assert_eq!(
        app.get(&format!("/v1/fee_rules/{}", id(&rule))).await.body,
        rule
    );
}

#[tokio::test]
async fn a_repeated_create_replays() {
    let app = spawn_app().await;
    let body = json!({"priority": 1, "percent": "2.5"});
    let key = app.test_key.clone();
    let first = app
        .send(
            Method::POST,
            "/v1/fee_rules",
            Some(body.clone()),
            &key,
            &[("idempotency-key", "r1")],
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = app
        .send(
            Method::POST,
            "/v1/fee_rules",
            Some(body),
            &key,
            &[("idempotency-key", "r1")],
        )
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.body, first.body);
    assert_eq!(
        list_ids(&app, "?active=true").await.len(),
        2,
        "the rule and the default"
    );
    let events = app.get("/v1/events?type=fee_rule.created").await.body;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn seller_tags_select_rules() {
    let app = spawn_app().await;
    let gold = app
        .create_seller(json!({"country": "SE", "tags": ["gold", "eu-seller"]}))
        .await;
    assert_eq!(gold["tags"], json!(["gold", "eu-seller"]));
    assert_eq!(
        app.get(&format!("/v1/accounts/{}", id(&gold))).await.body,
        gold
    );
    let plain = app.create_seller(json!({"country": "SE"})).await;
    assert_eq!(plain["tags"], json!([]));

    // The example rule.
    let rule = create_rule(
        &app,
        json!({"priority": 10, "conditions": {"currencies": ["eur"], "countries": ["SE"], "seller_tags": ["gold"]}, "percent": "10", "fixed": {"eur": 30}, "min": {"eur": 50}, "max": {"eur": 5000}, "vat": {"rate": "25", "inclusive": false}}),
    )
    .await;
    let charge = |dest: &str| json!({"amount": 10000, "currency": "eur", "destination": dest});
    let q = quote(&app, charge(id(&gold))).await;
    assert_eq!(q["rule"], id(&rule));
    assert_eq!(
        (&q["fee_amount"], &q["tax_amount"], &q["seller_amount"]),
        (&json!(1030), &json!(258), &json!(8712))
    );
    let q = quote(&app, charge(id(&plain))).await;
    assert_ne!(q["rule"], id(&rule));
    assert_eq!(q["fee_amount"], 0);

    // Tags are replaced as a whole; the rule stops matching.
    let updated = app
        .post(
            &format!("/v1/accounts/{}", id(&gold)),
            json!({"tags": ["silver"]}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["tags"], json!(["silver"]));
    let q = quote(&app, charge(id(&gold))).await;
    assert_ne!(q["rule"], id(&rule));
    let events = app.get("/v1/events?type=account.updated").await.body;
    assert_eq!(
        events["data"][0]["data"]["previous_attributes"],
        json!({"tags": ["gold", "eu-seller"]})
    );

    // Tag limits.
    let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    for (body, param, code) in [
        (
            json!({"country": "SE", "tags": ["Gold"]}),
            "tags[0]",
            "tag_invalid",
        ),
        (
            json!({"country": "SE", "tags": ["a", "a"]}),
            "tags[1]",
            "tag_duplicate",
        ),
        (
            json!({"country": "SE", "tags": [""]}),
            "tags[0]",
            "tag_invalid",
        ),
        (
            json!({"country": "SE", "tags": many}),
            "tags",
            "tags_too_many",
        ),
    ] {
        let res = app.post("/v1/accounts", body.clone()).await;
        let e = res.error(400, "invalid_request_error");
        assert_eq!(
            (e["param"].as_str(), e["code"].as_str()),
            (Some(param), Some(code)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn quotes_check_their_input_and_see_cross_border() {
    let app = spawn_app().await;
    let seller = app.create_seller(json!({"country": "SE"})).await;
    let dest = id(&seller);
    let cross = create_rule(
        &app,
        json!({"priority": 20, "conditions": {"cross_border": true}, "percent": "5"}),
    )
    .await;
    let q = quote(
        &app,
        json!({"amount": 1000, "currency": "sek", "destination": dest, "payment_method_country": "US"}),
    )
    .await;
    assert_eq!(
        (&q["rule"], &q["fee_amount"]),
        (&json!(id(&cross)), &json!(50))
    );
    let q = quote(
        &app,
        json!({"amount": 1000, "currency": "sek", "destination": dest, "payment_method_country": "se"}),
    )
    .await;
    assert_ne!(q["rule"], id(&cross));
    let q = quote(
        &app,
        json!({"amount": 1000, "currency": "sek", "destination": dest}),
    )
    .await;
    assert_ne!(q["rule"], id(&cross), "no payment method country: domestic");

    for (body, param) in [
        (
            json!({"amount": 0, "currency": "sek", "destination": dest}),
            "amount",
        ),
        (
            json!({"amount": -5, "currency": "sek", "destination": dest}),
            "amount",
        ),
        (
            json!({"amount": 100, "currency": "xyz", "destination": dest}),
            "currency",
        ),
        (
            json!({"amount": 100, "currency": "sek", "destination": "acct_01h455vb4pex5vsknk084sn02q"}),
            "destination",
        ),
        (
            json!({"amount": 100, "currency": "sek", "destination": "nope"}),
            "destination",
        ),
        (
            json!({"amount": 100, "currency": "sek", "destination": dest, "payment_method_country": "ZZ"}),
            "payment_method_country",
        ),
        (
            json!({"amount": 100, "currency": "sek", "destination": dest, "payment_method_type": "Card!"}),
            "payment_method_type",
        ),
        (json!({"amount": 100, "currency": "sek"}), "destination"),
        (
            json!({"amount": 100, "currency": "sek", "destination": dest, "extra": 1}),
            "extra",
        ),
    ] {
        let res = app.post("/v1/fee_quotes", body.clone()).await;
        assert_eq!(
            res.error(400, "invalid_request_error")["param"],
            param,
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_lists_the_fee_routes() {
    let app = spawn_app().await;
    let spec = app.get("/v1/openapi.json").await.body;
    let paths = &spec["paths"];
    assert!(paths["/v1/fee_rules"]["post"].is_object());
    assert!(paths["/v1/fee_rules"]["get"].is_object());
    assert!(paths["/v1/fee_rules/{id}"]["get"].is_object());
    assert!(paths["/v1/fee_rules/{id}"]["post"].is_object());
    assert!(paths["/v1/fee_rules/{id}"]["delete"].is_object());
    assert!(paths["/v1/fee_quotes"]["post"].is_object());
}

#[tokio::test]
async fn concurrent_first_uses_and_tied_creates_stay_consistent() {
    use sea_orm::{ConnectionTrait, Statement};

    let app = spawn_app().await;
    // Ten requests race to need the default rule first: one default row per mode results.
    let lists = futures_util::future::join_all((0..10).map(|_| app.get("/v1/fee_rules"))).await;
    for res in &lists {
        assert_eq!(res.status, 200, "{}", res.body);
    }
    let backend = app.db.get_database_backend();
    let count = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            db.query_one(Statement::from_string(backend, sql))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<i64>(0)
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM fee_rules WHERE is_default = true AND livemode = false").await,
        1
    );

    // Ten tied, overlapping creates race: exactly one gets through.
    let results = futures_util::future::join_all((0..10).map(|i| {
        app.post(
            "/v1/fee_rules",
            json!({"priority": 7, "percent": format!("{i}")}),
        )
    }))
    .await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        results.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for res in results.iter().filter(|r| r.status != 200) {
        assert_eq!(
            res.error(400, "invalid_request_error")["code"],
            "priority_conflict"
        );
    }
    assert_eq!(
        count("SELECT COUNT(*) FROM fee_rules WHERE priority = 7").await,
        1
    );
}
