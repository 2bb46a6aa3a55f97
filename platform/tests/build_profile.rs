//! What the release build must keep: checked arithmetic. Amounts are i64 minor units summed in
//! many places; a silent wrap in a release build would move money the ledger cannot explain.

use figment::providers::{Format, Toml};
use figment::Figment;

#[test]
fn release_builds_check_integer_overflow() {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let checks: bool = Figment::from(Toml::file(&manifest))
        .extract_inner("profile.release.overflow-checks")
        .unwrap_or(false);
    assert!(
        checks,
        "{}: [profile.release] must set overflow-checks = true",
        manifest.display()
    );
}
