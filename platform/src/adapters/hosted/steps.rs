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

/// Verification errors that involve two fields (a personnummer and the date of birth it
/// encodes; a full SSN and the last four given earlier): (code, the field in error, the other
/// field involved, the message key for the other field). After one, the page shows both.
pub const CROSS_FIELD: &[(&str, &str, &str, &str)] = &[
    (
        "verification_failed_id_number_match",
        "id_number",
        "dob",
        "dob_id_number_match",
    ),
    (
        "verification_failed_ssn_last_4_match",
        "id_number",
        "ssn_last_4",
        "ssn_last_4_match",
    ),
];

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

    /// Everything the account's country and business type ask for, given or not: what the
    /// steps show when the seller comes back to change something (the requirements engine on
    /// an empty profile lists it all).
    pub fn all(account: &Account) -> Self {
        let profile = agora_onboarding::kyc::Profile::default();
        let evaluation = agora_onboarding::kyc::evaluate(&agora_onboarding::kyc::Facts {
            country: &account.country,
            business_type: account.business_type.as_deref(),
            profile: &profile,
            account_email: account.email.as_deref(),
            has_usable_bank_account: false,
            bank_account_error: None,
            rejected_reason: None,
            open_reviews: 0,
            deadline: None,
            now: chrono::Utc::now(),
        });
        Self {
            names: evaluation.requirements.eventually_due.into_iter().collect(),
            errors: Vec::new(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    fn any_prefix(&self, prefix: &str) -> bool {
        self.names.iter().any(|n| n.starts_with(prefix))
    }

    /// The code of a two-field verification error on `requirement`, if it has one.
    pub fn cross_error(&self, requirement: &str) -> Option<&'static str> {
        self.errors.iter().find_map(|(r, code, _)| {
            (r == requirement)
                .then(|| {
                    CROSS_FIELD
                        .iter()
                        .find(|(c, ..)| c == code)
                        .map(|(c, ..)| *c)
                })
                .flatten()
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Email,
    Tel,
    Url,
    TextArea,
    Select(&'static [(&'static str, &'static str)]),
    Radio(&'static [(&'static str, &'static str)]),
    /// The terms: must be ticked.
    Checkbox,
    /// A yes/no choice that may stay unticked ("I have no website", "This is me").
    Toggle,
    File,
}

/// One form field. `label`, `hint` and `group` are catalogue keys.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub kind: Kind,
    pub label: &'static str,
    /// `{placeholder}` → value in the label (the representative's name).
    pub label_args: Vec<(&'static str, String)>,
    pub hint: Option<&'static str>,
    /// `{placeholder}` → value in the hint (the IBAN's country and length).
    pub hint_args: Vec<(&'static str, String)>,
    pub autocomplete: &'static str,
    pub inputmode: &'static str,
    pub group: Option<String>,
    /// The group (an owner's or director's row) may be left empty: its legend says so.
    pub group_optional: bool,
    pub required: bool,
    /// In an owner's or director's row: the row's legend, not each field, says whether it is
    /// optional (a row with anything in it needs everything).
    pub in_row: bool,
    /// A secret given before (id number, tax id, IBAN, document), asked again when the seller
    /// changes a step: empty keeps what was given.
    pub keep: bool,
    /// What the hint says about keeping (`hint.keep` when None; `Some("")`: nothing, as on the
    /// bank account's holder, kept with the account the IBAN's hint names).
    pub keep_hint: Option<&'static str>,
    /// Optional, but required in a case its hint names (a product description without a
    /// website): not labelled "(optional)".
    pub conditional: bool,
}

fn field(name: impl Into<String>, kind: Kind, label: &'static str) -> FieldDef {
    FieldDef {
        name: name.into(),
        kind,
        label,
        label_args: Vec::new(),
        hint: None,
        hint_args: Vec::new(),
        autocomplete: "off",
        inputmode: "",
        group: None,
        group_optional: false,
        required: true,
        in_row: false,
        keep: false,
        keep_hint: None,
        conditional: false,
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
    fn optional(mut self) -> Self {
        self.required = false;
        self
    }
    fn conditional(mut self) -> Self {
        self.required = false;
        self.conditional = true;
        self
    }
    /// Whether the value is a secret the pages never show again.
    pub fn is_secret(&self) -> bool {
        self.kind == Kind::File
            || [
                "id_number",
                "ssn_last_4",
                "company.tax_id",
                "company.registration_number",
                "iban",
                "routing_number",
                "account_number",
            ]
            .iter()
            .any(|s| self.name == *s || self.name.ends_with(&format!(".{s}")))
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

/// "This is me" on the owners page: the representative owns 25 % or more (with a share),
/// or is a director; the page copies their name (and date of birth) from the details step.
pub const OWNERS_ME: &str = "owners_me";
pub const OWNERS_ME_PERCENT: &str = "owners_me_percent";
pub const DIRECTORS_ME: &str = "directors_me";
/// "I have no website": then a product description instead.
pub const NO_WEBSITE: &str = "no_website";

/// The company tax id field, with a hint naming the id the country's companies have (a
/// German company: its VAT number, which Germans tell apart from the Steuernummer).
fn tax_id_field(country: &str) -> FieldDef {
    let country = country.to_ascii_uppercase();
    let def = field("company.tax_id", Kind::Text, "company.tax_id");
    match country.as_str() {
        "DE" => {
            let mut def = def.hint("hint.tax_id.de");
            def.label = "company.tax_id.de";
            def
        }
        "SE" => def.hint("hint.tax_id.se"),
        "US" => def.hint("hint.tax_id.us"),
        "GB" => def.hint("hint.tax_id.gb"),
        c if agora_onboarding::verify::is_eu_member(c) => def.hint("hint.tax_id.eu"),
        _ => def,
    }
}

/// The person the seller speaks for: the individual, or the company's representative.
pub fn principal(account: &Account) -> &'static str {
    if account.business_type.as_deref() == Some("company") {
        "company.representative"
    } else {
        "individual"
    }
}

/// A phone number of the seller's country in international form, for hints and messages (a
/// German seller sees a German number); for the countries whose national numbers the pages
/// take (`verify::national_phone`).
pub fn phone_example(country: &str) -> Option<&'static str> {
    Some(match country {
        "SE" => "+46 70 123 45 67",
        "DE" => "+49 30 1234567",
        "GB" => "+44 20 7946 0958",
        "FI" => "+358 40 123 4567",
        "NO" => "+47 412 34 567",
        "DK" => "+45 20 12 34 56",
        "FR" => "+33 6 12 34 56 78",
        "NL" => "+31 6 12345678",
        "US" => "+1 212 555 0100",
        _ => return None,
    })
}

fn phone_field(country: &str) -> FieldDef {
    let def = field("phone", Kind::Tel, "phone").auto("tel");
    match phone_example(country) {
        Some(example) => {
            let mut def = def.hint("hint.phone.national");
            def.hint_args = vec![("example", example.to_owned())];
            def
        }
        None => def.hint("hint.phone"),
    }
}

/// The date example in the form the seller's country writes dates.
fn dob_hint(country: &str) -> &'static str {
    match agora_onboarding::verify::date_style(country) {
        "iso" => "hint.dob.iso",
        "dot" => "hint.dob.dot",
        "us" => "hint.dob.us",
        _ => "hint.dob.dmy",
    }
}

/// An example IBAN for the seller's country (valid check digits), for the hint.
fn iban_example(country: &str) -> &'static str {
    match country {
        "SE" => "SE45 5000 0000 0583 9825 7466",
        "DE" => "DE89 3704 0044 0532 0130 00",
        "GB" => "GB29 NWBK 6016 1331 9268 19",
        "FR" => "FR14 2004 1010 0505 0001 3M02 606",
        "NL" => "NL91 ABNA 0417 1643 00",
        "NO" => "NO93 8601 1117 947",
        "FI" => "FI21 1234 5600 0007 85",
        "AT" => "AT61 1904 3002 3457 3201",
        "BE" => "BE68 5390 0754 7034",
        _ => "DE89 3704 0044 0532 0130 00",
    }
}

fn person_fields(
    prefix: &str,
    country: &str,
    due: &Due,
    out: &mut Vec<FieldDef>,
    group: Option<&str>,
) {
    let id_number = format!("{prefix}.id_number");
    let cross = due.cross_error(&id_number);
    // A Swedish personnummer carries the date of birth: it is not asked twice, but taken
    // from the number, unless the two disagree already (then both are shown, to fix either).
    let dob_from_id = country == "SE" && due.has(&id_number) && cross.is_none();
    let shown = |name: &str| {
        let full = format!("{prefix}.{name}");
        match name {
            "dob" if dob_from_id => false,
            "dob" => due.has(&full) || cross == Some("verification_failed_id_number_match"),
            "ssn_last_4" => due.has(&full) || cross == Some("verification_failed_ssn_last_4_match"),
            _ => due.has(&full),
        }
    };
    let (id_label, id_hint) = match (country, dob_from_id) {
        ("SE", true) => ("id_number.se", Some("hint.id_number.se_dob")),
        ("SE", false) => ("id_number.se", Some("hint.id_number.se")),
        _ => ("id_number", None),
    };
    let mut id_def = field("id_number", Kind::Text, id_label);
    id_def.hint = id_hint;
    let defs = [
        field("first_name", Kind::Text, "first_name").auto("given-name"),
        field("last_name", Kind::Text, "last_name").auto("family-name"),
        field("email", Kind::Email, "email").auto("email"),
        phone_field(country),
        field("dob", Kind::Text, "dob")
            .auto("bday")
            .hint(dob_hint(country))
            .mode("numeric"),
        id_def,
        field("ssn_last_4", Kind::Text, "ssn_last_4").mode("numeric"),
        field("address.line1", Kind::Text, "address.line1").auto("address-line1"),
        field("address.postal_code", Kind::Text, "address.postal_code").auto("postal-code"),
        field("address.city", Kind::Text, "address.city").auto("address-level2"),
        field("address.state", Kind::Text, "address.state").auto("address-level1"),
    ];
    let mut first = true;
    for mut def in defs {
        if !shown(&def.name) {
            continue;
        }
        def.name = format!("{prefix}.{}", def.name);
        if first {
            def.group = group.map(str::to_owned);
            first = false;
        }
        out.push(def);
    }
}

/// The representative's name, once the details step has it: "This is me" needs it.
fn representative_name(account: &Account) -> Option<String> {
    let profile = agora_onboarding::kyc::Profile::from_json(account.profile.as_ref());
    profile
        .company
        .and_then(|c| c.representative)
        .and_then(|r| r.full_name())
}

/// The fields of `step` that the seller must fill in now; empty when the step has nothing due.
pub fn fields(step: Step, account: &Account, due: &Due) -> Vec<FieldDef> {
    let mut out = Vec::new();
    let company = account.business_type.as_deref() == Some("company");
    let country = account.country.to_ascii_uppercase();
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
                // Either a website or, ticking "I have no website", a description (the
                // requirement takes either); required_errors asks for one of them.
                out.push(
                    field("business_profile.url", Kind::Url, "business_profile.url")
                        .auto("url")
                        .hint("hint.url"),
                );
                out.push(field(NO_WEBSITE, Kind::Toggle, "no_website").optional());
                out.push(
                    field(
                        "business_profile.product_description",
                        Kind::TextArea,
                        "business_profile.product_description",
                    )
                    .hint("hint.product_description")
                    .conditional(),
                );
            }
        }
        Step::Details if company => {
            let mut registration = field(
                "company.registration_number",
                Kind::Text,
                "company.registration_number",
            );
            if country == "DE" {
                registration = registration.hint("hint.registration_number.de");
            }
            let defs = [
                field("company.name", Kind::Text, "company.name").auto("organization"),
                tax_id_field(&country),
                registration,
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
                &country,
                due,
                &mut out,
                Some("section.representative"),
            );
        }
        Step::Details => person_fields("individual", &country, due, &mut out, None),
        Step::Owners => {
            let owners = company && due.any_prefix("company.owners");
            let directors = company && due.any_prefix("company.directors");
            if let Some(me) = representative_name(account).filter(|_| owners || directors) {
                let mut first = true;
                if owners {
                    let mut t = field(OWNERS_ME, Kind::Toggle, "owners_me").optional();
                    t.label_args = vec![("person", me.clone())];
                    t.group = Some("section.you".to_owned());
                    first = false;
                    out.push(t);
                    out.push(
                        field(OWNERS_ME_PERCENT, Kind::Text, "owners_me_percent")
                            .hint("hint.owners_me_percent")
                            .mode("decimal")
                            .conditional(),
                    );
                }
                if directors {
                    let mut t = field(DIRECTORS_ME, Kind::Toggle, "directors_me").optional();
                    t.label_args = vec![("person", me)];
                    if first {
                        t.group = Some("section.you".to_owned());
                    }
                    out.push(t);
                }
            }
            if owners {
                for i in 0..OWNER_ROWS {
                    let p = format!("company.owners[{i}]");
                    let mut row = vec![
                        field(format!("{p}.first_name"), Kind::Text, "first_name"),
                        field(format!("{p}.last_name"), Kind::Text, "last_name"),
                        field(format!("{p}.dob"), Kind::Text, "dob")
                            .hint(dob_hint(&country))
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
                        f.in_row = true;
                    }
                    row[0].group = Some(format!("owner {}", i + 1));
                    row[0].group_optional = true;
                    out.extend(row);
                }
            }
            if directors {
                for i in 0..DIRECTOR_ROWS {
                    let p = format!("company.directors[{i}]");
                    let mut row = vec![
                        field(format!("{p}.first_name"), Kind::Text, "first_name"),
                        field(format!("{p}.last_name"), Kind::Text, "last_name"),
                    ];
                    // The company must name one director (the first row, unless the seller
                    // ticked "I am a director"); more are optional.
                    for f in &mut row {
                        f.required = i == 0;
                        f.in_row = true;
                    }
                    row[0].group = Some(format!("director {}", i + 1));
                    row[0].group_optional = i > 0;
                    out.extend(row);
                }
            }
        }
        Step::Bank => {
            if due.has("external_account") {
                if country == "US" {
                    out.push(field("routing_number", Kind::Text, "routing_number").mode("numeric"));
                    out.push(field("account_number", Kind::Text, "account_number").mode("numeric"));
                } else {
                    let mut iban = field("iban", Kind::Text, "iban");
                    match agora_onboarding::verify::iban_length(&country) {
                        Some(n) => {
                            iban.hint = Some("hint.iban");
                            iban.hint_args = vec![
                                ("country", country.clone()),
                                ("n", n.to_string()),
                                ("example", iban_example(&country).to_owned()),
                            ];
                        }
                        None => {
                            iban.hint = Some("hint.iban.any");
                            iban.hint_args = vec![("example", iban_example(&country).to_owned())];
                        }
                    }
                    out.push(iban);
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

/// Where a step stands for this link: something to give now, nothing due for this link but
/// something before payouts (`collect: currently_due`), or nothing due at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Todo,
    Later,
    Done,
}

pub fn status(step: Step, account: &Account, due: &Due) -> Status {
    if step == Step::Review || !fields(step, account, due).is_empty() {
        Status::Todo
    } else if !fields(step, account, &Due::of(account, "eventually_due")).is_empty() {
        Status::Later
    } else {
        Status::Done
    }
}

/// The requirement a field answers (the bank step's fields: `external_account`).
fn requirement_of(step: Step, d: &FieldDef) -> &str {
    if step == Step::Bank {
        "external_account"
    } else {
        &d.name
    }
}

/// The fields of `step` when nothing is due there for this link: a finished step opened
/// again to change it, or one needed only later. Every field the step has for this account;
/// a secret (or the bank account, or the document) already given is optional and empty keeps
/// it; one not given yet is asked as a new one. A step needed later asks nothing as required
/// (the seller may give it now, or leave it).
pub fn fields_to_change(step: Step, account: &Account) -> Vec<FieldDef> {
    let mut defs = fields(step, account, &Due::all(account));
    let eventually = Due::of(account, "eventually_due");
    let later = !fields(step, account, &eventually).is_empty();
    for d in &mut defs {
        let given = !eventually.has(requirement_of(step, d));
        if (d.is_secret() || step == Step::Bank) && given {
            d.keep = true;
            d.required = false;
        }
        if later {
            d.required = false;
        }
    }
    defs
}

/// Whether `step` has anything to ask this account at all (the owners page: only companies).
pub fn applies(step: Step, account: &Account) -> bool {
    step == Step::Review || !fields(step, account, &Due::all(account)).is_empty()
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
