use std::sync::Once;
use std::time::Duration;

use agora_platform::domain::keys::{self, Mode};
use agora_platform::{Application, Config};
use reqwest::{header::HeaderMap, Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;

pub struct TestApp {
    pub address: String,
    /// The separate metrics listener's address, when `metrics_bind` is set.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub test_key: String,
    pub live_key: String,
    pub db: DatabaseConnection,
    /// The configuration the app runs with (its data_dir is the temp dir below).
    pub config: Config,
    _dir: tempfile::TempDir,
    /// Dropped with the app: drops the test's PostgreSQL database.
    _pg: Option<PgDatabase>,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error of the standard shape and returns its `error` object.
    pub fn error(&self, status: u16, kind: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.body);
        let error = &self.body["error"];
        assert_eq!(error["type"], kind, "type; body: {}", self.body);
        assert!(error["code"].is_string(), "code; body: {}", self.body);
        assert!(error["message"].is_string(), "message; body: {}", self.body);
        assert_eq!(
            error["request_id"].as_str(),
            self.header("request-id"),
            "request_id in the body is the Request-Id header"
        );
        error
    }
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // The test's runtime is going away; drop the database from a runtime of our own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(db) = Database::connect(&admin_url).await {
                    let _ = db
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                }
            });
        })
        .join();
    }
}

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        if std::env::var("TEST_LOG").is_ok() {
            agora_platform::infra::telemetry::init(
                "info",
                agora_platform::infra::config::LogFormat::Text,
            );
        }
    });
}

/// Replaces the database name (the path) of a postgres URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Config)) -> TestApp {
    init();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config {
        bind: "127.0.0.1:0".to_owned(),
        data_dir: dir.path().to_path_buf(),
        http_workers: 2,
        // The concurrency tests fire hundreds of requests at once with one key; the rate
        // limit has its own test.
        rate_limit_per_second: 0,
        // Emails leave the outbox quickly, so tests wait for them briefly.
        email_poll_ms: 50,
        // Live mode needs operator-provided keys (sealing.rs tests the server without them).
        encryption_key: Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned()),
        fingerprint_key: Some("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=".to_owned()),
        ..Config::default()
    };
    let mut pg = None;
    match std::env::var("AGORA_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("agora_test_{}", uuid::Uuid::now_v7().simple());
            let admin = Database::connect(&admin_url)
                .await
                .unwrap_or_else(|e| panic!("AGORA_TEST_DATABASE_URL is set but unreachable: {e}"));
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let _ = admin.close().await;
            config.database_url = Some(with_database(&admin_url, &name));
            pg = Some(PgDatabase { admin_url, name });
        }
        _ => {}
    }
    // The suite's webhook receivers listen on 127.0.0.1; the SSRF tests turn this off.
    config.webhook_allow_private_targets = true;
    customise(&mut config);
    let db = agora_platform::infra::db::connect(&config)
        .await
        .expect("connect");
    agora_platform::infra::db::migrate(&db)
        .await
        .expect("migrate");
    let test_key = keys::create(&db, Mode::Test)
        .await
        .expect("test key")
        .secret;
    let live_key = keys::create(&db, Mode::Live)
        .await
        .expect("live key")
        .secret;
    let app = Application::build_with_db(config.clone(), db.clone()).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        address,
        metrics_address,
        client,
        test_key,
        live_key,
        db,
        config,
        _dir: dir,
        _pg: pg,
    }
}

impl TestApp {
    /// Starts a second server on the same database, as after a restart: a fresh process
    /// with fresh workers. Returns its address; the TestApp keeps talking to the first.
    pub async fn start_another(&self, customise: impl FnOnce(&mut Config)) -> String {
        let mut config = self.config.clone();
        config.bind = "127.0.0.1:0".to_owned();
        customise(&mut config);
        let app = Application::build_with_db(config, self.db.clone()).expect("build app");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }

    /// A request with the test key.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.send(method, path, body, &self.test_key, &[]).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.address, path))
            .bearer_auth(key);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        into_response(req.send().await.expect("request")).await
    }

    /// A raw request: no key unless given in `headers`, body as given.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.address, path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        into_response(req.body(body).send().await.expect("request")).await
    }

    /// An account with the basic KYC details in, so it can take charges.
    pub async fn create_seller(&self, body: Value) -> Value {
        let account = self.create_account(seller_body(body)).await;
        assert_eq!(account["charges_enabled"], true, "{account}");
        account
    }

    pub async fn create_account(&self, body: Value) -> Value {
        let res = self.post("/v1/accounts", body).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        res.body
    }
}

async fn into_response(res: reqwest::Response) -> Response {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Response {
        status,
        headers,
        body,
    }
}

/// `body` plus the basic details a seller needs before charges (the requirements' minimum
/// tier): an individual with name, email, date of birth (and the national id where the
/// country asks for it at once), a business profile and accepted terms.
pub fn seller_body(mut body: Value) -> Value {
    let country = body["country"].as_str().unwrap_or("SE").to_owned();
    let mut individual = serde_json::json!({
        "first_name": "Testa",
        "last_name": "Sellerson",
        "email": "seller@example.com",
        "dob": "1990-01-02",
    });
    match country.as_str() {
        // A valid personnummer for 1990-01-02.
        "SE" => individual["id_number"] = "19900102-1238".into(),
        "US" => individual["ssn_last_4"] = "1234".into(),
        _ => {}
    }
    let extra = serde_json::json!({
        "business_type": "individual",
        "business_profile": {"mcc": "5734", "url": "https://shop.example.com"},
        "individual": individual,
        "tos_acceptance": {"ip": "192.0.2.10"},
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.entry(k.clone()).or_insert(v.clone());
        }
    }
    body
}

/// The `.eml` files the email worker has written under `data_dir/outbox` (no `smtp_url`), once
/// there are at least `at_least` of them; after 10 s, whatever is there.
pub async fn outbox(app: &TestApp, at_least: usize) -> Vec<String> {
    let dir = app.config.data_dir.join("outbox");
    let started = std::time::Instant::now();
    loop {
        let mut mails: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        if mails.len() >= at_least || started.elapsed() > std::time::Duration::from_secs(10) {
            mails.sort();
            return mails;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// The one email in the outbox once the worker has made at least `attempts` attempts at it
/// (after 10 s, as it is then). Fails if the outbox holds another number of emails.
pub async fn the_email_after(
    app: &TestApp,
    attempts: i32,
) -> agora_platform::infra::email::entity::Model {
    use agora_platform::infra::email::entity as email;
    use sea_orm::EntityTrait;
    let started = std::time::Instant::now();
    loop {
        let all = email::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        if all[0].attempts >= attempts || started.elapsed() > Duration::from_secs(10) {
            return all[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
