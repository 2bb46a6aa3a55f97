//! The HTTP conventions every route shares: error shapes, request ids, limits, probes, docs.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn unknown_route_is_a_json_404_with_request_id() {
    let app = spawn_app().await;
    let res = app.get("/v1/nothing-here").await;
    let error = res.error(404, "invalid_request_error");
    assert_eq!(error["code"], "route_not_found");
    assert!(res.header("request-id").unwrap().starts_with("req_"));
}

#[tokio::test]
async fn wrong_method_is_a_json_405_with_allow() {
    let app = spawn_app().await;
    let res = app.call(Method::DELETE, "/v1/accounts", None).await;
    let error = res.error(405, "invalid_request_error");
    assert_eq!(error["code"], "method_not_allowed");
    assert_eq!(res.header("allow"), Some("GET, POST"));
    let res = app
        .call(
            Method::PUT,
            "/v1/events/evt_01h455vb4pex5vsknk084sn02q",
            None,
        )
        .await;
    res.error(405, "invalid_request_error");
    assert_eq!(res.header("allow"), Some("GET"));
}

#[tokio::test]
async fn body_over_the_limit_is_a_json_413_and_creates_nothing() {
    let app = spawn_app().await;
    let big = "x".repeat(300 * 1024);
    let res = app
        .post(
            "/v1/accounts",
            json!({"country": "SE", "metadata": {"k": big}}),
        )
        .await;
    let error = res.error(413, "invalid_request_error");
    assert_eq!(error["code"], "body_too_large");
    assert_eq!(app.get("/v1/accounts").await.body["data"], json!([]));
}

