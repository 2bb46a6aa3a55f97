//! The OpenAPI document. Paths are collected from the handlers' `#[utoipa::path]` as they are
//! registered (see `app::routes`), so the spec cannot drift from the routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Agora API",
        description = "Connect-style marketplace payments: connected accounts, split charges on a double-entry ledger, payouts. Authenticate with `Authorization: Bearer sk_test_…`; act for a connected account with `Agora-Account: acct_…`; make any POST safe to retry with `Idempotency-Key`. On a list, every filter given applies: an object is listed only if it matches each one, none is ever dropped.",
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
    data: Vec<crate::domain::kyc::view::AccountObject>,
    has_more: bool,
    url: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventList {
    #[schema(example = "list")]
    object: String,
    data: Vec<crate::infra::events::view::EventObject>,
    has_more: bool,
    url: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FeeRuleList {
    #[schema(example = "list")]
    object: String,
    data: Vec<crate::domain::fee_rules::view::FeeRuleObject>,
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
    /// The number's last four; null for a Swedish personkonto, whose number is the holder's
    /// personnummer.
    #[schema(example = "7466")]
    last4: Option<String>,
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

/// The answers the gateway can give on any operation, added to every `/v1` operation so each
/// documents every status it can return with the error body: 401 (no or a bad key), 403
/// (`Agora-Account` names no account of the key's mode, or the operation is the platform's
/// only), 429 (rate limit), 500; 400 where the operation reads input (a query, a body, an
/// `Idempotency-Key`); 404 where it names an object (a path id, or an id in its input);
/// 409 where it takes an `Idempotency-Key` (the first request with it still runs); 413 and
/// 415 where it reads a JSON body. An operation's own description of a status is kept.
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        // JsonBody reads an empty body as `{}`: a body whose schema requires nothing is optional.
        let requires_nothing: Vec<String> = openapi
            .components
            .iter()
            .flat_map(|c| c.schemas.iter())
            .filter_map(|(name, schema)| match schema {
                RefOr::T(utoipa::openapi::Schema::Object(o)) if o.required.is_empty() => {
                    Some(format!("#/components/schemas/{name}"))
                }
                _ => None,
            })
            .collect();
        constrain_inputs(openapi);
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/v1/") || path == "/v1/openapi.json" {
                continue;
            }
            for (item_changes, op) in [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (true, item.delete.as_mut()),
                (true, item.put.as_mut()),
                (true, item.patch.as_mut()),
            ]
            .into_iter()
            .filter_map(|(changes, op)| op.map(|op| (changes, op)))
            {
                let params: Vec<(ParameterIn, String)> = op
                    .parameters
                    .iter()
                    .flatten()
                    .filter_map(|p| match p {
                        RefOr::T(p) => Some((p.parameter_in.clone(), p.name.clone())),
                        RefOr::Ref(_) => None,
                    })
                    .collect();
                let has = |place: ParameterIn| params.iter().any(|(at, _)| *at == place);
                let idempotent = params
                    .iter()
                    .any(|(at, name)| *at == ParameterIn::Header && name == "Idempotency-Key");
                let json_body = match &op.request_body {
                    Some(RefOr::T(body)) => body.content.contains_key("application/json"),
                    _ => false,
                };
                if let Some(RefOr::T(body)) = &mut op.request_body {
                    let optional = body.content.get("application/json").is_some_and(|c| {
                        matches!(c, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(r)) if requires_nothing.contains(&r.ref_location)))
                    });
                    if optional {
                        body.required = Some(utoipa::openapi::Required::False);
                    }
                }
                // A POST or DELETE can also be refused for the object's state (400, with a code).
                let reads_input = has(ParameterIn::Query)
                    || op.request_body.is_some()
                    || idempotent
                    || item_changes;
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description));
                };
                if reads_input {
                    add(
                        "400",
                        "A parameter, the body or the Idempotency-Key is invalid",
                    );
                }
                add("401", "No API key, or an invalid or revoked one");
                add("403", "A restricted key without the permission this operation needs (`permission_missing`, naming it), Agora-Account names no connected account of the key's mode, or the operation is the platform's only");
                if has(ParameterIn::Path) || reads_input {
                    add("404", "No such object (an id in the path or the input)");
                }
                if idempotent {
                    add(
                        "409",
                        "A request with this Idempotency-Key is still being processed",
                    );
                }
                if json_body {
                    add("413", "The body is larger than the configured limit");
                    add("415", "The body is not `application/json`");
                }
                if json_body {
                    add("408", "The body did not arrive within `body_timeout_ms`");
                }
                add("429", "Too many requests with this key, or too many invalid keys from this address; see `Retry-After`");
                add("503", "`live_mode_unavailable`: a live key, and the server has no operator-provided `encryption_key` and `fingerprint_key`");
                add(
                    "500",
                    "Internal error; the cause is logged with the request id",
                );
            }
        }
    }
}

