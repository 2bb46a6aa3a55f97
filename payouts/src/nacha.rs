//! US ACH: NACHA credit files (payouts) and NACHA return files.
//!
//! # Output layout
//!
//! Every record is exactly 94 ASCII characters; records are joined by `\n` (with a final
//! `\n`) and the file is padded with records of 94 `9`s to a multiple of 10 records (blocking
//! factor 10). Text fields are upper case, transliterated to ASCII (see `text::bank_upper`).
//!
//! | record | fields (1-based positions) |
//! | --- | --- |
//! | `1` file header | priority `01` (2–3), immediate destination ` `+routing (4–13), immediate origin (14–23), creation date YYMMDD (24–29) and time HHMM (30–33), file id modifier (34), `094` (35–37), `10` (38–39), `1` (40), destination name (41–63), origin name (64–86), reference code (87–94) |
//! | `5` batch header | service class `220` credits only (2–4), company name (5–20), discretionary data (21–40), company id (41–50), SEC code (51–53), entry description (54–63), descriptive date (64–69), effective entry date YYMMDD (70–75), settlement date, left blank for the operator (76–78), originator status `1` (79), ODFI id (80–87), batch number (88–94) |
//! | `6` entry detail | transaction code `22` checking / `32` savings credit (2–3), RDFI routing 8 digits (4–11) + check digit (12), account number (13–29), amount in cents (30–39), individual id / reference (40–54), name (55–76), discretionary (77–78), addenda indicator `0` (79), trace number = ODFI 8 digits + 7-digit sequence (80–94) |
//! | `8` batch control | service class (2–4), entry/addenda count (5–10), entry hash (11–20), total debits (21–32), total credits (33–44), company id (45–54), MAC (55–73), reserved (74–79), ODFI (80–87), batch number (88–94) |
//! | `9` file control | batch count (2–7), block count (8–13), entry/addenda count (14–21), entry hash (22–31), total debits (32–43), total credits (44–55), reserved (56–94) |
//!
//! The entry hash is the sum of the 8-digit RDFI routing prefixes, keeping the last 10 digits.
//! Entries are grouped into one batch per SEC code: `PPD` for individuals, then `CCD` for
//! companies, each batch in input order.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};

use crate::failure::FailureCode;
use crate::text::{bank_upper, pad_right, zero_pad};
use crate::MAX_BATCH_ENTRIES;

/// Record length of NACHA files.
pub const RECORD_LEN: usize = 94;
/// Records per block.
pub const BLOCKING_FACTOR: usize = 10;
/// Largest amount of one entry: the 10-digit amount field, $99,999,999.99.
pub const MAX_AMOUNT_CENTS: i64 = 9_999_999_999;
/// Longest return file read by [`parse_returns`] (far above any daily return file).
pub const MAX_RETURN_FILE_BYTES: usize = 16 * 1024 * 1024;

/// Who receives the credit, which decides the SEC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecCode {
    /// Prearranged Payment and Deposit: consumer accounts (individual sellers).
    Ppd,
    /// Corporate Credit or Debit: business accounts.
    Ccd,
}

impl SecCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            SecCode::Ppd => "PPD",
            SecCode::Ccd => "CCD",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountType {
    Checking,
    Savings,
}

impl AccountType {
    /// Transaction code of a live credit to this account type.
    pub const fn credit_code(self) -> &'static str {
        match self {
            AccountType::Checking => "22",
            AccountType::Savings => "32",
        }
    }
}

/// One payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchEntry {
    /// Kept for the caller's bookkeeping (returned with its trace number); not written, the
    /// file carries `reference` instead.
    pub payout_id: String,
    pub sec_code: SecCode,
    pub account_type: AccountType,
    /// 9 digits, ABA check digit verified.
    pub routing_number: String,
    /// 1–17 characters: digits, letters, hyphens (as banks issue them).
    pub account_number: String,
    /// Cents, 1..=[`MAX_AMOUNT_CENTS`].
    pub amount_cents: i64,
    /// Receiver's name (cut to 22).
    pub name: String,
    /// Individual identification number / reference (cut to 15), shown to the receiver.
    pub reference: String,
}

