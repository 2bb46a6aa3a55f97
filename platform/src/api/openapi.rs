//! The OpenAPI document. Paths are collected from the handlers' `#[utoipa::path]` as they are
//! registered (see `app::routes`), so the spec cannot drift from the routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Agora API",
        description = "Connect-style marketplace payments: connected accounts, split charges on a double-entry ledger, payouts. Authenticate with `Authorization: Bearer sk_test_…`; act for a connected account with `Agora-Account: acct_…`; make any POST safe to retry with `Idempotency-Key`.",
    ),
    modifiers(&ApiKeyScheme),
    components(schemas(ErrorBody, ErrorDetail))
)]
pub struct ApiDoc;

struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every error has this shape.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// invalid_request_error, authentication_error, permission_error, idempotency_error,
    /// rate_limit_error, card_error or api_error.
    #[schema(rename = "type", example = "invalid_request_error")]
    kind: String,
    /// Stable, machine-readable: branch on this.
    #[schema(example = "parameter_invalid")]
    code: String,
    /// For people; may change.
    message: String,
    /// The parameter at fault, when there is one.
    param: Option<String>,
    /// The `Request-Id` of the failed request.
    request_id: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AccountList {
    #[schema(example = "list")]
    object: String,
    data: Vec<crate::kyc::view::AccountObject>,
    has_more: bool,
    url: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventList {
    #[schema(example = "list")]
    object: String,
    data: Vec<crate::events::view::EventObject>,
    has_more: bool,
    url: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FeeRuleList {
    #[schema(example = "list")]
    object: String,
    data: Vec<crate::fee_rules::view::FeeRuleObject>,
    has_more: bool,
    url: String,
}

/// A seller's bank account; the number itself is never shown.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ExternalAccountObject {
    #[schema(example = "ba_01h455vb4pex5vsknk084sn02q")]
    id: String,
    #[schema(example = "bank_account")]
    object: String,
    #[schema(example = "acct_01h455vb4pex5vsknk084sn02q")]
    account: String,
    #[schema(example = "SE")]
    country: String,
    #[schema(example = "sek")]
    currency: String,
    /// ABA routing number (US) or sort code (GB); null for IBANs.
    routing_number: Option<String>,
    #[schema(example = "7466")]
    last4: String,
    /// Equal for the same bank account on any seller (keyed hash).
    fingerprint: String,
    account_holder_name: Option<String>,
    /// `individual` or `company`.
    account_holder_type: Option<String>,
    default_for_currency: bool,
    /// `new`, `verified` or `errored` (a payout to it failed).
    status: String,
    failure_code: Option<String>,
    created: String,
    /// Present (true) only in the answer to DELETE.
    deleted: Option<bool>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ExternalAccountList {
    #[schema(example = "list")]
    object: String,
    data: Vec<ExternalAccountObject>,
    has_more: bool,
    url: String,
}

/// An uploaded file's metadata.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FileObject {
    #[schema(example = "file_01h455vb4pex5vsknk084sn02q")]
    id: String,
    #[schema(example = "file")]
    object: String,
    livemode: bool,
    account: Option<String>,
    #[schema(example = "identity_document")]
    purpose: String,
    /// `image/png`, `image/jpeg` or `application/pdf`, from the file's bytes.
    #[schema(rename = "type", example = "image/png")]
    kind: String,
    size: i64,
    sha256: String,
    filename: Option<String>,
    created: String,
}

/// An item of the operator's review queue.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReviewObject {
    #[schema(example = "rev_01h455vb4pex5vsknk084sn02q")]
    id: String,
    #[schema(example = "review")]
    object: String,
    livemode: bool,
    account: String,
    /// `sanctions_hit` or `document`.
    reason: String,
    /// The person reviewed: `individual`, `company.owners[1]`, `company`, …
    subject: String,
    /// `open`, `approved` or `rejected`.
    status: String,
    /// `{"hits": [{list_entry, listed_name, score, dob_match}]}` or `{"file": "file_…"}`.
    #[schema(value_type = Object)]
    details: serde_json::Value,
    closed_reason: Option<String>,
    created: String,
    closed: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReviewList {
    #[schema(example = "list")]
    object: String,
    data: Vec<ReviewObject>,
    has_more: bool,
    url: String,
}
