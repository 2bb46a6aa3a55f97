//! Restricted keys and the authorisation matrix: every route of the OpenAPI document × {no
//! key, test key, live key, restricted key without the permission, restricted key with it,
//! revoked key}; and what comes before a key is known (limits per client address, the
//! request's whole-body deadline).

use std::collections::BTreeMap;
use std::time::Duration;

use agora_platform::adapters::gateway::permissions::{self, Need};
use agora_platform::domain::keys::{Access, Permission, Resource};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

/// A well-formed id that names nothing, of the kind the path segment before it holds.
fn absent_id(segment: &str) -> String {
    let prefix = match segment {
        "accounts" => "acct",
        "external_accounts" => "ba",
        "files" => "file",
        "reviews" => "rv",
        "events" => "evt",
        "charges" => "ch",
        "refunds" => "re",
        "transfers" => "tr",
        "payouts" => "po",
        "payout_batches" => "pb",
        "disputes" => "dp",
        "fee_rules" => "fee",
        "webhook_endpoints" => "we",
        "restricted_keys" => "key",
        other => panic!("no id kind known for /{other}/{{…}}: add it here"),
    };
    format!("{prefix}_01h455vb4pex5vsknk084sn02q")
}

/// `/v1/accounts/{id}/external_accounts/{bank}` with absent ids in the braces.
fn concrete(template: &str) -> String {
    let mut out = Vec::new();
    let mut previous = "";
    for segment in template.split('/') {
        if segment.starts_with('{') {
            out.push(absent_id(previous));
        } else {
            out.push(segment.to_owned());
        }
        previous = segment;
    }
    out.join("/")
}

