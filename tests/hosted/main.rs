//! The hosted onboarding pages in a real browser (headless Chromium through chromedriver and
//! WebDriver), checked with axe-core on every page, and the invitation email through a real
//! SMTP server (aiosmtpd).
//!
//! These need tools a plain `cargo test` machine may not have: without chromedriver, axe-core
//! or aiosmtpd each test prints why and passes, unless `AGORA_HOSTED_TESTS_REQUIRED=1` (set
//! by `.ci/run`, which installs them), where a missing tool fails the test.
//!
//! Screenshots of every step at 375 px and 1280 px go to
//! `<target dir>/onboarding-screenshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../it/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use helpers::{spawn_app, spawn_app_with, TestApp};

fn required() -> bool {
    std::env::var("AGORA_HOSTED_TESTS_REQUIRED").is_ok_and(|v| v == "1")
}

/// Skips (plain `cargo test`) or fails (`.ci/run`) when a tool is missing.
fn missing(what: &str) {
    if required() {
        panic!("{what} is missing, and AGORA_HOSTED_TESTS_REQUIRED=1: the hosted tests must run");
    }
    eprintln!("SKIPPED: {what} is missing; `.ci/run` installs it and runs this test for real");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn target_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target dir>/tmp.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn chromedriver_path() -> Option<PathBuf> {
    let candidate =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
    Path::new(&candidate)
        .exists()
        .then(|| PathBuf::from(candidate))
}

fn axe_source() -> Option<String> {
    let path = std::env::var("AGORA_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| target_dir().join("axe/node_modules/axe-core/axe.min.js"));
    std::fs::read_to_string(path).ok()
}

struct Browser {
    client: Client,
    _driver: Killed,
    _profile: tempfile::TempDir,
    axe: String,
    shots: PathBuf,
    prefix: String,
    count: usize,
}

async fn browser(prefix: &str) -> Option<Browser> {
    let Some(driver_path) = chromedriver_path() else {
        missing("chromedriver (Debian packages chromium and chromium-driver)");
        return None;
    };
    let Some(axe) = axe_source() else {
        missing("axe-core (npm install axe-core; AGORA_AXE_JS points at axe.min.js)");
        return None;
    };
    // The tests run in parallel, each with its own chromedriver on a port that was free a
    // moment ago: another test's driver or server can take it first, and then ours exits at
    // once while the port answers for the other one (whose end then refuses our session).
    // So the port must answer AND our driver must still be running; else try another port.
    let mut started = None;
    for _ in 0..5 {
        let port = free_port();
        let mut driver = Killed(
            Command::new(&driver_path)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        if wait_for_port(port, Duration::from_secs(20)) {
            std::thread::sleep(Duration::from_millis(300));
            if matches!(driver.0.try_wait(), Ok(None)) {
                started = Some((port, driver));
                break;
            }
        }
    }
    let (port, driver) = started.expect("chromedriver did not listen on a port of its own");
    let profile = tempfile::tempdir().unwrap();
    // The flags this machine needs (see the machine notes): no sandbox as root, and no
    // background networking, which the closed network refuses.
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        },
    });
    let caps = caps.as_object().unwrap().clone();
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("connect to chromedriver");
    let shots = target_dir().join("onboarding-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    Some(Browser {
        client,
        _driver: driver,
        _profile: profile,
        axe,
        shots,
        prefix: prefix.to_owned(),
        count: 0,
    })
}

impl Browser {
    /// Screenshots at phone and desktop width, then axe-core on the page.
    async fn check_page(&mut self, name: &str) {
        self.count += 1;
        for (width, height) in [(375u32, 812u32), (1280, 900)] {
            self.client.set_window_size(width, height).await.unwrap();
            let png = self.client.screenshot().await.unwrap();
            let file = self.shots.join(format!(
                "{}-{:02}-{name}-{width}.png",
                self.prefix, self.count
            ));
            std::fs::write(&file, png).unwrap();
        }
        // At 375 px nothing may overflow sideways.
        self.client.set_window_size(375, 812).await.unwrap();
        let overflow = self
            .client
            .execute(
                "return document.documentElement.scrollWidth > document.documentElement.clientWidth;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            overflow,
            json!(false),
            "{name}: horizontal scrolling at 375 px"
        );
        self.client.set_window_size(1280, 900).await.unwrap();
        self.axe(name).await;
    }