/// The originator's side of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchOriginator {
    /// Routing number of the bank the file is sent to (immediate destination, 9 digits).
    pub immediate_destination: String,
    /// Immediate origin, 10 characters as assigned by the bank (often `1` + EIN, or a space
    /// and a routing number); written right-justified.
    pub immediate_origin: String,
    pub destination_name: String,
    pub origin_name: String,
    /// Company name on the receivers' statements (cut to 16).
    pub company_name: String,
    /// Company identification, 10 characters (usually `1` + EIN).
    pub company_id: String,
    /// Entry description on statements (cut to 10), e.g. `PAYOUT`.
    pub entry_description: String,
    /// Routing number of the originating bank (ODFI, 9 digits): its first 8 digits start
    /// every trace number.
    pub odfi_routing: String,
}

/// A file of payouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchFile {
    pub originator: AchOriginator,
    /// Creation time as the bank expects it (its local time, usually US Eastern).
    pub created_at: NaiveDateTime,
    /// `A`–`Z` or `0`–`9`: distinguishes several files on the same day.
    pub file_id_modifier: char,
    pub effective_entry_date: NaiveDate,
    pub entries: Vec<AchEntry>,
}

/// The generated file, its control totals and the trace number of every payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NachaOutput {
    pub text: String,
    pub entry_count: usize,
    pub batch_count: usize,
    pub total_credit_cents: i64,
    pub entry_hash: u64,
    pub block_count: usize,
    /// (payout id, trace number), to match returns later.
    pub traces: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NachaError {
    #[error("a file needs between 1 and {MAX_BATCH_ENTRIES} entries, not {0}")]
    BatchSize(usize),
    #[error("{0}: `{1}` is not a 9-digit routing number with a valid check digit")]
    Routing(String, String),
    #[error("payout `{0}`: account number must be 1–17 letters, digits or hyphens")]
    AccountNumber(String),
    #[error("payout `{0}`: amount must be between 1 and {MAX_AMOUNT_CENTS} cents")]
    Amount(String),
    #[error("payout `{0}`: name is empty once reduced to the ACH character set")]
    EmptyName(String),
    #[error("payout id `{0}` appears twice")]
    DuplicateId(String),
    #[error("{0} must be {1} characters")]
    FieldLength(&'static str, usize),
    #[error("file id modifier must be A–Z or 0–9")]
    FileIdModifier,
    #[error("total overflows")]
    Overflow,
    #[error("return file line {0}: {1}")]
    Return(usize, String),
    #[error("return file too large")]
    TooLarge,
}

/// ABA routing number check: 9 digits whose weighted sum (3, 7, 1, 3, 7, 1, 3, 7, 1) is a
/// multiple of 10.
pub fn is_valid_routing_number(routing: &str) -> bool {
    let b = routing.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b
        .iter()
        .zip([3u32, 7, 1, 3, 7, 1, 3, 7, 1])
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    sum.is_multiple_of(10)
}

fn routing(field: &str, value: &str) -> Result<String, NachaError> {
    let v = value.trim();
    if is_valid_routing_number(v) {
        Ok(v.to_owned())
    } else {
        Err(NachaError::Routing(
            field.to_owned(),
            value.chars().take(20).collect(),
        ))
    }
}

struct Batch<'a> {
    sec: SecCode,
    entries: Vec<&'a AchEntry>,
}

