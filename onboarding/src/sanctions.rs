//! Screening sellers and their representatives against the US Treasury's OFAC SDN list.
//!
//! Screening never decides by itself: a [`Hit`] means "a person must look at this", and
//! callers send every hit to human review. The score is for ordering and display only.
//!
//! Names are compared after normalisation (Unicode NFKD with diacritics dropped, upper case,
//! punctuation removed, `LAST, First` reordered) token by token with Jaro-Winkler, against
//! the listed name and each of its aliases. A listed date of birth whose years cannot
//! include the subject's removes the hit; everything else about the listing (programs,
//! addresses, passports) is left to the reviewer.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Most rows a list may have. The SDN list has about 18,000; the bound keeps a wrong or
/// hostile file from exhausting memory.
pub const MAX_ROWS: usize = 200_000;

/// Similarity from which a name is a hit. Jaro-Winkler at 0.90 is the cut-off commonly used
/// for name screening: a one-letter typo or a transliteration variant of a name of ordinary
/// length stays above it (e.g. MORENO / MORENA 0.95), while different surnames that share a
/// first name fall below it (DANIEL MORALES against DANIEL MORENO scores 0.87 here, because
/// every token must match, not only the string as a whole). Missed hits cost more than
/// reviews, so it errs on the side of reporting.
pub const MATCH_THRESHOLD: f64 = 0.90;

/// Why a list could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SanctionsError {
    #[error("cannot read the sanctions list {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("sanctions list, line {line}: {reason}")]
    Malformed { line: u64, reason: String },
    #[error("the sanctions list has more than {max} rows")]
    TooLarge { max: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Individual,
    Organisation,
}

/// Who is screened: a person (a seller, a company's representative or owner) or a company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Full name as the seller typed it, in any order and script.
    pub name: String,
    pub dob: Option<NaiveDate>,
    pub kind: SubjectKind,
}

/// How the listed dates of birth relate to the subject's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DobMatch {
    /// A listed date is the subject's date of birth.
    Exact,
    /// A listed year (or range of years, or a date in the same year) includes the subject's
    /// year of birth.
    YearOnly,
    /// Nothing to compare: the listing has no (readable) date of birth, the subject gave
    /// none, or the subject is an organisation.
    NotListed,
}

/// A listed entry whose name (or one of its aliases) is close to the subject's.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub ent_num: u64,
    /// The entry's primary name as listed (`LAST, First`), whichever name matched.
    pub listed_name: String,
    /// Best name similarity, 0 to 1; for ordering and display only.
    pub score: f64,
    pub dob_match: DobMatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ListedDob {
    Date(NaiveDate),
    /// Inclusive range of years (`DOB 1963`, `DOB circa 1960`, `DOB 1960 to 1962`).
    Years(i32, i32),
    /// A DOB remark we could not read: it must not remove a hit.
    Unreadable,
}

#[derive(Debug, Clone)]
struct Entry {
    ent_num: u64,
    listed_name: String,
    individual: bool,
    /// Normalised tokens of the primary name and of each alias.
    names: Vec<Vec<String>>,
    dobs: Vec<ListedDob>,
}

/// The loaded list, with every name normalised once.
#[derive(Debug, Clone, Default)]
pub struct SanctionsList {
    entries: Vec<Entry>,
}

const COLUMNS: usize = 12;

