//! The one error type of the API and its JSON body:
//! `{"error":{"type","code","message","param","request_id"}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::request_id;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    InvalidRequestError,
    AuthenticationError,
    PermissionError,
    IdempotencyError,
    RateLimitError,
    CardError,
    ApiError,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorType,
    pub code: &'static str,
    pub message: String,
    pub param: Option<String>,
    /// Seconds to wait, sent as `Retry-After` (rate limits).
    pub retry_after_s: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    #[serde(rename = "type")]
    kind: ErrorType,
    code: &'a str,
    message: &'a str,
    /// Always present (null when no one parameter is at fault), so clients read one shape.
    param: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: ErrorType,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            code,
            message: message.into(),
            param: None,
            retry_after_s: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// 400: a parameter is wrong. `param` names it as the caller wrote it (`metadata.color`).
    pub fn invalid(
        param: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            code,
            message,
        )
        .with_param(param)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            code,
            message,
        )
    }

    /// 400 `resource_missing`: an id in the body (or query) names no `what` in this mode, or
    /// none the caller may see. `param` names the field.
    pub fn missing(param: impl Into<String>, what: &str, id: &str) -> Self {
        let shown: String = id.chars().take(64).collect();
        Self::invalid(
            param,
            "resource_missing",
            format!("No such {what}: '{shown}'"),
        )
    }

    /// 404 `resource_missing`: the id in the path names no `what` in this mode.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            "resource_missing",
            format!("No such {what}: '{id}'"),
        )
        .with_param("id")
    }

    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::AuthenticationError,
            code,
            message,
        )
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorType::PermissionError,
            code,
            message,
        )
    }

    /// 500 with no internals in the message; the cause goes to the log with the request id.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::ApiError,
            "internal_error",
            "Something went wrong on our side. Retry with the same Idempotency-Key; if it keeps happening, contact the operator with the request id.",
        )
    }

    /// The JSON error for a bare status produced outside our handlers (405 from the router,
    /// for instance), so every error a client sees has the same shape.
    pub fn from_status(status: StatusCode) -> Self {
        let (kind, code, message) = match status.as_u16() {
            401 => (
                ErrorType::AuthenticationError,
                "unauthenticated",
                "Authentication required.",
            ),
            403 => (ErrorType::PermissionError, "forbidden", "Not allowed."),
            404 => (
                ErrorType::InvalidRequestError,
                "route_not_found",
                "Unrecognized request URL.",
            ),
            405 => (
                ErrorType::InvalidRequestError,
                "method_not_allowed",
                "This method is not allowed on this URL.",
            ),
            408 => (
                ErrorType::InvalidRequestError,
                "request_timeout",
                "The request took too long to arrive.",
            ),
            413 => (
                ErrorType::InvalidRequestError,
                "body_too_large",
                "The request body is too large.",
            ),
            415 => (
                ErrorType::InvalidRequestError,
                "unsupported_media_type",
                "Send JSON with Content-Type: application/json.",
            ),
            429 => (
                ErrorType::RateLimitError,
                "rate_limited",
                "Too many requests.",
            ),
            400..=499 => (
                ErrorType::InvalidRequestError,
                "invalid_request",
                "The request could not be understood.",
            ),
            _ => (
                ErrorType::ApiError,
                "internal_error",
                "Something went wrong on our side.",
            ),
        };
        Self::new(status, kind, code, message)
    }

    pub fn body_json(&self, request_id: Option<&str>) -> String {
        let body = Body {
            error: Inner {
                kind: self.kind,
                code: self.code,
                message: &self.message,
                param: self.param.as_deref(),
                request_id,
            },
        };
        // Serialising plain strings and enums cannot fail; fall back to a fixed body anyway.
        serde_json::to_string(&body).unwrap_or_else(|_| {
            r#"{"error":{"type":"api_error","code":"internal_error","message":"error","param":null}}"#.to_owned()
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        // Bodies refused before a handler could use them (every reader reports through here).
        if matches!(
            self.code,
            "body_too_large"
                | "request_timeout"
                | "body_unreadable"
                | "unsupported_media_type"
                | "parse_error"
        ) {
            metrics::counter!(crate::infra::metrics::names::HTTP_BODY_REJECTED, "reason" => self.code)
                .increment(1);
        }
        let conflict = match self.code {
            "idempotency_key_reused" => Some("reused"),
            "idempotency_request_in_progress" => Some("in_flight"),
            _ => None,
        };
        if let Some(kind) = conflict {
            metrics::counter!(crate::infra::metrics::names::IDEMPOTENCY_CONFLICTS, "kind" => kind)
                .increment(1);
        }
        let request_id = request_id::current_request_id();
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after_s {
            response.insert_header((actix_web::http::header::RETRY_AFTER, seconds.to_string()));
        }
        response
            .content_type("application/json")
            .body(self.body_json(request_id.as_deref()))
    }
}

impl ApiError {
    /// 503 `api_error` `service_unavailable` with `Retry-After: 1`: nothing was done, and a
    /// retry (with the same Idempotency-Key) is safe.
    pub fn unavailable(message: &str) -> Self {
        let mut error = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::ApiError,
            "service_unavailable",
            message,
        );
        error.retry_after_s = Some(1);
        error
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        if is_transient(&err) {
            tracing::warn!(error = %err, "transient database conflict: answering 503");
            return ApiError::unavailable(
                "The request met a conflicting one and nothing was done. Retry in a second with the same Idempotency-Key.",
            );
        }
        if is_unreachable(&err) {
            tracing::error!(error = %err, "the database cannot be reached: answering 503");
            let mut error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorType::ApiError,
                "database_unavailable",
                "The database cannot be reached right now; nothing was done. Retry later with the same Idempotency-Key.",
            );
            error.retry_after_s = Some(5);
            return error;
        }
        ApiError::internal(err)
    }
}

