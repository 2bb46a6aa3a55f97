//! Account links: `POST /v1/account_links` makes a single-use URL that opens the hosted
//! onboarding pages for one seller; `POST /v1/accounts/{id}/onboarding_email` emails the seller
//! such a link.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, Auth, JsonBody};
use crate::domain::kyc::links::{create_link, seller_email, AccountLink, LinkSpec};
use crate::domain::kyc::{self, KycError};
use crate::infra::i18n::Locale;
use crate::infra::wire::ids::{self, IdKind};

/// Longest refresh or return URL.
const MAX_URL: usize = 2048;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountLinkRequest {
    /// The `acct_` id of the seller.
    #[schema(pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub account: String,
    /// `account_onboarding` or `account_update`.
    #[serde(rename = "type")]
    #[schema(example = "account_onboarding")]
    #[schema(pattern = "^(account_onboarding|account_update)$")]
    pub kind: String,
    /// Where the seller is sent when the link was used already or has expired: make a new
    /// link there and redirect again. http or https.
    #[schema(example = "https://platform.example.com/onboarding/refresh")]
    #[schema(
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?(\\.[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?)*(:[0-9]{1,4})?([/?#][!-~]*)?$"
    )]
    pub refresh_url: String,
    /// Where the seller is sent after submitting. http or https.
    #[schema(example = "https://platform.example.com/onboarding/done")]
    #[schema(
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?(\\.[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?)*(:[0-9]{1,4})?([/?#][!-~]*)?$"
    )]
    pub return_url: String,
    /// `currently_due` (default) or `eventually_due`.
    #[schema(pattern = "^(currently_due|eventually_due)$")]
    pub collect: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingEmailRequest {
    #[schema(
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?(\\.[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?)*(:[0-9]{1,4})?([/?#][!-~]*)?$"
    )]
    pub refresh_url: String,
    #[schema(
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?(\\.[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?)*(:[0-9]{1,4})?([/?#][!-~]*)?$"
    )]
    pub return_url: String,
    /// `en` (default) or `sv`: the language of the email and of the pages it opens.
    #[schema(pattern = "^(en|sv)$")]
    pub locale: Option<String>,
    /// `currently_due` (default) or `eventually_due`.
    #[schema(pattern = "^(currently_due|eventually_due)$")]
    pub collect: Option<String>,
}

fn parse_url(param: &str, value: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::invalid(
            param,
            "url_invalid",
            format!(
                "{param} must be an absolute http or https URL of at most {MAX_URL} characters"
            ),
        )
    };
    if value.len() > MAX_URL {
        return Err(bad());
    }
    let url = url::Url::parse(value.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    Ok(url.to_string())
}

fn parse_collect(value: Option<&str>) -> Result<&'static str, ApiError> {
    match value {
        None | Some("currently_due") => Ok("currently_due"),
        Some("eventually_due") => Ok("eventually_due"),
        Some(_) => Err(ApiError::invalid(
            "collect",
            "parameter_invalid",
            "collect must be currently_due or eventually_due",
        )),
    }
}

fn parse_kind(value: &str) -> Result<&'static str, ApiError> {
    match value {
        "account_onboarding" => Ok("account_onboarding"),
        "account_update" => Ok("account_update"),
        _ => Err(ApiError::invalid(
            "type",
            "parameter_invalid",
            "type must be account_onboarding or account_update",
        )),
    }
}

fn link_object(row: &AccountLink, url: &str) -> Value {
    json!({
        "object": "account_link",
        "url": url,
        "created": super::timestamp(row.created_at),
        "expires_at": super::timestamp(row.expires_at),
    })
}

#[utoipa::path(
    tag = "Account links",
    request_body = CreateAccountLinkRequest,
    responses(
        (status = 200, description = "`{object: account_link, url, created, expires_at}` (RFC 3339 UTC, as every object's times); the URL works once"),
        (status = 400, description = "Invalid parameters, or no such account in this mode (`resource_missing`, `param` account)", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/account_links")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    // The answer's URL opens the seller's onboarding (a bearer token): kept for replay sealed.
    idempotency::run_with_secret(&state, &auth, &req, &body, async |txn| {
        let input: CreateAccountLinkRequest = body.parse()?;
        let id = super::parse_account_id("account", &input.account)?;
        let missing = || ApiError::missing("account", "account", &input.account);
        // A connected account may make links only for itself.
        if auth.account.is_some_and(|acting| acting != id) {
            return Err(missing());
        }
        let account = kyc::reload(txn, auth.livemode, id.uuid())
            .await
            .map_err(|e| match e {
                KycError::NotFound { .. } => missing(),
                other => other.into(),
            })?;
        let spec = LinkSpec {
            kind: parse_kind(&input.kind)?,
            collect: parse_collect(input.collect.as_deref())?,
            refresh_url: parse_url("refresh_url", &input.refresh_url)?,
            return_url: parse_url("return_url", &input.return_url)?,
        };
        let (row, url) = create_link(
            txn,
            &state.public_url,
            &account,
            &spec,
            state.config.account_link_ttl_s,
        )
        .await?;
        Ok(link_object(&row, &url))
    })
    .await
}

#[utoipa::path(
    tag = "Account links",
    request_body = OnboardingEmailRequest,
    params(("id" = String, Path, description = "An `acct_` id", pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "`{object: onboarding_email, account, to, locale, expires_at}`: the invitation is queued in the email outbox; the email worker sends it within `email_poll_ms` (SMTP, or an `.eml` file under the data dir), retrying if the mail server is away"),
        (status = 400, description = "Invalid parameters, or the seller has no email address", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such account in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/accounts/{id}/onboarding_email")]
pub async fn onboarding_email(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    // One transaction makes the link and queues the email: a retry with the same
    // Idempotency-Key replays the answer instead of sending a second invitation.
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: OnboardingEmailRequest = body.parse()?;
        let id = ids::decode(IdKind::Account, &raw)
            .map_err(|_| ApiError::not_found("account", &raw))?;
        let account = kyc::reload(txn, auth.livemode, id).await?;
        let locale = match input.locale.as_deref() {
            None => Locale::En,
            Some(l) => Locale::parse(l).ok_or_else(|| {
                ApiError::invalid("locale", "parameter_invalid", "locale must be en or sv")
            })?,
        };
        let spec = LinkSpec {
            kind: "account_onboarding",
            collect: parse_collect(input.collect.as_deref())?,
            refresh_url: parse_url("refresh_url", &input.refresh_url)?,
            return_url: parse_url("return_url", &input.return_url)?,
        };
        let to = seller_email(&account).ok_or_else(|| {
            ApiError::bad_request(
                "email_missing",
                "The account has no email address (neither email nor individual.email); set one first.",
            )
        })?;
        let (row, url) = create_link(
            txn,
            &state.public_url,
            &account,
            &spec,
            state.config.onboarding_email_link_ttl_s,
        )
        .await?;
        // The pages open in the email's language (the seller can still switch).
        let url = format!("{url}?lang={}", locale.code());
        crate::adapters::hosted::email::queue_invitation(txn, &state, &to, locale, &url, row.expires_at)
            .await?;
        Ok(json!({
            "object": "onboarding_email",
            "account": raw,
            "to": to,
            "locale": locale.code(),
            "expires_at": super::timestamp(row.expires_at),
        }))
    })
    .await
}
