//! A person's identity: US SSNs, Swedish personnummer, date of birth, national id numbers.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use super::{all_digits, bounded, compact, digits, luhn_valid, Failure};

const ID_FORMAT: &str = "invalid_id_number_format";
const ID_CHECKSUM: &str = "invalid_id_number_checksum";

/// Checks the last four digits of a US Social Security number. `0000` is refused: no SSN
/// has that serial number.
pub fn ssn_last_4(input: &str) -> Result<String, Failure> {
    const CODE: &str = "invalid_ssn_last_4";
    let s = bounded(input, CODE)?;
    if s.len() != 4 || !all_digits(s) || s == "0000" {
        return Err(Failure::new(
            CODE,
            "Enter the last 4 digits of the Social Security number.",
        ));
    }
    Ok(s.to_owned())
}

/// Checks a full US Social Security number (`123-45-6789`, `123 45 6789` or `123456789`)
/// against the ranges the SSA never issues: area 000, 666 and 900–999, group 00, serial
/// 0000, plus the two numbers known from misuse (078-05-1120 printed on wallet inserts,
/// 219-09-9999 from an advertisement). Returns the 9 digits.
pub fn us_ssn(input: &str) -> Result<String, Failure> {
    let s = compact(bounded(input, ID_FORMAT)?, &['-']);
    if s.len() != 9 || !all_digits(&s) {
        return Err(Failure::new(
            ID_FORMAT,
            "A Social Security number has 9 digits, e.g. 123-45-6789.",
        ));
    }
    let (area, rest) = s.split_at(3);
    let (group, serial) = rest.split_at(2);
    let never_issued = area == "000"
        || area == "666"
        || area.starts_with('9')
        || group == "00"
        || serial == "0000"
        || s == "078051120"
        || s == "219099999";
    if never_issued {
        return Err(Failure::new(
            ID_FORMAT,
            "This is not a Social Security number that can have been issued: check the digits.",
        ));
    }
    Ok(s)
}

/// A valid Swedish personal identity number (personnummer) or coordination number
/// (samordningsnummer).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Personnummer {
    /// `YYYYMMDDNNNC`, the day as written (plus 60 for a coordination number).
    canonical: String,
    birth_date: NaiveDate,
    coordination: bool,
}

impl Personnummer {
    /// The 12-digit form `YYYYMMDDNNNC`, as the Swedish Tax Agency writes it in files.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// A samordningsnummer: issued to people not registered in Sweden, day of birth + 60.
    pub fn is_coordination_number(&self) -> bool {
        self.coordination
    }
}

// An identity number is personal data: Debug does not print it.
impl fmt::Debug for Personnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Personnummer(…)")
    }
}