impl SanctionsList {
    /// Reads the SDN list's CSV format: no header, 12 columns (`ent_num, SDN_Name,
    /// SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner,
    /// Remarks`), `-0-` for an empty field. A malformed row is an error naming its line.
    /// Bytes that are not UTF-8 are read as Latin-1 (older list files were Windows
    /// encoded); the DOS end-of-file marker some files end with is ignored.
    pub fn from_csv<R: Read>(reader: R) -> Result<SanctionsList, SanctionsError> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let mut entries = Vec::new();
        let mut record = csv::ByteRecord::new();
        loop {
            let line = csv.position().line();
            match csv.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    return Err(SanctionsError::Malformed {
                        line: e.position().map_or(line, |p| p.line()),
                        reason: e.to_string(),
                    })
                }
            }
            let line = record.position().map_or(line, |p| p.line());
            let fields: Vec<String> = record.iter().map(decode).collect();
            if fields
                .iter()
                .all(|f| f.trim().is_empty() || f.trim() == "\u{1a}")
            {
                continue;
            }
            if entries.len() >= MAX_ROWS {
                return Err(SanctionsError::TooLarge { max: MAX_ROWS });
            }
            entries.push(parse_row(&fields, line)?);
        }
        Ok(SanctionsList { entries })
    }

    pub fn from_path(path: impl AsRef<Path>) -> Result<SanctionsList, SanctionsError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| SanctionsError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_csv(std::io::BufReader::new(file))
    }

    /// Number of listed entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries whose name or alias is close to the subject's, best first. Individuals are
    /// compared with listed individuals only, organisations with every other entry
    /// (entities, vessels, aircraft). An individual's hit is dropped when every listed date
    /// of birth is in years that exclude the subject's.
    pub fn screen(&self, subject: &Subject) -> Vec<Hit> {
        let individual = subject.kind == SubjectKind::Individual;
        let subject_tokens = normalise_name(&subject.name, individual);
        if subject_tokens.is_empty() {
            return Vec::new();
        }
        let mut hits: Vec<Hit> = self
            .entries
            .iter()
            .filter(|e| e.individual == individual)
            .filter_map(|e| {
                let score = e
                    .names
                    .iter()
                    .map(|listed| name_score(&subject_tokens, listed, individual))
                    .fold(0.0_f64, f64::max);
                if score < MATCH_THRESHOLD {
                    return None;
                }
                let dob_match = if individual {
                    dob_match(&e.dobs, subject.dob)?
                } else {
                    DobMatch::NotListed
                };
                Some(Hit {
                    ent_num: e.ent_num,
                    listed_name: e.listed_name.clone(),
                    score,
                    dob_match,
                })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ent_num.cmp(&b.ent_num)));
        hits
    }
}

fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// `-0-` (with the list's trailing spaces) means empty.
fn field(fields: &[String], i: usize) -> Option<&str> {
    let f = fields.get(i)?.trim();
    (!f.is_empty() && f != "-0-").then_some(f)
}

fn parse_row(fields: &[String], line: u64) -> Result<Entry, SanctionsError> {
    let malformed = |reason: String| SanctionsError::Malformed { line, reason };
    if fields.len() != COLUMNS {
        return Err(malformed(format!(
            "expected {COLUMNS} columns, found {}",
            fields.len()
        )));
    }
    let ent_num = field(fields, 0)
        .and_then(|f| f.parse::<u64>().ok())
        .ok_or_else(|| malformed("ent_num is not a number".to_owned()))?;
    let listed_name = field(fields, 1)
        .ok_or_else(|| malformed("SDN_Name is empty".to_owned()))?
        .to_owned();
    let individual = field(fields, 2).is_some_and(|t| t.eq_ignore_ascii_case("individual"));
    let mut names = vec![normalise_name(&listed_name, individual)];
    let mut dobs = Vec::new();
    for remark in field(fields, 11).unwrap_or("").split(';') {
        let remark = remark.trim();
        let remark = remark.strip_prefix("alt. ").unwrap_or(remark);
        if let Some(dob) = remark.strip_prefix("DOB ") {
            dobs.push(parse_dob(dob.trim().trim_end_matches('.')));
        } else if let Some(alias) = ["a.k.a. ", "f.k.a. ", "n.k.a. "]
            .iter()
            .find_map(|p| remark.strip_prefix(p))
        {
            let alias = alias.trim().trim_end_matches('.').trim_matches('\'');
            let tokens = normalise_name(alias, individual);
            if !tokens.is_empty() {
                names.push(tokens);
            }
        }
    }
    Ok(Entry {
        ent_num,
        listed_name,
        individual,
        names,
        dobs,
    })
}

