//! Bank details: IBAN, BIC, US routing and account numbers, UK sort codes and account numbers.

use std::fmt;

use iban::IbanLike;

use super::{all_digits, bounded, compact, digits, is_country, last_n, Failure};

const IBAN_FORMAT: &str = "invalid_iban_format";
const IBAN_CHECKSUM: &str = "invalid_iban_checksum";
const IBAN_COUNTRY: &str = "invalid_iban_country";

/// A valid IBAN in electronic form (no spaces, upper case).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iban(String);

impl Iban {
    /// ISO 3166-1 alpha-2 country code, the first two characters.
    pub fn country(&self) -> &str {
        self.0.get(..2).unwrap_or("")
    }

    /// Electronic form: `DE89370400440532013000`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The national part after the country code and check digits.
    pub fn bban(&self) -> &str {
        self.0.get(4..).unwrap_or("")
    }

    /// Last four characters, the part that may be shown back to the seller.
    pub fn last4(&self) -> &str {
        last_n(&self.0, 4)
    }
}

// Debug shows only the country and last four: an IBAN is an account number.
impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({}…{})", self.country(), self.last4())
    }
}

/// Remainder of the IBAN number (BBAN, then country and check digits, letters as 10..35)
/// modulo 97, computed piecewise so no big integer is needed.
fn iban_mod97(rearranged: &str) -> Option<u32> {
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36)?;
        rem = if v < 10 {
            (rem * 10 + v) % 97
        } else {
            (rem * 100 + v) % 97
        };
    }
    Some(rem)
}

/// Checks an IBAN: structure, the country's length and BBAN layout (from the
/// `iban_validate` crate's copy of the SWIFT IBAN registry), then the mod-97 check digits.
/// Spaces and dashes are ignored and letters may be lower case.
///
/// The country and layout are checked before the check digits so that a seller who typed an
/// IBAN of the wrong length is told so, rather than that a digit is wrong.
pub fn iban(input: &str) -> Result<Iban, Failure> {
    let s = compact(bounded(input, IBAN_FORMAT)?, &['-']);
    let format = || {
        Failure::new(
            IBAN_FORMAT,
            "This is not a valid IBAN: check its length and characters.",
        )
    };
    if !(5..=34).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format());
    }
    let (country, rest) = s.split_at(2);
    let (check, bban) = rest.split_at(2);
    if !country.bytes().all(|b| b.is_ascii_uppercase()) || !all_digits(check) {
        return Err(format());
    }
    // The check digits that would make this IBAN valid; parsing with them isolates the
    // country and layout checks from the checksum.
    let rem = iban_mod97(&format!("{bban}{country}00")).ok_or_else(format)?;
    let expected = format!("{:02}", 98 - rem);
    match format!("{country}{expected}{bban}").parse::<iban::Iban>() {
        Ok(_) => {}
        Err(iban::ParseIbanError::UnknownCountry(_)) => {
            return Err(Failure::new(
                IBAN_COUNTRY,
                format!("IBANs starting with {country} are not issued: check the country code."),
            ))
        }
        Err(_) => {
            return Err(Failure::new(
                IBAN_FORMAT,
                format!(
                    "This does not have the length or layout of an IBAN from {country}: check for missing or extra characters."
                ),
            ))
        }
    }
    if check != expected {
        return Err(Failure::new(
            IBAN_CHECKSUM,
            "The IBAN's check digits do not match: a character was probably mistyped.",
        ));
    }
    let parsed: iban::Iban = s.parse().map_err(|_| format())?;
    Ok(Iban(parsed.electronic_str().to_owned()))
}

/// The length of an IBAN from `country` (ISO alpha-2), from the SWIFT IBAN registry, for the
/// countries of Europe and a few beyond: what a page tells a seller whose IBAN is a character
/// short or long. `None` for a country not listed here.
pub fn iban_length(country: &str) -> Option<usize> {
    const LENGTHS: &[(&str, usize)] = &[
        ("AD", 24),
        ("AT", 20),
        ("BE", 16),
        ("BG", 22),
        ("CH", 21),
        ("CY", 28),
        ("CZ", 24),
        ("DE", 22),
        ("DK", 18),
        ("EE", 20),
        ("ES", 24),
        ("FI", 18),
        ("FO", 18),
        ("FR", 27),
        ("GB", 22),
        ("GI", 23),
        ("GL", 18),
        ("GR", 27),
        ("HR", 21),
        ("HU", 28),
        ("IE", 22),
        ("IS", 26),
        ("IT", 27),
        ("LI", 21),
        ("LT", 20),
        ("LU", 20),
        ("LV", 21),
        ("MC", 27),
        ("MT", 31),
        ("NL", 18),
        ("NO", 15),
        ("PL", 28),
        ("PT", 25),
        ("RO", 24),
        ("SE", 24),
        ("SI", 19),
        ("SK", 24),
        ("SM", 27),
        ("VA", 22),
    ];
    let c = country.trim().to_ascii_uppercase();
    LENGTHS.iter().find(|(k, _)| *k == c).map(|(_, n)| *n)
}

