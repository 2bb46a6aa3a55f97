//! SEPA credit transfer initiation: ISO 20022 `pain.001.001.09`.
//!
//! One message with one payment information block (one debtor account, one execution date)
//! and one `CdtTrfTxInf` per payout. The payout id is both `InstrId` and `EndToEndId`, so the
//! bank's status reports (`pain.002`, see [`crate::pain002`]) and returns name the payout.
//!
//! Text follows the EPC rules for SEPA: only the basic Latin set
//! `a-z A-Z 0-9 / - ? : ( ) . , ' + space` is used. Names and remittance information are
//! transliterated and cleaned (see `text::epc`) and cut to the schema lengths (`Nm` 70,
//! `Ustrd` 140). Identifiers are never rewritten, because a rewritten id would no longer match
//! when the bank reports on it: an id outside the set (or longer than 35) is an error. The
//! output is always well-formed XML (the writer escapes, and the alphabet has no markup
//! characters besides `'`).

use std::collections::HashSet;
use std::io;

use agora_ledger::Currency;
use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use crate::iban::{normalize_bic, normalize_iban};
use crate::text;
use crate::MAX_BATCH_ENTRIES;

/// The pain.001 namespace this module writes.
pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";
/// Largest amount of one SEPA credit transfer: 999,999,999.99 EUR.
pub const MAX_AMOUNT_MINOR: i64 = 99_999_999_999;
/// `Max35Text`: message, payment information and end-to-end ids.
pub const MAX_ID_LEN: usize = 35;
/// `Max70Text`: party names.
pub const MAX_NAME_LEN: usize = 70;
/// `Max140Text`: unstructured remittance information.
pub const MAX_REMITTANCE_LEN: usize = 140;

/// The account the payouts are paid from (the platform's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SepaDebtor {
    pub name: String,
    pub iban: String,
    /// `None` writes `Othr/Id NOTPROVIDED` (IBAN-only, allowed within the EEA).
    pub bic: Option<String>,
}

/// One payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SepaCredit {
    /// Used as `InstrId` and `EndToEndId`: 1–35 characters of the EPC set, no spaces, not
    /// starting or ending with `/`, no `//` (e.g. the payout UUID in simple hex form).
    pub payout_id: String,
    /// Minor units (cents); must be EUR.
    pub amount_minor: i64,
    pub currency: Currency,
    pub creditor_name: String,
    pub creditor_iban: String,
    /// Optional within the EEA; written as `CdtrAgt/FinInstnId/BICFI` when present.
    pub creditor_bic: Option<String>,
    /// Shown on the seller's statement; omitted when empty after cleaning.
    pub remittance_information: String,
}

/// A batch of payouts for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SepaBatch {
    /// `GrpHdr/MsgId`, unique per file for the bank's duplicate check (same id rules as
    /// `payout_id`).
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    pub initiating_party_name: String,
    /// `PmtInfId` (same id rules as `payout_id`).
    pub payment_information_id: String,
    pub requested_execution_date: NaiveDate,
    /// `true`: one booking of the total on the debtor's statement.
    pub batch_booking: bool,
    pub debtor: SepaDebtor,
    pub credits: Vec<SepaCredit>,
}

/// The generated file and its control totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pain001 {
    pub xml: String,
    pub number_of_transactions: usize,
    pub control_sum_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SepaError {
    #[error("a batch needs between 1 and {MAX_BATCH_ENTRIES} credits, not {0}")]
    BatchSize(usize),
    #[error("{field} `{value}` is not a valid SEPA identifier (1–35 characters of the EPC set, no spaces, no leading/trailing `/`, no `//`)")]
    InvalidId { field: &'static str, value: String },
    #[error("payout id `{0}` appears twice in the batch")]
    DuplicateId(String),
    #[error("payout `{0}`: SEPA credit transfers are in EUR only, not {1}")]
    NotEur(String, Currency),
    #[error("payout `{0}`: amount must be between 1 and {MAX_AMOUNT_MINOR} cents")]
    Amount(String),
    #[error("{0}: invalid IBAN")]
    Iban(String),
    #[error("{0}: invalid BIC")]
    Bic(String),
    #[error("{0}: name is empty once reduced to the SEPA character set")]
    EmptyName(String),
    #[error("control sum overflows")]
    Overflow,
    #[error("XML writer failed: {0}")]
    Write(String),
}

/// Checks an identifier against the EPC rules without changing it.
pub fn is_valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id.chars().all(|c| c != ' ' && text::is_epc_char(c))
        && !id.starts_with('/')
        && !id.ends_with('/')
        && !id.contains("//")
}

