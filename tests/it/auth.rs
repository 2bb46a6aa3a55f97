//! API keys and modes: who may call, and what each mode can see.

use std::time::Duration;

use agora_platform::domain::keys;
use agora_platform::infra::wire::ids::{self, IdKind};
use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn missing_malformed_unknown_and_revoked_keys_get_401() {
    let app = spawn_app().await;
    let res = app.raw(Method::GET, "/v1/accounts", &[], vec![]).await;
    assert_eq!(
        res.error(401, "authentication_error")["code"],
        "api_key_missing"
    );

    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "sk_test_abc"] {
        let res = app
            .raw(
                Method::GET,
                "/v1/accounts",
                &[("authorization", header)],
                vec![],
            )
            .await;
        assert_eq!(
            res.error(401, "authentication_error")["code"],
            "authorization_malformed",
            "{header}"
        );
    }

    let forged = "sk_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwxyz";
    let res = app
        .send(Method::GET, "/v1/accounts", None, forged, &[])
        .await;
    let error = res.error(401, "authentication_error");
    assert_eq!(error["code"], "api_key_invalid");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("wxyz") && !message.contains("AAAAAAAA"),
        "only the tail is echoed: {message}"
    );

    let res = app
        .send(Method::GET, "/v1/accounts", None, "pk_test_whatever", &[])
        .await;
    assert_eq!(
        res.error(401, "authentication_error")["code"],
        "api_key_invalid"
    );

    // Revoked: refused at once, and nothing it sends has effect.
    let created = keys::create(&app.db, keys::Mode::Test).await.unwrap();
    let res = app
        .send(Method::GET, "/v1/accounts", None, &created.secret, &[])
        .await;
    assert_eq!(res.status, 200);
    assert!(keys::revoke(&app.db, created.key.id).await.unwrap());
    assert!(
        !keys::revoke(&app.db, created.key.id).await.unwrap(),
        "revoking twice is a no-op"
    );
    let res = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(json!({"country": "SE"})),
            &created.secret,
            &[],
        )
        .await;
    assert_eq!(
        res.error(401, "authentication_error")["code"],
        "api_key_invalid"
    );
    assert_eq!(app.get("/v1/accounts").await.body["data"], json!([]));
}

