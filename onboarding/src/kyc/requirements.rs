//! The requirements engine: what each seller must provide for its country and business type,
//! what is still due, and what the account may do meanwhile (Stripe Connect's
//! `requirements`).
//!
//! Two tiers. **Minimum**: what a seller must give before charges (the basic details).
//! **Full**: everything, verified, before payouts. `currently_due` lists what is missing of
//! the minimum (and, once a deadline has passed, everything missing); `eventually_due` lists
//! everything missing of both tiers. Requirement names are the API's parameter paths
//! (`individual.dob`, `company.owners[1].last_name`, `external_account`), so a platform can map
//! each to its form field.
//!
//! | country | individual (beyond name, email, dob)                   | company extras                          |
//! | ------- | ------------------------------------------------------ | --------------------------------------- |
//! | US      | `ssn_last_4` (minimum), full SSN `id_number`, state    | EIN `tax_id`, owners                    |
//! | SE      | personnummer `id_number` (minimum)                     | organisationsnummer `tax_id`, owners    |
//! | GB      | identity document                                      | `tax_id`, `registration_number`, owners, directors, document |
//! | DE, FR  | identity document                                      | `tax_id`, `registration_number`, owners, directors, document |
//! | others  | identity document                                      | `tax_id`, owners, document              |
//!
//! Everyone also needs phone and address (full tier); every account needs `business_type`,
//! `business_profile.mcc`, `business_profile.url` (or a product description) and the terms of
//! service accepted (minimum), and a bank account (full).
//!
//! Two requirements are met by something other than their own parameter:
//! - `tos_acceptance.ip` stands for the whole acceptance: the IP is the one part only the
//!   platform knows (the date defaults to the time of the request), so it is the one name
//!   listed (Stripe also lists `tos_acceptance.date`; nobody had to send it).
//! - the principal's `email` (the individual's or the representative's) is met by the
//!   account's `email` when the person has none of their own: a seller does not type the same
//!   address twice, and one of their own, when given, is kept.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::profile::{DocumentStatus, Person, Profile, ScreeningStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Minimum,
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The seller (individual) or the company's representative.
    Principal,
    Owner,
    Director,
}

/// One verification failure the seller must fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementError {
    pub requirement: String,
    pub code: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirements {
    pub currently_due: Vec<String>,
    pub eventually_due: Vec<String>,
    pub past_due: Vec<String>,
    pub pending_verification: Vec<String>,
    pub errors: Vec<RequirementError>,
    pub disabled_reason: Option<String>,
    /// RFC 3339; set while a deadline is ahead and something is still due.
    pub current_deadline: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Inactive,
    Pending,
    Active,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub card_payments: Capability,
    pub transfers: Capability,
}

/// The evaluated state of an account, as stored in `accounts.kyc_state` and shown by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub requirements: Requirements,
    pub capabilities: Capabilities,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub details_submitted: bool,
}

/// What the engine needs to know beyond the profile.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub country: &'a str,
    /// `individual`, `company` or not yet given.
    pub business_type: Option<&'a str>,
    pub profile: &'a Profile,
    /// The account's `email`: it stands in for the principal's own (see the module doc).
    pub account_email: Option<&'a str>,
    /// Whether the account has a bank account that can be paid (not errored).
    pub has_usable_bank_account: bool,
    /// The failure code of a bank account that stopped working, if that is the only one.
    pub bank_account_error: Option<String>,
    /// `fraud`, `terms_of_service`, `other`, `listed`.
    pub rejected_reason: Option<&'a str>,
    /// Open operator reviews.
    pub open_reviews: usize,
    pub deadline: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// EU and EEA countries with an identity document requirement; the rule for "others" covers
/// the rest, so this list only documents intent.
const COUNTRIES_WITH_REGISTRATION_NUMBER: &[&str] = &["GB", "DE", "FR"];
const COUNTRIES_WITH_DIRECTORS: &[&str] = &["GB", "DE", "FR"];

struct Item {
    name: String,
    tier: Tier,
    provided: bool,
    /// Provided, but waiting for verification.
    pending: bool,
    error: Option<(String, String)>,
}

