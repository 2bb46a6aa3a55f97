//! The seller's invitation email: HTML and plain text in the seller's language, queued in the
//! email outbox (`crate::infra::email`), whose worker sends it over SMTP or writes an `.eml` file.

use askama::Template;
use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::infra::i18n::{Locale, Tr};

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
    let subject = tr.named("email.subject", brand_name);
    let body = tr.named("email.body", brand_name);
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

/// Queues the invitation in the email outbox, in the caller's transaction (the one that
/// made its link): the email worker sends it.
pub async fn queue_invitation(
    db: &impl sea_orm::ConnectionTrait,
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
    crate::infra::email::enqueue(db, &state.kyc.sealer, "onboarding_invitation", &message).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
