//! Pure checks for the values a seller gives during KYC: bank details, tax and personal ids,
//! contact details, addresses. No database, no HTTP, no clock: functions that depend on the
//! date take `today` so callers (and tests) decide what "now" is.
//!
//! Every function trims surrounding whitespace, refuses input longer than
//! [`MAX_INPUT_LEN`] bytes before doing any work, and returns either the value in its
//! canonical form (separators stripped, upper-cased where the format is case-insensitive) or a
//! [`Failure`]. None of them panics, whatever the input (a property test feeds them arbitrary
//! Unicode).
//!
//! A [`Failure`]'s `reason` never repeats the value: account numbers and national ids are
//! secrets, and reasons end up in logs and API responses.
//!
//! # Failure codes
//!
//! The codes are part of the public API: clients branch on them. Add codes, never rename them.
//!
//! | code | returned by | meaning |
//! | --- | --- | --- |
//! | `invalid_iban_format` | [`iban()`] | not the IBAN structure, or wrong length / BBAN layout for its country |
//! | `invalid_iban_checksum` | [`iban()`] | the two check digits (ISO 7064 mod 97-10) do not match |
//! | `invalid_iban_country` | [`iban()`] | the country prefix is not a country that issues IBANs |
//! | `invalid_bic` | [`bic`] | not 8 or 11 characters of `AAAA CC LL [BBB]`, or unknown country |
//! | `invalid_routing_number` | [`aba_routing_number`] | not 9 digits, bad check digit, or a Federal Reserve prefix that is not assigned |
//! | `invalid_account_number` | [`us_account_number`], [`gb_account_number`] | wrong number of digits |
//! | `invalid_sort_code` | [`sort_code`] | not 6 digits |
//! | `invalid_ssn_last_4` | [`ssn_last_4`] | not 4 digits |
//! | `invalid_id_number_format` | [`us_ssn`], [`personnummer`], [`id_number`] | wrong shape, impossible date, or a number range never issued |
//! | `invalid_id_number_checksum` | [`personnummer`], [`id_number`] | the check digit does not match |
//! | `invalid_tax_id_format` | [`ein`], [`organisationsnummer`], [`eu_vat`], [`tax_id`] | wrong shape or length, unknown prefix |
//! | `invalid_tax_id_checksum` | [`organisationsnummer`], [`eu_vat`], [`tax_id`] | the check digit(s) do not match |
//! | `invalid_phone_number` | [`phone`] | not E.164 (`+` and 8 to 15 digits) or unknown country calling code |
//! | `invalid_email` | [`email`] | not an address of the form `name@example.com` |
//! | `invalid_dob_format` | [`date_of_birth`] | not `YYYY-MM-DD`, not a real date, or in the future |
//! | `invalid_dob_age_under_minimum` | [`date_of_birth`] | younger than 18 |
//! | `invalid_dob_age_over_maximum` | [`date_of_birth`] | older than 120 |
//! | `missing_address_field` | [`address`] | a field the country requires is empty |
//! | `invalid_address_postal_code` | [`address`] | postal code not in the country's format |
//! | `invalid_address_state` | [`address`] | not a USPS state, DC or territory code |
//! | `invalid_address_field` | [`address`] | a field longer than 200 characters or with control characters |
//! | `invalid_address_country` | [`address`] | unknown country, or the address's country differs from the account's |
//! | `invalid_url_format` | [`url()`] | not an absolute `http`/`https` URL whose host is an IP address or a name with a dot and a top-level label of 2+ letters |
//! | `invalid_mcc` | [`mcc`] | not 4 digits in 0742–9999 |
//!
//! Fields that exceed a length bound fail with the field's own format code.

mod bank;
mod contact;
mod person;
mod tax;

