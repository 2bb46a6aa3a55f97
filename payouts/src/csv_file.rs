//! A plain CSV payout file for rails without a standard bank format (`Rail::Other`), to be
//! uploaded to a bank portal or handed to a payout partner.
//!
//! Columns, in this order, with a header row:
//!
//! | column | content |
//! | --- | --- |
//! | `payout_id` | the payout's id, unchanged |
//! | `account_id` | the connected account's id |
//! | `name` | account holder name |
//! | `country` | ISO 3166 alpha-2 of the bank account |
//! | `currency` | upper-case ISO 4217 code |
//! | `amount` | decimal string with the currency's exponent: `10.50` EUR, `1050` JPY, `1.050` KWD |
//! | `iban` | IBAN when the account has one, else empty |
//! | `account_number` | domestic account number, else empty |
//! | `routing_code` | sort code, routing number, BSB, IFSC… , else empty |
//! | `reference` | statement reference |
//! | `arrival_date` | expected arrival, `YYYY-MM-DD` |
//!
//! RFC 4180 quoting (by the `csv` crate), `\n` line ends, UTF-8 (names keep their accents).
//! Text cells that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`,
//! tab or carriage return) are prefixed with `'`, so opening the file cannot run anything.

use agora_ledger::Currency;
use chrono::NaiveDate;

use crate::MAX_BATCH_ENTRIES;

/// Longest accepted text cell, in characters.
pub const MAX_CELL_CHARS: usize = 140;

pub const HEADER: [&str; 11] = [
    "payout_id",
    "account_id",
    "name",
    "country",
    "currency",
    "amount",
    "iban",
    "account_number",
    "routing_code",
    "reference",
    "arrival_date",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvPayout {
    pub payout_id: String,
    pub account_id: String,
    pub name: String,
    pub country: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub iban: Option<String>,
    pub account_number: Option<String>,
    pub routing_code: Option<String>,
    pub reference: String,
    pub arrival_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("a file needs between 1 and {MAX_BATCH_ENTRIES} payouts, not {0}")]
    BatchSize(usize),
    #[error("payout `{0}`: amount must be positive")]
    Amount(String),
    #[error("payout `{0}`: country must be two letters")]
    Country(String),
    #[error("payout `{0}`: needs an IBAN or an account number")]
    NoAccount(String),
    #[error("payout `{0}`: `{1}` is empty or longer than {MAX_CELL_CHARS} characters")]
    Cell(String, &'static str),
    #[error("CSV writer failed: {0}")]
    Write(String),
}

/// Minor units as a decimal string with the currency's exponent (`1050`, EUR → `10.50`).
pub fn format_minor(amount_minor: i64, currency: Currency) -> String {
    let exp = currency.exponent() as usize;
    let sign = if amount_minor < 0 { "-" } else { "" };
    let digits = amount_minor.unsigned_abs().to_string();
    if exp == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = exp + 1);
    let (int, frac) = padded.split_at(padded.len() - exp);
    format!("{sign}{int}.{frac}")
}

fn defuse(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

fn cell(id: &str, name: &'static str, value: &str, required: bool) -> Result<String, CsvError> {
    let v = value.trim();
    if (required && v.is_empty()) || v.chars().count() > MAX_CELL_CHARS {
        return Err(CsvError::Cell(id.chars().take(64).collect(), name));
    }
    Ok(defuse(v))
}

/// Writes the CSV file.
pub fn csv_file(payouts: &[CsvPayout]) -> Result<String, CsvError> {
    if payouts.is_empty() || payouts.len() > MAX_BATCH_ENTRIES {
        return Err(CsvError::BatchSize(payouts.len()));
    }
    let write_err = |e: csv::Error| CsvError::Write(e.to_string());
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(HEADER).map_err(write_err)?;
    for p in payouts {
        let id = p.payout_id.as_str();
        if p.amount_minor <= 0 {
            return Err(CsvError::Amount(id.to_owned()));
        }
        if p.country.len() != 2 || !p.country.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(CsvError::Country(id.to_owned()));
        }
        let opt = |name, v: &Option<String>| cell(id, name, v.as_deref().unwrap_or(""), false);
        let iban = opt("iban", &p.iban)?;
        let account = opt("account_number", &p.account_number)?;
        if iban.is_empty() && account.is_empty() {
            return Err(CsvError::NoAccount(id.to_owned()));
        }
        let record = [
            cell(id, "payout_id", id, true)?,
            cell(id, "account_id", &p.account_id, true)?,
            cell(id, "name", &p.name, true)?,
            p.country.to_ascii_uppercase(),
            p.currency.code().to_owned(),
            format_minor(p.amount_minor, p.currency),
            iban,
            account,
            opt("routing_code", &p.routing_code)?,
            cell(id, "reference", &p.reference, false)?,
            p.arrival_date.format("%Y-%m-%d").to_string(),
        ];
        w.write_record(&record).map_err(write_err)?;
    }
    let bytes = w.into_inner().map_err(|e| CsvError::Write(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| CsvError::Write(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn amounts_follow_the_exponent() {
        assert_eq!(format_minor(1050, c("EUR")), "10.50");
        assert_eq!(format_minor(5, c("USD")), "0.05");
        assert_eq!(format_minor(1050, c("JPY")), "1050");
        assert_eq!(format_minor(1050, c("KWD")), "1.050");
        assert_eq!(format_minor(7, c("KWD")), "0.007");
        assert_eq!(format_minor(-150, c("EUR")), "-1.50");
    }

    fn payout() -> CsvPayout {
        CsvPayout {
            payout_id: "po1".into(),
            account_id: "acct1".into(),
            name: "Müller, \"Hans\"".into(),
            country: "ch".into(),
            currency: c("CHF"),
            amount_minor: 123_456,
            iban: Some("CH9300762011623852957".into()),
            account_number: None,
            routing_code: None,
            reference: "=HYPERLINK(\"x\")".into(),
            arrival_date: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        }
    }

    #[test]
    fn writes_header_quotes_and_defuses_formulas() {
        let out = csv_file(&[payout()]).unwrap();
        assert_eq!(
            out,
            "payout_id,account_id,name,country,currency,amount,iban,account_number,routing_code,reference,arrival_date\n\
             po1,acct1,\"Müller, \"\"Hans\"\"\",CH,CHF,1234.56,CH9300762011623852957,,,\"'=HYPERLINK(\"\"x\"\")\",2026-11-27\n"
        );
    }

    #[test]
    fn refuses_bad_input() {
        let mut p = payout();
        p.iban = None;
        assert_eq!(csv_file(&[p]), Err(CsvError::NoAccount("po1".into())));
        let mut p = payout();
        p.amount_minor = 0;
        assert_eq!(csv_file(&[p]), Err(CsvError::Amount("po1".into())));
        let mut p = payout();
        p.name = "x".repeat(141);
        assert!(matches!(csv_file(&[p]), Err(CsvError::Cell(_, "name"))));
        assert!(matches!(csv_file(&[]), Err(CsvError::BatchSize(0))));
    }
}