fn item(name: impl Into<String>, tier: Tier, provided: bool) -> Item {
    Item {
        name: name.into(),
        tier,
        provided,
        pending: false,
        error: None,
    }
}

fn person_items(prefix: &str, person: Option<&Person>, facts: &Facts<'_>, role: Role) -> Vec<Item> {
    let country = facts.country;
    let empty = Person::default();
    let p = person.unwrap_or(&empty);
    let f = |field: &str| format!("{prefix}.{field}");
    let mut items = Vec::new();
    let naming_tier = if role == Role::Principal {
        Tier::Minimum
    } else {
        Tier::Full
    };
    items.push(item(f("first_name"), naming_tier, p.first_name.is_some()));
    items.push(item(f("last_name"), naming_tier, p.last_name.is_some()));
    if role == Role::Director {
        return items;
    }
    items.push(item(f("dob"), naming_tier, p.dob.is_some()));
    if role == Role::Owner {
        items.push(item(
            f("ownership_percent"),
            Tier::Full,
            p.ownership_percent.is_some(),
        ));
        return items;
    }
    // Only principals get here (owners and directors returned above).
    items.push(item(
        f("email"),
        Tier::Minimum,
        p.email.is_some() || facts.account_email.is_some(),
    ));
    items.push(item(f("phone"), Tier::Full, p.phone.is_some()));
    let address = p.address.clone().unwrap_or_default();
    items.push(item(
        f("address.line1"),
        Tier::Full,
        address.line1.is_some(),
    ));
    items.push(item(f("address.city"), Tier::Full, address.city.is_some()));
    items.push(item(
        f("address.postal_code"),
        Tier::Full,
        address.postal_code.is_some(),
    ));
    if country == "US" {
        items.push(item(
            f("address.state"),
            Tier::Full,
            address.state.is_some(),
        ));
    }
    let id_number = |tier| {
        let mut it = item(f("id_number"), tier, p.id_number.is_some());
        if let Some(code) = &p.id_number_error {
            it.provided = false;
            let reason = if code == "verification_failed_ssn_last_4_match" {
                "The full SSN does not end in the ssn_last_4 given; check both."
            } else {
                "The id number does not match the date of birth; check both."
            };
            it.error = Some((code.clone(), reason.to_owned()));
        }
        it
    };
    match country {
        "US" => {
            items.push(item(f("ssn_last_4"), Tier::Minimum, p.ssn_last_4.is_some()));
            items.push(id_number(Tier::Full));
        }
        "SE" => items.push(id_number(Tier::Minimum)),
        _ => {
            let mut doc = item(
                f("verification.document"),
                Tier::Full,
                p.document.is_some() && p.document_status != Some(DocumentStatus::Failed),
            );
            doc.pending = p.document_status == Some(DocumentStatus::Pending);
            if p.document_status == Some(DocumentStatus::Failed) {
                doc.error = Some((
                    "verification_document_failed".to_owned(),
                    p.document_error.clone().unwrap_or_else(|| {
                        "The identity document could not be verified; upload another.".to_owned()
                    }),
                ));
            }
            items.push(doc);
        }
    }
    items
}