/// Builds the NACHA file. Every entry is validated before anything is written.
pub fn nacha_file(file: &AchFile) -> Result<NachaOutput, NachaError> {
    let n = file.entries.len();
    if n == 0 || n > MAX_BATCH_ENTRIES {
        return Err(NachaError::BatchSize(n));
    }
    let o = &file.originator;
    let destination = routing("immediate destination", &o.immediate_destination)?;
    let odfi = routing("ODFI", &o.odfi_routing)?;
    let odfi8 = &odfi[..8];
    let origin = o.immediate_origin.trim();
    if origin.is_empty() || origin.len() > 10 || !origin.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(NachaError::FieldLength(
            "immediate origin (alphanumeric)",
            10,
        ));
    }
    let company_id = o.company_id.trim();
    if company_id.is_empty()
        || company_id.len() > 10
        || !company_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(NachaError::FieldLength(
            "company identification (alphanumeric)",
            10,
        ));
    }
    if !file.file_id_modifier.is_ascii_uppercase() && !file.file_id_modifier.is_ascii_digit() {
        return Err(NachaError::FileIdModifier);
    }

    let mut seen = HashSet::with_capacity(n);
    for e in &file.entries {
        let id = &e.payout_id;
        if !seen.insert(id.as_str()) {
            return Err(NachaError::DuplicateId(id.clone()));
        }
        routing(&format!("payout `{id}`"), &e.routing_number)?;
        let acct = e.account_number.trim();
        if acct.is_empty()
            || acct.len() > 17
            || !acct.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(NachaError::AccountNumber(id.clone()));
        }
        if !(1..=MAX_AMOUNT_CENTS).contains(&e.amount_cents) {
            return Err(NachaError::Amount(id.clone()));
        }
        if bank_upper(&e.name, 22).is_empty() {
            return Err(NachaError::EmptyName(id.clone()));
        }
    }

    let batches: Vec<Batch<'_>> = [SecCode::Ppd, SecCode::Ccd]
        .into_iter()
        .map(|sec| Batch {
            sec,
            entries: file.entries.iter().filter(|e| e.sec_code == sec).collect(),
        })
        .filter(|b| !b.entries.is_empty())
        .collect();

    let mut records: Vec<String> = Vec::with_capacity(n + 2 * batches.len() + 12);
    records.push(format!(
        "101 {destination}{origin:>10}{date}{time}{modifier}094101{dest_name}{origin_name}{reference}",
        date = file.created_at.format("%y%m%d"),
        time = file.created_at.format("%H%M"),
        modifier = file.file_id_modifier,
        dest_name = pad_right(&bank_upper(&o.destination_name, 23), 23),
        origin_name = pad_right(&bank_upper(&o.origin_name, 23), 23),
        reference = pad_right("", 8),
    ));

    let company_name = pad_right(&bank_upper(&o.company_name, 16), 16);
    let description = pad_right(&bank_upper(&o.entry_description, 10), 10);
    let company_id = pad_right(company_id, 10);
    let effective = file.effective_entry_date.format("%y%m%d").to_string();
    let overflow = || NachaError::Overflow;

    let mut sequence: u64 = 0;
    let mut traces = Vec::with_capacity(n);
    let mut file_hash: u64 = 0;
    let mut file_total: i64 = 0;
    for (index, batch) in batches.iter().enumerate() {
        let batch_number = zero_pad(index as u64 + 1, 7).ok_or_else(overflow)?;
        records.push(format!(
            "5220{company_name}{discretionary}{company_id}{sec}{description}{descriptive}{effective}   1{odfi8}{batch_number}",
            discretionary = pad_right("", 20),
            sec = batch.sec.as_str(),
            descriptive = pad_right("", 6),
        ));
        let mut hash: u64 = 0;
        let mut total: i64 = 0;
        for e in &batch.entries {
            sequence += 1;
            let rdfi = e.routing_number.trim();
            let trace = format!("{odfi8}{}", zero_pad(sequence, 7).ok_or_else(overflow)?);
            // The first 8 digits of a validated routing number are ASCII digits.
            hash += rdfi[..8].parse::<u64>().map_err(|_| overflow())?;
            total = total.checked_add(e.amount_cents).ok_or_else(overflow)?;
            let amount = u64::try_from(e.amount_cents).map_err(|_| overflow())?;
            records.push(format!(
                "6{code}{rdfi}{account}{amount}{reference}{name}  0{trace}",
                code = e.account_type.credit_code(),
                account = pad_right(e.account_number.trim(), 17),
                amount = zero_pad(amount, 10).ok_or_else(overflow)?,
                reference = pad_right(&bank_upper(&e.reference, 15), 15),
                name = pad_right(&bank_upper(&e.name, 22), 22),
            ));
            traces.push((e.payout_id.clone(), trace));
        }
        file_hash += hash;
        file_total = file_total.checked_add(total).ok_or_else(overflow)?;
        let total_u = u64::try_from(total).map_err(|_| overflow())?;
        records.push(format!(
            "8220{count}{hash}{debits}{credits}{company_id}{mac}{reserved}{odfi8}{batch_number}",
            count = zero_pad(batch.entries.len() as u64, 6).ok_or_else(overflow)?,
            hash = zero_pad(hash % 10_000_000_000, 10).ok_or_else(overflow)?,
            debits = zero_pad(0, 12).ok_or_else(overflow)?,
            credits = zero_pad(total_u, 12).ok_or_else(overflow)?,
            mac = pad_right("", 19),
            reserved = pad_right("", 6),
        ));
    }

    // The file control record itself is one more record before padding.
    let unpadded = records.len() + 1;
    let block_count = unpadded.div_ceil(BLOCKING_FACTOR);
    let file_total_u = u64::try_from(file_total).map_err(|_| overflow())?;
    records.push(format!(
        "9{batches}{blocks}{entries}{hash}{debits}{credits}{reserved}",
        batches = zero_pad(batches.len() as u64, 6).ok_or_else(overflow)?,
        blocks = zero_pad(block_count as u64, 6).ok_or_else(overflow)?,
        entries = zero_pad(n as u64, 8).ok_or_else(overflow)?,
        hash = zero_pad(file_hash % 10_000_000_000, 10).ok_or_else(overflow)?,
        debits = zero_pad(0, 12).ok_or_else(overflow)?,
        credits = zero_pad(file_total_u, 12).ok_or_else(overflow)?,
        reserved = pad_right("", 39),
    ));
    while !records.len().is_multiple_of(BLOCKING_FACTOR) {
        records.push("9".repeat(RECORD_LEN));
    }
    // A wrong length would silently shift every column at the bank: refuse instead.
    if records
        .iter()
        .any(|r| r.len() != RECORD_LEN || !r.is_ascii())
    {
        return Err(NachaError::FieldLength("every record", RECORD_LEN));
    }
    let mut text = records.join("\n");
    text.push('\n');
    Ok(NachaOutput {
        text,
        entry_count: n,
        batch_count: batches.len(),
        total_credit_cents: file_total,
        entry_hash: file_hash % 10_000_000_000,
        block_count,
        traces,
    })
}