#[tokio::test]
async fn non_json_body_is_a_json_415() {
    let app = spawn_app().await;
    let auth = format!("Bearer {}", app.test_key);
    let res = app
        .raw(
            Method::POST,
            "/v1/accounts",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            b"country=SE".to_vec(),
        )
        .await;
    let error = res.error(415, "invalid_request_error");
    assert_eq!(error["code"], "unsupported_media_type");
    // JSON with a charset parameter is still JSON.
    let res = app
        .raw(
            Method::POST,
            "/v1/accounts",
            &[
                ("authorization", &auth),
                ("content-type", "application/json; charset=utf-8"),
            ],
            br#"{"country":"SE"}"#.to_vec(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

#[tokio::test]
async fn malformed_json_and_wrong_fields_name_the_param() {
    let app = spawn_app().await;
    let auth = format!("Bearer {}", app.test_key);
    let res = app
        .raw(
            Method::POST,
            "/v1/accounts",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            br#"{"country": "SE",,}"#.to_vec(),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "parse_error"
    );

    let res = app
        .post("/v1/accounts", json!({"country": "SE", "colour": "red"}))
        .await;
    let error = res.error(400, "invalid_request_error");
    assert_eq!(
        (error["code"].as_str(), error["param"].as_str()),
        (Some("parameter_unknown"), Some("colour"))
    );

    let res = app.post("/v1/accounts", json!({"country": 46})).await;
    let error = res.error(400, "invalid_request_error");
    assert_eq!(
        (error["code"].as_str(), error["param"].as_str()),
        (Some("parameter_invalid"), Some("country"))
    );

    let res = app
        .post("/v1/accounts", json!({"email": "a@example.com"}))
        .await;
    let error = res.error(400, "invalid_request_error");
    assert_eq!(
        (error["code"].as_str(), error["param"].as_str()),
        (Some("parameter_missing"), Some("country"))
    );

    let res = app
        .post(
            "/v1/accounts",
            json!({"country": "SE", "metadata": {"k": 1}}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["param"],
        "metadata.k"
    );

    // None of it created anything.
    assert_eq!(app.get("/v1/accounts").await.body["data"], json!([]));
}

#[tokio::test]
async fn every_response_has_a_distinct_request_id() {
    let app = spawn_app().await;
    let mut seen = HashSet::new();
    for path in ["/healthz", "/readyz", "/v1/accounts", "/v1/nope", "/"] {
        let res = app.get(path).await;
        let id = res
            .header("request-id")
            .unwrap_or_else(|| panic!("no Request-Id on {path}"))
            .to_owned();
        assert!(id.starts_with("req_") && id.len() == 30, "{id}");
        assert!(seen.insert(id), "request ids repeat");
    }
    let res = app.raw(Method::GET, "/v1/accounts", &[], vec![]).await;
    assert!(res.header("request-id").is_some());
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let res = app.raw(Method::GET, "/healthz", &[], vec![]).await;
    assert_eq!(
        (res.status.as_u16(), &res.body["status"]),
        (200, &json!("ok"))
    );
    let res = app.raw(Method::GET, "/readyz", &[], vec![]).await;
    assert_eq!(
        (res.status.as_u16(), &res.body["status"]),
        (200, &json!("ready"))
    );

    // With the database gone, the process is still up but not ready.
    app.db.clone().close().await.unwrap();
    let res = app.raw(Method::GET, "/readyz", &[], vec![]).await;
    assert_eq!(res.error(503, "api_error")["code"], "database_unavailable");
    let res = app.raw(Method::GET, "/healthz", &[], vec![]).await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn openapi_document_describes_the_routes() {
    let app = spawn_app().await;
    let res = app.raw(Method::GET, "/v1/openapi.json", &[], vec![]).await;
    assert_eq!(res.status, 200);
    let spec = res.body;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/v1/accounts", "get"),
        ("/v1/accounts", "post"),
        ("/v1/accounts/{id}", "get"),
        ("/v1/accounts/{id}", "post"),
        ("/v1/events", "get"),
        ("/v1/events/{id}", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/v1/charges", "post"),
        ("/v1/charges/{id}/capture", "post"),
        ("/v1/refunds", "post"),
        ("/v1/transfers/{id}/reversals", "post"),
        ("/v1/disputes/{id}/close", "post"),
        ("/v1/balance", "get"),
        ("/v1/balance_transactions", "get"),
        ("/v1/fee_rules", "post"),
        ("/v1/fee_quotes", "post"),
        ("/v1/test_helpers/advance_clock", "post"),
    ] {
        assert!(
            spec["paths"][path][method].is_object(),
            "{method} {path} missing from the spec"
        );
    }
    assert!(spec["components"]["schemas"]["AccountObject"].is_object());
    assert!(spec["components"]["securitySchemes"]["api_key"].is_object());
}

#[tokio::test]
async fn docs_work_offline() {
    let app = spawn_app().await;
    let res = app.raw(Method::GET, "/docs", &[], vec![]).await;
    assert!(res.status.is_redirection());
    let res = app.raw(Method::GET, "/docs/", &[], vec![]).await;
    assert_eq!(res.status, 200);
    let html = res.body.as_str().unwrap().to_owned();
    assert!(html.contains("swagger"), "{html}");
    // Everything the page loads comes from this server: no CDN.
    for needle in ["src=\"http", "href=\"http", "unpkg", "jsdelivr", "cdnjs"] {
        assert!(!html.contains(needle), "docs page loads {needle}…");
    }
    for asset in [
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
        "/docs/swagger-initializer.js",
    ] {
        let res = app.raw(Method::GET, asset, &[], vec![]).await;
        assert_eq!(res.status, 200, "{asset}");
    }
    let init = app
        .raw(Method::GET, "/docs/swagger-initializer.js", &[], vec![])
        .await;
    assert!(init.body.as_str().unwrap().contains("/v1/openapi.json"));
}

#[tokio::test]
async fn landing_page_and_stylesheet() {
    let app = spawn_app().await;
    let res = app.raw(Method::GET, "/", &[], vec![]).await;
    assert_eq!(res.status, 200);
    let html = res.body.as_str().unwrap();
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/static/agora.css\">"));
    assert!(html.contains("Agora is running"));
    let css = app.raw(Method::GET, "/static/agora.css", &[], vec![]).await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
}

#[tokio::test]
async fn pagination_walks_newest_first_in_both_directions() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let account = app
            .create_account(json!({"country": "SE", "metadata": {"n": i.to_string()}}))
            .await;
        ids.push(account["id"].as_str().unwrap().to_owned());
    }
    ids.reverse(); // newest first
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();

    let page = app.get("/v1/accounts?limit=2").await.body;
    assert_eq!(page["object"], "list");
    assert_eq!(page["has_more"], true);
    let got: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, &ids[0..2]);

    let page = app
        .get(&format!("/v1/accounts?limit=2&starting_after={}", ids[1]))
        .await
        .body;
    let got: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        (got.as_slice(), page["has_more"].as_bool()),
        (&ids[2..4], Some(true))
    );

    let page = app
        .get(&format!("/v1/accounts?limit=2&starting_after={}", ids[3]))
        .await
        .body;
    let got: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        (got.as_slice(), page["has_more"].as_bool()),
        (&ids[4..5], Some(false))
    );

    let page = app
        .get(&format!("/v1/accounts?limit=2&ending_before={}", ids[4]))
        .await
        .body;
    let got: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        (got.as_slice(), page["has_more"].as_bool()),
        (&ids[2..4], Some(true))
    );

    let page = app.get("/v1/accounts").await.body;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        5,
        "default limit 10 holds all five"
    );

    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        (
            "starting_after=evt_01h455vb4pex5vsknk084sn02q",
            "starting_after",
        ),
        ("ending_before=acct_nope", "ending_before"),
        ("sort=asc", "sort"),
    ] {
        let res = app.get(&format!("/v1/accounts?{query}")).await;
        assert_eq!(
            res.error(400, "invalid_request_error")["param"],
            param,
            "{query}"
        );
    }
    let res = app
        .get(&format!(
            "/v1/accounts?starting_after={}&ending_before={}",
            ids[0], ids[1]
        ))
        .await;
    res.error(400, "invalid_request_error");
}

