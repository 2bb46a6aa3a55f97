//! The mode's clock: every timestamp of a mode's API objects and events, and every decision by
//! time (settlement, payout days, deadlines, webhook retries, link expiry). Live mode reads the
//! real clock; test mode reads the real clock plus an offset that
//! `POST /v1/test_helpers/advance_clock` moves forward, so a platform can test settlement days
//! ahead without waiting. Real time is only for what belongs to no mode's data (idempotency
//! expiry, page sessions, the email outbox, API keys, ledger journal rows, the signed
//! `webhook-timestamp`).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

pub mod entity;

use entity as clock_offset;

/// Most one call may advance the test clock: a year.
pub const MAX_ADVANCE_SECONDS: i64 = 366 * 24 * 3600;

/// Furthest the test clock may ever be ahead of real time: ten years (3,653 days). Every
/// test-mode request computes `now + offset`, which panics past chrono's range: an offset
/// advanced without a bound took test mode down for good.
pub const MAX_OFFSET_SECONDS: i64 = 3653 * 24 * 3600;
/// [`MAX_OFFSET_SECONDS`] as the API words it.
pub const MAX_OFFSET_WORDS: &str = "10 years";

/// The mode's clock: real time in live mode, real time plus the offset in test mode. Every
/// timestamp of an API object or event of the mode comes from here.
pub async fn now(db: &impl ConnectionTrait, livemode: bool) -> Result<DateTime<Utc>, DbErr> {
    if livemode {
        return Ok(Utc::now());
    }
    Ok(Utc::now() + test_offset(db).await?)
}

/// The test clock's offset, cached (infra::cache): one entry.
pub type OffsetCache = crate::infra::cache::TtlCache<(), Duration>;

/// [`now`], with the test clock's offset read through `cache`.
pub async fn now_cached(
    db: &impl ConnectionTrait,
    livemode: bool,
    cache: &OffsetCache,
) -> Result<DateTime<Utc>, DbErr> {
    if livemode {
        return Ok(Utc::now());
    }
    if let Some(offset) = cache.get(&()) {
        return Ok(Utc::now() + offset);
    }
    let read_at = cache.epoch();
    let offset = test_offset(db).await?;
    cache.insert((), offset, read_at);
    Ok(Utc::now() + offset)
}

/// How far the test clock is ahead of real time, within 0..=[`MAX_OFFSET_SECONDS`]: a row
/// beyond the cap (written before it existed, or by hand) is read as the cap rather than
/// panic in every test-mode request.
pub async fn test_offset(db: &impl ConnectionTrait) -> Result<Duration, DbErr> {
    let offset = clock_offset::Entity::find_by_id(false)
        .one(db)
        .await?
        .map_or(0, |row| row.offset_seconds);
    Ok(Duration::seconds(offset.clamp(0, MAX_OFFSET_SECONDS)))
}

/// What an advance of the test clock came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advanced {
    /// Moved; the test clock's new now.
    To(DateTime<Utc>),
    /// Refused, nothing moved: it would pass [`MAX_OFFSET_SECONDS`]. How far ahead it is.
    PastCap { ahead: Duration },
}

/// Moves the test clock forward by `seconds` (1..=MAX_ADVANCE_SECONDS), unless that would put
/// it more than [`MAX_OFFSET_SECONDS`] ahead. The cap is checked in the upsert itself, so
/// concurrent advances cannot pass it together.
pub async fn advance_test_clock(
    db: &impl ConnectionTrait,
    seconds: i64,
) -> Result<Advanced, DbErr> {
    let seconds = seconds.clamp(0, MAX_ADVANCE_SECONDS);
    // Cached offsets (infra::cache) read before this change are never served after it.
    crate::infra::cache::CLOCK.bump();
    let current = Expr::col((clock_offset::Entity, clock_offset::Column::OffsetSeconds));
    let changed = clock_offset::Entity::insert(clock_offset::ActiveModel {
        livemode: Set(false),
        offset_seconds: Set(seconds),
    })
    .on_conflict(
        OnConflict::column(clock_offset::Column::Livemode)
            .value(
                clock_offset::Column::OffsetSeconds,
                current.clone().add(seconds),
            )
            .action_and_where(current.add(seconds).lte(MAX_OFFSET_SECONDS))
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if changed == 0 {
        return Ok(Advanced::PastCap {
            ahead: test_offset(db).await?,
        });
    }
    Ok(Advanced::To(now(db, false).await?))
}
