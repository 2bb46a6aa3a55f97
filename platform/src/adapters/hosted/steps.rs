//! Which steps and fields the flow shows: only what the account's requirements list as due for
//! the link's `collect` (plus whatever has a verification error). Field names are the API's
//! parameter paths, so a validator's `param` points straight at the field to mark.

use std::collections::BTreeSet;

use agora_onboarding::accounts::Account;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Business,
    Details,
    Owners,
    Bank,
    Document,
    Terms,
    Review,
}

pub const ORDER: [Step; 7] = [
    Step::Business,
    Step::Details,
    Step::Owners,
    Step::Bank,
    Step::Document,
    Step::Terms,
    Step::Review,
];

impl Step {
    pub fn slug(self) -> &'static str {
        match self {
            Step::Business => "business",
            Step::Details => "details",
            Step::Owners => "owners",
            Step::Bank => "bank",
            Step::Document => "document",
            Step::Terms => "terms",
            Step::Review => "review",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        ORDER.into_iter().find(|s| s.slug() == slug)
    }

    pub fn title_key(self, company: bool) -> &'static str {
        match self {
            Step::Business => "step.business",
            Step::Details if company => "step.company",
            Step::Details => "step.details",
            Step::Owners => "step.owners",
            Step::Bank => "step.bank",
            Step::Document => "step.document",
            Step::Terms => "step.terms",
            Step::Review => "step.review",
        }
    }
}

/// What the seller still has to give, for one session.
#[derive(Debug, Clone, Default)]
pub struct Due {
    pub names: BTreeSet<String>,
    /// (requirement, code, reason) from `requirements.errors`.
    pub errors: Vec<(String, String, String)>,
}

