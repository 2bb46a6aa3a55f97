//! Account links: a single-use token that opens the hosted onboarding pages for one account,
//! created and expiring by the account's mode's clock; stored only as its SHA-256.

use agora_onboarding::accounts::Account;
use agora_onboarding::links::{self, link, session, Opened};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

pub use link::Model as AccountLink;
pub use session::Model as PageSession;

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What opening a link did.
pub enum Opening {
    /// No such link.
    Unknown,
    /// Used or expired: the seller goes to the platform's `refresh_url`.
    Stale { refresh_url: String },
    /// Spent now, with a new page session (`ttl_s` seconds, real time) whose cookie token
    /// this is (stored only as its hash).
    Fresh { session_token: String },
    /// A live-mode link while live mode is refused (`kyc::Runtime::live_mode_refusal`): not
    /// spent, so it opens once the server has its keys.
    LiveModeUnavailable,
}

/// Opens a link once (one conditional UPDATE, so two racing opens cannot both start a
/// session) and starts its page session in `locale` (None: the browser's). The link lives by
/// its mode's clock, the page session by real time. With `live_allowed` false a live link is
/// left unspent ([`Opening::LiveModeUnavailable`]).
pub async fn open(
    db: &impl ConnectionTrait,
    token: &str,
    locale: Option<String>,
    ttl_s: i64,
    live_allowed: bool,
) -> Result<Opening, sea_orm::DbErr> {
    if !live_allowed {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let live = link::Entity::find()
            .filter(link::Column::TokenHash.eq(links::token_hash(token)))
            .filter(link::Column::Livemode.eq(true))
            .count(db)
            .await?;
        if live > 0 {
            return Ok(Opening::LiveModeUnavailable);
        }
    }
    let now = Utc::now();
    let test_now = now + crate::infra::clock::test_offset(db).await?;
    let mode_now = |livemode: bool| if livemode { now } else { test_now };
    let link = match links::open(db, token, mode_now).await? {
        Opened::Unknown => return Ok(Opening::Unknown),
        Opened::Stale(link) => {
            return Ok(Opening::Stale {
                refresh_url: link.refresh_url,
            })
        }
        Opened::Fresh(link) => link,
    };
    let session_token = random_token();
    session::ActiveModel {
        id: Set(Uuid::now_v7()),
        token_hash: Set(links::token_hash(&session_token)),
        link_id: Set(link.id),
        livemode: Set(link.livemode),
        account_id: Set(link.account_id),
        kind: Set(link.kind.clone()),
        collect: Set(link.collect.clone()),
        refresh_url: Set(link.refresh_url.clone()),
        return_url: Set(link.return_url.clone()),
        locale: Set(locale),
        csrf_token: Set(random_token()),
        created_at: Set(now),
        expires_at: Set(now + Duration::seconds(ttl_s)),
        submitted_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(Opening::Fresh { session_token })
}

/// Remembers the page language the seller chose in its session.
pub async fn set_session_locale(
    db: &impl ConnectionTrait,
    s: &PageSession,
    code: &str,
) -> Result<(), sea_orm::DbErr> {
    let mut model: session::ActiveModel = s.clone().into();
    model.locale = Set(Some(code.to_owned()));
    model.update(db).await?;
    Ok(())
}

/// Deletes ended sessions and links past their retention ([`links::LINK_RETENTION_DAYS`]
/// after expiry), `batch` rows per statement. `now` is real time (sessions); test-mode links
/// are judged by the test clock. Returns (sessions, links) deleted.
pub async fn sweep(
    db: &impl sea_orm::ConnectionTrait,
    now: DateTime<Utc>,
    batch: u64,
) -> Result<(u64, u64), sea_orm::DbErr> {
    use sea_orm::ColumnTrait;
    let sessions = crate::infra::db::delete_in_batches::<session::Entity>(
        db,
        session::Column::Id,
        session::Column::ExpiresAt.lt(now),
        batch,
    )
    .await?;
    // Links live by their mode's clock: a test-mode link is judged by the test clock.
    let cutoff = now - Duration::days(links::LINK_RETENTION_DAYS);
    let test_cutoff = cutoff + crate::infra::clock::test_offset(db).await?;
    let retired = crate::infra::db::delete_in_batches::<link::Entity>(
        db,
        link::Column::Id,
        link::Column::Livemode
            .eq(true)
            .and(link::Column::ExpiresAt.lt(cutoff))
            .or(link::Column::Livemode
                .eq(false)
                .and(link::Column::ExpiresAt.lt(test_cutoff))),
        batch,
    )
    .await?;
    Ok((sessions, retired))
}

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
    let token = random_token();
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
