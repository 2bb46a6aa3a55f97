//! Reading request input: JSON bodies and query strings, parsed once into typed structs with
//! every failure a 4xx naming the offending field in `param` and saying what it must be in
//! API terms (`amount must be an integer number of minor units`), never in Rust's (`i64`).

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use super::error::ApiError;
use crate::adapters::gateway::state::AppState;

/// The raw body of a POST, already checked for size and content type. Kept as bytes so the
/// idempotency layer can fingerprint exactly what was sent.
#[derive(Debug, Clone)]
pub struct JsonBody {
    pub bytes: Bytes,
}

impl JsonBody {
    /// Parses the body into `T`; an empty body reads as `{}` so POSTs without parameters work.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let bytes: &[u8] = if self.bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.bytes
        };
        // Every body is an object: serde would otherwise read a struct from an array too
        // (`[null, null]` as its fields in order), which the API description does not allow.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(match serde_json::from_slice::<serde_json::Value>(bytes) {
                Err(e) => parse_error(&e),
                Ok(_) => ApiError::invalid("body", "parameter_invalid", "body must be an object"),
            });
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value =
            serde_path_to_error::deserialize(&mut de).map_err(|e| explain::<T>(bytes, e))?;
        de.end().map_err(|e| parse_error(&e))?;
        Ok(value)
    }
}

fn parse_error(e: &serde_json::Error) -> ApiError {
    ApiError::bad_request(
        "parse_error",
        format!("Invalid JSON: {}", strip_position(&e.to_string())),
    )
}

/// Explains why `bytes` did not make a `T` (the slow path, only on failure). The body is read
/// again as a JSON value: if that fails it is no JSON at all; otherwise the value is read into
/// `T` again, since serde_json's byte parser reports a wrongly typed enum (`"rounding": 1`) as
/// a syntax error where the value reader reports it as a type error with its path.
fn explain<T: DeserializeOwned>(
    bytes: &[u8],
    first: serde_path_to_error::Error<serde_json::Error>,
) -> ApiError {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return parse_error(&e),
    };
    // A duplicate field is lost in a value, so the first error stands when the second is none.
    let err = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
        Err(e) => e,
        Ok(_) => first,
    };
    let segments: Vec<&Segment> = err.path().iter().collect();
    // An object given for a unit-variant enum: the path runs into the variant (`rounding.x`).
    if let Some(i) = segments
        .iter()
        .position(|s| matches!(s, Segment::Enum { .. }))
    {
        let param = render_path(&segments[..i]);
        let message = match enum_variants::<T>(&value, &segments[..i]) {
            Some(names) if !names.is_empty() => {
                format!(
                    "{param} must be one of: {}, not an object",
                    names.join(", ")
                )
            }
            _ => format!("{param} must be a string, not an object"),
        };
        return ApiError::invalid(param, "parameter_invalid", message);
    }
    let message = strip_position(&err.inner().to_string());
    let variants = || enum_variants::<T>(&value, &segments);
    field_error_with(&err.path().to_string(), &message, &variants)
}