/// Checks a BIC (SWIFT code): 4 alphanumerics for the institution (letters only before ISO
/// 9362:2014, digits allowed since), a valid ISO country code, 2 alphanumerics for the
/// location, optionally 3 alphanumerics for the branch. Returns it upper case without spaces
/// (8 or 11 characters as given).
pub fn bic(input: &str) -> Result<String, Failure> {
    const CODE: &str = "invalid_bic";
    let s = compact(bounded(input, CODE)?, &['-']);
    let invalid = || {
        Failure::new(
            CODE,
            "This is not a valid BIC: it has 8 or 11 letters and digits, e.g. DEUTDEFF or DEUTDEFF500.",
        )
    };
    if !(s.len() == 8 || s.len() == 11) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid());
    }
    let country = s.get(4..6).unwrap_or("");
    if !is_country(country) {
        return Err(Failure::new(
            CODE,
            "The BIC's country code (characters 5 and 6) is not a country.",
        ));
    }
    Ok(s)
}

/// Checks an ABA routing transit number: 9 digits, the check digit (weights 3, 7, 1), and a
/// first two digits in the ranges the Federal Reserve assigns: 00–12 (banks; 00 is the US
/// government), 21–32 (thrifts), 61–72 (electronic), 80 (traveller's cheques). Other prefixes
/// pass the check digit but are never valid for ACH.
pub fn aba_routing_number(input: &str) -> Result<String, Failure> {
    const CODE: &str = "invalid_routing_number";
    let s = compact(bounded(input, CODE)?, &['-']);
    if s.len() != 9 || !all_digits(&s) {
        return Err(Failure::new(CODE, "A routing number has exactly 9 digits."));
    }
    let d = digits(&s);
    let prefix = d[0] * 10 + d[1];
    let known_prefix = matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80);
    if !known_prefix {
        return Err(Failure::new(
            CODE,
            "This is not a routing number in use: check the first two digits.",
        ));
    }
    let sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8]);
    if !sum.is_multiple_of(10) {
        return Err(Failure::new(
            CODE,
            "The routing number's check digit does not match: a digit was probably mistyped.",
        ));
    }
    Ok(s)
}

/// Checks a US bank account number: 4 to 17 digits (the NACHA field is 17 wide). Spaces and
/// dashes are ignored.
pub fn us_account_number(input: &str) -> Result<String, Failure> {
    const CODE: &str = "invalid_account_number";
    let s = compact(bounded(input, CODE)?, &['-']);
    if !(4..=17).contains(&s.len()) || !all_digits(&s) {
        return Err(Failure::new(
            CODE,
            "A US account number has 4 to 17 digits.",
        ));
    }
    Ok(s)
}

/// Checks a UK bank account number and returns it as 8 digits.
///
/// Decision: 6- and 7-digit account numbers are accepted and padded with zeros on the left,
/// as Pay.UK's standard conversion does for the banks that issue them. 9- and 10-digit
/// numbers are refused: converting them depends on the bank and its sort code, so the seller
/// should give the 8-digit form their bank prints for payments.
pub fn gb_account_number(input: &str) -> Result<String, Failure> {
    const CODE: &str = "invalid_account_number";
    let s = compact(bounded(input, CODE)?, &['-']);
    if !(6..=8).contains(&s.len()) || !all_digits(&s) {
        return Err(Failure::new(CODE, "A UK account number has 8 digits."));
    }
    Ok(format!("{s:0>8}"))
}

