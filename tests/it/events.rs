//! The event outbox: written with each change, readable through the API.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn changes_write_events_in_the_same_transaction() {
    let app = spawn_app().await;
    let res = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(json!({"country": "SE", "email": "a@example.se"})),
            &app.test_key.clone(),
            &[("idempotency-key", "create-1")],
        )
        .await;
    assert_eq!(res.status, 200);
    let account = res.body.clone();
    let id = account["id"].as_str().unwrap();
    let create_request = res.header("request-id").unwrap().to_owned();

    app.post(
        &format!("/v1/accounts/{id}"),
        json!({"email": "b@example.se", "metadata": {"k": "v"}}),
    )
    .await;
    // A no-op update changes nothing and records nothing.
    app.post(
        &format!("/v1/accounts/{id}"),
        json!({"email": "b@example.se"}),
    )
    .await;

    let events = app.get("/v1/events").await.body;
    let data = events["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{events}");
    let (updated, created) = (&data[0], &data[1]);

    assert_eq!(created["type"], "account.created");
    assert_eq!(created["object"], "event");
    assert!(created["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(created["account"], id);
    assert_eq!(created["data"]["object"], account);
    assert_eq!(created["request"]["id"], create_request.as_str());
    assert_eq!(created["request"]["idempotency_key"], "create-1");

    assert_eq!(updated["type"], "account.updated");
    assert_eq!(updated["data"]["object"]["email"], "b@example.se");
    assert_eq!(
        updated["data"]["previous_attributes"],
        json!({"email": "a@example.se", "metadata": {}})
    );

    let one = app
        .get(&format!("/v1/events/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(one.body, *created);

    let filtered = app.get("/v1/events?type=account.updated").await.body;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["data"][0]["id"], updated["id"]);

    app.get("/v1/events/evt_01h455vb4pex5vsknk084sn02q")
        .await
        .error(404, "invalid_request_error");
    app.get("/v1/events/acct_01h455vb4pex5vsknk084sn02q")
        .await
        .error(404, "invalid_request_error");
    assert_eq!(
        app.get("/v1/events?type=")
            .await
            .error(400, "invalid_request_error")["param"],
        "type"
    );
}

#[tokio::test]
async fn a_failed_change_writes_no_event() {
    let app = spawn_app().await;
    let account = app.create_seller(json!({"country": "SE"})).await;
    let id = account["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/v1/accounts/{id}"),
            json!({"email": "a@example.se", "default_currency": "zzz"}),
        )
        .await;
    res.error(400, "invalid_request_error");
    let events = app.get("/v1/events").await.body;
    assert_eq!(
        events["data"].as_array().unwrap().len(),
        1,
        "only account.created"
    );
    assert_eq!(
        app.get(&format!("/v1/accounts/{id}")).await.body["email"],
        json!(null)
    );
}
