//! Encryption at rest for sensitive fields and documents (AES-256-GCM).
//!
//! A sealed value is `v1.<key id>.<base64(nonce ‖ ciphertext ‖ tag)>`. The key id is the first
//! 8 hex digits of SHA-256 of the key, so a value names the key that sealed it and keys can be
//! rotated: the current key seals, the current and every previous key open. The nonce is 96
//! random bits per value (NIST SP 800-38D's limit of 2^32 values per key is far beyond a
//! seller database). Associated data binds a value to its purpose (`id_number`,
//! `bank_account`, `file`), so a ciphertext copied into another column does not open.
//!
//! Fingerprints (HMAC-SHA256 under a fingerprint key of their own) let the database find
//! duplicates of a bank account without holding its number. The fingerprint key is separate
//! from the encryption keys and never rotated: a fingerprint must stay the same when the
//! encryption key changes, or duplicates stop matching. Fingerprints from before it existed
//! were keyed by a key derived from the encryption key; [`Sealer::fingerprints_to_match`]
//! still matches those until `agora keys rotate-encryption` recomputes them.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("an encryption key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("a sealed value is malformed")]
    Malformed,
    #[error("no configured key has id {0}; add the old key to the previous keys")]
    UnknownKey(String),
    #[error("a sealed value did not authenticate (wrong key, or the value was altered)")]
    Forged,
}

struct KeyEntry {
    id: String,
    cipher: Aes256Gcm,
}