/// A path as serde_path_to_error writes it: `splits[1].destination`.
fn render_path(segments: &[&Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(variant);
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    if out.is_empty() {
        "body".to_owned()
    } else {
        out
    }
}

/// The variants of the enum at `path`: the value there is replaced by a string no variant has,
/// and serde's "unknown variant" error lists them.
fn enum_variants<T: DeserializeOwned>(
    value: &serde_json::Value,
    path: &[&Segment],
) -> Option<Vec<String>> {
    let mut probe = value.clone();
    let mut at = &mut probe;
    for segment in path {
        at = match segment {
            Segment::Seq { index } => at.get_mut(*index)?,
            Segment::Map { key } => at.get_mut(key.as_str())?,
            _ => return None,
        };
    }
    *at = serde_json::Value::String(String::new());
    let err = serde_path_to_error::deserialize::<_, T>(probe).err()?;
    let message = err.inner().to_string();
    let rest = message.strip_prefix("unknown variant ``, expected ")?;
    Some(backticked_all(rest))
}

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<actix_web::web::Data<AppState>>()
            .map(|s| s.config.body_limit_bytes)
            .unwrap_or(DEFAULT_BODY_LIMIT_BYTES);
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.to_ascii_lowercase());
        let declared_len = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_len.is_some_and(|n| n > limit) {
                return Err(too_large(limit));
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| match &e {
                    actix_web::error::PayloadError::Io(io)
                        if io.kind() == std::io::ErrorKind::TimedOut =>
                    {
                        ApiError::new(
                            actix_web::http::StatusCode::REQUEST_TIMEOUT,
                            super::error::ErrorType::InvalidRequestError,
                            "request_timeout",
                            "The request body did not arrive in time; send it at once after the headers.",
                        )
                    }
                    _ => ApiError::bad_request(
                        "body_unreadable",
                        format!("Could not read the request body: {e}"),
                    ),
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            let is_json = content_type.as_deref().is_some_and(|ct| {
                let essence = ct.split(';').next().unwrap_or("").trim();
                essence == "application/json"
            });
            if !body.is_empty() && !is_json {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    super::error::ErrorType::InvalidRequestError,
                    "unsupported_media_type",
                    "Send the body as JSON with Content-Type: application/json.",
                ));
            }
            Ok(JsonBody {
                bytes: body.freeze(),
            })
        })
    }
}

pub use crate::infra::config::DEFAULT_BODY_LIMIT_BYTES;

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        super::error::ErrorType::InvalidRequestError,
        "body_too_large",
        format!("The request body is larger than the limit of {limit} bytes."),
    )
}

/// A query string parsed into `T` (which should `deny_unknown_fields`).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        let result = serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.inner().to_string();
                field_error_with(&path, &message, &|| None)
            });
        std::future::ready(result)
    }
}

/// Maps a serde message to a stable code and the full parameter path, with a message in API
/// terms. serde names unknown and missing fields in the message, not in the path, so they are
/// read from there. `variants` lists an enum's values when the message does not.
fn field_error_with(
    path: &str,
    message: &str,
    variants: &dyn Fn() -> Option<Vec<String>>,
) -> ApiError {
    let base = if path == "." { "" } else { path };
    // serde_path_to_error's path already ends in an unknown field's name; a missing field's
    // path stops at the object that lacks it.
    let join = |field: &str| {
        if base == field || base.ends_with(&format!(".{field}")) {
            base.to_owned()
        } else if base.is_empty() {
            field.to_owned()
        } else {
            format!("{base}.{field}")
        }
    };
    if let Some(field) = backticked(message, "unknown field `") {
        let param = join(field);
        return ApiError::invalid(
            param.clone(),
            "parameter_unknown",
            format!("Received unknown parameter: {param}"),
        );
    }
    if let Some(field) = backticked(message, "missing field `") {
        let param = join(field);
        return ApiError::invalid(
            param.clone(),
            "parameter_missing",
            format!("Missing required parameter: {param}"),
        );
    }
    if let Some(field) = backticked(message, "duplicate field `") {
        let param = join(field);
        return ApiError::invalid(
            param.clone(),
            "parameter_invalid",
            format!("{param} is given twice"),
        );
    }
    let param = if base.is_empty() {
        "body".to_owned()
    } else {
        base.to_owned()
    };
    let message = explain_message(&param, message, variants);
    ApiError::invalid(param, "parameter_invalid", message)
}

/// What serde expected, in API terms.
#[derive(Debug, PartialEq)]
enum Expected {
    /// An integer type, with its bounds.
    Integer { min: i128, max: i128, bits: u32 },
    /// A type the API names by `what`: "a string", "an object", "true or false", …
    Api(String),
    /// A (unit-variant) enum whose variants the message does not say.
    Enum,
    /// Something only Rust has a name for.
    Unknown,
}