impl Due {
    /// `currently_due` (and `past_due`) for `collect = currently_due`; `eventually_due` as
    /// well for `eventually_due`. Requirements in error are always included.
    pub fn of(account: &Account, collect: &str) -> Self {
        let requirements = account
            .kyc_state
            .as_ref()
            .and_then(|s| s.get("requirements"))
            .cloned()
            .unwrap_or(Value::Null);
        let list = |key: &str| -> Vec<String> {
            requirements[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut names: BTreeSet<String> = list("currently_due").into_iter().collect();
        names.extend(list("past_due"));
        if collect == "eventually_due" {
            names.extend(list("eventually_due"));
        }
        let errors: Vec<(String, String, String)> = requirements["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        Some((
                            e["requirement"].as_str()?.to_owned(),
                            e["code"].as_str()?.to_owned(),
                            e["reason"].as_str().unwrap_or("").to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.extend(errors.iter().map(|(r, _, _)| r.clone()));
        Self { names, errors }
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    fn any_prefix(&self, prefix: &str) -> bool {
        self.names.iter().any(|n| n.starts_with(prefix))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Email,
    Tel,
    Url,
    Select(&'static [(&'static str, &'static str)]),
    Radio(&'static [(&'static str, &'static str)]),
    Checkbox,
    File,
}

/// One form field. `label`, `hint` and `group` are catalogue keys.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub kind: Kind,
    pub label: &'static str,
    pub hint: Option<&'static str>,
    pub autocomplete: &'static str,
    pub inputmode: &'static str,
    pub group: Option<String>,
    pub required: bool,
}

fn field(name: impl Into<String>, kind: Kind, label: &'static str) -> FieldDef {
    FieldDef {
        name: name.into(),
        kind,
        label,
        hint: None,
        autocomplete: "off",
        inputmode: "",
        group: None,
        required: true,
    }
}

impl FieldDef {
    fn hint(mut self, key: &'static str) -> Self {
        self.hint = Some(key);
        self
    }
    fn auto(mut self, value: &'static str) -> Self {
        self.autocomplete = value;
        self
    }
    fn mode(mut self, value: &'static str) -> Self {
        self.inputmode = value;
        self
    }
}

pub const BUSINESS_TYPES: &[(&str, &str)] = &[
    ("individual", "business_type.individual"),
    ("company", "business_type.company"),
];

/// A short list of merchant category codes sellers recognise; the API accepts any.
pub const MCCS: &[(&str, &str)] = &[
    ("5734", "mcc.5734"),
    ("5699", "mcc.5699"),
    ("5945", "mcc.5945"),
    ("5812", "mcc.5812"),
    ("7299", "mcc.7299"),
    ("5999", "mcc.5999"),
];

/// Owner rows on the owners page: the form works without JavaScript, so the rows are fixed.
pub const OWNER_ROWS: usize = 4;
/// Director rows on the same page (GB, DE, FR companies).
pub const DIRECTOR_ROWS: usize = 3;

/// The repeated rows of the owners page: (list path, rows).
pub const PERSON_LISTS: [(&str, usize); 2] = [
    ("company.owners", OWNER_ROWS),
    ("company.directors", DIRECTOR_ROWS),
];

/// The person the seller speaks for: the individual, or the company's representative.
/// The company tax id field, with a hint naming the id the country's companies have.
fn tax_id_field(country: &str) -> FieldDef {
    let country = country.to_ascii_uppercase();
    let def = field("company.tax_id", Kind::Text, "company.tax_id");
    match country.as_str() {
        "SE" => def.hint("hint.tax_id.se"),
        "US" => def.hint("hint.tax_id.us"),
        "GB" => def.hint("hint.tax_id.gb"),
        c if agora_onboarding::verify::is_eu_member(c) => def.hint("hint.tax_id.eu"),
        _ => def,
    }
}

pub fn principal(account: &Account) -> &'static str {
    if account.business_type.as_deref() == Some("company") {
        "company.representative"
    } else {
        "individual"
    }
}

fn person_fields(prefix: &str, due: &Due, out: &mut Vec<FieldDef>, group: Option<&str>) {
    let defs = [
        field("first_name", Kind::Text, "first_name").auto("given-name"),
        field("last_name", Kind::Text, "last_name").auto("family-name"),
        field("email", Kind::Email, "email").auto("email"),
        field("phone", Kind::Tel, "phone")
            .auto("tel")
            .hint("hint.phone"),
        field("dob", Kind::Text, "dob")
            .auto("bday")
            .hint("hint.dob")
            .mode("numeric"),
        field("id_number", Kind::Text, "id_number").hint("hint.id_number"),
        field("ssn_last_4", Kind::Text, "ssn_last_4").mode("numeric"),
        field("address.line1", Kind::Text, "address.line1").auto("address-line1"),
        field("address.postal_code", Kind::Text, "address.postal_code").auto("postal-code"),
        field("address.city", Kind::Text, "address.city").auto("address-level2"),
        field("address.state", Kind::Text, "address.state").auto("address-level1"),
    ];
    let mut first = true;
    for mut def in defs {
        def.name = format!("{prefix}.{}", def.name);
        if due.has(&def.name) {
            if first {
                def.group = group.map(str::to_owned);
                first = false;
            }
            out.push(def);
        }
    }
}

/// The fields of `step` that the seller must fill in now; empty when the step has nothing due.
pub fn fields(step: Step, account: &Account, due: &Due) -> Vec<FieldDef> {
    let mut out = Vec::new();
    let company = account.business_type.as_deref() == Some("company");
    match step {
        Step::Business => {
            if due.has("business_type") {
                out.push(field(
                    "business_type",
                    Kind::Radio(BUSINESS_TYPES),
                    "business_type",
                ));
            }
            if due.has("business_profile.mcc") {
                out.push(field(
                    "business_profile.mcc",
                    Kind::Select(MCCS),
                    "business_profile.mcc",
                ));
            }
            if due.has("business_profile.url") {
                out.push(
                    field("business_profile.url", Kind::Url, "business_profile.url")
                        .auto("url")
                        .hint("hint.url"),
                );
            }
        }
        Step::Details if company => {
            let defs = [
                field("company.name", Kind::Text, "company.name").auto("organization"),
                tax_id_field(&account.country),
                field(
                    "company.registration_number",
                    Kind::Text,
                    "company.registration_number",
                ),
                field("company.address.line1", Kind::Text, "address.line1").auto("address-line1"),
                field(
                    "company.address.postal_code",
                    Kind::Text,
                    "address.postal_code",
                )
                .auto("postal-code"),
                field("company.address.city", Kind::Text, "address.city").auto("address-level2"),
                field("company.address.state", Kind::Text, "address.state").auto("address-level1"),
            ];
            let mut first = true;
            for mut def in defs {
                if due.has(&def.name) {
                    if first {
                        def.group = Some("section.company".to_owned());
                        first = false;
                    }
                    out.push(def);
                }
            }
            person_fields(
                "company.representative",
                due,
                &mut out,
                Some("section.representative"),
            );
        }
        Step::Details => person_fields("individual", due, &mut out, None),
        Step::Owners => {
            if company && due.any_prefix("company.owners") {
                for i in 0..OWNER_ROWS {
                    let p = format!("company.owners[{i}]");
                    let mut row = vec![
                        field(format!("{p}.first_name"), Kind::Text, "first_name"),
                        field(format!("{p}.last_name"), Kind::Text, "last_name"),
                        field(format!("{p}.dob"), Kind::Text, "dob")
                            .hint("hint.dob")
                            .mode("numeric"),
                        field(
                            format!("{p}.ownership_percent"),
                            Kind::Text,
                            "ownership_percent",
                        )
                        .mode("decimal"),
                    ];
                    // A row is needed only when filled in: nobody may hold 25%.
                    for f in &mut row {
                        f.required = false;
                    }
                    row[0].group = Some(format!("owner {}", i + 1));
                    out.extend(row);
                }
            }
            if company && due.any_prefix("company.directors") {
                for i in 0..DIRECTOR_ROWS {
                    let p = format!("company.directors[{i}]");
                    let mut row = vec![
                        field(format!("{p}.first_name"), Kind::Text, "first_name"),
                        field(format!("{p}.last_name"), Kind::Text, "last_name"),
                    ];
                    // The list may be empty in principle; a filled row needs both names.
                    for f in &mut row {
                        f.required = false;
                    }
                    row[0].group = Some(format!("director {}", i + 1));
                    out.extend(row);
                }
            }
        }
        Step::Bank => {
            if due.has("external_account") {
                if account.country == "US" {
                    out.push(field("routing_number", Kind::Text, "routing_number").mode("numeric"));
                    out.push(field("account_number", Kind::Text, "account_number").mode("numeric"));
                } else {
                    out.push(field("iban", Kind::Text, "iban").hint("hint.iban"));
                }
                out.push(
                    field("account_holder_name", Kind::Text, "account_holder_name").auto("name"),
                );
            }
        }
        Step::Document => {
            let name = format!("{}.verification.document", principal(account));
            // A company's document is its representative's, not the company's.
            let label = if principal(account) == "individual" {
                "document"
            } else {
                "document.representative"
            };
            if due.has(&name) {
                out.push(field(name, Kind::File, label).hint("hint.document"));
            }
        }
        Step::Terms => {
            if due.has("tos_acceptance.ip") {
                out.push(field("tos_acceptance", Kind::Checkbox, "terms.accept"));
            }
        }
        Step::Review => {}
    }
    out
}

/// The first step with something due, else the review.
pub fn next(account: &Account, due: &Due) -> Step {
    ORDER
        .into_iter()
        .find(|s| *s != Step::Review && !fields(*s, account, due).is_empty())
        .unwrap_or(Step::Review)
}

/// The HTML id of a field: its name with `.`, `[` and `]` made safe.
pub fn html_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => id.push(c),
            _ => id.push('-'),
        }
    }
    id
}

/// Sets `value` at a parameter path (`company.owners[1].first_name`) in a JSON object.
pub fn set_path(root: &mut Value, path: &str, value: Value) {
    let mut node = root;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (*part, None),
        };
        if !node.is_object() {
            *node = Value::Object(serde_json::Map::new());
        }
        let Some(map) = node.as_object_mut() else {
            return;
        };
        match index {
            Some(idx) => {
                let entry = map
                    .entry(key.to_owned())
                    .or_insert_with(|| Value::Array(Vec::new()));
                let Some(array) = entry.as_array_mut() else {
                    return;
                };
                while array.len() <= idx {
                    array.push(Value::Object(serde_json::Map::new()));
                }
                node = &mut array[idx];
                if last {
                    *node = value;
                    return;
                }
            }
            None => {
                if last {
                    map.insert(key.to_owned(), value);
                    return;
                }
                node = map
                    .entry(key.to_owned())
                    .or_insert_with(|| Value::Object(serde_json::Map::new()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_build_nested_objects_and_arrays() {
        let mut v = json!({});
        set_path(&mut v, "individual.address.line1", json!("Gatan 1"));
        set_path(&mut v, "individual.first_name", json!("Anna"));
        set_path(&mut v, "company.owners[1].dob", json!("1990-01-01"));
        assert_eq!(
            v,
            json!({"individual": {"address": {"line1": "Gatan 1"}, "first_name": "Anna"},
                   "company": {"owners": [{}, {"dob": "1990-01-01"}]}})
        );
        assert_eq!(html_id("company.owners[1].dob"), "f-company-owners-1--dob");
    }
}
