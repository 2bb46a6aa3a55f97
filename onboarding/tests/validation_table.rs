//! The oracle table: every row of tests/fixtures/validation_cases.csv through the matching
//! validator. ci/check_validators.py runs the same table through python-stdnum and
//! schwifty, so both implementations are held to one set of expectations.

use agora_onboarding::verify;
use chrono::NaiveDate;

const TABLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/validation_cases.csv"
);

fn verdict(kind: &str, value: &str) -> Option<Result<(), verify::Failure>> {
    // Fixed, so the century of 10-digit personnummer never shifts under the test; the table
    // only holds numbers whose century is the same for any date this decade.
    let today = NaiveDate::from_ymd_opt(2026, 3, 15)?;
    Some(match kind {
        "iban" => verify::iban(value).map(drop),
        "bic" => verify::bic(value).map(drop),
        "aba" => verify::aba_routing_number(value).map(drop),
        "eu_vat" => verify::eu_vat(value).map(drop),
        "ein" => verify::ein(value).map(drop),
        "personnummer" => verify::personnummer(value, today).map(drop),
        "organisationsnummer" => verify::organisationsnummer(value).map(drop),
        _ => return None,
    })
}

#[test]
fn validators_agree_with_the_oracle_table() {
    let mut reader = csv::Reader::from_path(TABLE).unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        ["kind", "value", "expected", "note"]
    );

    let mut disagreements = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    let mut cases = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let line = record.position().map_or(0, |p| p.line());
        let (kind, value, expected, note) = (&record[0], &record[1], &record[2], &record[3]);
        let Some(result) = verdict(kind, value) else {
            disagreements.push(format!("line {line}: unknown kind {kind:?}"));
            continue;
        };
        kinds.insert(kind.to_owned());
        cases += 1;
        let got = match &result {
            Ok(()) => "valid",
            Err(_) => "invalid",
        };
        if !matches!(expected, "valid" | "invalid") {
            disagreements.push(format!("line {line}: expected must be valid or invalid"));
        } else if got != expected {
            let why = result
                .err()
                .map(|f| format!(" ({})", f.code))
                .unwrap_or_default();
            disagreements.push(format!(
                "line {line}: {kind} {value:?} is {got}{why}, the table says {expected} ({note})"
            ));
        }
    }
    assert!(cases >= 80, "the table has only {cases} cases");
    assert_eq!(kinds.len(), 7, "every kind is covered: {kinds:?}");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