impl Expected {
    fn parse(expected: &str) -> Self {
        let integer = |bits: u32, signed: bool| {
            let (min, max) = if signed {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            Expected::Integer { min, max, bits }
        };
        match expected {
            "i8" => integer(8, true),
            "i16" => integer(16, true),
            "i32" => integer(32, true),
            "i64" | "isize" => integer(64, true),
            "u8" => integer(8, false),
            "u16" => integer(16, false),
            "u32" => integer(32, false),
            "u64" | "usize" => integer(64, false),
            "f32" | "f64" => Expected::Api("a number".to_owned()),
            "a boolean" => Expected::Api("true or false".to_owned()),
            "a string" | "a borrowed string" | "a character" => {
                Expected::Api("a string".to_owned())
            }
            "a map" => Expected::Api("an object".to_owned()),
            "a sequence" => Expected::Api("a list".to_owned()),
            // serde_json's value reader, for an enum given neither a string nor an object.
            "string or map" | "map with a single key" | "unit variant" => Expected::Enum,
            _ if expected.starts_with("struct ") => Expected::Api("an object".to_owned()),
            _ if expected.starts_with("a tuple of size ") => {
                let n = expected.trim_start_matches("a tuple of size ");
                Expected::Api(format!("a list of {n} values"))
            }
            // A visitor of ours that already speaks the API's language ("a decimal number
            // written as a string, such as \"2.9\"").
            _ if !rusty(expected) => Expected::Api(expected.to_owned()),
            _ => Expected::Unknown,
        }
    }
}

/// Does `text` name a Rust type or serde's data model (`i64`, `struct X`, `Option`, …)?
fn rusty(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "i8",
        "i16",
        "i32",
        "i64",
        "i128",
        "isize",
        "u8",
        "u16",
        "u32",
        "u64",
        "u128",
        "usize",
        "f32",
        "f64",
        "struct",
        "enum",
        "Option",
        "option",
        "Some",
        "None",
        "variant",
        "identifier",
        "unit",
        "tuple",
        "newtype",
        "sequence",
        "map",
        "char",
        "bytes",
        "Vec",
        "String",
        "str",
        "bool",
        "BTreeMap",
        "HashMap",
        "Value",
    ];
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| {
            WORDS.contains(&word)
                // A Rust type name: CamelCase with two capitals or more.
                || (word.starts_with(|c: char| c.is_ascii_uppercase())
                    && word.chars().skip(1).any(|c| c.is_ascii_uppercase())
                    && word.chars().any(|c| c.is_ascii_lowercase()))
        })
}

/// Is the field at `param` an amount in minor units? `amount`, `*_amount`, `amount_*`, the
/// tiers' `fixed` and `up_to`, and the values of the per-currency maps `fixed`, `min`, `max`.
fn is_amount(param: &str) -> bool {
    let names: Vec<&str> = param
        .split('.')
        .map(|s| s.split('[').next().unwrap_or(s))
        .collect();
    let last = names.last().copied().unwrap_or("");
    let parent = names
        .len()
        .checked_sub(2)
        .and_then(|i| names.get(i))
        .copied();
    last == "amount"
        || last.ends_with("_amount")
        || last.starts_with("amount_")
        || matches!(last, "fixed" | "up_to")
        || matches!(parent, Some("fixed" | "min" | "max"))
}

fn an_integer(param: &str) -> &'static str {
    if is_amount(param) {
        "an integer number of minor units"
    } else {
        "an integer"
    }
}

/// serde's name for a value it was given (`string "10000"`, `floating point `10.5``, `map`),
/// as the API would say it.
fn shown(unexpected: &str) -> String {
    let quoted = |lead: &str| unexpected.strip_prefix(lead).map(|v| v.trim_matches('`'));
    if let Some(s) = unexpected.strip_prefix("string ") {
        let inner = s.trim_matches('"');
        let short: String = inner.chars().take(40).collect();
        let more = if inner.chars().count() > 40 {
            "…"
        } else {
            ""
        };
        return format!("the string \"{short}{more}\"");
    }
    for lead in ["floating point ", "integer ", "boolean "] {
        if let Some(v) = quoted(lead) {
            return v.to_owned();
        }
    }
    match unexpected {
        "map" => "an object".to_owned(),
        "sequence" => "a list".to_owned(),
        "null" | "unit value" | "unit" => "null".to_owned(),
        _ => "that".to_owned(),
    }
}

fn above_range(param: &str, max: i128, bits: u32) -> String {
    if bits <= 32 {
        format!("{param} is too large (at most {max})")
    } else {
        format!("{param} is too large")
    }
}

