//! Writes sample bank files and calendar tables for the CI oracles (`ci/check_bank_files.py`),
//! which check them with independent tools: xmllint against the pain.001.001.09 XSD shipped by
//! the `sepaxml` package, the `carta-ach` NACHA parser, and the `holidays` package.
//!
//! Usage: `cargo run -p agora-payouts --example bank_fixtures -- OUT_DIR`
//!
//! Files written: `pain001.xml`, `nacha.txt`, `standard18.txt`, `payouts.csv`,
//! `expected.json` (counts and totals per file) and `arrival_dates.csv` (for each day of
//! 2026–2027 and each of the rails ach, sepa, uk_bacs: whether it is a business day, and the
//! standard arrival date of a payout submitted at 10:00 local time that day).

use std::error::Error;
use std::fs;
use std::path::PathBuf;

use agora_ledger::Currency;
use agora_payouts::bacs::{standard18, BacsBatch, BacsCredit, BacsOriginator};
use agora_payouts::csv_file::{csv_file, format_minor, CsvPayout};
use agora_payouts::nacha::{nacha_file, AccountType, AchEntry, AchFile, AchOriginator, SecCode};
use agora_payouts::sepa::{format_amount, pain001, SepaBatch, SepaCredit, SepaDebtor};
use agora_payouts::{arrival_date, Method, Rail};
use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::json;

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: bank_fixtures OUT_DIR")?,
    );
    fs::create_dir_all(&out)?;
    let eur = Currency::parse("EUR")?;
    let usd = Currency::parse("USD")?;
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).ok_or("invalid date");

    // SEPA: five credits, names with diacritics and characters outside the EPC set.
    let sepa_credits = [
        (
            "0192f3a4b5c67d8e9f0a1b2c3d4e5f60",
            125_050,
            "Jürgen Großmann",
            "DE89370400440532013000",
            Some("COBADEFFXXX"),
        ),
        (
            "0192f3a4b5c67d8e9f0a1b2c3d4e5f61",
            99,
            "Åsa Ørsted-Æbelø",
            "FI2112345600000785",
            None,
        ),
        (
            "0192f3a4b5c67d8e9f0a1b2c3d4e5f62",
            4_200_000,
            "Crème Brûlée & Cie <SARL>",
            "FR1420041010050500013M02606",
            Some("BNPAFRPP"),
        ),
        (
            "0192f3a4b5c67d8e9f0a1b2c3d4e5f63",
            1,
            "Łukasz Żółć",
            "NL91ABNA0417164300",
            None,
        ),
        (
            "0192f3a4b5c67d8e9f0a1b2c3d4e5f64",
            7_777,
            "Ana María Peña Ñúñez \"La Tienda\"",
            "AT611904300234573201",
            None,
        ),
    ];
    let batch = SepaBatch {
        message_id: "AGORA-20261125-0001".into(),
        created_at: Utc
            .with_ymd_and_hms(2026, 11, 25, 9, 30, 0)
            .single()
            .ok_or("invalid time")?,
        initiating_party_name: "Agora Marketplace GmbH".into(),
        payment_information_id: "AGORA-20261125-0001-1".into(),
        requested_execution_date: date(2026, 11, 26)?,
        batch_booking: true,
        debtor: SepaDebtor {
            name: "Agora Marketplace GmbH".into(),
            iban: "DE02120300000000202051".into(),
            bic: Some("BYLADEM1001".into()),
        },
        credits: sepa_credits
            .iter()
            .map(|(id, amount, name, iban, bic)| SepaCredit {
                payout_id: (*id).into(),
                amount_minor: *amount,
                currency: eur,
                creditor_name: (*name).into(),
                creditor_iban: (*iban).into(),
                creditor_bic: bic.map(Into::into),
                remittance_information: format!("Agora payout {id} – merci, danke, ¡gracias!"),
            })
            .collect(),
    };
    let sepa = pain001(&batch)?;
    fs::write(out.join("pain001.xml"), &sepa.xml)?;

    // NACHA: 8 PPD + 5 CCD entries = 19 records, so one padding record.
    let routings = [
        "021000021",
        "011000015",
        "121000358",
        "026009593",
        "011401533",
        "091000019",
        "322271627",
        "111000025",
    ];
    let entries: Vec<AchEntry> = (0..13usize)
        .map(|i| AchEntry {
            payout_id: format!("po{i:02}"),
            sec_code: if i % 3 == 0 {
                SecCode::Ccd
            } else {
                SecCode::Ppd
            },
            account_type: if i % 4 == 1 {
                AccountType::Savings
            } else {
                AccountType::Checking
            },
            routing_number: routings[i % routings.len()].into(),
            account_number: format!("{}", 100_000_000 + i * 7919),
            amount_cents: [
                1,
                99,
                1_050,
                250_000,
                12_345,
                9_999_999_999,
                500,
                77,
                123_456,
                10,
                31_415,
                2_718,
                100_000,
            ][i],
            name: [
                "José Núñez",
                "Zoë Smith",
                "Acme, Inc.",
                "Björk Guðmundsdóttir",
                "Li Wei",
            ][i % 5]
                .into(),
            reference: format!("PAYOUT {i:02}"),
        })
        .collect();
    let ach = nacha_file(&AchFile {
        originator: AchOriginator {
            immediate_destination: "021000021".into(),
            immediate_origin: "1234567890".into(),
            destination_name: "JPMorgan Chase".into(),
            origin_name: "Agora Marketplace Inc".into(),
            company_name: "Agora Marketplace".into(),
            company_id: "1234567890".into(),
            entry_description: "PAYOUT".into(),
            odfi_routing: "021000021".into(),
        },
        created_at: date(2026, 11, 25)?
            .and_hms_opt(14, 5, 0)
            .ok_or("invalid time")?,
        file_id_modifier: 'A',
        effective_entry_date: date(2026, 11, 27)?,
        entries,
    })?;
    fs::write(out.join("nacha.txt"), &ach.text)?;

    // Bacs Standard 18: four credits.
    let bacs = standard18(&BacsBatch {
        originator: BacsOriginator {
            service_user_number: "123456".into(),
            sort_code: "40-47-84".into(),
            account_number: "70872490".into(),
            name: "Agora Marketplace Ltd".into(),
        },
        created_on: date(2026, 11, 25)?,
        processing_day: date(2026, 11, 26)?,
        file_number: 1,
        credits: [
            (12_345, "Zoë O'Brien"),
            (1, "Siân Jones"),
            (99_999, "Café Ltd"),
            (500_000, "Ng & Co"),
        ]
        .iter()
        .enumerate()
        .map(|(i, (pence, name))| BacsCredit {
            payout_id: format!("po{i}"),
            sort_code: "20-00-00".into(),
            account_number: format!("5577991{i}"),
            amount_pence: *pence,
            name: (*name).into(),
            reference: format!("AGORA PAYOUT {i}"),
        })
        .collect(),
    })?;
    fs::write(out.join("standard18.txt"), &bacs.text)?;

    // CSV for another rail, three currencies with different exponents.
    let csv_rows = vec![
        CsvPayout {
            payout_id: "po1".into(),
            account_id: "acct1".into(),
            name: "Tanaka Hanako".into(),
            country: "JP".into(),
            currency: Currency::parse("JPY")?,
            amount_minor: 150_000,
            iban: None,
            account_number: Some("1234567".into()),
            routing_code: Some("0001-001".into()),
            reference: "Agora payout".into(),
            arrival_date: date(2026, 11, 27)?,
        },
        CsvPayout {
            payout_id: "po2".into(),
            account_id: "acct2".into(),
            name: "Al-Sabah Trading, \"KW\"".into(),
            country: "KW".into(),
            currency: Currency::parse("KWD")?,
            amount_minor: 1_050,
            iban: Some("KW81CBKU0000000000001234560101".into()),
            account_number: None,
            routing_code: None,
            reference: "=1+1".into(),
            arrival_date: date(2026, 11, 27)?,
        },
        CsvPayout {
            payout_id: "po3".into(),
            account_id: "acct3".into(),
            name: "Müller AG".into(),
            country: "CH".into(),
            currency: Currency::parse("CHF")?,
            amount_minor: 99_995,
            iban: Some("CH9300762011623852957".into()),
            account_number: None,
            routing_code: None,
            reference: "Agora payout".into(),
            arrival_date: date(2026, 11, 27)?,
        },
    ];
    let csv = csv_file(&csv_rows)?;
    fs::write(out.join("payouts.csv"), &csv)?;

    let expected = json!({
        "pain001": {
            "file": "pain001.xml",
            "transactions": sepa.number_of_transactions,
            "control_sum": format_amount(sepa.control_sum_minor),
            "end_to_end_ids": sepa_credits.iter().map(|c| c.0).collect::<Vec<_>>(),
        },
        "nacha": {
            "file": "nacha.txt",
            "entries": ach.entry_count,
            "batches": ach.batch_count,
            "total_credit_cents": ach.total_credit_cents,
            "entry_hash": ach.entry_hash,
            "block_count": ach.block_count,
        },
        "standard18": {
            "file": "standard18.txt",
            "credits": bacs.credit_count,
            "total_pence": bacs.credit_total_pence,
        },
        "csv": {
            "file": "payouts.csv",
            "rows": csv_rows.len(),
            "amounts": csv_rows.iter().map(|r| format_minor(r.amount_minor, r.currency)).collect::<Vec<_>>(),
        },
        "currency": { "sepa": eur.code(), "nacha": usd.code() },
    });
    fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&expected)?,
    )?;

    // Calendars and standard arrival dates, 2026-01-01..=2027-12-31.
    let mut table = String::from("date,rail,is_business_day,arrival_date\n");
    let (first, last) = (date(2026, 1, 1)?, date(2027, 12, 31)?);
    for day in first.iter_days().take_while(|d| *d <= last) {
        for (name, rail) in [
            ("ach", Rail::Ach),
            ("sepa", Rail::Sepa),
            ("uk_bacs", Rail::UkBacs),
        ] {
            let ten = day.and_hms_opt(10, 0, 0).ok_or("invalid time")?;
            let submitted = rail
                .time_zone()
                .from_local_datetime(&ten)
                .single()
                .ok_or("10:00 local is always unambiguous")?
                .with_timezone(&Utc);
            table.push_str(&format!(
                "{day},{name},{},{}\n",
                rail.calendar().is_business_day(day),
                arrival_date(rail, Method::Standard, submitted),
            ));
        }
    }
    fs::write(out.join("arrival_dates.csv"), table)?;
    println!("wrote bank fixtures to {}", out.display());
    Ok(())
}
