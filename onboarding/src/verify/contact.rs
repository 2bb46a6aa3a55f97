//! Contact and business details: phone, email, website, MCC, postal address.

use super::{all_digits, bounded, compact, digits, is_country, Failure};

/// Country calling codes (ITU-T E.164 assignments) of geographic areas. Non-geographic
/// services (800, 808, 870, 878, 881–883, 888, 979) are left out: a seller's phone is never
/// one of them.
///
/// Written out instead of using the `phonenumber` crate: that crate carries per-region
/// numbering plans (and a regex engine) to check national lengths, while the API only needs
/// E.164 with a real calling code, and a per-region plan that lags behind a numbering change
/// would refuse real numbers.
fn calling_code_assigned(code: &str) -> bool {
    const ONE_OR_TWO: [&str; 46] = [
        "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44",
        "45", "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61",
        "62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95",
        "98",
    ];
    if code.len() < 3 {
        return ONE_OR_TWO.contains(&code);
    }
    let n = digits(code).iter().fold(0u32, |a, &x| a * 10 + x);
    matches!(
        n,
        211 | 212 | 213 | 216 | 218
            | 220..=258
            | 260..=269
            | 290 | 291 | 297..=299
            | 350..=359
            | 370..=378
            | 380..=383 | 385..=387 | 389
            | 420 | 421 | 423
            | 500..=509
            | 590..=599
            | 670 | 672..=683 | 685..=692
            | 850 | 852 | 853 | 855 | 856 | 880 | 886
            | 960..=968
            | 970..=977
            | 992..=996 | 998
    )
}

/// Checks a phone number in E.164 form: `+`, then 8 to 15 digits starting with an assigned
/// country calling code. Spaces, dashes, dots and parentheses are ignored. Returns `+` and
/// the digits. National formats (`070-123 45 67`) are refused: without the country the
/// number is ambiguous.
pub fn phone(input: &str) -> Result<String, Failure> {
    const CODE: &str = "invalid_phone_number";
    let s = compact(bounded(input, CODE)?, &['-', '.', '(', ')']);
    let Some(number) = s.strip_prefix('+') else {
        return Err(Failure::new(
            CODE,
            "Enter the phone number in international form, starting with + and the country code, e.g. +46 70 123 45 67.",
        ));
    };
    if !(8..=15).contains(&number.len()) || !all_digits(number) {
        return Err(Failure::new(
            CODE,
            "An international phone number has 8 to 15 digits after the +.",
        ));
    }
    let known = (1..=3).any(|len| number.get(..len).is_some_and(calling_code_assigned));
    if !known {
        return Err(Failure::new(
            CODE,
            "The phone number does not start with a valid country calling code.",
        ));
    }
    Ok(s)
}

/// The calling code of a country whose national numbers [`national_phone`] understands.
pub fn calling_code(country: &str) -> Option<&'static str> {
    Some(match country.trim().to_ascii_uppercase().as_str() {
        "SE" => "46",
        "DE" => "49",
        "GB" => "44",
        "FI" => "358",
        "NO" => "47",
        "DK" => "45",
        "FR" => "33",
        "NL" => "31",
        "US" => "1",
        _ => return None,
    })
}

/// A phone number as a seller of `country` types it at home, in the international form
/// [`phone`] checks: `070-123 45 67` (Sweden) → `+46701234567`, the trunk `0` dropped (the
/// US has none: `(212) 555-0100` → `+12125550100`); `0046 70…` (the international prefix)
/// → `+46 70…`. `None` when it already starts with `+`, is not digits and separators, or
/// the country's calling code is not known here; [`phone`] then judges it as typed.
pub fn national_phone(country: &str, input: &str) -> Option<String> {
    if input.len() > super::MAX_INPUT_LEN {
        return None;
    }
    let digits = compact(input.trim(), &['-', '.', '(', ')', '/']);
    if !all_digits(&digits) {
        return None;
    }
    if let Some(international) = digits.strip_prefix("00") {
        return Some(format!("+{international}"));
    }
    let code = calling_code(country)?;
    if code == "1" {
        return Some(match digits.strip_prefix('1') {
            Some(rest) if digits.len() == 11 => format!("+1{rest}"),
            _ => format!("+1{digits}"),
        });
    }
    let national = digits.strip_prefix('0')?;
    Some(format!("+{code}{national}"))
}

/// Longest address SMTP can carry (RFC 5321).
const EMAIL_MAX_LEN: usize = 254;