/// No connection could be had (the pool timed out, the server refused or the connection was
/// lost before the statement ran): the request did nothing, and the client should hear 503
/// rather than a 500 that looks like a bug.
fn is_unreachable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    matches!(
        err,
        DbErr::ConnectionAcquire(_)
            | DbErr::Conn(RuntimeErr::SqlxError(
                sea_orm::sqlx::Error::Io(_)
                    | sea_orm::sqlx::Error::PoolTimedOut
                    | sea_orm::sqlx::Error::PoolClosed,
            ))
    )
}

/// A conflict the database resolved by aborting us, which a retry normally gets past:
/// PostgreSQL deadlock (40P01) or serialization failure (40001), SQLite busy (5) or a stale
/// WAL snapshot (517). Its transaction (or savepoint) rolled back, so nothing was done.
fn is_transient(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let runtime = match err {
        DbErr::Exec(r) | DbErr::Query(r) | DbErr::Conn(r) => r,
        _ => return false,
    };
    match runtime {
        RuntimeErr::SqlxError(sea_orm::sqlx::Error::Database(e)) => {
            matches!(e.code().as_deref(), Some("40P01" | "40001" | "5" | "517"))
        }
        _ => false,
    }
}

impl From<sea_orm::TransactionError<ApiError>> for ApiError {
    fn from(err: sea_orm::TransactionError<ApiError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => ApiError::internal(db),
            sea_orm::TransactionError::Transaction(api) => api,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectOptions, ConnectionTrait, Database};

    /// A write that finds SQLite's lock held (no busy wait) is a transient conflict: 503 with
    /// Retry-After, not a 500.
    #[tokio::test]
    async fn a_locked_database_answers_503_with_retry_after() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let connect = |wait: u64| {
            let mut options = ConnectOptions::new(url.clone());
            options.max_connections(1).sqlx_logging(false);
            options.map_sqlx_sqlite_opts(move |o| {
                o.busy_timeout(std::time::Duration::from_millis(wait))
            });
            Database::connect(options)
        };
        let holder = connect(1000).await.unwrap_or_else(|e| panic!("{e}"));
        holder
            .execute_unprepared(
                "CREATE TABLE t (x INTEGER); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);",
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let other = connect(0).await.unwrap_or_else(|e| panic!("{e}"));
        let err = other
            .execute_unprepared("INSERT INTO t VALUES (2)")
            .await
            .err()
            .unwrap_or_else(|| panic!("the lock is held: the write must fail"));
        let api = ApiError::from(err);
        assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(api.retry_after_s, Some(1));
        // Anything else stays a 500.
        let other = ApiError::from(sea_orm::DbErr::Custom("boom".to_owned()));
        assert_eq!(other.status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    /// A database that cannot be reached is the server's outage, not a bug: 503
    /// database_unavailable with Retry-After, nothing done (a real refused connection).
    #[tokio::test]
    async fn an_unreachable_database_is_503_database_unavailable() {
        // Nothing listens on port 9 of this host: the connection is refused at once.
        let mut options = sea_orm::ConnectOptions::new("postgres://agora@127.0.0.1:9/agora");
        options
            .connect_lazy(true)
            .acquire_timeout(std::time::Duration::from_millis(500));
        let db = Database::connect(options)
            .await
            .unwrap_or_else(|e| panic!("a lazy pool connects nothing: {e}"));
        let err = db
            .execute_unprepared("SELECT 1")
            .await
            .err()
            .unwrap_or_else(|| panic!("nothing listens on port 9"));
        let api = ApiError::from(err);
        assert_eq!(
            api.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            api.message
        );
        assert_eq!(api.code, "database_unavailable");
        assert_eq!(api.retry_after_s, Some(5));
        let timeout = ApiError::from(sea_orm::DbErr::ConnectionAcquire(
            sea_orm::error::ConnAcquireErr::Timeout,
        ));
        assert_eq!(timeout.code, "database_unavailable");
    }
}
