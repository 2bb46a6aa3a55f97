//! Connected accounts, basic fields.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn create_retrieve_update_list() {
    let app = spawn_app().await;
    let created = app
        .create_account(json!({
            "country": "se",
            "email": "anna@example.se",
            "business_type": "individual",
            "metadata": {"seller_ref": "42"}
        }))
        .await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("acct_") && id.len() == 31, "{id}");
    assert_eq!(created["object"], "account");
    assert_eq!(created["livemode"], false);
    assert_eq!(created["country"], "SE");
    assert_eq!(
        created["default_currency"], "sek",
        "derived from the country"
    );
    assert_eq!(created["email"], "anna@example.se");
    assert_eq!(created["business_type"], "individual");
    assert_eq!(created["metadata"], json!({"seller_ref": "42"}));
    let created_at = created["created"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created_at).is_ok() && created_at.ends_with('Z'),
        "{created_at}"
    );

    let fetched = app.get(&format!("/v1/accounts/{id}")).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, created);

    let updated = app
        .post(
            &format!("/v1/accounts/{id}"),
            json!({"email": "anna@shop.se", "default_currency": "EUR", "business_type": "company", "metadata": {"tier": "gold"}}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["email"], "anna@shop.se");
    assert_eq!(updated.body["default_currency"], "eur");
    assert_eq!(updated.body["business_type"], "company");
    assert_eq!(
        updated.body["metadata"],
        json!({"seller_ref": "42", "tier": "gold"})
    );
    assert_eq!(updated.body["created"], created["created"]);

    // An empty email removes it.
    let cleared = app
        .post(&format!("/v1/accounts/{id}"), json!({"email": ""}))
        .await;
    assert_eq!(cleared.body["email"], json!(null));

    let list = app.get("/v1/accounts").await.body;
    assert_eq!(list["data"][0]["id"], id);
    assert_eq!(list["data"][0]["email"], json!(null));
}

#[tokio::test]
async fn bad_input_names_the_param_and_changes_nothing() {
    let app = spawn_app().await;
    for (body, param, code) in [
        (json!({"country": "ZZ"}), "country", "country_invalid"),
        (json!({"country": "SWE"}), "country", "country_invalid"),
        (
            json!({"country": "SE", "default_currency": "abc"}),
            "default_currency",
            "currency_invalid",
        ),
        (
            json!({"country": "SE", "default_currency": "xau"}),
            "default_currency",
            "currency_invalid",
        ),
        (
            json!({"country": "SE", "email": "not-an-email"}),
            "email",
            "email_invalid",
        ),
        (
            json!({"country": "SE", "email": "anna@localhost"}),
            "email",
            "email_invalid",
        ),
        (
            json!({"country": "SE", "business_type": "charity"}),
            "business_type",
            "business_type_invalid",
        ),
        (
            json!({"country": "SE", "tax_id": "123"}),
            "tax_id",
            "parameter_unknown",
        ),
        (
            json!({"country": "AQ"}),
            "default_currency",
            "parameter_missing",
        ),
    ] {
        let res = app.post("/v1/accounts", body.clone()).await;
        let error = res.error(400, "invalid_request_error");
        assert_eq!(
            (error["param"].as_str(), error["code"].as_str()),
            (Some(param), Some(code)),
            "{body}"
        );
    }
    assert_eq!(app.get("/v1/accounts").await.body["data"], json!([]));
    assert_eq!(app.get("/v1/events").await.body["data"], json!([]));

    let account = app
        .create_account(json!({"country": "SE", "email": "a@example.se"}))
        .await;
    let id = account["id"].as_str().unwrap();
    for (body, param) in [
        (json!({"country": "NO"}), "country"),
        (json!({"email": "nope"}), "email"),
        (json!({"default_currency": "sekk"}), "default_currency"),
        (json!({"livemode": true}), "livemode"),
        (json!({"metadata": {"": "v"}}), "metadata."),
    ] {
        let res = app.post(&format!("/v1/accounts/{id}"), body.clone()).await;
        assert_eq!(
            res.error(400, "invalid_request_error")["param"],
            param,
            "{body}"
        );
    }
    assert_eq!(
        app.get(&format!("/v1/accounts/{id}")).await.body,
        account,
        "nothing changed"
    );
    // Restating the same country is fine.
    let res = app
        .post(&format!("/v1/accounts/{id}"), json!({"country": "se"}))
        .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let app = spawn_app().await;
    for id in [
        "acct_01h455vb4pex5vsknk084sn02q",
        "acct_x",
        "evt_01h455vb4pex5vsknk084sn02q",
    ] {
        let res = app.get(&format!("/v1/accounts/{id}")).await;
        let error = res.error(404, "invalid_request_error");
        assert_eq!(error["code"], "resource_missing");
        assert!(error["message"].as_str().unwrap().contains(id));
        let res = app
            .post(
                &format!("/v1/accounts/{id}"),
                json!({"email": "a@example.se"}),
            )
            .await;
        res.error(404, "invalid_request_error");
    }
}
