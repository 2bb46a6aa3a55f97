//! API-key authentication: `Authorization: Bearer sk_test_…`, optionally
//! `Agora-Account: acct_…` to act on behalf of a connected account of the same mode.

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::domain::keys;
use crate::infra::wire::typed::AccountId;

pub const ACCOUNT_HEADER: &str = "agora-account";

/// Who is calling: the key (and so the mode) and, with `Agora-Account`, the connected account.
#[derive(Debug, Clone)]
pub struct Auth {
    pub key_id: Uuid,
    pub livemode: bool,
    pub account: Option<AccountId>,
}

impl Auth {
    /// The acting connected account's UUID, for the queries that still take one (events,
    /// files, reviews).
    pub fn account_uuid(&self) -> Option<Uuid> {
        self.account.map(AccountId::uuid)
    }

    /// For endpoints only the platform itself may call (creating accounts, listing them, …).
    pub fn require_platform(&self) -> Result<(), ApiError> {
        match self.account {
            None => Ok(()),
            Some(_) => Err(ApiError::forbidden(
                "platform_key_required",
                "This endpoint is for the platform only; send the request without Agora-Account.",
            )),
        }
    }
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        let account_header = req
            .headers()
            .get(ACCOUNT_HEADER)
            .map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let secret = match header {
                None => return Err(ApiError::unauthenticated(
                    "api_key_missing",
                    "You did not provide an API key. Send it as `Authorization: Bearer sk_test_…`.",
                )),
                Some(Err(_)) => return Err(malformed()),
                Some(Ok(value)) => match value.strip_prefix("Bearer ") {
                    Some(secret) if !secret.trim().is_empty() => secret.trim().to_owned(),
                    _ => return Err(malformed()),
                },
            };
            if !(secret.starts_with("sk_test_") || secret.starts_with("sk_live_")) {
                return Err(invalid_key(&secret));
            }
            let Some(key) =
                keys::authenticate_cached(&state.db, &secret, &state.caches.keys).await?
            else {
                return Err(invalid_key(&secret));
            };
            // Live data is sealed with keys the operator must provide: with a key generated
            // beside the data, live mode is refused before anything is read or written.
            if key.livemode {
                if let Some(message) = state.kyc.live_mode_refusal() {
                    return Err(ApiError::new(
                        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                        super::error::ErrorType::ApiError,
                        "live_mode_unavailable",
                        message,
                    ));
                }
            }
            if let Err(retry_after) = state.rate_limiter.check(key.id, std::time::Instant::now()) {
                let mut error = ApiError::new(
                    actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                    super::error::ErrorType::RateLimitError,
                    "rate_limited",
                    format!("Too many requests with this key; retry in {retry_after} s."),
                );
                error.retry_after_s = Some(retry_after);
                return Err(error);
            }
            // Recording use is bookkeeping: never make the caller wait for it or fail on it.
            let db = state.db.clone();
            let touched = key.clone();
            let caches = state.caches.clone();
            actix_web::rt::spawn(async move {
                match keys::touch(&db, &touched, Utc::now()).await {
                    // The cached key's `last_used_at` is now old: read it afresh next time.
                    Ok(true) => caches.keys.invalidate(&touched.secret_hash),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "could not record API key use"),
                }
            });
            let account = match account_header {
                None => None,
                Some(Err(_)) => return Err(account_invalid("(unreadable)")),
                Some(Ok(value)) => {
                    let id = AccountId::parse(value.trim())
                        .map_err(|_| account_invalid(value.trim()))?;
                    // The account must exist in the key's own mode: test keys never reach live accounts.
                    if agora_onboarding::accounts::find(&state.db, key.livemode, id.uuid())
                        .await?
                        .is_none()
                    {
                        return Err(account_invalid(value.trim()));
                    }
                    Some(id)
                }
            };
            Ok(Auth {
                key_id: key.id,
                livemode: key.livemode,
                account,
            })
        })
    }
}

fn malformed() -> ApiError {
    ApiError::unauthenticated(
        "authorization_malformed",
        "The Authorization header must be `Bearer <secret key>`.",
    )
}

fn invalid_key(secret: &str) -> ApiError {
    // Show only enough of the key for the caller to recognise which one they sent.
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    ApiError::unauthenticated(
        "api_key_invalid",
        format!("Invalid API key provided: ****{tail}. It may be mistyped or revoked."),
    )
}

fn account_invalid(value: &str) -> ApiError {
    let shown: String = value.chars().take(40).collect();
    ApiError::forbidden(
        "account_invalid",
        format!(
            "The Agora-Account header names no connected account this key can act for: '{shown}'."
        ),
    )
    .with_param("Agora-Account")
}
