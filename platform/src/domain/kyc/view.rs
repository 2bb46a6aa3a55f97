//! The API's view of a connected account ([`AccountObject`], also what `account.updated`
//! events carry) and of its profile: every field a platform may read back, and of each sealed
//! value only whether it was provided; a company's public numbers add their last four
//! characters, a person's id numbers nothing (with `dob`, their end rebuilds them).

use std::collections::BTreeMap;

use agora_onboarding::accounts::Account;
use agora_onboarding::kyc::{Address, DocumentStatus, Person, Profile, ScreeningStatus, Sealed};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::KycError;
use crate::infra::wire::ids::{self, IdKind};

/// A connected account: one seller on the platform.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountObject {
    #[schema(example = "acct_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    /// Always `account`.
    #[schema(example = "account")]
    pub object: &'static str,
    pub livemode: bool,
    /// RFC 3339, UTC.
    #[schema(example = "2026-11-25T17:27:22Z")]
    pub created: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "SE")]
    pub country: String,
    pub email: Option<String>,
    /// `individual` or `company`.
    pub business_type: Option<String>,
    /// Lower-case ISO 4217.
    #[schema(example = "sek")]
    pub default_currency: String,
    pub metadata: BTreeMap<String, String>,
    /// Seller tags (fee rules can match on them with `conditions.seller_tags`).
    #[schema(example = json!(["gold"]))]
    pub tags: Vec<String>,
    /// Days a charge's funds stay pending; null: the platform's default.
    pub settlement_delay_days: Option<i32>,
    #[schema(value_type = Object)]
    pub business_profile: Value,
    /// The seller's person (business_type individual); id numbers only as `_provided`.
    #[schema(value_type = Option<Object>)]
    pub individual: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub company: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub tos_acceptance: Option<Value>,
    /// What is due, past due, pending verification, and why the account is disabled.
    #[schema(value_type = Object)]
    pub requirements: Value,
    /// `card_payments` and `transfers`: `inactive`, `pending` or `active`.
    #[schema(value_type = Object)]
    pub capabilities: Value,
    /// Whether charges to this account are accepted.
    pub charges_enabled: bool,
    /// Whether payouts to this account are made (everything verified).
    pub payouts_enabled: bool,
    /// Whether everything asked for has been provided (some may still be verifying).
    pub details_submitted: bool,
    /// `{"payouts": {"schedule": {interval, weekly_anchor, monthly_anchor, delay_days},
    /// "paused": bool}}`.
    #[schema(value_type = Object)]
    pub settings: Value,
}

impl AccountObject {
    pub fn from_model(account: &Account) -> Self {
        let profile_view = ProfileView::of(account);
        let state = account.kyc_state.clone().unwrap_or(Value::Null);
        Self {
            id: ids::encode(IdKind::Account, account.id),
            object: "account",
            livemode: account.livemode,
            created: crate::infra::wire::timestamp(account.created_at),
            country: account.country.clone(),
            email: account.email.clone(),
            business_type: account.business_type.clone(),
            default_currency: account.default_currency.clone(),
            metadata: account.metadata_map(),
            tags: account.tags_list(),
            settlement_delay_days: account.settlement_delay_days,
            business_profile: profile_view.business_profile,
            individual: profile_view.individual,
            company: profile_view.company,
            tos_acceptance: profile_view.tos_acceptance,
            requirements: state.get("requirements").cloned().unwrap_or(Value::Null),
            capabilities: state.get("capabilities").cloned().unwrap_or(Value::Null),
            charges_enabled: account.charges_enabled,
            payouts_enabled: account.payouts_enabled,
            details_submitted: state
                .get("details_submitted")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            settings: serde_json::json!({
                "payouts": {
                    "schedule": {
                        "interval": account.payout_interval,
                        "weekly_anchor": account.payout_weekly_anchor,
                        "monthly_anchor": account.payout_monthly_anchor,
                        "delay_days": account.payout_delay_days,
                    },
                    "paused": account.payouts_paused,
                }
            }),
        }
    }

    pub fn json(account: &Account) -> Result<Value, KycError> {
        serde_json::to_value(Self::from_model(account)).map_err(KycError::internal)
    }
}

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

/// A company's sealed number: whether it was given and, if it is public, its last four (null
/// for a sole trader's personal number, and for values stored before issue 15, which kept no
/// such judgement).
fn company_number(out: &mut Map<String, Value>, name: &str, value: &Option<Sealed>) {
    out.insert(format!("{name}_provided"), json!(value.is_some()));
    out.insert(
        format!("{name}_last4"),
        json!(value.as_ref().and_then(|v| v.public_last4.clone())),
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
    // Whether it was given, and nothing of it: the date of birth is right above.
    out.insert("id_number_provided".into(), json!(p.id_number.is_some()));
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
            company_number(&mut out, "tax_id", &c.tax_id);
            company_number(&mut out, "registration_number", &c.registration_number);
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
                    "date": crate::infra::wire::timestamp(t.date),
                    "ip": t.ip,
                    "user_agent": t.user_agent,
                })
            }),
        }
    }
}
