//! Payouts through the API: the manual lifecycle on the ledger (pay, fail, cancel), schedules
//! driven by the payout run across a month end and a bank holiday, concurrent runs, batches and
//! bank files, reconciliation, and bad input.

use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn verify(app: &TestApp) {
    let report = agora_ledger::verify::verify(&app.db).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// A Swedish individual with every requirement met and a EUR IBAN (paid over SEPA), whose
/// charges become available at once.
pub(crate) async fn verified_seller(app: &TestApp, iban: &str) -> String {
    let account = app
        .create_seller(json!({"country": "SE", "settlement_delay_days": 0}))
        .await;
    let acct = id(&account);
    let res = app
        .post(
            &format!("/v1/accounts/{acct}"),
            json!({"individual": {"phone": "+46701234567", "address": {"line1": "Storgatan 1", "city": "Stockholm", "postal_code": "111 22"}}}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let bank = app
        .post(
            &format!("/v1/accounts/{acct}/external_accounts"),
            json!({"country": "SE", "currency": "eur", "iban": iban, "account_holder_name": "Anna Svensson"}),
        )
        .await;
    assert_eq!(bank.status, 200, "{}", bank.body);
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(account["payouts_enabled"], true, "{account:#}");
    acct
}

/// A charge to the seller, settled (the seller has no settlement delay; advancing the test
/// clock runs settlement).
async fn charge_settled(app: &TestApp, acct: &str, amount: i64) {
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
}

async fn available(app: &TestApp, acct: &str) -> i64 {
    let res = app
        .send(
            Method::GET,
            "/v1/balance",
            None,
            &app.test_key,
            &[("Agora-Account", acct)],
        )
        .await;
    res.body["available"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["currency"] == "eur")
        .map_or(0, |a| a["amount"].as_i64().unwrap())
}

async fn payout_count(app: &TestApp) -> usize {
    app.get("/v1/payouts?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .len()
}

/// With `AGORA_BANK_FILE_SAMPLES` set (by `.ci/run`), keeps a bank file a payout run wrote,
/// with its batch object, for the independent checkers (xmllint, carta-ach).
async fn save_sample(app: &TestApp, batch: &Value, contents: &str) {
    let Ok(dir) = std::env::var("AGORA_BANK_FILE_SAMPLES") else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    let name = format!(
        "{}-{}",
        if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            "pg"
        } else {
            "sqlite"
        },
        batch["file_name"].as_str().unwrap()
    );
    std::fs::write(dir.join(&name), contents).unwrap();
    std::fs::write(dir.join(format!("{name}.batch.json")), batch.to_string()).unwrap();
}

fn no_worker(c: &mut agora_platform::Config) {
    // The tests drive the payout run themselves.
    c.payout_worker = false;
}

/// Issue 15: `GET /v1/balance_transactions` with `payout` and `source` applies both (a row
/// must match each filter), as it does `type` and `available_on`; `source` was dropped.
#[tokio::test]
async fn balance_transactions_by_payout_and_source_match_both() {
    let app = spawn_app_with(no_worker).await;
    let acct = verified_seller(&app, "SE7280000810340009783242").await;
    charge_settled(&app, &acct, 10_000).await;
    let as_seller = async |method: Method, path: &str, body: Option<Value>| {
        app.send(
            method,
            path,
            body,
            &app.test_key,
            &[("Agora-Account", acct.as_str())],
        )
        .await
    };
    let po = as_seller(
        Method::POST,
        "/v1/payouts",
        Some(json!({"amount": 6_000, "currency": "eur"})),
    )
    .await;
    assert_eq!(po.status, 200, "{}", po.body);
    let po = id(&po.body);
    let charges = as_seller(Method::GET, "/v1/balance_transactions?type=charge", None).await;
    let charge = charges.body["data"][0]["source"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(charge.starts_with("ch_"), "{}", charges.body);
    let sources = async |query: String| -> Vec<String> {
        let res = as_seller(
            Method::GET,
            &format!("/v1/balance_transactions?{query}"),
            None,
        )
        .await;
        assert_eq!(res.status, 200, "{query}: {}", res.body);
        res.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|bt| bt["source"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(sources(format!("payout={po}")).await, [po.as_str()]);
    assert_eq!(
        sources(format!("payout={po}&source={po}")).await,
        [po.as_str()]
    );
    assert_eq!(
        sources(format!("payout={po}&source={charge}")).await,
        Vec::<String>::new(),
        "the charge is not among the payout's rows"
    );
    assert_eq!(sources(format!("source={charge}")).await, [charge.as_str()]);
    assert_eq!(
        sources(format!("payout={po}&type=charge")).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_manual_payout_is_paid_or_fails_back_to_the_balance() {
    let app = spawn_app_with(no_worker).await;
    let acct = verified_seller(&app, "SE7280000810340009783242").await;
    charge_settled(&app, &acct, 10_000).await;
    assert_eq!(available(&app, &acct).await, 10_000);

    // Bad input: a clear code, and nothing changes.
    let over = app
        .post(
            "/v1/payouts",
            json!({"amount": 10_001, "currency": "eur", "account": acct}),
        )
        .await;
    let e = over.error(400, "invalid_request_error");
    assert_eq!(e["code"], "balance_insufficient");
    assert_eq!(e["param"], "amount");
    let wrong = app
        .post(
            "/v1/payouts",
            json!({"amount": 100, "currency": "usd", "account": acct}),
        )
        .await;
    assert_eq!(
        wrong.error(400, "invalid_request_error")["code"],
        "no_default_bank_account"
    );
    let bogus = app
        .post(
            "/v1/payouts",
            json!({"amount": 100, "currency": "xyz", "account": acct}),
        )
        .await;
    assert_eq!(
        bogus.error(400, "invalid_request_error")["code"],
        "currency_invalid"
    );
    let unknown = agora_platform::infra::wire::ids::encode(
        agora_platform::infra::wire::ids::IdKind::ExternalAccount,
        uuid::Uuid::now_v7(),
    );
    let res = app
        .post(
            "/v1/payouts",
            json!({"amount": 100, "currency": "eur", "account": acct, "destination": unknown}),
        )
        .await;
    let e = res.error(400, "invalid_request_error");
    assert_eq!(e["code"], "resource_missing");
    assert_eq!(e["param"], "destination");
    let res = app
        .post("/v1/payouts", json!({"amount": 100, "currency": "eur"}))
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "parameter_missing"
    );
    let res = app
        .post(
            "/v1/payouts",
            json!({"amount": 50, "currency": "eur", "account": acct}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "amount_too_small"
    );
    let res = app
        .post(
            "/v1/payouts",
            json!({"amount": 500, "currency": "eur", "account": acct, "method": "warp"}),
        )
        .await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "parameter_invalid"
    );
    assert_eq!(payout_count(&app).await, 0);
    assert_eq!(available(&app, &acct).await, 10_000);

    // A seller may pay itself out with its own header.
    let first = app
        .send(
            Method::POST,
            "/v1/payouts",
            Some(json!({"amount": 6_000, "currency": "eur"})),
            &app.test_key,
            &[("Agora-Account", acct.as_str())],
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let po = first.body.clone();
    assert_eq!(po["object"], "payout");
    assert_eq!(po["status"], "pending");
    assert_eq!(po["rail"], "sepa");
    assert_eq!(po["method"], "standard");
    assert_eq!(po["automatic"], false);
    assert!(id(&po).starts_with("po_"));
    assert_eq!(available(&app, &acct).await, 4_000);
    verify(&app).await;

    // Test helpers do not exist for live keys.
    let live = app
        .send(
            Method::POST,
            &format!("/v1/test_helpers/payouts/{}/pay", id(&po)),
            Some(json!({})),
            &app.live_key,
            &[],
        )
        .await;
    live.error(404, "invalid_request_error");

    let paid = app
        .post(
            &format!("/v1/test_helpers/payouts/{}/pay", id(&po)),
            json!({}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(available(&app, &acct).await, 4_000);
    verify(&app).await;
    // Paid once: a second pay is refused.
    let again = app
        .post(
            &format!("/v1/test_helpers/payouts/{}/pay", id(&po)),
            json!({}),
        )
        .await;
    assert_eq!(
        again.error(400, "invalid_request_error")["code"],
        "payout_status_invalid"
    );
    // The seller is emailed.
    let emails = crate::helpers::outbox(&app, 1).await;
    // In Swedish, for a Swedish seller (quoted-printable keeps the ASCII words readable).
    assert!(
        emails
            .iter()
            .any(|e| e.contains("Agora har betalat ut 60.00 EUR")),
        "{emails:?}"
    );
    assert!(
        emails.iter().any(|e| e.contains("seller@example.com")
            && e.contains("text/html")
            && e.contains("text/plain")),
        "{emails:?}"
    );

    // Reconciliation: the balance transaction the payout wrote.
    let bts = app
        .get(&format!("/v1/balance_transactions?payout={}", id(&po)))
        .await;
    // The platform's view holds no seller rows; ask as the seller.
    assert_eq!(bts.status, 200, "{}", bts.body);
    let bts = app
        .send(
            Method::GET,
            &format!("/v1/balance_transactions?payout={}", id(&po)),
            None,
            &app.test_key,
            &[("Agora-Account", acct.as_str())],
        )
        .await;
    let rows = bts.body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", bts.body);
    assert_eq!(rows[0]["type"], "payout");
    assert_eq!(rows[0]["amount"], -6_000);
    assert_eq!(rows[0]["source"], id(&po));
    let csv = app
        .get(&format!("/v1/payouts/{}/reconciliation.csv", id(&po)))
        .await;
    assert_eq!(csv.status, 200);
    let text = csv.body.as_str().unwrap();
    assert!(
        text.starts_with("balance_transaction,type,source"),
        "{text}"
    );
    assert!(
        text.contains(",payout,") && text.contains("-6000"),
        "{text}"
    );

    // A cancel while pending gives the money back.
    let small = app
        .post(
            "/v1/payouts",
            json!({"amount": 1_000, "currency": "eur", "account": acct}),
        )
        .await;
    assert_eq!(small.status, 200, "{}", small.body);
    assert_eq!(available(&app, &acct).await, 3_000);
    let canceled = app
        .post(
            &format!("/v1/payouts/{}/cancel", id(&small.body)),
            json!({}),
        )
        .await;
    assert_eq!(canceled.status, 200, "{}", canceled.body);
    assert_eq!(canceled.body["status"], "canceled");
    assert_eq!(available(&app, &acct).await, 4_000);
    let again = app
        .post(
            &format!("/v1/payouts/{}/cancel", id(&small.body)),
            json!({}),
        )
        .await;
    assert_eq!(
        again.error(400, "invalid_request_error")["code"],
        "payout_status_invalid"
    );

    // A failure: money back, bank account errored, payouts disabled.
    let second = app
        .post(
            "/v1/payouts",
            json!({"amount": 4_000, "currency": "eur", "account": acct}),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(available(&app, &acct).await, 0);
    let bad_code = app
        .post(
            &format!("/v1/test_helpers/payouts/{}/fail", id(&second.body)),
            json!({"failure_code": "gremlins"}),
        )
        .await;
    assert_eq!(
        bad_code.error(400, "invalid_request_error")["param"],
        "failure_code"
    );
    let failed = app
        .post(
            &format!("/v1/test_helpers/payouts/{}/fail", id(&second.body)),
            json!({}),
        )
        .await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(failed.body["status"], "failed");
    assert_eq!(failed.body["failure_code"], "account_closed");
    assert_eq!(available(&app, &acct).await, 4_000);
    verify(&app).await;
    let bank = app
        .get(&format!(
            "/v1/accounts/{acct}/external_accounts/{}",
            second.body["destination"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(bank["status"], "errored", "{bank}");
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(account["payouts_enabled"], false, "{account:#}");
    let refused = app
        .post(
            "/v1/payouts",
            json!({"amount": 1_000, "currency": "eur", "account": acct}),
        )
        .await;
    assert_eq!(
        refused.error(400, "invalid_request_error")["code"],
        "account_payouts_disabled"
    );
    let rows = app
        .send(
            Method::GET,
            &format!("/v1/balance_transactions?payout={}", id(&second.body)),
            None,
            &app.test_key,
            &[("Agora-Account", acct.as_str())],
        )
        .await
        .body;
    assert_eq!(rows["data"].as_array().unwrap().len(), 2, "{rows}");

    // A new bank account makes the seller payable again.
    let res = app
        .post(
            &format!("/v1/accounts/{acct}/external_accounts"),
            json!({"country": "SE", "currency": "eur", "iban": "SE3550000000054910000003", "default_for_currency": true}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(account["payouts_enabled"], true, "{account:#}");
    let third = app
        .post(
            "/v1/payouts",
            json!({"amount": 4_000, "currency": "eur", "account": acct}),
        )
        .await;
    assert_eq!(third.status, 200, "{}", third.body);
    assert_eq!(third.body["destination"], id(&res.body));
    assert_eq!(available(&app, &acct).await, 0);
    // The errored bank account stays refused while another one is usable.
    charge_settled(&app, &acct, 1_000).await;
    let res = app
        .post(
            "/v1/payouts",
            json!({"amount": 1_000, "currency": "eur", "account": acct, "destination": second.body["destination"]}),
        )
        .await;
    let e = res.error(400, "invalid_request_error");
    assert_eq!(e["code"], "bank_account_unusable");
    assert_eq!(e["param"], "destination");
    assert_eq!(available(&app, &acct).await, 1_000);

    // Events for each step.
    let events = app.get("/v1/events?limit=100").await.body;
    let types: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for t in [
        "payout.created",
        "payout.paid",
        "payout.failed",
        "payout.canceled",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    verify(&app).await;
}

async fn set_schedule(app: &TestApp, acct: &str, schedule: Value) {
    let res = app
        .post(
            &format!("/v1/accounts/{acct}/payout_settings"),
            json!({"schedule": schedule}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

async fn run(app: &TestApp, as_of: &str) -> Value {
    let res = app
        .post("/v1/test_helpers/payouts/run", json!({"as_of": as_of}))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

/// (account, amount, arrival_date) of each payout a run created.
fn created(run: &Value) -> Vec<(String, i64, String)> {
    let mut v: Vec<(String, i64, String)> = run["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["account"].as_str().unwrap().to_owned(),
                p["amount"].as_i64().unwrap(),
                p["arrival_date"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn schedules_pay_out_daily_weekly_and_monthly_around_month_ends_and_holidays() {
    let app = spawn_app_with(no_worker).await;
    let daily = verified_seller(&app, "SE7280000810340009783242").await;
    let weekly = verified_seller(&app, "SE3550000000054910000003").await;
    let monthly = verified_seller(&app, "SE4550000000058398257466").await;
    set_schedule(&app, &daily, json!({"interval": "daily"})).await;
    set_schedule(
        &app,
        &weekly,
        json!({"interval": "weekly", "weekly_anchor": "friday"}),
    )
    .await;
    set_schedule(
        &app,
        &monthly,
        json!({"interval": "monthly", "monthly_anchor": 31}),
    )
    .await;
    for bad in [
        json!({"interval": "weekly", "weekly_anchor": "saturday"}),
        json!({"interval": "weekly"}),
        json!({"interval": "monthly", "monthly_anchor": 32}),
        json!({"interval": "hourly"}),
        json!({"interval": "daily", "delay_days": 400}),
    ] {
        let res = app
            .post(
                &format!("/v1/accounts/{daily}/payout_settings"),
                json!({"schedule": bad}),
            )
            .await;
        res.error(400, "invalid_request_error");
    }
    for bad in ["2026-02-30", "1999-12-31", "tomorrow"] {
        let res = app
            .post("/v1/test_helpers/payouts/run", json!({"as_of": bad}))
            .await;
        assert_eq!(res.error(400, "invalid_request_error")["param"], "as_of");
    }
    let live = app
        .send(
            Method::POST,
            "/v1/test_helpers/payouts/run",
            Some(json!({})),
            &app.live_key,
            &[],
        )
        .await;
    live.error(404, "invalid_request_error");
    let settings = app
        .get(&format!("/v1/accounts/{daily}/payout_settings"))
        .await
        .body;
    assert_eq!(settings["schedule"]["interval"], "daily", "{settings}");
    for acct in [&daily, &weekly, &monthly] {
        charge_settled(&app, acct, 10_000).await;
    }

    // A dry run reports and changes nothing.
    let dry = app
        .post(
            "/v1/test_helpers/payouts/run",
            json!({"as_of": "2026-11-30", "dry_run": true}),
        )
        .await
        .body;
    assert_eq!(dry["planned"].as_array().unwrap().len(), 2, "{dry:#}");
    assert_eq!(payout_count(&app).await, 0);

    // Monday 30 November 2026: a business day, and the last of the month (anchor 31 falls
    // back to the 30th). SEPA before the cut-off arrives the next TARGET2 business day.
    let r = run(&app, "2026-11-30").await;
    assert_eq!(
        created(&r),
        {
            let mut v = vec![
                (daily.clone(), 10_000, "2026-12-01".to_owned()),
                (monthly.clone(), 10_000, "2026-12-01".to_owned()),
            ];
            v.sort();
            v
        },
        "{r:#}"
    );
    // The run put them in a SEPA batch file.
    assert_eq!(r["batches"].as_array().unwrap().len(), 1, "{r:#}");
    let batch = &r["batches"][0];
    assert_eq!(batch["rail"], "sepa");
    assert_eq!(batch["entry_count"], 2);
    assert_eq!(batch["total"], 20_000);
    verify(&app).await;
    // The same day again: nothing new.
    charge_settled(&app, &daily, 2_000).await;
    let r = run(&app, "2026-11-30").await;
    assert_eq!(created(&r), vec![], "{r:#}");
    assert_eq!(r["already_created"], 1, "{r:#}");

    // Thursday 24 December: the weekly anchor, Friday 25th, is a TARGET2 holiday, so the
    // weekly payout moves back to Thursday. Arrival skips the 25th, 26th and the weekend.
    for acct in [&weekly, &monthly] {
        charge_settled(&app, acct, 5_000).await;
    }
    let r = run(&app, "2026-12-24").await;
    let mut want = vec![
        (daily.clone(), 2_000, "2026-12-28".to_owned()),
        (weekly.clone(), 15_000, "2026-12-28".to_owned()),
    ];
    want.sort();
    assert_eq!(created(&r), want, "{r:#}");
    verify(&app).await;
    // Reconciliation: the daily payout swept the 20.00 charge made since the last one.
    let daily_po = r["created"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["account"] == daily.as_str())
        .unwrap();
    let rows = app
        .get(&format!("/v1/balance_transactions?payout={}", id(daily_po)))
        .await
        .body;
    let mut moved: Vec<(String, i64)> = rows["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["type"].as_str().unwrap().to_owned(),
                b["net"].as_i64().unwrap(),
            )
        })
        .collect();
    moved.sort();
    assert_eq!(
        moved,
        [("charge".to_owned(), 2_000), ("payout".to_owned(), -2_000)],
        "{rows:#}"
    );
    let csv = app
        .get(&format!("/v1/payouts/{}/reconciliation.csv", id(daily_po)))
        .await;
    assert_eq!(
        csv.body.as_str().unwrap().lines().count(),
        3,
        "{}",
        csv.body
    );

    // Friday 25 December: a holiday, nobody is paid.
    charge_settled(&app, &daily, 3_000).await;
    let r = run(&app, "2026-12-25").await;
    assert_eq!(created(&r), vec![], "{r:#}");

    // Thursday 31 December: month end; 1 January is a holiday and then a weekend.
    let r = run(&app, "2026-12-31").await;
    let mut want = vec![
        (daily.clone(), 3_000, "2027-01-04".to_owned()),
        (monthly.clone(), 5_000, "2027-01-04".to_owned()),
    ];
    want.sort();
    assert_eq!(created(&r), want, "{r:#}");
    verify(&app).await;
    for acct in [&daily, &weekly, &monthly] {
        assert_eq!(available(&app, acct).await, 0);
    }

    // Batches: listed, the file downloads, and it can be marked sent once.
    let batches = app.get("/v1/payout_batches").await.body;
    let list = batches["data"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{batches:#}");
    let pob = id(&list[0]);
    let file = app.get(&format!("/v1/payout_batches/{pob}/file")).await;
    assert_eq!(file.status, 200);
    let xml = file.body.as_str().unwrap();
    save_sample(&app, &list[0], xml).await;
    assert!(
        xml.contains("urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"),
        "{xml}"
    );
    let seller_view = app
        .send(
            Method::GET,
            &format!("/v1/payout_batches/{pob}/file"),
            None,
            &app.test_key,
            &[("Agora-Account", daily.as_str())],
        )
        .await;
    seller_view.error(403, "permission_error");
    let sent = app
        .post(&format!("/v1/payout_batches/{pob}/mark_sent"), json!({}))
        .await;
    assert_eq!(sent.body["status"], "sent", "{}", sent.body);
    let again = app
        .post(&format!("/v1/payout_batches/{pob}/mark_sent"), json!({}))
        .await;
    again.error(400, "invalid_request_error");
    let in_transit = app
        .get("/v1/payouts?status=in_transit&limit=100")
        .await
        .body;
    assert_eq!(
        in_transit["data"].as_array().unwrap().len(),
        6,
        "{in_transit:#}"
    );

    // A paused account is skipped by the run and refused manual payouts.
    let res = app
        .post(
            &format!("/v1/accounts/{daily}/payout_settings"),
            json!({"paused": true}),
        )
        .await;
    assert_eq!(res.body["paused"], true);
    charge_settled(&app, &daily, 1_000).await;
    let r = run(&app, "2027-01-04").await;
    assert_eq!(created(&r), vec![], "{r:#}");
    // The sent batch's payouts arrive on 4 January: paid. The others' files were never sent.
    let mut paid: Vec<i64> = r["paid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_i64().unwrap())
        .collect();
    paid.sort();
    assert_eq!(paid, [3_000, 5_000], "{r:#}");
    let in_transit = app
        .get("/v1/payouts?status=in_transit&limit=100")
        .await
        .body;
    assert_eq!(
        in_transit["data"].as_array().unwrap().len(),
        4,
        "{in_transit:#}"
    );
    let refused = app
        .post(
            "/v1/payouts",
            json!({"amount": 1_000, "currency": "eur", "account": daily}),
        )
        .await;
    assert_eq!(
        refused.error(400, "invalid_request_error")["code"],
        "account_payouts_paused"
    );
    verify(&app).await;
}

#[tokio::test]
async fn two_runs_at_once_create_each_payout_once() {
    let app = spawn_app_with(no_worker).await;
    let ibans = [
        "SE7280000810340009783242",
        "SE3550000000054910000003",
        "SE4550000000058398257466",
    ];
    let mut sellers = Vec::new();
    for iban in ibans {
        let acct = verified_seller(&app, iban).await;
        set_schedule(&app, &acct, json!({"interval": "daily"})).await;
        charge_settled(&app, &acct, 7_000).await;
        sellers.push(acct);
    }
    let body = json!({"as_of": "2026-12-01"});
    let (a, b, c) = tokio::join!(
        app.post("/v1/test_helpers/payouts/run", body.clone()),
        app.post("/v1/test_helpers/payouts/run", body.clone()),
        app.post("/v1/test_helpers/payouts/run", body.clone()),
    );
    for r in [&a, &b, &c] {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let made: usize = [&a, &b, &c]
        .iter()
        .map(|r| r.body["created"].as_array().unwrap().len())
        .sum();
    assert_eq!(made, 3, "{}\n{}\n{}", a.body, b.body, c.body);
    let list = app.get("/v1/payouts?limit=100").await.body;
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 3, "{list:#}");
    for acct in &sellers {
        assert_eq!(available(&app, acct).await, 0);
        assert_eq!(
            data.iter()
                .filter(|p| p["account"] == acct.as_str())
                .count(),
            1
        );
    }
    verify(&app).await;
}

#[tokio::test]
async fn a_status_report_fails_and_pays_batched_payouts() {
    let app = spawn_app_with(no_worker).await;
    let a = verified_seller(&app, "SE7280000810340009783242").await;
    let b = verified_seller(&app, "SE3550000000054910000003").await;
    for acct in [&a, &b] {
        set_schedule(&app, acct, json!({"interval": "daily"})).await;
        charge_settled(&app, acct, 3_000).await;
    }
    let r = run(&app, "2026-12-01").await;
    let payouts = r["created"].as_array().unwrap().clone();
    assert_eq!(payouts.len(), 2, "{r:#}");
    let e2e = |p: &Value| {
        let uuid = agora_platform::infra::wire::ids::decode(
            agora_platform::infra::wire::ids::IdKind::Payout,
            p["id"].as_str().unwrap(),
        )
        .unwrap();
        uuid.simple().to_string().to_uppercase()
    };
    let (first, second) = (&payouts[0], &payouts[1]);
    let report = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>STS1</MsgId><CreDtTm>2026-12-02T09:00:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts><OrgnlMsgId>X</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId></OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>X</OrgnlPmtInfId>
      <TxInfAndSts><OrgnlEndToEndId>{}</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts>
      <TxInfAndSts><OrgnlEndToEndId>{}</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>"#,
        e2e(first),
        e2e(second)
    );
    let config = app.config.clone();
    let imported =
        agora_platform::domain::payouts::import(&app.db, &config, &sealer(&config), false, &report)
            .await
            .unwrap();
    assert_eq!(imported.failed.len(), 1, "{imported:?}");
    assert_eq!(imported.paid.len(), 1, "{imported:?}");
    let failed = app.get(&format!("/v1/payouts/{}", id(first))).await.body;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_code"], "account_closed");
    let failed_seller = failed["account"].as_str().unwrap();
    assert_eq!(available(&app, failed_seller).await, 3_000);
    let paid = app.get(&format!("/v1/payouts/{}", id(second))).await.body;
    assert_eq!(paid["status"], "paid");
    // The same file again changes nothing.
    let again =
        agora_platform::domain::payouts::import(&app.db, &config, &sealer(&config), false, &report)
            .await
            .unwrap();
    assert!(
        again.failed.is_empty() && again.paid.is_empty(),
        "{again:?}"
    );
    assert_eq!(available(&app, failed_seller).await, 3_000);
    verify(&app).await;
}

/// The smallest valid PNG: a 1×1 pixel (an identity document the test mode accepts).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\xa7\xa5\x9b\x8f\0\0\0\0IEND\xaeB`\x82";

async fn update_account(app: &TestApp, acct: &str, body: Value) {
    let res = app.post(&format!("/v1/accounts/{acct}"), body).await;
    assert_eq!(res.status, 200, "{}", res.body);
}

async fn add_bank(app: &TestApp, acct: &str, body: Value) {
    let res = app
        .post(&format!("/v1/accounts/{acct}/external_accounts"), body)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

async fn charge(app: &TestApp, acct: &str, amount: i64, currency: &str) {
    let res = app
        .post(
            "/v1/charges",
            json!({"amount": amount, "currency": currency, "destination": acct, "payment_method": "pm_card_visa"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .post("/v1/test_helpers/advance_clock", json!({"seconds": 1}))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

async fn balance_in(app: &TestApp, acct: &str, currency: &str) -> i64 {
    let res = app
        .send(
            Method::GET,
            "/v1/balance",
            None,
            &app.test_key,
            &[("Agora-Account", acct)],
        )
        .await;
    res.body["available"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["currency"] == currency)
        .map_or(0, |a| a["amount"].as_i64().unwrap())
}

async fn us_seller(app: &TestApp) -> String {
    let acct = id(&app
        .create_seller(json!({
            "country": "US", "settlement_delay_days": 0,
            "individual": {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com", "dob": "1985-07-09", "ssn_last_4": "6789"},
        }))
        .await);
    update_account(
        app,
        &acct,
        json!({"individual": {
            "id_number": "123-45-6789", "phone": "+14155550123",
            "address": {"line1": "1 Market St", "city": "San Francisco", "state": "CA", "postal_code": "94105"}
        }}),
    )
    .await;
    add_bank(
        app,
        &acct,
        json!({"country": "US", "currency": "usd", "routing_number": "110000000", "account_number": "000123456789", "account_holder_name": "Jane Doe"}),
    )
    .await;
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(account["payouts_enabled"], true, "{account:#}");
    acct
}

async fn gb_seller(app: &TestApp) -> String {
    let acct = id(&app
        .create_seller(json!({"country": "GB", "settlement_delay_days": 0}))
        .await);
    let form = reqwest::multipart::Form::new()
        .text("purpose", "identity_document")
        .part(
            "file",
            reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("passport.png"),
        );
    let file: Value = app
        .client
        .post(format!("{}/v1/files", app.address))
        .bearer_auth(&app.test_key)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    update_account(
        app,
        &acct,
        json!({"individual": {
            "phone": "+447700900123",
            "address": {"line1": "10 Downing Street", "city": "London", "postal_code": "SW1A 2AA"},
            "verification": {"document": id(&file)},
        }}),
    )
    .await;
    add_bank(
        app,
        &acct,
        json!({"country": "GB", "currency": "gbp", "sort_code": "20-00-00", "account_number": "55779911", "account_holder_name": "Oliver Smith"}),
    )
    .await;
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(account["payouts_enabled"], true, "{account:#}");
    acct
}

#[tokio::test]
async fn ach_and_bacs_payouts_get_bank_files_instant_ones_a_fee_and_a_nacha_return_fails_one() {
    let app = spawn_app_with(no_worker).await;
    let us = us_seller(&app).await;
    let gb = gb_seller(&app).await;
    charge(&app, &us, 10_000, "usd").await;
    charge(&app, &gb, 10_000, "gbp").await;

    let ach = app
        .post(
            "/v1/payouts",
            json!({"amount": 10_000, "currency": "usd", "account": us}),
        )
        .await;
    assert_eq!(ach.status, 200, "{}", ach.body);
    assert_eq!(ach.body["rail"], "ach");
    // Instant over ACH does not exist.
    charge(&app, &us, 1_000, "usd").await;
    let refused = app
        .post(
            "/v1/payouts",
            json!({"amount": 1_000, "currency": "usd", "account": us, "method": "instant"}),
        )
        .await;
    assert_eq!(
        refused.error(400, "invalid_request_error")["code"],
        "instant_unsupported"
    );

    // Instant to a UK account: Faster Payments, same day, 1 % fee on top.
    let instant = app
        .post(
            "/v1/payouts",
            json!({"amount": 5_000, "currency": "gbp", "account": gb, "method": "instant"}),
        )
        .await;
    assert_eq!(instant.status, 200, "{}", instant.body);
    assert_eq!(instant.body["rail"], "uk_faster_payments");
    assert_eq!(instant.body["fee"], 50);
    assert_eq!(balance_in(&app, &gb, "gbp").await, 4_950);
    // What is left, by Bacs; one penny more than is left is refused.
    let over = app
        .post(
            "/v1/payouts",
            json!({"amount": 4_951, "currency": "gbp", "account": gb}),
        )
        .await;
    assert_eq!(
        over.error(400, "invalid_request_error")["code"],
        "balance_insufficient"
    );
    let bacs = app
        .post(
            "/v1/payouts",
            json!({"amount": 4_950, "currency": "gbp", "account": gb}),
        )
        .await;
    assert_eq!(bacs.status, 200, "{}", bacs.body);
    assert_eq!(bacs.body["rail"], "uk_bacs");
    verify(&app).await;

    // The run puts standard payouts into one file per rail; instant ones are not batched.
    let r = run(&app, "2026-12-01").await;
    let mut rails: Vec<&str> = r["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["rail"].as_str().unwrap())
        .collect();
    rails.sort();
    assert_eq!(rails, ["ach", "uk_bacs"], "{r:#}");
    let batch_of = |rail: &str| {
        id(r["batches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["rail"] == rail)
            .unwrap())
    };
    let nacha = app
        .get(&format!("/v1/payout_batches/{}/file", batch_of("ach")))
        .await;
    let nacha = nacha.body.as_str().unwrap().to_owned();
    let ach_batch = r["batches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["rail"] == "ach")
        .unwrap()
        .clone();
    save_sample(&app, &ach_batch, &nacha).await;
    assert!(nacha.starts_with("101"), "{nacha}");
    assert!(nacha.lines().all(|l| l.len() == 94), "{nacha}");
    let std18 = app
        .get(&format!("/v1/payout_batches/{}/file", batch_of("uk_bacs")))
        .await;
    assert!(
        std18.body.as_str().unwrap().starts_with("VOL1"),
        "{}",
        std18.body
    );
    let ach_po = app
        .get(&format!("/v1/payouts/{}", id(&ach.body)))
        .await
        .body;
    assert_eq!(ach_po["status"], "in_transit");
    assert_eq!(ach_po["batch"], batch_of("ach"));
    let instant_po = app
        .get(&format!("/v1/payouts/{}", id(&instant.body)))
        .await
        .body;
    assert_eq!(instant_po["status"], "pending");
    // A second ACH file the same day gets the next file id modifier.
    let more = app
        .post(
            "/v1/payouts",
            json!({"amount": 1_000, "currency": "usd", "account": us}),
        )
        .await;
    assert_eq!(more.status, 200, "{}", more.body);
    let r2 = run(&app, "2026-12-01").await;
    let second = id(&r2["batches"][0]);
    let nacha2 = app.get(&format!("/v1/payout_batches/{second}/file")).await;
    let header = nacha2
        .body
        .as_str()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(&nacha[33..34], "A", "{nacha}");
    assert_eq!(&header[33..34], "B", "{header}");
    // Two runs batching at the same moment (several instances) would both count one earlier
    // file; the database refuses the second "B" and that run takes the next number.
    {
        use agora_platform::domain::payouts::entity::payout_batch;
        use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
        let second_uuid = agora_platform::infra::wire::ids::decode(
            agora_platform::infra::wire::ids::IdKind::PayoutBatch,
            &second,
        )
        .unwrap();
        let row = payout_batch::Entity::find_by_id(second_uuid)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.file_seq, Some(2));
        let mut twin = row.clone().into_active_model();
        twin.id = Set(uuid::Uuid::now_v7());
        twin.file_name = Set("twin.ach".to_owned());
        let refused = twin.insert(&app.db).await.unwrap_err();
        assert!(
            matches!(
                refused.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ),
            "{refused:?}"
        );
    }

    // The bank returns the ACH credit (R02, account closed): a return file made from the
    // entry we sent, with its addenda.
    let entry = nacha.lines().find(|l| l.starts_with('6')).unwrap();
    let mut returned = entry.to_owned();
    returned.replace_range(78..79, "1");
    let trace = &entry[79..94];
    let addenda = format!(
        "799R02{trace}{:6}{}{:<44}{trace}",
        "",
        &entry[3..11],
        "ACCOUNT CLOSED"
    );
    assert_eq!(addenda.len(), 94);
    let file = format!("{returned}\n{addenda}\n");
    let imported = agora_platform::domain::payouts::import(
        &app.db,
        &app.config,
        &sealer(&app.config),
        false,
        &file,
    )
    .await
    .unwrap();
    assert_eq!(imported.failed.len(), 1, "{imported:?}");
    let failed = app
        .get(&format!("/v1/payouts/{}", id(&ach.body)))
        .await
        .body;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_code"], "account_closed");
    assert_eq!(balance_in(&app, &us, "usd").await, 10_000);
    let account = app.get(&format!("/v1/accounts/{us}")).await.body;
    assert_eq!(account["payouts_enabled"], false);
    verify(&app).await;
}

const ECB_RATES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/payouts/tests/fixtures/eurofxref-daily.xml"
));

#[tokio::test]
async fn a_usd_balance_is_paid_to_a_eur_account_at_the_ecb_rate_less_the_markup() {
    let app = spawn_app_with(no_worker).await;
    let acct = verified_seller(&app, "SE7280000810340009783242").await;
    charge(&app, &acct, 10_000, "usd").await;
    let bank = app
        .get(&format!("/v1/accounts/{acct}/external_accounts"))
        .await
        .body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"amount": 10_000, "currency": "usd", "account": acct, "destination": bank});
    // No rates yet: refused, nothing moves.
    let res = app.post("/v1/payouts", body.clone()).await;
    assert_eq!(
        res.error(400, "invalid_request_error")["code"],
        "fx_rate_unavailable"
    );
    assert_eq!(balance_in(&app, &acct, "usd").await, 10_000);

    // Rates older than a week are not used: the fixture's day becomes today.
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let rates = ECB_RATES.replace("2026-11-24", &today);
    let day = agora_platform::domain::payouts::fx::import_ecb(&app.db, &rates)
        .await
        .unwrap();
    assert!(day.rates.len() > 20);
    let res = app.post("/v1/payouts", body).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let po = res.body;
    // 1 USD = 1 / 1.0842 EUR = 0.9223390518 (cut at 10 decimals); less 0.5 %:
    // 100.00 USD × 0.9223390518 × 0.995 = 91.7727… EUR, rounded down.
    assert_eq!(po["currency"], "eur");
    assert_eq!(po["amount"], 9_177);
    assert_eq!(po["source_currency"], "usd");
    assert_eq!(po["source_amount"], 10_000);
    assert_eq!(po["exchange_rate"], "0.9223390518");
    assert_eq!(po["fx_markup"], "0.005");
    assert_eq!(po["rail"], "sepa");
    assert_eq!(balance_in(&app, &acct, "usd").await, 0);
    verify(&app).await;

    // A failure gives back the dollars that left, whatever the rate does meanwhile.
    let res = app
        .post(
            &format!("/v1/test_helpers/payouts/{}/fail", id(&po)),
            json!({"failure_code": "could_not_process"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(balance_in(&app, &acct, "usd").await, 10_000);
    assert_eq!(balance_in(&app, &acct, "eur").await, 0);
    verify(&app).await;
}

#[tokio::test]
async fn a_schedule_delay_keeps_recent_funds_back_until_they_are_old_enough() {
    let app = spawn_app_with(no_worker).await;
    let acct = verified_seller(&app, "SE7280000810340009783242").await;
    set_schedule(&app, &acct, json!({"interval": "daily", "delay_days": 1})).await;
    // Move the test clock to Monday 1 March 2027, 09:00 UTC (a TARGET2 business day).
    let target = chrono::DateTime::parse_from_rfc3339("2027-03-01T09:00:00Z").unwrap();
    let now = app
        .post("/v1/test_helpers/advance_clock", json!({"seconds": 1}))
        .await
        .body;
    let now = chrono::DateTime::parse_from_rfc3339(now["now"].as_str().unwrap()).unwrap();
    let seconds = (target - now).num_seconds();
    let res = app
        .post(
            "/v1/test_helpers/advance_clock",
            json!({"seconds": seconds}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    charge_settled(&app, &acct, 10_000).await;
    // At 10:00 the same day the funds are an hour old: kept back.
    let r = run(&app, "2027-03-01").await;
    assert_eq!(created(&r), vec![], "{r:#}");
    // The next day they are more than a day old.
    let r = run(&app, "2027-03-02").await;
    assert_eq!(
        created(&r),
        vec![(acct.clone(), 10_000, "2027-03-03".to_owned())],
        "{r:#}"
    );
    verify(&app).await;
}

#[tokio::test]
async fn the_schedule_is_also_an_account_setting() {
    let app = spawn_app_with(no_worker).await;
    let acct = verified_seller(&app, "SE7280000810340009783242").await;
    let res = app
        .post(
            &format!("/v1/accounts/{acct}"),
            json!({"settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "friday", "delay_days": 2}}}}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.body["settings"]["payouts"],
        json!({"schedule": {"interval": "weekly", "weekly_anchor": "friday", "monthly_anchor": null, "delay_days": 2}, "paused": false})
    );
    // The same settings as the dedicated endpoint, which the payout run reads.
    let settings = app
        .get(&format!("/v1/accounts/{acct}/payout_settings"))
        .await
        .body;
    assert_eq!(settings["schedule"]["interval"], "weekly");
    assert_eq!(settings["schedule"]["weekly_anchor"], "friday");
    // The change is an account.updated with the old settings.
    let events = app
        .get("/v1/events?type=account.updated&limit=1")
        .await
        .body;
    assert_eq!(
        events["data"][0]["data"]["previous_attributes"]["settings"]["payouts"]["schedule"]
            ["interval"],
        "manual",
        "{events:#}"
    );
    // A bad anchor names its full path and changes nothing.
    let bad = app
        .post(
            &format!("/v1/accounts/{acct}"),
            json!({"settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "sunday"}}}, "metadata": {"k": "v"}}),
        )
        .await;
    assert_eq!(
        bad.error(400, "invalid_request_error")["param"],
        "settings.payouts.schedule.weekly_anchor"
    );
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(
        account["settings"]["payouts"]["schedule"]["weekly_anchor"],
        "friday"
    );
    assert_eq!(account["metadata"], json!({}));
    // Pausing is the platform's: a seller acting on itself cannot resume its own payouts.
    let own = app
        .send(
            Method::POST,
            &format!("/v1/accounts/{acct}"),
            Some(json!({"settings": {"payouts": {"paused": false}}})),
            &app.test_key,
            &[("Agora-Account", acct.as_str())],
        )
        .await;
    own.error(403, "permission_error");
    let paused = app
        .post(
            &format!("/v1/accounts/{acct}"),
            json!({"settings": {"payouts": {"paused": true}}}),
        )
        .await;
    assert_eq!(paused.body["settings"]["payouts"]["paused"], true);
    charge_settled(&app, &acct, 5_000).await;
    let refused = app
        .post(
            "/v1/payouts",
            json!({"amount": 1000, "currency": "eur", "account": acct}),
        )
        .await;
    assert_eq!(
        refused.error(400, "invalid_request_error")["code"],
        "account_payouts_paused"
    );
}

/// The app's sealer (its key is in the data dir), for calling the payout module directly.
fn sealer(config: &agora_platform::infra::config::Config) -> agora_onboarding::seal::Sealer {
    agora_platform::domain::kyc::Runtime::load(config)
        .unwrap()
        .sealer
}

#[tokio::test]
async fn a_scheduled_run_converts_a_balance_without_its_own_bank_account() {
    let app = spawn_app_with(no_worker).await;
    // The seller's only bank account takes euros; it also sells in dollars.
    let acct = verified_seller(&app, "SE7280000810340009783242").await;
    set_schedule(&app, &acct, json!({"interval": "daily"})).await;
    charge(&app, &acct, 10_000, "usd").await;
    charge_settled(&app, &acct, 5_000).await;
    let usd = balance_in(&app, &acct, "usd").await;
    let eur = balance_in(&app, &acct, "eur").await;
    assert!(usd > 0 && eur > 0, "{usd} {eur}");

    // No rates yet: the euros go, the dollars wait (an error the run reports), nothing lost.
    let first = run(&app, "2026-12-01").await;
    assert_eq!(created(&first).len(), 1, "{first:#}");
    assert_eq!(first["created"][0]["currency"], "eur");
    assert_eq!(first["created"][0]["amount"], eur);
    assert_eq!(first["errors"], 1, "{first:#}");
    assert_eq!(balance_in(&app, &acct, "usd").await, usd);
    verify(&app).await;

    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    agora_platform::domain::payouts::fx::import_ecb(
        &app.db,
        &ECB_RATES.replace("2026-11-24", &today),
    )
    .await
    .unwrap();
    // The same day again: the euros are paid already; the dollars are converted, as a payout
    // of their own for the same period (its key names the source currency).
    let second = run(&app, "2026-12-01").await;
    assert_eq!(created(&second).len(), 1, "{second:#}");
    assert_eq!(
        second["planned"][0]["period"], "2026-12-01:usd",
        "{second:#}"
    );
    let po = &second["created"][0];
    assert_eq!(po["currency"], "eur");
    assert_eq!(po["source_currency"], "usd");
    assert_eq!(po["source_amount"], usd);
    assert_eq!(po["exchange_rate"], "0.9223390518");
    assert_eq!(po["fx_markup"], "0.005");
    // usd × 0.9223390518 × (1 − 0.005), rounded down to the cent, in integers.
    let expected = i128::from(usd) * 9_223_390_518 * 995 / (10_000_000_000 * 1_000);
    assert_eq!(
        i128::from(po["amount"].as_i64().unwrap()),
        expected,
        "{po:#}"
    );
    assert_eq!(po["automatic"], true);
    assert_eq!(balance_in(&app, &acct, "usd").await, 0);

    // And once more: both exist, nothing is paid twice.
    let third = run(&app, "2026-12-01").await;
    assert_eq!(created(&third).len(), 0, "{third:#}");
    assert_eq!(payout_count(&app).await, 2);
    verify(&app).await;
}

#[tokio::test]
async fn each_currency_has_its_own_minimum_payout() {
    let app = spawn_app_with(|c| {
        no_worker(c);
        // 100.00 EUR; other currencies keep payout_minimum_major (1 unit).
        c.payout_minimums.insert("eur".to_owned(), 10_000);
    })
    .await;
    let acct = verified_seller(&app, "SE7280000810340009783242").await;
    set_schedule(&app, &acct, json!({"interval": "daily"})).await;
    charge_settled(&app, &acct, 6_000).await;
    let small = available(&app, &acct).await;
    assert!(small < 10_000, "{small}");

    let refused = app
        .post(
            "/v1/payouts",
            json!({"amount": small, "currency": "eur", "account": acct}),
        )
        .await;
    let error = refused.error(400, "invalid_request_error");
    assert_eq!(error["code"], "amount_too_small");
    assert_eq!(error["param"], "amount");
    assert!(
        error["message"].as_str().unwrap().contains("100.00"),
        "{error}"
    );
    // The run leaves a balance below the minimum where it is.
    let first = run(&app, "2026-12-01").await;
    assert_eq!(created(&first).len(), 0, "{first:#}");
    assert_eq!(available(&app, &acct).await, small);

    charge_settled(&app, &acct, 6_000).await;
    let enough = available(&app, &acct).await;
    assert!(enough >= 10_000, "{enough}");
    let second = run(&app, "2026-12-02").await;
    assert_eq!(created(&second).len(), 1, "{second:#}");
    assert_eq!(second["created"][0]["amount"], enough);
    verify(&app).await;
}

async fn dry_run(app: &TestApp, as_of: &str) -> Value {
    let res = app
        .post(
            "/v1/test_helpers/payouts/run",
            json!({"as_of": as_of, "dry_run": true}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

/// The run's skips of one seller: (currency, reason, message).
fn skips_of(run: &Value, acct: &str) -> Vec<(Value, String, String)> {
    run["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["account"] == acct)
        .map(|s| {
            (
                s["currency"].clone(),
                s["reason"].as_str().unwrap().to_owned(),
                s["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_run_on_a_day_that_is_not_a_payout_day_says_so_and_names_the_next() {
    let app = spawn_app_with(no_worker).await;
    let acct = verified_seller(&app, "SE7280000810340009783242").await;
    set_schedule(
        &app,
        &acct,
        json!({"interval": "weekly", "weekly_anchor": "friday"}),
    )
    .await;
    charge_settled(&app, &acct, 5_000).await;

    // Tuesday 1 December 2026: the dry run plans nothing and says why.
    let tuesday = dry_run(&app, "2026-12-01").await;
    assert_eq!(tuesday["planned"], json!([]), "{tuesday:#}");
    assert_eq!(tuesday["skipped_total"], 1, "{tuesday:#}");
    let skip = &tuesday["skipped"][0];
    assert_eq!(skip["account"], acct.as_str());
    assert_eq!(skip["currency"], "eur");
    assert_eq!(skip["available"], 5_000);
    assert_eq!(skip["reason"], "not_a_payout_day");
    let message = skip["message"].as_str().unwrap();
    assert!(
        message.contains("weekly on friday") && message.contains("the next is 2026-12-04"),
        "{message}"
    );
    // The real run says the same, and pays nothing.
    let real = run(&app, "2026-12-01").await;
    assert_eq!(created(&real).len(), 0, "{real:#}");
    assert_eq!(skips_of(&real, &acct)[0].1, "not_a_payout_day");
    assert_eq!(available(&app, &acct).await, 5_000);

    // On Friday it is planned, then paid, and not skipped.
    let friday = dry_run(&app, "2026-12-04").await;
    assert_eq!(friday["planned"][0]["amount"], 5_000, "{friday:#}");
    assert_eq!(friday["skipped"], json!([]), "{friday:#}");
    let paid = run(&app, "2026-12-04").await;
    assert_eq!(created(&paid).len(), 1, "{paid:#}");
    // Money that arrives later the same week waits for next Friday: this week's is made.
    charge_settled(&app, &acct, 2_000).await;
    let again = run(&app, "2026-12-04").await;
    assert_eq!(created(&again).len(), 0, "{again:#}");
    assert_eq!(again["already_created"], 1);
    let skips = skips_of(&again, &acct);
    assert_eq!(skips.len(), 1, "{again:#}");
    assert_eq!(skips[0].1, "already_paid_this_period");
    assert!(skips[0].2.contains("2026-W49"), "{}", skips[0].2);
    verify(&app).await;
}

#[tokio::test]
async fn a_balance_below_the_minimum_is_named_with_both_amounts() {
    let app = spawn_app_with(|c| {
        no_worker(c);
        c.payout_minimums.insert("eur".to_owned(), 10_000);
    })
    .await;
    let acct = verified_seller(&app, "SE7280000810340009783242").await;
    set_schedule(&app, &acct, json!({"interval": "daily"})).await;
    charge_settled(&app, &acct, 6_000).await;

    for report in [
        dry_run(&app, "2026-12-01").await,
        run(&app, "2026-12-01").await,
    ] {
        assert_eq!(report["planned"], json!([]), "{report:#}");
        let skips = skips_of(&report, &acct);
        assert_eq!(skips.len(), 1, "{report:#}");
        let (currency, reason, message) = &skips[0];
        assert_eq!(currency, "eur");
        assert_eq!(reason, "below_minimum");
        assert!(
            message.contains("60.00 EUR") && message.contains("minimum payout of 100.00 EUR"),
            "{message}"
        );
    }
    assert_eq!(available(&app, &acct).await, 6_000);
}

#[tokio::test]
async fn sellers_the_run_never_pays_are_named_paused_manual_or_disabled() {
    let app = spawn_app_with(no_worker).await;
    // Paused by the platform, with money and a schedule.
    let paused = verified_seller(&app, "SE7280000810340009783242").await;
    set_schedule(&app, &paused, json!({"interval": "daily"})).await;
    let res = app
        .post(
            &format!("/v1/accounts/{paused}/payout_settings"),
            json!({"paused": true}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    charge_settled(&app, &paused, 3_000).await;
    // Money but no schedule (the default).
    let manual = verified_seller(&app, "SE3550000000054910000003").await;
    charge_settled(&app, &manual, 4_000).await;
    // A schedule, but KYC not done, and nothing to pay.
    let disabled = id(&app.create_account(json!({"country": "SE"})).await);
    set_schedule(&app, &disabled, json!({"interval": "daily"})).await;
    // A schedule and everything in order, but nothing to pay.
    let empty = verified_seller(&app, "SE4550000000058398257466").await;
    set_schedule(&app, &empty, json!({"interval": "daily"})).await;
    // No schedule, no money: nothing to say.
    let idle = verified_seller(&app, "SE7280000810340009783242").await;

    let report = dry_run(&app, "2026-12-01").await;
    assert_eq!(report["planned"], json!([]), "{report:#}");
    assert_eq!(report["skipped_total"], 4, "{report:#}");
    let paused_skips = skips_of(&report, &paused);
    assert_eq!(paused_skips.len(), 1);
    assert_eq!(paused_skips[0].0, "eur");
    assert_eq!(paused_skips[0].1, "paused");
    let manual_skips = skips_of(&report, &manual);
    assert_eq!(manual_skips[0].1, "schedule_manual");
    assert!(
        manual_skips[0].2.contains("payout_settings"),
        "{manual_skips:?}"
    );
    let disabled_skips = skips_of(&report, &disabled);
    assert_eq!(disabled_skips[0].0, Value::Null);
    assert_eq!(disabled_skips[0].1, "payouts_disabled");
    assert!(
        disabled_skips[0].2.contains("requirements.fields_needed"),
        "{disabled_skips:?}"
    );
    assert_eq!(skips_of(&report, &empty)[0].1, "no_balance");
    assert!(skips_of(&report, &idle).is_empty());
    // The real run: the same reasons, and no money moved.
    let real = run(&app, "2026-12-01").await;
    assert_eq!(created(&real).len(), 0, "{real:#}");
    assert_eq!(real["skipped"], report["skipped"]);
    assert_eq!(available(&app, &paused).await, 3_000);
}

#[tokio::test]
async fn a_currency_without_a_usable_bank_account_is_named() {
    let app = spawn_app_with(no_worker).await;
    let acct = verified_seller(&app, "SE7280000810340009783242").await;
    set_schedule(&app, &acct, json!({"interval": "daily"})).await;
    // A second euro account, not the default.
    add_bank(
        &app,
        &acct,
        json!({"country": "SE", "currency": "eur", "iban": "SE3550000000054910000003"}),
    )
    .await;
    charge_settled(&app, &acct, 5_000).await;
    // A payout to the default account fails: it is errored, the other still usable.
    let po = app
        .post(
            "/v1/payouts",
            json!({"amount": 1_000, "currency": "eur", "account": acct}),
        )
        .await;
    assert_eq!(po.status, 200, "{}", po.body);
    let failed = app
        .post(
            &format!("/v1/test_helpers/payouts/{}/fail", id(&po.body)),
            json!({}),
        )
        .await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    let account = app.get(&format!("/v1/accounts/{acct}")).await.body;
    assert_eq!(account["payouts_enabled"], true, "{account:#}");
    // Dollars, with no dollar account and no usable default to convert to.
    charge(&app, &acct, 2_000, "usd").await;

    let report = dry_run(&app, "2026-12-01").await;
    assert_eq!(report["planned"], json!([]), "{report:#}");
    let mut skips = skips_of(&report, &acct);
    skips.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
    assert_eq!(skips.len(), 2, "{report:#}");
    assert_eq!(
        (skips[0].0.as_str(), skips[0].1.as_str()),
        (Some("eur"), "bank_account_errored")
    );
    assert!(skips[0].2.contains("account_closed"), "{}", skips[0].2);
    assert_eq!(
        (skips[1].0.as_str(), skips[1].1.as_str()),
        (Some("usd"), "no_bank_account_in_currency")
    );
    assert!(
        skips[1].2.contains("no bank account for USD"),
        "{}",
        skips[1].2
    );

    // Another seller whose only bank account takes euros: its dollars would be converted,
    // and without a recent rate the dry run says so, as the real run does.
    let other = verified_seller(&app, "SE4550000000058398257466").await;
    set_schedule(&app, &other, json!({"interval": "daily"})).await;
    charge(&app, &other, 2_000, "usd").await;
    let report = dry_run(&app, "2026-12-01").await;
    let skips = skips_of(&report, &other);
    assert_eq!(skips.len(), 1, "{report:#}");
    assert_eq!(
        (skips[0].0.as_str(), skips[0].1.as_str()),
        (Some("usd"), "fx_rate_unavailable")
    );
    assert!(
        skips[0].2.contains("no bank account for USD"),
        "{}",
        skips[0].2
    );
    assert_eq!(report["errors"], 1, "{report:#}");
    let real = run(&app, "2026-12-01").await;
    assert_eq!(
        skips_of(&real, &other)[0].1,
        "fx_rate_unavailable",
        "{real:#}"
    );
    verify(&app).await;
}
