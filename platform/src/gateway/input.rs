//! Reading request input: JSON bodies and query strings, parsed once into typed structs with
//! every failure a 4xx naming the offending field in `param`.

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::state::AppState;

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
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
        de.end().map_err(|e| {
            ApiError::bad_request(
                "parse_error",
                format!("Invalid JSON: {}", strip_position(&e.to_string())),
            )
        })?;
        Ok(value)
    }
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
                let chunk = chunk.map_err(|e| {
                    ApiError::bad_request(
                        "body_unreadable",
                        format!("Could not read the request body: {e}"),
                    )
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

pub const DEFAULT_BODY_LIMIT_BYTES: usize = 256 * 1024;

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
                field_error(&path, &message)
            });
        std::future::ready(result)
    }
}

fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.inner();
    let message = strip_position(&inner.to_string());
    match inner.classify() {
        serde_json::error::Category::Data => field_error(&path, &message),
        _ => ApiError::bad_request("parse_error", format!("Invalid JSON: {message}")),
    }
}

/// Maps a serde message to a stable code and the full parameter path. serde names unknown and
/// missing fields in the message, not in the path, so they are read from there.
fn field_error(path: &str, message: &str) -> ApiError {
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
    let param = if base.is_empty() {
        "body".to_owned()
    } else {
        base.to_owned()
    };
    ApiError::invalid(
        param.clone(),
        "parameter_invalid",
        format!("Invalid {param}: {message}"),
    )
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
}
