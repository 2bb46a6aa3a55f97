//! The KYC parameters of `POST /v1/accounts` and `POST /v1/accounts/{id}`, checked and merged
//! into the stored profile. A value that fails its check is refused with 400, its stable code
//! and the parameter's path, and nothing is written; sensitive values are sealed here, before
//! anything else sees them.

use agora_onboarding::kyc::entities::file;
use agora_onboarding::kyc::profile::{PURPOSE_ID_NUMBER, PURPOSE_TAX_ID};
use agora_onboarding::kyc::{
    Address, BusinessProfile, Company, DocumentStatus, Person, Profile, Sealed, TosAcceptance,
};
use agora_onboarding::seal;
use agora_onboarding::verify::{self, AddressInput, Failure};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{DocumentReview, KycError, Runtime};
use crate::infra::wire::ids::{self, IdKind};

/// Most owners or directors one company may list.
pub const MAX_PERSONS: usize = 20;
/// Longest name, title or description, in characters.
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 500;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressParams {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    /// US: the two-letter state.
    pub state: Option<String>,
    /// ISO 3166-1 alpha-2; default: the account's country.
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationParams {
    /// A `file_` id of an identity document uploaded with `POST /v1/files`.
    pub document: Option<String>,
}

/// A person: the individual seller, a company's representative, owner or director.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonParams {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`; the person must be 18 or older.
    #[schema(example = "1990-01-31")]
    pub dob: Option<String>,
    pub email: Option<String>,
    /// E.164, e.g. `+46701234567`.
    pub phone: Option<String>,
    pub address: Option<AddressParams>,
    /// The full national id (US SSN, Swedish personnummer, …). Stored encrypted; the API
    /// shows only `id_number_provided`, never any part of it (with `dob`, the end of a
    /// personnummer rebuilds it).
    pub id_number: Option<String>,
    /// US: the last four digits of the SSN.
    pub ssn_last_4: Option<String>,
    /// Owners: percent of the company held, a decimal string (`"50"`).
    pub ownership_percent: Option<String>,
    pub title: Option<String>,
    pub verification: Option<VerificationParams>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyParams {
    pub name: Option<String>,
    /// EIN (US), organisationsnummer (SE), VAT number (EU), … Stored encrypted; the API shows
    /// its last four, unless it is a sole trader's personal number (then none of it).
    pub tax_id: Option<String>,
    /// The trade-register number (Handelsregister, SIREN, Companies House). Stored encrypted;
    /// shown as `tax_id` is.
    pub registration_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<AddressParams>,
    /// Merged into the current representative.
    pub representative: Option<PersonParams>,
    /// Replaces the whole list: everyone holding 25% or more (`[]`: nobody does).
    pub owners: Option<Vec<PersonParams>>,
    /// Replaces the whole list.
    pub directors: Option<Vec<PersonParams>>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessProfileParams {
    pub name: Option<String>,
    pub url: Option<String>,
    /// ISO 18245 merchant category code, 4 digits.
    #[schema(example = "5734")]
    pub mcc: Option<String>,
    pub product_description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TosAcceptanceParams {
    /// When the seller accepted: RFC 3339, as every timestamp of the API (an offset is
    /// converted to UTC); not in the future. Default: the time of the request (the test
    /// clock's in test mode). Read as any JSON value so that another shape (a Unix
    /// timestamp) gets an error naming the format.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-11-25T17:27:22Z")]
    pub date: Option<serde_json::Value>,
    /// The seller's IP address when they accepted.
    #[schema(example = "192.0.2.10")]
    pub ip: String,
    pub user_agent: Option<String>,
}

/// The KYC part of an account request.
#[derive(Debug, Clone, Default)]
pub struct KycParams {
    pub business_profile: Option<BusinessProfileParams>,
    pub individual: Option<PersonParams>,
    pub company: Option<CompanyParams>,
    pub tos_acceptance: Option<TosAcceptanceParams>,
}

impl KycParams {
    pub fn is_empty(&self) -> bool {
        self.business_profile.is_none()
            && self.individual.is_none()
            && self.company.is_none()
            && self.tos_acceptance.is_none()
    }
}

/// Who the merge is for.
pub struct Context<'a> {
    pub runtime: &'a Runtime,
    pub livemode: bool,
    pub account_id: Uuid,
    /// The account's country: which checks apply.
    pub country: &'a str,
    pub now: DateTime<Utc>,
}

impl Context<'_> {
    fn today(&self) -> NaiveDate {
        self.now.date_naive()
    }
}

fn fail(param: &str, failure: Failure) -> KycError {
    KycError::invalid(param, failure.code, failure.reason)
}

fn text(param: &str, value: &str, max: usize) -> Result<Option<String>, KycError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(KycError::invalid(
            param,
            "parameter_too_long",
            format!("{param} can be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(KycError::invalid(
            param,
            "parameter_invalid",
            format!("{param} may not contain control characters"),
        ));
    }
    // An empty string clears the field.
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// A person's id number (or SSN's last four), sealed with nothing beside it: the date of
/// birth is shown and stored in the clear, and with it the end of a personnummer, CPR or HETU
/// rebuilds the whole number (a US SSN's last four are themselves what `ssn_last_4` asks for).
fn sealed_personal(ctx: &Context<'_>, value: &str) -> Sealed {
    Sealed {
        sealed: ctx.runtime.sealer.seal_str(PURPOSE_ID_NUMBER, value),
        public_last4: None,
    }
}

/// A company's tax id or registration number, sealed; its last four are kept to show unless
/// the number is a sole trader's personal number in another guise (a Swedish VAT number is
/// SE + personnummer + 01).
fn sealed_company(ctx: &Context<'_>, value: &str) -> Sealed {
    Sealed {
        sealed: ctx.runtime.sealer.seal_str(PURPOSE_TAX_ID, value),
        public_last4: (!verify::is_personal_number(ctx.country, value)).then(|| seal::last4(value)),
    }
}

fn merge_address(
    ctx: &Context<'_>,
    param: &str,
    current: Option<Address>,
    input: &AddressParams,
) -> Result<Address, KycError> {
    let mut a = current.unwrap_or_default();
    let set = |field: &str, slot: &mut Option<String>, v: &Option<String>| {
        if let Some(v) = v {
            *slot = text(&format!("{param}.{field}"), v, 200)?;
        }
        Ok::<(), KycError>(())
    };
    set("line1", &mut a.line1, &input.line1)?;
    set("line2", &mut a.line2, &input.line2)?;
    set("city", &mut a.city, &input.city)?;
    set("postal_code", &mut a.postal_code, &input.postal_code)?;
    set("state", &mut a.state, &input.state)?;
    if let Some(country) = &input.country {
        let code = agora_onboarding::accounts::CountryCode::parse(country)
            .map_err(|e| KycError::invalid(format!("{param}.country"), e.code, e.message))?;
        a.country = Some(code.as_str().to_owned());
    }
    let country = a.country.clone().unwrap_or_else(|| ctx.country.to_owned());
    verify::address(
        &country,
        &AddressInput {
            line1: a.line1.as_deref(),
            line2: a.line2.as_deref(),
            city: a.city.as_deref(),
            postal_code: a.postal_code.as_deref(),
            state: a.state.as_deref(),
            country: a.country.as_deref(),
        },
    )
    .map_err(|errors| match errors.into_iter().next() {
        Some((field, failure)) => fail(&format!("{param}.{field}"), failure),
        None => KycError::invalid(param, "invalid_address", "the address is not valid"),
    })?;
    Ok(a)
}

/// What the id number can be checked against: the personnummer encodes the birth date, and
/// a US seller's full SSN must end in the `ssn_last_4` given earlier. When both are known they
/// must agree (a requirements error otherwise). Other countries' ids carry nothing to compare.
fn check_id_number(ctx: &Context<'_>, person: &mut Person) {
    person.id_number_error = None;
    if ctx.country == "US" {
        let (Some(id), Some(last4)) = (&person.id_number, &person.ssn_last_4) else {
            return;
        };
        let sealer = &ctx.runtime.sealer;
        let (Ok(full), Ok(last4)) = (
            sealer.open_str(PURPOSE_ID_NUMBER, &id.sealed),
            sealer.open_str(PURPOSE_ID_NUMBER, &last4.sealed),
        ) else {
            return;
        };
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        if !digits(&full).ends_with(&digits(&last4)) {
            person.id_number_error = Some("verification_failed_ssn_last_4_match".to_owned());
        }
        return;
    }
    if ctx.country != "SE" {
        return;
    }
    let (Some(id), Some(dob)) = (&person.id_number, person.dob) else {
        return;
    };
    let Ok(plain) = ctx.runtime.sealer.open_str(PURPOSE_ID_NUMBER, &id.sealed) else {
        return;
    };
    if let Ok(pnr) = verify::personnummer(&plain, ctx.today()) {
        if pnr.birth_date() != dob {
            person.id_number_error = Some("verification_failed_id_number_match".to_owned());
        }
    }
}

async fn attach_document(
    db: &impl ConnectionTrait,
    ctx: &Context<'_>,
    param: &str,
    person: &mut Person,
    raw: &str,
) -> Result<(), KycError> {
    let id = ids::decode(IdKind::File, raw)
        .map_err(|e| KycError::invalid(param, "parameter_invalid", format!("{param}: {e}")))?;
    let Some(found) = file::Entity::find_by_id(id)
        .filter(file::Column::Livemode.eq(ctx.livemode))
        .one(db)
        .await?
    else {
        return Err(KycError::missing(param, "file", raw));
    };
    if found.purpose != super::files::IDENTITY_DOCUMENT {
        return Err(KycError::invalid(
            param,
            "file_purpose_invalid",
            "the file was not uploaded with purpose identity_document",
        ));
    }
    // A document is one person's: the platform's upload (no account yet) belongs to the first
    // account it is attached to, by a conditional update so two racing attaches cannot both
    // take it. Another account's file is refused: one passport must not verify two sellers.
    if found.account_id.is_none() {
        use sea_orm::sea_query::Expr;
        file::Entity::update_many()
            .col_expr(file::Column::AccountId, Expr::value(ctx.account_id))
            .filter(file::Column::Id.eq(id))
            .filter(file::Column::AccountId.is_null())
            .exec(db)
            .await?;
    }
    let owner = file::Entity::find_by_id(id)
        .one(db)
        .await?
        .and_then(|f| f.account_id);
    if owner != Some(ctx.account_id) {
        return Err(KycError::invalid(
            param,
            "file_already_used",
            "this document is attached to another account; upload it again for this one",
        ));
    }
    if person.document == Some(id) {
        return Ok(());
    }
    person.document = Some(id);
    person.document_error = None;
    // No document-checking vendor exists here: test mode accepts a recognised document (the
    // upload already checked its bytes), live mode and `document_review = "manual"` ask the
    // operator (the caller opens the review).
    person.document_status = Some(
        if ctx.livemode || ctx.runtime.document_review == DocumentReview::Manual {
            DocumentStatus::Pending
        } else {
            DocumentStatus::Verified
        },
    );
    Ok(())
}

/// Which kind of person is being merged: what may be set on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Principal,
    Owner,
    Director,
}

