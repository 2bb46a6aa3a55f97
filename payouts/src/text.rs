//! Character-set hygiene for bank files.
//!
//! Banks accept a small alphabet. Names come from sellers in any script, so they are
//! transliterated to ASCII first (`ä`→`a`, `ß`→`ss`, `å`→`a`, `é`→`e`, `Ø`→`O`, Cyrillic and
//! other scripts by `deunicode`), then every character still outside the rail's alphabet is
//! replaced by a space, runs of spaces are collapsed, and the result is cut to the field length.

/// The EPC "basic Latin" set that every SEPA bank must accept.
pub(crate) fn is_epc_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " /-?:().,'+".contains(c)
}

/// The alphabet of NACHA and Bacs text fields, upper case only (both schemes recommend it and
/// some banks reject lower case).
pub(crate) fn is_bank_upper_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || " .&/-".contains(c)
}

/// Transliterates, replaces characters outside `allowed` by spaces, collapses spaces, trims and
/// cuts to `max_chars` (all output is ASCII, so characters and bytes agree).
pub(crate) fn clean(
    input: &str,
    max_chars: usize,
    upper: bool,
    allowed: fn(char) -> bool,
) -> String {
    // Bound the work on hostile input before transliterating (which may expand a character).
    let bounded: String = input
        .chars()
        .take(max_chars.saturating_mul(4).max(64))
        .collect();
    let mut ascii = String::with_capacity(bounded.len());
    for c in bounded.chars() {
        match c {
            // Common in company names; "+" is the EPC stand-in and reads naturally.
            '&' if !allowed('&') => ascii.push('+'),
            '_' => ascii.push('-'),
            c if c.is_ascii() => ascii.push(c),
            c => ascii.push_str(deunicode::deunicode_char(c).unwrap_or(" ")),
        }
    }
    if upper {
        ascii.make_ascii_uppercase();
    }
    let mut out = String::with_capacity(max_chars);
    let mut last_space = true; // also drops leading spaces
    for c in ascii.chars() {
        let c = if allowed(c) { c } else { ' ' };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    let mut cut: String = out.chars().take(max_chars).collect();
    cut.truncate(cut.trim_end().len());
    cut
}

/// EPC text for SEPA: names, remittance information.
pub(crate) fn epc(input: &str, max_chars: usize) -> String {
    clean(input, max_chars, false, is_epc_char)
}

/// Upper-case text for NACHA and Bacs fields.
pub(crate) fn bank_upper(input: &str, max_chars: usize) -> String {
    clean(input, max_chars, true, is_bank_upper_char)
}

/// Left-justified, space-padded to exactly `width` (the input must already be ≤ `width`
/// ASCII characters; longer input is cut, never allowed to shift the columns).
pub(crate) fn pad_right(s: &str, width: usize) -> String {
    let cut: String = s.chars().take(width).collect();
    format!("{cut:<width$}")
}

/// Right-justified, zero-padded number of exactly `width` digits, or `None` if it does not fit.
pub(crate) fn zero_pad(n: u64, width: usize) -> Option<String> {
    let s = format!("{n:0width$}");
    (s.len() == width).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epc_transliterates_and_replaces() {
        assert_eq!(epc("Jürgen Großmann", 70), "Jurgen Grossmann");
        assert_eq!(epc("Åsa Ørsted-Æbelø", 70), "Asa Orsted-AEbelo");
        assert_eq!(epc("Café Crème & Co_KG", 70), "Cafe Creme + Co-KG");
        assert_eq!(epc("<script>\"x\";</script>", 70), "script x /script");
        assert_eq!(epc("  a   b  ", 70), "a b");
        assert_eq!(epc("Łódź", 70), "Lodz");
        assert_eq!(epc("abcdef", 3), "abc");
        assert_eq!(epc("ab cd", 3), "ab");
        assert_eq!(epc("\u{0000}\u{FFFF}", 10), "");
    }

    #[test]
    fn bank_upper_is_upper_case_ascii() {
        assert_eq!(bank_upper("Zoë O'Brien & Sons", 18), "ZOE O BRIEN & SONS");
        assert_eq!(bank_upper("Müller", 22), "MULLER");
    }

    #[test]
    fn padding_never_shifts_columns() {
        assert_eq!(pad_right("AB", 4), "AB  ");
        assert_eq!(pad_right("ABCDEF", 4), "ABCD");
        assert_eq!(zero_pad(42, 5).unwrap(), "00042");
        assert_eq!(zero_pad(123_456, 5), None);
    }
}
