//! The payout operations the API asks for one at a time: move a payout (cancel, and the test
//! helpers' pay and fail), change a seller's payout settings, mark a batch sent, and the rows
//! of a payout's reconciliation report. Each runs in the caller's transaction at the mode's
//! clock and records its event there.

use crate::infra::events::EventType;
use agora_onboarding::seal::Sealer;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::infra::wire::typed::{AccountId, PayoutBatchId, PayoutId};

use super::entity::{payout_batch, payout_settings};
use super::view::PayoutSettingsObject;
use super::{
    parse_weekday, queue_notice, reconciliation_condition, scoped_batches, settings, transition,
    Outcome, Payout, PayoutBatch, PayoutError, PayoutSettings,
};
use crate::domain::payments::{scoped_balance_transactions, BalanceTransaction};
use crate::infra::config::Config;
use crate::infra::events::{self, NewEvent, Origin};

/// Moves a payout to `outcome` in the caller's transaction (with its ledger entry, balance
/// transaction and events) and queues the seller's email in the same transaction, so it goes
/// out once the move has committed.
pub async fn move_payout(
    txn: &impl ConnectionTrait,
    config: &Config,
    sealer: &Sealer,
    livemode: bool,
    id: PayoutId,
    outcome: Outcome,
    origin: &Origin,
) -> Result<Payout, PayoutError> {
    let now = crate::infra::clock::now(txn, livemode).await?;
    let (after, notice) = transition(txn, livemode, now, id, outcome, origin).await?;
    if let Some(n) = notice {
        queue_notice(txn, config, sealer, &n).await?;
    }
    Ok(after)
}

/// A payout schedule as asked (`schedule`), checked here.
#[derive(Debug, Clone)]
pub struct ScheduleChange {
    pub interval: String,
    pub weekly_anchor: Option<String>,
    pub monthly_anchor: Option<i64>,
    pub delay_days: Option<i64>,
}

/// A change to a seller's payout settings: schedule, the operator's pause.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub schedule: Option<ScheduleChange>,
    pub paused: Option<bool>,
}

fn bad_schedule(param: &'static str, message: &str) -> PayoutError {
    PayoutError::invalid(param, "parameter_invalid", message.to_owned())
}

/// Validates a schedule; returns the weekly and monthly anchors to store.
fn check_schedule(s: &ScheduleChange) -> Result<(Option<String>, Option<i32>), PayoutError> {
    match s.interval.as_str() {
        "manual" | "daily" => {
            if s.weekly_anchor.is_some() || s.monthly_anchor.is_some() {
                return Err(bad_schedule(
                    "schedule.interval",
                    "anchors belong to weekly and monthly schedules",
                ));
            }
            Ok((None, None))
        }
        "weekly" => {
            let Some(a) = s.weekly_anchor.as_deref() else {
                return Err(bad_schedule(
                    "schedule.weekly_anchor",
                    "weekly schedules need weekly_anchor (monday to friday)",
                ));
            };
            if parse_weekday(a).is_none() || s.monthly_anchor.is_some() {
                return Err(bad_schedule(
                    "schedule.weekly_anchor",
                    "weekly_anchor must be monday, tuesday, wednesday, thursday or friday",
                ));
            }
            Ok((Some(a.to_owned()), None))
        }
        "monthly" => match s.monthly_anchor {
            Some(d) if (1..=31).contains(&d) && s.weekly_anchor.is_none() => {
                Ok((None, i32::try_from(d).ok()))
            }
            _ => Err(bad_schedule(
                "schedule.monthly_anchor",
                "monthly schedules need monthly_anchor from 1 to 31",
            )),
        },
        _ => Err(bad_schedule(
            "schedule.interval",
            "interval must be manual, daily, weekly or monthly",
        )),
    }
}