async fn merge_person(
    db: &impl ConnectionTrait,
    ctx: &Context<'_>,
    param: &str,
    current: Option<Person>,
    input: &PersonParams,
    role: Role,
) -> Result<Person, KycError> {
    let mut p = current.unwrap_or_default();
    let f = |field: &str| format!("{param}.{field}");
    if let Some(v) = &input.first_name {
        p.first_name = text(&f("first_name"), v, MAX_NAME)?;
    }
    if let Some(v) = &input.last_name {
        p.last_name = text(&f("last_name"), v, MAX_NAME)?;
    }
    if let Some(v) = &input.title {
        p.title = text(&f("title"), v, MAX_NAME)?;
    }
    if let Some(v) = &input.dob {
        p.dob = Some(verify::date_of_birth(v, ctx.today()).map_err(|e| fail(&f("dob"), e))?);
    }
    if let Some(v) = &input.email {
        p.email = Some(verify::email(v).map_err(|e| fail(&f("email"), e))?);
    }
    if let Some(v) = &input.phone {
        p.phone = Some(verify::phone(v).map_err(|e| fail(&f("phone"), e))?);
    }
    if let Some(v) = &input.address {
        p.address = Some(merge_address(ctx, &f("address"), p.address.take(), v)?);
    }
    if let Some(v) = &input.id_number {
        let normal =
            verify::id_number(ctx.country, v, ctx.today()).map_err(|e| fail(&f("id_number"), e))?;
        p.id_number = Some(sealed_personal(ctx, &normal));
    }
    if let Some(v) = &input.ssn_last_4 {
        if ctx.country != "US" {
            return Err(KycError::invalid(
                f("ssn_last_4"),
                "parameter_unknown",
                "ssn_last_4 applies to US accounts only; use id_number",
            ));
        }
        let normal = verify::ssn_last_4(v).map_err(|e| fail(&f("ssn_last_4"), e))?;
        p.ssn_last_4 = Some(sealed_personal(ctx, &normal));
    }
    if let Some(v) = &input.ownership_percent {
        if role != Role::Owner {
            return Err(KycError::invalid(
                f("ownership_percent"),
                "parameter_unknown",
                "ownership_percent applies to company.owners only",
            ));
        }
        let percent = v
            .trim()
            .parse::<Decimal>()
            .ok()
            .filter(|d| *d > Decimal::ZERO && *d <= Decimal::ONE_HUNDRED && d.scale() <= 2)
            .ok_or_else(|| {
                KycError::invalid(
                    f("ownership_percent"),
                    "invalid_ownership_percent",
                    "ownership_percent must be a decimal string above 0 and at most 100",
                )
            })?;
        p.ownership_percent = Some(percent);
    }
    if let Some(doc) = input
        .verification
        .as_ref()
        .and_then(|v| v.document.as_deref())
    {
        if role == Role::Director {
            return Err(KycError::invalid(
                f("verification.document"),
                "parameter_unknown",
                "directors need no identity document",
            ));
        }
        attach_document(db, ctx, &f("verification.document"), &mut p, doc).await?;
    }
    check_id_number(ctx, &mut p);
    Ok(p)
}