fn below_range(param: &str, min: i128, bits: u32) -> String {
    if min == 0 {
        format!("{param} must not be negative")
    } else if bits <= 32 {
        format!("{param} is too small (at least {min})")
    } else {
        format!("{param} is too small")
    }
}

/// The message for a value of the wrong type or out of range, from serde's.
fn explain_message(
    param: &str,
    message: &str,
    variants: &dyn Fn() -> Option<Vec<String>>,
) -> String {
    let one_of = |names: &[String]| format!("{param} must be one of: {}", names.join(", "));
    let wrong = |unexpected: &str, expected: &str| match Expected::parse(expected) {
        Expected::Integer { min, max, bits } => {
            // A whole number too big for the type arrives as a float (1e+20).
            let number = unexpected
                .strip_prefix("floating point ")
                .or_else(|| unexpected.strip_prefix("integer "))
                .map(|n| n.trim_matches('`'));
            let whole = number
                .and_then(|n| n.parse::<f64>().ok())
                .filter(|f| f.fract() == 0.0);
            match whole {
                Some(f) if f > max as f64 => above_range(param, max, bits),
                Some(f) if f < min as f64 => below_range(param, min, bits),
                _ => format!(
                    "{param} must be {}, not {}",
                    an_integer(param),
                    shown(unexpected)
                ),
            }
        }
        Expected::Api(what) => format!("{param} must be {what}, not {}", shown(unexpected)),
        Expected::Enum => match variants() {
            Some(names) if !names.is_empty() => {
                format!("{}, not {}", one_of(&names), shown(unexpected))
            }
            _ => format!("{param} must be a string, not {}", shown(unexpected)),
        },
        Expected::Unknown => format!("{param} cannot be {}", shown(unexpected)),
    };
    for lead in ["invalid type: ", "invalid value: "] {
        if let Some((unexpected, expected)) = message
            .strip_prefix(lead)
            .and_then(|rest| rest.rsplit_once(", expected "))
        {
            return wrong(unexpected, expected);
        }
    }
    if let Some((_, expected)) = message
        .strip_prefix("invalid length ")
        .and_then(|rest| rest.rsplit_once(", expected "))
    {
        // A list where an object belongs (`struct X with 2 elements`), or a list too short.
        let expected = expected.split(" with ").next().unwrap_or(expected);
        return match Expected::parse(expected) {
            Expected::Api(what) => format!("{param} must be {what}"),
            _ => format!("{param} has the wrong number of values"),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (given, expected) = rest.rsplit_once("`, expected ").unwrap_or((rest, ""));
        let short: String = given.chars().take(40).collect();
        let names = backticked_all(expected);
        return if names.is_empty() {
            format!("{param} cannot be \"{short}\"")
        } else {
            format!("{}, not \"{short}\"", one_of(&names))
        };
    }
    // Query strings: the parse errors of Rust's number and boolean parsers.
    match message {
        "invalid digit found in string" | "cannot parse integer from empty string" => {
            return format!("{param} must be {}", an_integer(param));
        }
        "number too large to fit in target type" => return format!("{param} is too large"),
        "number too small to fit in target type" => return format!("{param} is too small"),
        "provided string was not `true` or `false`" => {
            return format!("{param} must be true or false");
        }
        "invalid float literal" => return format!("{param} must be a number"),
        _ => {}
    }
    if rusty(message) {
        format!("{param} is not valid")
    } else {
        format!("Invalid {param}: {message}")
    }
}

/// Every `…` in `text`, in order.
fn backticked_all(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn backticked<'a>(message: &'a str, lead: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(lead)?;
    rest.split('`').next()
}

/// serde_json ends messages with " at line 1 column 17"; the param already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: i64,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Option<Inner>,
    }

    fn parse(body: &str) -> Result<Outer, ApiError> {
        JsonBody {
            bytes: Bytes::copy_from_slice(body.as_bytes()),
        }
        .parse()
    }

    #[test]
    fn names_the_field() {
        let e = parse(r#"{"name":"a","bogus":1}"#).unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            ("parameter_unknown", Some("bogus"))
        );
        let e = parse(r#"{"name":"a","inner":{"n":1,"x":2}}"#).unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            ("parameter_unknown", Some("inner.x"))
        );
        let e = parse(r#"{"name":"a","inner":{"n":"one"}}"#).unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            ("parameter_invalid", Some("inner.n"))
        );
        assert!(!e.message.contains("line"), "{}", e.message);
        let e = parse(r#"{"inner":null}"#).unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            ("parameter_missing", Some("name"))
        );
    }

    #[test]
    fn malformed_json_is_a_parse_error() {
        for body in [r#"{"name":"#, "nope", r#"{"name":"a"} trailing"#] {
            let e = parse(body).unwrap_err();
            assert_eq!(e.code, "parse_error", "{body}");
            assert_eq!(e.status.as_u16(), 400);
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Rounding {
        HalfEven,
        HalfUp,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Split {
        amount: i64,
    }

    /// A field of every kind the API's bodies have.
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Everything {
        amount: Option<i64>,
        application_fee_amount: Option<i64>,
        limit: Option<i64>,
        version: Option<u32>,
        priority: Option<i32>,
        count: Option<usize>,
        capture: Option<bool>,
        description: Option<String>,
        metadata: Option<crate::adapters::gateway::metadata::MetadataParam>,
        tags: Option<Vec<String>>,
        rounding: Option<Rounding>,
        inner: Option<Inner>,
        percent: Option<crate::adapters::api::fee_rules::DecimalString>,
        fixed: Option<std::collections::BTreeMap<String, i64>>,
        splits: Option<Vec<Split>>,
        rate: Option<f64>,
        pair: Option<(i64, i64)>,
    }

    #[test]
    fn type_errors_say_what_the_field_must_be_in_api_terms() {
        let cases: &[(&str, &str, &str)] = &[
            (
                r#"{"amount":"10000"}"#,
                "amount",
                "amount must be an integer number of minor units, not the string \"10000\"",
            ),
            (
                r#"{"amount":10.5}"#,
                "amount",
                "amount must be an integer number of minor units, not 10.5",
            ),
            (r#"{"amount":1e30}"#, "amount", "amount is too large"),
            (
                r#"{"amount":99999999999999999999}"#,
                "amount",
                "amount is too large",
            ),
            (
                r#"{"amount":18446744073709551615}"#,
                "amount",
                "amount is too large",
            ),
            (
                r#"{"amount":-99999999999999999999}"#,
                "amount",
                "amount is too small",
            ),
            (
                r#"{"application_fee_amount":true}"#,
                "application_fee_amount",
                "application_fee_amount must be an integer number of minor units, not true",
            ),
            (
                r#"{"limit":"10"}"#,
                "limit",
                "limit must be an integer, not the string \"10\"",
            ),
            (
                r#"{"version":-1}"#,
                "version",
                "version must not be negative",
            ),
            (
                r#"{"version":5000000000}"#,
                "version",
                "version is too large (at most 4294967295)",
            ),
            (
                r#"{"priority":-3000000000}"#,
                "priority",
                "priority is too small (at least -2147483648)",
            ),
            (r#"{"count":-1}"#, "count", "count must not be negative"),
            (
                r#"{"capture":"yes"}"#,
                "capture",
                "capture must be true or false, not the string \"yes\"",
            ),
            (
                r#"{"description":1}"#,
                "description",
                "description must be a string, not 1",
            ),
            (
                r#"{"metadata":["a"]}"#,
                "metadata",
                "metadata must be an object, not a list",
            ),
            (
                r#"{"metadata":{"k":1}}"#,
                "metadata.k",
                "metadata.k must be a string, not 1",
            ),
            (
                r#"{"tags":"x"}"#,
                "tags",
                "tags must be a list, not the string \"x\"",
            ),
            (
                r#"{"tags":[1]}"#,
                "tags[0]",
                "tags[0] must be a string, not 1",
            ),
            (
                r#"{"rounding":"up"}"#,
                "rounding",
                "rounding must be one of: half_even, half_up, not \"up\"",
            ),
            (
                r#"{"rounding":1}"#,
                "rounding",
                "rounding must be one of: half_even, half_up, not 1",
            ),
            (
                r#"{"rounding":{}}"#,
                "rounding",
                "rounding must be one of: half_even, half_up, not an object",
            ),
            (
                r#"{"rounding":{"half_up":1}}"#,
                "rounding",
                "rounding must be one of: half_even, half_up, not an object",
            ),
            (r#"{"inner":1}"#, "inner", "inner must be an object, not 1"),
            (r#"{"inner":[]}"#, "inner", "inner must be an object"),
            (
                r#"{"inner":{"n":null}}"#,
                "inner.n",
                "inner.n must be an integer, not null",
            ),
            (
                r#"{"percent":2.9}"#,
                "percent",
                "percent must be a decimal number written as a string, such as \"2.9\", not 2.9",
            ),
            (
                r#"{"fixed":{"eur":"30"}}"#,
                "fixed.eur",
                "fixed.eur must be an integer number of minor units, not the string \"30\"",
            ),
            (
                r#"{"splits":[{"amount":"1"}]}"#,
                "splits[0].amount",
                "splits[0].amount must be an integer number of minor units, not the string \"1\"",
            ),
            (
                r#"{"rate":"x"}"#,
                "rate",
                "rate must be a number, not the string \"x\"",
            ),
            (r#"{"pair":[1]}"#, "pair", "pair must be a list of 2 values"),
            (r#"[]"#, "body", "body must be an object"),
            (r#"5"#, "body", "body must be an object, not 5"),
            (
                r#"{"inner":{"n":1,"n":2}}"#,
                "inner.n",
                "inner.n is given twice",
            ),
        ];
        for (body, param, message) in cases {
            let e = JsonBody {
                bytes: Bytes::copy_from_slice(body.as_bytes()),
            }
            .parse::<Everything>()
            .unwrap_err();
            assert_eq!(e.code, "parameter_invalid", "{body}");
            assert_eq!(e.param.as_deref(), Some(*param), "{body}: {}", e.message);
            assert_eq!(e.message, *message, "{body}");
            assert!(!rusty(&e.message), "{body}: {}", e.message);
        }
    }

    #[test]
    fn query_errors_say_it_in_api_terms_too() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Query {
            limit: Option<i64>,
            active: Option<bool>,
            version: Option<u32>,
            rounding: Option<Rounding>,
        }
        for (query, param, message) in [
            ("limit=ten", "limit", "limit must be an integer"),
            ("limit=1.5", "limit", "limit must be an integer"),
            ("limit=99999999999999999999", "limit", "limit is too large"),
            ("active=yes", "active", "active must be true or false"),
            ("version=-1", "version", "version must be an integer"),
            (
                "rounding=up",
                "rounding",
                "rounding must be one of: half_even, half_up, not \"up\"",
            ),
            ("colour=red", "colour", "Received unknown parameter: colour"),
        ] {
            let req =
                actix_web::test::TestRequest::with_uri(&format!("/x?{query}")).to_http_request();
            let e = ApiQuery::<Query>::from_request(&req, &mut Payload::None)
                .into_inner()
                .err()
                .unwrap_or_else(|| panic!("{query} was accepted"));
            assert_eq!(e.param.as_deref(), Some(param), "{query}");
            assert_eq!(e.message, message, "{query}");
            assert!(!rusty(&e.message), "{query}: {}", e.message);
        }
    }

    #[test]
    fn rust_words_are_recognised() {
        for rusty_text in [
            "expected i64",
            "struct Inner",
            "an Option",
            "u32",
            "CreateChargeRequest",
            "enum Mode",
        ] {
            assert!(rusty(rusty_text), "{rusty_text}");
        }
        for plain in [
            "must be an integer number of minor units",
            "a decimal number written as a string, such as \"2.9\"",
            "true or false",
            "Invalid JSON",
        ] {
            assert!(!rusty(plain), "{plain}");
        }
        assert!(is_amount("splits[2].application_fee_amount"));
        assert!(is_amount("min.eur"));
        assert!(is_amount("tiers.tiers[0].up_to"));
        assert!(is_amount("conditions.amount_min"));
        assert!(!is_amount("limit"));
        assert!(!is_amount("settlement_delay_days"));
    }
}