fn account_items(facts: &Facts<'_>) -> Vec<Item> {
    let profile = facts.profile;
    let country = facts.country;
    let mut items = vec![item(
        "business_type",
        Tier::Minimum,
        facts.business_type.is_some(),
    )];
    let bp = profile.business_profile.clone().unwrap_or_default();
    items.push(item(
        "business_profile.mcc",
        Tier::Minimum,
        bp.mcc.is_some(),
    ));
    items.push(item(
        "business_profile.url",
        Tier::Minimum,
        bp.url.is_some() || bp.product_description.is_some(),
    ));
    match facts.business_type {
        Some("company") => {
            let company = profile.company.clone().unwrap_or_default();
            items.push(item("company.name", Tier::Minimum, company.name.is_some()));
            let address = company.address.clone().unwrap_or_default();
            items.push(item(
                "company.address.line1",
                Tier::Full,
                address.line1.is_some(),
            ));
            items.push(item(
                "company.address.city",
                Tier::Full,
                address.city.is_some(),
            ));
            items.push(item(
                "company.address.postal_code",
                Tier::Full,
                address.postal_code.is_some(),
            ));
            if country == "US" {
                items.push(item(
                    "company.address.state",
                    Tier::Full,
                    address.state.is_some(),
                ));
            }
            items.push(item("company.tax_id", Tier::Full, company.tax_id.is_some()));
            if COUNTRIES_WITH_REGISTRATION_NUMBER.contains(&country) {
                items.push(item(
                    "company.registration_number",
                    Tier::Full,
                    company.registration_number.is_some(),
                ));
            }
            items.extend(person_items(
                "company.representative",
                company.representative.as_ref(),
                facts,
                Role::Principal,
            ));
            items.push(item(
                "company.owners_provided",
                Tier::Full,
                company.owners.is_some(),
            ));
            for (i, owner) in company.owners.iter().flatten().enumerate() {
                items.extend(person_items(
                    &format!("company.owners[{i}]"),
                    Some(owner),
                    facts,
                    Role::Owner,
                ));
            }
            if COUNTRIES_WITH_DIRECTORS.contains(&country) {
                items.push(item(
                    "company.directors_provided",
                    Tier::Full,
                    company.directors.is_some(),
                ));
                for (i, director) in company.directors.iter().flatten().enumerate() {
                    items.extend(person_items(
                        &format!("company.directors[{i}]"),
                        Some(director),
                        facts,
                        Role::Director,
                    ));
                }
            }
        }
        Some(_) => items.extend(person_items(
            "individual",
            profile.individual.as_ref(),
            facts,
            Role::Principal,
        )),
        // Until the business type is known, only it and the common fields are listed: the
        // rest depends on it.
        None => {}
    }
    // One name for the acceptance: its date is the request's time unless the platform gives
    // one, so only the IP is the platform's to send.
    items.push(item(
        "tos_acceptance.ip",
        Tier::Minimum,
        profile.tos_acceptance.is_some(),
    ));
    let mut bank = item(
        "external_account",
        Tier::Full,
        facts.has_usable_bank_account,
    );
    if let Some(code) = &facts.bank_account_error {
        if !facts.has_usable_bank_account {
            bank.error = Some((
                "bank_account_unusable".to_owned(),
                format!("Payouts to the bank account failed ({code}); add or fix a bank account."),
            ));
        }
    }
    items.push(bank);
    items
}

/// Whether a person is waiting for the operator (sanctions screening).
fn under_review(profile: &Profile) -> bool {
    let pending = |s: &Option<super::profile::Screening>| {
        s.as_ref()
            .is_some_and(|s| s.status == ScreeningStatus::PendingReview)
    };
    profile.persons().iter().any(|(_, p)| pending(&p.screening))
        || profile
            .company
            .as_ref()
            .is_some_and(|c| pending(&c.screening))
}