async fn merge_people(
    db: &impl ConnectionTrait,
    ctx: &Context<'_>,
    param: &str,
    input: &[PersonParams],
    role: Role,
) -> Result<Vec<Person>, KycError> {
    if input.len() > MAX_PERSONS {
        return Err(KycError::invalid(
            param,
            "too_many_persons",
            format!("{param} can list at most {MAX_PERSONS} people"),
        ));
    }
    let mut out = Vec::with_capacity(input.len());
    for (i, p) in input.iter().enumerate() {
        out.push(merge_person(db, ctx, &format!("{param}[{i}]"), None, p, role).await?);
    }
    Ok(out)
}

/// Merges `params` into `profile`. On any error the caller discards the result, so nothing
/// is written.
pub async fn merge(
    db: &impl ConnectionTrait,
    ctx: &Context<'_>,
    business_type: Option<&str>,
    mut profile: Profile,
    params: &KycParams,
) -> Result<Profile, KycError> {
    if let Some(bp) = &params.business_profile {
        let mut current = profile.business_profile.take().unwrap_or_default();
        merge_business_profile(&mut current, bp)?;
        profile.business_profile = Some(current);
    }
    if let Some(individual) = &params.individual {
        if business_type == Some("company") {
            return Err(KycError::invalid(
                "individual",
                "parameter_unexpected",
                "individual applies to business_type individual; use company.representative",
            ));
        }
        profile.individual = Some(
            merge_person(
                db,
                ctx,
                "individual",
                profile.individual.take(),
                individual,
                Role::Principal,
            )
            .await?,
        );
    }
    if let Some(company) = &params.company {
        if business_type != Some("company") {
            return Err(KycError::invalid(
                "company",
                "parameter_unexpected",
                "company applies to business_type company; set business_type first",
            ));
        }
        let mut current = profile.company.take().unwrap_or_default();
        merge_company(db, ctx, &mut current, company).await?;
        profile.company = Some(current);
    }
    if let Some(tos) = &params.tos_acceptance {
        let date = tos_date(tos.date.as_ref(), ctx.now)?;
        let ip: std::net::IpAddr = tos.ip.trim().parse().map_err(|_| {
            KycError::invalid(
                "tos_acceptance.ip",
                "invalid_ip_address",
                "tos_acceptance.ip must be an IPv4 or IPv6 address",
            )
        })?;
        let user_agent = match &tos.user_agent {
            Some(ua) => text("tos_acceptance.user_agent", ua, MAX_DESCRIPTION)?,
            None => None,
        };
        profile.tos_acceptance = Some(TosAcceptance {
            date,
            ip: ip.to_string(),
            user_agent,
        });
    }
    Ok(profile)
}

