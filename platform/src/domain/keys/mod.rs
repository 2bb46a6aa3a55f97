//! API keys: `sk_test_…` / `sk_live_…`, 32 random bytes shown once, stored as SHA-256 and
//! compared in constant time. The key's mode decides which data a request sees.

pub mod entity;

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

    fn secret_prefix(self) -> &'static str {
        match self {
            Mode::Test => "sk_test_",
            Mode::Live => "sk_live_",
        }
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

pub async fn create(db: &impl ConnectionTrait, mode: Mode) -> Result<CreatedKey, DbErr> {
    let mut raw = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut raw);
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let secret = format!("{}{}", mode.secret_prefix(), body);
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
        display_prefix: Set(format!("{}{}", mode.secret_prefix(), &body[..4])),
        last4: Set(last4),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
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

/// Revokes a key; `Ok(false)` if there is no such key or it was already revoked.
pub async fn revoke(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    // Cached keys (infra::cache) read before this are never served after it.
    crate::infra::cache::KEYS.bump();
    let result = entity::Entity::update_many()
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
