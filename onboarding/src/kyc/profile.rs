//! What a seller has told us, as stored in `accounts.profile` (JSON). Sensitive values are
//! [`Sealed`]: the ciphertext, and the last four characters only of a public number, never
//! the value itself.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a person's national id and SSN (last 4 too) are sealed for (AES-GCM associated data).
pub const PURPOSE_ID_NUMBER: &str = "id_number";
/// What a company's tax id and registration number are sealed for.
pub const PURPOSE_TAX_ID: &str = "tax_id";

/// A sealed value (see [`crate::seal`]) and the only part of it the API may show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub sealed: String,
    /// The last four characters, kept (and shown as `_last4`) only for a public number: a
    /// company's own tax id or registration number. A person's id number keeps none: with the
    /// date of birth beside it, its end rebuilds a personnummer, a CPR or a HETU
    /// ([`crate::verify::is_personal_number`] decides for company numbers). Rows written before
    /// had every value's end under `last4`; that key is no longer read (so never shown) and is
    /// dropped when the profile is next written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_last4: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Where a person's identity document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// Waiting for the operator's review.
    Pending,
    Verified,
    /// Refused; the seller must upload another.
    Failed,
}

/// Where a person's sanctions screening stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreeningStatus {
    /// No potential match.
    Clear,
    /// A potential match waits for the operator.
    PendingReview,
    /// The operator decided the match was someone else.
    Cleared,
    /// The operator confirmed the match: the account is rejected.
    Confirmed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screening {
    /// A hash of the name and date of birth screened: a change of either screens again.
    pub subject: String,
    pub status: ScreeningStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dob: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The full national id (SSN, personnummer, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<Sealed>,
    /// A check of the id number against the rest (the personnummer encodes the birth date):
    /// the error code when they disagree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssn_last_4: Option<Sealed>,
    /// Owners only: 25 or more.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub ownership_percent: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The uploaded identity document (a file id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_status: Option<DocumentStatus>,
    /// Why a document failed, as the operator wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screening: Option<Screening>,
}

impl Person {
    /// "First Last", as screened.
    pub fn full_name(&self) -> Option<String> {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<Sealed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<Sealed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative: Option<Person>,
    /// `None` until the platform sends the list (an empty list is an answer: no owner holds
    /// 25% or more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners: Option<Vec<Person>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directors: Option<Vec<Person>>,
    /// Screening of the company's name against the list's organisations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screening: Option<Screening>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TosAcceptance {
    pub date: chrono::DateTime<chrono::Utc>,
    pub ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// Everything in `accounts.profile`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_profile: Option<BusinessProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Company>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_acceptance: Option<TosAcceptance>,
}

impl Profile {
    pub fn from_json(value: Option<&serde_json::Value>) -> Self {
        // Only this module writes the column, so a shape it cannot read is a bug: fall back to
        // an empty profile (everything due again) rather than failing every request.
        value
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Every person on the account with the path the API names it by.
    pub fn persons(&self) -> Vec<(String, &Person)> {
        let mut out = Vec::new();
        if let Some(p) = &self.individual {
            out.push(("individual".to_owned(), p));
        }
        if let Some(c) = &self.company {
            if let Some(p) = &c.representative {
                out.push(("company.representative".to_owned(), p));
            }
            for (i, p) in c.owners.iter().flatten().enumerate() {
                out.push((format!("company.owners[{i}]"), p));
            }
            for (i, p) in c.directors.iter().flatten().enumerate() {
                out.push((format!("company.directors[{i}]"), p));
            }
        }
        out
    }

    /// Every sealed value with the purpose it is sealed for: what a key rotation re-seals.
    pub fn sealed_values(&self) -> Vec<(&'static str, &Sealed)> {
        fn person<'a>(p: &'a Person, out: &mut Vec<(&'static str, &'a Sealed)>) {
            out.extend(p.id_number.iter().map(|v| (PURPOSE_ID_NUMBER, v)));
            out.extend(p.ssn_last_4.iter().map(|v| (PURPOSE_ID_NUMBER, v)));
        }
        let mut out = Vec::new();
        if let Some(p) = &self.individual {
            person(p, &mut out);
        }
        if let Some(c) = &self.company {
            out.extend(c.tax_id.iter().map(|v| (PURPOSE_TAX_ID, v)));
            out.extend(c.registration_number.iter().map(|v| (PURPOSE_TAX_ID, v)));
            for p in c
                .representative
                .iter()
                .chain(c.owners.iter().flatten())
                .chain(c.directors.iter().flatten())
            {
                person(p, &mut out);
            }
        }
        out
    }

    /// [`Profile::sealed_values`], for changing.
    pub fn sealed_values_mut(&mut self) -> Vec<(&'static str, &mut Sealed)> {
        fn person<'a>(p: &'a mut Person, out: &mut Vec<(&'static str, &'a mut Sealed)>) {
            out.extend(p.id_number.iter_mut().map(|v| (PURPOSE_ID_NUMBER, v)));
            out.extend(p.ssn_last_4.iter_mut().map(|v| (PURPOSE_ID_NUMBER, v)));
        }
        let mut out = Vec::new();
        if let Some(p) = &mut self.individual {
            person(p, &mut out);
        }
        if let Some(c) = &mut self.company {
            out.extend(c.tax_id.iter_mut().map(|v| (PURPOSE_TAX_ID, v)));
            out.extend(
                c.registration_number
                    .iter_mut()
                    .map(|v| (PURPOSE_TAX_ID, v)),
            );
            for p in c
                .representative
                .iter_mut()
                .chain(c.owners.iter_mut().flatten())
                .chain(c.directors.iter_mut().flatten())
            {
                person(p, &mut out);
            }
        }
        out
    }

    /// The person at `path` (as [`Profile::persons`] names it), for changing.
    pub fn person_mut(&mut self, path: &str) -> Option<&mut Person> {
        if path == "individual" {
            return self.individual.as_mut();
        }
        let company = self.company.as_mut()?;
        if path == "company.representative" {
            return company.representative.as_mut();
        }
        let (list, index) = if let Some(rest) = path.strip_prefix("company.owners[") {
            (company.owners.as_mut()?, rest)
        } else if let Some(rest) = path.strip_prefix("company.directors[") {
            (company.directors.as_mut()?, rest)
        } else {
            return None;
        };
        let index: usize = index.strip_suffix(']')?.parse().ok()?;
        list.get_mut(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(tag: &str) -> Option<Sealed> {
        Some(Sealed {
            sealed: tag.to_owned(),
            public_last4: None,
        })
    }

    fn person(tag: &str) -> Person {
        Person {
            id_number: sealed(&format!("{tag}.id")),
            ssn_last_4: sealed(&format!("{tag}.ssn")),
            ..Person::default()
        }
    }

    #[test]
    fn every_sealed_value_is_found_with_its_purpose() {
        let mut profile = Profile {
            individual: Some(person("individual")),
            company: Some(Company {
                tax_id: sealed("tax"),
                registration_number: sealed("registration"),
                representative: Some(person("representative")),
                owners: Some(vec![person("owner0"), person("owner1")]),
                directors: Some(vec![person("director0")]),
                ..Company::default()
            }),
            ..Profile::default()
        };
        let found: Vec<(&str, String)> = profile
            .sealed_values()
            .into_iter()
            .map(|(p, v)| (p, v.sealed.clone()))
            .collect();
        assert_eq!(found.len(), 12, "{found:?}");
        assert!(found.contains(&(PURPOSE_TAX_ID, "registration".to_owned())));
        assert!(found.contains(&(PURPOSE_ID_NUMBER, "owner1.ssn".to_owned())));
        assert!(found.contains(&(PURPOSE_ID_NUMBER, "director0.id".to_owned())));
        for (_, v) in profile.sealed_values_mut() {
            v.sealed.push('!');
        }
        assert!(profile
            .sealed_values()
            .iter()
            .all(|(_, v)| v.sealed.ends_with('!')));
        assert_eq!(profile.sealed_values().len(), 12);
    }
}