/// One returned entry from a NACHA return file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchReturn {
    /// Trace number of the return entry itself (assigned by the returning bank).
    pub trace_number: String,
    /// `R01`…`R85`.
    pub return_code: String,
    /// Trace number of the entry we sent: the key back to the payout.
    pub original_trace_number: String,
    /// 8-digit routing prefix of the bank that received the original entry.
    pub original_rdfi: String,
    /// Transaction code of the return entry (`21` for a returned checking credit, `31` savings).
    pub transaction_code: String,
    pub amount_cents: i64,
    pub account_number: String,
    pub individual_id: String,
    pub name: String,
    pub addenda_information: String,
}

fn field(line: &str, from: usize, to: usize) -> &str {
    // 1-based inclusive positions, on a line already checked to be 94 ASCII characters.
    line.get(from - 1..to).unwrap_or("").trim()
}

/// Reads the returns (entry detail + addenda type `99`) of a NACHA return file. Headers and
/// controls are skipped; notifications of change (addenda `98`) are not returns and are skipped
/// too. Lines may end in `\r\n`; padding records are ignored.
pub fn parse_returns(text: &str) -> Result<Vec<AchReturn>, NachaError> {
    if text.len() > MAX_RETURN_FILE_BYTES {
        return Err(NachaError::TooLarge);
    }
    let err = |line: usize, msg: &str| NachaError::Return(line, msg.to_owned());
    let mut out = Vec::new();
    let mut pending: Option<(usize, &str)> = None; // an entry waiting for its addenda
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if line.len() != RECORD_LEN || !line.is_ascii() {
            return Err(err(line_no, "record is not 94 ASCII characters"));
        }
        match &line[..1] {
            "6" => {
                if pending.is_some() {
                    return Err(err(line_no, "entry without addenda before it"));
                }
                if field(line, 79, 79) != "1" {
                    return Err(err(line_no, "return entry without addenda indicator"));
                }
                pending = Some((line_no, line));
            }
            "7" => {
                let Some((entry_no, entry)) = pending.take() else {
                    return Err(err(line_no, "addenda without entry"));
                };
                match field(line, 2, 3) {
                    "99" => {}
                    "98" => continue, // notification of change, not a return
                    _ => return Err(err(line_no, "unexpected addenda type")),
                }
                let code = field(line, 4, 6);
                let ok_code = code.len() == 3
                    && code.starts_with('R')
                    && code[1..].bytes().all(|b| b.is_ascii_digit());
                if !ok_code {
                    return Err(err(line_no, "invalid return reason code"));
                }
                let amount_cents = field(entry, 30, 39)
                    .parse::<i64>()
                    .map_err(|_| err(entry_no, "invalid amount"))?;
                out.push(AchReturn {
                    trace_number: field(entry, 80, 94).to_owned(),
                    return_code: code.to_owned(),
                    original_trace_number: field(line, 7, 21).to_owned(),
                    original_rdfi: field(line, 28, 35).to_owned(),
                    transaction_code: field(entry, 2, 3).to_owned(),
                    amount_cents,
                    account_number: field(entry, 13, 29).to_owned(),
                    individual_id: field(entry, 40, 54).to_owned(),
                    name: field(entry, 55, 76).to_owned(),
                    addenda_information: field(line, 36, 79).to_owned(),
                });
                if out.len() > MAX_BATCH_ENTRIES * 10 {
                    return Err(NachaError::TooLarge);
                }
            }
            "1" | "5" | "8" | "9" => {
                if pending.is_some() {
                    return Err(err(line_no, "entry without addenda"));
                }
            }
            _ => return Err(err(line_no, "unknown record type")),
        }
    }
    if let Some((line_no, _)) = pending {
        return Err(err(line_no, "entry without addenda at end of file"));
    }
    Ok(out)
}

