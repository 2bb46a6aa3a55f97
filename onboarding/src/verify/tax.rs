//! Company tax ids: US EIN, Swedish organisationsnummer, EU VAT numbers, UK VAT and UTR.

use super::{all_digits, bounded, compact, digits, luhn_valid, Failure};

const TAX_FORMAT: &str = "invalid_tax_id_format";
const TAX_CHECKSUM: &str = "invalid_tax_id_checksum";

fn format_failure(what: &str) -> Failure {
    Failure::new(
        TAX_FORMAT,
        format!("This is not a valid {what}: check its length and characters."),
    )
}

fn checksum_failure(what: &str) -> Failure {
    Failure::new(
        TAX_CHECKSUM,
        format!("The {what}'s check digit does not match: a character was probably mistyped."),
    )
}

/// EIN prefixes the IRS assigns to its campuses (IRS "How EINs are assigned"); the other
/// two-digit prefixes (00, 07–09, 17–19, 28, 29, 49, 69, 70, 78, 79, 89, 96, 97) have never
/// been used.
fn ein_prefix_assigned(prefix: u32) -> bool {
    matches!(
        prefix,
        1..=6 | 10..=16 | 20..=27 | 30..=48 | 50..=68 | 71..=77 | 80..=88 | 90..=95 | 98 | 99
    )
}

/// Checks a US Employer Identification Number, `12-3456789` or `123456789`, whose first two
/// digits must be a prefix the IRS assigns. EINs have no check digit. Returns the 9 digits.
pub fn ein(input: &str) -> Result<String, Failure> {
    let s: String = bounded(input, TAX_FORMAT)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let digits_only = match (s.len(), s.as_bytes().get(2)) {
        (10, Some(b'-')) => s.replacen('-', "", 1),
        _ => s,
    };
    if digits_only.len() != 9 || !all_digits(&digits_only) {
        return Err(Failure::new(
            TAX_FORMAT,
            "An EIN has 9 digits, e.g. 12-3456789.",
        ));
    }
    let d = digits(&digits_only);
    if !ein_prefix_assigned(d[0] * 10 + d[1]) {
        return Err(Failure::new(
            TAX_FORMAT,
            "This is not an EIN the IRS can have issued: check the first two digits.",
        ));
    }
    Ok(digits_only)
}

/// Checks a Swedish organisationsnummer: 10 digits (`556036-0793`), or 12 digits with the
/// `16` prefix used in some registers. The third digit is at least 2 (lower ones are
/// personnummer, i.e. sole traders, who should give their personnummer as such); the last
/// digit is a Luhn check. Returns the 10 digits.
pub fn organisationsnummer(input: &str) -> Result<String, Failure> {
    const WHAT: &str = "organisationsnummer";
    let s = compact(bounded(input, TAX_FORMAT)?, &['-']);
    let s = match s.strip_prefix("16") {
        Some(rest) if s.len() == 12 => rest.to_owned(),
        _ => s,
    };
    if s.len() != 10 || !all_digits(&s) {
        return Err(Failure::new(
            TAX_FORMAT,
            "An organisationsnummer has 10 digits, e.g. 556036-0793.",
        ));
    }
    if digits(&s)[2] < 2 {
        return Err(Failure::new(
            TAX_FORMAT,
            "This is not an organisationsnummer (the third digit is 2 or more); a sole trader gives their personnummer.",
        ));
    }
    if !luhn_valid(&s) {
        return Err(checksum_failure(WHAT));
    }
    Ok(s)
}

/// A valid EU (or Northern Ireland) VAT identification number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VatNumber {
    /// Prefix + number: `DE136695976`.
    full: String,
    checksum_verified: bool,
}

impl VatNumber {
    /// The VAT prefix: ISO alpha-2 except `EL` for Greece and `XI` for Northern Ireland.
    pub fn prefix(&self) -> &str {
        self.full.get(..2).unwrap_or("")
    }

    /// The number without its prefix.
    pub fn number(&self) -> &str {
        self.full.get(2..).unwrap_or("")
    }

    /// Canonical form: prefix and number, no separators, upper case.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// Whether a check-digit algorithm confirmed the number (false for the member states
    /// checked on format only, see [`eu_vat`]).
    pub fn checksum_verified(&self) -> bool {
        self.checksum_verified
    }
}