/// Forms found in the list: `28 Jul 1963`, `Jul 1963`, `1963`, `circa 1960`,
/// `1960 to 1962`, `01 Jan 1960 to 31 Dec 1962`.
fn parse_dob(text: &str) -> ListedDob {
    if let Some((from, to)) = text.split_once(" to ") {
        return match (parse_dob(from), parse_dob(to)) {
            (ListedDob::Unreadable, _) | (_, ListedDob::Unreadable) => ListedDob::Unreadable,
            (a, b) => {
                let (a0, _) = year_span(&a);
                let (_, b1) = year_span(&b);
                ListedDob::Years(a0.min(b1), a0.max(b1))
            }
        };
    }
    if let Some(year) = text.strip_prefix("circa ") {
        // "circa" gives no precision; two years either side is generous on purpose, since a
        // DOB only ever removes hits.
        return match year.trim().parse::<i32>() {
            Ok(y) => ListedDob::Years(y - 2, y + 2),
            Err(_) => ListedDob::Unreadable,
        };
    }
    let parts: Vec<&str> = text.split_whitespace().collect();
    let month = |m: &str| -> Option<u32> {
        const MONTHS: [&str; 12] = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ];
        let m = m.get(..3)?.to_ascii_lowercase();
        MONTHS.iter().position(|x| *x == m).map(|i| i as u32 + 1)
    };
    let year = |y: &str| y.parse::<i32>().ok().filter(|y| (1800..=2100).contains(y));
    match parts.as_slice() {
        [d, m, y] => match (d.parse::<u32>().ok(), month(m), year(y)) {
            (Some(d), Some(m), Some(y)) => {
                NaiveDate::from_ymd_opt(y, m, d).map_or(ListedDob::Unreadable, ListedDob::Date)
            }
            _ => ListedDob::Unreadable,
        },
        [m, y] => match (month(m), year(y)) {
            (Some(_), Some(y)) => ListedDob::Years(y, y),
            _ => ListedDob::Unreadable,
        },
        [y] => year(y).map_or(ListedDob::Unreadable, |y| ListedDob::Years(y, y)),
        _ => ListedDob::Unreadable,
    }
}

fn year_span(d: &ListedDob) -> (i32, i32) {
    match d {
        ListedDob::Date(date) => (date.year(), date.year()),
        ListedDob::Years(a, b) => (*a, *b),
        ListedDob::Unreadable => (i32::MIN, i32::MAX),
    }
}

/// `None` removes the hit: the list gives dates of birth and none can be the subject's.
fn dob_match(listed: &[ListedDob], subject: Option<NaiveDate>) -> Option<DobMatch> {
    let Some(dob) = subject else {
        return Some(DobMatch::NotListed);
    };
    if listed.is_empty() {
        return Some(DobMatch::NotListed);
    }
    if listed.contains(&ListedDob::Date(dob)) {
        return Some(DobMatch::Exact);
    }
    let year_overlaps = listed.iter().any(|d| {
        !matches!(d, ListedDob::Unreadable) && {
            let (a, b) = year_span(d);
            (a..=b).contains(&dob.year())
        }
    });
    if year_overlaps {
        return Some(DobMatch::YearOnly);
    }
    if listed.contains(&ListedDob::Unreadable) {
        return Some(DobMatch::NotListed);
    }
    None
}

/// Letters that NFKD does not decompose into a base letter and a mark.
fn fold_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'Ø' => "O",
        'Æ' => "AE",
        'Œ' => "OE",
        'Ł' => "L",
        'Đ' | 'Ð' => "D",
        'Þ' => "TH",
        'Ħ' => "H",
        'Ŧ' => "T",
        _ => return None,
    })
}

/// Upper-case tokens of a name without diacritics or punctuation. For individuals, a name
/// written `LAST, First Middle` becomes `First Middle LAST`.
fn normalise_name(name: &str, individual: bool) -> Vec<String> {
    let reordered;
    let name = match name.split_once(',') {
        Some((last, first)) if individual && !first.trim().is_empty() => {
            reordered = format!("{first} {last}");
            reordered.as_str()
        }
        _ => name,
    };
    let mut out = String::with_capacity(name.len());
    for c in name.nfkd().filter(|c| !is_combining_mark(*c)) {
        for u in c.to_uppercase() {
            if let Some(folded) = fold_letter(u) {
                out.push_str(folded);
            } else if u.is_alphanumeric() {
                out.push(u);
            } else if matches!(u, '\'' | '’' | 'ʼ' | '`' | '.') {
                // O'Brien = OBRIEN, S.R.O. = SRO: these join rather than split.
            } else {
                out.push(' ');
            }
        }
    }
    out.split_whitespace().map(str::to_owned).collect()
}