/// Checks an email address `name@example.com`: a top-level domain is required, display
/// names (`Name <a@b.c>`) and IP literals are refused. Returns it trimmed, case kept (the
/// local part may be case-sensitive).
pub fn email(input: &str) -> Result<String, Failure> {
    const CODE: &str = "invalid_email";
    let s = bounded(input, CODE)?;
    let options = email_address::Options::default()
        .with_required_tld()
        .without_display_text()
        .without_domain_literal();
    if s.len() > EMAIL_MAX_LEN
        || email_address::EmailAddress::parse_with_options(s, options).is_err()
    {
        return Err(Failure::new(
            CODE,
            "This is not a valid email address: use the form name@example.com.",
        ));
    }
    Ok(s.to_owned())
}

/// Checks a website: an absolute `http` or `https` URL whose host is an IP address or a
/// domain name with a dot and a plausible top-level label (2 or more letters, or an IDN's
/// `xn--` form), so `https://www.holzwerk-mueller` (a typo for `.de`) and `https://localhost`
/// are refused: a seller's shop is on the public web. The top-level label is not looked up
/// in a list (new ones appear; a stale list would refuse real shops). Returns the URL as the
/// `url` crate serialises it (lower-case scheme and host, `/` path when empty).
pub fn url(input: &str) -> Result<String, Failure> {
    const CODE: &str = "invalid_url_format";
    let s = bounded(input, CODE)?;
    let invalid = || {
        Failure::new(
            CODE,
            "Enter the full address of the website, starting with https:// and with a domain ending such as .com, e.g. https://shop.example.com.",
        )
    };
    let parsed = url::Url::parse(s).map_err(|_| invalid())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid());
    }
    match parsed.host() {
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => {}
        Some(url::Host::Domain(domain)) => {
            // A fully qualified name may end in a dot (`example.com.`).
            let domain = domain.strip_suffix('.').unwrap_or(domain);
            let (rest, tld) = domain.rsplit_once('.').ok_or_else(invalid)?;
            let plausible = (tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
                || (tld.starts_with("xn--") && tld.len() > 4);
            if rest.is_empty() || rest.ends_with('.') || !plausible {
                return Err(invalid());
            }
        }
        None => return Err(invalid()),
    }
    Ok(parsed.into())
}

/// Checks a merchant category code (ISO 18245): 4 digits from 0742 (veterinary services, the
/// lowest code in use) to 9999. Returns the 4 digits.
pub fn mcc(input: &str) -> Result<String, Failure> {
    const CODE: &str = "invalid_mcc";
    let s = bounded(input, CODE)?;
    let in_range =
        s.len() == 4 && all_digits(s) && digits(s).iter().fold(0u32, |a, &x| a * 10 + x) >= 742;
    if !in_range {
        return Err(Failure::new(
            CODE,
            "A merchant category code has 4 digits, from 0742 to 9999.",
        ));
    }
    Ok(s.to_owned())
}

/// A postal address as the seller typed it; `None` and blank fields are both "missing".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressInput<'a> {
    pub line1: Option<&'a str>,
    pub line2: Option<&'a str>,
    pub city: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub state: Option<&'a str>,
    /// When given, must be the same country as the one the address is checked for.
    pub country: Option<&'a str>,
}

/// Longest value of any address field, in characters.
pub const ADDRESS_FIELD_MAX_CHARS: usize = 200;

/// USPS codes: the 50 states, DC, the inhabited territories (AS, GU, MP, PR, VI) and the
/// military "states" (AA, AE, AP), all of which USPS delivers to with a ZIP code.
const US_STATES: [&str; 59] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "AS", "GU", "MP", "PR", "VI", "AA", "AE", "AP",
];

/// UK postcode: outward code (A9, A99, AA9, AA99, A9A, AA9A) then inward code (9AA); the
/// space between them is optional. `GIR 0AA` (Girobank) is the one exception to the shape.
fn uk_postcode(s: &str) -> bool {
    let p = compact(s, &[]);
    if p == "GIR0AA" {
        return true;
    }
    if !(5..=7).contains(&p.len()) || !p.is_ascii() {
        return false;
    }
    let (outward, inward) = p.split_at(p.len() - 3);
    let shape = |part: &str| -> String {
        part.chars()
            .map(|c| match c {
                'A'..='Z' => 'A',
                '0'..='9' => '9',
                _ => '?',
            })
            .collect()
    };
    shape(inward) == "9AA"
        && matches!(
            shape(outward).as_str(),
            "A9" | "A99" | "AA9" | "AA99" | "A9A" | "AA9A"
        )
}