/// Maps a NACHA return reason code to a [`FailureCode`].
///
/// R02 closed, R03 no account, R04 invalid number, R16 frozen, R20/R23/R29 declined (non-
/// transaction account, credit refused by the receiver, not authorised by the corporate
/// receiver); additionally R01 → insufficient funds, and R14/R15 (representative payee or
/// beneficiary deceased) → account closed, like ISO's MD07. Everything else: could not process.
pub fn map_return_code(code: &str) -> FailureCode {
    match code.trim().to_ascii_uppercase().as_str() {
        "R01" => FailureCode::InsufficientFunds,
        "R02" | "R14" | "R15" => FailureCode::AccountClosed,
        "R03" => FailureCode::NoAccount,
        "R04" => FailureCode::InvalidAccountNumber,
        "R16" => FailureCode::AccountFrozen,
        "R20" | "R23" | "R29" => FailureCode::Declined,
        _ => FailureCode::CouldNotProcess,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn originator() -> AchOriginator {
        AchOriginator {
            immediate_destination: "021000021".into(),
            immediate_origin: "1234567890".into(),
            destination_name: "JPMorgan Chase".into(),
            origin_name: "Agora Marketplace Inc".into(),
            company_name: "Agora Marketplace".into(),
            company_id: "1234567890".into(),
            entry_description: "Payout".into(),
            odfi_routing: "021000021".into(),
        }
    }

    fn entry(id: &str, sec: SecCode, routing: &str, cents: i64) -> AchEntry {
        AchEntry {
            payout_id: id.into(),
            sec_code: sec,
            account_type: AccountType::Checking,
            routing_number: routing.into(),
            account_number: "123456789".into(),
            amount_cents: cents,
            name: "José Núñez".into(),
            reference: id.into(),
        }
    }

    fn file(entries: Vec<AchEntry>) -> AchFile {
        AchFile {
            originator: originator(),
            created_at: NaiveDate::from_ymd_opt(2026, 11, 25)
                .unwrap()
                .and_hms_opt(14, 5, 0)
                .unwrap(),
            file_id_modifier: 'A',
            effective_entry_date: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            entries,
        }
    }

    #[test]
    fn aba_check_digit() {
        // Published routing numbers: JPMorgan Chase NY, FRB Boston, Bank of America CA and NY.
        for ok in ["021000021", "011000015", "121000358", "026009593"] {
            assert!(is_valid_routing_number(ok), "{ok}");
        }
        for bad in ["021000022", "02100002", "0210000211", "02100002a", ""] {
            assert!(!is_valid_routing_number(bad), "{bad}");
        }
    }

    #[test]
    fn file_layout_and_totals() {
        let out = nacha_file(&file(vec![
            entry("po1", SecCode::Ccd, "121000358", 25_000),
            entry("po2", SecCode::Ppd, "021000021", 1_050),
            entry("po3", SecCode::Ppd, "026009593", 1),
        ]))
        .unwrap();
        let lines: Vec<&str> = out.text.lines().collect();
        // 1 header + (5, 6, 6, 8) + (5, 6, 8) + 9 = 9 records, one padding record: one block.
        assert_eq!(lines.len(), 10);
        assert!(lines.iter().all(|l| l.len() == 94));
        assert_eq!(out.block_count, 1);
        assert_eq!(out.batch_count, 2);
        assert_eq!(out.total_credit_cents, 26_051);
        // 02100002 + 02600959 + 12100035 = 16800996.
        assert_eq!(out.entry_hash, 16_800_996);
        assert_eq!(&lines[0][..13], "101 021000021");
        assert_eq!(&lines[0][13..23], "1234567890");
        assert_eq!(&lines[0][23..33], "2611251405");
        assert_eq!(&lines[0][33..40], "A094101");
        // PPD first, in input order.
        assert_eq!(&lines[1][50..53], "PPD");
        assert_eq!(&lines[1][69..75], "261127");
        assert_eq!(&lines[1][79..94], "021000020000001");
        assert_eq!(
            lines[2],
            concat!(
                "6",
                "22",                     // checking credit
                "02100002",               // RDFI
                "1",                      // check digit
                "123456789        ",      // account (17)
                "0000001050",             // $10.50
                "PO2            ",        // reference (15)
                "JOSE NUNEZ            ", // name (22)
                "  ",                     // discretionary
                "0",                      // no addenda
                "021000020000001"         // trace
            )
        );
        assert_eq!(&lines[3][79..94], "021000020000002");
        // Batch control PPD: 2 entries, hash 02100002 + 02600959 = 4700961, credits 10.51.
        assert_eq!(
            &lines[4][..44],
            concat!(
                "8220",
                "000002",
                "0004700961",
                "000000000000",
                "000000001051"
            )
        );
        assert_eq!(&lines[5][50..53], "CCD");
        assert_eq!(&lines[6][79..94], "021000020000003");
        assert_eq!(
            &lines[7][..44],
            concat!(
                "8220",
                "000001",
                "0012100035",
                "000000000000",
                "000000025000"
            )
        );
        assert_eq!(
            &lines[8][..55],
            concat!(
                "9",
                "000002",       // batches
                "000001",       // blocks
                "00000003",     // entries
                "0016800996",   // entry hash
                "000000000000", // debits
                "000000026051"  // credits
            )
        );
        assert_eq!(lines[9], "9".repeat(94));
        assert_eq!(
            out.traces,
            [
                ("po2".to_string(), "021000020000001".to_string()),
                ("po3".to_string(), "021000020000002".to_string()),
                ("po1".to_string(), "021000020000003".to_string()),
            ]
        );
    }

    #[test]
    fn pads_to_a_multiple_of_ten_with_nines() {
        let entries = (1..=13)
            .map(|i| entry(&format!("po{i}"), SecCode::Ppd, "021000021", 100))
            .collect();
        let out = nacha_file(&file(entries)).unwrap();
        let lines: Vec<&str> = out.text.lines().collect();
        // 1 + 1 + 13 + 1 + 1 = 17 records → 2 blocks, 3 padding records.
        assert_eq!(lines.len(), 20);
        assert_eq!(out.block_count, 2);
        assert!(lines[17..].iter().all(|l| *l == "9".repeat(94)));
        assert_eq!(&lines[16][7..13], "000002");
        assert!(out.text.ends_with('\n'));
    }

    #[test]
    fn entry_hash_keeps_the_last_ten_digits() {
        // 1000 entries at RDFI prefix 12100035 sum to 12,100,035,000 → 2100035000.
        let entries = (0..1000)
            .map(|i| entry(&format!("po{i}"), SecCode::Ccd, "121000358", 1))
            .collect();
        let out = nacha_file(&file(entries)).unwrap();
        assert_eq!(out.entry_hash, 2_100_035_000);
    }

    #[test]
    fn refuses_bad_input() {
        let bad = |e: AchEntry| nacha_file(&file(vec![e])).unwrap_err();
        assert!(matches!(
            bad(entry("p", SecCode::Ppd, "021000022", 1)),
            NachaError::Routing(..)
        ));
        assert!(matches!(
            bad(entry("p", SecCode::Ppd, "021000021", 0)),
            NachaError::Amount(_)
        ));
        assert!(matches!(
            bad(entry("p", SecCode::Ppd, "021000021", MAX_AMOUNT_CENTS + 1)),
            NachaError::Amount(_)
        ));
        let mut long = entry("p", SecCode::Ppd, "021000021", 1);
        long.account_number = "1".repeat(18);
        assert!(matches!(bad(long), NachaError::AccountNumber(_)));
        let mut nameless = entry("p", SecCode::Ppd, "021000021", 1);
        nameless.name = "%%%".into();
        assert!(matches!(bad(nameless), NachaError::EmptyName(_)));
        assert!(matches!(
            nacha_file(&file(vec![])),
            Err(NachaError::BatchSize(0))
        ));
        let mut f = file(vec![entry("p", SecCode::Ppd, "021000021", 1)]);
        f.file_id_modifier = 'a';
        assert!(matches!(nacha_file(&f), Err(NachaError::FileIdModifier)));
    }

    const RETURN_FILE: &str = "\
101 021000021 0910000102611300215A094101AGORA MARKETPLACE INC  RETURNS BANK                   \r
5220AGORA MARKETPLAC                    1234567890PPDPAYOUT          261130   1091000010000001\r
6210210000210123456789       0000001050PO2            JOSE NUNEZ              1091000010000001\r
799R03021000020000001      02100002                                            091000010000001\r
6321210003580987654321       0000025000PO1            ACME LLC                1091000010000002\r
799R16021000020000003      12100035FROZEN BY ORDER                             091000010000002\r
6220210000210111111111       0000000001PO9            NOC ONLY                1091000010000003\r
798C01021000020000009      02100002222222222                                   091000010000003\r
822000000600142000370000000000000000000260511234567890                         091000010000001\r
9000001000001000000060014200037000000000000000000026051                                       \r
";

    #[test]
    fn parses_returns_and_skips_notifications_of_change() {
        let returns = parse_returns(RETURN_FILE).unwrap();
        assert_eq!(returns.len(), 2);
        assert_eq!(returns[0].return_code, "R03");
        assert_eq!(returns[0].original_trace_number, "021000020000001");
        assert_eq!(returns[0].trace_number, "091000010000001");
        assert_eq!(returns[0].amount_cents, 1050);
        assert_eq!(returns[0].transaction_code, "21");
        assert_eq!(returns[0].individual_id, "PO2");
        assert_eq!(returns[1].return_code, "R16");
        assert_eq!(returns[1].original_rdfi, "12100035");
        assert_eq!(returns[1].addenda_information, "FROZEN BY ORDER");
        assert_eq!(
            map_return_code(&returns[1].return_code),
            FailureCode::AccountFrozen
        );
    }

    #[test]
    fn return_file_errors() {
        assert!(parse_returns("6short\n").is_err());
        // An entry with no addenda.
        let entry_only = RETURN_FILE.lines().nth(2).unwrap();
        assert!(parse_returns(entry_only).is_err());
    }

    #[test]
    fn return_codes() {
        assert_eq!(map_return_code("R02"), FailureCode::AccountClosed);
        assert_eq!(map_return_code("R03"), FailureCode::NoAccount);
        assert_eq!(map_return_code("R04"), FailureCode::InvalidAccountNumber);
        assert_eq!(map_return_code("R16"), FailureCode::AccountFrozen);
        for c in ["R20", "R23", "R29"] {
            assert_eq!(map_return_code(c), FailureCode::Declined);
        }
        assert_eq!(map_return_code("R01"), FailureCode::InsufficientFunds);
        assert_eq!(map_return_code("R14"), FailureCode::AccountClosed);
        assert_eq!(map_return_code("R17"), FailureCode::CouldNotProcess);
        assert_eq!(map_return_code("bogus"), FailureCode::CouldNotProcess);
    }
}