/// Checks a Swedish personnummer in any of its written forms:
///
/// - `YYMMDD-NNNC` and `YYMMDDNNNC`: the century is the one that makes the person at most 99
///   years old on `today`;
/// - `YYMMDD+NNNC`: the person is 100 or older, so one century further back;
/// - `YYYYMMDDNNNC` (or `YYYYMMDD-NNNC`): the century is given.
///
/// A day of month between 61 and 91 marks a samordningsnummer (the day plus 60). The date
/// must exist in the calendar and not be after `today`; the last digit is a Luhn check over
/// the 10 digits `YYMMDDNNNC`. Spaces are ignored; the `-`/`+` separator is meaningful.
pub fn personnummer(input: &str, today: NaiveDate) -> Result<Personnummer, Failure> {
    let s: String = bounded(input, ID_FORMAT)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let format = || {
        Failure::new(
            ID_FORMAT,
            "A personnummer is written YYMMDD-NNNN or YYYYMMDDNNNN.",
        )
    };
    if !s.is_ascii() {
        return Err(format());
    }
    // (explicit century digits, YYMMDD, separator, NNNC)
    let (century, date_part, separator, tail) = match s.len() {
        10 => (None, &s[..6], '-', &s[6..]),
        11 => (None, &s[..6], char::from(s.as_bytes()[6]), &s[7..]),
        12 => (Some(&s[..2]), &s[2..8], '-', &s[8..]),
        13 => (
            Some(&s[..2]),
            &s[2..8],
            char::from(s.as_bytes()[8]),
            &s[9..],
        ),
        _ => return Err(format()),
    };
    if !matches!(separator, '-' | '+')
        || !all_digits(date_part)
        || !all_digits(tail)
        || century.is_some_and(|c| !all_digits(c))
    {
        return Err(format());
    }
    let d = digits(date_part);
    let yy = (d[0] * 10 + d[1]) as i32;
    let month = d[2] * 10 + d[3];
    let written_day = d[4] * 10 + d[5];
    let (day, coordination) = if written_day > 60 {
        (written_day - 60, true)
    } else {
        (written_day, false)
    };
    let bad_date = || {
        Failure::new(
            ID_FORMAT,
            "The personnummer does not start with a real date of birth.",
        )
    };
    let birth_date = match century {
        Some(c) => {
            let c = digits(c);
            let year = (c[0] * 10 + c[1]) as i32 * 100 + yy;
            NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad_date)?
        }
        None => {
            // The latest date with these two year digits that is not after today...
            let mut year = today.year() - (today.year() - yy).rem_euclid(100);
            // (validate month and day on a leap year first, so 29 February is judged below
            // on the actual year)
            NaiveDate::from_ymd_opt(2000, month, day).ok_or_else(bad_date)?;
            if NaiveDate::from_ymd_opt(year, month, day).is_none_or(|date| date > today) {
                year -= 100;
            }
            // ...and a century earlier for people aged 100 or more.
            if separator == '+' {
                year -= 100;
            }
            NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad_date)?
        }
    };
    if birth_date > today {
        return Err(Failure::new(
            ID_FORMAT,
            "The personnummer's date of birth is in the future.",
        ));
    }
    let ten = format!("{date_part}{tail}");
    if !luhn_valid(&ten) {
        return Err(Failure::new(
            ID_CHECKSUM,
            "The personnummer's last digit does not match: a digit was probably mistyped.",
        ));
    }
    Ok(Personnummer {
        canonical: format!("{:04}{}", birth_date.year(), &ten[2..]),
        birth_date,
        coordination,
    })
}

/// Completed years of age on `today`. Someone born on 29 February has their birthday on
/// 1 March in other years (the day after 28 February), as in UK and Swedish practice.
fn age_on(birth: NaiveDate, today: NaiveDate) -> i32 {
    let before_birthday = (today.month(), today.day()) < (birth.month(), birth.day());
    today.year() - birth.year() - i32::from(before_birthday)
}

/// Youngest age a seller (or a company's representative) may be.
pub const MIN_AGE: i32 = 18;
/// Oldest plausible age; older dates are almost always typing errors.
pub const MAX_AGE: i32 = 120;

/// Checks a date of birth written `YYYY-MM-DD`: a real date, not after `today`, age at
/// least 18 (the 18th birthday itself counts) and at most 120. A future date fails with
/// `invalid_dob_format`, as an impossible date.
pub fn date_of_birth(input: &str, today: NaiveDate) -> Result<NaiveDate, Failure> {
    const FORMAT: &str = "invalid_dob_format";
    let s = bounded(input, FORMAT)?;
    let format = || {
        Failure::new(
            FORMAT,
            "Enter the date of birth as YYYY-MM-DD, e.g. 1985-04-23.",
        )
    };
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(format());
    }
    let (y, m, d) = (&s[..4], &s[5..7], &s[8..]);
    if !all_digits(y) || !all_digits(m) || !all_digits(d) {
        return Err(format());
    }
    let num = |p: &str| digits(p).iter().fold(0u32, |acc, &x| acc * 10 + x);
    let birth = NaiveDate::from_ymd_opt(num(y) as i32, num(m), num(d))
        .ok_or_else(|| Failure::new(FORMAT, "This date does not exist in the calendar."))?;
    if birth > today {
        return Err(Failure::new(FORMAT, "The date of birth is in the future."));
    }
    let age = age_on(birth, today);
    if age < MIN_AGE {
        return Err(Failure::new(
            "invalid_dob_age_under_minimum",
            format!("You must be at least {MIN_AGE} years old."),
        ));
    }
    if age > MAX_AGE {
        return Err(Failure::new(
            "invalid_dob_age_over_maximum",
            "This date of birth is more than 120 years ago: check the year.",
        ));
    }
    Ok(birth)
}

/// Countries whose people write dates day first with dots (`31.01.1990`); the rest of
/// Europe writes them day first with slashes or dashes, the US month first.
const DOT_DATE_COUNTRIES: &[&str] = &[
    "AT", "CH", "CZ", "DE", "DK", "EE", "FI", "HR", "HU", "IS", "LI", "LT", "LU", "LV", "NO", "PL",
    "RO", "RS", "SI", "SK", "TR", "UA",
];

