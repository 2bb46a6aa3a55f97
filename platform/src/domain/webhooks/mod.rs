//! Webhooks: the platform's endpoints (patterns checked against `events::EVENT_TYPES`),
//! Standard Webhooks signatures, the retry schedule and the delivery worker (`delivery.rs`).
//! The fan-out of every event to the endpoints that want it is the outbox's
//! (`events::fan_out`, inside `events::record`, so a delivery row commits with its event).

pub mod delivery;
pub mod endpoints;
pub mod ssrf;
pub mod view;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Duration;
use hmac::{Hmac, KeyInit, Mac};
use rand::{Rng, RngCore};
use sha2::Sha256;

pub use crate::infra::events::fan_out::{matches, pending_delivery, wants};
/// The webhook tables live with the outbox that writes them (see `events::fan_out`).
pub use crate::infra::events::webhook_tables as entity;
pub use delivery::{run, Context, Runtime};

/// One mode's endpoints (`GET /v1/webhook_endpoints`, and each lookup by id).
pub fn endpoints(livemode: bool) -> sea_orm::Select<entity::endpoint::Entity> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::endpoint::Entity::find().filter(entity::endpoint::Column::Livemode.eq(livemode))
}

/// One endpoint's delivery attempts (the attempts table has no mode: scope the endpoint first).
pub fn attempts_of(endpoint: uuid::Uuid) -> sea_orm::Select<entity::attempt::Entity> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::attempt::Entity::find().filter(entity::attempt::Column::EndpointId.eq(endpoint))
}

/// Endpoints per mode: every event is fanned out to each, inside the event's transaction.
pub const MAX_ENDPOINTS_PER_MODE: u64 = 20;
/// Patterns per endpoint.
pub const MAX_ENABLED_EVENTS: usize = 100;
/// Longest pattern (event types are short: `charge.dispute.closed`).
pub const MAX_PATTERN_LEN: usize = 64;
/// Random bytes in a signing secret.
const SECRET_BYTES: usize = 32;
pub const SECRET_PREFIX: &str = "whsec_";
/// After a rotation the old secret keeps signing this long, so receivers can switch over.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
/// A delivery is retried for this long after it started; an endpoint that only failed for
/// this long is disabled.
pub const RETRY_WINDOW: Duration = Duration::days(3);

/// Delay after the n-th failed attempt (1-based); later attempts keep the last delay. Jitter
/// adds up to 10 % so endpoints that failed together do not retry together.
pub const RETRY_SCHEDULE_SECONDS: &[i64] = &[5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600];

/// The base delay after `attempts` failed attempts (no jitter).
pub fn base_delay(attempts: i32) -> Duration {
    let index = usize::try_from(attempts.max(1) - 1).unwrap_or(0);
    let seconds = RETRY_SCHEDULE_SECONDS
        .get(index)
        .or(RETRY_SCHEDULE_SECONDS.last())
        .copied()
        .unwrap_or(3600);
    Duration::seconds(seconds)
}

/// The delay with jitter: base + up to 10 % of it.
pub fn retry_delay(attempts: i32) -> Duration {
    let base = base_delay(attempts);
    let extra_ms = rand::rng().random_range(0..=base.num_milliseconds() / 10);
    base + Duration::milliseconds(extra_ms)
}

/// Is `pattern` well formed: `*`, `a.b.c`, or `a.b.*` (lower-case letters and `_`)?
pub fn valid_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if pattern.is_empty() || pattern.len() > MAX_PATTERN_LEN {
        return false;
    }
    let body = pattern.strip_suffix(".*").unwrap_or(pattern);
    !body.is_empty()
        && body.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
}

/// Can an endpoint subscribe to `pattern`? It must be `*`, a known event type
/// ([`crate::infra::events::EVENT_TYPES`]) or a prefix pattern `x.*` matching at least one. The
/// error is a message for the caller naming the bad value and, when one is close, the type
/// (or prefix) it was probably meant to be.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    let types = crate::infra::events::EVENT_TYPES;
    if !valid_pattern(pattern) {
        return Err(format!(
            "'{pattern}' is not an event type pattern: use `*`, an event type like \
             `charge.refunded`, or a prefix like `charge.*`."
        ));
    }
    if types.iter().any(|kind| matches(pattern, kind)) {
        return Ok(());
    }
    let (what, candidates): (&str, Vec<String>) = if pattern.ends_with(".*") {
        // Every prefix of a known type: `charge.*`, `charge.dispute.*`, …
        let mut prefixes: Vec<String> = types
            .iter()
            .flat_map(|kind| {
                let parts: Vec<&str> = kind.split('.').collect();
                (1..parts.len())
                    .map(move |n| format!("{}.*", parts[..n].join(".")))
                    .collect::<Vec<_>>()
            })
            .collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        ("matches no event type", prefixes)
    } else {
        (
            "is not an event type",
            types.iter().map(|t| (*t).to_owned()).collect(),
        )
    };
    let hint = match closest(pattern, &candidates) {
        Some(c) => format!("Did you mean '{c}'?"),
        None => {
            let mut objects: Vec<&str> = types.iter().filter_map(|t| t.split('.').next()).collect();
            objects.dedup();
            format!("Event types begin with {}.", objects.join(".*, ") + ".*")
        }
    };
    Err(format!("'{pattern}' {what}. {hint}"))
}

