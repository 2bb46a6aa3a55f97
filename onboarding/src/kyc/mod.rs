//! Seller KYC: the profile a seller gives, the requirements engine, and the tables of bank
//! accounts, files and reviews. Verification of single values lives in [`crate::verify`],
//! sanctions screening in [`crate::sanctions`], encryption in [`crate::seal`].

pub mod entities;
pub mod profile;
pub mod requirements;

pub use profile::{
    Address, BusinessProfile, Company, DocumentStatus, Person, Profile, Screening, ScreeningStatus,
    Sealed, TosAcceptance,
};
pub use requirements::{evaluate, Capabilities, Capability, Evaluation, Facts, Requirements};

use sha2::{Digest, Sha256};

/// What screening looked at for a person, hashed: a change of name or date of birth screens
/// again, anything else does not.
pub fn screening_subject(person: &Person) -> Option<String> {
    let name = person.full_name()?;
    let mut hasher = Sha256::new();
    hasher.update(name.to_lowercase().as_bytes());
    hasher.update(b"|");
    if let Some(dob) = person.dob {
        hasher.update(dob.to_string().as_bytes());
    }
    Some(
        hasher.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}
