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
        res.header("set-cookie").starts_with(&format!("{cookie};")),
        "the session cookie lives on, submitted: {}",
        res.header("set-cookie")
    );
    let acct = app.get(&format!("/v1/accounts/{account}")).await.body;
    assert_eq!(acct["requirements"]["currently_due"], json!([]), "{acct}");
    assert_eq!(acct["charges_enabled"], true);
    // The session is submitted: its pages say so (see back_after_submitting_…).
    let after = page(
        &app,
        Method::GET,
        "/onboarding/review",
        Some(&cookie),
        &[],
        None,
    )
    .await;
    assert_eq!(after.status, StatusCode::OK);
    assert!(after.body.contains("You have already sent your details."));
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

// ---------------------------------------------------------------------------------------
// Issue 23: a seller on a phone — no dead ends, a complete review, real terms, messages
// that name the field.

async fn get_page(app: &TestApp, path: &str, cookie: &str) -> Page {
    page(app, Method::GET, path, Some(cookie), &[], None).await
}

async fn post_form(app: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> Page {
    page(app, Method::POST, path, Some(cookie), &[], Some(form)).await
}

/// A link collecting everything for a fresh account made from `body`: (account id, cookie,
/// CSRF token).
async fn session_for(app: &TestApp, body: Value) -> (String, String, String) {
    let account = app.create_account(body).await;
    let id = account["id"].as_str().unwrap().to_owned();
    let created = link(app, &id, json!({"collect": "eventually_due"})).await;
    let cookie = open(app, created["url"].as_str().unwrap()).await;
    let first = get_page(app, "/onboarding", &cookie).await;
    let location = first.header("location").to_owned();
    let html = get_page(app, &location, &cookie).await.body;
    (id, cookie, csrf_of(&html))
}

#[tokio::test]
async fn a_date_of_birth_that_disagrees_with_the_personnummer_can_be_fixed() {
    let app = spawn_app().await;
    // The platform sent a date of birth with a typo, and the seller's (right) personnummer.
    let (acct, cookie, csrf) = session_for(
        &app,
        json!({"country": "SE", "email": "anna@example.se", "business_type": "individual",
               "individual": {"first_name": "Anna", "last_name": "Andersson",
                              "dob": "1990-01-03", "id_number": "19900102-1238"}}),
    )
    .await;
    let details = get_page(&app, "/onboarding/details", &cookie).await;
    let body = &details.body;
    // Both fields involved are on the page, the date of birth with its value, each marked.
    assert!(body.contains("id=\"f-individual-dob\""), "{body}");
    assert!(body.contains("value=\"1990-01-03\""), "{body}");
    assert!(body.contains("href=\"#f-individual-dob\""), "{body}");
    assert!(
        body.contains("id=\"f-individual-id_number-error\""),
        "{body}"
    );
    // One message for both fields, listed once in the summary: the stored personnummer is
    // never shown back, so both are typed again.
    let message = "The date of birth and the personal identity number point to different dates. Enter both again.";
    let summary = &body[body.find("error-summary").expect("summary")..];
    let summary = &summary[..summary.find("</ul>").unwrap()];
    assert_eq!(summary.matches(message).count(), 1, "{summary}");
    assert_eq!(
        body.matches(message).count(),
        3,
        "summary and both fields: {body}"
    );
    // Still wrong: the page comes back with both fields and what was typed.
    let mut form = vec![
        ("csrf_token", csrf.as_str()),
        ("individual.dob", "1990-01-05"),
        ("individual.id_number", "19900102-1238"),
        ("individual.phone", "+46701234567"),
        ("individual.address.line1", "Storgatan 1"),
        ("individual.address.postal_code", "11122"),
        ("individual.address.city", "Stockholm"),
    ];
    let again = post_form(&app, "/onboarding/details", &cookie, &form).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(
        again.body.contains("value=\"1990-01-05\""),
        "{}",
        again.body
    );
    assert!(
        again.body.contains("value=\"19900102-1238\""),
        "{}",
        again.body
    );
    // What was fine was saved (those fields are no longer asked).
    assert!(
        !again.body.contains("f-individual-address-line1"),
        "{}",
        again.body
    );
    assert!(
        again.body.contains("href=\"#f-individual-dob\""),
        "{}",
        again.body
    );
    // Fixed from that page, typed as a phone's number pad can: no dashes.
    form[1] = ("individual.dob", "19900102");
    let fixed = post_form(&app, "/onboarding/details", &cookie, &form).await;
    assert_eq!(fixed.status, StatusCode::SEE_OTHER, "{}", fixed.body);
    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(seller["individual"]["dob"], "1990-01-02", "{seller}");
    assert_eq!(seller["requirements"]["errors"], json!([]), "{seller}");
}

#[tokio::test]
async fn a_swedish_personnummer_gives_the_date_of_birth_and_dates_take_the_usual_forms() {
    let app = spawn_app().await;
    let (acct, cookie, csrf) = session_for(
        &app,
        json!({"country": "SE", "email": "anna@example.se", "business_type": "individual"}),
    )
    .await;
    let details = get_page(&app, "/onboarding/details", &cookie).await;
    assert!(
        !details.body.contains("id=\"f-individual-dob\""),
        "{}",
        details.body
    );
    assert!(
        details
            .body
            .contains("Your date of birth is taken from it."),
        "{}",
        details.body
    );
    let res = post_form(
        &app,
        "/onboarding/details",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("individual.first_name", "Anna"),
            ("individual.last_name", "Andersson"),
            ("individual.id_number", "199001021238"),
            ("individual.phone", "+46701234567"),
            ("individual.address.line1", "Storgatan 1"),
            ("individual.address.postal_code", "11122"),
            ("individual.address.city", "Stockholm"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(seller["individual"]["dob"], "1990-01-02", "{seller}");

    // A German company's representative types the date as Germans do.
    let (acct, cookie, csrf) = session_for(
        &app,
        json!({"country": "DE", "email": "max@example.de", "business_type": "company"}),
    )
    .await;
    let details = get_page(&app, "/onboarding/details", &cookie).await;
    assert!(
        details.body.contains("for example 31.01.1990 or 19900131"),
        "{}",
        details.body
    );
    assert!(details.body.contains("+49 30 1234567"), "{}", details.body);
    assert!(
        !details.body.contains("+46"),
        "no Swedish example: {}",
        details.body
    );
    let res = post_form(
        &app,
        "/onboarding/details",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("company.name", "Beispiel GmbH"),
            ("company.representative.first_name", "Max"),
            ("company.representative.last_name", "Mustermann"),
            ("company.representative.dob", "20.5.1975"),
        ],
    )
    .await;
    // Other fields are missing, but not the date: it was understood.
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        !res.body.contains("href=\"#f-company-representative-dob\""),
        "{}",
        res.body
    );
    // Shown back as typed.
    assert!(res.body.contains("value=\"20.5.1975\""), "{}", res.body);
    let _ = acct;
}

/// An individual with everything given through the API except what the test gives on the
/// pages.
fn complete_swedish_individual() -> Value {
    json!({"country": "SE", "email": "anna@example.se", "business_type": "individual",
           "business_profile": {"mcc": "5734", "url": "https://anna.example.se"},
           "individual": {"first_name": "Anna", "last_name": "Andersson", "dob": "1990-01-02",
                          "id_number": "19900102-1238", "phone": "+46701234567",
                          "address": {"line1": "Storgatan 1", "postal_code": "11122",
                                      "city": "Stockholm"}},
           "tos_acceptance": {"ip": "192.0.2.1"}})
}

#[tokio::test]
async fn the_review_shows_everything_and_each_step_can_be_changed() {
    let app = spawn_app().await;
    let (acct, cookie, csrf) = session_for(&app, complete_swedish_individual()).await;
    let bank = post_form(
        &app,
        "/onboarding/bank",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("iban", "SE4550000000058398257466"),
            ("account_holder_name", "Anna Andersson"),
        ],
    )
    .await;
    assert_eq!(
        bank.header("location"),
        "/onboarding/review",
        "{}",
        bank.body
    );
    let review = get_page(&app, "/onboarding/review", &cookie).await.body;
    for shown in [
        "Your business",
        "Individual or sole trader",
        "Software and digital goods",
        "https://anna.example.se",
        "Your details",
        "Anna Andersson",
        "anna@example.se",
        "+46701234567",
        "1990-01-02",
        "Personal identity number",
        "Given (not shown)",
        "Storgatan 1, 11122 Stockholm",
        "Ending in 7466",
        "Terms accepted",
        "href=\"/onboarding/business?return=review\"",
        "href=\"/onboarding/details?return=review\"",
        "href=\"/onboarding/bank?return=review\"",
    ] {
        assert!(review.contains(shown), "{shown}: {review}");
    }
    // Never a digit of the personnummer beyond the date of birth shown above.
    assert!(!review.contains("1238"), "{review}");
    // The progress list: every step, finished ones as links back.
    assert!(
        review.contains("<li class=\"done\"><a href=\"/onboarding/details\">Your details</a>"),
        "{review}"
    );
    assert!(
        review.contains("<li class=\"current\" aria-current=\"step\">Review and submit"),
        "{review}"
    );
    // Change: the finished step opens (no bounce), with its values, and goes back to the
    // review; the personnummer not typed again is kept.
    let change = get_page(&app, "/onboarding/details?return=review", &cookie).await;
    assert_eq!(change.status, StatusCode::OK, "{}", change.body);
    assert!(
        change.body.contains("value=\"Andersson\""),
        "{}",
        change.body
    );
    assert!(
        change.body.contains("name=\"return_to\" value=\"review\""),
        "{}",
        change.body
    );
    assert!(
        change
            .body
            .contains("Leave empty to keep the one you gave."),
        "{}",
        change.body
    );
    assert!(!change.body.contains("1238"), "{}", change.body);
    let res = post_form(
        &app,
        "/onboarding/details",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("return_to", "review"),
            ("individual.first_name", "Annie"),
            ("individual.last_name", "Andersson"),
            ("individual.id_number", ""),
            ("individual.phone", "+46701234567"),
            ("individual.address.line1", "Storgatan 1"),
            ("individual.address.postal_code", "11122"),
            ("individual.address.city", "Stockholm"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.header("location"), "/onboarding/review");
    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(seller["individual"]["first_name"], "Annie");
    assert_eq!(seller["individual"]["id_number_provided"], true);
    assert_eq!(seller["payouts_enabled"], true, "{seller}");
    // A bank step opened again and left empty adds nothing.
    let res = post_form(
        &app,
        "/onboarding/bank",
        &cookie,
        &[("csrf_token", csrf.as_str()), ("return_to", "review")],
    )
    .await;
    assert_eq!(res.header("location"), "/onboarding/review", "{}", res.body);
}

#[tokio::test]
async fn terms_link_the_platforms_documents_and_an_unticked_box_is_marked() {
    let app = spawn_app_with(|c| {
        c.terms_url = Some("https://platform.example/terms".to_owned());
        c.privacy_url = Some("https://platform.example/privacy".to_owned());
    })
    .await;
    let (_, cookie, csrf) =
        session_for(&app, json!({"country": "SE", "email": "anna@example.se"})).await;
    let business = get_page(&app, "/onboarding/business", &cookie).await.body;
    assert!(
        business.contains("<a href=\"https://platform.example/terms\">Terms of service</a>"),
        "the footer links the terms: {business}"
    );
    assert!(business.contains("href=\"https://platform.example/privacy\""));
    let terms = get_page(&app, "/onboarding/terms", &cookie).await.body;
    assert_eq!(
        terms
            .matches("href=\"https://platform.example/terms\"")
            .count(),
        2,
        "in the step and in the footer: {terms}"
    );
    // Unbranded: no "Agora and Agora".
    assert!(
        terms.contains("I accept Agora&#39;s terms of service"),
        "{terms}"
    );
    let refused = post_form(
        &app,
        "/onboarding/terms",
        &cookie,
        &[("csrf_token", csrf.as_str())],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("<div class=\"field field-invalid\">"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Accept the terms to continue."));

    // Without them configured, the step does not ask the seller to read what is not there.
    let app = spawn_app().await;
    let (_, cookie, _) = session_for(&app, json!({"country": "SE", "email": "a@example.se"})).await;
    let terms = get_page(&app, "/onboarding/terms", &cookie).await.body;
    assert!(!terms.contains("Read the terms"), "{terms}");
    assert!(
        terms.contains("Accept the terms of service to continue."),
        "{terms}"
    );
}

#[tokio::test]
async fn owners_and_directors_say_what_is_required_and_this_is_me_copies_the_representative() {
    let app = spawn_app().await;
    let (acct, cookie, csrf) = session_for(
        &app,
        json!({"country": "DE", "email": "max@example.de", "business_type": "company",
               "company": {"name": "Beispiel GmbH",
                           "representative": {"first_name": "Max", "last_name": "Mustermann",
                                              "dob": "1975-05-20"}}}),
    )
    .await;
    let owners = get_page(&app, "/onboarding/owners", &cookie).await.body;
    for shown in [
        "<h1>Owners and directors</h1>",
        "must name at least one director",
        "I, Max Mustermann, own 25 % or more of the company",
        "I, Max Mustermann, am a director",
        "<legend class=\"group\">Owner 1 (optional)</legend>",
        "<legend class=\"group\">Director 1</legend>",
        "<legend class=\"group\">Director 2 (optional)</legend>",
    ] {
        assert!(owners.contains(shown), "{shown}: {owners}");
    }
    // Rows say it in their legend, not at every field.
    // (Your share is required when ticked: its hint says so, no "(optional)".)
    assert_eq!(
        owners.matches("<span class=\"optional\">").count(),
        0,
        "{owners}"
    );
    // Nobody named as director: the first director row is what is missing, by name.
    let refused = post_form(
        &app,
        "/onboarding/owners",
        &cookie,
        &[("csrf_token", csrf.as_str())],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("Enter the first name (director 1)"),
        "{}",
        refused.body
    );
    // More than 100 %: at the share fields, the summary linking to the first.
    let form = [
        ("csrf_token", csrf.as_str()),
        ("owners_me", "yes"),
        ("owners_me_percent", "60"),
        ("directors_me", "yes"),
        ("company.owners[0].first_name", "Erika"),
        ("company.owners[0].last_name", "Mustermann"),
        ("company.owners[0].dob", "02.11.1978"),
        ("company.owners[0].ownership_percent", "50"),
    ];
    let over = post_form(&app, "/onboarding/owners", &cookie, &form).await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST, "{}", over.body);
    let summary_start = over.body.find("error-summary").unwrap();
    let first_link = &over.body[summary_start..];
    assert!(
        first_link.contains("<li><a href=\"#f-owners_me_percent\">The shares add up to 110 %; together they can be at most 100 %.</a></li>"),
        "{}",
        over.body
    );
    assert!(over
        .body
        .contains("id=\"f-company-owners-0--ownership_percent-error\""));
    assert!(over.body.contains("value=\"Erika\""));
    let mut fixed = form.to_vec();
    fixed[7] = ("company.owners[0].ownership_percent", "40");
    let ok = post_form(&app, "/onboarding/owners", &cookie, &fixed).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    let company = &seller["company"];
    assert_eq!(company["owners"][0]["first_name"], "Max", "{seller}");
    assert_eq!(company["owners"][0]["dob"], "1975-05-20");
    assert_eq!(company["owners"][0]["ownership_percent"], "60");
    assert_eq!(company["owners"][1]["dob"], "1978-11-02");
    assert_eq!(company["directors"][0]["last_name"], "Mustermann");
    assert_eq!(company["directors"].as_array().unwrap().len(), 1);
    // Opened again, "This is me" is ticked rather than the representative listed twice.
    let again = get_page(&app, "/onboarding/owners", &cookie).await.body;
    assert!(
        again.contains("name=\"owners_me\" value=\"yes\" checked"),
        "{again}"
    );
    assert!(again.contains("value=\"Erika\""), "{again}");
    assert!(!again.contains("value=\"Max\""), "{again}");
}

#[tokio::test]
async fn messages_name_the_field_and_websites_need_no_scheme() {
    let app = spawn_app().await;
    let (acct, cookie, csrf) =
        session_for(&app, json!({"country": "SE", "email": "anna@example.se"})).await;
    let res = post_form(
        &app,
        "/onboarding/business",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("business_type", "individual"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.body.contains(">Choose what you sell</a>"),
        "{}",
        res.body
    );
    assert!(
        res.body.contains("Enter your website address"),
        "{}",
        res.body
    );
    assert!(
        !res.body.contains("Enter this information."),
        "{}",
        res.body
    );
    let sv = page(
        &app,
        Method::POST,
        "/onboarding/business?",
        Some(&cookie),
        &[("accept-language", "sv")],
        Some(&[
            ("csrf_token", csrf.as_str()),
            ("business_type", "individual"),
        ]),
    )
    .await;
    assert!(sv.body.contains("Välj vad du säljer"), "{}", sv.body);
    assert!(!sv.body.contains("Fyll i uppgiften."), "{}", sv.body);
    // annasbutik.se without https:// is a website.
    let res = post_form(
        &app,
        "/onboarding/business",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("business_type", "individual"),
            ("business_profile.mcc", "5699"),
            ("business_profile.url", "annasbutik.se"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(seller["business_profile"]["url"], "https://annasbutik.se/");
    // An IBAN a character short says so, with its country's length.
    let res = post_form(
        &app,
        "/onboarding/bank",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("iban", "SE45 5000 0000 0583 9825 746"),
            ("account_holder_name", "Anna Andersson"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.body
            .contains("A Swedish IBAN has 24 characters; this one has 23."),
        "{}",
        res.body
    );
    assert!(res.body.contains("value=\"SE45 5000 0000 0583 9825 746\""));

    // No website: a description of what is sold instead.
    let (acct, cookie, csrf) =
        session_for(&app, json!({"country": "SE", "email": "bo@example.se"})).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("business_type", "individual"),
        ("business_profile.mcc", "5999"),
        ("no_website", "yes"),
    ];
    let res = post_form(&app, "/onboarding/business", &cookie, &form).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.body.contains(">Describe what you sell</a>"),
        "{}",
        res.body
    );
    let mut form = form.to_vec();
    form.push(("business_profile.product_description", "Hand-knitted socks"));
    let res = post_form(&app, "/onboarding/business", &cookie, &form).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(
        seller["business_profile"]["product_description"],
        "Hand-knitted socks"
    );
    assert_eq!(seller["business_profile"]["url"], Value::Null);
    assert!(
        !seller["requirements"]["eventually_due"]
            .as_array()
            .unwrap()
            .contains(&json!("business_profile.url")),
        "{seller}"
    );
}

#[tokio::test]
async fn wording_branded_and_not_languages_listed_and_unknown_steps_explained() {
    let app = spawn_app().await;
    let (_, cookie, _) = session_for(&app, json!({"country": "SE", "email": "a@example.se"})).await;
    let sv = [("accept-language", "sv")];
    let business = page(
        &app,
        Method::GET,
        "/onboarding/business",
        Some(&cookie),
        &sv,
        None,
    )
    .await
    .body;
    assert!(
        business.contains("Agora betalar ut pengar till dig."),
        "{business}"
    );
    assert!(!business.contains("Agora använder Agora"), "{business}");
    assert!(business.contains("Drivs av Agora"), "{business}");
    // Every language the pages have, the current one marked.
    assert!(
        business.contains("<span lang=\"sv\" aria-current=\"true\">Svenska</span>"),
        "{business}"
    );
    assert!(
        business.contains("<a class=\"lang-switch\" href=\"/onboarding/business?lang=en\" lang=\"en\" hreflang=\"en\">English</a>"),
        "{business}"
    );
    let bank = page(
        &app,
        Method::GET,
        "/onboarding/bank",
        Some(&cookie),
        &sv,
        None,
    )
    .await
    .body;
    assert!(
        bank.contains("Kontot som vi betalar ut dina pengar till."),
        "{bank}"
    );
    let bank = get_page(&app, "/onboarding/bank", &cookie).await.body;
    assert!(
        bank.contains("The account we pay your money into."),
        "{bank}"
    );
    assert!(
        bank.contains("Starts with SE, 24 characters in all"),
        "{bank}"
    );
    // A page with one field does not say "All fields are required".
    let terms = get_page(&app, "/onboarding/terms", &cookie).await.body;
    assert!(!terms.contains("All fields are required"), "{terms}");
    // A step that does not exist: said so, and the way back into the flow.
    let nope = get_page(&app, "/onboarding/paymnet", &cookie).await;
    assert_eq!(nope.status, StatusCode::NOT_FOUND);
    assert!(
        nope.body.contains("This step does not exist"),
        "{}",
        nope.body
    );
    assert!(
        nope.body
            .contains("href=\"/onboarding\">Continue where you left off</a>"),
        "{}",
        nope.body
    );

    let app = spawn_app_with(|c| c.branding_name = "Marknaden".to_owned()).await;
    let (_, cookie, _) = session_for(&app, json!({"country": "SE", "email": "a@example.se"})).await;
    let business = page(
        &app,
        Method::GET,
        "/onboarding/business",
        Some(&cookie),
        &sv,
        None,
    )
    .await
    .body;
    assert!(
        business.contains("Marknaden använder Agora för att betala ut pengar till dig."),
        "{business}"
    );
}

// ---------------------------------------------------------------------------------------
// Issue 23, a seller's walk-through on a phone: steps needed later, Back after submitting,
// the platform by name, one message for a two-field mismatch, dates, websites, phones,
// terms and wording.

async fn get_sv(app: &TestApp, path: &str, cookie: Option<&str>) -> Page {
    page(
        app,
        Method::GET,
        path,
        cookie,
        &[("accept-language", "sv")],
        None,
    )
    .await
}

fn branded(c: &mut agora_platform::Config) {
    c.branding_name = "Marknaden".to_owned();
}

#[tokio::test]
async fn steps_needed_later_are_not_done_and_the_review_says_so() {
    let app = spawn_app_with(branded).await;
    // currently_due: the basic details now; the bank account only before payouts.
    let account = app
        .create_account(json!({"country": "SE", "email": "anna@example.se",
            "business_type": "individual",
            "business_profile": {"mcc": "5734", "url": "https://anna.example.se"},
            "tos_acceptance": {"ip": "192.0.2.1"}}))
        .await;
    let id = account["id"].as_str().unwrap();
    let created = link(&app, id, json!({})).await;
    let cookie = open(&app, created["url"].as_str().unwrap()).await;
    let details = get_sv(&app, "/onboarding/details", Some(&cookie))
        .await
        .body;
    // Not ticked as done: said to be for later, visibly.
    assert!(
        details.contains("<li class=\"later\"><a href=\"/onboarding/bank\">Bankkonto</a> <span>(senare)</span></li>"),
        "{details}"
    );
    assert!(
        !details.contains("<li class=\"done\"><a href=\"/onboarding/bank\">"),
        "{details}"
    );
    // Opened anyway: nothing given, so nothing to keep; the page says it can wait.
    let bank = get_sv(&app, "/onboarding/bank", Some(&cookie)).await.body;
    assert!(!bank.contains("Lämna tomt för att behålla"), "{bank}");
    assert!(
        bank.contains("Behövs inte än: du kan fylla i det nu, annars ber Marknaden dig om det före första utbetalningen."),
        "{bank}"
    );
    let csrf = csrf_of(&details);
    let res = post_form(
        &app,
        "/onboarding/details",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("individual.first_name", "Anna"),
            ("individual.last_name", "Andersson"),
            ("individual.id_number", "19900102-1238"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let review = get_sv(&app, "/onboarding/review", Some(&cookie)).await.body;
    assert!(
        review.contains("Behövs senare — Marknaden ber dig om det före första utbetalningen."),
        "{review}"
    );
    assert!(
        review.contains("Vi har allt vi behöver just nu."),
        "{review}"
    );
    assert!(!review.contains("Vi har allt vi behöver.</p>"), "{review}");
    // The bank's group says "later", not "not given yet" beside "everything is in".
    let bank_group = &review[review.find(">Bankkonto</h2>").unwrap()..];
    let bank_group = &bank_group[..bank_group.find("</section>").unwrap()];
    assert!(!bank_group.contains("Inte angivet än"), "{bank_group}");
}

#[tokio::test]
async fn back_after_submitting_says_the_details_have_been_sent() {
    let app = spawn_app().await;
    let (acct, cookie, csrf) = session_for(&app, complete_swedish_individual()).await;
    let bank = post_form(
        &app,
        "/onboarding/bank",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("iban", "SE4550000000058398257466"),
            ("account_holder_name", "Anna Andersson"),
        ],
    )
    .await;
    assert_eq!(bank.status, StatusCode::SEE_OTHER, "{}", bank.body);
    let done = post_form(
        &app,
        "/onboarding/review",
        &cookie,
        &[("csrf_token", csrf.as_str())],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("Thank you, your details have been sent"),
        "{}",
        done.body
    );
    // The confirmation has the language list (through the review's address).
    assert!(
        done.body.contains("href=\"/onboarding/review?lang=sv\""),
        "{}",
        done.body
    );
    // Back, or any page of the session: sent, not "expired", with the way on.
    for path in ["/onboarding/review", "/onboarding/details", "/onboarding"] {
        let again = get_page(&app, path, &cookie).await;
        assert_eq!(again.status, StatusCode::OK, "{path}: {}", again.body);
        assert!(
            again
                .body
                .contains("You have already sent your details. You can close this page."),
            "{path}: {}",
            again.body
        );
        assert!(
            again
                .body
                .contains("href=\"https://platform.example/return\""),
            "{path}: {}",
            again.body
        );
        assert!(!again.body.contains("expired"), "{path}: {}", again.body);
    }
    // A form sent again changes nothing.
    let resent = post_form(
        &app,
        "/onboarding/details",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("individual.first_name", "Eve"),
        ],
    )
    .await;
    assert!(
        resent.body.contains("You have already sent your details."),
        "{}",
        resent.body
    );
    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(seller["individual"]["first_name"], "Anna", "{seller}");
    // Switchable: remembered, then in Swedish.
    let switch = get_page(&app, "/onboarding/review?lang=sv", &cookie).await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.header("location"), "/onboarding/review");
    let sv = get_page(&app, "/onboarding/review", &cookie).await.body;
    assert!(
        sv.contains("Du har redan skickat dina uppgifter. Du kan stänga sidan."),
        "{sv}"
    );
}

#[tokio::test]
async fn messages_name_the_platform_and_a_missing_session_never_ended() {
    let app = spawn_app_with(branded).await;
    // No session in this browser (the link was opened on another device): nothing ended.
    let none = page(&app, Method::GET, "/onboarding/details", None, &[], None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(
        none.body
            .contains("Open the link from Marknaden again to continue."),
        "{}",
        none.body
    );
    assert!(!none.body.contains("ended"), "{}", none.body);
    assert!(!none.body.contains("the platform"), "{}", none.body);
    // Its language list works without a session, by the address.
    assert!(
        none.body.contains("href=\"/onboarding/details?lang=sv\""),
        "{}",
        none.body
    );
    let sv = page(
        &app,
        Method::GET,
        "/onboarding/details?lang=sv",
        None,
        &[],
        None,
    )
    .await;
    assert!(
        sv.body
            .contains("Öppna länken från Marknaden igen för att fortsätta."),
        "{}",
        sv.body
    );
    // A cookie whose session is gone: that one did end.
    let gone = get_page(
        &app,
        "/onboarding/details",
        "agora_onboarding=nosuchsession",
    )
    .await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
    assert!(
        gone.body
            .contains("Your session has ended. Open the link from Marknaden again to continue."),
        "{}",
        gone.body
    );
    // A link that never existed.
    let bad = get_sv(&app, "/onboarding/link/nosuchlink", None).await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    assert!(
        bad.body
            .contains("Länken är inte giltig. Be Marknaden om en ny."),
        "{}",
        bad.body
    );
    assert!(
        bad.body
            .contains("href=\"/onboarding/link/nosuchlink?lang=en\""),
        "{}",
        bad.body
    );
    // An unknown step, in a session: the language list too.
    let (_, cookie, _) =
        session_for(&app, json!({"country": "SE", "email": "anna@example.se"})).await;
    let nostep = get_page(&app, "/onboarding/paymnet", &cookie).await;
    assert_eq!(nostep.status, StatusCode::NOT_FOUND);
    assert!(
        nostep.body.contains("href=\"/onboarding/paymnet?lang=sv\""),
        "{}",
        nostep.body
    );
    // Terms worded for what is linked: the platform's.
    let terms = get_page(&app, "/onboarding/terms", &cookie).await.body;
    assert!(
        terms.contains("I accept Marknaden&#39;s terms of service"),
        "{terms}"
    );
}

#[tokio::test]
async fn a_personnummer_replaces_the_platforms_date_of_birth_and_the_review_says_so() {
    let app = spawn_app().await;
    let (acct, cookie, csrf) = session_for(
        &app,
        json!({"country": "SE", "email": "anna@example.se", "business_type": "individual",
               "individual": {"dob": "1985-05-05"}}),
    )
    .await;
    let res = post_form(
        &app,
        "/onboarding/details",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("individual.first_name", "Anna"),
            ("individual.last_name", "Andersson"),
            ("individual.id_number", "199001021238"),
            ("individual.phone", "+46701234567"),
            ("individual.address.line1", "Storgatan 1"),
            ("individual.address.postal_code", "11122"),
            ("individual.address.city", "Stockholm"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(seller["individual"]["dob"], "1990-01-02", "{seller}");
    let review = get_page(&app, "/onboarding/review", &cookie).await.body;
    assert!(
        review.contains("1990-01-02 (taken from your personal identity number)"),
        "{review}"
    );
}

#[tokio::test]
async fn impossible_dates_websites_phones_and_german_tax_ids_say_what_is_wrong() {
    let app = spawn_app().await;
    let (_, cookie, csrf) = session_for(
        &app,
        json!({"country": "DE", "email": "max@example.de", "business_type": "company"}),
    )
    .await;
    let details = get_page(&app, "/onboarding/details", &cookie).await.body;
    for shown in [
        "VAT number (USt-IdNr.)",
        "For example DE123456789",
        "For example HRB 123456",
    ] {
        assert!(details.contains(shown), "{shown}: {details}");
    }
    let mut form = vec![
        ("csrf_token", csrf.as_str()),
        ("company.name", "Beispiel GmbH"),
        ("company.tax_id", "DE136695976"),
        ("company.registration_number", "HRB 123456"),
        ("company.address.line1", "Unter den Linden 1"),
        ("company.address.postal_code", "10117"),
        ("company.address.city", "Berlin"),
        ("company.representative.first_name", "Max"),
        ("company.representative.last_name", "Mustermann"),
        ("company.representative.phone", "+49301234567"),
        ("company.representative.dob", "31.02.1980"),
        ("company.representative.address.line1", "Unter den Linden 2"),
        ("company.representative.address.postal_code", "10117"),
        ("company.representative.address.city", "Berlin"),
    ];
    let res = post_form(&app, "/onboarding/details", &cookie, &form).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.body
            .contains("There is no 31 February 1980. Check the day and month."),
        "{}",
        res.body
    );
    assert!(
        res.body.contains("value=\"31.02.1980\""),
        "as typed: {}",
        res.body
    );
    // A Steuernummer where the VAT number belongs.
    form[2] = ("company.tax_id", "21/815/08150");
    form[10] = ("company.representative.dob", "15.03.1980");
    let res = post_form(&app, "/onboarding/details", &cookie, &form).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.body.contains(
            "Enter the VAT number (USt-IdNr.), for example DE123456789 — not the Steuernummer."
        ),
        "{}",
        res.body
    );
    // A German number as dialled at home, too short even with +49: the international form.
    form[2] = ("company.tax_id", "DE136695976");
    form[9] = ("company.representative.phone", "030-12");
    let res = post_form(&app, "/onboarding/details", &cookie, &form).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.body
            .contains("Start with +49 instead of 0, for example +49 30 1234567."),
        "{}",
        res.body
    );
    assert!(res.body.contains("value=\"030-12\""), "{}", res.body);

    // A Swede's national number is taken; a website without a domain ending is not (the API
    // refuses it too).
    let (acct, cookie, csrf) = session_for(
        &app,
        json!({"country": "SE", "email": "anna@example.se", "business_type": "individual"}),
    )
    .await;
    let business = get_page(&app, "/onboarding/business", &cookie).await.body;
    let described = &business[business
        .find("for=\"f-business_profile-product_description\"")
        .unwrap()..];
    let described = &described[..described.find("</label>").unwrap()];
    assert!(!described.contains("optional"), "{described}");
    assert!(
        business.contains("Required if you have no website"),
        "{business}"
    );
    let res = post_form(
        &app,
        "/onboarding/business",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("business_profile.mcc", "5734"),
            ("business_profile.url", "www.holzwerk-mueller"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.body.contains("Enter the whole web address, with its ending such as .com, for example shop.example.com."),
        "{}",
        res.body
    );
    assert!(
        res.body.contains("value=\"www.holzwerk-mueller\""),
        "{}",
        res.body
    );
    let api = app
        .post(
            &format!("/v1/accounts/{acct}"),
            json!({"business_profile": {"url": "https://www.holzwerk-mueller"}}),
        )
        .await;
    assert_eq!(
        api.error(400, "invalid_request_error")["code"],
        "invalid_url_format"
    );
    let details = get_page(&app, "/onboarding/details", &cookie).await.body;
    assert!(
        details.contains("10 or 12 digits, for example YYYYMMDD-XXXX"),
        "{details}"
    );
    let res = post_form(
        &app,
        "/onboarding/details",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("individual.first_name", "Anna"),
            ("individual.last_name", "Andersson"),
            ("individual.id_number", "199001021238"),
            ("individual.phone", "070-123 45 67"),
            ("individual.address.line1", "Storgatan 1"),
            ("individual.address.postal_code", "11122"),
            ("individual.address.city", "Stockholm"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let seller = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(seller["individual"]["phone"], "+46701234567", "{seller}");
}

#[tokio::test]
async fn a_kept_bank_account_is_named_and_a_heic_photo_is_explained() {
    let app = spawn_app().await;
    let (_, cookie, csrf) = session_for(&app, complete_swedish_individual()).await;
    let bank = post_form(
        &app,
        "/onboarding/bank",
        &cookie,
        &[
            ("csrf_token", csrf.as_str()),
            ("iban", "SE4550000000058398257466"),
            ("account_holder_name", "Anna Andersson"),
        ],
    )
    .await;
    assert_eq!(bank.status, StatusCode::SEE_OTHER, "{}", bank.body);
    let again = get_sv(&app, "/onboarding/bank", Some(&cookie)).await.body;
    assert!(
        again.contains(
            "Sparat konto: slutar på 7466. Fyll i ett nytt IBAN bara om du vill byta konto."
        ),
        "{again}"
    );
    assert!(!again.contains("Lämna tomt"), "{again}");

    // A company's representative uploads a photo an iPhone saved as HEIC.
    let (_, cookie, csrf) = session_for(
        &app,
        json!({"country": "DE", "email": "max@example.de", "business_type": "company"}),
    )
    .await;
    let document = get_page(&app, "/onboarding/document", &cookie).await.body;
    assert!(
        document
            .contains("Photo or scan of your own passport, national ID card or driving licence"),
        "{document}"
    );
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .part(
            "company.representative.verification.document",
            reqwest::multipart::Part::bytes(b"\0\0\0\x18ftypheic".to_vec())
                .file_name("IMG_<4711>.HEIC"),
        );
    let res = app
        .client
        .post(format!("{}/onboarding/document", app.address))
        .header("cookie", &cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("IMG_&#60;4711&#62;.HEIC is not a PNG, JPEG or PDF. Choose the photo from your photo library, or take a screenshot of it."),
        "{body}"
    );
}