/// Checks an EU VAT number given with its prefix (`DE 136 695 976`, `ATU13585627`). Spaces,
/// dashes, dots, commas and slashes are ignored; `GR` is accepted for Greece and rewritten
/// as `EL`.
///
/// Check digits are verified for AT, BE, DE, DK, ES, FI, FR, HR, IT, LU, NL, PL, PT, SE and
/// XI (the UK VAT rules). BG, CY, CZ, EE, EL, HU, IE, LT, LV, MT, RO, SI and SK are checked
/// on format only: [`VatNumber::checksum_verified`] is false for them. VIES remains the only
/// proof that a number is registered.
pub fn eu_vat(input: &str) -> Result<VatNumber, Failure> {
    let s = compact(bounded(input, TAX_FORMAT)?, &['-', '.', ',', '/']);
    let (prefix, number) = match (s.get(..2), s.get(2..)) {
        (Some(p), Some(n)) => (p, n),
        _ => return Err(format_failure("VAT number")),
    };
    // Every rule below slices by byte position: ASCII only.
    if !s.is_ascii() {
        return Err(format_failure("VAT number"));
    }
    let prefix = if prefix == "GR" { "EL" } else { prefix };
    let checked = match vat_rule(prefix, number) {
        VatRule::UnknownPrefix => {
            return Err(Failure::new(
                TAX_FORMAT,
                "A VAT number starts with the country prefix of an EU member state (e.g. DE, FR) or XI.",
            ))
        }
        VatRule::BadFormat => return Err(format_failure("VAT number")),
        VatRule::BadChecksum => return Err(checksum_failure("VAT number")),
        VatRule::Valid { checked } => checked,
    };
    Ok(VatNumber {
        full: format!("{prefix}{number}"),
        checksum_verified: checked,
    })
}

enum VatRule {
    UnknownPrefix,
    BadFormat,
    BadChecksum,
    Valid { checked: bool },
}

fn verdict(format_ok: bool, checksum_ok: impl FnOnce() -> bool) -> VatRule {
    if !format_ok {
        VatRule::BadFormat
    } else if !checksum_ok() {
        VatRule::BadChecksum
    } else {
        VatRule::Valid { checked: true }
    }
}

fn format_only(format_ok: bool) -> VatRule {
    if format_ok {
        VatRule::Valid { checked: false }
    } else {
        VatRule::BadFormat
    }
}

fn digits_len(n: &str, lens: &[usize]) -> bool {
    all_digits(n) && lens.contains(&n.len())
}

fn first_not_zero(n: &str) -> bool {
    !n.starts_with('0')
}