/// Applies a payout-settings change (schedule, pause) to an account; returns the settings
/// before and after, or None when the account is not in this mode. Shared by
/// `POST /v1/accounts/{id}/payout_settings` ([`update_settings`]) and the `settings.payouts`
/// parameter of `POST /v1/accounts/{id}`.
pub async fn change_settings(
    txn: &impl ConnectionTrait,
    livemode: bool,
    id: AccountId,
    change: &SettingsChange,
) -> Result<Option<(PayoutSettings, PayoutSettings)>, PayoutError> {
    let Some(before) = settings(txn, livemode, id.uuid()).await? else {
        return Ok(None);
    };
    // The settlement delay is a charge's too (its cached sellers: infra::cache).
    crate::infra::cache::ACCOUNTS.bump();
    let mut update = payout_settings::Entity::update_many();
    if let Some(s) = &change.schedule {
        let (weekly, monthly) = check_schedule(s)?;
        let delay = match s.delay_days {
            None => None,
            Some(d) if (0..=i64::from(agora_payouts::schedule::MAX_DELAY_DAYS)).contains(&d) => {
                Some(i32::try_from(d).unwrap_or(0))
            }
            Some(_) => {
                return Err(PayoutError::invalid(
                    "schedule.delay_days",
                    "parameter_invalid",
                    "delay_days must be between 0 and 365",
                ))
            }
        };
        update = update
            .col_expr(
                payout_settings::Column::PayoutInterval,
                Expr::value(s.interval.clone()),
            )
            .col_expr(
                payout_settings::Column::PayoutWeeklyAnchor,
                Expr::value(weekly),
            )
            .col_expr(
                payout_settings::Column::PayoutMonthlyAnchor,
                Expr::value(monthly),
            )
            .col_expr(payout_settings::Column::PayoutDelayDays, Expr::value(delay));
    }
    if let Some(p) = change.paused {
        update = update.col_expr(payout_settings::Column::PayoutsPaused, Expr::value(p));
    }
    if change.schedule.is_some() || change.paused.is_some() {
        update
            .filter(payout_settings::Column::Id.eq(id))
            .filter(payout_settings::Column::Livemode.eq(livemode))
            .exec(txn)
            .await?;
    }
    Ok(settings(txn, livemode, id.uuid())
        .await?
        .map(|after| (before, after)))
}

/// [`change_settings`], recording `account.payout_settings.updated` when anything changed.
/// None when the account is not in this mode.
pub async fn update_settings(
    txn: &impl ConnectionTrait,
    livemode: bool,
    id: AccountId,
    change: &SettingsChange,
    origin: &Origin,
) -> Result<Option<PayoutSettings>, PayoutError> {
    let Some((before, after)) = change_settings(txn, livemode, id, change).await? else {
        return Ok(None);
    };
    if after != before {
        let object = PayoutSettingsObject::json(&after)?;
        let previous = events::previous_attributes(&PayoutSettingsObject::json(&before)?, &object);
        events::record(
            txn,
            NewEvent {
                livemode,
                account_id: Some(id.uuid()),
                kind: EventType::AccountPayoutSettingsUpdated,
                object,
                previous_attributes: Some(previous),
            },
            origin,
        )
        .await?;
    }
    Ok(Some(after))
}

/// A batch of this mode.
pub async fn find_batch(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: PayoutBatchId,
) -> Result<Option<PayoutBatch>, PayoutError> {
    Ok(crate::infra::db::page::find_by_id(db, scoped_batches(livemode), id.uuid()).await?)
}

/// Marks a batch handed to the bank (`created` → `sent`, once), at the mode's clock.
pub async fn mark_batch_sent(
    txn: &impl ConnectionTrait,
    livemode: bool,
    id: PayoutBatchId,
) -> Result<PayoutBatch, PayoutError> {
    let now = crate::infra::clock::now(txn, livemode).await?;
    let done = payout_batch::Entity::update_many()
        .col_expr(
            payout_batch::Column::Status,
            Expr::value(payout_batch::BatchStatus::Sent.as_str()),
        )
        .col_expr(payout_batch::Column::SentAt, Expr::value(now))
        .filter(payout_batch::Column::Id.eq(id))
        .filter(payout_batch::Column::Livemode.eq(livemode))
        .filter(payout_batch::Column::Status.eq(payout_batch::BatchStatus::Created))
        .exec(txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(PayoutError::state(
            "payout_batch_already_sent",
            "this batch is already marked sent",
        ));
    }
    find_batch(txn, livemode, id)
        .await?
        .ok_or_else(|| PayoutError::internal("batch vanished"))
}

/// Most balance transactions in one reconciliation report.
const MAX_RECONCILIATION_ROWS: u64 = 10_000;

/// The balance transactions a payout paid (see [`reconciliation_condition`]), oldest first,
/// at most 10,000.
pub async fn reconciliation_rows(
    db: &impl ConnectionTrait,
    p: &Payout,
) -> Result<Vec<BalanceTransaction>, PayoutError> {
    use crate::domain::payments::entity::balance_transaction::Column;
    Ok(
        scoped_balance_transactions(p.livemode, agora_ledger::Owner::Seller(p.account_id))
            .filter(reconciliation_condition(db, p).await?)
            .order_by_asc(Column::Id)
            .limit(MAX_RECONCILIATION_ROWS)
            .all(db)
            .await?,
    )
}