/// How far ahead of this server's clock a `tos_acceptance.date` may be: the platform's clock
/// may run a little ahead, and the seller's click happened before the request anyway.
const TOS_DATE_MAX_AHEAD_S: i64 = 300;

/// `tos_acceptance.date`: an RFC 3339 string, not in the future; absent (or null) is `now`.
fn tos_date(
    value: Option<&serde_json::Value>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, KycError> {
    const PARAM: &str = "tos_acceptance.date";
    const FORMAT: &str =
        "tos_acceptance.date must be an RFC 3339 time string such as 2026-11-25T17:27:22Z";
    let text = match value {
        None | Some(serde_json::Value::Null) => return Ok(now),
        Some(serde_json::Value::String(text)) => text,
        Some(serde_json::Value::Number(_)) => {
            return Err(KycError::invalid(
                PARAM,
                "parameter_invalid",
                format!("{FORMAT}, as every time in this API; Unix timestamps are not accepted"),
            ))
        }
        Some(_) => return Err(KycError::invalid(PARAM, "parameter_invalid", FORMAT)),
    };
    let date = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            KycError::invalid(
                PARAM,
                "parameter_invalid",
                format!("{PARAM} must be an RFC 3339 time, e.g. 2026-11-25T00:00:00Z"),
            )
        })?;
    if date > now + chrono::Duration::seconds(TOS_DATE_MAX_AHEAD_S) {
        return Err(KycError::invalid(
            PARAM,
            "parameter_invalid",
            format!(
                "tos_acceptance.date {} is in the future; give the time the seller accepted, \
                 or leave it out for the time of this request",
                crate::infra::wire::timestamp(date)
            ),
        ));
    }
    Ok(date)
}

