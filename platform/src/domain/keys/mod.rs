//! API keys: `sk_test_…` / `sk_live_…` (secret: everything in the mode) and `rk_test_…` /
//! `rk_live_…` (restricted: only what its permissions grant), 32 random bytes shown once, stored
//! as SHA-256 and compared in constant time. The key's mode decides which data a request sees.

pub mod entity;
pub mod permissions;

pub use permissions::{Access, Permission, Permissions, Resource};

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

pub use entity::Model as ApiKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn livemode(self) -> bool {
        matches!(self, Mode::Live)
    }

    fn secret_prefix(self, restricted: bool) -> &'static str {
        match (self, restricted) {
            (Mode::Test, false) => "sk_test_",
            (Mode::Live, false) => "sk_live_",
            (Mode::Test, true) => "rk_test_",
            (Mode::Live, true) => "rk_live_",
        }
    }
}

/// Whether `secret` looks like one of our keys at all (so garbage never costs a query).
pub fn looks_like_key(secret: &str) -> bool {
    ["sk_test_", "sk_live_", "rk_test_", "rk_live_"]
        .iter()
        .any(|p| secret.starts_with(p))
}

/// Longest name a key may carry.
pub const MAX_NAME: usize = 100;

impl ApiKey {
    /// `None` for a secret key; a restricted key's grants otherwise. A stored value that does
    /// not read (hand-edited) grants nothing rather than everything.
    pub fn grants(&self) -> Option<Permissions> {
        let stored = self.permissions.as_deref()?;
        Some(Permissions::parse([stored]).unwrap_or_else(|e| {
            tracing::warn!(key = %self.id, error = %e, "a restricted key's stored permissions do not read; it may do nothing");
            Permissions::default()
        }))
    }

    pub fn is_restricted(&self) -> bool {
        self.permissions.is_some()
    }
}

/// A key just created: the secret exists only here and in what is shown to the operator.
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

/// Bytes of entropy in a secret key.
const SECRET_BYTES: usize = 32;
/// `last_used_at` is written at most this often per key, so reads do not turn into writes.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Creates a secret key: everything in `mode`.
pub async fn create(db: &impl ConnectionTrait, mode: Mode) -> Result<CreatedKey, DbErr> {
    insert(db, mode, None, None).await
}

/// Creates a restricted key: only `permissions`, in `mode`. `name` (at most [`MAX_NAME`]
/// characters, checked by the caller) says which service holds it.
pub async fn create_restricted(
    db: &impl ConnectionTrait,
    mode: Mode,
    permissions: &Permissions,
    name: Option<String>,
) -> Result<CreatedKey, DbErr> {
    insert(db, mode, Some(permissions), name).await
}

async fn insert(
    db: &impl ConnectionTrait,
    mode: Mode,
    permissions: Option<&Permissions>,
    name: Option<String>,
) -> Result<CreatedKey, DbErr> {
    let mut raw = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut raw);
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let prefix = mode.secret_prefix(permissions.is_some());
    let secret = format!("{prefix}{body}");
    let last4: String = body
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let model = entity::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(mode.livemode()),
        secret_hash: Set(hash_secret(&secret)),
        display_prefix: Set(format!("{prefix}{}", &body[..4])),
        last4: Set(last4),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        permissions: Set(permissions.map(ToString::to_string)),
        name: Set(name),
    };
    let key = model.insert(db).await?;
    Ok(CreatedKey { key, secret })
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ApiKey>, DbErr> {
    entity::Entity::find()
        .order_by_asc(entity::Column::Id)
        .all(db)
        .await
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    entity::Entity::find().count(db).await
}

/// The restricted keys of one mode, oldest first (the API's list: a key holder never sees
/// the secret keys).
pub async fn list_restricted(
    db: &impl ConnectionTrait,
    livemode: bool,
) -> Result<Vec<ApiKey>, DbErr> {
    restricted(livemode)
        .order_by_asc(entity::Column::Id)
        .all(db)
        .await
}

/// The restricted keys of one mode, as a query (the API pages over it).
pub fn restricted(livemode: bool) -> sea_orm::Select<entity::Entity> {
    entity::Entity::find()
        .filter(entity::Column::Livemode.eq(livemode))
        .filter(entity::Column::Permissions.is_not_null())
}

/// One restricted key of `livemode`, revoked or not.
pub async fn find_restricted(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: Uuid,
) -> Result<Option<ApiKey>, DbErr> {
    restricted(livemode)
        .filter(entity::Column::Id.eq(id))
        .one(db)
        .await
}

/// Revokes a key; `Ok(false)` if there is no such key or it was already revoked.
pub async fn revoke(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    revoke_where(db, id, None).await
}

/// Revokes a restricted key of `livemode` (what the API may do); `Ok(false)` if there is no
/// such active key.
pub async fn revoke_restricted(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: Uuid,
) -> Result<bool, DbErr> {
    revoke_where(db, id, Some(livemode)).await
}

async fn revoke_where(
    db: &impl ConnectionTrait,
    id: Uuid,
    restricted_in: Option<bool>,
) -> Result<bool, DbErr> {
    // Cached keys (infra::cache) read before this are never served after it.
    crate::infra::cache::KEYS.bump();
    let mut update = entity::Entity::update_many();
    if let Some(livemode) = restricted_in {
        update = update
            .filter(entity::Column::Livemode.eq(livemode))
            .filter(entity::Column::Permissions.is_not_null());
    }
    let result = update
        .col_expr(
            entity::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(entity::Column::Id.eq(id))
        .filter(entity::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Finds the live (not revoked) key for a presented secret.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    secret: &str,
) -> Result<Option<ApiKey>, DbErr> {
    let hash = hash_secret(secret);
    let found = entity::Entity::find()
        .filter(entity::Column::SecretHash.eq(hash.clone()))
        .one(db)
        .await?;
    Ok(found.filter(|key| {
        // The index lookup already matched; compare again in constant time so the answer's
        // timing says nothing about how much of a guess was right.
        let same: bool = key.secret_hash.as_bytes().ct_eq(hash.as_bytes()).into();
        same && key.revoked_at.is_none()
    }))
}

/// Records use of a key, at most once per [`LAST_USED_RESOLUTION`].
/// Keys by the SHA-256 of their secret (infra::cache). Only found keys are cached: a key
/// created a moment ago by another process works at once.
pub type KeyCache = crate::infra::cache::TtlCache<String, ApiKey>;

/// [`authenticate`] through `cache`.
pub async fn authenticate_cached(
    db: &impl ConnectionTrait,
    secret: &str,
    cache: &KeyCache,
) -> Result<Option<ApiKey>, DbErr> {
    let hash = hash_secret(secret);
    if let Some(key) = cache.get(&hash) {
        // The map found it by this very hash; compare anyway, as `authenticate` does.
        let same: bool = key.secret_hash.as_bytes().ct_eq(hash.as_bytes()).into();
        return Ok((same && key.revoked_at.is_none()).then_some(key));
    }
    let read_at = cache.epoch();
    let found = authenticate(db, secret).await?;
    if let Some(key) = &found {
        cache.insert(hash, key.clone(), read_at);
    }
    Ok(found)
}

/// Records that `key` was used at `now`, at most once per [`LAST_USED_RESOLUTION`]; returns
/// whether it wrote.
pub async fn touch(
    db: &impl ConnectionTrait,
    key: &ApiKey,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    if key
        .last_used_at
        .is_some_and(|t| now - t < LAST_USED_RESOLUTION)
    {
        return Ok(false);
    }
    entity::Entity::update_many()
        .col_expr(
            entity::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(entity::Column::Id.eq(key.id))
        .exec(db)
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