fn check_id(field: &'static str, value: &str) -> Result<(), SepaError> {
    if is_valid_id(value) {
        Ok(())
    } else {
        Err(SepaError::InvalidId {
            field,
            value: value.chars().take(64).collect(),
        })
    }
}

/// Minor units of EUR as the schema's decimal with exactly two places: `1050` → `10.50`.
pub fn format_amount(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

struct Validated {
    payout_id: String,
    amount_minor: i64,
    name: String,
    iban: String,
    bic: Option<String>,
    remittance: String,
}

/// Builds the pain.001.001.09 document for `batch`.
pub fn pain001(batch: &SepaBatch) -> Result<Pain001, SepaError> {
    let n = batch.credits.len();
    if n == 0 || n > MAX_BATCH_ENTRIES {
        return Err(SepaError::BatchSize(n));
    }
    check_id("message_id", &batch.message_id)?;
    check_id("payment_information_id", &batch.payment_information_id)?;
    let initiating_party = text::epc(&batch.initiating_party_name, MAX_NAME_LEN);
    if initiating_party.is_empty() {
        return Err(SepaError::EmptyName("initiating party".into()));
    }
    let debtor_name = text::epc(&batch.debtor.name, MAX_NAME_LEN);
    if debtor_name.is_empty() {
        return Err(SepaError::EmptyName("debtor".into()));
    }
    let debtor_iban =
        normalize_iban(&batch.debtor.iban).ok_or_else(|| SepaError::Iban("debtor".into()))?;
    let debtor_bic = match &batch.debtor.bic {
        Some(bic) => Some(normalize_bic(bic).ok_or_else(|| SepaError::Bic("debtor".into()))?),
        None => None,
    };

    let mut seen = HashSet::with_capacity(n);
    let mut credits = Vec::with_capacity(n);
    let mut control_sum: i64 = 0;
    for credit in &batch.credits {
        let id = &credit.payout_id;
        check_id("payout_id", id)?;
        if !seen.insert(id.as_str()) {
            return Err(SepaError::DuplicateId(id.clone()));
        }
        if credit.currency.code() != "EUR" {
            return Err(SepaError::NotEur(id.clone(), credit.currency));
        }
        if !(1..=MAX_AMOUNT_MINOR).contains(&credit.amount_minor) {
            return Err(SepaError::Amount(id.clone()));
        }
        control_sum = control_sum
            .checked_add(credit.amount_minor)
            .ok_or(SepaError::Overflow)?;
        let name = text::epc(&credit.creditor_name, MAX_NAME_LEN);
        if name.is_empty() {
            return Err(SepaError::EmptyName(format!("payout `{id}` creditor")));
        }
        let iban = normalize_iban(&credit.creditor_iban)
            .ok_or_else(|| SepaError::Iban(format!("payout `{id}` creditor")))?;
        let bic = match &credit.creditor_bic {
            Some(bic) => Some(
                normalize_bic(bic)
                    .ok_or_else(|| SepaError::Bic(format!("payout `{id}` creditor")))?,
            ),
            None => None,
        };
        credits.push(Validated {
            payout_id: id.clone(),
            amount_minor: credit.amount_minor,
            name,
            iban,
            bic,
            remittance: text::epc(&credit.remittance_information, MAX_REMITTANCE_LEN),
        });
    }

    let nb = n.to_string();
    let ctrl = format_amount(control_sum);
    let mut x = Xml::new();
    let write = |x: &mut Xml| -> io::Result<()> {
        x.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let mut doc = BytesStart::new("Document");
        doc.push_attribute(("xmlns", NAMESPACE));
        doc.push_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"));
        x.w.write_event(Event::Start(doc))?;
        x.open("CstmrCdtTrfInitn")?;

        x.open("GrpHdr")?;
        x.leaf("MsgId", &batch.message_id)?;
        x.leaf(
            "CreDtTm",
            &batch.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )?;
        x.leaf("NbOfTxs", &nb)?;
        x.leaf("CtrlSum", &ctrl)?;
        x.open("InitgPty")?;
        x.leaf("Nm", &initiating_party)?;
        x.close("InitgPty")?;
        x.close("GrpHdr")?;

        x.open("PmtInf")?;
        x.leaf("PmtInfId", &batch.payment_information_id)?;
        x.leaf("PmtMtd", "TRF")?;
        x.leaf(
            "BtchBookg",
            if batch.batch_booking { "true" } else { "false" },
        )?;
        x.leaf("NbOfTxs", &nb)?;
        x.leaf("CtrlSum", &ctrl)?;
        x.open("PmtTpInf")?;
        x.open("SvcLvl")?;
        x.leaf("Cd", "SEPA")?;
        x.close("SvcLvl")?;
        x.close("PmtTpInf")?;
        x.open("ReqdExctnDt")?;
        x.leaf(
            "Dt",
            &batch
                .requested_execution_date
                .format("%Y-%m-%d")
                .to_string(),
        )?;
        x.close("ReqdExctnDt")?;
        x.open("Dbtr")?;
        x.leaf("Nm", &debtor_name)?;
        x.close("Dbtr")?;
        x.iban_account("DbtrAcct", &debtor_iban)?;
        x.open("DbtrAgt")?;
        x.open("FinInstnId")?;
        match &debtor_bic {
            Some(bic) => x.leaf("BICFI", bic)?,
            None => {
                x.open("Othr")?;
                x.leaf("Id", "NOTPROVIDED")?;
                x.close("Othr")?;
            }
        }
        x.close("FinInstnId")?;
        x.close("DbtrAgt")?;
        x.leaf("ChrgBr", "SLEV")?;

        for c in &credits {
            x.open("CdtTrfTxInf")?;
            x.open("PmtId")?;
            x.leaf("InstrId", &c.payout_id)?;
            x.leaf("EndToEndId", &c.payout_id)?;
            x.close("PmtId")?;
            x.open("Amt")?;
            x.w.create_element("InstdAmt")
                .with_attribute(("Ccy", "EUR"))
                .write_text_content(BytesText::new(&format_amount(c.amount_minor)))?;
            x.close("Amt")?;
            if let Some(bic) = &c.bic {
                x.open("CdtrAgt")?;
                x.open("FinInstnId")?;
                x.leaf("BICFI", bic)?;
                x.close("FinInstnId")?;
                x.close("CdtrAgt")?;
            }
            x.open("Cdtr")?;
            x.leaf("Nm", &c.name)?;
            x.close("Cdtr")?;
            x.iban_account("CdtrAcct", &c.iban)?;
            if !c.remittance.is_empty() {
                x.open("RmtInf")?;
                x.leaf("Ustrd", &c.remittance)?;
                x.close("RmtInf")?;
            }
            x.close("CdtTrfTxInf")?;
        }
        x.close("PmtInf")?;
        x.close("CstmrCdtTrfInitn")?;
        x.close("Document")
    };
    write(&mut x).map_err(|e| SepaError::Write(e.to_string()))?;
    let mut bytes = x.w.into_inner();
    bytes.push(b'\n');
    let xml = String::from_utf8(bytes).map_err(|e| SepaError::Write(e.to_string()))?;
    Ok(Pain001 {
        xml,
        number_of_transactions: n,
        control_sum_minor: control_sum,
    })
}

/// A thin helper over `quick_xml::Writer` for the open/leaf/close shape of ISO 20022.
struct Xml {
    w: Writer<Vec<u8>>,
}

impl Xml {
    fn new() -> Self {
        Self {
            w: Writer::new_with_indent(Vec::new(), b' ', 2),
        }
    }

    fn open(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::Start(BytesStart::new(name)))
    }

    fn close(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }

    fn leaf(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.w
            .create_element(name)
            .write_text_content(BytesText::new(text))
            .map(|_| ())
    }

    fn iban_account(&mut self, name: &str, iban: &str) -> io::Result<()> {
        self.open(name)?;
        self.open("Id")?;
        self.leaf("IBAN", iban)?;
        self.close("Id")?;
        self.close(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse, Limits};
    use chrono::TimeZone;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    pub(crate) fn credit(id: &str, amount: i64, name: &str) -> SepaCredit {
        SepaCredit {
            payout_id: id.into(),
            amount_minor: amount,
            currency: eur(),
            creditor_name: name.into(),
            creditor_iban: "FR14 2004 1010 0505 0001 3M02 606".into(),
            creditor_bic: None,
            remittance_information: "Agora payout".into(),
        }
    }

    fn batch(credits: Vec<SepaCredit>) -> SepaBatch {
        SepaBatch {
            message_id: "MSG-2026-11-25-0001".into(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 30, 0).unwrap(),
            initiating_party_name: "Agora Marketplace GmbH".into(),
            payment_information_id: "PMT-2026-11-25-0001".into(),
            requested_execution_date: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            batch_booking: true,
            debtor: SepaDebtor {
                name: "Agora Marketplace GmbH".into(),
                iban: "DE89370400440532013000".into(),
                bic: Some("COBADEFFXXX".into()),
            },
            credits,
        }
    }

    const LIMITS: Limits = Limits {
        max_bytes: 1 << 20,
        max_depth: 16,
        max_elements: 10_000,
    };

    #[test]
    fn writes_a_well_formed_document_with_the_right_totals() {
        let mut with_bic = credit("po2", 1, "Åsa Ørsted <&> \"Ltd\"");
        with_bic.creditor_bic = Some("bnpafrpp".into());
        with_bic.remittance_information = "€ payout #42 for Jürgen".into();
        let out = pain001(&batch(vec![
            credit("po1", 1050, "Jürgen Großmann"),
            with_bic,
        ]))
        .unwrap();
        assert_eq!(out.number_of_transactions, 2);
        assert_eq!(out.control_sum_minor, 1051);

        let doc = parse(&out.xml, &LIMITS).unwrap();
        assert_eq!(doc.name, "Document");
        assert_eq!(doc.attr("xmlns"), Some(NAMESPACE));
        let init = doc.child("CstmrCdtTrfInitn").unwrap();
        assert_eq!(init.text_at(&["GrpHdr", "NbOfTxs"]), Some("2"));
        assert_eq!(init.text_at(&["GrpHdr", "CtrlSum"]), Some("10.51"));
        assert_eq!(
            init.text_at(&["GrpHdr", "CreDtTm"]),
            Some("2026-11-25T09:30:00Z")
        );
        let pmt = init.child("PmtInf").unwrap();
        assert_eq!(pmt.text_at(&["ReqdExctnDt", "Dt"]), Some("2026-11-26"));
        assert_eq!(
            pmt.text_at(&["DbtrAgt", "FinInstnId", "BICFI"]),
            Some("COBADEFFXXX")
        );
        let txs: Vec<_> = pmt.children_named("CdtTrfTxInf").collect();
        assert_eq!(txs[0].text_at(&["PmtId", "EndToEndId"]), Some("po1"));
        assert_eq!(txs[0].text_at(&["Amt", "InstdAmt"]), Some("10.50"));
        assert_eq!(
            txs[0].path(&["Amt", "InstdAmt"]).unwrap().attr("Ccy"),
            Some("EUR")
        );
        assert_eq!(txs[0].text_at(&["Cdtr", "Nm"]), Some("Jurgen Grossmann"));
        assert_eq!(
            txs[0].text_at(&["CdtrAcct", "Id", "IBAN"]),
            Some("FR1420041010050500013M02606")
        );
        assert_eq!(txs[1].text_at(&["Amt", "InstdAmt"]), Some("0.01"));
        assert_eq!(txs[1].text_at(&["Cdtr", "Nm"]), Some("Asa Orsted + Ltd"));
        assert_eq!(
            txs[1].text_at(&["CdtrAgt", "FinInstnId", "BICFI"]),
            Some("BNPAFRPP")
        );
        assert_eq!(
            txs[1].text_at(&["RmtInf", "Ustrd"]),
            Some("EUR payout 42 for Jurgen")
        );
        // Every character of the document is ASCII.
        assert!(out.xml.is_ascii());
    }

    #[test]
    fn no_bic_means_notprovided_and_long_text_is_cut() {
        let mut b = batch(vec![credit("po1", 100, &"x".repeat(500))]);
        b.debtor.bic = None;
        b.credits[0].remittance_information = "y".repeat(500);
        let out = pain001(&b).unwrap();
        let doc = parse(&out.xml, &LIMITS).unwrap();
        let pmt = doc.path(&["CstmrCdtTrfInitn", "PmtInf"]).unwrap();
        assert_eq!(
            pmt.text_at(&["DbtrAgt", "FinInstnId", "Othr", "Id"]),
            Some("NOTPROVIDED")
        );
        let tx = pmt.child("CdtTrfTxInf").unwrap();
        assert_eq!(tx.text_at(&["Cdtr", "Nm"]).unwrap().len(), 70);
        assert_eq!(tx.text_at(&["RmtInf", "Ustrd"]).unwrap().len(), 140);
    }

    #[test]
    fn refuses_bad_input() {
        let usd = Currency::parse("USD").unwrap();
        let mut not_eur = credit("po1", 100, "A");
        not_eur.currency = usd;
        assert!(matches!(
            pain001(&batch(vec![not_eur])),
            Err(SepaError::NotEur(..))
        ));
        assert!(matches!(
            pain001(&batch(vec![credit("po1", 0, "A")])),
            Err(SepaError::Amount(_))
        ));
        assert!(matches!(
            pain001(&batch(vec![credit("po1", MAX_AMOUNT_MINOR + 1, "A")])),
            Err(SepaError::Amount(_))
        ));
        assert!(matches!(
            pain001(&batch(vec![credit("po_1", 100, "A")])),
            Err(SepaError::InvalidId { .. })
        ));
        assert!(matches!(
            pain001(&batch(vec![credit(&"a".repeat(36), 100, "A")])),
            Err(SepaError::InvalidId { .. })
        ));
        assert!(matches!(
            pain001(&batch(vec![credit("po1", 1, "A"), credit("po1", 1, "B")])),
            Err(SepaError::DuplicateId(_))
        ));
        assert!(matches!(
            pain001(&batch(vec![credit("po1", 1, "<<>>")])),
            Err(SepaError::EmptyName(_))
        ));
        let mut bad_iban = credit("po1", 1, "A");
        bad_iban.creditor_iban = "FR1420041010050500013M02607".into();
        assert!(matches!(
            pain001(&batch(vec![bad_iban])),
            Err(SepaError::Iban(_))
        ));
        assert!(matches!(
            pain001(&batch(vec![])),
            Err(SepaError::BatchSize(0))
        ));
        let many = (0..=MAX_BATCH_ENTRIES)
            .map(|i| credit(&format!("p{i}"), 1, "A"))
            .collect();
        assert!(matches!(
            pain001(&batch(many)),
            Err(SepaError::BatchSize(_))
        ));
    }

    #[test]
    fn ids() {
        assert!(is_valid_id("0192f3a4b5c67d8e9f0a1b2c3d4e5f60"));
        assert!(is_valid_id("PO-2026/11"));
        assert!(!is_valid_id("/PO"));
        assert!(!is_valid_id("PO/"));
        assert!(!is_valid_id("P//O"));
        assert!(!is_valid_id("P O"));
        assert!(!is_valid_id(""));
    }
}
