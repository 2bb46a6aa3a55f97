//! Account links: a single-use token that opens the hosted onboarding pages for one account,
//! created and expiring by the account's mode's clock; stored only as its SHA-256.

use agora_onboarding::accounts::Account;
use agora_onboarding::links::{self, link};
use base64::Engine;
use chrono::Duration;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

pub use link::Model as AccountLink;

/// What a new link is for, checked.
pub struct LinkSpec {
    pub kind: &'static str,
    pub collect: &'static str,
    pub refresh_url: String,
    pub return_url: String,
}

/// Stores a new link for `account`, created and expiring by the account's mode's clock, and
/// returns it with its URL (the only place the token ever appears).
pub async fn create_link(
    db: &impl ConnectionTrait,
    public_url: &str,
    account: &Account,
    spec: &LinkSpec,
    ttl_s: u64,
) -> Result<(link::Model, String), sea_orm::DbErr> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = crate::infra::clock::now(db, account.livemode).await?;
    let ttl = Duration::seconds(i64::try_from(ttl_s).unwrap_or(i64::MAX).min(30 * 86_400));
    let row = link::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(account.livemode),
        account_id: Set(account.id),
        token_hash: Set(links::token_hash(&token)),
        kind: Set(spec.kind.to_owned()),
        collect: Set(spec.collect.to_owned()),
        refresh_url: Set(spec.refresh_url.clone()),
        return_url: Set(spec.return_url.clone()),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((row, format!("{public_url}/onboarding/link/{token}")))
}

/// Where the invitation goes: the account's email, else the individual's, else the
/// company representative's.
pub fn seller_email(account: &Account) -> Option<String> {
    let profile = agora_onboarding::kyc::Profile::from_json(account.profile.as_ref());
    account
        .email
        .clone()
        .or_else(|| profile.individual.as_ref().and_then(|p| p.email.clone()))
        .or_else(|| {
            profile
                .company
                .as_ref()
                .and_then(|c| c.representative.as_ref())
                .and_then(|p| p.email.clone())
        })
}