#[tokio::test]
async fn metadata_limits_and_merge() {
    let app = spawn_app().await;
    let fifty: serde_json::Map<String, serde_json::Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let account = app
        .create_account(json!({"country": "SE", "metadata": fifty}))
        .await;
    let id = account["id"].as_str().unwrap();

    let res = app
        .post(
            &format!("/v1/accounts/{id}"),
            json!({"metadata": {"one_more": "v"}}),
        )
        .await;
    let error = res.error(400, "invalid_request_error");
    assert_eq!(
        (error["code"].as_str(), error["param"].as_str()),
        (Some("metadata_too_many_keys"), Some("metadata"))
    );

    // Removing one makes room for another, in one request.
    let res = app
        .post(
            &format!("/v1/accounts/{id}"),
            json!({"metadata": {"k0": "", "one_more": "v"}}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body["metadata"].get("k0").is_none());
    assert_eq!(res.body["metadata"]["one_more"], "v");
    assert_eq!(res.body["metadata"].as_object().unwrap().len(), 50);

    let long_key = "k".repeat(41);
    let res = app
        .post(
            "/v1/accounts",
            json!({"country": "SE", "metadata": {long_key.clone(): "v"}}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["param"],
        format!("metadata.{long_key}")
    );
    let res = app
        .post(
            "/v1/accounts",
            json!({"country": "SE", "metadata": {"k": "v".repeat(501)}}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "metadata_value_too_long"
    );
    let res = app
        .post(
            "/v1/accounts",
            json!({"country": "SE", "metadata": {"k": "v".repeat(500), "ok": "é".repeat(500)}}),
        )
        .await;
    assert_eq!(res.status, 200);
}

/// One situation, one code: an id in the body that names nothing in this mode is 400
/// `resource_missing` with `param` naming the field, wherever it is; a malformed one is
/// `parameter_invalid`; an id in the path that names nothing is 404 `resource_missing`.
#[tokio::test]
async fn unknown_ids_answer_resource_missing_everywhere() {
    let app = spawn_app().await;
    let seller = app.create_seller(json!({"country": "SE"})).await;
    let seller = seller["id"].as_str().unwrap();
    let charge = app
        .post(
            "/v1/charges",
            json!({"amount": 1000, "currency": "eur", "destination": seller, "payment_method": "pm_card_visa"}),
        )
        .await;
    assert_eq!(charge.status, 200, "{}", charge.body);
    let event = app.get("/v1/events?limit=1").await.body["data"][0]["id"].clone();
    // Well formed, but nothing of the kind exists in test mode (this one is a live account).
    let live = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(json!({"country": "SE"})),
            &app.live_key,
            &[],
        )
        .await;
    let nobody = live.body["id"].as_str().unwrap();
    let no_charge = "ch_01h455vb4pex5vsknk084sn02q";
    let cases = [
        (
            "/v1/charges".to_owned(),
            json!({"amount": 1000, "currency": "eur", "destination": nobody, "payment_method": "pm_card_visa"}),
            "destination",
        ),
        (
            "/v1/charges".to_owned(),
            json!({"amount": 1000, "currency": "eur", "destination": nobody, "application_fee_amount": 100, "payment_method": "pm_card_visa"}),
            "destination",
        ),
        (
            "/v1/charges".to_owned(),
            json!({"amount": 1000, "currency": "eur", "payment_method": "pm_card_visa",
                   "splits": [{"destination": seller, "amount": 500}, {"destination": nobody, "amount": 500}]}),
            "splits[1].destination",
        ),
        (
            "/v1/fee_quotes".to_owned(),
            json!({"amount": 1000, "currency": "eur", "destination": nobody}),
            "destination",
        ),
        (
            "/v1/fee_rules".to_owned(),
            json!({"percent": "1", "conditions": {"seller_ids": [seller, nobody]}}),
            "conditions.seller_ids[1]",
        ),
        (
            "/v1/transfers".to_owned(),
            json!({"amount": 100, "currency": "eur", "destination": nobody}),
            "destination",
        ),
        (
            "/v1/transfers".to_owned(),
            json!({"amount": 100, "currency": "eur", "destination": seller, "source_transaction": no_charge}),
            "source_transaction",
        ),
        (
            "/v1/refunds".to_owned(),
            json!({"charge": no_charge}),
            "charge",
        ),
        (
            "/v1/payouts".to_owned(),
            json!({"amount": 100, "currency": "eur", "account": nobody}),
            "account",
        ),
        (
            "/v1/account_links".to_owned(),
            json!({"account": nobody, "type": "account_onboarding",
                   "refresh_url": "https://p.example/r", "return_url": "https://p.example/s"}),
            "account",
        ),
        (
            format!("/v1/accounts/{seller}"),
            json!({"individual": {"verification": {"document": "file_01h455vb4pex5vsknk084sn02q"}}}),
            "individual.verification.document",
        ),
        (
            format!("/v1/events/{}/redeliver", event.as_str().unwrap()),
            json!({"endpoint": "we_01h455vb4pex5vsknk084sn02q"}),
            "endpoint",
        ),
    ];
    for (path, body, param) in &cases {
        let res = app.post(path, body.clone()).await;
        let error = res.error(400, "invalid_request_error");
        assert_eq!(
            (error["code"].as_str(), error["param"].as_str()),
            (Some("resource_missing"), Some(*param)),
            "{path} {body}: {}",
            res.body
        );
    }
    // A malformed id is a bad parameter, not a missing object.
    for (path, body, param) in [
        (
            "/v1/fee_quotes",
            json!({"amount": 1000, "currency": "eur", "destination": "seller-42"}),
            "destination",
        ),
        (
            "/v1/fee_rules",
            json!({"percent": "1", "conditions": {"seller_ids": ["ch_01h455vb4pex5vsknk084sn02q"]}}),
            "conditions.seller_ids[0]",
        ),
        (
            "/v1/account_links",
            json!({"account": "nope", "type": "account_onboarding",
                   "refresh_url": "https://p.example/r", "return_url": "https://p.example/s"}),
            "account",
        ),
    ] {
        let res = app.post(path, body.clone()).await;
        let error = res.error(400, "invalid_request_error");
        assert_eq!(
            (error["code"].as_str(), error["param"].as_str()),
            (Some("parameter_invalid"), Some(param)),
            "{path} {body}: {}",
            res.body
        );
    }
    // An id in the path: 404.
    for path in [
        format!("/v1/accounts/{nobody}"),
        format!("/v1/charges/{no_charge}"),
        "/v1/fee_rules/fee_01h455vb4pex5vsknk084sn02q".to_owned(),
        "/v1/webhook_endpoints/we_01h455vb4pex5vsknk084sn02q".to_owned(),
    ] {
        let res = app.get(&path).await;
        let error = res.error(404, "invalid_request_error");
        assert_eq!(error["code"], "resource_missing", "{path}");
    }
}

/// Words only Rust (or serde) would use for a type: none may reach a client.
fn speaks_rust(message: &str) -> bool {
    const RUST: &[&str] = &[
        "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize", "isize", "f64", "struct",
        "enum", "Option", "variant", "sequence", "map", "unit", "tuple", "String", "Vec",
        "BTreeMap", "Param", "Request",
    ];
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| RUST.contains(&w) || w.ends_with("Param") || w.ends_with("Request"))
}

#[tokio::test]
async fn wrong_types_are_explained_in_api_terms() {
    let app = spawn_app().await;
    let seller = app.create_seller(json!({"country": "SE"})).await;
    let seller = seller["id"].as_str().unwrap();
    let charge = |extra: serde_json::Value| {
        let mut body = json!({"amount": 10000, "currency": "eur", "destination": seller, "payment_method": "pm_card_visa"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (
            "/v1/charges",
            charge(json!({"amount": "10000"})),
            "amount",
            "amount must be an integer number of minor units, not the string \"10000\"",
        ),
        (
            "/v1/charges",
            charge(json!({"amount": 100.5})),
            "amount",
            "amount must be an integer number of minor units, not 100.5",
        ),
        (
            "/v1/charges",
            charge(json!({"amount": 1e20})),
            "amount",
            "amount is too large",
        ),
        (
            "/v1/charges",
            charge(json!({"capture": "yes"})),
            "capture",
            "capture must be true or false, not the string \"yes\"",
        ),
        (
            "/v1/charges",
            charge(json!({"metadata": ["order", "42"]})),
            "metadata",
            "metadata must be an object, not a list",
        ),
        (
            "/v1/charges",
            charge(
                json!({"destination": null, "splits": [{"destination": seller, "amount": "10000"}]}),
            ),
            "splits[0].amount",
            "splits[0].amount must be an integer number of minor units, not the string \"10000\"",
        ),
        (
            "/v1/fee_rules",
            json!({"percent": 2.9}),
            "percent",
            "percent must be a decimal number written as a string, such as \"2.9\", not 2.9",
        ),
        (
            "/v1/fee_rules",
            json!({"percent": "1", "fixed": {"eur": "30"}}),
            "fixed.eur",
            "fixed.eur must be an integer number of minor units, not the string \"30\"",
        ),
        (
            "/v1/fee_rules",
            json!({"percent": "1", "rounding": 1}),
            "rounding",
            "rounding must be one of: half_even, half_up, not 1",
        ),
        (
            "/v1/fee_rules",
            json!({"percent": "1", "priority": 3_000_000_000_i64}),
            "priority",
            "priority is too large (at most 2147483647)",
        ),
        (
            "/v1/accounts",
            json!({"country": "SE", "settlement_delay_days": "2"}),
            "settlement_delay_days",
            "settlement_delay_days must be an integer, not the string \"2\"",
        ),
        (
            "/v1/webhook_endpoints",
            json!({"url": "http://localhost:9/x", "enabled_events": "charge.*"}),
            "enabled_events",
            "enabled_events must be a list, not the string \"charge.*\"",
        ),
        (
            "/v1/transfers",
            json!({"amount": true, "currency": "eur", "destination": seller}),
            "amount",
            "amount must be an integer number of minor units, not true",
        ),
        (
            "/v1/payouts",
            json!({"amount": [5000], "currency": "eur", "account": seller}),
            "amount",
            "amount must be an integer number of minor units, not a list",
        ),
        (
            "/v1/test_helpers/advance_clock",
            json!({"seconds": "60"}),
            "seconds",
            "seconds must be an integer, not the string \"60\"",
        ),
    ];
    for (path, body, param, message) in cases {
        let res = app.post(path, body.clone()).await;
        let error = res.error(400, "invalid_request_error");
        assert_eq!(
            error["code"], "parameter_invalid",
            "{path} {body}: {}",
            res.body
        );
        assert_eq!(error["param"], param, "{path} {body}: {}", res.body);
        assert_eq!(error["message"], message, "{path} {body}");
        assert!(!speaks_rust(message), "{message}");
    }
    // Query strings too.
    for (path, param, message) in [
        ("/v1/charges?limit=ten", "limit", "limit must be an integer"),
        (
            "/v1/fee_rules?active=yes",
            "active",
            "active must be true or false",
        ),
        (
            "/v1/accounts?limit=99999999999999999999",
            "limit",
            "limit is too large",
        ),
    ] {
        let res = app.get(path).await;
        let error = res.error(400, "invalid_request_error");
        assert_eq!(error["code"], "parameter_invalid", "{path}: {}", res.body);
        assert_eq!(error["param"], param, "{path}: {}", res.body);
        assert_eq!(error["message"], message, "{path}");
        assert!(!speaks_rust(message), "{message}");
    }
    // Nothing was made.
    assert_eq!(app.get("/v1/charges").await.body["data"], json!([]));
    assert_eq!(
        app.get("/v1/webhook_endpoints").await.body["data"],
        json!([])
    );
}