/// How people in `country` usually write a date: `dot` (`31.01.1990`), `us` (`01/31/1990`),
/// `iso` (Sweden, Lithuania: `1990-01-31`) or `dmy` (`31/01/1990`).
pub fn date_style(country: &str) -> &'static str {
    let c = country.trim().to_ascii_uppercase();
    match c.as_str() {
        "SE" => "iso",
        "US" => "us",
        c if DOT_DATE_COUNTRIES.contains(&c) => "dot",
        _ => "dmy",
    }
}

/// A date as a person types it, rewritten `YYYY-MM-DD` for [`date_of_birth`]: `19800315`
/// (what a phone's number pad, which has no `-`, can type), `1980-03-15`, `1980.03.15`,
/// `1980/03/15`, and the country's usual day-first form (`15.03.1980`, `15/03/1980`,
/// `15-03-1980`; month first in the US: `03/15/1980`), with one- or two-digit day and month.
/// `None` when it has none of these shapes (then the caller passes the text on as it was, and
/// the validator names the problem); whether the date exists is [`date_of_birth`]'s to say.
pub fn typed_date(country: &str, input: &str) -> Option<String> {
    if input.len() > super::MAX_INPUT_LEN {
        return None;
    }
    let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() == 8 && all_digits(&s) {
        return Some(format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..]));
    }
    let parts: Vec<&str> = s.split(['-', '.', '/']).collect();
    if parts.len() != 3 || !parts.iter().all(|p| !p.is_empty() && all_digits(p)) {
        return None;
    }
    let two = |p: &str| (p.len() <= 2).then(|| format!("{p:0>2}"));
    if parts[0].len() == 4 {
        return Some(format!(
            "{}-{}-{}",
            parts[0],
            two(parts[1])?,
            two(parts[2])?
        ));
    }
    if parts[2].len() != 4 {
        return None;
    }
    let (day, month) = if date_style(country) == "us" && s.contains('/') {
        (parts[1], parts[0])
    } else {
        (parts[0], parts[1])
    };
    Some(format!("{}-{}-{}", parts[2], two(month)?, two(day)?))
}

/// Checks a person's national identity number for `country` (ISO alpha-2, any case):
///
/// - `SE`: a [`personnummer`], returned in its 12-digit form;
/// - `US`: a full Social Security number ([`us_ssn`]), returned as 9 digits;
/// - any other country: 1 to 32 letters and digits once spaces, dashes, dots and slashes
///   are removed, returned upper case. Formats elsewhere vary too much to check without
///   rejecting real numbers; the identity document check catches the rest.
pub fn id_number(country: &str, input: &str, today: NaiveDate) -> Result<String, Failure> {
    match country.trim().to_ascii_uppercase().as_str() {
        "SE" => personnummer(input, today).map(|p| p.canonical),
        "US" => us_ssn(input),
        _ => {
            let s = compact(bounded(input, ID_FORMAT)?, &['-', '.', '/']);
            if !(1..=32).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(Failure::new(
                    ID_FORMAT,
                    "An id number has 1 to 32 letters and digits.",
                ));
            }
            Ok(s)
        }
    }
}

