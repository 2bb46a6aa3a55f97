//! The API's view of a profile: every field a platform may read back, and of each sealed
//! value only whether it was provided and its last four characters.

use agora_onboarding::accounts::Account;
use agora_onboarding::kyc::{Address, DocumentStatus, Person, Profile, ScreeningStatus, Sealed};
use serde_json::{json, Map, Value};

use crate::gateway::ids::{self, IdKind};

pub struct ProfileView {
    pub business_profile: Value,
    pub individual: Option<Value>,
    pub company: Option<Value>,
    pub tos_acceptance: Option<Value>,
}

fn address(a: &Option<Address>) -> Value {
    match a {
        Some(a) => serde_json::to_value(a).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

fn sealed_fields(out: &mut Map<String, Value>, name: &str, value: &Option<Sealed>) {
    out.insert(format!("{name}_provided"), json!(value.is_some()));
    out.insert(
        format!("{name}_last4"),
        json!(value.as_ref().map(|v| v.last4.clone())),
    );
}

fn person(p: &Person) -> Value {
    let mut out = Map::new();
    out.insert("first_name".into(), json!(p.first_name));
    out.insert("last_name".into(), json!(p.last_name));
    out.insert("dob".into(), json!(p.dob.map(|d| d.to_string())));
    out.insert("email".into(), json!(p.email));
    out.insert("phone".into(), json!(p.phone));
    out.insert("address".into(), address(&p.address));
    sealed_fields(&mut out, "id_number", &p.id_number);
    if p.ssn_last_4.is_some() {
        out.insert("ssn_last_4_provided".into(), json!(true));
    }
    if let Some(percent) = p.ownership_percent {
        out.insert("ownership_percent".into(), json!(percent.to_string()));
    }
    if p.title.is_some() {
        out.insert("title".into(), json!(p.title));
    }
    let status = match (p.document_status, &p.screening) {
        (_, Some(s)) if s.status == ScreeningStatus::PendingReview => "pending",
        (Some(DocumentStatus::Pending), _) => "pending",
        (Some(DocumentStatus::Failed), _) => "unverified",
        (Some(DocumentStatus::Verified), _) => "verified",
        _ => "unverified",
    };
    out.insert(
        "verification".into(),
        json!({
            "status": status,
            "document": p.document.map(|d| ids::encode(IdKind::File, d)),
            "details": p.document_error,
        }),
    );
    Value::Object(out)
}

impl ProfileView {
    pub fn of(account: &Account) -> Self {
        let profile = Profile::from_json(account.profile.as_ref());
        let bp = profile.business_profile.clone().unwrap_or_default();
        let company = profile.company.as_ref().map(|c| {
            let mut out = Map::new();
            out.insert("name".into(), json!(c.name));
            out.insert("phone".into(), json!(c.phone));
            out.insert("address".into(), address(&c.address));
            sealed_fields(&mut out, "tax_id", &c.tax_id);
            sealed_fields(&mut out, "registration_number", &c.registration_number);
            out.insert(
                "representative".into(),
                c.representative.as_ref().map_or(Value::Null, person),
            );
            out.insert("owners_provided".into(), json!(c.owners.is_some()));
            out.insert(
                "owners".into(),
                Value::Array(c.owners.iter().flatten().map(person).collect()),
            );
            out.insert("directors_provided".into(), json!(c.directors.is_some()));
            out.insert(
                "directors".into(),
                Value::Array(c.directors.iter().flatten().map(person).collect()),
            );
            Value::Object(out)
        });
        Self {
            business_profile: json!({
                "name": bp.name,
                "url": bp.url,
                "mcc": bp.mcc,
                "product_description": bp.product_description,
            }),
            individual: profile.individual.as_ref().map(person),
            company,
            tos_acceptance: profile.tos_acceptance.as_ref().map(|t| {
                json!({
                    "date": crate::api::timestamp(t.date),
                    "ip": t.ip,
                    "user_agent": t.user_agent,
                })
            }),
        }
    }
}
