//! UK Bacs Direct Credit: Standard 18 files.
//!
//! # Layout
//!
//! Label records are 80 characters, data records 100; records are joined by `\n` with a
//! final `\n`. Text is upper case `A-Z 0-9 . & / -` and space (see `text::bank_upper`).
//!
//! | record | content (1-based positions) |
//! | --- | --- |
//! | `VOL1` | `VOL1` (1–4), volume serial = SUN (5–10), accessibility (11), reserved (12–41), owner: 4 spaces + SUN + 4 spaces (42–55), reserved (56–79), label standard level `3` (80) |
//! | `HDR1` | `HDR1`, file id `A` + SUN + `S  ` + SUN (5–21), set id (22–27), section `0001` (28–31), sequence `0001` (32–35), generation (36–41), creation date ` YYDDD` (42–47), expiry ` YYDDD` (48–53), accessibility (54), block count `000000` (55–60), system code (61–73), reserved (74–80) |
//! | `HDR2` | `HDR2`, record format `F` (5), block length `02000` (6–10), record length `00100` (11–15), reserved (16–50), buffer offset `00` (51–52), reserved (53–80) |
//! | `UHL1` | `UHL1`, processing day ` YYDDD` (5–10), receiving party `999999` (11–16), reserved (17–20), currency `00` (21–22), country `000000` (23–28), work code `1 DAILY  ` (29–37), file number `001` (38–40), reserved (41–47), audit print id (48–54), reserved (55–80) |
//! | data (100) | destination sort code (1–6), destination account (7–14), account type `0` (15), transaction code `99` credit (16–17), originating sort code (18–23) and account (24–31), free format / RTI (32–35), amount in pence, 11 digits (36–46), originator name (47–64), reference (65–82), beneficiary name (83–100) |
//! | contra (100) | the originating account as destination, code `17` (debit contra), amount = total of the credits, narrative `CONTRA` in the reference field, originator account name |
//! | `EOF1`, `EOF2` | as `HDR1`, `HDR2` |
//! | `UTL1` | `UTL1`, debit value total (5–17), credit value total (18–30), debit count (31–37), credit count (38–44), reserved (45–80) |
//!
//! In `UTL1` the contra counts as one debit of the full total, so debits and credits balance.

use chrono::{Datelike, NaiveDate};

use crate::text::{bank_upper, pad_right, zero_pad};
use crate::MAX_BATCH_ENTRIES;

pub const LABEL_LEN: usize = 80;
pub const DATA_LEN: usize = 100;
/// Largest amount of one Bacs credit: £20,000,000.00 (the scheme's item limit).
pub const MAX_AMOUNT_PENCE: i64 = 2_000_000_000;