/// The keys: the first seals, all open.
pub struct Sealer {
    keys: Vec<KeyEntry>,
    fingerprint_key: [u8; 32],
    /// The keys fingerprints had before `fingerprint_key` (derived from each encryption key),
    /// matched but never written.
    legacy_fingerprint_keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Sealer {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field(
                "key_ids",
                &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The id a key is known by: 8 hex digits of its SHA-256.
fn key_id(key: &[u8; 32]) -> String {
    let digest = Sha256::digest(key);
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes a base64 key of exactly 32 bytes.
pub fn decode_key(base64_key: &str) -> Result<[u8; 32], SealError> {
    let bytes = B64
        .decode(base64_key.trim())
        .map_err(|_| SealError::BadKey)?;
    bytes.try_into().map_err(|_| SealError::BadKey)
}

/// A fresh random key, base64-encoded (for the development key file).
pub fn generate_key() -> String {
    let key = Aes256Gcm::generate_key(OsRng);
    B64.encode(key.as_slice())
}

impl Sealer {
    /// `current` seals; `previous` (oldest last) only open; `fingerprint_key` keys every
    /// fingerprint.
    pub fn new(current: [u8; 32], previous: &[[u8; 32]], fingerprint_key: [u8; 32]) -> Self {
        let entry = |k: &[u8; 32]| KeyEntry {
            id: key_id(k),
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(k)),
        };
        let mut keys = vec![entry(&current)];
        keys.extend(previous.iter().map(entry));
        let legacy_fingerprint_keys = std::iter::once(&current)
            .chain(previous)
            .map(legacy_fingerprint_key)
            .collect();
        Self {
            keys,
            fingerprint_key,
            legacy_fingerprint_keys,
        }
    }

    pub fn current_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plaintext` for `purpose`.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> String {
        let key = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a valid key and a fresh nonce cannot fail for inputs below 64 GiB.
        let ciphertext = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(nonce.as_slice());
        blob.extend_from_slice(&ciphertext);
        format!("{VERSION}.{}.{}", key.id, B64.encode(blob))
    }

    pub fn seal_str(&self, purpose: &str, plaintext: &str) -> String {
        self.seal(purpose, plaintext.as_bytes())
    }

    /// Opens a value sealed for `purpose` by any configured key.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Malformed);
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        let blob = B64.decode(body).map_err(|_| SealError::Malformed)?;
        if blob.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Forged)
    }

    pub fn open_str(&self, purpose: &str, sealed: &str) -> Result<String, SealError> {
        String::from_utf8(self.open(purpose, sealed)?).map_err(|_| SealError::Malformed)
    }

    /// `true` when `sealed` was sealed by the current key (nothing to re-seal).
    pub fn is_current(&self, sealed: &str) -> bool {
        let mut parts = sealed.splitn(3, '.');
        parts.next() == Some(VERSION) && parts.next() == Some(self.keys[0].id.as_str())
    }

    /// Opens a value sealed by any configured key and seals it again under the current key;
    /// `None` when it already is under the current key.
    pub fn reseal(&self, purpose: &str, sealed: &str) -> Result<Option<String>, SealError> {
        if self.is_current(sealed) {
            return Ok(None);
        }
        let plain = self.open(purpose, sealed)?;
        Ok(Some(self.seal(purpose, &plain)))
    }

    /// A stable, keyed fingerprint of `value` (hex), for finding duplicates: what is stored.
    pub fn fingerprint(&self, purpose: &str, value: &str) -> String {
        fingerprint_with(&self.fingerprint_key, purpose, value)
    }

    /// Every fingerprint a stored duplicate of `value` may carry: [`Sealer::fingerprint`]
    /// first, then those of before the fingerprint key (keyed by each encryption key).
    pub fn fingerprints_to_match(&self, purpose: &str, value: &str) -> Vec<String> {
        std::iter::once(&self.fingerprint_key)
            .chain(&self.legacy_fingerprint_keys)
            .map(|k| fingerprint_with(k, purpose, value))
            .collect()
    }
}

/// The fingerprint key of before the fingerprint key: derived from an encryption key (never
/// the encryption key itself, so an HMAC output can never help an attack on the cipher).
fn legacy_fingerprint_key(encryption_key: &[u8; 32]) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(encryption_key) else {
        unreachable_hmac()
    };
    mac.update(b"agora fingerprint key v1");
    mac.finalize().into_bytes().into()
}

fn fingerprint_with(key: &[u8; 32], purpose: &str, value: &str) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key) else {
        unreachable_hmac()
    };
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    mac.finalize().into_bytes()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// HMAC accepts keys of any length, so building one never fails.
fn unreachable_hmac() -> ! {
    unreachable!("HMAC-SHA256 takes keys of any length")
}

/// The last four characters of a value, the only part the API ever shows.
pub fn last4(value: &str) -> String {
    let chars: Vec<char> = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> [u8; 32] {
        [byte; 32]
    }

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let sealer = Sealer::new(key(1), &[], key(9));
        let sealed = sealer.seal_str("id_number", "198112189876");
        assert!(!sealed.contains("198112189876"));
        assert!(sealed.starts_with(&format!("v1.{}.", sealer.current_key_id())));
        assert_eq!(
            sealer.open_str("id_number", &sealed).unwrap(),
            "198112189876"
        );
        // Two seals of the same value differ (fresh nonce).
        assert_ne!(sealed, sealer.seal_str("id_number", "198112189876"));
    }

    #[test]
    fn a_value_does_not_open_for_another_purpose_or_after_tampering() {
        let sealer = Sealer::new(key(1), &[], key(9));
        let sealed = sealer.seal_str("id_number", "123456789");
        assert_eq!(
            sealer.open_str("bank_account", &sealed),
            Err(SealError::Forged)
        );
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(sealer.open_str("id_number", &tampered).is_err());
        assert_eq!(
            sealer.open_str("id_number", "v1.zz"),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn rotation_opens_old_values_and_seals_with_the_new_key() {
        let old = Sealer::new(key(1), &[], key(9));
        let sealed_old = old.seal_str("file", "document");
        let rotated = Sealer::new(key(2), &[key(1)], key(9));
        assert_eq!(rotated.open_str("file", &sealed_old).unwrap(), "document");
        let sealed_new = rotated.seal_str("file", "document");
        assert!(sealed_new.contains(rotated.current_key_id()));
        assert!(matches!(
            old.open_str("file", &sealed_new),
            Err(SealError::UnknownKey(_))
        ));
    }

    #[test]
    fn reseal_moves_a_value_to_the_current_key_once() {
        let old = Sealer::new(key(1), &[], key(9));
        let sealed = old.seal_str("tax_id", "12-3456789");
        let rotated = Sealer::new(key(2), &[key(1)], key(9));
        assert!(old.is_current(&sealed));
        assert!(!rotated.is_current(&sealed));
        let moved = rotated.reseal("tax_id", &sealed).unwrap().unwrap();
        assert!(rotated.is_current(&moved));
        let only_new = Sealer::new(key(2), &[], key(9));
        assert_eq!(only_new.open_str("tax_id", &moved).unwrap(), "12-3456789");
        assert_eq!(rotated.reseal("tax_id", &moved).unwrap(), None);
        // The purpose still binds: a value is never re-sealed for another one.
        assert_eq!(rotated.reseal("id_number", &sealed), Err(SealError::Forged));
        assert!(!rotated.is_current("whsec_plain"));
    }

    #[test]
    fn fingerprints_are_stable_and_keyed() {
        let a = Sealer::new(key(1), &[], key(8));
        let b = Sealer::new(key(2), &[], key(9));
        assert_eq!(
            a.fingerprint("bank_account", "SE4550000000058398257466"),
            a.fingerprint("bank_account", "SE4550000000058398257466")
        );
        assert_ne!(
            a.fingerprint("bank_account", "SE4550000000058398257466"),
            b.fingerprint("bank_account", "SE4550000000058398257466")
        );
    }

    #[test]
    fn fingerprints_survive_a_rotation_of_the_encryption_key() {
        let before = Sealer::new(key(1), &[], key(9));
        let after = Sealer::new(key(2), &[key(1)], key(9));
        assert_eq!(
            before.fingerprint("bank_account", "SE4550000000058398257466"),
            after.fingerprint("bank_account", "SE4550000000058398257466")
        );
        // Another fingerprint key gives other fingerprints.
        assert_ne!(
            before.fingerprint("bank_account", "SE4550000000058398257466"),
            Sealer::new(key(1), &[], key(8))
                .fingerprint("bank_account", "SE4550000000058398257466")
        );
    }

    #[test]
    fn fingerprints_from_before_the_fingerprint_key_are_still_matched() {
        // Until `agora keys rotate-encryption` recomputes them, stored fingerprints may be the
        // old ones, keyed by a key derived from an encryption key (current or previous).
        let old = legacy_fingerprint(&key(1), "bank_account", "GB33BUKB20201555555555");
        let sealer = Sealer::new(key(2), &[key(1)], key(9));
        let candidates = sealer.fingerprints_to_match("bank_account", "GB33BUKB20201555555555");
        assert_eq!(
            candidates[0],
            sealer.fingerprint("bank_account", "GB33BUKB20201555555555")
        );
        assert!(candidates.contains(&old), "{candidates:?}");
        assert!(!Sealer::new(key(2), &[], key(9))
            .fingerprints_to_match("bank_account", "GB33BUKB20201555555555")
            .contains(&old));
    }

    /// What `fingerprint` computed before fingerprints had a key of their own.
    fn legacy_fingerprint(encryption_key: &[u8; 32], purpose: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(encryption_key).unwrap();
        mac.update(b"agora fingerprint key v1");
        let derived: [u8; 32] = mac.finalize().into_bytes().into();
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&derived).unwrap();
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn keys_decode_only_at_32_bytes() {
        assert!(decode_key(&generate_key()).is_ok());
        assert_eq!(decode_key("c2hvcnQ="), Err(SealError::BadKey));
        assert_eq!(decode_key("not base64!"), Err(SealError::BadKey));
        assert_eq!(last4("GB33BUKB20201555555555"), "5555");
        assert_eq!(last4("12"), "12");
    }
}
