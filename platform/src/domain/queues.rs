//! How much background work is due now, per queue and mode: what the metrics endpoint shows as
//! `agora_queue_depth` and `agora_queue_oldest_age_seconds`, so an operator sees a worker
//! falling behind before sellers do. Each count runs on the index its worker's claim uses.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Select};

use crate::domain::payments::entity::charge;
use crate::domain::payouts::entity::payout;
use crate::domain::payouts::PayoutStatus;
use crate::infra::clock;
use crate::infra::email::entity as email;
use crate::infra::events::webhook_tables::delivery as webhook_delivery;

/// One queue's due work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    /// `webhook_deliveries`, `emails`, `settlements`, `payouts_pending`.
    pub queue: &'static str,
    /// `None` for a queue that belongs to no mode (the email outbox).
    pub livemode: Option<bool>,
    pub due: i64,
    /// Seconds the oldest due item has been due (0 when none is).
    pub oldest_age_s: i64,
}

fn depth(
    queue: &'static str,
    livemode: Option<bool>,
    now: DateTime<Utc>,
    (due, oldest): (i64, Option<DateTime<Utc>>),
) -> QueueDepth {
    QueueDepth {
        queue,
        livemode,
        due,
        oldest_age_s: oldest.map_or(0, |t| (now - t).num_seconds().max(0)),
    }
}

/// How many rows `due` selects, and the earliest `since` among them: one aggregate statement.
async fn count_and_oldest<E: EntityTrait>(
    db: &impl ConnectionTrait,
    due: Select<E>,
    id: E::Column,
    since: E::Column,
) -> Result<(i64, Option<DateTime<Utc>>), DbErr> {
    Ok(due
        .select_only()
        .column_as(Expr::col(id).count(), "n")
        .column_as(Expr::col(since).min(), "oldest")
        .into_tuple::<(i64, Option<DateTime<Utc>>)>()
        .one(db)
        .await?
        .unwrap_or((0, None)))
}

/// Every queue's depth, each mode at its own clock (a test clock moved ahead makes test-mode
/// work due, as it does for the workers). Seven small aggregate queries.
pub async fn depths(db: &impl ConnectionTrait) -> Result<Vec<QueueDepth>, DbErr> {
    let mut out = Vec::with_capacity(7);
    for livemode in [false, true] {
        let now = clock::now(db, livemode).await?;
        let deliveries = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Livemode.eq(livemode))
            .filter(webhook_delivery::Column::Status.eq(webhook_delivery::DeliveryStatus::Pending))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(now));
        let deliveries = count_and_oldest(
            db,
            deliveries,
            webhook_delivery::Column::Id,
            webhook_delivery::Column::NextAttemptAt,
        )
        .await?;
        out.push(depth("webhook_deliveries", Some(livemode), now, deliveries));
        let settlements = charge::Entity::find()
            .filter(charge::Column::Livemode.eq(livemode))
            .filter(charge::Column::Settled.eq(false))
            .filter(charge::Column::Captured.eq(true))
            .filter(charge::Column::AvailableOn.lte(now));
        let settlements = count_and_oldest(
            db,
            settlements,
            charge::Column::Id,
            charge::Column::AvailableOn,
        )
        .await?;
        out.push(depth("settlements", Some(livemode), now, settlements));
        let payouts = payout::Entity::find()
            .filter(payout::Column::Livemode.eq(livemode))
            .filter(payout::Column::Status.eq(PayoutStatus::Pending));
        let payouts =
            count_and_oldest(db, payouts, payout::Column::Id, payout::Column::CreatedAt).await?;
        out.push(depth("payouts_pending", Some(livemode), now, payouts));
    }
    // The email outbox runs on the wall clock.
    let now = Utc::now();
    let emails = email::Entity::find()
        .filter(email::Column::Status.eq(email::EmailStatus::Pending))
        .filter(email::Column::NextAttemptAt.lte(now));
    let emails =
        count_and_oldest(db, emails, email::Column::Id, email::Column::NextAttemptAt).await?;
    out.push(depth("emails", None, now, emails));
    Ok(out)
}

/// Payouts of the mode that failed within `window` of its clock: what the "payouts failing"
/// alert watches. Failed payouts are few; the status index finds them.
pub async fn failed_payouts(
    db: &impl ConnectionTrait,
    livemode: bool,
    window: chrono::Duration,
) -> Result<i64, DbErr> {
    let now = clock::now(db, livemode).await?;
    let n = payout::Entity::find()
        .select_only()
        .column_as(Expr::col(payout::Column::Id).count(), "n")
        .filter(payout::Column::Livemode.eq(livemode))
        .filter(payout::Column::Status.eq(PayoutStatus::Failed))
        .filter(payout::Column::UpdatedAt.gte(now - window))
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(n.unwrap_or(0))
}