fn vat_rule(prefix: &str, n: &str) -> VatRule {
    match prefix {
        "AT" => {
            let body = n.strip_prefix('U').unwrap_or("");
            verdict(n.starts_with('U') && digits_len(body, &[8]), || {
                at_check(body)
            })
        }
        "BE" => {
            // Old numbers had 9 digits; they are the new ones without the leading 0.
            let padded = if n.len() == 9 {
                format!("0{n}")
            } else {
                n.to_owned()
            };
            verdict(
                digits_len(&padded, &[10]) && matches!(padded.as_bytes()[0], b'0' | b'1'),
                || be_check(&padded),
            )
        }
        "DE" => verdict(digits_len(n, &[9]) && first_not_zero(n), || mod_11_10(n)),
        "DK" => verdict(digits_len(n, &[8]) && first_not_zero(n), || {
            weighted(n, &[2, 7, 6, 5, 4, 3, 2, 1]).is_multiple_of(11)
        }),
        "ES" => es_rule(n),
        "FI" => verdict(digits_len(n, &[8]), || {
            weighted(n, &[7, 9, 10, 5, 8, 4, 2, 1]).is_multiple_of(11)
        }),
        "FR" => fr_rule(n),
        "HR" => verdict(digits_len(n, &[11]), || mod_11_10(n)),
        "IT" => {
            let office = n.get(7..10).unwrap_or("");
            let format_ok = digits_len(n, &[11])
                && n.get(..7) != Some("0000000")
                && (("001"..="100").contains(&office)
                    || ["120", "121", "888", "999"].contains(&office));
            verdict(format_ok, || luhn_valid(n))
        }
        "LU" => verdict(digits_len(n, &[8]), || {
            let d = digits(n);
            let body = d[..6].iter().fold(0u32, |a, &x| a * 10 + x);
            body % 89 == d[6] * 10 + d[7]
        }),
        "NL" => nl_rule(n),
        "PL" => verdict(digits_len(n, &[10]), || {
            let d = digits(n);
            let sum: u32 = d
                .iter()
                .zip([6, 5, 7, 2, 3, 4, 5, 6, 7])
                .map(|(a, w)| a * w)
                .sum();
            sum % 11 == d[9]
        }),
        "PT" => verdict(digits_len(n, &[9]) && first_not_zero(n), || {
            let d = digits(n);
            let sum: u32 = d[..8].iter().zip((2..=9).rev()).map(|(a, w)| a * w).sum();
            (11 - sum % 11) % 11 % 10 == d[8]
        }),
        "SE" => {
            // The organisationsnummer (or, for a sole trader, the personnummer) plus "01".
            let base = n.get(..10).unwrap_or("");
            verdict(digits_len(n, &[12]) && n.ends_with("01"), || {
                luhn_valid(base)
            })
        }
        "XI" => gb_vat_rule(n),
        "BG" => format_only(digits_len(n, &[9, 10])),
        "CY" => format_only(
            n.len() == 9
                && n.get(..8).is_some_and(all_digits)
                && n.as_bytes().get(8).is_some_and(u8::is_ascii_uppercase),
        ),
        "CZ" => format_only(digits_len(n, &[8, 9, 10])),
        "EE" => format_only(digits_len(n, &[9])),
        "EL" => format_only(digits_len(n, &[9])),
        "HU" => format_only(digits_len(n, &[8])),
        "IE" => format_only(ie_format(n)),
        "LT" => format_only(digits_len(n, &[9, 12])),
        "LV" => format_only(digits_len(n, &[11])),
        "MT" => format_only(digits_len(n, &[8]) && first_not_zero(n)),
        "RO" => format_only((2..=10).contains(&n.len()) && all_digits(n) && first_not_zero(n)),
        "SI" => format_only(digits_len(n, &[8]) && first_not_zero(n)),
        "SK" => format_only(digits_len(n, &[10])),
        _ => VatRule::UnknownPrefix,
    }
}

/// Ireland: `1234567T` / `1234567TW` (since 2013), or the old `1A23456T` / `1+23456T`.
fn ie_format(n: &str) -> bool {
    let b = n.as_bytes();
    let check_letter = |c: u8| (b'A'..=b'W').contains(&c);
    match b.len() {
        8 | 9 if n.get(..7).is_some_and(all_digits) && check_letter(b[7]) => {
            b.len() == 8 || matches!(b[8], b'A'..=b'I' | b'W')
        }
        8 => {
            b[0].is_ascii_digit()
                && (b[1].is_ascii_uppercase() || b[1] == b'+' || b[1] == b'*')
                && n.get(2..7).is_some_and(all_digits)
                && check_letter(b[7])
        }
        _ => false,
    }
}

fn weighted(n: &str, weights: &[u32]) -> u32 {
    digits(n).iter().zip(weights).map(|(d, w)| d * w).sum()
}

/// Austria (UID): Luhn-like over the 7 digits after `U`, offset by 4.
fn at_check(body: &str) -> bool {
    let d = digits(body);
    let sum: u32 = d[..7]
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                (2 * x) / 10 + (2 * x) % 10
            } else {
                x
            }
        })
        .sum();
    (10 - (sum + 4) % 10) % 10 == d[7]
}

/// Belgium: the last two digits are 97 minus the first eight modulo 97.
fn be_check(n: &str) -> bool {
    let d = digits(n);
    let body = d[..8].iter().fold(0u64, |a, &x| a * 10 + u64::from(x));
    let check = u64::from(d[8] * 10 + d[9]);
    body > 0 && 97 - body % 97 == check
}