fn merge_business_profile(
    current: &mut BusinessProfile,
    bp: &BusinessProfileParams,
) -> Result<(), KycError> {
    if let Some(v) = &bp.name {
        current.name = text("business_profile.name", v, MAX_NAME)?;
    }
    if let Some(v) = &bp.url {
        current.url = Some(verify::url(v).map_err(|e| fail("business_profile.url", e))?);
    }
    if let Some(v) = &bp.mcc {
        current.mcc = Some(verify::mcc(v).map_err(|e| fail("business_profile.mcc", e))?);
    }
    if let Some(v) = &bp.product_description {
        current.product_description =
            text("business_profile.product_description", v, MAX_DESCRIPTION)?;
    }
    Ok(())
}

async fn merge_company(
    db: &impl ConnectionTrait,
    ctx: &Context<'_>,
    current: &mut Company,
    company: &CompanyParams,
) -> Result<(), KycError> {
    if let Some(v) = &company.name {
        current.name = text("company.name", v, MAX_NAME)?;
    }
    if let Some(v) = &company.tax_id {
        let normal = verify::tax_id(ctx.country, v).map_err(|e| fail("company.tax_id", e))?;
        current.tax_id = Some(sealed_company(ctx, &normal));
    }
    if let Some(v) = &company.registration_number {
        let normal = text("company.registration_number", v, 40)?.ok_or_else(|| {
            KycError::invalid(
                "company.registration_number",
                "parameter_invalid",
                "company.registration_number cannot be empty",
            )
        })?;
        current.registration_number = Some(sealed_company(ctx, &normal));
    }
    if let Some(v) = &company.phone {
        current.phone = Some(verify::phone(v).map_err(|e| fail("company.phone", e))?);
    }
    if let Some(v) = &company.address {
        current.address = Some(merge_address(
            ctx,
            "company.address",
            current.address.take(),
            v,
        )?);
    }
    if let Some(rep) = &company.representative {
        current.representative = Some(
            merge_person(
                db,
                ctx,
                "company.representative",
                current.representative.take(),
                rep,
                Role::Principal,
            )
            .await?,
        );
    }
    if let Some(owners) = &company.owners {
        let owners = merge_people(db, ctx, "company.owners", owners, Role::Owner).await?;
        let total: Decimal = owners.iter().filter_map(|o| o.ownership_percent).sum();
        if total > Decimal::ONE_HUNDRED {
            return Err(KycError::invalid(
                "company.owners",
                "invalid_ownership_total",
                format!("the owners' ownership_percent add up to {total}, more than 100"),
            ));
        }
        current.owners = Some(owners);
    }
    if let Some(directors) = &company.directors {
        current.directors =
            Some(merge_people(db, ctx, "company.directors", directors, Role::Director).await?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    #[test]
    fn tos_date_takes_rfc_3339_and_defaults_to_now() {
        assert_eq!(tos_date(None, now()).ok(), Some(now()));
        assert_eq!(tos_date(Some(&json!(null)), now()).ok(), Some(now()));
        assert_eq!(
            tos_date(Some(&json!("2026-11-20T08:30:00Z")), now()).ok(),
            Some(Utc.with_ymd_and_hms(2026, 11, 20, 8, 30, 0).unwrap())
        );
        // An offset is converted to UTC.
        assert_eq!(
            tos_date(Some(&json!("2026-11-20T09:30:00+01:00")), now()).ok(),
            Some(Utc.with_ymd_and_hms(2026, 11, 20, 8, 30, 0).unwrap())
        );
        // A clock a little ahead of ours is tolerated.
        assert!(tos_date(Some(&json!("2026-11-25T12:04:00Z")), now()).is_ok());
    }

    #[test]
    fn tos_date_refuses_other_shapes_and_the_future() {
        for (value, says) in [
            (json!(1764000000), "Unix timestamps are not accepted"),
            (json!("1764000000"), "RFC 3339"),
            (json!("2026-11-20"), "RFC 3339"),
            (json!("2026-11-20 08:30:00"), "RFC 3339"),
            (json!({"seconds": 1}), "RFC 3339"),
            (json!(true), "RFC 3339"),
            (json!("2026-11-25T12:06:00Z"), "in the future"),
        ] {
            let Err(KycError::Invalid {
                param,
                code,
                message,
            }) = tos_date(Some(&value), now())
            else {
                panic!("{value}: not refused as invalid");
            };
            assert_eq!(param, "tos_acceptance.date", "{value}");
            assert_eq!(code, "parameter_invalid");
            assert!(message.contains(says), "{value}: {message}");
        }
    }
}