    /// Injects axe-core (WebDriver scripts are not subject to the page's CSP) and fails on any
    /// serious or critical violation.
    async fn axe(&self, name: &str) {
        let script = format!(
            "{}\n;const done = arguments[arguments.length - 1];\
             const a = (typeof axe !== 'undefined') ? axe : window.axe;\
             a.run(document, {{resultTypes: ['violations']}}).then(r => done(JSON.stringify({{\
               ran: true, violations: r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
                 .map(v => ({{id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target)}}))}})))\
             .catch(e => done(JSON.stringify({{ran: false, error: String(e)}})));",
            self.axe
        );
        let out = self.client.execute_async(&script, vec![]).await.unwrap();
        let report: Value = serde_json::from_str(out.as_str().unwrap()).unwrap();
        assert_eq!(report["ran"], true, "{name}: axe did not run: {report}");
        assert_eq!(
            report["violations"],
            json!([]),
            "{name}: axe violations: {report}"
        );
    }

    async fn fill(&self, id: &str, text: &str) {
        let el = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"));
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    async fn click_css(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn submit(&self) {
        self.navigate_by("form button[type=submit]").await;
    }

    /// Clicks what `css` finds and waits for the page it leads to. WebDriver's click does not
    /// promise to wait for a form's response: reading the URL at once can still see the old
    /// page (and a refused form answers on the same path). The old document's root goes stale
    /// once the new page has replaced it; then the new one must have finished loading.
    async fn navigate_by(&self, css: &str) {
        let before = self.client.find(Locator::Css("html")).await.unwrap();
        self.click_css(css).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        while before.tag_name().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "clicking {css} led to no new page within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        loop {
            let state = self
                .client
                .execute("return document.readyState;", vec![])
                .await
                .unwrap();
            if state == json!("complete") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the page after {css} never loaded"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Hands the file at `path` (absolute) to an `input[type=file]`, as choosing it would.
    async fn upload(&self, id: &str, path: &Path) {
        assert!(path.is_absolute(), "{}", path.display());
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"))
            .send_keys(&path.display().to_string())
            .await
            .unwrap();
    }

    /// The error summary's links (`href`, text), in order, and that the field each points at
    /// is marked invalid and described by its error.
    async fn error_summary(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for link in self
            .client
            .find_all(Locator::Css(".error-summary[role=alert] a"))
            .await
            .unwrap()
        {
            let href = link.attr("href").await.unwrap().unwrap_or_default();
            let field = self
                .client
                .find(Locator::Id(href.trim_start_matches('#')))
                .await
                .unwrap_or_else(|e| panic!("the summary links to {href}, which is missing: {e}"));
            assert_eq!(
                field.attr("aria-invalid").await.unwrap().as_deref(),
                Some("true"),
                "{href} is not marked invalid"
            );
            let described = field.attr("aria-describedby").await.unwrap();
            assert!(
                described
                    .as_deref()
                    .is_some_and(|d| d.split(' ').any(|id| id.ends_with("-error"))),
                "{href} is not described by its error: {described:?}"
            );
            out.push((href, link.text().await.unwrap()));
        }
        out
    }

    /// The progress list, in order, as `state:label` (`done:Your business`).
    async fn progress(&self) -> Vec<String> {
        let out = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll('nav ol.progress li'))\
                 .map(li => li.className + ':' + li.firstChild.textContent.trim());",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(out).unwrap()
    }

    /// What the field `id` holds now.
    async fn value(&self, id: &str) -> String {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"))
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Keyboard use: the error summary's link has moved focus to the field `id`.
    async fn expect_focus(&self, id: &str) {
        let focused = self
            .client
            .execute("return document.activeElement.id;", vec![])
            .await
            .unwrap();
        assert_eq!(focused, json!(id));
    }

    /// The current path, or a failure that shows what the page said (its error summary).
    async fn expect_path(&self, expected: &str) {
        let path = self.path().await;
        if path != expected {
            let page = self.client.source().await.unwrap_or_default();
            panic!("on {path}, expected {expected}; the page:\n{page}");
        }
    }
}

async fn account_and_link(app: &TestApp, return_url: &str, refresh_url: &str) -> (String, String) {
    account_and_link_for(
        app,
        json!({"country": "SE", "email": "anna@example.se"}),
        return_url,
        refresh_url,
    )
    .await
}

/// A fresh account made from `body`, and an `account_onboarding` link collecting everything
/// eventually due.
async fn account_and_link_for(
    app: &TestApp,
    body: Value,
    return_url: &str,
    refresh_url: &str,
) -> (String, String) {
    let account = app.create_account(body).await;
    let id = account["id"].as_str().unwrap().to_owned();
    let res = app
        .post(
            "/v1/account_links",
            json!({"account": id, "type": "account_onboarding", "collect": "eventually_due",
                   "refresh_url": refresh_url, "return_url": return_url}),
        )
        .await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    (id, res.body["url"].as_str().unwrap().to_owned())
}

/// A Swedish individual from a fresh link to `return_url`, with the browser's language
/// `lang`, making one realistic mistake on every step and fixing it from the page it lands
/// on: nothing chosen for what is sold, a personnummer with a wrong check digit, an IBAN a
/// character short, the terms not ticked. Then the review, a "Change" and back, the
/// confirmation and on to the platform.
async fn complete_flow(lang: &str) {
    let Some(mut b) = browser(lang).await else {
        return;
    };
    let app = spawn_app_with(|c| {
        c.terms_url = Some("https://platform.example/terms".to_owned());
        c.privacy_url = Some("https://platform.example/privacy".to_owned());
    })
    .await;
    let return_url = format!("{}/?returned=1", app.address);
    let (account, url) =
        account_and_link(&app, &return_url, &format!("{}/?refresh=1", app.address)).await;
    let en = lang == "en";

    b.client.goto(&url).await.unwrap();
    b.expect_path("/onboarding/business").await;
    if lang == "sv" {
        // The language list on the page; remembered for the rest of the session.
        b.navigate_by("a.lang-switch[lang=sv]").await;
    }
    let html_lang = b
        .client
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .attr("lang")
        .await
        .unwrap();
    assert_eq!(html_lang.as_deref(), Some(lang));
    b.check_page("business").await;
    // Mistake: nothing chosen for what is sold. The website without https:// is fine.
    b.click_css("#f-business_type").await;
    b.fill("f-business_profile-url", "annasbutik.se").await;
    b.submit().await;
    b.expect_path("/onboarding/business").await;
    let summary = b.error_summary().await;
    assert_eq!(summary[0].0, "#f-business_profile-mcc");
    assert_eq!(
        summary[0].1,
        if en {
            "Choose what you sell"
        } else {
            "Välj vad du säljer"
        }
    );
    // Kept as typed (https:// is added when it is saved).
    assert_eq!(b.value("f-business_profile-url").await, "annasbutik.se");
    b.check_page("business-error").await;
    b.click_css("#f-business_profile-mcc option[value='5734']")
        .await;
    b.submit().await;

    b.expect_path("/onboarding/details").await;
    b.check_page("details").await;
    b.fill("f-individual-first_name", "Anna").await;
    b.fill("f-individual-last_name", "Andersson").await;
    // The account's email is the individual's, and the personnummer gives the date of
    // birth: neither is asked.
    for absent in ["f-individual-email", "f-individual-dob"] {
        assert!(
            b.client.find(Locator::Id(absent)).await.is_err(),
            "{absent}"
        );
    }
    b.fill("f-individual-phone", "+46701234567").await;
    b.fill("f-individual-id_number", "19900102-1234").await; // wrong check digit
    b.fill("f-individual-address-line1", "Storgatan 1").await;
    b.fill("f-individual-address-postal_code", "11122").await;
    b.fill("f-individual-address-city", "Stockholm").await;
    b.submit().await;

    // Refused: the summary links to the field, which is marked and keeps the other values.
    b.expect_path("/onboarding/details").await;
    let summary = b.error_summary().await;
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert_eq!(summary[0].0, "#f-individual-id_number");
    assert_eq!(b.value("f-individual-last_name").await, "Andersson");
    assert_eq!(b.value("f-individual-id_number").await, "19900102-1234");
    b.check_page("details-error").await;
    b.click_css(".error-summary[role=alert] a").await;
    b.expect_focus("f-individual-id_number").await;
    b.fill("f-individual-id_number", "19900102-1238").await;
    b.submit().await;

    b.expect_path("/onboarding/bank").await;
    b.check_page("bank").await;
    // Mistake: a character short.
    b.fill("f-iban", "SE45 5000 0000 0583 9825 746").await;
    b.fill("f-account_holder_name", "Anna Andersson").await;
    b.submit().await;
    b.expect_path("/onboarding/bank").await;
    let summary = b.error_summary().await;
    assert_eq!(summary[0].0, "#f-iban");
    assert!(summary[0].1.contains("24"), "{summary:?}");
    assert_eq!(b.value("f-account_holder_name").await, "Anna Andersson");
    b.check_page("bank-error").await;
    b.fill("f-iban", "SE45 5000 0000 0583 9825 7466").await;
    b.submit().await;

    b.expect_path("/onboarding/terms").await;
    // The platform's terms are linked from the step (and the footer).
    assert!(b
        .client
        .find(Locator::Css(
            "main a[href='https://platform.example/terms']"
        ))
        .await
        .is_ok());
    b.check_page("terms").await;
    // Mistake: not ticked.
    b.submit().await;
    b.expect_path("/onboarding/terms").await;
    assert_eq!(b.error_summary().await[0].0, "#f-tos_acceptance");
    b.check_page("terms-error").await;
    b.click_css("#f-tos_acceptance").await;
    b.submit().await;

    b.expect_path("/onboarding/review").await;
    let page = b.client.source().await.unwrap();
    for shown in [
        "Anna Andersson",
        "1990-01-02",
        "https://annasbutik.se",
        "7466",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert!(
        !page.contains("1238"),
        "no digit of the personnummer: {page}"
    );
    b.check_page("review").await;
    // Change the details, keep the personnummer, and come back to the review.
    b.navigate_by("a[href='/onboarding/details?return=review']")
        .await;
    b.expect_path("/onboarding/details").await;
    assert_eq!(b.value("f-individual-first_name").await, "Anna");
    b.check_page("change-details").await;
    b.fill("f-individual-first_name", "Annie").await;
    b.submit().await;
    b.expect_path("/onboarding/review").await;
    assert!(b.client.source().await.unwrap().contains("Annie Andersson"));
    b.submit().await;

    // The confirmation, in the seller's language, then on to the platform.
    b.expect_path("/onboarding/review").await;
    let page = b.client.source().await.unwrap();
    assert!(
        page.contains(if en {
            "We are checking your details. You will hear from us by email."
        } else {
            "Vi kontrollerar dina uppgifter. Du får besked från oss via e-post."
        }),
        "{page}"
    );
    b.check_page("done").await;
    // Back after submitting: not "expired" (a seller would think it failed), but sent.
    b.client.back().await.unwrap();
    b.expect_path("/onboarding/review").await;
    let page = b.client.source().await.unwrap();
    assert!(
        page.contains(if en {
            "You have already sent your details. You can close this page."
        } else {
            "Du har redan skickat dina uppgifter. Du kan stänga sidan."
        }),
        "{page}"
    );
    b.check_page("already-sent").await;
    b.navigate_by("main a.button").await;
    let landed = b.client.current_url().await.unwrap();
    assert_eq!(landed.as_str(), return_url);
    let acct = app.get(&format!("/v1/accounts/{account}")).await.body;
    assert_eq!(acct["individual"]["first_name"], "Annie", "{acct}");
    assert_eq!(acct["individual"]["id_number_provided"], true, "{acct}");
    assert_eq!(acct["requirements"]["currently_due"], json!([]), "{acct}");
    assert_eq!(acct["requirements"]["eventually_due"], json!([]), "{acct}");
    assert_eq!(acct["payouts_enabled"], true, "{acct}");
    b.client.close().await.unwrap();
}

#[tokio::test]
async fn browser_onboarding_in_english() {
    complete_flow("en").await;
}

#[tokio::test]
async fn browser_onboarding_in_swedish() {
    complete_flow("sv").await;
}

/// The smallest valid PNG (a 1×1 pixel), as `tests/it/kyc.rs` uploads it: test mode accepts
/// a recognised document at once.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\xa7\xa5\x9b\x8f\0\0\0\0IEND\xaeB`\x82";

/// A German company (GmbH) from a fresh link to `return_url`, one mistake per step fixed
/// from the page it lands on: no website, a tax id with a wrong check digit (the date of
/// birth typed as Germans do), owners' shares over 100 % ("This is me" for the
/// representative), an IBAN a character short, a text file as identity document, the terms
/// not ticked; then the review, a "Change" of the owners and back, the confirmation.
#[tokio::test]
async fn browser_onboarding_for_a_german_company() {
    let Some(mut b) = browser("de-company").await else {
        return;
    };
    let app = spawn_app().await;
    let return_url = format!("{}/?returned=1", app.address);
    let (account, url) = account_and_link_for(
        &app,
        json!({"country": "DE", "email": "max@example.de"}),
        &return_url,
        &format!("{}/?refresh=1", app.address),
    )
    .await;

    b.client.goto(&url).await.unwrap();
    b.expect_path("/onboarding/business").await;
    b.check_page("business").await;
    b.click_css("#f-business_type-company").await;
    b.click_css("#f-business_profile-mcc option[value='5999']")
        .await;
    b.submit().await;
    b.expect_path("/onboarding/business").await;
    let summary = b.error_summary().await;
    assert_eq!(summary[0].0, "#f-business_profile-url");
    assert!(
        summary[0].1.starts_with("Enter your website address"),
        "{summary:?}"
    );
    b.check_page("business-error").await;
    b.fill("f-business_profile-url", "moebel.example.de").await;
    b.submit().await;

    // Every step a German company goes through is listed, the finished one as a link.
    b.expect_path("/onboarding/details").await;
    assert_eq!(
        b.progress().await,
        [
            "done:Your business",
            "current:Company details",
            "todo:Owners and directors",
            "todo:Bank account",
            "todo:Identity document",
            "todo:Terms",
            "todo:Review and submit"
        ]
    );
    // German examples for a German seller.
    let page = b.client.source().await.unwrap();
    assert!(page.contains("+49 30 1234567"), "{page}");
    assert!(!page.contains("+46"), "{page}");
    b.check_page("company").await;
    b.fill("f-company-name", "Beispiel Möbel GmbH").await;
    b.fill("f-company-tax_id", "DE136695977").await; // wrong check digit
    b.fill("f-company-registration_number", "HRB 123456").await;
    b.fill("f-company-address-line1", "Unter den Linden 1")
        .await;
    b.fill("f-company-address-postal_code", "10117").await;
    b.fill("f-company-address-city", "Berlin").await;
    b.fill("f-company-representative-first_name", "Max").await;
    b.fill("f-company-representative-last_name", "Mustermann")
        .await;
    // The account's email is the representative's too: not asked again.
    assert!(b
        .client
        .find(Locator::Id("f-company-representative-email"))
        .await
        .is_err());
    b.fill("f-company-representative-phone", "+4930123457")
        .await;
    b.fill("f-company-representative-dob", "20.05.1975").await;
    b.fill(
        "f-company-representative-address-line1",
        "Unter den Linden 2",
    )
    .await;
    b.fill("f-company-representative-address-postal_code", "10117")
        .await;
    b.fill("f-company-representative-address-city", "Berlin")
        .await;
    b.submit().await;

    // Refused: the summary links to the tax id, which is marked; the rest is kept.
    b.expect_path("/onboarding/details").await;
    let summary = b.error_summary().await;
    assert_eq!(
        summary,
        [(
            "#f-company-tax_id".to_owned(),
            "This tax id is not valid: check the digits.".to_owned()
        )]
    );
    assert_eq!(
        b.value("f-company-representative-address-line1").await,
        "Unter den Linden 2"
    );
    assert_eq!(b.value("f-company-representative-dob").await, "20.05.1975");
    b.check_page("company-error").await;
    b.click_css(".error-summary[role=alert] a").await;
    b.expect_focus("f-company-tax_id").await;
    b.fill("f-company-tax_id", "DE136695976").await;
    b.submit().await;

    b.expect_path("/onboarding/owners").await;
    b.check_page("owners").await;
    // The representative is an owner and a director: ticked, not typed again.
    b.click_css("#f-owners_me").await;
    b.fill("f-owners_me_percent", "60").await;
    b.click_css("#f-directors_me").await;
    b.fill("f-company-owners-0--first_name", "Erika").await;
    b.fill("f-company-owners-0--last_name", "Mustermann").await;
    b.fill("f-company-owners-0--dob", "02.11.1978").await;
    b.fill("f-company-owners-0--ownership_percent", "50").await; // 110 % in all
    b.submit().await;
    b.expect_path("/onboarding/owners").await;
    let summary = b.error_summary().await;
    assert_eq!(
        summary,
        [(
            "#f-owners_me_percent".to_owned(),
            "The shares add up to 110 %; together they can be at most 100 %.".to_owned()
        )]
    );
    assert_eq!(b.value("f-company-owners-0--first_name").await, "Erika");
    b.check_page("owners-error").await;
    b.fill("f-company-owners-0--ownership_percent", "40").await;
    b.submit().await;

    b.expect_path("/onboarding/bank").await;
    b.check_page("bank").await;
    b.fill("f-iban", "DE89 3704 0044 0532 0130 0").await; // a character short
    b.fill("f-account_holder_name", "Beispiel Möbel GmbH").await;
    b.submit().await;
    b.expect_path("/onboarding/bank").await;
    let summary = b.error_summary().await;
    assert_eq!(summary[0].0, "#f-iban");
    assert!(
        summary[0]
            .1
            .starts_with("A German IBAN has 22 characters; this one has 21."),
        "{summary:?}"
    );
    b.check_page("bank-error").await;
    b.fill("f-iban", "DE89 3704 0044 0532 0130 00").await;
    b.submit().await;

    b.expect_path("/onboarding/document").await;
    b.check_page("document").await;
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("passport.txt");
    std::fs::write(&notes, "not a picture").unwrap();
    b.upload("f-company-representative-verification-document", &notes)
        .await;
    b.submit().await;
    b.expect_path("/onboarding/document").await;
    assert_eq!(
        b.error_summary().await[0].0,
        "#f-company-representative-verification-document"
    );
    b.check_page("document-error").await;
    let passport = dir.path().join("passport.png");
    std::fs::write(&passport, PNG).unwrap();
    b.upload("f-company-representative-verification-document", &passport)
        .await;
    b.submit().await;

    b.expect_path("/onboarding/terms").await;
    b.check_page("terms").await;
    b.submit().await;
    b.expect_path("/onboarding/terms").await;
    assert_eq!(b.error_summary().await[0].0, "#f-tos_acceptance");
    b.check_page("terms-error").await;
    b.click_css("#f-tos_acceptance").await;
    b.submit().await;

    b.expect_path("/onboarding/review").await;
    let page = b.client.source().await.unwrap();
    for shown in [
        "Everything we need is in.",
        "Beispiel Möbel GmbH",
        "Ending in 5976",
        "Unter den Linden 1, 10117 Berlin",
        "Max Mustermann, 20.05.1975, 60 %",
        "Erika Mustermann, 02.11.1978, 40 %",
        "https://moebel.example.de",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    b.check_page("review").await;
    b.navigate_by("a[href='/onboarding/owners?return=review']")
        .await;
    b.expect_path("/onboarding/owners").await;
    assert_eq!(b.value("f-company-owners-0--first_name").await, "Erika");
    b.check_page("change-owners").await;
    b.submit().await;
    b.expect_path("/onboarding/review").await;
    b.submit().await;
    b.expect_path("/onboarding/review").await;
    b.check_page("done").await;
    b.navigate_by("main a.button").await;

    let landed = b.client.current_url().await.unwrap();
    assert_eq!(landed.as_str(), return_url);
    let acct = app.get(&format!("/v1/accounts/{account}")).await.body;
    assert_eq!(acct["business_type"], "company", "{acct}");
    assert_eq!(acct["company"]["tax_id_last4"], "5976", "{acct}");
    assert_eq!(acct["company"]["owners"][0]["first_name"], "Max");
    assert_eq!(acct["company"]["owners"][0]["ownership_percent"], "60");
    assert_eq!(acct["company"]["owners"][1]["ownership_percent"], "40");
    assert_eq!(acct["company"]["directors"][0]["last_name"], "Mustermann");
    // Test mode (`document_review = simulated`) verifies a recognised document at once, so
    // nothing waits for verification and payouts are on.
    assert_eq!(
        acct["company"]["representative"]["verification"]["status"], "verified",
        "{acct}"
    );
    assert_eq!(acct["requirements"]["currently_due"], json!([]), "{acct}");
    assert_eq!(acct["requirements"]["eventually_due"], json!([]), "{acct}");
    assert_eq!(
        acct["requirements"]["pending_verification"],
        json!([]),
        "{acct}"
    );
    assert_eq!(acct["payouts_enabled"], true, "{acct}");
    b.client.close().await.unwrap();
}

#[tokio::test]
async fn browser_expired_link_lands_on_refresh_url() {
    let Some(mut b) = browser("expired").await else {
        return;
    };
    let app = spawn_app_with(|c| c.account_link_ttl_s = 1).await;
    let refresh_url = format!("{}/?refresh=1", app.address);
    let (_, url) =
        account_and_link(&app, &format!("{}/?returned=1", app.address), &refresh_url).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.client.goto(&url).await.unwrap();
    assert_eq!(b.client.current_url().await.unwrap().as_str(), refresh_url);
    // And a page without a session says so, accessibly.
    b.client
        .goto(&format!("{}/onboarding/details", app.address))
        .await
        .unwrap();
    b.check_page("no-session").await;
    // In a session, a mistyped step address says so and leads back into the flow.
    let (_, url) =
        account_and_link(&app, &format!("{}/?returned=1", app.address), &refresh_url).await;
    b.client.goto(&url).await.unwrap();
    b.expect_path("/onboarding/business").await;
    b.client
        .goto(&format!("{}/onboarding/paymnet", app.address))
        .await
        .unwrap();
    let page = b.client.source().await.unwrap();
    assert!(page.contains("This step does not exist"), "{page}");
    b.check_page("no-such-step").await;
    b.navigate_by("main a.button").await;
    b.expect_path("/onboarding/business").await;
    b.client.close().await.unwrap();
}

#[tokio::test]
async fn invitation_email_through_a_real_smtp_server() {
    let port = free_port();
    let mailbox = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/smtp_sink.py");
    let child = Command::new("python3")
        .arg(&script)
        .arg(port.to_string())
        .arg(mailbox.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(child) = child else {
        missing("python3");
        return;
    };
    let mut server = Killed(child);
    if !wait_for_port(port, Duration::from_secs(15)) {
        let _ = server.0.kill();
        let out = server.0.wait_with_output_fallback();
        missing(&format!("aiosmtpd (pip install aiosmtpd): {out}"));
        return;
    }
    // The mail server is away when the first invitation is asked for: the API still
    // answers, and the outbox sends the email once the server is back.
    let _ = server.0.kill();
    let _ = server.0.wait();
    let app = spawn_app_with(|c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.email_from = "Marknaden <noreply@marknaden.example>".to_owned();
        c.branding_name = "Marknaden".to_owned();
    })
    .await;
    let account = app
        .create_account(json!({"country": "SE", "email": "anna@example.se"}))
        .await;
    let id = account["id"].as_str().unwrap();
    let path = format!("/v1/accounts/{id}/onboarding_email");
    let invite = |locale: &'static str| {
        app.post(
            &path,
            json!({"refresh_url": format!("{}/?refresh=1", app.address),
                   "return_url": format!("{}/?returned=1", app.address), "locale": locale}),
        )
    };
    let res = invite("en").await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    let failed_once = helpers::the_email_after(&app, 1).await;
    assert_eq!(
        failed_once.status,
        agora_platform::infra::email::entity::EmailStatus::Pending,
        "{failed_once:?}"
    );
    assert!(failed_once.last_error.is_some(), "{failed_once:?}");
    let child = Command::new("python3")
        .arg(&script)
        .arg(port.to_string())
        .arg(mailbox.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _server = Killed(child);
    assert!(
        wait_for_port(port, Duration::from_secs(15)),
        "the SMTP server is back"
    );
    {
        // Its retry is due in 30 s; make it due now rather than wait.
        use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
        let mut row = failed_once.into_active_model();
        row.next_attempt_at = Set(chrono::Utc::now());
        row.update(&app.db).await.unwrap();
    }
    let res = invite("sv").await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    let mut records = Vec::new();
    let started = Instant::now();
    while records.len() < 2 && started.elapsed() < Duration::from_secs(15) {
        records = std::fs::read_dir(mailbox.path())
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .map(|e| e.path())
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(records.len(), 2, "both emails arrived");
    // Paired with their language by content, not by arrival: the English one is a retry made
    // due just before the Swedish one was queued, so either may reach the server first.
    let mut mails: Vec<Value> = records
        .iter()
        .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
        .collect();
    mails.sort_by_key(|mail| mail["html"].as_str().unwrap_or("").contains("lang=\"sv\""));
    for (mail, locale) in mails.iter().zip(["en", "sv"]) {
        assert_eq!(mail["rcpt_tos"], json!(["anna@example.se"]));
        assert_eq!(mail["content_type"], "multipart/alternative");
        let text = mail["text"].as_str().expect("a plain text part");
        let html = mail["html"].as_str().expect("an HTML part");
        if locale == "sv" {
            assert!(
                mail["subject"].as_str().unwrap().contains("Kom igång"),
                "{mail}"
            );
            assert!(text.contains("Hej!"), "{text}");
        } else {
            assert!(
                mail["subject"]
                    .as_str()
                    .unwrap()
                    .contains("Set up payouts with Marknaden"),
                "{mail}"
            );
        }
        // The link in the text works: it opens a session and leads into the pages.
        let start = text.find("http://").expect("a link");
        let link: String = text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        assert!(link.contains("/onboarding/link/"), "{link}");
        assert!(
            html.contains(&link.replace('&', "&amp;")),
            "the same link in the HTML part"
        );
        let res = app.client.get(&link).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 303);
        assert_eq!(res.headers()["location"], "/onboarding");
        let cookie = res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let page = app
            .client
            .get(format!("{}/onboarding/business", app.address))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 200);
        let body = page.text().await.unwrap();
        assert!(
            body.contains(&format!("<html lang=\"{locale}\">")),
            "the email's language carries over"
        );
    }
}

trait OutputFallback {
    fn wait_with_output_fallback(&mut self) -> String;
}

impl OutputFallback for Child {
    fn wait_with_output_fallback(&mut self) -> String {
        use std::io::Read;
        let _ = self.wait();
        let mut err = String::new();
        if let Some(mut s) = self.stderr.take() {
            let _ = s.read_to_string(&mut err);
        }
        err.lines().last().unwrap_or("").to_owned()
    }
}