/// ISO 7064 MOD 11,10 (Germany, Croatia): the last digit checks the others.
fn mod_11_10(n: &str) -> bool {
    let d = digits(n);
    let Some((&last, body)) = d.split_last() else {
        return false;
    };
    let mut product = 10;
    for &x in body {
        let mut sum = (x + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (2 * sum) % 11;
    }
    (11 - product) % 10 == last
}

/// Spain (NIF): DNI (8 digits + letter), NIE (X/Y/Z + 7 digits + letter), K/L/M (DNI rule on
/// the 7 digits) or CIF (entity letter + 7 digits + digit or letter). Both the digit and the
/// letter form of a CIF control character are accepted: sources disagree on which entity
/// types use which.
fn es_rule(n: &str) -> VatRule {
    const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let b = n.as_bytes();
    if b.len() != 9 || !all_digits(&n[1..8]) || !b[8].is_ascii_alphanumeric() {
        return VatRule::BadFormat;
    }
    let middle = digits(&n[1..8]).iter().fold(0u32, |a, &x| a * 10 + x);
    let dni_letter = |number: u32| DNI_LETTERS[(number % 23) as usize];
    match b[0] {
        b'0'..=b'9' => verdict(b[8].is_ascii_uppercase(), || {
            b[8] == dni_letter(u32::from(b[0] - b'0') * 10_000_000 + middle)
        }),
        b'K' | b'L' | b'M' => verdict(b[8].is_ascii_uppercase(), || b[8] == dni_letter(middle)),
        b'X' | b'Y' | b'Z' => verdict(b[8].is_ascii_uppercase(), || {
            let lead = u32::from(b[0] - b'X');
            b[8] == dni_letter(lead * 10_000_000 + middle)
        }),
        b'A'..=b'H' | b'J' | b'N' | b'P'..=b'S' | b'U'..=b'W' => verdict(true, || {
            let sum: u32 = digits(&n[1..8])
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    if i % 2 == 0 {
                        (2 * x) / 10 + (2 * x) % 10
                    } else {
                        x
                    }
                })
                .sum();
            let check = (10 - sum % 10) % 10;
            let letter = b"JABCDEFGHI"[check as usize];
            b[8] == b'0' + check as u8 || b[8] == letter
        }),
        _ => VatRule::BadFormat,
    }
}

/// France: a 2-character key then the 9-digit SIREN (itself Luhn-checked, except Monaco's
/// numbers which start with 000). A numeric key is (12 + 3 × (SIREN mod 97)) mod 97; the
/// newer alphanumeric keys follow the DGFiP's base-34 rule.
fn fr_rule(n: &str) -> VatRule {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    if n.len() != 11 || !n.is_ascii() {
        return VatRule::BadFormat;
    }
    let (key, siren) = n.split_at(2);
    let key_index: Vec<usize> = key.chars().filter_map(|c| ALPHABET.find(c)).collect();
    if key_index.len() != 2 || !all_digits(siren) {
        return VatRule::BadFormat;
    }
    let siren_value = digits(siren)
        .iter()
        .fold(0u64, |a, &x| a * 10 + u64::from(x));
    verdict(true, || {
        if !siren.starts_with("000") && !luhn_valid(siren) {
            return false;
        }
        if all_digits(key) {
            (siren_value * 100 + 12) % 97 == (key_index[0] * 10 + key_index[1]) as u64
        } else {
            let check = if key.as_bytes()[0].is_ascii_digit() {
                (key_index[0] * 24 + key_index[1]) as i64 - 10
            } else {
                (key_index[0] * 34 + key_index[1]) as i64 - 100
            };
            (siren_value as i64 + 1 + check.div_euclid(11)).rem_euclid(11) == check.rem_euclid(11)
        }
    })
}

/// Netherlands: 9 digits, `B`, 2 digits. The 9 digits pass the "11-proof" (numbers issued
/// before 2020) or, since 2020, the whole number with `NL` passes ISO 7064 mod 97-10.
fn nl_rule(n: &str) -> VatRule {
    let b = n.as_bytes();
    let format_ok = b.len() == 12
        && all_digits(&n[..9])
        && b[9] == b'B'
        && all_digits(&n[10..])
        && n[..9].bytes().any(|x| x != b'0')
        && &n[10..] != "00";
    verdict(format_ok, || {
        let d = digits(&n[..9]);
        let eleven_proof: i64 = d[..8]
            .iter()
            .enumerate()
            .map(|(i, &x)| i64::from(x) * (9 - i as i64))
            .sum::<i64>()
            - i64::from(d[8]);
        if eleven_proof % 11 == 0 {
            return true;
        }
        // N = 23, L = 21, B = 11 when letters count as 10..35.
        let mut rem = 0u32;
        for c in format!("NL{n}").chars() {
            let Some(v) = c.to_digit(36) else {
                return false;
            };
            rem = if v < 10 {
                (rem * 10 + v) % 97
            } else {
                (rem * 100 + v) % 97
            };
        }
        rem == 1
    })
}