/// Limits that hold for an input wherever it appears, stated once: the `Idempotency-Key`
/// header (1–255 visible ASCII characters), every `currency` of a request (a code
/// `agora_ledger::Currency::parse` accepts, in any letter case) and `metadata` (50 keys of
/// 1–40 characters without brackets, values up to 500 characters).
fn constrain_inputs(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{
        AdditionalProperties, ArrayItems, ObjectBuilder, OneOfBuilder, Type,
    };
    use utoipa::openapi::{RefOr, Schema};

    let key_schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(crate::adapters::gateway::idempotency::MAX_KEY_LEN))
        .pattern(Some("^[!-~]+$"))
        .build();
    for item in openapi.paths.paths.values_mut() {
        for op in [&mut item.get, &mut item.post, &mut item.delete]
            .into_iter()
            .flatten()
        {
            for p in op.parameters.iter_mut().flatten() {
                if let RefOr::T(p) = p {
                    if p.name == "Idempotency-Key" {
                        p.schema = Some(RefOr::T(Schema::Object(key_schema.clone())));
                    }
                }
            }
        }
    }

    // Every code the ledger takes, as `[eE][uU][rR]`: the parser ignores letter case.
    let mut codes = Vec::new();
    for a in b'a'..=b'z' {
        for b in b'a'..=b'z' {
            for c in b'a'..=b'z' {
                let code = String::from_utf8(vec![a, b, c]).unwrap_or_default();
                if agora_ledger::Currency::parse(&code).is_ok() {
                    let any_case: String = code
                        .chars()
                        .map(|ch| format!("[{ch}{}]", ch.to_ascii_uppercase()))
                        .collect();
                    codes.push(any_case);
                }
            }
        }
    }
    let currency_pattern = format!("^({})$", codes.join("|"));

    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    // `payment_method` of a charge: a test token, or an external payment's reference.
    components.schemas.insert(
        "PaymentMethodParam".to_owned(),
        RefOr::T(Schema::OneOf(
            OneOfBuilder::new()
                .description(Some(
                    "A test token, or `{\"type\": \"external\", \"reference\": \"…\"}` for a payment captured by the platform's own processor.",
                ))
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(crate::domain::payments::processor::TEST_TOKENS.iter().copied()))
                        .build(),
                )
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::Object)
                        .property(
                            "type",
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .enum_values(Some(["external"])),
                        )
                        .property(
                            "reference",
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .min_length(Some(1))
                                .max_length(Some(crate::adapters::api::MAX_SHORT_TEXT))
                                .pattern(Some("\\S")),
                        )
                        .required("type")
                        .required("reference")
                        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                        .build(),
                )
                .build(),
        )),
    );
    for (name, schema) in components.schemas.iter_mut() {
        let RefOr::T(Schema::Object(object)) = schema else {
            continue;
        };
        if name == "MetadataParam" {
            object.max_properties = Some(crate::adapters::gateway::metadata::MAX_KEYS);
            object.property_names = Some(Box::new(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(crate::adapters::gateway::metadata::MAX_KEY_CHARS))
                    .pattern(Some("^[^\\[\\]]+$"))
                    .build(),
            )));
            object.additional_properties = Some(Box::new(AdditionalProperties::RefOr(RefOr::T(
                Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(crate::adapters::gateway::metadata::MAX_VALUE_CHARS))
                        .build(),
                ),
            ))));
            continue;
        }
        if !(name.ends_with("Request") || name.ends_with("Params") || name.ends_with("Param")) {
            continue;
        }
        for (field, property) in object.properties.iter_mut() {
            match (field.as_str(), property) {
                ("currency" | "default_currency", RefOr::T(Schema::Object(p))) => {
                    p.pattern = Some(currency_pattern.clone());
                }
                // Fee rule amounts per currency: the keys are currencies.
                ("fixed" | "min" | "max", RefOr::T(Schema::Object(p)))
                    if p.property_names.is_some() =>
                {
                    p.property_names = Some(Box::new(Schema::Object(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some(currency_pattern.clone()))
                            .build(),
                    )));
                }
                ("payment_method", property) if name == "CreateChargeRequest" => {
                    let description = match property {
                        RefOr::T(Schema::Object(o)) => o.description.clone(),
                        _ => None,
                    };
                    *property = RefOr::Ref(
                        utoipa::openapi::schema::RefBuilder::new()
                            .ref_location_from_schema_name("PaymentMethodParam")
                            .description(description)
                            .build(),
                    );
                }
                ("enabled_events", RefOr::T(Schema::Array(a))) => {
                    a.items = ArrayItems::RefOrSchema(Box::new(RefOr::T(Schema::Object(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(event_patterns()))
                            .build(),
                    ))));
                }
                _ => {}
            }
        }
    }
}

/// What a webhook endpoint can subscribe to: `*`, every event type, and every prefix `x.*`
/// of one (what `webhooks::check_pattern` accepts).
fn event_patterns() -> Vec<String> {
    let mut out = vec!["*".to_owned()];
    for kind in crate::infra::events::EVENT_TYPES {
        let parts: Vec<&str> = kind.split('.').collect();
        for n in 1..parts.len() {
            out.push(format!("{}.*", parts[..n].join(".")));
        }
        out.push((*kind).to_owned());
    }
    out.sort();
    out.dedup();
    out.retain(|p| crate::domain::webhooks::check_pattern(p).is_ok());
    out
}

/// `POST /v1/reviews/{id}/reject` reads the approve body, but a rejection needs a reason.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RejectReviewRequest {
    /// Why: shown to the seller for a rejected document, kept for the audit trail.
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: String,
}

/// The form of `POST /v1/files`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FileUpload {
    #[schema(pattern = "^identity_document$")]
    purpose: String,
    /// PNG, JPEG or PDF (read from the bytes), at most 10 MB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}
