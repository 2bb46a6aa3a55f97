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
    data: Vec<crate::api::accounts::AccountObject>,
    has_more: bool,
    url: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventList {
    #[schema(example = "list")]
    object: String,
    data: Vec<crate::api::events::EventObject>,
    has_more: bool,
    url: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FeeRuleList {
    #[schema(example = "list")]
    object: String,
    data: Vec<crate::api::fee_rules::FeeRuleObject>,
    has_more: bool,
    url: String,
}
