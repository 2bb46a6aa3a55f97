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
