//! IBAN and BIC checks shared by the SEPA file and the CSV file.

/// Normalises (removes spaces, upper-cases) and validates an IBAN: country letters, check
/// digits, 15–34 alphanumerics, and the ISO 13616 mod-97 check. Returns the electronic form.
pub fn normalize_iban(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let iban: String = input
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bytes = iban.as_bytes();
    if !(15..=34).contains(&bytes.len())
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !bytes.iter().all(u8::is_ascii_alphanumeric)
    {
        return None;
    }
    // Move the first four characters to the end, letters → 10..35, then mod 97 digit by digit.
    let mut remainder: u32 = 0;
    for &b in bytes[4..].iter().chain(&bytes[..4]) {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    (remainder == 1).then_some(iban)
}

/// Validates a BIC (ISO 9362, the pattern of pain.001.001.09's `BICFIDec2014Identifier`):
/// 4 alphanumerics, 2 letters (country), 2 alphanumerics, optionally 3 more.
pub fn normalize_bic(input: &str) -> Option<String> {
    let bic = input.trim().to_ascii_uppercase();
    let b = bic.as_bytes();
    let ok = (b.len() == 8 || b.len() == 11)
        && b.iter().all(u8::is_ascii_alphanumeric)
        && b[4..6].iter().all(u8::is_ascii_uppercase);
    ok.then_some(bic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans() {
        for valid in [
            "DE89370400440532013000",
            "DE89 3704 0044 0532 0130 00",
            "GB82WEST12345698765432",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
            "AT611904300234573201",
            "BE68539007547034",
            "fi2112345600000785",
        ] {
            assert!(normalize_iban(valid).is_some(), "{valid}");
        }
        assert_eq!(
            normalize_iban("de89 3704 0044 0532 0130 00").unwrap(),
            "DE89370400440532013000"
        );
        for invalid in [
            "DE88370400440532013000", // check digits off by one
            "DE8937040044053201300",  // digit missing
            "DE89-3704-0044-0532-0130-00",
            "1289370400440532013000",
            "",
            "DE89",
        ] {
            assert!(normalize_iban(invalid).is_none(), "{invalid}");
        }
    }

    #[test]
    fn bics() {
        assert_eq!(normalize_bic("deutdeff").unwrap(), "DEUTDEFF");
        assert!(normalize_bic("DEUTDEFF500").is_some());
        assert!(normalize_bic("DEUT1EFF").is_none());
        assert!(normalize_bic("DEUTDEF").is_none());
        assert!(normalize_bic("DEUTDEFF<x>").is_none());
    }
}
