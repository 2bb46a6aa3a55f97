//! Seller KYC through the API alone: requirements per country and business type, verification
//! codes, sanctions screening and the review queue, documents, deadlines, and encryption at
//! rest.

use std::time::Duration;

use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

const SANCTIONS_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/onboarding/tests/fixtures/ofac-sdn-sample.csv"
);

/// The smallest valid PNG: a 1×1 pixel.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\xa7\xa5\x9b\x8f\0\0\0\0IEND\xaeB`\x82";

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn update(app: &TestApp, account: &str, body: Value) -> Value {
    let res = app.post(&format!("/v1/accounts/{account}"), body).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

async fn upload(app: &TestApp, bytes: &[u8], name: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("purpose", "identity_document")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        );
    app.client
        .post(format!("{}/v1/files", app.address))
        .bearer_auth(&app.test_key)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn document(app: &TestApp) -> String {
    let res = upload(app, PNG, "passport.png").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "image/png");
    id(&body)
}

async fn add_bank(app: &TestApp, account: &str, body: Value) -> Value {
    let res = app
        .post(&format!("/v1/accounts/{account}/external_accounts"), body)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

async fn event_types(app: &TestApp) -> Vec<String> {
    let events = app.get("/v1/events?limit=100").await.body;
    events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

fn basics() -> Value {
    json!({
        "business_type": "individual",
        "business_profile": {"mcc": "5734", "url": "https://shop.example.com"},
        "tos_acceptance": {"ip": "192.0.2.10", "user_agent": "Mozilla/5.0"},
    })
}

fn assert_ready(account: &Value) {
    assert_eq!(account["payouts_enabled"], true, "{account:#}");
    assert_eq!(account["charges_enabled"], true);
    assert_eq!(account["details_submitted"], true);
    assert_eq!(account["requirements"]["eventually_due"], json!([]));
    assert_eq!(account["requirements"]["currently_due"], json!([]));
    assert_eq!(account["requirements"]["disabled_reason"], Value::Null);
    assert_eq!(account["capabilities"]["card_payments"], "active");
    assert_eq!(account["capabilities"]["transfers"], "active");
}

/// README's "A first call" and "Seller KYC" examples, run as shown: nothing is left in
/// `currently_due`, the account's email counts as the individual's, and the terms' date,
/// which the example leaves out, is the time of the request.
#[tokio::test]
async fn the_readme_kyc_example_leaves_nothing_currently_due() {
    let app = spawn_app().await;
    let account = app
        .create_account(json!({"country": "SE", "email": "anna@example.se", "business_type": "individual", "metadata": {"seller_ref": "42"}}))
        .await;
    let acct = id(&account);
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let account = update(
        &app,
        &acct,
        json!({"business_type": "individual",
               "business_profile": {"mcc": "5734", "url": "https://shop.example.se"},
               "individual": {"first_name": "Anna", "last_name": "Svensson",
                              "dob": "1990-01-02", "id_number": "19900102-1238"},
               "tos_acceptance": {"ip": "192.0.2.10", "user_agent": "Mozilla/5.0"}}),
    )
    .await;
    assert_eq!(
        account["requirements"]["currently_due"],
        json!([]),
        "{account:#}"
    );
    assert_eq!(account["charges_enabled"], true);
    assert_eq!(
        strings(&account["requirements"]["eventually_due"])[0],
        "individual.phone"
    );
    // What the seller gave is shown as given: no email of the individual's own.
    assert_eq!(account["individual"]["email"], Value::Null);
    let date = account["tos_acceptance"]["date"].as_str().unwrap();
    let parsed = chrono::DateTime::parse_from_rfc3339(date).unwrap();
    assert!(date.ends_with('Z') && !date.contains('.'), "{date}");
    assert!(parsed >= before && parsed <= chrono::Utc::now(), "{date}");
    assert_eq!(account["tos_acceptance"]["ip"], "192.0.2.10");
}

#[tokio::test]
async fn the_terms_date_is_an_rfc_3339_time_not_in_the_future() {
    let app = spawn_app().await;
    let account = app.create_account(json!({"country": "SE"})).await;
    let acct = id(&account);
    let due = strings(&account["requirements"]["currently_due"]);
    assert!(due.contains(&"tos_acceptance.ip".to_owned()), "{due:?}");
    assert!(!due.contains(&"tos_acceptance.date".to_owned()), "{due:?}");

    // A date given is kept, in UTC, and echoed in the format of every other time.
    let account = update(
        &app,
        &acct,
        json!({"tos_acceptance": {"ip": "192.0.2.10", "date": "2026-01-15T09:30:00+01:00"}}),
    )
    .await;
    assert_eq!(account["tos_acceptance"]["date"], "2026-01-15T08:30:00Z");
    let due = strings(&account["requirements"]["currently_due"]);
    assert!(
        !due.iter().any(|r| r.starts_with("tos_acceptance")),
        "{due:?}"
    );

    let future = (chrono::Utc::now() + chrono::Duration::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for (date, says) in [
        (json!(1768465800), "Unix timestamps are not accepted"),
        (json!("1768465800"), "RFC 3339"),
        (json!("2026-01-15"), "RFC 3339"),
        (json!("15/01/2026 09:30"), "RFC 3339"),
        (json!({"seconds": 1768465800}), "RFC 3339"),
        (json!(future), "in the future"),
    ] {
        let res = app
            .post(
                &format!("/v1/accounts/{acct}"),
                json!({"tos_acceptance": {"ip": "192.0.2.99", "date": date}}),
            )
            .await;
        let e = res.error(400, "invalid_request_error");
        assert_eq!(e["param"], "tos_acceptance.date", "{date}");
        assert_eq!(e["code"], "parameter_invalid", "{date}");
        assert!(e["message"].as_str().unwrap().contains(says), "{date}: {e}");
    }
    // Nothing of the refused requests was written.
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(account["tos_acceptance"]["date"], "2026-01-15T08:30:00Z");
    assert_eq!(account["tos_acceptance"]["ip"], "192.0.2.10");
}

#[tokio::test]
async fn the_account_email_stands_in_for_the_individuals_and_the_representatives() {
    let app = spawn_app().await;
    let person = json!({"first_name": "Anna", "last_name": "Svensson",
                        "dob": "1990-01-02", "id_number": "19900102-1238"});
    let mut body = basics();
    body["country"] = json!("SE");
    body["email"] = json!("anna@example.se");
    body["individual"] = person.clone();
    let account = app.create_account(body).await;
    let acct = id(&account);
    let due = strings(&account["requirements"]["eventually_due"]);
    assert!(!due.contains(&"individual.email".to_owned()), "{due:?}");
    assert_eq!(account["requirements"]["currently_due"], json!([]));
    assert_eq!(account["charges_enabled"], true);

    // Without the account's email the individual needs one of their own.
    let account = update(&app, &acct, json!({"email": ""})).await;
    assert_eq!(
        strings(&account["requirements"]["currently_due"]),
        ["individual.email"]
    );
    assert_eq!(account["charges_enabled"], false);
    // An address of their own is kept, whatever the account's is.
    let account = update(
        &app,
        &acct,
        json!({"email": "orders@shop.se", "individual": {"email": "anna@example.se"}}),
    )
    .await;
    assert_eq!(account["requirements"]["currently_due"], json!([]));
    assert_eq!(account["individual"]["email"], "anna@example.se");
    assert_eq!(account["email"], "orders@shop.se");
    let account = update(&app, &acct, json!({"email": ""})).await;
    assert_eq!(account["requirements"]["currently_due"], json!([]));
    assert_eq!(account["charges_enabled"], true);

    // A company's representative: the same.
    let account = app
        .create_account(
            json!({"country": "SE", "email": "ops@bolaget.se", "business_type": "company"}),
        )
        .await;
    let company = id(&account);
    let mut body = basics();
    body["business_type"] = json!("company");
    body["company"] = json!({"name": "Bolaget AB", "representative": person});
    let account = update(&app, &company, body).await;
    assert_eq!(
        account["requirements"]["currently_due"],
        json!([]),
        "{account:#}"
    );
    assert!(!strings(&account["requirements"]["eventually_due"])
        .contains(&"company.representative.email".to_owned()));
}

#[tokio::test]
async fn a_swedish_individual_goes_from_created_to_payouts_enabled() {
    let app = spawn_app().await;
    let account = app.create_account(json!({"country": "SE"})).await;
    let acct = id(&account);
    assert_eq!(account["charges_enabled"], false);
    assert_eq!(account["capabilities"]["card_payments"], "inactive");
    assert_eq!(
        strings(&account["requirements"]["currently_due"]),
        [
            "business_type",
            "business_profile.mcc",
            "business_profile.url",
            "tos_acceptance.ip"
        ]
    );
    // A charge is refused until the basic details are in.
    let refused = app
        .post(
            "/v1/charges",
            json!({"amount": 1000, "currency": "sek", "destination": acct, "payment_method": "pm_card_visa"}),
        )
        .await;
    let e = refused.error(400, "invalid_request_error");
    assert_eq!(e["code"], "account_charges_disabled");
    assert_eq!(e["param"], "destination");

    let mut body = basics();
    body["individual"] = json!({
        "first_name": "Anna", "last_name": "Svensson", "email": "anna@example.se",
        "dob": "1990-01-02", "id_number": "19900102-1238",
    });
    let account = update(&app, &acct, body).await;
    assert_eq!(account["charges_enabled"], true, "{account:#}");
    assert_eq!(account["payouts_enabled"], false);
    assert_eq!(account["individual"]["id_number_provided"], true);
    // Nothing of the number: with the date of birth its end rebuilds it.
    assert!(account["individual"].get("id_number_last4").is_none());
    assert_eq!(
        strings(&account["requirements"]["eventually_due"]),
        [
            "individual.phone",
            "individual.address.line1",
            "individual.address.city",
            "individual.address.postal_code",
            "external_account"
        ]
    );
    let charge = app
        .post(
            "/v1/charges",
            json!({"amount": 1000, "currency": "sek", "destination": acct, "payment_method": "pm_card_visa"}),
        )
        .await;
    assert_eq!(charge.status, 200, "{}", charge.body);

    update(
        &app,
        &acct,
        json!({"individual": {"phone": "+46701234567", "address": {"line1": "Storgatan 1", "city": "Stockholm", "postal_code": "111 22"}}}),
    )
    .await;
    let bank = add_bank(
        &app,
        &acct,
        json!({"country": "SE", "currency": "sek", "iban": "SE45 5000 0000 0583 9825 7466", "account_holder_name": "Anna Svensson"}),
    )
    .await;
    assert_eq!(bank["last4"], "7466");
    assert_eq!(bank["default_for_currency"], true);
    assert!(bank.get("iban").is_none());
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_ready(&account);

    let types = event_types(&app).await;
    for expected in [
        "account.created",
        "account.updated",
        "capability.updated",
        "account.external_account.created",
    ] {
        assert!(
            types.contains(&expected.to_owned()),
            "{expected} in {types:?}"
        );
    }
    // Both capabilities moved, each with its own event.
    assert_eq!(
        types.iter().filter(|t| *t == "capability.updated").count(),
        2,
        "{types:?}"
    );
}

#[tokio::test]
async fn a_us_individual_needs_ssn_last_4_then_the_full_ssn() {
    let app = spawn_app().await;
    let mut body = basics();
    body["country"] = json!("US");
    body["individual"] = json!({"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com", "dob": "1985-07-09"});
    let account = app.create_account(body).await;
    let acct = id(&account);
    assert_eq!(
        strings(&account["requirements"]["currently_due"]),
        ["individual.ssn_last_4"]
    );
    let account = update(&app, &acct, json!({"individual": {"ssn_last_4": "6789"}})).await;
    assert_eq!(account["charges_enabled"], true);
    assert!(strings(&account["requirements"]["eventually_due"])
        .contains(&"individual.id_number".to_owned()));
    // A full SSN that does not end in the last 4 given is an error to fix, not a pass.
    let wrong = update(
        &app,
        &acct,
        json!({"individual": {"id_number": "123-45-6780"}}),
    )
    .await;
    assert_eq!(
        wrong["requirements"]["errors"][0]["code"], "verification_failed_ssn_last_4_match",
        "{wrong}"
    );
    assert!(strings(&wrong["requirements"]["eventually_due"])
        .contains(&"individual.id_number".to_owned()));
    update(
        &app,
        &acct,
        json!({"individual": {
            "id_number": "123-45-6789", "phone": "+14155550123",
            "address": {"line1": "1 Market St", "city": "San Francisco", "state": "CA", "postal_code": "94105"}
        }}),
    )
    .await;
    add_bank(
        &app,
        &acct,
        json!({"country": "US", "currency": "usd", "routing_number": "110000000", "account_number": "000123456789"}),
    )
    .await;
    assert_ready(&app.get(&format!("/v1/accounts/{acct}")).await.body);
}

#[tokio::test]
async fn a_uk_individual_verifies_with_a_document() {
    let app = spawn_app().await;
    let mut body = basics();
    body["country"] = json!("GB");
    body["individual"] = json!({
        "first_name": "Oliver", "last_name": "Smith", "email": "oliver@example.co.uk",
        "dob": "1979-03-15", "phone": "+447700900123",
        "address": {"line1": "10 Downing Street", "city": "London", "postal_code": "SW1A 2AA"},
    });
    let account = app.create_account(body).await;
    let acct = id(&account);
    assert_eq!(account["charges_enabled"], true);
    assert_eq!(
        strings(&account["requirements"]["eventually_due"]),
        ["individual.verification.document", "external_account"]
    );
    let file = document(&app).await;
    let account = update(
        &app,
        &acct,
        json!({"individual": {"verification": {"document": file}}}),
    )
    .await;
    assert_eq!(account["individual"]["verification"]["status"], "verified");
    add_bank(
        &app,
        &acct,
        json!({"country": "GB", "currency": "gbp", "sort_code": "20-00-00", "account_number": "55779911"}),
    )
    .await;
    assert_ready(&app.get(&format!("/v1/accounts/{acct}")).await.body);
}

#[tokio::test]
async fn a_german_company_with_two_owners_goes_to_payouts_enabled() {
    let app = spawn_app().await;
    let account = app
        .create_account(json!({
            "country": "DE",
            "business_type": "company",
            "business_profile": {"mcc": "5999", "product_description": "Handmade furniture"},
            "tos_acceptance": {"ip": "2001:db8::1"},
            "company": {
                "name": "Beispiel Möbel GmbH",
                "representative": {"first_name": "Max", "last_name": "Mustermann", "email": "max@example.de", "dob": "1975-05-20"},
            },
        }))
        .await;
    let acct = id(&account);
    assert_eq!(account["charges_enabled"], true, "{account:#}");
    let due = strings(&account["requirements"]["eventually_due"]);
    for expected in [
        "company.tax_id",
        "company.registration_number",
        "company.owners_provided",
        "company.directors_provided",
        "company.representative.verification.document",
    ] {
        assert!(due.contains(&expected.to_owned()), "{expected} in {due:?}");
    }
    let file = document(&app).await;
    let account = update(
        &app,
        &acct,
        json!({"company": {
            "tax_id": "DE136695976",
            "registration_number": "HRB 123456",
            "phone": "+4930123456",
            "address": {"line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117"},
            "representative": {
                "phone": "+4930123457",
                "address": {"line1": "Unter den Linden 2", "city": "Berlin", "postal_code": "10117"},
                "verification": {"document": file},
            },
            "owners": [
                {"first_name": "Max", "last_name": "Mustermann", "dob": "1975-05-20", "ownership_percent": "60"},
                {"first_name": "Erika", "last_name": "Mustermann", "dob": "1978-11-02", "ownership_percent": "40"},
            ],
            "directors": [{"first_name": "Max", "last_name": "Mustermann"}],
        }}),
    )
    .await;
    assert_eq!(account["company"]["tax_id_last4"], "5976");
    assert_eq!(account["company"]["owners"][1]["ownership_percent"], "40");
    assert_eq!(
        strings(&account["requirements"]["eventually_due"]),
        ["external_account"]
    );
    add_bank(
        &app,
        &acct,
        json!({"country": "DE", "currency": "eur", "iban": "DE89370400440532013000", "account_holder_type": "company"}),
    )
    .await;
    assert_ready(&app.get(&format!("/v1/accounts/{acct}")).await.body);
}

#[tokio::test]
async fn a_sanctions_hit_goes_to_review_and_the_operator_decides() {
    let app = spawn_app_with(|c| c.sanctions_list = Some(SANCTIONS_SAMPLE.into())).await;
    // Listed as "LOGAN MOREY, Elvis Angus", DOB 28 Jul 1963: order, case and accents differ.
    let mut body = basics();
    body["country"] = json!("US");
    body["individual"] = json!({"first_name": "Elvis Angus", "last_name": "Logan Morey", "email": "e@example.com", "dob": "1963-07-28", "ssn_last_4": "1111"});
    let account = app.create_account(body).await;
    let acct = id(&account);
    assert_eq!(account["requirements"]["disabled_reason"], "under_review");
    assert_eq!(account["charges_enabled"], false);
    assert_eq!(account["capabilities"]["card_payments"], "pending");
    let queue = app.get("/v1/reviews?status=open").await.body;
    let reviews = queue["data"].as_array().unwrap();
    assert_eq!(reviews.len(), 1, "{queue:#}");
    let review = &reviews[0];
    assert_eq!(review["reason"], "sanctions_hit");
    assert_eq!(review["account"], acct.as_str());
    assert_eq!(review["subject"], "individual");
    assert_eq!(review["details"]["hits"][0]["list_entry"], 10278);
    assert_eq!(review["details"]["hits"][0]["dob_match"], "exact");

    // A seller with a clean name is not held.
    let mut clean = basics();
    clean["country"] = json!("US");
    clean["individual"] = json!({"first_name": "Jane", "last_name": "Doe", "email": "j@example.com", "dob": "1990-01-01", "ssn_last_4": "2222"});
    assert_eq!(app.create_account(clean).await["charges_enabled"], true);

    let rid = id(review);
    let approved = app
        .post(
            &format!("/v1/reviews/{rid}/approve"),
            json!({"reason": "different person: passport checked"}),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["status"], "approved");
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(account["charges_enabled"], true, "{account:#}");
    assert_eq!(
        account["requirements"]["disabled_reason"],
        "requirements.fields_needed"
    );
    // Closed once: a second decision is refused.
    app.post(&format!("/v1/reviews/{rid}/reject"), json!({"reason": "x"}))
        .await
        .error(400, "invalid_request_error");
    // An unrelated change does not screen (and hold) the seller again.
    let account = update(
        &app,
        &acct,
        json!({"individual": {"phone": "+14155550199"}}),
    )
    .await;
    assert_eq!(account["charges_enabled"], true);
    let types = event_types(&app).await;
    assert!(types.contains(&"review.opened".to_owned()));
    assert!(types.contains(&"review.closed".to_owned()));

    // A confirmed match rejects the account.
    let mut body = basics();
    body["country"] = json!("SE");
    body["individual"] = json!({"first_name": "Artem", "last_name": "Lifshits", "email": "a@example.se", "dob": "1992-12-26"});
    let listed = id(&app.create_account(body).await);
    let queue = app
        .get(&format!("/v1/reviews?status=open&account={listed}"))
        .await
        .body;
    let rid = id(&queue["data"][0]);
    app.post(
        &format!("/v1/reviews/{rid}/reject"),
        json!({"reason": "confirmed match"}),
    )
    .await;
    let account = app.get(&format!("/v1/accounts/{listed}")).await.body;
    assert_eq!(
        account["requirements"]["disabled_reason"],
        "rejected.listed"
    );
    assert_eq!(account["capabilities"]["card_payments"], "inactive");
}

#[tokio::test]
async fn documents_can_wait_for_the_operator() {
    let app = spawn_app_with(|c| {
        c.document_review = agora_platform::domain::kyc::DocumentReview::Manual;
    })
    .await;
    let mut body = basics();
    body["country"] = json!("FR");
    body["individual"] = json!({
        "first_name": "Marie", "last_name": "Curie", "email": "m@example.fr", "dob": "1980-11-07",
        "phone": "+33612345678",
        "address": {"line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001"},
    });
    let acct = id(&app.create_account(body).await);
    add_bank(
        &app,
        &acct,
        json!({"country": "FR", "currency": "eur", "iban": "FR1420041010050500013M02606"}),
    )
    .await;
    let first = document(&app).await;
    let account = update(
        &app,
        &acct,
        json!({"individual": {"verification": {"document": first}}}),
    )
    .await;
    assert_eq!(
        strings(&account["requirements"]["pending_verification"]),
        ["individual.verification.document"]
    );
    assert_eq!(account["capabilities"]["transfers"], "pending");
    assert_eq!(account["payouts_enabled"], false);
    let queue = app.get("/v1/reviews?status=open").await.body;
    assert_eq!(queue["data"][0]["reason"], "document");
    assert_eq!(queue["data"][0]["details"]["file"], first.as_str());
    // The operator can look at the document (the platform's key only).
    let contents = app.get(&format!("/v1/files/{first}/contents")).await;
    assert_eq!(contents.status, 200);
    // A rejection needs a reason, and the reason reaches the seller.
    let rid = id(&queue["data"][0]);
    app.post(&format!("/v1/reviews/{rid}/reject"), json!({}))
        .await
        .error(400, "invalid_request_error");
    app.post(
        &format!("/v1/reviews/{rid}/reject"),
        json!({"reason": "The photo is blurred; upload a sharper one."}),
    )
    .await;
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(
        account["requirements"]["errors"],
        json!([{
            "requirement": "individual.verification.document",
            "code": "verification_document_failed",
            "reason": "The photo is blurred; upload a sharper one."
        }])
    );
    let second = document(&app).await;
    update(
        &app,
        &acct,
        json!({"individual": {"verification": {"document": second}}}),
    )
    .await;
    let queue = app.get("/v1/reviews?status=open").await.body;
    let rid = id(&queue["data"][0]);
    app.post(&format!("/v1/reviews/{rid}/approve"), json!({}))
        .await;
    assert_ready(&app.get(&format!("/v1/accounts/{acct}")).await.body);
}

#[tokio::test]
async fn each_bad_input_gets_its_code_and_changes_nothing() {
    let app = spawn_app().await;
    let acct = id(&app.create_seller(json!({"country": "SE"})).await);
    let before = app.get(&format!("/v1/accounts/{acct}")).await.body;
    let events_before = event_types(&app).await.len();
    let cases = [
        (
            json!({"individual": {"id_number": "19900102-1239"}}),
            "individual.id_number",
            "invalid_id_number_checksum",
        ),
        (
            json!({"individual": {"id_number": "1990-01"}}),
            "individual.id_number",
            "invalid_id_number_format",
        ),
        (
            json!({"individual": {"dob": "2015-03-01"}}),
            "individual.dob",
            "invalid_dob_age_under_minimum",
        ),
        (
            json!({"individual": {"dob": "1990-02-30"}}),
            "individual.dob",
            "invalid_dob_format",
        ),
        (
            json!({"individual": {"phone": "0701234567"}}),
            "individual.phone",
            "invalid_phone_number",
        ),
        (
            json!({"individual": {"email": "anna@"}}),
            "individual.email",
            "invalid_email",
        ),
        (
            json!({"individual": {"address": {"line1": "Storgatan 1", "city": "Stockholm", "postal_code": "1234"}}}),
            "individual.address.postal_code",
            "invalid_address_postal_code",
        ),
        (
            json!({"business_profile": {"url": "not a url"}}),
            "business_profile.url",
            "invalid_url_format",
        ),
        (
            json!({"business_profile": {"mcc": "12"}}),
            "business_profile.mcc",
            "invalid_mcc",
        ),
        (
            json!({"tos_acceptance": {"ip": "999.1.1.1"}}),
            "tos_acceptance.ip",
            "invalid_ip_address",
        ),
        (
            json!({"company": {"name": "X AB"}}),
            "company",
            "parameter_unexpected",
        ),
        // A valid change beside a bad one is not applied either.
        (
            json!({"business_profile": {"name": "New name"}, "individual": {"phone": "+1"}}),
            "individual.phone",
            "invalid_phone_number",
        ),
    ];
    for (body, param, code) in cases {
        let res = app
            .post(&format!("/v1/accounts/{acct}"), body.clone())
            .await;
        let e = res.error(400, "invalid_request_error");
        assert_eq!(
            (e["param"].as_str(), e["code"].as_str()),
            (Some(param), Some(code)),
            "{body}"
        );
    }
    let bank_cases = [
        (
            json!({"country": "SE", "currency": "sek", "iban": "SE4550000000058398257467"}),
            "iban",
            "invalid_iban_checksum",
        ),
        (
            json!({"country": "SE", "currency": "sek", "iban": "SE45500000000583982574"}),
            "iban",
            "invalid_iban_format",
        ),
        (
            json!({"country": "SE", "currency": "eur", "iban": "DE89370400440532013000"}),
            "iban",
            "invalid_iban_country",
        ),
        (
            json!({"country": "US", "currency": "usd", "routing_number": "110000001", "account_number": "000123456789"}),
            "routing_number",
            "invalid_routing_number",
        ),
        (
            json!({"country": "US", "currency": "usd", "routing_number": "110000000", "account_number": "12"}),
            "account_number",
            "invalid_account_number",
        ),
        (
            json!({"country": "GB", "currency": "gbp", "sort_code": "20-00", "account_number": "55779911"}),
            "sort_code",
            "invalid_sort_code",
        ),
        (
            json!({"country": "GB", "currency": "gbp", "sort_code": "200000"}),
            "account_number",
            "parameter_missing",
        ),
        (
            json!({"country": "SE", "currency": "xyz", "iban": "SE4550000000058398257466"}),
            "currency",
            "currency_invalid",
        ),
    ];
    for (body, param, code) in bank_cases {
        let res = app
            .post(
                &format!("/v1/accounts/{acct}/external_accounts"),
                body.clone(),
            )
            .await;
        let e = res.error(400, "invalid_request_error");
        assert_eq!(
            (e["param"].as_str(), e["code"].as_str()),
            (Some(param), Some(code)),
            "{body}"
        );
    }
    let company = app
        .create_account(json!({"country": "DE", "business_type": "company"}))
        .await;
    let cid = id(&company);
    let company_before = app.get(&format!("/v1/accounts/{cid}")).await.body;
    let company_cases = [
        (
            json!({"company": {"tax_id": "DE136695978"}}),
            "company.tax_id",
            "invalid_tax_id_checksum",
        ),
        (
            json!({"company": {"owners": [{"first_name": "A", "ownership_percent": "70"}, {"first_name": "B", "ownership_percent": "40"}]}}),
            "company.owners",
            "invalid_ownership_total",
        ),
        (
            json!({"company": {"owners": [{"first_name": "A", "ownership_percent": "abc"}]}}),
            "company.owners[0].ownership_percent",
            "invalid_ownership_percent",
        ),
        (
            json!({"company": {"representative": {"dob": "2010-01-01"}}}),
            "company.representative.dob",
            "invalid_dob_age_under_minimum",
        ),
    ];
    for (body, param, code) in company_cases {
        let res = app.post(&format!("/v1/accounts/{cid}"), body.clone()).await;
        let e = res.error(400, "invalid_request_error");
        assert_eq!(
            (e["param"].as_str(), e["code"].as_str()),
            (Some(param), Some(code)),
            "{body}"
        );
    }
    // Files: recognised by their bytes, and bounded.
    let res = upload(&app, b"GIF89a\x01\x00\x01\x00", "photo.png").await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "file_type_invalid");
    let big = vec![0u8; 10 * 1024 * 1024 + 1];
    let res = upload(&app, &big, "big.pdf").await;
    assert_eq!(res.status(), 413);

    assert_eq!(app.get(&format!("/v1/accounts/{acct}")).await.body, before);
    assert_eq!(
        app.get(&format!("/v1/accounts/{cid}")).await.body,
        company_before
    );
    assert_eq!(
        app.get(&format!("/v1/accounts/{acct}/external_accounts"))
            .await
            .body["data"],
        json!([])
    );
    assert_eq!(event_types(&app).await.len(), events_before + 1);
}

#[tokio::test]
async fn the_personnummer_must_match_the_date_of_birth() {
    let app = spawn_app().await;
    let mut body = basics();
    body["country"] = json!("SE");
    body["individual"] = json!({"first_name": "Anna", "last_name": "Svensson", "email": "a@example.se", "dob": "1990-01-03", "id_number": "199001021238"});
    let account = app.create_account(body).await;
    assert_eq!(account["charges_enabled"], false);
    assert_eq!(
        account["requirements"]["errors"][0]["code"],
        "verification_failed_id_number_match"
    );
    let account = update(
        &app,
        &id(&account),
        json!({"individual": {"dob": "1990-01-02"}}),
    )
    .await;
    assert_eq!(account["requirements"]["errors"], json!([]));
    assert_eq!(account["charges_enabled"], true);
}

#[tokio::test]
async fn nothing_sensitive_is_stored_in_the_clear() {
    let app = spawn_app().await;
    let acct = id(&app.create_seller(json!({"country": "SE"})).await);
    add_bank(
        &app,
        &acct,
        json!({"country": "SE", "currency": "sek", "iban": "SE4550000000058398257466"}),
    )
    .await;
    let company = app
        .create_account(json!({"country": "US", "business_type": "company", "company": {"tax_id": "12-3456789", "representative": {"id_number": "123-45-6789"}}}))
        .await;
    add_bank(
        &app,
        &id(&company),
        json!({"country": "US", "currency": "usd", "routing_number": "110000000", "account_number": "000987654321"}),
    )
    .await;
    let file = document(&app).await;
    assert!(file.starts_with("file_"));
    // Webhook signing secrets are sealed the same way.
    let endpoint = app
        .post(
            "/v1/webhook_endpoints",
            json!({"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]}),
        )
        .await;
    assert_eq!(endpoint.status, 200, "{}", endpoint.body);
    let webhook_secret = endpoint.body["secret"].as_str().unwrap().to_owned();
    let webhook_key = webhook_secret.trim_start_matches("whsec_").to_owned();

    // Every row of every table, read straight from the database: on PostgreSQL as JSON, on
    // SQLite the database file and its write-ahead log byte for byte.
    let backend = app.db.get_database_backend();
    let dump = match backend {
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
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(&app.config.data_dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with("agora.db") {
                    bytes.extend(std::fs::read(&path).unwrap());
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    assert!(
        dump.contains("7466"),
        "a bank account's last four are stored: the dump is real"
    );
    for secret in [
        "199001021238",
        "9001021238",
        "SE4550000000058398257466",
        "50000000058398257466",
        "000987654321",
        "987654321",
        "123456789",
        "123-45-6789",
        &webhook_secret,
        &webhook_key,
    ] {
        assert!(!dump.contains(secret), "{secret} is stored in the clear");
    }
    // The document on disk is sealed too.
    let files = app.config.data_dir.join("files");
    for entry in std::fs::read_dir(files).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(4).any(|w| w == b"IHDR"),
            "a document is stored in the clear"
        );
    }
}

/// Every 4-character run of `number` that reaches past its first `date_len` characters (the
/// birth date it starts with, which `dob` shows anyway).
fn runs_beyond_the_date(number: &str, date_len: usize) -> Vec<String> {
    let chars: Vec<char> = number.chars().collect();
    (0..=chars.len().saturating_sub(4))
        .filter(|&i| i + 4 > date_len)
        .map(|i| chars[i..i + 4].iter().collect())
        .collect()
}

/// The hosted review page of `account`, as its seller sees it through a fresh link.
async fn review_page(app: &TestApp, account: &str) -> String {
    let link = app
        .post(
            "/v1/account_links",
            json!({"account": account, "type": "account_onboarding",
                   "refresh_url": "https://platform.example/refresh",
                   "return_url": "https://platform.example/return"}),
        )
        .await;
    assert_eq!(link.status, 200, "{}", link.body);
    let opened = app
        .client
        .get(link.body["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let cookie = opened.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = app
        .client
        .get(format!("{}/onboarding/review", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

/// Issue 15: a national id that starts with the date of birth (Swedish personnummer, Danish
/// CPR, Norwegian fødselsnummer, Finnish HETU) is the date plus a few digits, so `dob` and its
/// last four rebuild it. Neither the account, nor its events (what webhooks carry), nor the
/// hosted review page may show any run of such a number beyond the date; nor, for any person,
/// any part of the id number (a US SSN's last four are what `ssn_last_4` asks for: a secret).
/// A sole trader's company numbers can be their personnummer or CPR, and a Swedish personkonto
/// number is the personnummer: hidden the same way, while a company's own registration number
/// and an ordinary bank account keep their last four.
#[tokio::test]
async fn no_national_id_can_be_rebuilt_from_the_account_its_events_or_the_review_page() {
    let app = spawn_app().await;
    let person = |id_number: &str| {
        json!({"first_name": "Anna", "last_name": "Svensson", "dob": "1990-01-02",
               "id_number": id_number})
    };
    // (country, id_number as given, its characters, how many of them are the birth date)
    let individuals = [
        ("SE", "19900102-1238", "199001021238", 8),
        ("DK", "020190-4711", "0201904711", 6),
        ("NO", "02019049321", "02019049321", 6),
        ("FI", "020190-937X", "020190937X", 6),
        ("US", "123-45-6789", "123456789", 0),
    ];
    let mut accounts = Vec::new();
    for (country, given, number, date_len) in individuals {
        let mut individual = person(given);
        if country == "US" {
            individual["ssn_last_4"] = json!("6789");
        }
        let account = app
            .create_account(json!({"country": country, "business_type": "individual",
                                   "individual": individual}))
            .await;
        let acct = id(&account);
        // A change, so account.updated carries the object too.
        let account = update(&app, &acct, json!({"metadata": {"shop": "1"}})).await;
        assert_eq!(
            account["individual"]["id_number_provided"], true,
            "{account}"
        );
        assert!(
            account["individual"].get("id_number_last4").is_none(),
            "{country}: {account}"
        );
        if country == "SE" {
            // A Nordea personkonto's number is the holder's personnummer, in its IBAN too.
            let bank = add_bank(
                &app,
                &acct,
                json!({"country": "SE", "currency": "sek", "iban": "SE47 3000 0000 0090 0102 1238"}),
            )
            .await;
            assert_eq!(bank["last4"], Value::Null, "{bank}");
        }
        accounts.push((acct, country, number, date_len));
    }
    // (country, company numbers, the personal number inside them, its date's length)
    let companies = [
        // A sole trader's VAT number is SE + personnummer + 01.
        (
            "SE",
            json!({"tax_id": "SE900102123801", "registration_number": "900102-1238"}),
            "9001021238",
            6,
        ),
        (
            "DK",
            json!({"registration_number": "020190-4711"}),
            "0201904711",
            6,
        ),
    ];
    for (country, numbers, number, date_len) in companies {
        let mut company = numbers.clone();
        company["representative"] =
            json!({"first_name": "Anna", "last_name": "Svensson", "dob": "1990-01-02"});
        let account = app
            .create_account(json!({"country": country, "business_type": "company",
                                   "company": company}))
            .await;
        let acct = id(&account);
        let account = update(&app, &acct, json!({"metadata": {"shop": "1"}})).await;
        for field in ["tax_id", "registration_number"] {
            if numbers.get(field).is_some() {
                assert_eq!(account["company"][format!("{field}_provided")], true);
                assert_eq!(
                    account["company"][format!("{field}_last4")],
                    Value::Null,
                    "{country} {field}: {account}"
                );
            }
        }
        accounts.push((acct, country, number, date_len));
    }

    let events = app.get("/v1/events?limit=100").await.body.to_string();
    for (acct, country, number, date_len) in &accounts {
        let account = app
            .get(&format!("/v1/accounts/{acct}"))
            .await
            .body
            .to_string();
        let page = review_page(&app, acct).await;
        for run in runs_beyond_the_date(number, *date_len) {
            for (what, text) in [
                ("account", &account),
                ("events", &events),
                ("review page", &page),
            ] {
                assert!(
                    !text.contains(&run),
                    "{country}: the {what} shows {run} of the id number: {text}"
                );
            }
        }
    }

    // Nor does the stored profile keep any of it beside the ciphertext: the database holds the
    // birth date in the clear.
    use sea_orm::EntityTrait;
    for stored in agora_onboarding::accounts::entity::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
    {
        let profile = stored.profile.unwrap_or_default().to_string();
        for (_, country, number, date_len) in &accounts {
            for run in runs_beyond_the_date(number, *date_len) {
                assert!(
                    !profile.contains(&run),
                    "{country}: {run} stored: {profile}"
                );
            }
        }
    }

    // A company's own numbers are public: their last four are still shown.
    let company = app
        .create_account(json!({"country": "SE", "business_type": "company",
                               "company": {"tax_id": "556036-0793", "registration_number": "556036-0793"}}))
        .await;
    assert_eq!(company["company"]["tax_id_last4"], "0793", "{company}");
    assert_eq!(company["company"]["registration_number_last4"], "0793");
}

#[tokio::test]
async fn a_passed_deadline_makes_what_is_due_past_due() {
    let app = spawn_app_with(|c| c.kyc_poll_ms = 100).await;
    let acct = id(&app.create_seller(json!({"country": "SE"})).await);
    let deadline = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let account = update(&app, &acct, json!({"requirements_deadline": deadline})).await;
    assert!(account["requirements"]["current_deadline"].is_string());
    assert_eq!(account["requirements"]["past_due"], json!([]));
    app.post(
        "/v1/test_helpers/advance_clock",
        json!({"seconds": 2 * 86400}),
    )
    .await;
    let mut account = Value::Null;
    for _ in 0..100 {
        account = app.get(&format!("/v1/accounts/{acct}")).await.body;
        if account["charges_enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(account["charges_enabled"], false, "{account:#}");
    assert_eq!(
        account["requirements"]["disabled_reason"],
        "requirements.past_due"
    );
    assert!(strings(&account["requirements"]["past_due"]).contains(&"external_account".to_owned()));
    assert_eq!(account["requirements"]["current_deadline"], Value::Null);
    let refused = app
        .post(
            "/v1/charges",
            json!({"amount": 1000, "currency": "sek", "destination": acct, "payment_method": "pm_card_visa"}),
        )
        .await;
    assert_eq!(
        refused.error(400, "invalid_request_error")["code"],
        "account_charges_disabled"
    );
    assert!(event_types(&app)
        .await
        .contains(&"capability.updated".to_owned()));
}

#[tokio::test]
async fn a_rejected_account_takes_no_charges_and_no_changes() {
    let app = spawn_app().await;
    let acct = id(&app.create_seller(json!({"country": "SE"})).await);
    app.post(
        &format!("/v1/accounts/{acct}/reject"),
        json!({"reason": "maybe"}),
    )
    .await
    .error(400, "invalid_request_error");
    let res = app
        .post(
            &format!("/v1/accounts/{acct}/reject"),
            json!({"reason": "fraud"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.body["requirements"]["disabled_reason"],
        "rejected.fraud"
    );
    assert_eq!(res.body["charges_enabled"], false);
    let refused = app
        .post(
            "/v1/charges",
            json!({"amount": 1000, "currency": "sek", "destination": acct, "payment_method": "pm_card_visa"}),
        )
        .await;
    assert_eq!(
        refused.error(400, "invalid_request_error")["code"],
        "account_charges_disabled"
    );
    update(&app, &acct, json!({"metadata": {"note": "still readable"}})).await;
    app.post(
        &format!("/v1/accounts/{acct}"),
        json!({"individual": {"phone": "+46701234567"}}),
    )
    .await
    .error(400, "invalid_request_error");
    // A seller acting on itself cannot reject, nor list reviews.
    let res = app
        .send(
            Method::GET,
            "/v1/reviews",
            None,
            &app.test_key,
            &[("agora-account", &acct)],
        )
        .await;
    res.error(403, "permission_error");
}

#[tokio::test]
async fn one_default_bank_account_per_currency() {
    let app = spawn_app().await;
    let acct = id(&app.create_seller(json!({"country": "SE"})).await);
    let first = add_bank(
        &app,
        &acct,
        json!({"country": "SE", "currency": "sek", "iban": "SE4550000000058398257466"}),
    )
    .await;
    let second = add_bank(&app, &acct, json!({"country": "SE", "currency": "sek", "iban": "SE3550000000054910000003", "default_for_currency": true})).await;
    let eur = add_bank(
        &app,
        &acct,
        json!({"country": "SE", "currency": "eur", "iban": "SE7280000810340009783242"}),
    )
    .await;
    assert_eq!(eur["default_for_currency"], true);
    let list = app
        .get(&format!("/v1/accounts/{acct}/external_accounts"))
        .await
        .body;
    let defaults: Vec<(String, String)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["default_for_currency"] == true)
        .map(|b| (b["currency"].as_str().unwrap().to_owned(), id(b)))
        .collect();
    assert_eq!(defaults.len(), 2, "{list:#}");
    assert!(defaults.contains(&("sek".to_owned(), id(&second))));
    // The same bank account twice is refused.
    let dup = app
        .post(
            &format!("/v1/accounts/{acct}/external_accounts"),
            json!({"country": "SE", "currency": "sek", "iban": "SE45 5000 0000 0583 9825 7466"}),
        )
        .await;
    let error = dup.error(400, "invalid_request_error");
    assert_eq!(
        (error["code"].as_str(), error["param"].as_str()),
        (Some("bank_account_exists"), Some("iban")),
        "the param is the field the number came in"
    );
    // Deleting the default hands it to the other one in the currency.
    let res = app
        .call(
            Method::DELETE,
            &format!("/v1/accounts/{acct}/external_accounts/{}", id(&second)),
            None,
        )
        .await;
    assert_eq!(res.body["deleted"], true);
    let again = app
        .get(&format!(
            "/v1/accounts/{acct}/external_accounts/{}",
            id(&first)
        ))
        .await
        .body;
    assert_eq!(again["default_for_currency"], true);
}

/// Found by the platform-engineer walk: one uploaded passport verified two sellers. The
/// platform's upload belongs to the first account it is attached to; another account gets a
/// clear error and nothing changes on it.
#[tokio::test]
async fn one_document_verifies_one_account_only() {
    let app = spawn_app().await;
    let person = |first: &str| {
        let mut body = basics();
        body["country"] = json!("GB");
        body["individual"] = json!({
            "first_name": first, "last_name": "Smith", "email": "o@example.co.uk",
            "dob": "1979-03-15", "phone": "+447700900123",
            "address": {"line1": "10 Downing Street", "city": "London", "postal_code": "SW1A 2AA"},
        });
        body
    };
    let a = id(&app.create_account(person("Oliver")).await);
    let b = id(&app.create_account(person("Olivia")).await);
    let file = document(&app).await;
    let doc = json!({"individual": {"verification": {"document": file}}});
    let first = update(&app, &a, doc.clone()).await;
    assert_eq!(first["individual"]["verification"]["status"], "verified");
    // Attaching it again to the same account is fine.
    update(&app, &a, doc.clone()).await;
    let res = app.post(&format!("/v1/accounts/{b}"), doc).await;
    let error = res.error(400, "invalid_request_error");
    assert_eq!(
        (error["code"].as_str(), error["param"].as_str()),
        (
            Some("file_already_used"),
            Some("individual.verification.document")
        ),
        "{}",
        res.body
    );
    let b_now = app.get(&format!("/v1/accounts/{b}")).await.body;
    assert_ne!(b_now["individual"]["verification"]["status"], "verified");
    assert!(strings(&b_now["requirements"]["eventually_due"])
        .contains(&"individual.verification.document".to_owned()));
}