pub use bank::{
    aba_routing_number, bic, gb_account_number, iban, iban_length, sort_code, us_account_number,
    Iban,
};
pub use contact::{address, calling_code, email, mcc, national_phone, phone, url, AddressInput};
pub use person::{
    date_of_birth, date_style, id_number, is_personal_number, personnummer, ssn_last_4, typed_date,
    us_ssn, Personnummer,
};
pub use tax::{ein, eu_vat, is_eu_member, organisationsnummer, tax_id, VatNumber};

use std::fmt;

/// Longest input any check looks at, in bytes. Real values are far shorter (an IBAN has at
/// most 34 characters); the bound keeps hostile input from costing anything.
pub const MAX_INPUT_LEN: usize = 256;

/// A failed check: `code` is a stable machine-readable string (see the table in the module
/// documentation), `reason` is one English sentence a seller can act on. The reason never
/// echoes the full value: values may be secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub reason: String,
}

impl Failure {
    pub(crate) fn new(code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

impl std::error::Error for Failure {}

/// The common start of every check: bound the length, then trim.
pub(crate) fn bounded<'a>(input: &'a str, code: &'static str) -> Result<&'a str, Failure> {
    if input.len() > MAX_INPUT_LEN {
        return Err(Failure::new(
            code,
            format!("The value is too long (at most {MAX_INPUT_LEN} characters)."),
        ));
    }
    Ok(input.trim())
}

/// Removes the separators people type inside numbers (spaces, dashes, dots) and upper-cases
/// ASCII letters. Other characters stay, so the format check that follows still sees them.
pub(crate) fn compact(input: &str, separators: &[char]) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && !separators.contains(c))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub(crate) fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Digit values of an all-ASCII-digit string (callers check [`all_digits`] first).
pub(crate) fn digits(s: &str) -> Vec<u32> {
    s.bytes().map(|b| u32::from(b.wrapping_sub(b'0'))).collect()
}

/// Luhn (mod 10) check over the whole string, the last digit being the check digit.
pub(crate) fn luhn_valid(s: &str) -> bool {
    if !all_digits(s) {
        return false;
    }
    let sum: u32 = digits(s)
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// ISO 3166-1 alpha-2, upper case.
pub(crate) fn is_country(code: &str) -> bool {
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && isocountry::CountryCode::for_alpha2(code).is_ok()
}

/// The non-secret end of a value, for display ("ending in 1234").
pub(crate) fn last_n(s: &str, n: usize) -> &str {
    let start = s.len().saturating_sub(n);
    // Canonical forms are ASCII, but stay on a char boundary regardless.
    s.get(start..).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_values() {
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("12a4"));
    }

    #[test]
    fn too_long_input_is_refused_before_trimming() {
        let long = format!("{}DE89370400440532013000", " ".repeat(MAX_INPUT_LEN));
        assert_eq!(
            iban(&long).map(|_| ()).unwrap_err().code,
            "invalid_iban_format"
        );
    }

    mod properties {
        use super::super::*;
        use chrono::NaiveDate;
        use proptest::prelude::*;

        fn today() -> NaiveDate {
            NaiveDate::from_ymd_opt(2026, 3, 15).unwrap_or_default()
        }

        /// Every check, on any input; returns the codes so the caller can look at them.
        fn run_all(s: &str) -> Vec<Option<&'static str>> {
            let t = today();
            let code = |r: Result<(), Failure>| r.err().map(|f| f.code);
            let mut codes = vec![
                code(iban(s).map(|_| ())),
                code(bic(s).map(|_| ())),
                code(aba_routing_number(s).map(|_| ())),
                code(us_account_number(s).map(|_| ())),
                code(gb_account_number(s).map(|_| ())),
                code(sort_code(s).map(|_| ())),
                code(ssn_last_4(s).map(|_| ())),
                code(us_ssn(s).map(|_| ())),
                code(ein(s).map(|_| ())),
                code(personnummer(s, t).map(|_| ())),
                code(organisationsnummer(s).map(|_| ())),
                code(eu_vat(s).map(|_| ())),
                code(phone(s).map(|_| ())),
                code(email(s).map(|_| ())),
                code(date_of_birth(s, t).map(|_| ())),
                code(url(s).map(|_| ())),
                code(mcc(s).map(|_| ())),
            ];
            for country in ["US", "SE", "GB", "DE", "FR", "ES", "NL", "GR", "CH", s] {
                codes.push(code(tax_id(country, s).map(|_| ())));
                codes.push(code(id_number(country, s, t).map(|_| ())));
                let input = AddressInput {
                    line1: Some(s),
                    line2: Some(s),
                    city: Some(s),
                    postal_code: Some(s),
                    state: Some(s),
                    country: Some(s),
                };
                let _ = address(country, &input);
            }
            codes
        }

        proptest! {
            #[test]
            fn no_check_panics_on_arbitrary_unicode(s in "\\PC{0,300}") {
                run_all(&s);
            }

            #[test]
            fn no_check_panics_on_near_valid_input(
                s in "[A-Z]{0,3}[0-9 +\\-.éß]{0,30}[A-Z]{0,2}[0-9]{0,3}"
            ) {
                run_all(&s);
            }

            // Any 18-digit German BBAN with the right check digits is accepted in any spacing
            // and case; changing one digit is always caught (mod 97 detects every single
            // substitution).
            #[test]
            fn generated_german_ibans(bban in "[0-9]{18}", pos in 0usize..18, bump in 1u8..10) {
                let rem = format!("{bban}131400")
                    .bytes()
                    .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
                let valid = format!("DE{:02}{bban}", 98 - rem);
                let spaced: String = valid
                    .to_lowercase()
                    .chars()
                    .enumerate()
                    .flat_map(|(i, c)| (i > 0 && i % 4 == 0).then_some(' ').into_iter().chain([c]))
                    .collect();
                prop_assert_eq!(iban(&spaced).map(|i| i.as_str().to_owned()), Ok(valid.clone()));
                let mut typo = valid.into_bytes();
                typo[4 + pos] = b'0' + (typo[4 + pos] - b'0' + bump) % 10;
                let typo = String::from_utf8(typo).unwrap_or_default();
                prop_assert_eq!(iban(&typo).map_err(|f| f.code), Err("invalid_iban_checksum"));
            }

            // Canonical forms are fixed points: validating the output gives the output.
            #[test]
            fn canonical_forms_revalidate_to_themselves(s in "[A-Z]{2}[0-9]{2}[0-9A-Z]{10,20}|[0-9]{9,12}|[A-Z]{2}[0-9]{8,12}") {
                if let Ok(v) = iban(&s) { prop_assert_eq!(iban(v.as_str()).ok(), Some(v)); }
                if let Ok(v) = eu_vat(&s) { prop_assert_eq!(eu_vat(v.as_str()).ok(), Some(v)); }
                if let Ok(v) = aba_routing_number(&s) { prop_assert_eq!(aba_routing_number(&v).ok(), Some(v)); }
                for country in ["SE", "DE", "GB", "US"] {
                    if let Ok(v) = tax_id(country, &s) {
                        prop_assert_eq!(tax_id(country, &v).ok(), Some(v));
                    }
                }
                if let Ok(v) = personnummer(&s, today()) {
                    prop_assert_eq!(personnummer(v.as_str(), today()).ok(), Some(v));
                }
            }
        }

        #[test]
        fn every_failure_code_is_documented() {
            let doc = include_str!("mod.rs");
            let samples = [
                "",
                "x",
                "+1",
                "DE00",
                "0000000000",
                "2001-02-29",
                &"9".repeat(300),
            ];
            for s in samples {
                for code in run_all(s).into_iter().flatten() {
                    assert!(
                        doc.contains(&format!("| `{code}` |")),
                        "undocumented code {code}"
                    );
                }
            }
        }
    }
}
