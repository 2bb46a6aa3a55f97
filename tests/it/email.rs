//! The email outbox: emails are queued in the transaction of their change, sealed at rest,
//! sent by the worker, retried while the mail server is away, and given up after the last try.

use std::time::Duration;

use agora_platform::infra::email::entity as email;
use agora_platform::infra::email::entity::EmailStatus;
use reqwest::Method;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{json, Value};

use crate::helpers::{outbox, spawn_app, spawn_app_with, the_email_after, TestApp};

async fn seller(app: &TestApp) -> String {
    let account = app
        .create_account(json!({"country": "SE", "email": "anna@example.se"}))
        .await;
    account["id"].as_str().unwrap().to_owned()
}

fn invitation_body() -> Value {
    json!({"refresh_url": "https://p.example/r", "return_url": "https://p.example/s"})
}

async fn rows(app: &TestApp) -> Vec<email::Model> {
    email::Entity::find().all(&app.db).await.unwrap()
}

#[tokio::test]
async fn an_invitation_is_sent_once_per_idempotency_key_and_nothing_stays_readable() {
    let app = spawn_app().await;
    let account = seller(&app).await;
    let path = format!("/v1/accounts/{account}/onboarding_email");
    let headers = [("Idempotency-Key", "invite-1")];
    let first = app
        .send(
            Method::POST,
            &path,
            Some(invitation_body()),
            &app.test_key,
            &headers,
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = app
        .send(
            Method::POST,
            &path,
            Some(invitation_body()),
            &app.test_key,
            &headers,
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, first.body, "replayed, not sent again");

    let mails = outbox(&app, 1).await;
    // Give a wrongly queued second email the time to appear.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(outbox(&app, 1).await.len(), 1, "one email for one key");
    assert!(mails[0].contains("To: anna@example.se"), "{}", mails[0]);

    // Sent: the row keeps what happened, not the message (its link opens the onboarding).
    let sent = the_email_after(&app, 1).await;
    assert_eq!(sent.status, EmailStatus::Sent);
    assert_eq!(sent.kind, "onboarding_invitation");
    assert_eq!(sent.attempts, 1);
    assert!(sent.sent_at.is_some());
    assert_eq!(sent.message_sealed, None);

    // Records of sent emails go after 90 days; until then they stay.
    let now = chrono::Utc::now();
    assert_eq!(
        agora_platform::infra::email::purge(&app.db, now, 100)
            .await
            .unwrap(),
        0
    );
    let later = now + chrono::Duration::days(agora_platform::infra::email::RETENTION_DAYS + 1);
    assert_eq!(
        agora_platform::infra::email::purge(&app.db, later, 100)
            .await
            .unwrap(),
        1
    );
    assert!(rows(&app).await.is_empty());
}

#[tokio::test]
async fn a_bad_request_queues_no_email() {
    let app = spawn_app().await;
    let account = seller(&app).await;
    let res = app
        .post(
            &format!("/v1/accounts/{account}/onboarding_email"),
            json!({"refresh_url": "not a url", "return_url": "https://p.example/s"}),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(res.body["error"]["param"], "refresh_url", "{}", res.body);
    assert!(rows(&app).await.is_empty());
}

#[tokio::test]
async fn an_unreachable_mail_server_delays_the_email_and_the_last_failure_gives_it_up() {
    // A port nobody listens on: connection refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let account = seller(&app).await;
    let res = app
        .post(
            &format!("/v1/accounts/{account}/onboarding_email"),
            invitation_body(),
        )
        .await;
    // The API call does not depend on the mail server.
    assert_eq!(res.status, 200, "{}", res.body);

    let waiting = the_email_after(&app, 1).await;
    assert_eq!(waiting.status, EmailStatus::Pending);
    assert_eq!(waiting.attempts, 1);
    assert!(waiting.last_error.is_some(), "{waiting:?}");
    let wait = waiting.next_attempt_at - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::seconds(20) && wait <= chrono::Duration::seconds(30),
        "the first retry comes after 30 s: {wait}"
    );
    // Sealed at rest: neither the recipient nor the link is readable in the row.
    let sealed = waiting.message_sealed.clone().unwrap();
    assert!(!sealed.contains("anna@example.se") && !sealed.contains("onboarding/link"));
    assert!(!sealed.contains(&base64_of("anna@example.se")));

    // The eighth failure is the last: given up, and the message dropped.
    let mut last = waiting.into_active_model();
    last.attempts = Set(7);
    last.next_attempt_at = Set(chrono::Utc::now());
    last.update(&app.db).await.unwrap();
    let given_up = the_email_after(&app, 8).await;
    assert_eq!(given_up.status, EmailStatus::Failed, "{given_up:?}");
    assert_eq!(given_up.message_sealed, None);
    assert!(given_up.sent_at.is_none());
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
