//! What is sealed at rest and how it is kept (issue 15, items 4, 5, 7 and 10): identity
//! documents and bank files as private files (0600, written whole), a quota of documents per
//! account and a sweep of orphans, bank files checked against their checksum and deleted after
//! the retention, live mode refused without operator-provided keys, and the encryption key
//! rotated with every sealed value and the duplicate-bank-account check intact.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use agora_onboarding::seal::{self, Sealer};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Response, TestApp};

/// The smallest valid PNG: a 1×1 pixel.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\xa7\xa5\x9b\x8f\0\0\0\0IEND\xaeB`\x82";

const IBAN: &str = "SE4550000000058398257466";

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// `POST /v1/files` with the test key, on behalf of `account` when given.
async fn upload(app: &TestApp, address: &str, account: Option<&str>) -> Response {
    let form = reqwest::multipart::Form::new()
        .text("purpose", "identity_document")
        .part(
            "file",
            reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("passport.png"),
        );
    let mut req = app
        .client
        .post(format!("{address}/v1/files"))
        .bearer_auth(&app.test_key)
        .multipart(form);
    if let Some(a) = account {
        req = req.header("Agora-Account", a);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.json().await.unwrap_or(Value::Null);
    Response {
        status,
        headers,
        body,
    }
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

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn assert_private(path: &Path) {
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
}

/// Sets a file's modification time `age` in the past (as if written that long ago).
fn age(path: &Path, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - age)
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// Item 10: identity documents

#[tokio::test]
async fn documents_are_private_files_and_limited_per_account() {
    let app = spawn_app_with(|c| c.max_documents_per_account = 2).await;
    let acct = id(&app.create_seller(json!({"country": "SE"})).await);
    let other = id(&app.create_seller(json!({"country": "SE"})).await);
    for _ in 0..2 {
        let res = upload(&app, &app.address, Some(&acct)).await;
        assert_eq!(res.status, 200, "{}", res.body);
    }
    let files = app.config.data_dir.join("files");
    let before = names_in(&files);
    assert_eq!(before.len(), 2, "{before:?}");
    for name in &before {
        assert_private(&files.join(name));
    }
    // The third is refused with a clear code, and nothing is written.
    let over = upload(&app, &app.address, Some(&acct)).await;
    let e = over.error(400, "invalid_request_error");
    assert_eq!(e["code"], "document_quota_exceeded", "{}", over.body);
    assert_eq!(e["param"], "file");
    assert!(
        e["message"].as_str().unwrap().contains('2'),
        "{}",
        over.body
    );
    assert_eq!(names_in(&files), before);
    // The quota is per account: another seller and the platform itself still upload.
    assert_eq!(upload(&app, &app.address, Some(&other)).await.status, 200);
    assert_eq!(upload(&app, &app.address, None).await.status, 200);
}

#[tokio::test]
async fn orphaned_documents_are_swept_and_everything_else_is_kept() {
    let app = spawn_app_with(|_| {}).await;
    let kept = upload(&app, &app.address, None).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    let files = app.config.data_dir.join("files");
    let stored = names_in(&files);
    assert_eq!(stored.len(), 1);
    // What a failed transaction or a crash leaves: a sealed file with no row, and a
    // half-written temporary file; an hour old. And a fresh orphan, whose transaction may
    // still be about to commit.
    let orphan = format!("{}.sealed", uuid::Uuid::now_v7());
    let fresh = format!("{}.sealed", uuid::Uuid::now_v7());
    let temp = format!(".{}.sealed.1234.tmp", uuid::Uuid::now_v7());
    for name in [&orphan, &fresh, &temp] {
        std::fs::write(files.join(name), b"v1.00000000.AAAA").unwrap();
    }
    age(&files.join(&orphan), Duration::from_secs(2 * 3600));
    age(&files.join(&temp), Duration::from_secs(2 * 3600));
    age(&files.join(&stored[0]), Duration::from_secs(2 * 3600));

    let kyc = agora_platform::domain::kyc::Runtime::load(&app.config).unwrap();
    let swept = agora_platform::domain::kyc::files::sweep_orphans(&app.db, &kyc)
        .await
        .unwrap();
    // The server's own sweeper runs too (its first pass at start may land after the files
    // above were written), so this pass may find less left to delete; what is left is the
    // point.
    assert!(swept <= 2, "{swept}");
    let mut want = vec![stored[0].clone(), fresh.clone()];
    want.sort();
    assert_eq!(names_in(&files), want);
    // The kept document still opens.
    let contents = app
        .get(&format!("/v1/files/{}/contents", id(&kept.body)))
        .await;
    assert_eq!(contents.status, 200);
}

// ---------------------------------------------------------------------------------------
// Item 4: bank files

use crate::payouts::verified_seller;

/// A settled charge and a manual payout of it, put into a bank file by a payout run; the
/// batch.
async fn batch_of_one(app: &TestApp, acct: &str, amount: i64) -> Value {
    let res = app
        .post(
            "/v1/charges",
            json!({"amount": amount, "currency": "eur", "destination": acct, "payment_method": "pm_card_visa"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .post("/v1/test_helpers/advance_clock", json!({"seconds": 1}))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .post(
            "/v1/payouts",
            json!({"amount": amount, "currency": "eur", "account": acct}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let run = app
        .post(
            "/v1/test_helpers/payouts/run",
            json!({"as_of": "2026-12-01"}),
        )
        .await;
    assert_eq!(run.status, 200, "{}", run.body);
    let batches = run.body["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 1, "{}", run.body);
    batches[0].clone()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn bank_files_are_sealed_checked_and_deleted_after_their_retention() {
    let app = spawn_app_with(|c| {
        c.payout_worker = false;
        c.bank_file_retention_days = 3;
    })
    .await;
    let acct = verified_seller(&app, IBAN).await;
    let first = batch_of_one(&app, &acct, 2_000).await;
    let second = batch_of_one(&app, &acct, 3_000).await;
    let dir = app.config.data_dir.join("payout_batches");
    let on_disk = names_in(&dir);
    assert_eq!(on_disk.len(), 2, "{on_disk:?}");
    for name in &on_disk {
        let path = dir.join(name);
        assert_private(&path);
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("58398257466"),
            "{name} holds the account number in the clear"
        );
    }

    // Served as the plain file, matching the checksum the batch recorded.
    let pob = id(&first);
    let file = app.get(&format!("/v1/payout_batches/{pob}/file")).await;
    assert_eq!(file.status, 200, "{}", file.body);
    let xml = file.body.as_str().unwrap().to_owned();
    assert!(xml.contains(IBAN), "{xml}");
    let batch = app.get(&format!("/v1/payout_batches/{pob}")).await.body;
    assert_eq!(batch["file_sha256"], sha256_hex(xml.as_bytes()), "{batch}");

    // A file that is not the one written for the batch (here: the other batch's, itself a
    // valid sealed bank file) is refused, not served.
    let file_of = |b: &Value| {
        let name = b["file_name"].as_str().unwrap();
        on_disk
            .iter()
            .find(|n| n.starts_with(name))
            .map(|n| dir.join(n))
            .unwrap()
    };
    let kept = std::fs::read(file_of(&first)).unwrap();
    std::fs::copy(file_of(&second), file_of(&first)).unwrap();
    let swapped = app.get(&format!("/v1/payout_batches/{pob}/file")).await;
    let e = swapped.error(500, "api_error");
    assert_eq!(e["code"], "bank_file_checksum_mismatch", "{}", swapped.body);
    assert!(!swapped.body.to_string().contains(IBAN));
    std::fs::write(file_of(&first), kept).unwrap();
    assert_eq!(
        app.get(&format!("/v1/payout_batches/{pob}/file"))
            .await
            .status,
        200
    );

    // Marked sent, the file is kept for the retention, then deleted by the sweep; the other
    // batch's (not sent) stays. Both are judged by the test clock, as `sent_at` is.
    let sent = app
        .post(&format!("/v1/payout_batches/{pob}/mark_sent"), json!({}))
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let sweep = || async {
        agora_platform::domain::payouts::files::sweep_sent(&app.db, &app.config, false, 100)
            .await
            .unwrap()
    };
    assert_eq!(sweep().await, 0, "within the retention");
    assert_eq!(
        app.get(&format!("/v1/payout_batches/{pob}/file"))
            .await
            .status,
        200
    );
    let res = app
        .post(
            "/v1/test_helpers/advance_clock",
            json!({"seconds": 3 * 86_400 + 60}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(sweep().await, 1);
    assert_eq!(sweep().await, 0, "once");
    assert_eq!(names_in(&dir).len(), 1);
    assert!(file_of(&second).exists());
    let gone = app.get(&format!("/v1/payout_batches/{pob}/file")).await;
    let e = gone.error(410, "invalid_request_error");
    assert_eq!(e["code"], "bank_file_expired", "{}", gone.body);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("bank_file_retention_days"),
        "{}",
        gone.body
    );
    // The batch itself is still there, and so is the other file.
    assert_eq!(
        app.get(&format!("/v1/payout_batches/{pob}")).await.status,
        200
    );
    let other = app
        .get(&format!("/v1/payout_batches/{}/file", id(&second)))
        .await;
    assert_eq!(other.status, 200);
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

// ---------------------------------------------------------------------------------------
// Item 7: key rotation

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";

fn key_id(key: &str) -> String {
    let sealer = Sealer::new(seal::decode_key(key).unwrap(), &[], [9; 32]);
    sealer.current_key_id().to_owned()
}

/// Every row of every table as text (PostgreSQL: JSON per row; SQLite: the database file
/// and its write-ahead log).
async fn dump(app: &TestApp) -> String {
    let backend = app.db.get_database_backend();
    match backend {
        sea_orm::DbBackend::Postgres => {
            let tables: Vec<String> = app
                .db
                .query_all(Statement::from_string(
                    backend,
                    "select table_name from information_schema.tables where table_schema = 'public'",
                ))
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<String>("", "table_name").unwrap())
                .collect();
            let mut dump = String::new();
            for table in tables {
                let sql = format!("select row_to_json(t)::text as j from \"{table}\" t");
                for row in app
                    .db
                    .query_all(Statement::from_string(backend, sql))
                    .await
                    .unwrap()
                {
                    dump.push_str(&row.try_get::<String>("", "j").unwrap());
                }
            }
            dump
        }
        _ => {
            // Read through the connection (not the file, which keeps free pages).
            let mut dump = String::new();
            for (table, cols) in [
                ("accounts", "profile"),
                ("external_accounts", "account_number_sealed"),
                ("emails", "message_sealed"),
                (
                    "webhook_endpoints",
                    "secret || coalesce(previous_secret, '')",
                ),
            ] {
                let sql = format!("select coalesce(cast({cols} as text), '') as j from {table}");
                for row in app
                    .db
                    .query_all(Statement::from_string(backend, sql))
                    .await
                    .unwrap()
                {
                    dump.push_str(&row.try_get::<String>("", "j").unwrap());
                }
            }
            dump
        }
    }
}

/// Sealed files on disk (documents, bank files) that name `key_id`.
fn files_sealed_by(app: &TestApp, key_id: &str) -> usize {
    let mut n = 0;
    for dir in ["files", "payout_batches"] {
        let dir = app.config.data_dir.join(dir);
        for name in names_in(&dir) {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            if bytes.starts_with(format!("v1.{key_id}.").as_bytes()) {
                n += 1;
            }
        }
    }
    n
}

#[tokio::test]
async fn rotating_the_encryption_key_reseals_everything_and_keeps_finding_duplicates() {
    let app = spawn_app_with(|c| {
        c.encryption_key = Some(KEY_A.to_owned());
        c.payout_worker = false;
        // A queued email stays queued (sealed) until rotated.
        c.email_worker = false;
    })
    .await;
    let (id_a, id_b) = (key_id(KEY_A), key_id(KEY_B));
    // Something of every kind under key A: KYC values in profiles, bank account numbers,
    // a document, a webhook secret and its predecessor, a queued email, a bank file.
    let seller = verified_seller(&app, IBAN).await;
    let company = app
        .create_account(json!({"country": "US", "business_type": "company", "company": {"tax_id": "12-3456789", "representative": {"id_number": "123-45-6789"}}}))
        .await;
    let company = id(&company);
    let us_bank = json!({"country": "US", "currency": "usd", "routing_number": "110000000", "account_number": "000987654321"});
    let res = app
        .post(
            &format!("/v1/accounts/{company}/external_accounts"),
            us_bank.clone(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let document = upload(&app, &app.address, Some(&seller)).await;
    assert_eq!(document.status, 200, "{}", document.body);
    let endpoint = app
        .post(
            "/v1/webhook_endpoints",
            json!({"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]}),
        )
        .await;
    assert_eq!(endpoint.status, 200, "{}", endpoint.body);
    let rotated = app
        .post(
            &format!("/v1/webhook_endpoints/{}/rotate_secret", id(&endpoint.body)),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let email = app
        .post(
            &format!("/v1/accounts/{seller}/onboarding_email"),
            json!({"refresh_url": "https://platform.example/refresh", "return_url": "https://platform.example/return"}),
        )
        .await;
    assert_eq!(email.status, 200, "{}", email.body);
    let batch = batch_of_one(&app, &seller, 2_500).await;
    let before = dump(&app).await;
    assert!(before.contains(&format!("v1.{id_a}.")), "the dump is real");
    assert_eq!(
        files_sealed_by(&app, &id_a),
        2,
        "a document and a bank file"
    );
    // A fingerprint from before fingerprints had their own key: rotation recomputes it.
    app.db
        .execute(Statement::from_string(
            app.db.get_database_backend(),
            "update external_accounts set fingerprint = 'from-before' where country = 'US'",
        ))
        .await
        .unwrap();

    // The operator makes B the key and keeps A among the previous keys, then rotates. The
    // first run is cut short (as a kill would); running again finishes the job.
    let mut rotated_config = app.config.clone();
    rotated_config.encryption_key = Some(KEY_B.to_owned());
    rotated_config.encryption_previous_keys = vec![KEY_A.to_owned()];
    let kyc = agora_platform::domain::kyc::Runtime::load(&rotated_config).unwrap();
    use agora_platform::domain::sealing::{rotate, RotateOptions};
    let partial = rotate(
        &app.db,
        &rotated_config,
        &kyc,
        &RotateOptions {
            batch_size: 2,
            max_changes: Some(3),
        },
    )
    .await
    .unwrap();
    assert!(!partial.complete, "{partial:?}");
    assert_eq!(partial.resealed, 3, "{partial:?}");
    let midway = dump(&app).await;
    assert!(
        midway.contains(&format!("v1.{id_a}.")) || files_sealed_by(&app, &id_a) > 0,
        "something is left for the second run"
    );
    let report = rotate(
        &app.db,
        &rotated_config,
        &kyc,
        &RotateOptions {
            batch_size: 2,
            max_changes: None,
        },
    )
    .await
    .unwrap();
    assert!(report.complete, "{report:?}");
    assert!(report.resealed > 0, "{report:?}");
    let after = dump(&app).await;
    assert!(!after.contains(&format!("v1.{id_a}.")), "{after}");
    assert!(after.contains(&format!("v1.{id_b}.")));
    assert_eq!(files_sealed_by(&app, &id_a), 0);
    assert_eq!(files_sealed_by(&app, &id_b), 2);
    let again = rotate(
        &app.db,
        &rotated_config,
        &kyc,
        &RotateOptions {
            batch_size: 2,
            max_changes: None,
        },
    )
    .await
    .unwrap();
    assert!(again.complete && again.resealed == 0, "{again:?}");

    // Key A can go: a sealer with B alone opens every sealed value in the database.
    let only_b = Sealer::new(
        seal::decode_key(KEY_B).unwrap(),
        &[],
        seal::decode_key(app.config.fingerprint_key.as_deref().unwrap()).unwrap(),
    );
    let mut opened = 0;
    let accounts = agora_onboarding::accounts::entity::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    for a in accounts {
        let profile = agora_onboarding::kyc::Profile::from_json(a.profile.as_ref());
        for (purpose, value) in profile.sealed_values() {
            only_b.open(purpose, &value.sealed).unwrap();
            opened += 1;
        }
    }
    assert!(opened >= 3, "id numbers and the tax id: {opened}");
    for b in agora_onboarding::kyc::entities::external_account::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
    {
        only_b
            .open("bank_account", &b.account_number_sealed)
            .unwrap();
    }
    let emails = agora_platform::infra::email::entity::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(emails.len(), 1);
    only_b
        .open("email", emails[0].message_sealed.as_deref().unwrap())
        .unwrap();
    for e in agora_platform::domain::webhooks::entity::endpoint::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
    {
        only_b.open("webhook_secret", &e.secret).unwrap();
        only_b
            .open("webhook_secret", e.previous_secret.as_deref().unwrap())
            .unwrap();
    }

    // A server with key B alone: the document and the bank file open, and the same bank
    // account is still found to be a duplicate, on both accounts.
    let address = app
        .start_another(|c| {
            c.encryption_key = Some(KEY_B.to_owned());
            c.encryption_previous_keys = Vec::new();
        })
        .await;
    let (status, bytes) = call_at(
        &app,
        &address,
        Method::GET,
        &format!("/v1/files/{}/contents", id(&document.body)),
        &app.test_key,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(bytes, PNG);
    let (status, bytes) = call_at(
        &app,
        &address,
        Method::GET,
        &format!("/v1/payout_batches/{}/file", id(&batch)),
        &app.test_key,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&bytes).contains(IBAN));
    for (account, body) in [
        (
            &seller,
            json!({"country": "SE", "currency": "eur", "iban": IBAN}),
        ),
        (&company, us_bank),
    ] {
        let (status, bytes) = call_at(
            &app,
            &address,
            Method::POST,
            &format!("/v1/accounts/{account}/external_accounts"),
            &app.test_key,
            Some(body),
        )
        .await;
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "bank_account_exists", "{body}");
    }
}