/// UK VAT (and Northern Ireland's XI): 9 digits, or 12 with a branch suffix. Weights 8..2 on
/// the first 7 digits plus the last two as a number: divisible by 97 (the original rule), or
/// 55 more than that (the "9755" rule for numbers issued since 2010, prefixes 100 and up).
fn gb_vat_rule(n: &str) -> VatRule {
    verdict(digits_len(n, &[9, 12]), || {
        let d = digits(n);
        let sum: u32 = d[..7]
            .iter()
            .zip((2..=8).rev())
            .map(|(a, w)| a * w)
            .sum::<u32>()
            + d[7] * 10
            + d[8];
        let high = d[0] * 100 + d[1] * 10 + d[2] >= 100;
        sum.is_multiple_of(97) || (high && (sum + 55).is_multiple_of(97))
    })
}

/// UK Unique Taxpayer Reference: 10 digits, the first a check digit over the other nine.
fn gb_utr_valid(n: &str) -> bool {
    let d = digits(n);
    let sum: u32 = d[1..]
        .iter()
        .zip([6, 7, 8, 9, 10, 5, 4, 3, 2])
        .map(|(a, w)| a * w)
        .sum();
    let check = b"21987654321"[(sum % 11) as usize];
    d[0] == u32::from(check - b'0')
}

/// Whether `country` (ISO alpha-2, upper case) is an EU member state (its companies have EU
/// VAT numbers).
pub fn is_eu_member(country: &str) -> bool {
    eu_vat_prefix(country).is_some()
}

/// EU member states and the prefix of their VAT numbers.
fn eu_vat_prefix(country: &str) -> Option<&'static str> {
    const MEMBERS: [&str; 27] = [
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
        "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    ];
    match country {
        "GR" => Some("EL"),
        c => MEMBERS.iter().find(|m| **m == c).copied(),
    }
}

