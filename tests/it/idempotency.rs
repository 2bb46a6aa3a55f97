//! Idempotency-Key: replays, conflicts, concurrency, expiry.

use agora_platform::adapters::gateway::idempotency::{self, entity};
use chrono::{Duration, Utc};
use futures_util::future::join_all;
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Response, TestApp};

async fn post_with_key(app: &TestApp, key: &str, body: Value) -> Response {
    app.send(
        Method::POST,
        "/v1/accounts",
        Some(body),
        &app.test_key,
        &[("idempotency-key", key)],
    )
    .await
}

async fn post_keyed(app: &TestApp, path: &str, key: &str, body: Value) -> Response {
    app.send(
        Method::POST,
        path,
        Some(body),
        &app.test_key,
        &[("idempotency-key", key)],
    )
    .await
}

/// A charge of `amount` euro cents to `seller` with a 1.00 fee, by the simulator's Visa card.
fn destination_charge(seller: &str, amount: i64) -> Value {
    json!({"amount": amount, "currency": "eur", "destination": seller,
        "application_fee_amount": 100, "payment_method": "pm_card_visa"})
}

async fn post_charge(app: &TestApp, key: String, body: Value) -> Response {
    app.send(
        Method::POST,
        "/v1/charges",
        Some(body),
        &app.test_key,
        &[("idempotency-key", key.as_str())],
    )
    .await
}

