//! The seller's invitation email: HTML and plain text in the seller's language, sent over SMTP
//! when `smtp_url` is set, else written as an `.eml` file under `data_dir/outbox` (as the
//! operator's emails are), so a development setup needs no mail server.

use std::time::Duration;

use askama::Template;
use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::i18n::{Locale, Tr};
use crate::gateway::error::{ApiError, ErrorType};
use crate::state::AppState;

/// How long one SMTP conversation may take before the API call fails.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where mail goes, parsed from `smtp_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    /// `smtps://`: TLS from the first byte. `smtp://`: plain text, for a relay on the same
    /// host or network (lettre calls this builder "dangerous" for a reason).
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl SmtpTarget {
    pub fn parse(value: &str) -> Result<Self, String> {
        let url = url::Url::parse(value).map_err(|e| format!("smtp_url: {e}"))?;
        let tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(format!(
                    "smtp_url: scheme must be smtp or smtps, not {other}"
                ))
            }
        };
        let host = url
            .host_str()
            .ok_or_else(|| "smtp_url: a host is required".to_owned())?
            .to_owned();
        let port = url.port().unwrap_or(if tls { 465 } else { 25 });
        let user = (!url.username().is_empty()).then(|| url.username().to_owned());
        Ok(Self {
            tls,
            host,
            port,
            user,
            password: url.password().map(str::to_owned),
        })
    }
}

#[derive(Template)]
#[template(path = "email/onboarding.html")]
struct HtmlBody<'a> {
    lang: &'a str,
    subject: &'a str,
    greeting: &'a str,
    body: &'a str,
    button: &'a str,
    url: &'a str,
    expiry: &'a str,
    ignore: &'a str,
    color: &'a str,
    on_brand: &'a str,
}

#[derive(Template)]
#[template(path = "email/onboarding.txt")]
struct TextBody<'a> {
    greeting: &'a str,
    body: &'a str,
    url: &'a str,
    expiry: &'a str,
    ignore: &'a str,
}

fn mail_error(e: impl std::fmt::Display) -> ApiError {
    // The cause (which may name the server) goes to the log, not to the API caller.
    tracing::warn!(error = %e, "could not send the onboarding email");
    ApiError::new(
        actix_web::http::StatusCode::BAD_GATEWAY,
        ErrorType::ApiError,
        "email_not_sent",
        "The mail server did not accept the email; try again later.",
    )
}

/// Builds the invitation: multipart/alternative, plain text first, then HTML.
pub fn invitation(
    from: &str,
    brand_name: &str,
    brand_color: &str,
    to: &str,
    locale: Locale,
    url: &str,
    expires_at: DateTime<Utc>,
) -> Result<Message, ApiError> {
    let tr = Tr(locale);
    let subject = tr.s("email.subject").replace("{name}", brand_name);
    let body = tr.s("email.body").replace("{name}", brand_name);
    let expiry = tr
        .s("email.expiry")
        .replace("{date}", &expires_at.format("%Y-%m-%d %H:%M").to_string());
    let on_brand = if super::brand::stylesheet(brand_color).contains("--on-brand: #ffffff") {
        "#ffffff"
    } else {
        "#1a1a1a"
    };
    let html = HtmlBody {
        lang: locale.code(),
        subject: &subject,
        greeting: tr.s("email.greeting"),
        body: &body,
        button: tr.s("email.button"),
        url,
        expiry: &expiry,
        ignore: tr.s("email.ignore"),
        color: brand_color,
        on_brand,
    }
    .render()
    .map_err(ApiError::internal)?;
    let text = TextBody {
        greeting: tr.s("email.greeting"),
        body: &body,
        url,
        expiry: &expiry,
        ignore: tr.s("email.ignore"),
    }
    .render()
    .map_err(ApiError::internal)?;
    let from: Mailbox = from.parse().map_err(ApiError::internal)?;
    let to: Mailbox = to.parse().map_err(|_| {
        ApiError::bad_request(
            "email_invalid",
            "The seller's email address cannot be used.",
        )
    })?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(ApiError::internal)
}

/// Sends the invitation with the configured transport.
pub async fn send_invitation(
    state: &AppState,
    to: &str,
    locale: Locale,
    url: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let config = &state.config;
    let message = invitation(
        &config.email_from,
        &config.branding_name,
        &config.branding_color,
        to,
        locale,
        url,
        expires_at,
    )?;
    match &config.smtp_url {
        Some(smtp_url) => {
            let target = SmtpTarget::parse(smtp_url).map_err(ApiError::internal)?;
            let mut builder = if target.tls {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&target.host).map_err(mail_error)?
            } else {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)
            };
            builder = builder.port(target.port).timeout(Some(SMTP_TIMEOUT));
            if let (Some(user), Some(password)) = (target.user, target.password) {
                builder = builder.credentials(Credentials::new(user, password));
            }
            builder.build().send(message).await.map_err(mail_error)?;
        }
        None => {
            let dir = config.data_dir.join("outbox");
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(ApiError::internal)?;
            AsyncFileTransport::<Tokio1Executor>::new(dir)
                .send(message)
                .await
                .map_err(ApiError::internal)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        let plain = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap_or_else(|e| panic!("{e}"));
        assert!(!plain.tls);
        assert_eq!((plain.host.as_str(), plain.port), ("127.0.0.1", 2525));
        let tls =
            SmtpTarget::parse("smtps://u:p@mail.example.com").unwrap_or_else(|e| panic!("{e}"));
        assert!(tls.tls);
        assert_eq!(tls.port, 465);
        assert_eq!(tls.user.as_deref(), Some("u"));
        assert!(SmtpTarget::parse("http://x").is_err());
        assert!(SmtpTarget::parse("smtp://").is_err());
    }

    #[test]
    fn the_invitation_has_both_parts_in_swedish() {
        let message = invitation(
            "Agora <agora@localhost>",
            "Marknaden",
            "#1f4f8a",
            "anna@example.se",
            Locale::Sv,
            "http://127.0.0.1:1/onboarding/link/abc",
            Utc::now(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/plain"), "{raw}");
        assert!(raw.contains("text/html"), "{raw}");
    }
}