/// The candidate nearest to `input` by edit distance, if it is near enough to be a typo.
fn closest<'a>(input: &str, candidates: &'a [String]) -> Option<&'a str> {
    let (best, distance) = candidates
        .iter()
        .map(|c| (c.as_str(), edit_distance(input, c)))
        .min_by_key(|(_, d)| *d)?;
    (distance <= (input.chars().count() / 3).max(2)).then_some(best)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// What a secret is sealed for (AES-GCM associated data).
const SECRET_PURPOSE: &str = "webhook_secret";

/// A signing secret as stored: sealed with the KYC sealer (DESIGN.md: secrets encrypted at
/// rest). It must be readable to sign, so it is encrypted, not hashed.
pub fn seal_secret(sealer: &agora_onboarding::seal::Sealer, secret: &str) -> String {
    sealer.seal_str(SECRET_PURPOSE, secret)
}

/// The secret to sign with. Rows written before secrets were sealed hold `whsec_…` in the
/// clear and are used as they are.
pub fn open_secret(sealer: &agora_onboarding::seal::Sealer, stored: &str) -> Option<String> {
    if stored.starts_with(SECRET_PREFIX) {
        return Some(stored.to_owned());
    }
    sealer.open_str(SECRET_PURPOSE, stored).ok()
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks format).
pub fn new_secret() -> String {
    let mut raw = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut raw);
    format!("{SECRET_PREFIX}{}", B64.encode(raw))
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key being the base64 after
/// `whsec_`. None if the stored secret is malformed (never, for secrets made here).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = B64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match() {
        assert!(matches("*", "charge.refunded"));
        assert!(matches("charge.*", "charge.refunded"));
        assert!(matches("charge.*", "charge.dispute.closed"));
        assert!(!matches("charge.*", "charges.x"));
        assert!(!matches("charge.*", "charge"));
        assert!(matches("charge.refunded", "charge.refunded"));
        assert!(!matches("charge.refunded", "charge.captured"));
    }

    #[test]
    fn patterns_validate() {
        for ok in [
            "*",
            "charge.*",
            "charge.refunded",
            "webhook_endpoint.disabled",
        ] {
            assert!(valid_pattern(ok), "{ok}");
        }
        for bad in [
            "",
            "charge.",
            ".x",
            "Charge.x",
            "charge.*.x",
            "ch*",
            "a b",
            "**",
        ] {
            assert!(!valid_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn only_known_event_types_can_be_subscribed_to() {
        for ok in [
            "*",
            "charge.*",
            "charge.dispute.*",
            "charge.refunded",
            "payout.*",
        ] {
            assert_eq!(check_pattern(ok), Ok(()), "{ok}");
        }
        for kind in crate::infra::events::EVENT_TYPES {
            assert_eq!(check_pattern(kind), Ok(()), "{kind}");
        }
        let e = check_pattern("charge.sucseeded").unwrap_err();
        assert!(
            e.starts_with("'charge.sucseeded' is not an event type."),
            "{e}"
        );
        assert!(e.contains("Did you mean 'charge.succeeded'?"), "{e}");
        let e = check_pattern("charges.*").unwrap_err();
        assert!(e.contains("'charges.*' matches no event type"), "{e}");
        assert!(e.contains("Did you mean 'charge.*'?"), "{e}");
        // Nothing close: no guess.
        let e = check_pattern("invoice.paid").unwrap_err();
        assert!(!e.contains("Did you mean"), "{e}");
        assert!(e.contains("begin with account.*, capability.*,"), "{e}");
        let e = check_pattern("charge.*.x").unwrap_err();
        assert!(e.contains("is not an event type pattern"), "{e}");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }

    #[test]
    fn schedule_grows_then_stays() {
        assert_eq!(base_delay(1), Duration::seconds(5));
        assert_eq!(base_delay(2), Duration::minutes(5));
        assert_eq!(base_delay(6), Duration::hours(10));
        assert_eq!(base_delay(40), Duration::hours(10));
        for n in 1..10 {
            let d = retry_delay(n);
            assert!(d >= base_delay(n) && d <= base_delay(n) + base_delay(n) / 10);
        }
    }

    #[test]
    fn signs_per_standard_webhooks() {
        // The example from the Standard Webhooks reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert!(new_secret().starts_with("whsec_"));
        assert!(sign(&new_secret(), "evt_x", 1, b"{}").is_some());
    }
}