/// Checks a UK sort code: 6 digits, written `12-34-56`, `12 34 56` or `123456`. Returns the
/// 6 digits.
pub fn sort_code(input: &str) -> Result<String, Failure> {
    const CODE: &str = "invalid_sort_code";
    let s = compact(bounded(input, CODE)?, &['-']);
    if s.len() != 6 || !all_digits(&s) {
        return Err(Failure::new(
            CODE,
            "A sort code has 6 digits, e.g. 12-34-56.",
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban_lengths_match_real_ibans() {
        for example in [
            "SE4550000000058398257466",
            "DE89370400440532013000",
            "NO9386011117947",
            "GB29NWBK60161331926819",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
            "BE68539007547034",
            "MT84MALT011000012345MTLCAST001S",
            "AT611904300234573201",
            "FI2112345600000785",
        ] {
            let parsed = iban(example).unwrap();
            assert_eq!(
                iban_length(parsed.country()),
                Some(parsed.as_str().len()),
                "{example}"
            );
        }
        assert_eq!(iban_length("se"), Some(24));
        assert_eq!(iban_length("US"), None);
    }

    fn code<T: fmt::Debug>(r: Result<T, Failure>) -> &'static str {
        match r {
            Ok(v) => panic!("expected a failure, got {v:?}"),
            Err(f) => f.code,
        }
    }

    #[test]
    fn iban_accepts_spaces_and_lower_case() {
        let i = iban(" de89 3704 0044 0532 0130 00 ").unwrap();
        assert_eq!(i.as_str(), "DE89370400440532013000");
        assert_eq!(i.country(), "DE");
        assert_eq!(i.bban(), "370400440532013000");
        assert_eq!(i.last4(), "3000");
        assert_eq!(format!("{i:?}"), "Iban(DE…3000)");
    }

    #[test]
    fn iban_failures_are_classified() {
        assert_eq!(code(iban("DE88370400440532013000")), IBAN_CHECKSUM);
        // One digit short: a length problem, not a checksum one.
        assert_eq!(code(iban("DE8937040044053201300")), IBAN_FORMAT);
        assert_eq!(code(iban("XX89370400440532013000")), IBAN_COUNTRY);
        assert_eq!(code(iban("DE89 3704 0044 0532 0130 0É")), IBAN_FORMAT);
        assert_eq!(code(iban("")), IBAN_FORMAT);
    }

    #[test]
    fn iban_reason_does_not_echo_the_number() {
        let f = iban("DE88370400440532013000").unwrap_err();
        assert!(!f.reason.contains("370400440532013000"));
    }

    #[test]
    fn bic_rules() {
        assert_eq!(bic("deutdeff").unwrap(), "DEUTDEFF");
        assert_eq!(bic("DEUT DE FF 500").unwrap(), "DEUTDEFF500");
        assert_eq!(code(bic("DEUTDEF")), "invalid_bic");
        assert_eq!(code(bic("DEUTXXFF")), "invalid_bic");
        assert_eq!(bic("DEU1DEFF").unwrap(), "DEU1DEFF");
        assert_eq!(code(bic("DEUT1EFF")), "invalid_bic");
        assert_eq!(code(bic("DEUTDEF_")), "invalid_bic");
        assert_eq!(code(bic("DEUTDEFF50")), "invalid_bic");
    }

    #[test]
    fn aba_rules() {
        assert_eq!(aba_routing_number("021000021").unwrap(), "021000021");
        assert_eq!(aba_routing_number("011000015").unwrap(), "011000015");
        assert_eq!(
            code(aba_routing_number("021000022")),
            "invalid_routing_number"
        );
        assert_eq!(
            code(aba_routing_number("02100002")),
            "invalid_routing_number"
        );
        // 500000005 has a valid check digit but prefix 50 is not assigned.
        assert_eq!(
            code(aba_routing_number("500000005")),
            "invalid_routing_number"
        );
        assert_eq!(
            code(aba_routing_number("02100002a")),
            "invalid_routing_number"
        );
    }

    #[test]
    fn account_numbers_and_sort_codes() {
        assert_eq!(us_account_number("000123456789").unwrap(), "000123456789");
        assert_eq!(code(us_account_number("123")), "invalid_account_number");
        assert_eq!(
            code(us_account_number("123456789012345678")),
            "invalid_account_number"
        );
        assert_eq!(gb_account_number("31926819").unwrap(), "31926819");
        assert_eq!(gb_account_number("1234567").unwrap(), "01234567");
        assert_eq!(gb_account_number("123456").unwrap(), "00123456");
        assert_eq!(code(gb_account_number("12345")), "invalid_account_number");
        assert_eq!(
            code(gb_account_number("123456789")),
            "invalid_account_number"
        );
        for s in ["12-34-56", "123456", "12 34 56"] {
            assert_eq!(sort_code(s).unwrap(), "123456");
        }
        assert_eq!(code(sort_code("12-34-5")), "invalid_sort_code");
        assert_eq!(code(sort_code("12-34-5a")), "invalid_sort_code");
    }
}
