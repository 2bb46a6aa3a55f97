//! Account links and the hosted-page sessions they open. A link's token is 32 random bytes
//! shown once in its URL; only its SHA-256 is stored, as for API keys. A link opens once,
//! within its lifetime; opening it starts a session, whose cookie token is kept the same way.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub mod link {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub livemode: bool,
        pub account_id: Uuid,
        pub token_hash: String,
        /// `account_onboarding` or `account_update`.
        pub kind: String,
        /// `currently_due` or `eventually_due`.
        pub collect: String,
        pub refresh_url: String,
        pub return_url: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "onboarding_sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub token_hash: String,
        pub link_id: Uuid,
        pub livemode: bool,
        pub account_id: Uuid,
        pub kind: String,
        pub collect: String,
        pub refresh_url: String,
        pub return_url: String,
        pub locale: Option<String>,
        pub csrf_token: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        /// When the seller submitted: the session then only says so (and leads on to the
        /// platform) until it expires.
        pub submitted_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Hex SHA-256 of a token: what is stored and looked up.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What opening a link found.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    /// The link was valid and is now used; the caller starts a session.
    Fresh(link::Model),
    /// Known, but used or past its lifetime: send the seller to `refresh_url`.
    Stale(link::Model),
    /// No such link.
    Unknown,
}

/// Opens a link: marks it used if it is unused and unexpired. The mark is one conditional
/// UPDATE (`used_at IS NULL AND expires_at > now`), so two racing opens cannot both win, on
/// SQLite and PostgreSQL alike, without row locks. `now(livemode)` is the clock of the link's
/// mode (a test-mode link lives by the test clock, as its `created` and `expires_at` do).
pub async fn open(
    db: &impl ConnectionTrait,
    token: &str,
    now: impl Fn(bool) -> DateTime<Utc>,
) -> Result<Opened, DbErr> {
    let hash = token_hash(token);
    let Some(found) = link::Entity::find()
        .filter(link::Column::TokenHash.eq(hash.as_str()))
        .one(db)
        .await?
    else {
        return Ok(Opened::Unknown);
    };
    let now = now(found.livemode);
    let claimed = link::Entity::update_many()
        .col_expr(link::Column::UsedAt, sea_orm::sea_query::Expr::value(now))
        .filter(link::Column::Id.eq(found.id))
        .filter(link::Column::UsedAt.is_null())
        .filter(link::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if claimed.rows_affected == 1 {
        Ok(Opened::Fresh(found))
    } else {
        Ok(Opened::Stale(found))
    }
}

/// The live session with this cookie token, if any.
pub async fn find_session(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::TokenHash.eq(token_hash(token)))
        .filter(session::Column::ExpiresAt.gt(now))
        .one(db)
        .await
}

/// Marks a session submitted at `now`, kept until `until`: its pages then say the details
/// have been sent (a seller pressing Back must not think the submission failed), and accept
/// no more input.
pub async fn mark_submitted(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(
            session::Column::SubmittedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            session::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(until),
        )
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// How long a link row outlives its expiry: opening it meanwhile still leads to its
/// `refresh_url` (a seller clicking an old email); after that it is an unknown link.
pub const LINK_RETENTION_DAYS: i64 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