pub fn evaluate(facts: &Facts<'_>) -> Evaluation {
    let items = account_items(facts);
    let missing = |tier: Option<Tier>| -> Vec<String> {
        items
            .iter()
            .filter(|i| !i.provided && tier.is_none_or(|t| i.tier == t))
            .map(|i| i.name.clone())
            .collect()
    };
    let missing_minimum = missing(Some(Tier::Minimum));
    let eventually_due = missing(None);
    let pending_verification: Vec<String> = items
        .iter()
        .filter(|i| i.provided && i.pending)
        .map(|i| i.name.clone())
        .collect();
    let errors: Vec<RequirementError> = items
        .iter()
        .filter_map(|i| {
            i.error.as_ref().map(|(code, reason)| RequirementError {
                requirement: i.name.clone(),
                code: code.clone(),
                reason: reason.clone(),
            })
        })
        .collect();
    let deadline_passed = facts.deadline.is_some_and(|d| facts.now >= d);
    let (currently_due, past_due) = if deadline_passed && !eventually_due.is_empty() {
        (eventually_due.clone(), eventually_due.clone())
    } else {
        (missing_minimum.clone(), Vec::new())
    };
    let current_deadline = facts
        .deadline
        .filter(|d| facts.now < *d && !eventually_due.is_empty())
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let rejected = facts.rejected_reason.is_some();
    let reviewing = facts.open_reviews > 0 || under_review(facts.profile);
    let charges_enabled =
        !rejected && !reviewing && missing_minimum.is_empty() && past_due.is_empty();
    let payouts_enabled = charges_enabled
        && eventually_due.is_empty()
        && pending_verification.is_empty()
        && errors.is_empty();
    let details_submitted = eventually_due.is_empty();
    let disabled_reason = if let Some(reason) = facts.rejected_reason {
        Some(format!("rejected.{reason}"))
    } else if reviewing {
        Some("under_review".to_owned())
    } else if !past_due.is_empty() {
        Some("requirements.past_due".to_owned())
    } else if !missing_minimum.is_empty() || !eventually_due.is_empty() || !errors.is_empty() {
        Some("requirements.fields_needed".to_owned())
    } else if !pending_verification.is_empty() {
        Some("requirements.pending_verification".to_owned())
    } else {
        None
    };
    let card_payments = if charges_enabled {
        Capability::Active
    } else if !rejected && (reviewing || (missing_minimum.is_empty() && past_due.is_empty())) {
        Capability::Pending
    } else {
        Capability::Inactive
    };
    let transfers = if payouts_enabled {
        Capability::Active
    } else if !rejected && details_submitted && (reviewing || !pending_verification.is_empty()) {
        Capability::Pending
    } else {
        Capability::Inactive
    };
    Evaluation {
        requirements: Requirements {
            currently_due,
            eventually_due,
            past_due,
            pending_verification,
            errors,
            disabled_reason,
            current_deadline,
        },
        capabilities: Capabilities {
            card_payments,
            transfers,
        },
        charges_enabled,
        payouts_enabled,
        details_submitted,
    }
}

#[cfg(test)]
mod tests {
    use super::super::profile::*;
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn sealed(v: &str) -> Sealed {
        Sealed {
            sealed: format!("v1.x.{v}"),
            public_last4: None,
        }
    }

    fn basics(profile: &mut Profile) {
        profile.business_profile = Some(BusinessProfile {
            mcc: Some("5734".into()),
            url: Some("https://shop.example".into()),
            ..Default::default()
        });
        profile.tos_acceptance = Some(TosAcceptance {
            date: now(),
            ip: "192.0.2.1".into(),
            user_agent: None,
        });
    }

