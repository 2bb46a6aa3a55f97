//! Which permission each API route needs from a restricted key. One table, keyed by the
//! route's pattern as the router matched it, so a handler cannot forget its check; a route
//! missing here is closed to restricted keys (and a test fails: every route of the OpenAPI
//! document must be in the table).

use actix_web::http::Method;

use crate::domain::keys::{Access, Permission, Resource};

/// What a route asks of the calling key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A restricted key with this permission, or any secret key.
    Permission(Permission),
    /// Secret keys only: managing keys is never delegated to a restricted key.
    SecretKey,
}

use Access::{Read, Write};
use Resource::*;

const fn p(resource: Resource, access: Access) -> Need {
    Need::Permission(Permission::new(resource, access))
}

/// (method, pattern under /v1, need). Reads that are POSTs (a fee quote) need read only.
pub const ROUTES: &[(&str, &str, Need)] = &[
    ("POST", "/accounts", p(Accounts, Write)),
    ("GET", "/accounts", p(Accounts, Read)),
    ("GET", "/accounts/{id}", p(Accounts, Read)),
    ("POST", "/accounts/{id}", p(Accounts, Write)),
    ("POST", "/accounts/{id}/reject", p(Accounts, Write)),
    (
        "POST",
        "/accounts/{id}/external_accounts",
        p(ExternalAccounts, Write),
    ),
    (
        "GET",
        "/accounts/{id}/external_accounts",
        p(ExternalAccounts, Read),
    ),
    (
        "GET",
        "/accounts/{id}/external_accounts/{bank}",
        p(ExternalAccounts, Read),
    ),
    (
        "POST",
        "/accounts/{id}/external_accounts/{bank}",
        p(ExternalAccounts, Write),
    ),
    (
        "DELETE",
        "/accounts/{id}/external_accounts/{bank}",
        p(ExternalAccounts, Write),
    ),
    ("GET", "/accounts/{id}/payout_settings", p(Payouts, Read)),
    ("POST", "/accounts/{id}/payout_settings", p(Payouts, Write)),
    ("POST", "/files", p(Files, Write)),
    ("GET", "/files/{id}", p(Files, Read)),
    ("GET", "/files/{id}/contents", p(Files, Read)),
    ("POST", "/account_links", p(AccountLinks, Write)),
    (
        "POST",
        "/accounts/{id}/onboarding_email",
        p(AccountLinks, Write),
    ),
    ("GET", "/reviews", p(Reviews, Read)),
    ("GET", "/reviews/{id}", p(Reviews, Read)),
    ("POST", "/reviews/{id}/approve", p(Reviews, Write)),
    ("POST", "/reviews/{id}/reject", p(Reviews, Write)),
    ("GET", "/events", p(Events, Read)),
    ("GET", "/events/{id}", p(Events, Read)),
    ("POST", "/events/{id}/redeliver", p(WebhookEndpoints, Write)),
    ("POST", "/charges", p(Charges, Write)),
    ("GET", "/charges", p(Charges, Read)),
    ("GET", "/charges/{id}", p(Charges, Read)),
    ("POST", "/charges/{id}/capture", p(Charges, Write)),
    ("POST", "/refunds", p(Refunds, Write)),
    ("GET", "/refunds", p(Refunds, Read)),
    ("GET", "/refunds/{id}", p(Refunds, Read)),
    ("POST", "/transfers", p(Transfers, Write)),
    ("GET", "/transfers", p(Transfers, Read)),
    ("GET", "/transfers/{id}", p(Transfers, Read)),
    ("POST", "/transfers/{id}/reversals", p(Transfers, Write)),
    ("POST", "/payouts", p(Payouts, Write)),
    ("GET", "/payouts", p(Payouts, Read)),
    ("GET", "/payouts/{id}", p(Payouts, Read)),
    ("POST", "/payouts/{id}/cancel", p(Payouts, Write)),
    ("GET", "/payouts/{id}/reconciliation.csv", p(Payouts, Read)),
    ("GET", "/payout_batches", p(Payouts, Read)),
    ("GET", "/payout_batches/{id}", p(Payouts, Read)),
    ("GET", "/payout_batches/{id}/file", p(Payouts, Read)),
    ("POST", "/payout_batches/{id}/mark_sent", p(Payouts, Write)),
    ("POST", "/test_helpers/payouts/run", p(Payouts, Write)),
    ("POST", "/test_helpers/payouts/{id}/pay", p(Payouts, Write)),
    ("POST", "/test_helpers/payouts/{id}/fail", p(Payouts, Write)),
    ("GET", "/balance", p(Balance, Read)),
    ("GET", "/balance_transactions", p(Balance, Read)),
    ("POST", "/test_helpers/advance_clock", p(TestClocks, Write)),
    ("GET", "/disputes", p(Disputes, Read)),
    ("GET", "/disputes/{id}", p(Disputes, Read)),
    ("POST", "/disputes/{id}/close", p(Disputes, Write)),
    (
        "POST",
        "/test_helpers/charges/{id}/dispute",
        p(Disputes, Write),
    ),
    ("POST", "/fee_rules", p(FeeRules, Write)),
    ("GET", "/fee_rules", p(FeeRules, Read)),
    ("GET", "/fee_rules/{id}", p(FeeRules, Read)),
    ("POST", "/fee_rules/{id}", p(FeeRules, Write)),
    ("DELETE", "/fee_rules/{id}", p(FeeRules, Write)),
    ("POST", "/fee_quotes", p(FeeRules, Read)),
    ("POST", "/webhook_endpoints", p(WebhookEndpoints, Write)),
    ("GET", "/webhook_endpoints", p(WebhookEndpoints, Read)),
    ("GET", "/webhook_endpoints/{id}", p(WebhookEndpoints, Read)),
    (
        "POST",
        "/webhook_endpoints/{id}",
        p(WebhookEndpoints, Write),
    ),
    (
        "DELETE",
        "/webhook_endpoints/{id}",
        p(WebhookEndpoints, Write),
    ),
    (
        "POST",
        "/webhook_endpoints/{id}/rotate_secret",
        p(WebhookEndpoints, Write),
    ),
    (
        "GET",
        "/webhook_endpoints/{id}/attempts",
        p(WebhookEndpoints, Read),
    ),
    ("POST", "/restricted_keys", Need::SecretKey),
    ("GET", "/restricted_keys", Need::SecretKey),
    ("GET", "/restricted_keys/{id}", Need::SecretKey),
    ("DELETE", "/restricted_keys/{id}", Need::SecretKey),
    // Usage of any key of the mode: the holder of a secret key's view, like managing keys.
    ("GET", "/api_usage", Need::SecretKey),
];

/// What `method` on the route `pattern` (as matched, with or without the `/v1` prefix) needs.
/// Unknown routes need a secret key: closed by default.
pub fn need(method: &Method, pattern: Option<&str>) -> Need {
    let Some(pattern) = pattern else {
        return Need::SecretKey;
    };
    let pattern = pattern.strip_prefix("/v1").unwrap_or(pattern);
    ROUTES
        .iter()
        .find(|(m, p, _)| *p == pattern && *m == method.as_str())
        .map_or(Need::SecretKey, |(_, _, need)| *need)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for (method, pattern, _) in ROUTES {
            assert!(seen.insert((method, pattern)), "{method} {pattern} twice");
        }
    }

    #[test]
    fn finds_by_method_and_pattern_and_closes_the_unknown() {
        assert_eq!(need(&Method::POST, Some("/v1/charges")), p(Charges, Write));
        assert_eq!(need(&Method::GET, Some("/v1/charges")), p(Charges, Read));
        assert_eq!(need(&Method::PUT, Some("/v1/charges")), Need::SecretKey);
        assert_eq!(need(&Method::GET, Some("/v1/nothing")), Need::SecretKey);
        assert_eq!(need(&Method::GET, None), Need::SecretKey);
    }
}