/// `12345` or, for Sweden, also `123 45`; Swedish codes never start with 0.
fn five_digits(s: &str, allow_space_after_3: bool) -> bool {
    let compacted: String = if allow_space_after_3 && s.len() == 6 && s.as_bytes()[3] == b' ' {
        s.chars().filter(|c| *c != ' ').collect()
    } else {
        s.to_owned()
    };
    compacted.len() == 5 && all_digits(&compacted)
}

fn us_zip(s: &str) -> bool {
    match s.split_once('-') {
        Some((zip, plus4)) => {
            zip.len() == 5 && all_digits(zip) && plus4.len() == 4 && all_digits(plus4)
        }
        None => s.len() == 5 && all_digits(s),
    }
}

/// Postal codes of other countries: letters, digits, spaces and dashes, at most 12
/// characters (the longest in use have 10).
fn generic_postcode(s: &str) -> bool {
    s.len() <= 12
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
}

/// Checks a postal address for `country` (ISO alpha-2, any case), reporting every problem
/// as `(field, failure)` with `field` one of `line1`, `line2`, `city`, `postal_code`,
/// `state`, `country`:
///
/// | country | required | postal code |
/// | --- | --- | --- |
/// | US | line1, city, state (USPS code incl. DC, PR, territories, AA/AE/AP), postal_code | ZIP `12345` or ZIP+4 `12345-6789` |
/// | GB | line1, city, postal_code | UK postcode, e.g. `SW1A 1AA` |
/// | SE | line1, city, postal_code | 5 digits, `123 45` or `12345`, not starting with 0 |
/// | DE, FR | line1, city, postal_code | 5 digits |
/// | others | line1, city | optional; letters, digits, spaces, dashes, at most 12 |
///
/// Every field is at most 200 characters without control characters (code
/// `invalid_address_field`). States are only checked for the US; elsewhere any value passes.
pub fn address(
    country: &str,
    input: &AddressInput<'_>,
) -> Result<(), Vec<(&'static str, Failure)>> {
    const MISSING: &str = "missing_address_field";
    const POSTAL: &str = "invalid_address_postal_code";
    let mut problems: Vec<(&'static str, Failure)> = Vec::new();

    let country_code = country.trim().to_ascii_uppercase();
    if country.len() > 16 || !is_country(&country_code) {
        return Err(vec![(
            "country",
            Failure::new(
                "invalid_address_country",
                "The country is not an ISO 3166 country code.",
            ),
        )]);
    }
    if let Some(given) = input.country.map(str::trim).filter(|c| !c.is_empty()) {
        if !given.eq_ignore_ascii_case(&country_code) {
            problems.push((
                "country",
                Failure::new(
                    "invalid_address_country",
                    format!("The address must be in the account's country ({country_code})."),
                ),
            ));
        }
    }

    let fields = [
        ("line1", input.line1),
        ("line2", input.line2),
        ("city", input.city),
        ("postal_code", input.postal_code),
        ("state", input.state),
    ];
    // Trimmed, non-empty, within bounds; a field that is too long counts as present (so it
    // is reported once, as too long, not also as missing).
    let mut value = |name: &'static str| -> Option<String> {
        let raw = fields
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| *v)?;
        // A char is at most 4 bytes: anything longer is refused without scanning it.
        let trimmed = if raw.len() > ADDRESS_FIELD_MAX_CHARS * 4 {
            raw
        } else {
            raw.trim()
        };
        if trimmed.is_empty() {
            return None;
        }
        if trimmed.len() > ADDRESS_FIELD_MAX_CHARS * 4
            || trimmed.chars().count() > ADDRESS_FIELD_MAX_CHARS
            || trimmed.chars().any(char::is_control)
        {
            problems.push((
                name,
                Failure::new(
                    "invalid_address_field",
                    format!("Each address line has at most {ADDRESS_FIELD_MAX_CHARS} characters and no control characters."),
                ),
            ));
            return Some(String::new());
        }
        Some(trimmed.to_owned())
    };
    let line1 = value("line1");
    let _line2 = value("line2");
    let city = value("city");
    let postal = value("postal_code");
    let state = value("state");

    let required: &[&str] = match country_code.as_str() {
        "US" => &["line1", "city", "state", "postal_code"],
        "GB" | "SE" | "DE" | "FR" => &["line1", "city", "postal_code"],
        _ => &["line1", "city"],
    };
    for &name in required {
        let present = match name {
            "line1" => line1.is_some(),
            "city" => city.is_some(),
            "state" => state.is_some(),
            _ => postal.is_some(),
        };
        if !present {
            problems.push((
                name,
                Failure::new(
                    MISSING,
                    format!("The address needs a {}.", name.replace('_', " ")),
                ),
            ));
        }
    }

    // An empty string here is a field already reported as too long.
    if let Some(code) = postal.filter(|p| !p.is_empty()) {
        let upper = code.to_ascii_uppercase();
        let (ok, example) = match country_code.as_str() {
            "US" => (us_zip(&upper), "12345 or 12345-6789"),
            "GB" => (uk_postcode(&upper), "SW1A 1AA"),
            "SE" => (
                five_digits(&upper, true) && !upper.starts_with('0'),
                "123 45",
            ),
            "DE" | "FR" => (five_digits(&upper, false), "12345"),
            _ => (generic_postcode(&upper), "letters and digits"),
        };
        if !ok {
            problems.push((
                "postal_code",
                Failure::new(
                    POSTAL,
                    format!("The postal code is not in this country's format ({example})."),
                ),
            ));
        }
    }
    if country_code == "US" {
        if let Some(st) = state.filter(|s| !s.is_empty()) {
            if !US_STATES.contains(&st.to_ascii_uppercase().as_str()) {
                problems.push((
                    "state",
                    Failure::new(
                        "invalid_address_state",
                        "Use the two-letter USPS code of the state, e.g. CA or NY.",
                    ),
                ));
            }
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_rules() {
        assert_eq!(phone("+46 70-123 45 67").unwrap(), "+46701234567");
        assert_eq!(phone("+1 (415) 555-0100").unwrap(), "+14155550100");
        assert_eq!(phone("+354 555 1234").unwrap(), "+3545551234");
        for bad in [
            "0701234567",
            "+46 70",
            "+1234567890123456",
            "+8001234567",
            "+42512345678",
            "+46 7O1 23 45",
        ] {
            assert_eq!(
                phone(bad).unwrap_err().code,
                "invalid_phone_number",
                "{bad}"
            );
        }
    }

    #[test]
    fn national_numbers_get_the_countrys_code() {
        for (country, typed, international) in [
            ("SE", "070-123 45 67", Some("+46701234567")),
            ("se", "0046 70 123 45 67", Some("+46701234567")),
            ("DE", "030 1234567", Some("+49301234567")),
            ("GB", "020 7946 0958", Some("+442079460958")),
            ("FI", "040 123 4567", Some("+358401234567")),
            ("US", "(212) 555-0100", Some("+12125550100")),
            ("US", "1 212 555 0100", Some("+12125550100")),
            ("SE", "+46 70 123 45 67", None),
            ("SE", "70 123 45 67", None),
            ("SE", "070 abc", None),
            ("BR", "011 1234 5678", None),
        ] {
            assert_eq!(
                national_phone(country, typed).as_deref(),
                international,
                "{country} {typed}"
            );
        }
        assert_eq!(
            phone(&national_phone("SE", "070-123 45 67").unwrap()).unwrap(),
            "+46701234567"
        );
    }

    #[test]
    fn email_rules() {
        assert_eq!(email(" Seller@Example.com ").unwrap(), "Seller@Example.com");
        for bad in [
            "seller@",
            "seller@localhost",
            "Seller <a@example.com>",
            "a@[127.0.0.1]",
            "",
        ] {
            assert_eq!(email(bad).unwrap_err().code, "invalid_email", "{bad}");
        }
    }

    #[test]
    fn url_rules() {
        assert_eq!(url("HTTPS://Example.COM").unwrap(), "https://example.com/");
        assert_eq!(
            url("http://shop.example.se/a?b=c").unwrap(),
            "http://shop.example.se/a?b=c"
        );
        assert_eq!(
            url("https://shop.example.se.").unwrap(),
            "https://shop.example.se./"
        );
        assert_eq!(
            url("http://192.0.2.10:8080/").unwrap(),
            "http://192.0.2.10:8080/"
        );
        assert_eq!(
            url("https://[2001:db8::1]/").unwrap(),
            "https://[2001:db8::1]/"
        );
        assert_eq!(
            url("https://xn--mller-kva.example.xn--p1ai").unwrap(),
            "https://xn--mller-kva.example.xn--p1ai/"
        );
        for bad in [
            "https://www.holzwerk-mueller",
            "https://localhost",
            "https://shop.example.c",
            "https://shop.example.123",
            "https://.com",
            "https://shop..com",
            "example.com",
            "ftp://example.com",
            "javascript:alert(1)",
            "https://",
            "mailto:a@b.c",
        ] {
            assert_eq!(url(bad).unwrap_err().code, "invalid_url_format", "{bad}");
        }
    }

    #[test]
    fn mcc_rules() {
        assert_eq!(mcc("0742").unwrap(), "0742");
        assert_eq!(mcc("5734").unwrap(), "5734");
        for bad in ["0741", "742", "57345", "57a4", ""] {
            assert_eq!(mcc(bad).unwrap_err().code, "invalid_mcc", "{bad}");
        }
    }

    fn problems(country: &str, a: AddressInput<'_>) -> Vec<(&'static str, &'static str)> {
        match address(country, &a) {
            Ok(()) => vec![],
            Err(p) => p.into_iter().map(|(field, f)| (field, f.code)).collect(),
        }
    }

    #[test]
    fn us_address() {
        let ok = AddressInput {
            line1: Some("1 Market St"),
            city: Some("San Francisco"),
            state: Some("ca"),
            postal_code: Some("94105-1234"),
            country: Some("US"),
            ..Default::default()
        };
        assert_eq!(problems("us", ok), vec![]);
        assert_eq!(
            problems(
                "US",
                AddressInput {
                    state: Some("PR"),
                    ..ok
                }
            ),
            vec![]
        );
        assert_eq!(
            problems(
                "US",
                AddressInput {
                    state: Some("XX"),
                    postal_code: Some("9410"),
                    ..ok
                }
            ),
            vec![
                ("postal_code", "invalid_address_postal_code"),
                ("state", "invalid_address_state")
            ]
        );
        assert_eq!(
            problems(
                "US",
                AddressInput {
                    city: Some("  "),
                    state: None,
                    ..ok
                }
            ),
            vec![
                ("city", "missing_address_field"),
                ("state", "missing_address_field")
            ]
        );
        assert_eq!(
            problems(
                "US",
                AddressInput {
                    country: Some("SE"),
                    ..ok
                }
            ),
            vec![("country", "invalid_address_country")]
        );
    }

    #[test]
    fn gb_se_de_addresses() {
        let base = AddressInput {
            line1: Some("1 High St"),
            city: Some("London"),
            ..Default::default()
        };
        for pc in [
            "SW1A 1AA", "sw1a1aa", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX",
            "EC1A 1BB",
        ] {
            assert_eq!(
                problems(
                    "GB",
                    AddressInput {
                        postal_code: Some(pc),
                        ..base
                    }
                ),
                vec![],
                "{pc}"
            );
        }
        for pc in ["SW1A", "12345", "SW1A 1A1", "1W1A 1AA"] {
            assert_eq!(
                problems(
                    "GB",
                    AddressInput {
                        postal_code: Some(pc),
                        ..base
                    }
                ),
                vec![("postal_code", "invalid_address_postal_code")],
                "{pc}"
            );
        }
        assert_eq!(
            problems("GB", base),
            vec![("postal_code", "missing_address_field")]
        );
        for pc in ["114 55", "11455"] {
            assert_eq!(
                problems(
                    "SE",
                    AddressInput {
                        postal_code: Some(pc),
                        ..base
                    }
                ),
                vec![]
            );
        }
        for pc in ["1145", "014 55", "11 455", "114-55"] {
            assert_eq!(
                problems(
                    "SE",
                    AddressInput {
                        postal_code: Some(pc),
                        ..base
                    }
                )
                .len(),
                1,
                "{pc}"
            );
        }
        assert_eq!(
            problems(
                "DE",
                AddressInput {
                    postal_code: Some("10115"),
                    ..base
                }
            ),
            vec![]
        );
        assert_eq!(
            problems(
                "FR",
                AddressInput {
                    postal_code: Some("7500"),
                    ..base
                }
            )
            .len(),
            1
        );
    }

    #[test]
    fn other_countries_and_bounds() {
        let base = AddressInput {
            line1: Some("Bahnhofstrasse 1"),
            city: Some("Zürich"),
            ..Default::default()
        };
        assert_eq!(problems("CH", base), vec![]);
        assert_eq!(
            problems(
                "CH",
                AddressInput {
                    postal_code: Some("8001"),
                    ..base
                }
            ),
            vec![]
        );
        assert_eq!(
            problems("XX", base),
            vec![("country", "invalid_address_country")]
        );
        let long = "x".repeat(201);
        assert_eq!(
            problems(
                "CH",
                AddressInput {
                    line1: Some(&long),
                    ..base
                }
            ),
            vec![("line1", "invalid_address_field")]
        );
        // 200 multi-byte characters are within the bound.
        let accented = "é".repeat(200);
        assert_eq!(
            problems(
                "CH",
                AddressInput {
                    line2: Some(&accented),
                    ..base
                }
            ),
            vec![]
        );
        assert_eq!(
            problems(
                "CH",
                AddressInput {
                    line1: None,
                    city: None,
                    ..base
                }
            ),
            vec![
                ("line1", "missing_address_field"),
                ("city", "missing_address_field")
            ]
        );
    }
}