    fn person(with_address: bool) -> Person {
        Person {
            first_name: Some("Anna".into()),
            last_name: Some("Svensson".into()),
            dob: NaiveDate::from_ymd_opt(1990, 1, 2),
            email: Some("anna@example.se".into()),
            phone: with_address.then(|| "+46701234567".into()),
            address: with_address.then(|| Address {
                line1: Some("Storgatan 1".into()),
                city: Some("Stockholm".into()),
                postal_code: Some("11122".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn facts<'a>(country: &'a str, bt: Option<&'a str>, profile: &'a Profile) -> Facts<'a> {
        Facts {
            country,
            business_type: bt,
            profile,
            account_email: None,
            has_usable_bank_account: false,
            bank_account_error: None,
            rejected_reason: None,
            open_reviews: 0,
            deadline: None,
            now: now(),
        }
    }

    #[test]
    fn a_new_account_needs_the_basics_and_cannot_charge() {
        let profile = Profile::default();
        let e = evaluate(&facts("SE", None, &profile));
        assert_eq!(
            e.requirements.currently_due,
            vec![
                "business_type",
                "business_profile.mcc",
                "business_profile.url",
                "tos_acceptance.ip"
            ]
        );
        assert!(e
            .requirements
            .eventually_due
            .contains(&"external_account".to_owned()));
        assert!(!e.charges_enabled && !e.payouts_enabled && !e.details_submitted);
        assert_eq!(e.capabilities.card_payments, Capability::Inactive);
        assert_eq!(
            e.requirements.disabled_reason.as_deref(),
            Some("requirements.fields_needed")
        );
    }

    #[test]
    fn swedish_individual_charges_with_basics_and_pays_out_when_complete() {
        let mut profile = Profile::default();
        basics(&mut profile);
        let mut p = person(false);
        p.id_number = Some(sealed("9876"));
        profile.individual = Some(p);
        let e = evaluate(&facts("SE", Some("individual"), &profile));
        assert!(e.requirements.currently_due.is_empty(), "{e:?}");
        assert!(e.charges_enabled);
        assert!(!e.payouts_enabled);
        assert_eq!(
            e.requirements.eventually_due,
            vec![
                "individual.phone",
                "individual.address.line1",
                "individual.address.city",
                "individual.address.postal_code",
                "external_account"
            ]
        );
        let mut p = person(true);
        p.id_number = Some(sealed("9876"));
        profile.individual = Some(p);
        let mut f = facts("SE", Some("individual"), &profile);
        f.has_usable_bank_account = true;
        let e = evaluate(&f);
        assert!(e.payouts_enabled && e.details_submitted, "{e:?}");
        assert_eq!(e.capabilities.transfers, Capability::Active);
        assert_eq!(e.requirements.disabled_reason, None);
    }

    #[test]
    fn us_needs_ssn_last_4_first_and_the_full_ssn_later() {
        let mut profile = Profile::default();
        basics(&mut profile);
        profile.individual = Some(person(true));
        let e = evaluate(&facts("US", Some("individual"), &profile));
        assert_eq!(e.requirements.currently_due, vec!["individual.ssn_last_4"]);
        assert!(e
            .requirements
            .eventually_due
            .contains(&"individual.id_number".to_owned()));
        assert!(e
            .requirements
            .eventually_due
            .contains(&"individual.address.state".to_owned()));
    }

    #[test]
    fn a_pending_document_blocks_payouts_but_not_charges() {
        let mut profile = Profile::default();
        basics(&mut profile);
        let mut p = person(true);
        p.document = Some(uuid::Uuid::nil());
        p.document_status = Some(DocumentStatus::Pending);
        profile.individual = Some(p);
        let mut f = facts("GB", Some("individual"), &profile);
        f.has_usable_bank_account = true;
        let e = evaluate(&f);
        drop(f);
        assert!(e.charges_enabled && !e.payouts_enabled);
        assert_eq!(
            e.requirements.pending_verification,
            vec!["individual.verification.document"]
        );
        assert_eq!(e.capabilities.transfers, Capability::Pending);
        assert!(e.details_submitted);
        // A failed document is due again, with its error.
        let mut p = profile.individual.clone().unwrap();
        p.document_status = Some(DocumentStatus::Failed);
        p.document_error = Some("blurry".into());
        profile.individual = Some(p);
        let mut f = facts("GB", Some("individual"), &profile);
        f.has_usable_bank_account = true;
        let e = evaluate(&f);
        assert_eq!(
            e.requirements.eventually_due,
            vec!["individual.verification.document"]
        );
        assert_eq!(
            e.requirements.errors[0].code,
            "verification_document_failed"
        );
        assert_eq!(e.requirements.errors[0].reason, "blurry");
    }

    #[test]
    fn a_screening_hit_puts_the_account_under_review() {
        let mut profile = Profile::default();
        basics(&mut profile);
        let mut p = person(true);
        p.id_number = Some(sealed("1234"));
        p.screening = Some(Screening {
            subject: "h".into(),
            status: ScreeningStatus::PendingReview,
            review: None,
        });
        profile.individual = Some(p);
        let mut f = facts("SE", Some("individual"), &profile);
        f.has_usable_bank_account = true;
        let e = evaluate(&f);
        assert!(!e.charges_enabled && !e.payouts_enabled);
        assert_eq!(
            e.requirements.disabled_reason.as_deref(),
            Some("under_review")
        );
        assert_eq!(e.capabilities.card_payments, Capability::Pending);
    }

    #[test]
    fn a_passed_deadline_makes_everything_due_past_due() {
        let mut profile = Profile::default();
        basics(&mut profile);
        let mut p = person(false);
        p.id_number = Some(sealed("1234"));
        profile.individual = Some(p);
        let mut f = facts("SE", Some("individual"), &profile);
        f.deadline = Some(now() + chrono::Duration::days(1));
        let before = evaluate(&f);
        assert!(before.charges_enabled);
        assert_eq!(
            before.requirements.current_deadline.as_deref(),
            Some("2026-11-26T12:00:00Z")
        );
        f.deadline = Some(now() - chrono::Duration::seconds(1));
        let after = evaluate(&f);
        assert!(!after.charges_enabled);
        assert_eq!(
            after.requirements.past_due,
            after.requirements.eventually_due
        );
        assert_eq!(
            after.requirements.currently_due,
            after.requirements.past_due
        );
        assert_eq!(
            after.requirements.disabled_reason.as_deref(),
            Some("requirements.past_due")
        );
        assert_eq!(after.requirements.current_deadline, None);
    }

    #[test]
    fn a_german_company_lists_its_owners_directors_and_representative() {
        let mut profile = Profile::default();
        basics(&mut profile);
        profile.company = Some(Company {
            name: Some("Beispiel GmbH".into()),
            owners: Some(vec![Person {
                first_name: Some("Max".into()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let e = evaluate(&facts("DE", Some("company"), &profile));
        assert_eq!(
            e.requirements.currently_due,
            vec![
                "company.representative.first_name",
                "company.representative.last_name",
                "company.representative.dob",
                "company.representative.email"
            ]
        );
        for due in [
            "company.tax_id",
            "company.registration_number",
            "company.owners[0].last_name",
            "company.owners[0].dob",
            "company.owners[0].ownership_percent",
            "company.directors_provided",
            "company.representative.verification.document",
        ] {
            assert!(
                e.requirements.eventually_due.contains(&due.to_owned()),
                "{due} in {:?}",
                e.requirements.eventually_due
            );
        }
        assert!(!e
            .requirements
            .eventually_due
            .contains(&"company.owners_provided".to_owned()));
    }

    #[test]
    fn the_account_email_stands_in_for_the_principals_own() {
        let mut profile = Profile::default();
        basics(&mut profile);
        let mut p = person(false);
        p.email = None;
        p.id_number = Some(sealed("1238"));
        profile.individual = Some(p);
        let without = evaluate(&facts("SE", Some("individual"), &profile));
        assert_eq!(without.requirements.currently_due, vec!["individual.email"]);
        let mut f = facts("SE", Some("individual"), &profile);
        f.account_email = Some("anna@example.se");
        let with = evaluate(&f);
        assert!(with.requirements.currently_due.is_empty(), "{with:?}");
        assert!(with.charges_enabled);

        // A company's representative too; owners and directors are never asked for one.
        let mut profile = Profile::default();
        basics(&mut profile);
        let mut rep = person(false);
        rep.email = None;
        profile.company = Some(Company {
            name: Some("Beispiel GmbH".into()),
            representative: Some(rep),
            owners: Some(vec![person(false)]),
            ..Default::default()
        });
        let e = evaluate(&facts("DE", Some("company"), &profile));
        assert_eq!(
            e.requirements.currently_due,
            vec!["company.representative.email"]
        );
        let mut f = facts("DE", Some("company"), &profile);
        f.account_email = Some("max@example.de");
        let e = evaluate(&f);
        assert!(e.requirements.currently_due.is_empty(), "{e:?}");
        assert!(!e
            .requirements
            .eventually_due
            .iter()
            .any(|r| r.ends_with(".email")));
    }

    #[test]
    fn a_rejected_account_can_do_nothing() {
        let mut profile = Profile::default();
        basics(&mut profile);
        let mut f = facts("SE", Some("individual"), &profile);
        f.rejected_reason = Some("fraud");
        let e = evaluate(&f);
        assert_eq!(
            e.requirements.disabled_reason.as_deref(),
            Some("rejected.fraud")
        );
        assert_eq!(e.capabilities.card_payments, Capability::Inactive);
        assert_eq!(e.capabilities.transfers, Capability::Inactive);
    }

    #[test]
    fn an_errored_bank_account_is_due_again_with_its_error() {
        let mut profile = Profile::default();
        basics(&mut profile);
        let mut p = person(true);
        p.id_number = Some(sealed("1234"));
        profile.individual = Some(p);
        let mut f = facts("SE", Some("individual"), &profile);
        f.bank_account_error = Some("account_closed".into());
        let e = evaluate(&f);
        assert!(e.charges_enabled && !e.payouts_enabled);
        assert_eq!(e.requirements.eventually_due, vec!["external_account"]);
        assert_eq!(e.requirements.errors[0].code, "bank_account_unusable");
    }
}