#[tokio::test]
async fn keys_are_stored_hashed_and_record_their_use() {
    let app = spawn_app().await;
    let all = keys::list(&app.db).await.unwrap();
    assert_eq!(all.len(), 2);
    for key in &all {
        assert_ne!(key.secret_hash, app.test_key);
        assert_ne!(key.secret_hash, app.live_key);
        assert_eq!(key.secret_hash.len(), 64);
        assert!(key.last_used_at.is_none());
    }
    let test = all.iter().find(|k| !k.livemode).unwrap();
    assert_eq!(test.secret_hash, keys::hash_secret(&app.test_key));
    assert!(app.test_key.starts_with(&test.display_prefix));
    assert!(app.test_key.ends_with(&test.last4));

    app.get("/v1/accounts").await;
    // Recorded off the request path: give it a moment.
    let mut used = false;
    for _ in 0..50 {
        let key = keys::list(&app.db)
            .await
            .unwrap()
            .into_iter()
            .find(|k| k.id == test.id)
            .unwrap();
        if key.last_used_at.is_some() {
            used = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(used, "last_used_at was not recorded");
}

#[tokio::test]
async fn test_and_live_data_never_mix() {
    let app = spawn_app().await;
    let test_account = app.create_account(json!({"country": "SE"})).await;
    assert_eq!(test_account["livemode"], false);
    let live = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(json!({"country": "US"})),
            &app.live_key,
            &[],
        )
        .await;
    assert_eq!(live.status, 200);
    assert_eq!(live.body["livemode"], true);
    let live_id = live.body["id"].as_str().unwrap();
    let test_id = test_account["id"].as_str().unwrap();

    // Lists show only their own mode.
    let test_list = app.get("/v1/accounts").await.body;
    assert_eq!(test_list["data"].as_array().unwrap().len(), 1);
    assert_eq!(test_list["data"][0]["id"], test_id);
    let live_list = app
        .send(Method::GET, "/v1/accounts", None, &app.live_key, &[])
        .await
        .body;
    assert_eq!(live_list["data"].as_array().unwrap().len(), 1);
    assert_eq!(live_list["data"][0]["id"], live_id);

    // The other mode's objects do not exist for a key.
    let res = app.get(&format!("/v1/accounts/{live_id}")).await;
    assert_eq!(
        res.error(404, "invalid_request_error")["code"],
        "resource_missing"
    );
    let res = app
        .post(
            &format!("/v1/accounts/{live_id}"),
            json!({"email": "x@example.com"}),
        )
        .await;
    res.error(404, "invalid_request_error");
    let res = app
        .send(
            Method::GET,
            &format!("/v1/accounts/{test_id}"),
            None,
            &app.live_key,
            &[],
        )
        .await;
    res.error(404, "invalid_request_error");

    // Events too.
    let test_events = app.get("/v1/events").await.body;
    assert_eq!(test_events["data"].as_array().unwrap().len(), 1);
    assert_eq!(test_events["data"][0]["livemode"], false);
    let live_events = app
        .send(Method::GET, "/v1/events", None, &app.live_key, &[])
        .await
        .body;
    assert_eq!(live_events["data"].as_array().unwrap().len(), 1);
    let live_event_id = live_events["data"][0]["id"].as_str().unwrap();
    app.get(&format!("/v1/events/{live_event_id}"))
        .await
        .error(404, "invalid_request_error");

    // A test key cannot act for a live account.
    let res = app
        .send(
            Method::GET,
            &format!("/v1/accounts/{live_id}"),
            None,
            &app.test_key,
            &[("agora-account", live_id)],
        )
        .await;
    assert_eq!(
        res.error(403, "permission_error")["code"],
        "account_invalid"
    );
}

#[tokio::test]
async fn acting_for_a_connected_account() {
    let app = spawn_app().await;
    let mine = app.create_account(json!({"country": "SE"})).await;
    let other = app.create_account(json!({"country": "DE"})).await;
    let mine_id = mine["id"].as_str().unwrap();
    let other_id = other["id"].as_str().unwrap();
    let key = app.test_key.clone();
    let acting = [("agora-account", mine_id)];

    let res = app
        .send(
            Method::GET,
            &format!("/v1/accounts/{mine_id}"),
            None,
            &key,
            &acting,
        )
        .await;
    assert_eq!(
        (res.status.as_u16(), &res.body["id"]),
        (200, &json!(mine_id))
    );
    let res = app
        .send(
            Method::GET,
            &format!("/v1/accounts/{other_id}"),
            None,
            &key,
            &acting,
        )
        .await;
    res.error(404, "invalid_request_error");
    let res = app
        .send(Method::GET, "/v1/accounts", None, &key, &acting)
        .await;
    assert_eq!(
        res.error(403, "permission_error")["code"],
        "platform_key_required"
    );
    let res = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(json!({"country": "SE"})),
            &key,
            &acting,
        )
        .await;
    res.error(403, "permission_error");

    // It sees only its own events.
    let events = app
        .send(Method::GET, "/v1/events", None, &key, &acting)
        .await
        .body;
    let data = events["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["account"], mine_id);

    for bad in [
        "acct_nope",
        "evt_01h455vb4pex5vsknk084sn02q",
        &ids::encode(IdKind::Account, uuid::Uuid::now_v7()),
    ] {
        let res = app
            .send(
                Method::GET,
                "/v1/events",
                None,
                &key,
                &[("agora-account", bad)],
            )
            .await;
        assert_eq!(
            res.error(403, "permission_error")["code"],
            "account_invalid",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn each_key_is_rate_limited_on_its_own() {
    let app = crate::helpers::spawn_app_with(|c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = 5;
    })
    .await;
    let mut limited = None;
    for _ in 0..8 {
        let res = app.get("/v1/accounts").await;
        if res.status == 429 {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("the sixth quick request is over the burst");
    assert_eq!(res.error(429, "rate_limit_error")["code"], "rate_limited");
    assert!(res
        .header("retry-after")
        .is_some_and(|s| s.parse::<u64>().is_ok()));
    // Another key has its own bucket.
    let other = app
        .send(Method::GET, "/v1/accounts", None, &app.live_key, &[])
        .await;
    assert_eq!(other.status, 200);
}
