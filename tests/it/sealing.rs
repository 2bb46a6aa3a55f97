//! What is sealed at rest and how it is kept (issue 15, items 4, 5, 7 and 10): identity
//! documents and bank files as private files (0600, written whole), a quota of documents per
//! account and a sweep of orphans, bank files checked against their checksum and deleted after
//! the retention, live mode refused without operator-provided keys, and the encryption key
//! rotated with every sealed value and the duplicate-bank-account check intact.


use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// A request to the server at `address` (another instance on the app's database).
async fn call_at(
    app: &TestApp,
    address: &str,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (StatusCode, Vec<u8>) {
    let mut req = app
        .client
        .request(method, format!("{address}{path}"))
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.bytes().await.unwrap().to_vec())
}

fn assert_private(path: &Path) {
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
}

// ---------------------------------------------------------------------------------------
// Item 5: live mode needs the operator's keys

fn no_operator_keys(c: &mut agora_platform::Config) {
    c.encryption_key = None;
    c.fingerprint_key = None;
}

#[tokio::test]
async fn live_mode_is_refused_without_operator_provided_keys() {
    let app = spawn_app_with(no_operator_keys).await;
    let live = app
        .send(Method::GET, "/v1/accounts", None, &app.live_key, &[])
        .await;
    let e = live.error(503, "api_error");
    assert_eq!(e["code"], "live_mode_unavailable", "{}", live.body);
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("encryption_key"), "{message}");
    assert!(message.contains("fingerprint_key"), "{message}");
    let write = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(json!({"country": "SE"})),
            &app.live_key,
            &[],
        )
        .await;
    write.error(503, "api_error");
    let count = app
        .db
        .query_one(Statement::from_string(
            app.db.get_database_backend(),
            "select count(*) as n from accounts",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(count, 0, "a refused live request changes nothing");
    // Test mode keeps working on the generated key, which is kept private.
    let test = app.get("/v1/accounts").await;
    assert_eq!(test.status, 200, "{}", test.body);
    for key in ["encryption.key", "fingerprint.key"] {
        assert_private(&app.config.data_dir.join(key));
    }

    // One key is not enough: the message names the one missing.
    let address = app
        .start_another(|c| {
            c.encryption_key = Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned())
        })
        .await;
    let (status, body) = call_at(
        &app,
        &address,
        Method::GET,
        "/v1/accounts",
        &app.live_key,
        None,
    )
    .await;
    assert_eq!(status, 503);
    let body: Value = serde_json::from_slice(&body).unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("fingerprint_key"), "{message}");
    assert!(!message.contains("encryption_key"), "{message}");
}

#[tokio::test]
async fn live_onboarding_pages_are_refused_without_operator_provided_keys() {
    let app = spawn_app_with(|_| {}).await;
    let account = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(json!({"country": "SE", "email": "anna@example.se"})),
            &app.live_key,
            &[],
        )
        .await;
    assert_eq!(account.status, 200, "{}", account.body);
    let link = |key: String| {
        let app = &app;
        let acct = id(&account.body);
        async move {
            let res = app
                .send(
                    Method::POST,
                    "/v1/account_links",
                    Some(json!({
                        "account": acct,
                        "type": "account_onboarding",
                        "refresh_url": "https://platform.example/refresh",
                        "return_url": "https://platform.example/return",
                    })),
                    &key,
                    &[],
                )
                .await;
            assert_eq!(res.status, 200, "{}", res.body);
            res.body["url"].as_str().unwrap().to_owned()
        }
    };
    let url = link(app.live_key.clone()).await;
    let path = url.trim_start_matches(&app.address).to_owned();
    // The same database served without the operator's keys (a restart without them).
    let keyless = app.start_another(no_operator_keys).await;
    let page = |address: String, path: String, cookie: Option<String>| {
        let client = app.client.clone();
        async move {
            let mut req = client.get(format!("{address}{path}"));
            if let Some(c) = cookie {
                req = req.header("Cookie", c);
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            let cookie = res
                .headers()
                .get("set-cookie")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or_default().to_owned());
            let body = res.text().await.unwrap();
            (status, cookie, body)
        }
    };
    let (status, _, body) = page(keyless.clone(), path.clone(), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("<html"), "a page, not JSON: {body}");
    // The link was not spent: the server with the keys opens it.
    let (status, cookie, _) = page(app.address.clone(), path, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie.expect("session cookie");
    let (status, _, _) = page(
        app.address.clone(),
        "/onboarding".into(),
        Some(cookie.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // A live session is refused by the server without the keys.
    let (status, _, body) = page(keyless.clone(), "/onboarding".into(), Some(cookie)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // Test-mode pages still work there.
    let test_account = app
        .create_account(json!({"country": "SE", "email": "anna@example.se"}))
        .await;
    let res = app
        .post(
            "/v1/account_links",
            json!({
                "account": id(&test_account),
                "type": "account_onboarding",
                "refresh_url": "https://platform.example/refresh",
                "return_url": "https://platform.example/return",
            }),
        )
        .await;
    let test_path = res.body["url"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.address)
        .to_owned();
    let (status, _, _) = page(keyless, test_path, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}
