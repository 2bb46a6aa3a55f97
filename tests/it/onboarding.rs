//! Account links and the hosted onboarding pages over plain HTTP (no browser): single use,
//! expiry, the session cookie, CSRF, security headers, language, validation shown inline, and
//! the invitation email written to the outbox.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

struct Page {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn page(
    app: &TestApp,
    method: Method,
    url: &str,
    cookie: Option<&str>,
    extra: &[(&str, &str)],
    form: Option<&[(&str, &str)]>,
) -> Page {
    let url = if url.starts_with("http") {
        url.to_owned()
    } else {
        format!("{}{url}", app.address)
    };
    let mut req = app.client.request(method, url);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    if let Some(form) = form {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        req = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
    }
    let res = req.send().await.expect("request");
    Page {
        status: res.status(),
        headers: res.headers().clone(),
        body: res.text().await.expect("body"),
    }
}

async fn swedish_account(app: &TestApp) -> String {
    let account = app
        .create_account(json!({"country": "SE", "email": "anna@example.se"}))
        .await;
    account["id"].as_str().unwrap().to_owned()
}

async fn link(app: &TestApp, account: &str, extra: Value) -> Value {
    let mut body = json!({
        "account": account,
        "type": "account_onboarding",
        "refresh_url": "https://platform.example/refresh",
        "return_url": "https://platform.example/return",
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let res = app.post("/v1/account_links", body).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.body
}

/// Opens a link and returns the session cookie (`name=value`).
async fn open(app: &TestApp, url: &str) -> String {
    let res = page(app, Method::GET, url, None, &[], None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.header("location"), "/onboarding");
    let set_cookie = res.header("set-cookie");
    set_cookie.split(';').next().unwrap().to_owned()
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_link_opens_once_with_a_safe_cookie_and_strict_headers() {
    let app = spawn_app().await;
    let account = swedish_account(&app).await;
    let created = link(&app, &account, json!({})).await;
    assert_eq!(created["object"], "account_link");
    let url = created["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/onboarding/link/", app.address)),
        "{url}"
    );
    // Times are RFC 3339 like every other object's.
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(created[field].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    let ttl = at("expires_at") - at("created");
    assert_eq!(ttl, 300, "five minutes by default");

    let first = page(&app, Method::GET, url, None, &[], None).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let cookie = first.header("set-cookie").to_owned();
    assert!(cookie.starts_with("agora_onboarding="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/onboarding"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http public_url: no Secure flag: {cookie}"
    );

    // The second open is refused: straight to the platform's refresh_url.
    let again = page(&app, Method::GET, url, None, &[], None).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.header("location"), "https://platform.example/refresh");

    // The session leads to the first step with something due.
    let cookie = cookie.split(';').next().unwrap();
    let start = page(&app, Method::GET, "/onboarding", Some(cookie), &[], None).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    assert_eq!(start.header("location"), "/onboarding/business");
    let business = page(
        &app,
        Method::GET,
        "/onboarding/business",
        Some(cookie),
        &[],
        None,
    )
    .await;
    assert_eq!(business.status, StatusCode::OK);
    let csp = business.header("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("style-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(business.header("x-content-type-options"), "nosniff");
    assert_eq!(business.header("referrer-policy"), "no-referrer");
    assert_eq!(business.header("cache-control"), "no-store");
    assert!(!business.body.contains("<script"), "no script on the pages");
    assert!(
        !business.body.contains("style=\""),
        "no inline styles (CSP would block them)"
    );
    assert!(business.body.contains("<html lang=\"en\">"));

    // Unknown tokens are a 404 page, in HTML.
    let unknown = page(&app, Method::GET, "/onboarding/link/nope", None, &[], None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.header("content-type").starts_with("text/html"));
    // No session: the page says so.
    let none = page(&app, Method::GET, "/onboarding/business", None, &[], None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_secure_cookie_behind_https() {
    let app = spawn_app_with(|c| c.public_url = Some("https://pay.example.com".to_owned())).await;
    let account = swedish_account(&app).await;
    let created = link(&app, &account, json!({})).await;
    let url = created["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://pay.example.com/onboarding/link/"),
        "{url}"
    );
    let path = url.trim_start_matches("https://pay.example.com");
    let res = page(&app, Method::GET, path, None, &[], None).await;
    assert!(
        res.header("set-cookie").contains("Secure"),
        "{}",
        res.header("set-cookie")
    );
    // Browsers are told to come back over https only (issue 15): the pages, the API and the
    // docs alike; not subdomains, which are not ours to decide.
    for path in ["/onboarding/business", "/v1/balance", "/"] {
        let res = page(&app, Method::GET, path, None, &[], None).await;
        assert_eq!(
            res.header("strict-transport-security"),
            "max-age=31536000",
            "{path}"
        );
    }
}

/// Issue 15: the scheme is case-insensitive, so `HTTPS://…` is https too.
#[tokio::test]
async fn an_upper_case_https_public_url_is_https() {
    let app = spawn_app_with(|c| c.public_url = Some("HTTPS://pay.example.com".to_owned())).await;
    let account = swedish_account(&app).await;
    let url = link(&app, &account, json!({})).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = &url[url.find("/onboarding/").unwrap()..];
    let res = page(&app, Method::GET, path, None, &[], None).await;
    assert!(
        res.header("set-cookie").contains("Secure"),
        "{}",
        res.header("set-cookie")
    );
    assert_eq!(res.header("strict-transport-security"), "max-age=31536000");
}

/// Issue 15: a client's own `X-Forwarded-Proto` or `Forwarded` header decides nothing: behind
/// a plain http `public_url` the cookie is not `Secure` and no HSTS is sent (a forged header
/// must not pin a host to https). Only a proxy listed in `trusted_proxies` is believed when
/// it says the request came over https: then the cookie is `Secure` (HSTS still follows
/// `public_url` alone).
#[tokio::test]
async fn forwarded_proto_counts_only_from_a_trusted_proxy() {
    let app = spawn_app().await;
    let account = swedish_account(&app).await;
    let created = link(&app, &account, json!({})).await;
    let res = page(
        &app,
        Method::GET,
        created["url"].as_str().unwrap(),
        None,
        &[("x-forwarded-proto", "https"), ("forwarded", "proto=https")],
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(!res.header("set-cookie").is_empty());
    assert!(
        !res.header("set-cookie").contains("Secure"),
        "{}",
        res.header("set-cookie")
    );
    assert_eq!(res.header("strict-transport-security"), "");

    // The tests' requests come from 127.0.0.1: as the trusted proxy.
    let app = spawn_app_with(|c| c.trusted_proxies = "127.0.0.1".to_owned()).await;
    let account = swedish_account(&app).await;
    for (proto, secure) in [("https", true), ("http", false)] {
        let created = link(&app, &account, json!({})).await;
        let res = page(
            &app,
            Method::GET,
            created["url"].as_str().unwrap(),
            None,
            &[("x-forwarded-proto", proto)],
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let cookie = res.header("set-cookie");
        assert_eq!(cookie.contains("Secure"), secure, "{proto}: {cookie}");
        assert_eq!(res.header("strict-transport-security"), "");
    }
}

#[tokio::test]
async fn an_expired_link_goes_to_refresh_url() {
    let app = spawn_app_with(|c| c.account_link_ttl_s = 1).await;
    let account = swedish_account(&app).await;
    let created = link(&app, &account, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let res = page(
        &app,
        Method::GET,
        created["url"].as_str().unwrap(),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), "https://platform.example/refresh");
    assert!(
        res.header("set-cookie").is_empty(),
        "no session for an expired link"
    );
}

#[tokio::test]
async fn link_parameters_are_checked() {
    let app = spawn_app().await;
    let account = swedish_account(&app).await;
    for (body, param) in [
        (json!({"refresh_url": "ftp://x.example/r"}), "refresh_url"),
        (json!({"return_url": "not a url"}), "return_url"),
        (json!({"type": "account_everything"}), "type"),
        (json!({"collect": "always"}), "collect"),
    ] {
        let mut full = json!({
            "account": account, "type": "account_onboarding",
            "refresh_url": "https://p.example/r", "return_url": "https://p.example/s",
        });
        for (k, v) in body.as_object().unwrap() {
            full[k] = v.clone();
        }
        let res = app.post("/v1/account_links", full).await;
        let error = res.error(400, "invalid_request_error");
        assert_eq!(error["param"], param, "{}", res.body);
    }
    let res = app
        .post(
            "/v1/account_links",
            json!({"account": "acct_01h455vb4pex5vsknk084sn02q", "type": "account_onboarding",
                   "refresh_url": "https://p.example/r", "return_url": "https://p.example/s"}),
        )
        .await;
    let error = res.error(400, "invalid_request_error");
    assert_eq!(
        (error["code"].as_str(), error["param"].as_str()),
        (Some("resource_missing"), Some("account"))
    );
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_forbidden() {
    let app = spawn_app().await;
    let account = swedish_account(&app).await;
    let created = link(&app, &account, json!({})).await;
    let cookie = open(&app, created["url"].as_str().unwrap()).await;
    let form = [
        ("business_type", "individual"),
        ("business_profile.mcc", "5734"),
        ("business_profile.url", "https://shop.example.com"),
    ];
    let missing = page(
        &app,
        Method::POST,
        "/onboarding/business",
        Some(&cookie),
        &[],
        Some(&form),
    )
    .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.header("content-type").starts_with("text/html"));
    let mut wrong = form.to_vec();
    wrong.push(("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    let res = page(
        &app,
        Method::POST,
        "/onboarding/business",
        Some(&cookie),
        &[],
        Some(&wrong),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Nothing was written.
    let acct = app.get(&format!("/v1/accounts/{account}")).await.body;
    assert_eq!(acct["business_type"], Value::Null);

    // With the token the same form goes through.
    let html = page(
        &app,
        Method::GET,
        "/onboarding/business",
        Some(&cookie),
        &[],
        None,
    )
    .await
    .body;
    let csrf = csrf_of(&html);
    let mut right = form.to_vec();
    right.push(("csrf_token", &csrf));
    let ok = page(
        &app,
        Method::POST,
        "/onboarding/business",
        Some(&cookie),
        &[],
        Some(&right),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.header("location"), "/onboarding/details");
    let acct = app.get(&format!("/v1/accounts/{account}")).await.body;
    assert_eq!(acct["business_type"], "individual");
}

#[tokio::test]
async fn swedish_from_accept_language_and_switchable() {
    let app = spawn_app().await;
    let account = swedish_account(&app).await;
    let created = link(&app, &account, json!({})).await;
    let cookie = open(&app, created["url"].as_str().unwrap()).await;
    let sv = [("accept-language", "sv-SE,sv;q=0.9,en;q=0.5")];
    let res = page(
        &app,
        Method::GET,
        "/onboarding/business",
        Some(&cookie),
        &sv,
        None,
    )
    .await;
    assert!(res.body.contains("<html lang=\"sv\">"), "{}", res.body);
    assert!(res.body.contains("Din verksamhet"));
    assert!(res.body.contains("lang=\"en\""), "a switch to English");
    // Switching is remembered in the session, whatever the browser says.
    let switch = page(
        &app,
        Method::GET,
        "/onboarding/business?lang=en",
        Some(&cookie),
        &sv,
        None,
    )
    .await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    let res = page(
        &app,
        Method::GET,
        "/onboarding/business",
        Some(&cookie),
        &sv,
        None,
    )
    .await;
    assert!(res.body.contains("<html lang=\"en\">"));
    assert!(res.body.contains("Your business"));
}

#[tokio::test]
async fn validation_errors_are_inline_with_the_apis_codes_and_values_kept() {
    let app = spawn_app().await;
    let account = swedish_account(&app).await;
    let created = link(&app, &account, json!({})).await;
    let cookie = open(&app, created["url"].as_str().unwrap()).await;
    let html = page(
        &app,
        Method::GET,
        "/onboarding/business",
        Some(&cookie),
        &[],
        None,
    )
    .await
    .body;
    let csrf = csrf_of(&html);
    let res = page(
        &app,
        Method::POST,
        "/onboarding/business",
        Some(&cookie),
        &[],
        Some(&[
            ("csrf_token", &csrf),
            ("business_type", "individual"),
            ("business_profile.mcc", "5734"),
            ("business_profile.url", "https://shop.example.com"),
        ]),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let details = page(
        &app,
        Method::GET,
        "/onboarding/details",
        Some(&cookie),
        &[],
        None,
    )
    .await;
    assert!(
        details.body.contains("id=\"f-individual-id_number\""),
        "{}",
        details.body
    );
    // The account's email is the individual's: the seller is not asked for it again.
    assert!(
        !details.body.contains("id=\"f-individual-email\""),
        "{}",
        details.body
    );
    let form = [
        ("csrf_token", csrf.as_str()),
        ("individual.first_name", "Anna"),
        ("individual.last_name", "Andersson"),
        ("individual.dob", "1990-01-02"),
        ("individual.id_number", "19900102-1234"),
    ];
    let res = page(
        &app,
        Method::POST,
        "/onboarding/details",
        Some(&cookie),
        &[],
        Some(&form),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let body = &res.body;
    assert!(body.contains("role=\"alert\""), "{body}");
    assert!(body.contains("href=\"#f-individual-id_number\""), "{body}");
    assert!(body.contains("aria-invalid=\"true\""), "{body}");
    assert!(
        body.contains(
            "aria-describedby=\"f-individual-id_number-hint f-individual-id_number-error\""
        ),
        "{body}"
    );
    assert!(
        body.contains("value=\"Andersson\""),
        "entered values are kept: {body}"
    );
    assert!(body.contains("not valid"), "the checksum error: {body}");
    // The API refuses the same value with the code the page translated.
    let api = app
        .post(
            &format!("/v1/accounts/{account}"),
            json!({"individual": {"id_number": "19900102-1234"}}),
        )
        .await;
    assert_eq!(
        api.error(400, "invalid_request_error")["code"],
        "invalid_id_number_checksum"
    );
    // Nothing of the refused form was saved.
    let acct = app.get(&format!("/v1/accounts/{account}")).await.body;
    assert_eq!(acct["individual"]["first_name"], Value::Null, "{acct}");

    let mut fixed = form.to_vec();
    fixed.retain(|(k, _)| *k != "individual.id_number");
    fixed.push(("individual.id_number", "19900102-1238"));
    let res = page(
        &app,
        Method::POST,
        "/onboarding/details",
        Some(&cookie),
        &[],
        Some(&fixed),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        res.header("location"),
        "/onboarding/terms",
        "currently_due: no bank or address yet"
    );
    let terms = page(
        &app,
        Method::GET,
        "/onboarding/terms",
        Some(&cookie),
        &[],
        None,
    )
    .await;
    assert!(terms.body.contains("type=\"checkbox\""));
    let res = page(
        &app,
        Method::POST,
        "/onboarding/terms",
        Some(&cookie),
        &[],
        Some(&[("csrf_token", &csrf), ("tos_acceptance", "accept")]),
    )
    .await;
    assert_eq!(res.header("location"), "/onboarding/review");
    let res = page(
        &app,
        Method::POST,
        "/onboarding/review",
        Some(&cookie),
        &[],
        Some(&[("csrf_token", &csrf)]),
    )
    .await;
    // A confirmation in the seller's language, then on to the platform (a link, read first).
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(
        res.body
            .contains("We are checking your details. You will hear from us by email."),
        "{}",
        res.body
    );
    assert!(
        res.body
            .contains("<a class=\"button\" href=\"https://platform.example/return\">Continue</a>"),
        "{}",
        res.body
    );
    assert!(
        res.header("set-cookie").starts_with("agora_onboarding=;"),
        "the session cookie is cleared: {}",
        res.header("set-cookie")
    );
    let acct = app.get(&format!("/v1/accounts/{account}")).await.body;
    assert_eq!(acct["requirements"]["currently_due"], json!([]), "{acct}");
    assert_eq!(acct["charges_enabled"], true);
    // The session ended with the submission.
    let after = page(
        &app,
        Method::GET,
        "/onboarding/review",
        Some(&cookie),
        &[],
        None,
    )
    .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_invitation_lands_in_the_outbox_without_smtp() {
    let app = spawn_app().await;
    let account = swedish_account(&app).await;
    let res = app
        .post(
            &format!("/v1/accounts/{account}/onboarding_email"),
            json!({"refresh_url": "https://p.example/r", "return_url": "https://p.example/s", "locale": "sv"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["to"], "anna@example.se");
    assert_eq!(res.body["locale"], "sv");
    let files = crate::helpers::outbox(&app, 1).await;
    assert_eq!(files.len(), 1);
    let eml = &files[0];
    assert!(eml.contains("multipart/alternative"), "{eml}");
    assert!(
        eml.contains("text/plain") && eml.contains("text/html"),
        "{eml}"
    );
    assert!(eml.contains("To: anna@example.se"), "{eml}");

    // No address at all: refused.
    let bare = app.create_account(json!({"country": "SE"})).await;
    let res = app
        .post(
            &format!(
                "/v1/accounts/{}/onboarding_email",
                bare["id"].as_str().unwrap()
            ),
            json!({"refresh_url": "https://p.example/r", "return_url": "https://p.example/s"}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "email_missing"
    );
}

/// Issue 7's promise: a payout fails, the seller fixes the bank account through an
/// `account_update` link (the hosted bank step), and the next payout is paid to the new one.
#[tokio::test]
async fn a_failed_payout_is_fixed_through_an_account_update_link_and_paid() {
    let app = spawn_app_with(|c| c.payout_worker = false).await;
    let account = app
        .create_seller(json!({"country": "SE", "settlement_delay_days": 0}))
        .await;
    let acct = account["id"].as_str().unwrap().to_owned();
    let res = app
        .post(
            &format!("/v1/accounts/{acct}"),
            json!({"individual": {"phone": "+46701234567", "address": {"line1": "Storgatan 1", "city": "Stockholm", "postal_code": "111 22"}}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let old_bank = app
        .post(
            &format!("/v1/accounts/{acct}/external_accounts"),
            json!({"country": "SE", "currency": "sek", "iban": "SE4550000000058398257466"}),
        )
        .await
        .body;
    let charge = app
        .post(
            "/v1/charges",
            json!({"amount": 50000, "currency": "sek", "destination": acct, "payment_method": "pm_card_visa", "application_fee_amount": 0}),
        )
        .await;
    assert_eq!(charge.status, StatusCode::OK, "{}", charge.body);
    app.post("/v1/test_helpers/advance_clock", json!({"seconds": 1}))
        .await;

    let payout = app
        .post(
            "/v1/payouts",
            json!({"amount": 20000, "currency": "sek", "account": acct}),
        )
        .await;
    assert_eq!(payout.status, StatusCode::OK, "{}", payout.body);
    assert_eq!(payout.body["destination"], old_bank["id"]);
    let po = payout.body["id"].as_str().unwrap().to_owned();
    let failed = app
        .post(
            &format!("/v1/test_helpers/payouts/{po}/fail"),
            json!({"failure_code": "account_closed"}),
        )
        .await;
    assert_eq!(failed.body["status"], "failed", "{}", failed.body);
    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(seller["payouts_enabled"], false);
    assert_eq!(
        seller["requirements"]["errors"][0]["code"], "bank_account_unusable",
        "{seller:#}"
    );

    // The seller fixes it on the hosted pages: only the bank step is open.
    let created = link(
        &app,
        &acct,
        json!({"type": "account_update", "collect": "eventually_due"}),
    )
    .await;
    let cookie = open(&app, created["url"].as_str().unwrap()).await;
    let start = page(&app, Method::GET, "/onboarding", Some(&cookie), &[], None).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    assert_eq!(start.header("location"), "/onboarding/bank");
    let bank = page(
        &app,
        Method::GET,
        "/onboarding/bank",
        Some(&cookie),
        &[],
        None,
    )
    .await;
    assert!(bank.body.contains("name=\"iban\""), "{}", bank.body);
    let csrf = csrf_of(&bank.body);
    let res = page(
        &app,
        Method::POST,
        "/onboarding/bank",
        Some(&cookie),
        &[],
        Some(&[
            ("csrf_token", csrf.as_str()),
            ("iban", "SE35 5000 0000 0549 1000 0003"),
            ("account_holder_name", "Testa Sellerson"),
        ]),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let review = page(
        &app,
        Method::POST,
        "/onboarding/review",
        Some(&cookie),
        &[],
        Some(&[("csrf_token", csrf.as_str())]),
    )
    .await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert!(
        review
            .body
            .contains("href=\"https://platform.example/return\""),
        "{}",
        review.body
    );

    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(seller["payouts_enabled"], true, "{seller:#}");
    let again = app
        .post(
            "/v1/payouts",
            json!({"amount": 20000, "currency": "sek", "account": acct}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_ne!(again.body["destination"], old_bank["id"]);
    let po = again.body["id"].as_str().unwrap().to_owned();
    let paid = app
        .post(&format!("/v1/test_helpers/payouts/{po}/pay"), json!({}))
        .await;
    assert_eq!(paid.body["status"], "paid", "{}", paid.body);
    let report = agora_ledger::verify::verify(&app.db).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// A German company gives its owners and directors on the owners page.
#[tokio::test]
async fn a_company_lists_owners_and_directors_on_the_owners_page() {
    let app = spawn_app().await;
    let account = app
        .create_account(json!({
            "country": "DE", "business_type": "company",
            "company": {"name": "Beispiel GmbH"},
        }))
        .await;
    let acct = account["id"].as_str().unwrap().to_owned();
    let created = link(&app, &acct, json!({"collect": "eventually_due"})).await;
    let cookie = open(&app, created["url"].as_str().unwrap()).await;
    let owners = page(
        &app,
        Method::GET,
        "/onboarding/owners",
        Some(&cookie),
        &[],
        None,
    )
    .await;
    assert_eq!(owners.status, StatusCode::OK, "{}", owners.body);
    assert!(owners
        .body
        .contains("name=\"company.owners[0].ownership_percent\""));
    assert!(owners
        .body
        .contains("name=\"company.directors[0].last_name\""));
    assert!(owners.body.contains("Director 1"), "{}", owners.body);
    // Each owner's and director's row is a fieldset named by its legend (a screen reader
    // says whose "First name" it is), and every fieldset is closed.
    assert!(
        owners
            .body
            .contains(r#"<fieldset class="group"><legend class="group">Director 1</legend>"#),
        "{}",
        owners.body
    );
    assert_eq!(
        owners.body.matches("<fieldset").count(),
        owners.body.matches("</fieldset>").count(),
        "{}",
        owners.body
    );
    let csrf = csrf_of(&owners.body);
    // A half-filled director row is refused, and nothing is saved.
    let half = page(
        &app,
        Method::POST,
        "/onboarding/owners",
        Some(&cookie),
        &[],
        Some(&[
            ("csrf_token", csrf.as_str()),
            ("company.directors[0].first_name", "Max"),
        ]),
    )
    .await;
    assert_eq!(half.status, StatusCode::BAD_REQUEST);
    assert!(
        half.body
            .contains("href=\"#f-company-directors-0--last_name\""),
        "{}",
        half.body
    );
    let res = page(
        &app,
        Method::POST,
        "/onboarding/owners",
        Some(&cookie),
        &[],
        Some(&[
            ("csrf_token", csrf.as_str()),
            ("company.owners[0].first_name", "Max"),
            ("company.owners[0].last_name", "Mustermann"),
            ("company.owners[0].dob", "1975-05-20"),
            ("company.owners[0].ownership_percent", "60"),
            ("company.directors[0].first_name", "Max"),
            ("company.directors[0].last_name", "Mustermann"),
            ("company.directors[1].first_name", "Erika"),
            ("company.directors[1].last_name", "Mustermann"),
        ]),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(account["company"]["owners_provided"], true);
    assert_eq!(account["company"]["owners"][0]["ownership_percent"], "60");
    assert_eq!(account["company"]["directors_provided"], true);
    assert_eq!(account["company"]["directors"][1]["first_name"], "Erika");
    let due = account["requirements"]["eventually_due"].to_string();
    assert!(!due.contains("company.owners"), "{due}");
    assert!(!due.contains("company.directors"), "{due}");
}

#[tokio::test]
async fn the_sweep_deletes_ended_sessions_and_links_long_expired() {
    use agora_platform::adapters::hosted::sweep;
    let app = spawn_app().await;
    let account = swedish_account(&app).await;
    let created = link(&app, &account, json!({})).await;
    let url = created["url"].as_str().unwrap();
    let cookie = open(&app, url).await;
    let live = page(
        &app,
        Method::GET,
        "/onboarding/business",
        Some(&cookie),
        &[],
        None,
    )
    .await;
    assert_eq!(live.status, StatusCode::OK);

    let now = chrono::Utc::now();
    assert_eq!(sweep(&app.db, now, 100).await.unwrap(), (0, 0), "all alive");
    // Two hours on, the one-hour session has ended: deleted. The link stays, so opening it
    // again still leads to refresh_url.
    let later = now + chrono::Duration::hours(2);
    assert_eq!(sweep(&app.db, later, 100).await.unwrap(), (1, 0));
    let ended = page(
        &app,
        Method::GET,
        "/onboarding/business",
        Some(&cookie),
        &[],
        None,
    )
    .await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
    let stale = page(&app, Method::GET, url, None, &[], None).await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER);
    assert_eq!(stale.header("location"), "https://platform.example/refresh");
    // A month past its expiry the link goes too; opening it is then an unknown link.
    let month = now + chrono::Duration::days(agora_onboarding::links::LINK_RETENTION_DAYS + 1);
    assert_eq!(sweep(&app.db, month, 100).await.unwrap(), (0, 1));
    let unknown = page(&app, Method::GET, url, None, &[], None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