/// Legal-form words and fillers that say nothing about which organisation it is.
const ORG_NOISE: [&str; 27] = [
    "LTD",
    "LIMITED",
    "LLC",
    "INC",
    "INCORPORATED",
    "CO",
    "COMPANY",
    "CORP",
    "CORPORATION",
    "SA",
    "SRO",
    "GMBH",
    "AG",
    "AB",
    "PLC",
    "LLP",
    "BV",
    "NV",
    "OY",
    "AS",
    "SPA",
    "SARL",
    "OOO",
    "JSC",
    "THE",
    "OF",
    "AND",
];

fn name_score(subject: &[String], listed: &[String], individual: bool) -> f64 {
    let mut best = token_score(subject, listed);
    if !individual {
        let strip = |t: &[String]| -> Vec<String> {
            t.iter()
                .filter(|w| !ORG_NOISE.contains(&w.as_str()))
                .cloned()
                .collect()
        };
        let (s, l) = (strip(subject), strip(listed));
        if !s.is_empty() && !l.is_empty() {
            best = best.max(token_score(&s, &l));
        }
    }
    best
}

/// Similarity of two token lists. When both have several tokens, each token of the shorter
/// list is paired with a distinct, most similar token of the longer one (so order and
/// omitted middle names do not matter), and the score is the mean of the average and the
/// weakest pair: one very different token (another surname) sinks the score. When one side
/// is a single token, the whole strings are compared, so `DANIEL` alone does not match
/// `DANIEL MORENO`.
fn token_score(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.len() == 1 && long.len() > 1 {
        let mut sorted_long = long.to_vec();
        sorted_long.sort();
        return strsim::jaro_winkler(&short[0], &long.join(" "))
            .max(strsim::jaro_winkler(&short[0], &sorted_long.join(" ")));
    }
    let mut used = vec![false; long.len()];
    let mut sum = 0.0;
    let mut weakest = 1.0_f64;
    for token in short {
        let mut best = (0.0_f64, None);
        for (j, candidate) in long.iter().enumerate() {
            if used[j] {
                continue;
            }
            let s = strsim::jaro_winkler(token, candidate);
            if best.1.is_none() || s > best.0 {
                best = (s, Some(j));
            }
        }
        if let (s, Some(j)) = best {
            used[j] = true;
            sum += s;
            weakest = weakest.min(s);
        }
    }
    let mean = sum / short.len() as f64;
    (mean + weakest) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        assert_eq!(
            normalise_name("LOGAN MOREY, Elvis Angus", true),
            ["ELVIS", "ANGUS", "LOGAN", "MOREY"]
        );
        assert_eq!(
            normalise_name("Ærø-Ødegård, Łukasz", true),
            ["LUKASZ", "AERO", "ODEGARD"]
        );
        assert_eq!(
            normalise_name("D'S SUPERMARKET, S.R.O.", false),
            ["DS", "SUPERMARKET", "SRO"]
        );
        assert_eq!(normalise_name("Straße", true), ["STRASSE"]);
        assert!(normalise_name(" ,;- ", true).is_empty());
    }

    #[test]
    fn dob_forms() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(parse_dob("28 Jul 1963"), ListedDob::Date(d(1963, 7, 28)));
        assert_eq!(parse_dob("1963"), ListedDob::Years(1963, 1963));
        assert_eq!(parse_dob("Aug 1964"), ListedDob::Years(1964, 1964));
        assert_eq!(parse_dob("circa 1960"), ListedDob::Years(1958, 1962));
        assert_eq!(parse_dob("1960 to 1962"), ListedDob::Years(1960, 1962));
        assert_eq!(
            parse_dob("01 Jan 1960 to 31 Dec 1962"),
            ListedDob::Years(1960, 1962)
        );
        assert_eq!(parse_dob("sometime"), ListedDob::Unreadable);
        assert_eq!(parse_dob("31 Feb 1960"), ListedDob::Unreadable);
    }

    #[test]
    fn dob_matching() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let listed = [
            ListedDob::Date(d(1963, 7, 28)),
            ListedDob::Years(1970, 1972),
        ];
        assert_eq!(
            dob_match(&listed, Some(d(1963, 7, 28))),
            Some(DobMatch::Exact)
        );
        assert_eq!(
            dob_match(&listed, Some(d(1963, 1, 1))),
            Some(DobMatch::YearOnly)
        );
        assert_eq!(
            dob_match(&listed, Some(d(1971, 5, 5))),
            Some(DobMatch::YearOnly)
        );
        assert_eq!(dob_match(&listed, Some(d(1980, 1, 1))), None);
        assert_eq!(dob_match(&listed, None), Some(DobMatch::NotListed));
        assert_eq!(
            dob_match(&[], Some(d(1980, 1, 1))),
            Some(DobMatch::NotListed)
        );
        assert_eq!(
            dob_match(&[ListedDob::Unreadable], Some(d(1980, 1, 1))),
            Some(DobMatch::NotListed)
        );
    }

    #[test]
    fn scores_separate_typos_from_other_surnames() {
        let t = |s: &str| normalise_name(s, true);
        let listed = t("MORENO, Daniel");
        assert!(token_score(&t("Daniel Moreno"), &listed) > 0.999);
        assert!(token_score(&t("Daniel Morena"), &listed) >= MATCH_THRESHOLD);
        assert!(token_score(&t("Daniel Morales"), &listed) < MATCH_THRESHOLD);
        assert!(token_score(&t("Daniel"), &listed) < MATCH_THRESHOLD);
        assert!(token_score(&t("Daniel Daniel"), &listed) < MATCH_THRESHOLD);
    }

    fn sample() -> SanctionsList {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/ofac-sdn-sample.csv"
        );
        SanctionsList::from_path(path).unwrap()
    }

    fn person(name: &str, dob: Option<(i32, u32, u32)>) -> Subject {
        Subject {
            name: name.to_owned(),
            dob: dob.map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap()),
            kind: SubjectKind::Individual,
        }
    }

    fn organisation(name: &str) -> Subject {
        Subject {
            name: name.to_owned(),
            dob: None,
            kind: SubjectKind::Organisation,
        }
    }

    fn hit_ids(list: &SanctionsList, subject: &Subject) -> Vec<u64> {
        list.screen(subject).iter().map(|h| h.ent_num).collect()
    }

    #[test]
    fn sample_loads_every_row() {
        let list = sample();
        assert_eq!(list.len(), 14);
        let logan = list.entries.iter().find(|e| e.ent_num == 10278).unwrap();
        assert!(logan.individual);
        assert_eq!(logan.listed_name, "LOGAN MOREY, Elvis Angus");
        assert_eq!(logan.names.len(), 2, "name and one a.k.a.");
        assert_eq!(
            logan.dobs,
            [ListedDob::Date(
                NaiveDate::from_ymd_opt(1963, 7, 28).unwrap()
            )]
        );
        let iami = list.entries.iter().find(|e| e.ent_num == 11195).unwrap();
        assert!(!iami.individual);
        assert_eq!(iami.names.len(), 10);
    }

    #[test]
    fn exact_and_reversed_names_hit() {
        let list = sample();
        for name in ["Daniel Moreno", "Moreno Daniel", "MORENO, Daniel"] {
            let hits = list.screen(&person(name, None));
            assert_eq!(hits.len(), 1, "{name}");
            assert_eq!(hits[0].ent_num, 15102);
            assert_eq!(hits[0].listed_name, "MORENO, Daniel");
            assert!(hits[0].score > 0.999);
            assert_eq!(hits[0].dob_match, DobMatch::NotListed);
        }
        assert_eq!(
            hit_ids(&list, &person("Elvis Angus Logan Morey", None)),
            [10278]
        );
    }

    #[test]
    fn diacritics_case_and_punctuation_do_not_matter() {
        let list = sample();
        for name in [
            "élvis ÁNGUS logan-morey",
            "  Elvis  Angus Logan.Morey ",
            "Artëm Mikháylovich LIFSHITS",
        ] {
            assert_eq!(hit_ids(&list, &person(name, None)).len(), 1, "{name}");
        }
    }

    #[test]
    fn a_one_letter_typo_still_hits() {
        let list = sample();
        let hits = list.screen(&person("Artem Mikhailovich Lifshits", None));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].ent_num, 29702);
        assert!(hits[0].score < 1.0);
        assert_eq!(hit_ids(&list, &person("Daniel Morenno", None)), [15102]);
    }

    #[test]
    fn an_alias_hits() {
        let list = sample();
        assert_eq!(hit_ids(&list, &person("Burton Burgess", None)), [10278]);
        assert_eq!(hit_ids(&list, &organisation("Dialogue Regions")), [50544]);
        assert_eq!(
            hit_ids(&list, &organisation("Havapeyma Sazi Iran")),
            [11195]
        );
    }

    #[test]
    fn date_of_birth_narrows_hits() {
        let list = sample();
        let name = "Elvis Angus Logan Morey";
        let hits = list.screen(&person(name, Some((1963, 7, 28))));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].dob_match, DobMatch::Exact);
        let hits = list.screen(&person(name, Some((1963, 1, 2))));
        assert_eq!(hits[0].dob_match, DobMatch::YearOnly);
        assert!(list.screen(&person(name, Some((1980, 7, 28)))).is_empty());
    }

    #[test]
    fn unrelated_names_do_not_hit() {
        let list = sample();
        for name in [
            "John Smith",
            "Maria Garcia",
            "Daniel Morales",
            "Anna Lindqvist",
            "Daniel",
        ] {
            assert!(list.screen(&person(name, None)).is_empty(), "{name}");
        }
        for name in ["Acme Trading Ltd", "Nordic Steel AB", "Iris Flowers"] {
            assert!(list.screen(&organisation(name)).is_empty(), "{name}");
        }
    }

    #[test]
    fn organisations_and_individuals_are_screened_separately() {
        let list = sample();
        assert_eq!(hit_ids(&list, &organisation("Suex OTC s.r.o.")), [33151]);
        assert_eq!(
            hit_ids(&list, &organisation("TNK Trading International")),
            [28603]
        );
        assert_eq!(
            hit_ids(
                &list,
                &organisation("Iran Aircraft Manufacturing Industrial Co.")
            ),
            [11195]
        );
        // Vessels are not individuals: screened as organisations.
        assert_eq!(hit_ids(&list, &organisation("NS Leader")), [47371]);
        assert!(list.screen(&person("Suex OTC", None)).is_empty());
        assert!(list.screen(&organisation("Daniel Moreno")).is_empty());
    }

    #[test]
    fn malformed_rows_name_their_line() {
        let good =
            r#"1,"DOE, John","individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"DOB 1970.""#;
        let short = format!("{good}\n2,\"X\",-0-\n");
        match SanctionsList::from_csv(short.as_bytes()) {
            Err(SanctionsError::Malformed { line, reason }) => {
                assert_eq!(line, 2);
                assert!(reason.contains("12 columns"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let bad_id = good.replacen('1', "x", 1);
        assert!(matches!(
            SanctionsList::from_csv(format!("{good}\n{good}\n{bad_id}\n").as_bytes()),
            Err(SanctionsError::Malformed { line: 3, .. })
        ));
        // Empty lines and the DOS end-of-file marker are not rows.
        let list = SanctionsList::from_csv(format!("{good}\n\n\u{1a}\n").as_bytes()).unwrap();
        assert_eq!(list.len(), 1);
        assert!(matches!(
            SanctionsList::from_path("/nonexistent/sdn.csv"),
            Err(SanctionsError::Open { .. })
        ));
    }

    #[test]
    fn list_size_is_bounded() {
        let row = "1,\"A\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n";
        let csv = row.repeat(MAX_ROWS + 1);
        assert!(matches!(
            SanctionsList::from_csv(csv.as_bytes()),
            Err(SanctionsError::TooLarge { max: MAX_ROWS })
        ));
    }
}