async fn create_restricted(app: &TestApp, permissions: &[String]) -> Value {
    let res = app
        .post(
            "/v1/restricted_keys",
            json!({"permissions": permissions, "name": "matrix"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

fn every_permission_but(needed: Permission) -> Vec<String> {
    let mut list: Vec<String> = Resource::ALL
        .into_iter()
        .filter(|r| *r != needed.resource)
        .map(|r| Permission::new(r, Access::Write).to_string())
        .collect();
    if needed.access == Access::Write {
        // Read on the same resource does not make a write.
        list.push(Permission::new(needed.resource, Access::Read).to_string());
    }
    list
}

async fn call(app: &TestApp, method: &Method, path: &str, key: Option<&str>) -> (u16, Value) {
    let body = (*method != Method::GET).then(|| json!({}));
    let res = match key {
        Some(key) => app.send(method.clone(), path, body, key, &[]).await,
        None => {
            let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
            app.raw(
                method.clone(),
                path,
                &[("content-type", "application/json")],
                bytes,
            )
            .await
        }
    };
    (res.status.as_u16(), res.body)
}

#[tokio::test]
async fn authorisation_matrix_over_every_route() {
    // Hundreds of requests from one address, many with bad keys on purpose: the per-address
    // limit has its own test below.
    let app = spawn_app_with(|c| c.ip_rate_limit_per_second = 0).await;
    // The restricted keys act on a twin: the same fresh state, and the same requests in the
    // same order as the secret test key sends to `app`, so a write the secret key made (an
    // empty POST that creates something) cannot change the restricted key's answer.
    let twin = spawn_app_with(|c| c.ip_rate_limit_per_second = 0).await;
    let spec = app.get("/v1/openapi.json").await.body;
    let mut routes = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(under) = path.strip_prefix("/v1") else {
            continue; // /healthz, /readyz: no key at all
        };
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            routes.push((method, under.to_owned()));
        }
    }
    // The table and the document list the same routes: none is open by being forgotten.
    assert_eq!(
        routes.len(),
        permissions::ROUTES.len(),
        "routes in the OpenAPI document vs the permission table"
    );
    for (method, path) in &routes {
        assert!(
            permissions::ROUTES
                .iter()
                .any(|(m, p, _)| *m == method.as_str() && p == path),
            "{method} {path} is not in gateway::permissions::ROUTES"
        );
    }

    // One key with exactly the permission, one with everything else, per need.
    let mut with_keys: BTreeMap<String, String> = BTreeMap::new();
    let mut without_keys: BTreeMap<String, String> = BTreeMap::new();
    let everything: Vec<String> = Resource::ALL
        .into_iter()
        .map(|r| Permission::new(r, Access::Write).to_string())
        .collect();
    for (_, _, need) in permissions::ROUTES {
        let name = format!("{need:?}");
        if with_keys.contains_key(&name) || without_keys.contains_key(&name) {
            continue;
        }
        match need {
            Need::Permission(p) => {
                let with = create_restricted(&twin, &[p.to_string()]).await;
                with_keys.insert(name.clone(), with["secret"].as_str().unwrap().to_owned());
                let without = create_restricted(&twin, &every_permission_but(*p)).await;
                without_keys.insert(name, without["secret"].as_str().unwrap().to_owned());
            }
            Need::SecretKey => {
                let all = create_restricted(&twin, &everything).await;
                without_keys.insert(name, all["secret"].as_str().unwrap().to_owned());
            }
        }
    }
    // Revoked through the API: it had every permission, and stops at once.
    let revoked = create_restricted(&twin, &everything).await;
    let res = twin
        .call(
            Method::DELETE,
            &format!("/v1/restricted_keys/{}", revoked["id"].as_str().unwrap()),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body["revoked"].is_string(), "{}", res.body);
    let revoked = revoked["secret"].as_str().unwrap().to_owned();

    let mut table = String::new();
    for (method, template) in &routes {
        let path = format!("/v1{}", concrete(template));
        let need = permissions::ROUTES
            .iter()
            .find(|(m, p, _)| *m == method.as_str() && p == template)
            .map(|(_, _, need)| *need)
            .unwrap();
        let name = format!("{need:?}");
        let what = format!("{method} {template}");

        let (none, body) = call(&app, method, &path, None).await;
        assert_eq!(none, 401, "{what} without a key: {body}");
        assert_eq!(body["error"]["code"], "api_key_missing", "{what}");

        let (test, test_body) = call(&app, method, &path, Some(&app.test_key)).await;
        assert!(
            test != 401 && test != 403,
            "{what}: a secret test key passes authorisation: {test} {test_body}"
        );
        let (live, live_body) = call(&app, method, &path, Some(&app.live_key)).await;
        assert!(
            live != 401 && live != 403,
            "{what}: a secret live key passes authorisation: {live} {live_body}"
        );

        let (without, body) = call(&twin, method, &path, Some(&without_keys[&name])).await;
        assert_eq!(without, 403, "{what} restricted, lacking {name}: {body}");
        assert_eq!(body["error"]["type"], "permission_error", "{what}");
        match need {
            Need::Permission(p) => {
                assert_eq!(body["error"]["code"], "permission_missing", "{what}");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(message.contains(&p.to_string()), "{what}: {message}");
            }
            Need::SecretKey => {
                assert_eq!(body["error"]["code"], "secret_key_required", "{what}")
            }
        }

        let with = match with_keys.get(&name) {
            Some(key) => {
                let (with, body) = call(&twin, method, &path, Some(key)).await;
                // The same request as the secret key made, and the same answer: the key
                // was let through and nothing else differs.
                assert_eq!(with, test, "{what} restricted with {name}: {body}");
                assert_eq!(
                    body["error"]["code"], test_body["error"]["code"],
                    "{what}: the same outcome as the secret key"
                );
                with.to_string()
            }
            None => "-".to_owned(),
        };

        let (gone, body) = call(&twin, method, &path, Some(&revoked)).await;
        assert_eq!(gone, 401, "{what} revoked: {body}");
        assert_eq!(body["error"]["code"], "api_key_invalid", "{what}");

        table.push_str(&format!(
            "{what:<58} none {none}  test {test}  live {live}  without {without}  with {with}  revoked {gone}\n"
        ));
    }
    eprintln!("{table}");
}

#[tokio::test]
async fn a_restricted_key_does_what_it_may_and_nothing_else() {
    let app = spawn_app().await;
    let seller = app.create_seller(json!({"country": "SE"})).await;
    let seller = seller["id"].as_str().unwrap().to_owned();

    let created = app
        .post(
            "/v1/restricted_keys",
            json!({"permissions": ["charges:write", "accounts:read"], "name": " checkout "}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let key = created.body["secret"].as_str().unwrap().to_owned();
    assert!(key.starts_with("rk_test_"), "{key}");
    assert_eq!(
        created.body["permissions"],
        json!(["accounts:read", "charges:write"])
    );
    assert_eq!(created.body["name"], "checkout");
    assert_eq!(created.body["livemode"], false);
    let id = created.body["id"].as_str().unwrap().to_owned();

    // What it may do.
    let res = app
        .send(
            Method::GET,
            &format!("/v1/accounts/{seller}"),
            None,
            &key,
            &[],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let charge = json!({"amount": 1000, "currency": "eur", "destination": seller,
        "application_fee_amount": 100, "payment_method": "pm_card_visa"});
    let res = app
        .send(Method::POST, "/v1/charges", Some(charge), &key, &[])
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let charge_id = res.body["id"].as_str().unwrap().to_owned();
    let res = app.send(Method::GET, "/v1/charges", None, &key, &[]).await;
    assert_eq!(res.status, 200, "write includes read: {}", res.body);
    assert_eq!(res.body["data"][0]["id"], charge_id.as_str());

    // What it may not: refused, named, and nothing changes.
    let res = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(json!({"country": "SE"})),
            &key,
            &[],
        )
        .await;
    let error = res.error(403, "permission_error");
    assert_eq!(error["code"], "permission_missing");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("accounts:write"));
    let res = app
        .send(
            Method::POST,
            "/v1/refunds",
            Some(json!({"charge": charge_id, "amount": 100})),
            &key,
            &[],
        )
        .await;
    assert!(res.error(403, "permission_error")["message"]
        .as_str()
        .unwrap()
        .contains("refunds:write"));
    assert_eq!(app.get("/v1/refunds").await.body["data"], json!([]));
    assert_eq!(
        app.get("/v1/accounts").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let res = app
        .send(Method::GET, "/v1/restricted_keys", None, &key, &[])
        .await;
    assert_eq!(
        res.error(403, "permission_error")["code"],
        "secret_key_required"
    );

    // The secret key sees it listed, never its secret; the live key does not see it at all.
    let list = app.get("/v1/restricted_keys").await;
    assert_eq!(list.body["data"][0]["id"], id.as_str());
    assert!(list.body["data"][0].get("secret").is_none());
    assert!(list.body["data"][0]["redacted"]
        .as_str()
        .unwrap()
        .starts_with("rk_test_"));
    assert!(!list.body.to_string().contains(&key));
    let res = app
        .send(
            Method::GET,
            &format!("/v1/restricted_keys/{id}"),
            None,
            &app.live_key,
            &[],
        )
        .await;
    assert_eq!(res.status, 404);

    // Bad permissions: a clear 400, no key made.
    for bad in [json!([]), json!(["charges:admin"]), json!(["money:write"])] {
        let res = app
            .post("/v1/restricted_keys", json!({"permissions": bad}))
            .await;
        assert_eq!(
            res.error(400, "invalid_request_error")["param"],
            "permissions",
            "{bad}"
        );
    }
    assert_eq!(
        app.get("/v1/restricted_keys").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Revoked: the next request is refused.
    let res = app
        .call(
            Method::DELETE,
            &format!("/v1/restricted_keys/{id}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app.send(Method::GET, "/v1/charges", None, &key, &[]).await;
    assert_eq!(
        res.error(401, "authentication_error")["code"],
        "api_key_invalid"
    );
}

#[tokio::test]
async fn an_address_sending_unknown_keys_is_refused_before_the_lookup() {
    let app = spawn_app_with(|c| {
        c.ip_rate_limit_per_second = 1;
        c.ip_rate_limit_burst = 3;
    })
    .await;
    let forged = "sk_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwxyz";
    // Valid keys are not counted: many of them first.
    for _ in 0..10 {
        assert_eq!(app.get("/v1/accounts").await.status, 200);
    }
    for _ in 0..3 {
        let res = app
            .send(Method::GET, "/v1/accounts", None, forged, &[])
            .await;
        assert_eq!(
            res.error(401, "authentication_error")["code"],
            "api_key_invalid"
        );
    }
    let res = app
        .send(Method::GET, "/v1/accounts", None, forged, &[])
        .await;
    assert_eq!(
        res.error(429, "rate_limit_error")["code"],
        "too_many_invalid_keys"
    );
    assert!(res
        .header("retry-after")
        .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
    // The address is refused whatever it sends, until its bucket refills.
    assert_eq!(app.get("/v1/accounts").await.status, 429);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get("/v1/accounts").await.status, 200);
}

#[tokio::test]
async fn hosted_pages_are_limited_per_address() {
    let app = spawn_app_with(|c| {
        c.ip_rate_limit_per_second = 1;
        c.ip_rate_limit_burst = 3;
    })
    .await;
    let url = format!("{}/onboarding/link/nope", app.address);
    for _ in 0..3 {
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 404);
    }
    let res = app
        .client
        .get(&url)
        .header("accept-language", "sv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.headers().contains_key("content-security-policy"));
    let page = res.text().await.unwrap();
    assert!(page.contains("För många förfrågningar"), "{page}");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_cut_off() {
    let app = spawn_app_with(|c| c.body_timeout_ms = 500).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /v1/accounts HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"country\"",
        app.test_key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // …and the rest never comes.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&answer).contains("request_timeout") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept waiting for the body");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert_eq!(app.get("/v1/accounts").await.body["data"], json!([]));
}