/// The account the payouts are paid from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacsOriginator {
    /// Bacs service user number (SUN), 6 digits.
    pub service_user_number: String,
    pub sort_code: String,
    pub account_number: String,
    /// Originator name shown to beneficiaries (cut to 18).
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacsCredit {
    pub payout_id: String,
    /// 6 digits (`12-34-56` and `12 34 56` accepted).
    pub sort_code: String,
    /// 8 digits (shorter numbers are zero-padded on the left, as banks do).
    pub account_number: String,
    pub amount_pence: i64,
    /// Beneficiary account name (cut to 18).
    pub name: String,
    /// Reference on the beneficiary's statement (cut to 18; at least 6 characters after
    /// cleaning, a Bacs rule).
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacsBatch {
    pub originator: BacsOriginator,
    /// Date the file is created (HDR1).
    pub created_on: NaiveDate,
    /// Processing day ("day 2") written in UHL1.
    pub processing_day: NaiveDate,
    /// File serial, 1–999 per day.
    pub file_number: u16,
    pub credits: Vec<BacsCredit>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standard18 {
    pub text: String,
    pub credit_count: usize,
    pub credit_total_pence: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacsError {
    #[error("a file needs between 1 and {MAX_BATCH_ENTRIES} credits, not {0}")]
    BatchSize(usize),
    #[error("{0}: sort code must be 6 digits")]
    SortCode(String),
    #[error("{0}: account number must be 6–8 digits")]
    AccountNumber(String),
    #[error("service user number must be 6 digits")]
    ServiceUserNumber,
    #[error("payout `{0}`: amount must be between 1 and {MAX_AMOUNT_PENCE} pence")]
    Amount(String),
    #[error("payout `{0}`: name is empty once reduced to the Bacs character set")]
    EmptyName(String),
    #[error("payout `{0}`: reference must have at least 6 characters of the Bacs set")]
    Reference(String),
    #[error("file number must be 1–999")]
    FileNumber,
    #[error("total overflows the 13-digit total field")]
    Overflow,
}

fn digits(input: &str, allow_sep: bool) -> Option<String> {
    let d: String = input
        .chars()
        .filter(|c| !(allow_sep && (*c == '-' || *c == ' ')))
        .collect();
    (d.bytes().all(|b| b.is_ascii_digit())).then_some(d)
}

fn sort_code(label: &str, s: &str) -> Result<String, BacsError> {
    digits(s, true)
        .filter(|d| d.len() == 6)
        .ok_or_else(|| BacsError::SortCode(label.to_owned()))
}

fn account(label: &str, s: &str) -> Result<String, BacsError> {
    digits(s, true)
        .filter(|d| (6..=8).contains(&d.len()))
        .map(|d| format!("{d:0>8}"))
        .ok_or_else(|| BacsError::AccountNumber(label.to_owned()))
}

/// ` YYDDD`: a space, the two-digit year and the day of the year.
fn julian(date: NaiveDate) -> String {
    format!(" {:02}{:03}", date.year().rem_euclid(100), date.ordinal())
}

/// Builds the Standard 18 file.
pub fn standard18(batch: &BacsBatch) -> Result<Standard18, BacsError> {
    let n = batch.credits.len();
    if n == 0 || n > MAX_BATCH_ENTRIES {
        return Err(BacsError::BatchSize(n));
    }
    let o = &batch.originator;
    let sun = digits(&o.service_user_number, false)
        .filter(|d| d.len() == 6)
        .ok_or(BacsError::ServiceUserNumber)?;
    let o_sort = sort_code("originator", &o.sort_code)?;
    let o_acct = account("originator", &o.account_number)?;
    let o_name = bank_upper(&o.name, 18);
    if o_name.is_empty() {
        return Err(BacsError::EmptyName("originator".into()));
    }
    if !(1..=999).contains(&batch.file_number) {
        return Err(BacsError::FileNumber);
    }
    let overflow = || BacsError::Overflow;

    let mut data = Vec::with_capacity(n + 1);
    let mut total: i64 = 0;
    for c in &batch.credits {
        let id = &c.payout_id;
        let label = format!("payout `{id}`");
        let sort = sort_code(&label, &c.sort_code)?;
        let acct = account(&label, &c.account_number)?;
        if !(1..=MAX_AMOUNT_PENCE).contains(&c.amount_pence) {
            return Err(BacsError::Amount(id.clone()));
        }
        let name = bank_upper(&c.name, 18);
        if name.is_empty() {
            return Err(BacsError::EmptyName(id.clone()));
        }
        let reference = bank_upper(&c.reference, 18);
        if reference.chars().filter(|ch| *ch != ' ').count() < 6 {
            return Err(BacsError::Reference(id.clone()));
        }
        total = total.checked_add(c.amount_pence).ok_or_else(overflow)?;
        let pence = u64::try_from(c.amount_pence).map_err(|_| overflow())?;
        data.push(format!(
            "{sort}{acct}099{o_sort}{o_acct}{free}{amount}{o_name18}{reference18}{name18}",
            free = pad_right("", 4),
            amount = zero_pad(pence, 11).ok_or_else(overflow)?,
            o_name18 = pad_right(&o_name, 18),
            reference18 = pad_right(&reference, 18),
            name18 = pad_right(&name, 18),
        ));
    }
    let total_u = u64::try_from(total).map_err(|_| overflow())?;
    data.push(format!(
        "{o_sort}{o_acct}017{o_sort}{o_acct}{free}{amount}{narrative}{contra}{o_name18}",
        free = pad_right("", 4),
        amount = zero_pad(total_u, 11).ok_or_else(overflow)?,
        narrative = pad_right(&o_name, 18),
        contra = pad_right("CONTRA", 18),
        o_name18 = pad_right(&o_name, 18),
    ));

    let created = julian(batch.created_on);
    let expiry = julian(batch.created_on);
    let file_id = format!("A{sun}S  {sun}");
    let hdr1 = |tag: &str| {
        format!(
            "{tag}{file_id:<17}{set}00010001{generation}{created}{expiry} 000000{system}{reserved}",
            set = pad_right(&sun, 6),
            generation = pad_right("", 6),
            system = pad_right("", 13),
            reserved = pad_right("", 7),
        )
    };
    let hdr2 = |tag: &str| {
        format!(
            "{tag}F0200000100{r1}00{r2}",
            r1 = pad_right("", 35),
            r2 = pad_right("", 28)
        )
    };
    let mut labels_head = vec![
        format!(
            "VOL1{serial}{access}{reserved}{owner}{reserved2}3",
            serial = pad_right(&sun, 6),
            access = " ",
            reserved = pad_right("", 30),
            owner = format!("    {sun}    "),
            reserved2 = pad_right("", 24),
        ),
        hdr1("HDR1"),
        hdr2("HDR2"),
    ];
    labels_head.push(format!(
        "UHL1{day}999999    00000000{work}{file}{r1}{audit}{r2}",
        day = julian(batch.processing_day),
        work = "1 DAILY  ",
        file = zero_pad(u64::from(batch.file_number), 3).ok_or_else(overflow)?,
        r1 = pad_right("", 7),
        audit = pad_right("", 7),
        r2 = pad_right("", 26),
    ));
    let labels_tail = vec![
        hdr1("EOF1"),
        hdr2("EOF2"),
        format!(
            "UTL1{debit}{credit}{debit_count}{credit_count}{reserved}",
            debit = zero_pad(total_u, 13).ok_or_else(overflow)?,
            credit = zero_pad(total_u, 13).ok_or_else(overflow)?,
            debit_count = zero_pad(1, 7).ok_or_else(overflow)?,
            credit_count = zero_pad(n as u64, 7).ok_or_else(overflow)?,
            reserved = pad_right("", 36),
        ),
    ];
    let labels_ok = labels_head
        .iter()
        .chain(&labels_tail)
        .all(|l| l.len() == LABEL_LEN && l.is_ascii());
    let data_ok = data.iter().all(|d| d.len() == DATA_LEN && d.is_ascii());
    if !labels_ok || !data_ok {
        // Unreachable with validated input; a wrong width must never reach the bank.
        return Err(BacsError::Overflow);
    }
    let mut text = labels_head
        .into_iter()
        .chain(data)
        .chain(labels_tail)
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    Ok(Standard18 {
        text,
        credit_count: n,
        credit_total_pence: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credit(id: &str, pence: i64) -> BacsCredit {
        BacsCredit {
            payout_id: id.into(),
            sort_code: "20-00-00".into(),
            account_number: "55779911".into(),
            amount_pence: pence,
            name: "Zoë O'Brien".into(),
            reference: format!("Agora {id}"),
        }
    }

    fn batch(credits: Vec<BacsCredit>) -> BacsBatch {
        BacsBatch {
            originator: BacsOriginator {
                service_user_number: "123456".into(),
                sort_code: "40-47-84".into(),
                account_number: "70872490".into(),
                name: "Agora Marketplace Ltd".into(),
            },
            created_on: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            processing_day: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            file_number: 1,
            credits,
        }
    }

    #[test]
    fn record_lengths_and_totals() {
        let out = standard18(&batch(vec![credit("po1", 12_345), credit("po2", 5)])).unwrap();
        let lines: Vec<&str> = out.text.lines().collect();
        // VOL1 HDR1 HDR2 UHL1, 2 credits, contra, EOF1 EOF2 UTL1.
        assert_eq!(lines.len(), 10);
        for (i, l) in lines.iter().enumerate() {
            let expected = if (4..7).contains(&i) { 100 } else { 80 };
            assert_eq!(l.len(), expected, "line {i}: {l:?}");
        }
        assert_eq!(
            lines[4],
            concat!(
                "200000",             // destination sort code
                "55779911",           // destination account
                "0",                  // account type
                "99",                 // credit
                "404784",             // originating sort code
                "70872490",           // originating account
                "    ",               // free format
                "00000012345",        // £123.45 in pence
                "AGORA MARKETPLACE ", // originator name (18)
                "AGORA PO1         ", // reference (18)
                "ZOE O BRIEN       ", // beneficiary (18)
            )
        );
        assert_eq!(&lines[5][35..46], "00000000005");
        // Contra: the originating account, code 17, the total 123.50.
        assert_eq!(&lines[6][..17], "40478470872490017");
        assert_eq!(&lines[6][35..46], "00000012350");
        assert_eq!(&lines[6][64..82], "CONTRA            ");
        // 25 Nov 2026 is day 329; 26 Nov is 330.
        assert_eq!(&lines[1][41..47], " 26329");
        assert_eq!(&lines[3][4..10], " 26330");
        assert_eq!(&lines[3][28..40], "1 DAILY  001");
        assert_eq!(
            &lines[9][..44],
            concat!(
                "UTL1",
                "0000000012350",
                "0000000012350",
                "0000001",
                "0000002"
            )
        );
        assert_eq!(out.credit_total_pence, 12_350);
        assert!(lines[0].starts_with("VOL1123456"));
        assert!(lines[7].starts_with("EOF1A123456S  123456"));
    }

    #[test]
    fn refuses_bad_input() {
        let err = |c: BacsCredit| standard18(&batch(vec![c])).unwrap_err();
        let mut c = credit("po1", 1);
        c.sort_code = "20-00".into();
        assert!(matches!(err(c), BacsError::SortCode(_)));
        let mut c = credit("po1", 1);
        c.account_number = "12345".into();
        assert!(matches!(err(c), BacsError::AccountNumber(_)));
        assert!(matches!(err(credit("po1", 0)), BacsError::Amount(_)));
        let mut c = credit("po1", 1);
        c.reference = "ab".into();
        assert!(matches!(err(c), BacsError::Reference(_)));
        assert!(matches!(
            standard18(&batch(vec![])),
            Err(BacsError::BatchSize(0))
        ));
        // Short account numbers are zero-padded like the banks do.
        let mut c = credit("po1", 1);
        c.account_number = "1234567".into();
        let out = standard18(&batch(vec![c])).unwrap();
        assert_eq!(&out.text.lines().nth(4).unwrap()[6..14], "01234567");
    }
}
