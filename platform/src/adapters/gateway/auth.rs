//! API-key authentication: `Authorization: Bearer sk_test_…` (or a restricted `rk_test_…`,
//! checked against the route's permission in gateway::permissions), optionally
//! `Agora-Account: acct_…` to act on behalf of a connected account of the same mode. A client
//! address that keeps presenting unknown keys is refused before the lookup (429), so a flood
//! of made-up keys costs no queries.

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::error::ApiError;
use super::permissions::{self, Need};
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
    /// A restricted key (its permissions were checked for this route already).
    pub restricted: bool,
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
        let need = permissions::need(req.method(), req.match_pattern().as_deref());
        let client_ip = state.as_ref().and_then(|s| s.client_limits.client_ip(req));
        let req = req.clone();
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
            if !keys::looks_like_key(&secret) {
                return Err(invalid_key(&secret));
            }
            let now = std::time::Instant::now();
            let failures = &state.client_limits.auth_failures;
            if let Some(ip) = client_ip {
                failures.peek(ip, now).map_err(too_many_failures)?;
            }
            let Some(key) =
                keys::authenticate_cached(&state.db, &secret, &state.caches.keys).await?
            else {
                if let Some(ip) = client_ip {
                    failures.charge(ip, now);
                }
                match client_ip {
                    Some(ip) => {
                        tracing::warn!(client = %ip, "an unknown or revoked API key was presented")
                    }
                    None => tracing::warn!("an unknown or revoked API key was presented"),
                }
                return Err(invalid_key(&secret));
            };
            // From here the request is this key's, whatever it is answered (API usage).
            super::usage::mark(
                &req,
                crate::domain::usage::Caller {
                    key_id: key.id,
                    livemode: key.livemode,
                },
            );
            if let Some(grants) = key.grants() {
                let allowed = match need {
                    Need::Permission(p) => grants.allows(p),
                    Need::SecretKey => false,
                };
                if !allowed {
                    return Err(lacks(&key, need));
                }
            }
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
                metrics::counter!(
                    crate::infra::metrics::names::HTTP_RATE_LIMITED,
                    "limiter" => "key",
                    "key" => key.display_prefix.clone(),
                )
                .increment(1);
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
                restricted: key.is_restricted(),
            })
        })
    }
}

fn too_many_failures(retry_after: u64) -> ApiError {
    metrics::counter!(
        crate::infra::metrics::names::HTTP_RATE_LIMITED,
        "limiter" => "address",
        "key" => "",
    )
    .increment(1);
    let mut error = ApiError::new(
        actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        super::error::ErrorType::RateLimitError,
        "too_many_invalid_keys",
        format!(
            "Too many requests with invalid API keys from your address; retry in {retry_after} s."
        ),
    );
    error.retry_after_s = Some(retry_after);
    error
}

/// 403 for a restricted key: names the permission it lacks, and the key by its prefix.
fn lacks(key: &keys::ApiKey, need: Need) -> ApiError {
    let shown = format!("{}…{}", key.display_prefix, key.last4);
    match need {
        Need::Permission(p) => ApiError::forbidden(
            "permission_missing",
            format!(
                "The restricted key {shown} does not have the {p} permission this request needs."
            ),
        ),
        Need::SecretKey => ApiError::forbidden(
            "secret_key_required",
            format!(
                "This request needs a secret key (sk_…); the restricted key {shown} cannot make it."
            ),
        ),
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