/// Whether a company's tax id or registration number (as given, or canonical) is a person's
/// national id in another guise: a sole trader's number in a country whose personal numbers
/// carry the birth date (or are issued to people only), so that the number's end and the
/// person's `dob` rebuild it. A company's own number is public; a person's is not.
///
/// Decided on the number's shape alone, per country (separators, spaces and the country's
/// VAT prefix ignored):
///
/// | country | personal number | its shape here | a company's own (public) |
/// | --- | --- | --- | --- |
/// | SE | personnummer, samordningsnummer (`YYMMDDNNNC`; VAT: SE + it + `01`) | 10 digits (or 12 with the century or the VAT `01`) whose month digit is 0 or 1 | organisationsnummer: that digit is 2 or more |
/// | DK | CPR (`DDMMYYSSSS`) | 10 digits starting with a day and month | CVR: 8 digits |
/// | NO | fødselsnummer, D-nummer (`DDMMYYIIICC`) | 11 digits | organisasjonsnummer: 9 digits |
/// | FI | henkilötunnus (`DDMMYY-ZZZQ`) | 10–11 characters starting with a day and month | Y-tunnus: 8 digits |
/// | IS | kennitala (`DDMMYY-NNNN`; companies add 40 to the day) | 10 digits, day 01–31 | day 41–71 |
/// | CZ, SK | rodné číslo (`YYMMDD/NNNN`) | 9–10 digits with a month (women +20, +50 or +70) and a day | IČO 8 digits; SK IČ DPH 10 digits but no date |
/// | BG | EGN (`YYMMDDNNNC`) | 10 digits | EIK: 9 digits |
/// | LV | personas kods | 11 digits starting 0–3 | starting 4 or 5 |
/// | EE, LT | isikukood, asmens kodas (`GYYMMDDNNNC`) | 11 digits starting 1–6 | 8 or 9 digits |
/// | PL | PESEL (`YYMMDDNNNNC`) | 11 digits | NIP 10, REGON 9 or 14, KRS 10 |
/// | BE | rijksregisternummer (`YYMMDDNNNCC`) | 11 digits | ondernemingsnummer: 10 digits |
/// | RO | CNP (`SYYMMDDJJNNNC`) | 13 digits | CUI: at most 10 digits |
/// | IT | codice fiscale of a person (birth date and name inside) | 16 letters and digits | partita IVA: 11 digits |
/// | FR | NIR (sex, year, month, place) | 13 or 15 digits | SIREN 9, SIRET 14 digits |
///
/// Elsewhere (the US EIN, UK numbers, German, Dutch, Spanish, … numbers) a company's number
/// carries no birth date: `false`.
pub fn is_personal_number(country: &str, value: &str) -> bool {
    if value.len() > super::MAX_INPUT_LEN {
        // No national id is this long.
        return false;
    }
    let country = country.trim().to_ascii_uppercase();
    let compacted = compact(value, &['-', '.', '/', '+', ',']);
    let prefix = match country.as_str() {
        "GR" => "EL",
        c => c,
    };
    let s = compacted.strip_prefix(prefix).unwrap_or(&compacted);
    let digits_only = all_digits(s);
    let n = s.len();
    let two = |at: usize| -> Option<u32> {
        let part = s.get(at..at + 2)?;
        all_digits(part).then(|| digits(part).iter().fold(0, |a, d| a * 10 + d))
    };
    let day_month = |day_at: usize, month_at: usize| {
        two(day_at).is_some_and(|d| (1..=31).contains(&d))
            && two(month_at).is_some_and(|m| (1..=12).contains(&m))
    };
    match country.as_str() {
        "SE" => {
            // The 10-digit core: YYMMDDNNNC, from the century form or the VAT number.
            let personal_core =
                |core: &str| all_digits(core) && core.len() == 10 && core.as_bytes()[2] < b'2';
            digits_only
                && match n {
                    10 => personal_core(s),
                    // With the century (`19900102…`), or a VAT number (`…01`); either
                    // reading that finds a personnummer decides.
                    12 => {
                        (matches!(&s[..2], "16" | "18" | "19" | "20") && personal_core(&s[2..]))
                            || (s.ends_with("01") && personal_core(&s[..10]))
                    }
                    _ => false,
                }
        }
        "DK" => digits_only && n == 10 && day_month(0, 2),
        "NO" => digits_only && n == 11,
        "FI" => (n == 10 || n == 11) && day_month(0, 2),
        "IS" => digits_only && n == 10 && two(0).is_some_and(|d| (1..=31).contains(&d)),
        "CZ" | "SK" => {
            digits_only
                && (n == 9 || n == 10)
                && two(2).is_some_and(|m| {
                    [0, 20, 50, 70]
                        .iter()
                        .any(|offset| (offset + 1..=offset + 12).contains(&m))
                })
                && two(4).is_some_and(|d| (1..=31).contains(&d))
        }
        "BG" => digits_only && n == 10,
        "LV" => digits_only && n == 11 && s.as_bytes()[0] <= b'3',
        "EE" | "LT" => digits_only && n == 11 && (b'1'..=b'6').contains(&s.as_bytes()[0]),
        "PL" | "BE" => digits_only && n == 11,
        "RO" => digits_only && n == 13,
        "IT" => n == 16 && s.bytes().all(|b| b.is_ascii_alphanumeric()),
        "FR" => digits_only && (n == 13 || n == 15),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn today() -> NaiveDate {
        date(2026, 3, 15)
    }

    #[test]
    fn personnummer_forms_agree() {
        for form in [
            "811218-9876",
            "8112189876",
            "198112189876",
            "19811218-9876",
            " 811218 9876 ",
        ] {
            let p = personnummer(form, today()).unwrap();
            assert_eq!(p.as_str(), "198112189876", "{form}");
            assert_eq!(p.birth_date(), date(1981, 12, 18));
            assert!(!p.is_coordination_number());
        }
    }

    #[test]
    fn personnummer_plus_means_a_century_earlier() {
        let p = personnummer("811218+9876", today()).unwrap();
        assert_eq!(p.birth_date(), date(1881, 12, 18));
        assert_eq!(p.as_str(), "188112189876");
    }

    #[test]
    fn personnummer_century_follows_today() {
        // 2012 is not after today, so a 10-digit number means 2012, not 1912.
        let p = personnummer("121212-1212", today()).unwrap();
        assert_eq!(p.birth_date(), date(2012, 12, 12));
        // 1 December 2026 would be in the future on 15 March 2026: 1926.
        let p = personnummer("261201-0005", today()).unwrap();
        assert_eq!(p.birth_date().year(), 1926);
    }

    #[test]
    fn samordningsnummer() {
        // Born 3 October 1970; day 63 = 3 + 60. (python-stdnum does not know coordination numbers.)
        let p = personnummer("701063-2391", today()).unwrap();
        assert!(p.is_coordination_number());
        assert_eq!(p.birth_date(), date(1970, 10, 3));
        assert_eq!(p.as_str(), "197010632391");
    }

    #[test]
    fn personnummer_failures() {
        let code = |s: &str| personnummer(s, today()).unwrap_err().code;
        assert_eq!(code("811218-9875"), ID_CHECKSUM);
        assert_eq!(code("811318-9876"), ID_FORMAT); // month 13
        assert_eq!(code("810230-1234"), ID_FORMAT); // 30 February
        assert_eq!(code("811218*9876"), ID_FORMAT);
        assert_eq!(code("81121-89876"), ID_FORMAT);
        assert_eq!(code("811218-987"), ID_FORMAT);
        assert_eq!(code("811218-98é6"), ID_FORMAT);
        assert_eq!(code("203012189876"), ID_FORMAT); // born in 2030
    }

    #[test]
    fn dates_typed_on_a_phone_or_as_the_country_writes_them() {
        for (country, typed, iso) in [
            ("SE", "19800315", Some("1980-03-15")),
            ("SE", "1980-03-15", Some("1980-03-15")),
            ("SE", " 1980 03 15 ", Some("1980-03-15")),
            ("DE", "15.03.1980", Some("1980-03-15")),
            ("DE", "5.3.1980", Some("1980-03-05")),
            ("DE", "1980.03.15", Some("1980-03-15")),
            ("FR", "15/03/1980", Some("1980-03-15")),
            ("US", "03/15/1980", Some("1980-03-15")),
            ("US", "19800315", Some("1980-03-15")),
            ("SE", "800315", None),
            ("SE", "15.03.80", None),
            ("SE", "1980-003-15", None),
            ("SE", "15 mars 1980", None),
            ("SE", "", None),
            ("SE", "1980-03-15-01", None),
        ] {
            assert_eq!(
                typed_date(country, typed).as_deref(),
                iso,
                "{country} {typed:?}"
            );
        }
        // What it rewrites, the validator then checks as usual.
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let iso = typed_date("SE", "19800230").unwrap();
        assert_eq!(
            date_of_birth(&iso, today).unwrap_err().code,
            "invalid_dob_format"
        );
    }

    #[test]
    fn dob_age_limits() {
        let t = today();
        assert_eq!(date_of_birth("2008-03-15", t).unwrap(), date(2008, 3, 15));
        assert_eq!(
            date_of_birth("2008-03-16", t).unwrap_err().code,
            "invalid_dob_age_under_minimum"
        );
        assert_eq!(date_of_birth("1905-03-16", t).unwrap(), date(1905, 3, 16));
        assert_eq!(
            date_of_birth("1905-03-15", t).unwrap_err().code,
            "invalid_dob_age_over_maximum"
        );
        assert_eq!(
            date_of_birth("2027-01-01", t).unwrap_err().code,
            "invalid_dob_format"
        );
        assert_eq!(
            date_of_birth("1990-02-30", t).unwrap_err().code,
            "invalid_dob_format"
        );
        assert_eq!(
            date_of_birth("1990-2-3", t).unwrap_err().code,
            "invalid_dob_format"
        );
        assert_eq!(
            date_of_birth("03/02/1990", t).unwrap_err().code,
            "invalid_dob_format"
        );
    }

    #[test]
    fn dob_leap_day_birthday_is_first_of_march() {
        // Born 29 Feb 2008: 18 on 1 March 2026, not on 28 February.
        assert_eq!(
            date_of_birth("2008-02-29", date(2026, 2, 28))
                .unwrap_err()
                .code,
            "invalid_dob_age_under_minimum"
        );
        assert!(date_of_birth("2008-02-29", date(2026, 3, 1)).is_ok());
        // In a leap year the birthday is the day itself.
        assert!(date_of_birth("2012-02-29", date(2030, 2, 29 - 1)).is_err());
        assert!(date_of_birth("2012-02-29", date(2032, 2, 29)).is_ok());
    }

    #[test]
    fn ssn_rules() {
        assert_eq!(us_ssn("123-45-6789").unwrap(), "123456789");
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
            "12345678",
        ] {
            assert_eq!(us_ssn(bad).unwrap_err().code, ID_FORMAT, "{bad}");
        }
        assert_eq!(ssn_last_4("6789").unwrap(), "6789");
        assert_eq!(ssn_last_4("678").unwrap_err().code, "invalid_ssn_last_4");
        assert_eq!(ssn_last_4("0000").unwrap_err().code, "invalid_ssn_last_4");
    }

    #[test]
    fn personal_numbers_hidden_in_company_numbers() {
        for (country, value) in [
            ("SE", "SE900102123801"), // a sole trader's VAT number
            ("SE", "900102-1238"),
            ("SE", "19900102-1238"),
            ("SE", "701063-2391"), // samordningsnummer
            ("se", "se 900102123801"),
            ("DK", "020190-4711"),
            ("NO", "020190 49321"),
            ("FI", "020190-937X"),
            ("FI", "020190A937X"),
            ("IS", "020190-4719"),
            ("CZ", "CZ9001020123"),
            ("CZ", "905102/123"),
            ("SK", "9051021234"),
            ("BG", "BG9001021234"),
            ("LV", "LV02019012345"),
            ("EE", "39001020123"),
            ("LT", "39001020123"),
            ("PL", "90010212345"),
            ("BE", "90.01.02-123.45"),
            ("RO", "1900102123456"),
            ("IT", "RSSMRA90A02H501X"),
            ("FR", "190017512345678"),
        ] {
            assert!(is_personal_number(country, value), "{country} {value}");
        }
        for (country, value) in [
            ("SE", "556036-0793"),
            ("SE", "SE556036079301"),
            ("SE", "165560360793"),
            ("DK", "DK13585628"),
            ("NO", "923609016"),
            ("FI", "FI20774740"),
            ("FI", "2077474-0"),
            ("IS", "550500-3530"),
            ("CZ", "CZ25123891"),
            ("SK", "SK2020317068"),
            ("BG", "BG175074752"),
            ("LV", "LV40003521600"),
            ("EE", "EE100931558"),
            ("LT", "LT119511515"),
            ("PL", "PL5260250274"),
            ("BE", "BE0403019261"),
            ("RO", "RO18547290"),
            ("IT", "IT00743110157"),
            ("FR", "FR40303265045"),
            ("FR", "732 829 320 00074"),
            ("DE", "DE136695976"),
            ("DE", "HRB 123456"),
            ("US", "12-3456789"),
            ("GB", "GB980780684"),
            ("SE", ""),
        ] {
            assert!(!is_personal_number(country, value), "{country} {value}");
        }
    }

    #[test]
    fn id_number_dispatch() {
        let t = today();
        assert_eq!(id_number("se", "811218-9876", t).unwrap(), "198112189876");
        assert_eq!(
            id_number("SE", "811218-9875", t).unwrap_err().code,
            ID_CHECKSUM
        );
        assert_eq!(id_number("US", "123-45-6789", t).unwrap(), "123456789");
        assert_eq!(id_number("FR", "ab 123-456", t).unwrap(), "AB123456");
        assert_eq!(id_number("FR", "", t).unwrap_err().code, ID_FORMAT);
        assert_eq!(
            id_number("FR", &"1".repeat(33), t).unwrap_err().code,
            ID_FORMAT
        );
        assert_eq!(id_number("FR", "12#4", t).unwrap_err().code, ID_FORMAT);
    }
}