/// Checks a company's tax id for `country` (ISO alpha-2, any case) and returns its
/// canonical form:
///
/// - `US`: an [`ein`] (9 digits);
/// - `SE`: an [`organisationsnummer`] (10 digits), or a Swedish VAT number
///   (`SE` + 12 digits, with or without the prefix) returned with its prefix;
/// - another EU member state: its VAT number, with or without the country prefix, returned
///   with it (see [`eu_vat`]);
/// - `GB`: a VAT number (9 or 12 digits, optional `GB`, mod 97 / 9755 check) returned as
///   `GB` + digits, or a company UTR (10 digits with its check digit);
/// - any other country: 1 to 32 letters and digits once spaces, dashes, dots and slashes are
///   removed, upper case.
pub fn tax_id(country: &str, input: &str) -> Result<String, Failure> {
    let country = country.trim().to_ascii_uppercase();
    let s = compact(bounded(input, TAX_FORMAT)?, &['-', '.', ',', '/']);
    match country.as_str() {
        "US" => ein(input),
        "SE" => {
            if s.starts_with("SE") {
                return eu_vat(&s).map(|v| v.full);
            }
            match organisationsnummer(&s) {
                Ok(n) => Ok(n),
                Err(e) if s.len() == 12 && s.ends_with("01") => {
                    eu_vat(&format!("SE{s}")).map(|v| v.full).map_err(|_| e)
                }
                Err(e) => Err(e),
            }
        }
        "GB" => {
            let n = s.strip_prefix("GB").unwrap_or(&s);
            if n.len() == 10 && all_digits(n) {
                return if gb_utr_valid(n) {
                    Ok(n.to_owned())
                } else {
                    Err(checksum_failure("UTR"))
                };
            }
            match gb_vat_rule(n) {
                VatRule::Valid { .. } => Ok(format!("GB{n}")),
                VatRule::BadChecksum => Err(checksum_failure("VAT number")),
                _ => Err(Failure::new(
                    TAX_FORMAT,
                    "Enter a UK VAT number (9 digits) or the company's UTR (10 digits).",
                )),
            }
        }
        c => match eu_vat_prefix(c) {
            Some(prefix) => {
                let with_prefix = if s.starts_with(prefix) || (c == "GR" && s.starts_with("GR")) {
                    s
                } else {
                    format!("{prefix}{s}")
                };
                eu_vat(&with_prefix).map(|v| v.full)
            }
            None => {
                if !(1..=32).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(Failure::new(
                        TAX_FORMAT,
                        "A tax id has 1 to 32 letters and digits.",
                    ));
                }
                Ok(s)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T: std::fmt::Debug>(r: Result<T, Failure>) -> &'static str {
        match r {
            Ok(v) => panic!("expected a failure, got {v:?}"),
            Err(f) => f.code,
        }
    }

    #[test]
    fn ein_rules() {
        assert_eq!(ein("12-3456789").unwrap(), "123456789");
        assert_eq!(ein("123456789").unwrap(), "123456789");
        assert_eq!(code(ein("07-3456789")), TAX_FORMAT);
        assert_eq!(code(ein("00-3456789")), TAX_FORMAT);
        assert_eq!(code(ein("123-456789")), TAX_FORMAT);
        assert_eq!(code(ein("12-345678")), TAX_FORMAT);
    }

    #[test]
    fn organisationsnummer_rules() {
        assert_eq!(organisationsnummer("556036-0793").unwrap(), "5560360793");
        assert_eq!(organisationsnummer("165560360793").unwrap(), "5560360793");
        assert_eq!(code(organisationsnummer("556036-0794")), TAX_CHECKSUM);
        // A personnummer (third digit 1) with a valid Luhn digit is not an org number.
        assert_eq!(code(organisationsnummer("811218-9876")), TAX_FORMAT);
        assert_eq!(code(organisationsnummer("55603-0793")), TAX_FORMAT);
    }

    #[test]
    fn vat_examples() {
        for ok in [
            "ATU13585627",
            "BE0403019261",
            "BE403019261",
            "DE136695976",
            "DK13585628",
            "ESA28015865",
            "FI20774740",
            "FR40303265045",
            "IT00743110157",
            "NL004495445B01",
            "PL5260250274",
            "PT501964843",
            "SE556036079301",
        ] {
            let v = eu_vat(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(v.checksum_verified(), "{ok}");
        }
        let v = eu_vat("de 136.695.976").unwrap();
        assert_eq!(v.as_str(), "DE136695976");
        assert_eq!((v.prefix(), v.number()), ("DE", "136695976"));
        assert!(!eu_vat("EL094014201").unwrap().checksum_verified());
        assert_eq!(eu_vat("GR094014201").unwrap().as_str(), "EL094014201");
        assert_eq!(code(eu_vat("DE136695977")), TAX_CHECKSUM);
        assert_eq!(code(eu_vat("DE13669597")), TAX_FORMAT);
        assert_eq!(code(eu_vat("US136695976")), TAX_FORMAT);
        assert_eq!(code(eu_vat("D")), TAX_FORMAT);
    }

    #[test]
    fn tax_id_dispatch() {
        assert_eq!(tax_id("us", "12-3456789").unwrap(), "123456789");
        assert_eq!(tax_id("SE", "556036-0793").unwrap(), "5560360793");
        assert_eq!(tax_id("SE", "556036079301").unwrap(), "SE556036079301");
        assert_eq!(tax_id("SE", "SE556036079301").unwrap(), "SE556036079301");
        assert_eq!(tax_id("DE", "136695976").unwrap(), "DE136695976");
        assert_eq!(tax_id("DE", "DE136695976").unwrap(), "DE136695976");
        assert_eq!(tax_id("GR", "094014201").unwrap(), "EL094014201");
        assert_eq!(code(tax_id("DE", "136695977")), TAX_CHECKSUM);
        // HMRC's published example VAT number, and a UTR with a valid check digit.
        assert_eq!(tax_id("GB", "GB 980 7806 84").unwrap(), "GB980780684");
        assert_eq!(code(tax_id("GB", "980780685")), TAX_CHECKSUM);
        assert_eq!(tax_id("GB", "1955839661").unwrap(), "1955839661");
        assert_eq!(code(tax_id("GB", "1955839662")), TAX_CHECKSUM);
        assert_eq!(tax_id("CH", "che-123.456.788").unwrap(), "CHE123456788");
        assert_eq!(code(tax_id("CH", "")), TAX_FORMAT);
    }
}