async fn count(app: &TestApp, path: &str) -> usize {
    app.get(&format!("{path}?limit=100")).await.body["data"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_repeat_replays_the_first_response() {
    let app = spawn_app().await;
    let body = json!({"country": "SE", "email": "a@example.se"});
    let first = post_with_key(&app, "k-1", body.clone()).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotent-replayed"), None);
    let second = post_with_key(&app, "k-1", body.clone()).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.body, first.body);
    assert_ne!(second.header("request-id"), first.header("request-id"));
    assert_eq!(count(&app, "/v1/accounts").await, 1);
    assert_eq!(count(&app, "/v1/events").await, 1);

    // Another key is another request.
    let third = post_with_key(&app, "k-2", body).await;
    assert_ne!(third.body["id"], first.body["id"]);
    assert_eq!(count(&app, "/v1/accounts").await, 2);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused() {
    let app = spawn_app().await;
    post_with_key(&app, "k", json!({"country": "SE"})).await;
    let res = post_with_key(&app, "k", json!({"country": "DE"})).await;
    let error = res.error(400, "idempotency_error");
    assert_eq!(error["code"], "idempotency_key_reused");
    // Another path with the same key is another request too.
    let account_id = app.get("/v1/accounts").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .send(
            Method::POST,
            &format!("/v1/accounts/{account_id}"),
            Some(json!({"country": "SE"})),
            &app.test_key,
            &[("idempotency-key", "k")],
        )
        .await;
    res.error(400, "idempotency_error");
    assert_eq!(count(&app, "/v1/accounts").await, 1);
}

#[tokio::test]
async fn keys_are_scoped_per_mode() {
    let app = spawn_app().await;
    let body = json!({"country": "SE"});
    let test = post_with_key(&app, "shared", body.clone()).await;
    let live = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(body),
            &app.live_key,
            &[("idempotency-key", "shared")],
        )
        .await;
    assert_eq!(live.status, 200);
    assert_eq!(live.header("idempotent-replayed"), None);
    assert_eq!(live.body["livemode"], true);
    assert_ne!(live.body["id"], test.body["id"]);
}

/// Issue 15: a stored response is the answer to one API key's request. Another key of the
/// same mode repeating the Idempotency-Key and body (a restricted key, a colleague's key)
/// must neither get that response (it may carry a secret) nor run the request again.
#[tokio::test]
async fn another_api_key_of_the_mode_cannot_replay_a_keys_response() {
    let app = spawn_app().await;
    let other_key =
        agora_platform::domain::keys::create(&app.db, agora_platform::domain::keys::Mode::Test)
            .await
            .unwrap()
            .secret;
    let body = json!({"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]});
    let first = app
        .send(
            Method::POST,
            "/v1/webhook_endpoints",
            Some(body.clone()),
            &app.test_key,
            &[("idempotency-key", "wh-1")],
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let secret = first.body["secret"].as_str().unwrap().to_owned();
    let other = app
        .send(
            Method::POST,
            "/v1/webhook_endpoints",
            Some(body),
            &other_key,
            &[("idempotency-key", "wh-1")],
        )
        .await;
    assert!(
        !other.body.to_string().contains(&secret),
        "another key got the secret: {}",
        other.body
    );
    assert_eq!(
        other.error(400, "idempotency_error")["code"],
        "idempotency_key_reused"
    );
    assert_eq!(count(&app, "/v1/webhook_endpoints").await, 1);

    // The same holds for any response, and a client error's too.
    let account = post_with_key(&app, "acct-1", json!({"country": "SE"})).await;
    assert_eq!(account.status, 200);
    let other = app
        .send(
            Method::POST,
            "/v1/accounts",
            Some(json!({"country": "SE"})),
            &other_key,
            &[("idempotency-key", "acct-1")],
        )
        .await;
    other.error(400, "idempotency_error");
    assert_eq!(count(&app, "/v1/accounts").await, 1);
}

/// Issue 15: the responses that carry a secret or a bearer URL (a webhook endpoint's signing
/// secret at creation and rotation, an account link's URL, a new restricted key) are stored
/// sealed, never in the clear, and still replay byte for byte to the key that made them.
#[tokio::test]
async fn responses_with_secrets_are_stored_sealed_and_still_replay() {
    let app = spawn_app().await;
    let endpoint = json!({"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]});
    let created = post_keyed(&app, "/v1/webhook_endpoints", "wh-create", endpoint.clone()).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let we = created.body["id"].as_str().unwrap().to_owned();
    let rotate_path = format!("/v1/webhook_endpoints/{we}/rotate_secret");
    let rotated = post_keyed(&app, &rotate_path, "wh-rotate", json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let acct = app.create_account(json!({"country": "SE"})).await;
    let link_body = json!({"account": acct["id"], "type": "account_onboarding",
        "refresh_url": "https://platform.example/refresh",
        "return_url": "https://platform.example/return"});
    let link = post_keyed(&app, "/v1/account_links", "al-1", link_body.clone()).await;
    assert_eq!(link.status, 200, "{}", link.body);
    let url = link.body["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap().to_owned();
    let restricted_body = json!({"permissions": ["charges:read"]});
    let restricted = post_keyed(&app, "/v1/restricted_keys", "rk-1", restricted_body.clone()).await;
    assert_eq!(restricted.status, 200, "{}", restricted.body);

    let secrets = [
        created.body["secret"].as_str().unwrap().to_owned(),
        rotated.body["secret"].as_str().unwrap().to_owned(),
        token,
        restricted.body["secret"].as_str().unwrap().to_owned(),
    ];
    let stored: Vec<String> = entity::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|row| row.response_body)
        .collect();
    assert_eq!(stored.len(), 4, "one stored response per request");
    for secret in &secrets {
        let key = secret
            .trim_start_matches("whsec_")
            .trim_start_matches("rk_test_");
        for body in &stored {
            assert!(
                !body.contains(key),
                "stored in the clear: {secret} in {body}"
            );
        }
    }

    // Each replays to its key, as first answered.
    for (path, key, body, first) in [
        ("/v1/webhook_endpoints", "wh-create", endpoint, &created),
        (rotate_path.as_str(), "wh-rotate", json!({}), &rotated),
        ("/v1/account_links", "al-1", link_body, &link),
        ("/v1/restricted_keys", "rk-1", restricted_body, &restricted),
    ] {
        let again = post_keyed(&app, path, key, body).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.body, first.body, "{path}");
    }
    assert_eq!(count(&app, "/v1/webhook_endpoints").await, 1);
}

#[tokio::test]
async fn a_client_error_is_replayed_and_a_bad_key_is_refused() {
    let app = spawn_app().await;
    let first = post_with_key(&app, "bad-1", json!({"country": "ZZ"})).await;
    first.error(400, "invalid_request_error");
    let second = post_with_key(&app, "bad-1", json!({"country": "ZZ"})).await;
    assert_eq!(second.status, 400);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.body["error"]["code"], "country_invalid");

    let long = "k".repeat(256);
    for key in [long.as_str(), "has space"] {
        let res = post_with_key(&app, key, json!({"country": "SE"})).await;
        assert_eq!(
            res.error(400, "idempotency_error")["code"],
            "idempotency_key_invalid"
        );
    }
    assert_eq!(count(&app, "/v1/accounts").await, 0);
}

#[tokio::test]
async fn twenty_concurrent_identical_requests_create_one_account() {
    let app = spawn_app().await;
    let body = json!({"country": "SE", "metadata": {"order": "1"}});
    let responses =
        join_all((0..20).map(|_| post_with_key(&app, "concurrent", body.clone()))).await;
    let mut originals = 0;
    let mut ids = std::collections::HashSet::new();
    for res in &responses {
        match res.status.as_u16() {
            200 => {
                if res.header("idempotent-replayed").is_none() {
                    originals += 1;
                }
                ids.insert(res.body["id"].as_str().unwrap().to_owned());
            }
            409 => {
                assert_eq!(
                    res.error(409, "idempotency_error")["code"],
                    "idempotency_request_in_progress"
                );
            }
            other => panic!("unexpected {other}: {}", res.body),
        }
    }
    assert_eq!(originals, 1, "exactly one request ran");
    assert_eq!(ids.len(), 1, "every 200 carries the same account");
    assert_eq!(count(&app, "/v1/accounts").await, 1);
    assert_eq!(count(&app, "/v1/events").await, 1);
    // Once it has finished, every retry replays.
    let retry = post_with_key(&app, "concurrent", body).await;
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert!(ids.contains(retry.body["id"].as_str().unwrap()));
}

#[tokio::test]
async fn in_flight_requests_conflict_and_abandoned_ones_are_taken_over() {
    let app = spawn_app().await;
    let body = json!({"country": "SE"});
    post_with_key(&app, "k", body.clone()).await;
    // Make the stored key look like a request still running (as if its process were busy).
    let in_flight = |locked_at: chrono::DateTime<Utc>| {
        entity::Entity::update_many()
            .col_expr(entity::Column::State, Expr::value("in_flight"))
            .col_expr(
                entity::Column::ResponseBody,
                Expr::value(Option::<String>::None),
            )
            .col_expr(entity::Column::LockedAt, Expr::value(locked_at))
            .filter(entity::Column::Key.eq("k"))
    };
    in_flight(Utc::now()).exec(&app.db).await.unwrap();
    let res = post_with_key(&app, "k", body.clone()).await;
    assert_eq!(
        res.error(409, "idempotency_error")["code"],
        "idempotency_request_in_progress"
    );

    // Locked long ago: its process died, and the effect (committed with the response) never
    // happened, so a retry runs it.
    in_flight(Utc::now() - idempotency::LOCK_TIMEOUT - Duration::seconds(1))
        .exec(&app.db)
        .await
        .unwrap();
    let res = post_with_key(&app, "k", body.clone()).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("idempotent-replayed"), None);
    let res2 = post_with_key(&app, "k", body).await;
    assert_eq!(res2.header("idempotent-replayed"), Some("true"));
    assert_eq!(res2.body, res.body);
}

#[tokio::test]
async fn keys_expire_after_24_hours() {
    let app = spawn_app().await;
    let body = json!({"country": "SE"});
    let first = post_with_key(&app, "old", body.clone()).await;
    post_with_key(&app, "fresh", body.clone()).await;
    entity::Entity::update_many()
        .col_expr(
            entity::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::seconds(1)),
        )
        .filter(entity::Column::Key.eq("old"))
        .exec(&app.db)
        .await
        .unwrap();
    // An expired key is a new key, even before the sweeper runs.
    let again = post_with_key(&app, "old", body.clone()).await;
    assert_eq!(again.header("idempotent-replayed"), None);
    assert_ne!(again.body["id"], first.body["id"]);

    entity::Entity::update_many()
        .col_expr(
            entity::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::seconds(1)),
        )
        .filter(entity::Column::Key.eq("old"))
        .exec(&app.db)
        .await
        .unwrap();
    let swept = idempotency::expire(&app.db, Utc::now(), 500).await.unwrap();
    assert_eq!(swept, 1);
    let left: Vec<String> = entity::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(left, vec!["fresh".to_owned()]);
    let rows = entity::Entity::find().all(&app.db).await.unwrap();
    let retention = rows[0].expires_at - rows[0].created_at;
    assert_eq!(retention, idempotency::RETENTION);
}

/// The charge writer batches charges: identical requests racing with one key land in one
/// batch or in several, among other charges, and still make exactly one charge and one
/// movement of money; a different body with the key is refused.
#[tokio::test]
async fn twenty_concurrent_identical_charges_among_others_make_one_charge() {
    let app = spawn_app().await;
    let seller = app.create_seller(json!({"country": "DE"})).await;
    let seller = seller["id"].as_str().unwrap().to_owned();
    let charge = |amount: i64| destination_charge(&seller, amount);
    let send = |key: String, body: Value| post_charge(&app, key, body);
    // Twenty with the same key, interleaved with twenty others with keys of their own.
    let requests = (0..40).map(|i| match i % 2 {
        0 => send("same".to_owned(), charge(1_000)),
        _ => send(format!("other-{i}"), charge(2_000)),
    });
    let responses = join_all(requests).await;
    let mut originals = 0;
    let mut ids = std::collections::HashSet::new();
    for (i, res) in responses.iter().enumerate() {
        assert_eq!(res.status, 200, "{}", res.body);
        if i % 2 == 0 {
            if res.header("idempotent-replayed").is_none() {
                originals += 1;
            }
            ids.insert(res.body["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(originals, 1, "exactly one of the same-key requests ran");
    assert_eq!(ids.len(), 1, "every answer carries the same charge");
    assert_eq!(count(&app, "/v1/charges").await, 21);
    // The seller's balance moved once for the keyed charge: 1 × 900 + 20 × 1,900 pending.
    let balance = app
        .send(
            Method::GET,
            "/v1/balance",
            None,
            &app.test_key,
            &[("agora-account", seller.as_str())],
        )
        .await;
    assert_eq!(
        balance.body["pending"][0]["amount"],
        900 + 20 * 1_900,
        "{}",
        balance.body
    );
    let other = send("same".to_owned(), charge(1_001)).await;
    assert_eq!(
        other.error(400, "idempotency_error")["code"],
        "idempotency_key_reused"
    );
}

/// A statement of a charge batch fails (here: a trigger refuses one charge's row, as a bug or
/// a lost connection might fail any statement): the batch rolls back whole and is rerun one
/// charge at a time, each in a savepoint, so the others commit, the failing one alone gets a
/// server error with nothing of it written, and its key stays free for a retry.
#[tokio::test]
async fn a_failing_statement_fails_one_charge_not_its_batch() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let seller = app.create_seller(json!({"country": "DE"})).await;
    let seller = seller["id"].as_str().unwrap().to_owned();
    let postgres = app.config.database_url.is_some();
    let refuse_666 = if postgres {
        vec![
            "CREATE FUNCTION refuse_666() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_666 BEFORE INSERT ON charges FOR EACH ROW \
             WHEN (NEW.amount = 666) EXECUTE FUNCTION refuse_666()",
        ]
    } else {
        vec![
            "CREATE TRIGGER refuse_666 BEFORE INSERT ON charges WHEN NEW.amount = 666 \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        ]
    };
    for sql in refuse_666 {
        app.db.execute_unprepared(sql).await.unwrap();
    }
    let charge = |amount: i64| destination_charge(&seller, amount);
    let send = |key: String, body: Value| post_charge(&app, key, body);
    let requests = (0..21).map(|i| match i {
        10 => send("bad".to_owned(), charge(666)),
        _ => send(format!("good-{i}"), charge(1_000)),
    });
    let responses = join_all(requests).await;
    for (i, res) in responses.iter().enumerate() {
        match i {
            10 => assert_eq!(res.status, 500, "{}", res.body),
            _ => assert_eq!(res.status, 200, "{}", res.body),
        }
    }
    assert_eq!(count(&app, "/v1/charges").await, 20);
    let report = agora_ledger::verify::verify(&app.db).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    // Nothing of the failed charge was kept, its key included: once the fault is gone, a retry
    // with the same key runs.
    let drop = if postgres {
        "DROP TRIGGER refuse_666 ON charges"
    } else {
        "DROP TRIGGER refuse_666"
    };
    app.db.execute_unprepared(drop).await.unwrap();
    let retry = send("bad".to_owned(), charge(666)).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(count(&app, "/v1/charges").await, 21);
}
