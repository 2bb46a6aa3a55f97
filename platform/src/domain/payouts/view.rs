//! The API's view of a payout ([`PayoutObject`]), also what the `payout.*` events carry; of a
//! seller's payout settings ([`PayoutSettingsObject`], what
//! `account.payout_settings.updated` carries) and of a batch ([`PayoutBatchObject`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{Payout, PayoutBatch, PayoutError, PayoutSettings};
use crate::infra::wire::ids::{self, IdKind};

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutObject {
    #[schema(example = "po_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "payout")]
    pub object: &'static str,
    pub livemode: bool,
    pub created: String,
    /// The seller paid (`acct_…`).
    pub account: String,
    /// Minor units that reach the bank account.
    pub amount: i64,
    /// Instant payout fee, taken from the balance on top of `amount`.
    pub fee: i64,
    pub currency: String,
    /// The bank account (`ba_…`).
    pub destination: String,
    /// `standard` or `instant`.
    pub method: String,
    /// `pending`, `in_transit`, `paid`, `failed` or `canceled`.
    pub status: String,
    /// `sepa`, `ach`, `uk_faster_payments`, `uk_bacs` or `other`.
    pub rail: String,
    /// `YYYY-MM-DD`, in the rail's calendar.
    pub arrival_date: String,
    /// `true` for payouts made by the schedule.
    pub automatic: bool,
    pub failure_code: Option<String>,
    /// The batch (`pob_…`) whose bank file carries it.
    pub batch: Option<String>,
    /// For a payout converted from another currency: what left the balance, in which
    /// currency, at which mid rate (units of `currency` per unit of `source_currency`) and
    /// markup (a fraction: `0.005` = 0.5 %).
    pub source_amount: Option<i64>,
    pub source_currency: Option<String>,
    pub exchange_rate: Option<String>,
    pub fx_markup: Option<String>,
}

impl PayoutObject {
    pub fn from_model(p: &Payout) -> Self {
        Self {
            id: ids::encode(IdKind::Payout, p.id),
            object: "payout",
            livemode: p.livemode,
            created: crate::infra::wire::timestamp(p.created_at),
            account: ids::encode(IdKind::Account, p.account_id),
            amount: p.amount,
            fee: p.fee,
            currency: p.currency.clone(),
            destination: ids::encode(IdKind::ExternalAccount, p.external_account_id),
            method: p.method.clone(),
            status: p.status.as_str().to_owned(),
            rail: p.rail.clone(),
            arrival_date: p.arrival_date.clone(),
            automatic: p.period_key.is_some(),
            failure_code: p.failure_code.clone(),
            batch: p.batch_id.map(|b| ids::encode(IdKind::PayoutBatch, b)),
            source_amount: p.source_amount,
            source_currency: p.source_currency.clone(),
            exchange_rate: p.fx_rate.clone(),
            fx_markup: p.fx_markup.clone(),
        }
    }

    pub fn json(p: &Payout) -> Result<Value, PayoutError> {
        serde_json::to_value(Self::from_model(p)).map_err(PayoutError::internal)
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleObject {
    /// `manual` (default), `daily`, `weekly` or `monthly`.
    pub interval: String,
    /// `monday` … `friday`, for weekly.
    pub weekly_anchor: Option<String>,
    /// 1 … 31 (29–31 mean the month's last day when shorter), for monthly.
    pub monthly_anchor: Option<i32>,
    /// Days funds stay in the balance after they became available before a scheduled payout
    /// takes them (0–365; default 0).
    pub delay_days: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutSettingsObject {
    #[schema(example = "payout_settings")]
    pub object: &'static str,
    pub account: String,
    pub schedule: ScheduleObject,
    /// The operator's stop: no payouts, manual or scheduled, while true.
    pub paused: bool,
}

impl PayoutSettingsObject {
    pub fn from_model(s: &PayoutSettings) -> Self {
        PayoutSettingsObject {
            object: "payout_settings",
            account: ids::encode(IdKind::Account, s.id),
            schedule: ScheduleObject {
                interval: s.payout_interval.clone(),
                weekly_anchor: s.payout_weekly_anchor.clone(),
                monthly_anchor: s.payout_monthly_anchor,
                delay_days: s.payout_delay_days,
            },
            paused: s.payouts_paused,
        }
    }

    pub fn json(s: &PayoutSettings) -> Result<Value, PayoutError> {
        serde_json::to_value(Self::from_model(s)).map_err(PayoutError::internal)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutBatchObject {
    #[schema(example = "pob_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "payout_batch")]
    pub object: &'static str,
    pub livemode: bool,
    pub created: String,
    pub rail: String,
    pub currency: String,
    /// `created` (file written) or `sent` (handed to the bank).
    pub status: String,
    pub file_name: String,
    pub entry_count: i32,
    pub total: i64,
    pub sent_at: Option<String>,
    /// SHA-256 (hex) of the bank file as written: what `GET …/file` serves matches it (null
    /// for a batch from before checksums were recorded).
    pub file_sha256: Option<String>,
    /// When the file was deleted, `bank_file_retention_days` after `sent_at`; `GET …/file`
    /// then answers 410 `bank_file_expired`.
    pub file_deleted_at: Option<String>,
}

impl PayoutBatchObject {
    pub fn from_model(b: &PayoutBatch) -> Self {
        Self {
            id: ids::encode(IdKind::PayoutBatch, b.id),
            object: "payout_batch",
            livemode: b.livemode,
            created: crate::infra::wire::timestamp(b.created_at),
            rail: b.rail.clone(),
            currency: b.currency.clone(),
            status: b.status.as_str().to_owned(),
            file_name: b.file_name.clone(),
            entry_count: b.entry_count,
            total: b.total,
            sent_at: b.sent_at.map(crate::infra::wire::timestamp),
            file_sha256: b.file_sha256.clone(),
            file_deleted_at: b.file_deleted_at.map(crate::infra::wire::timestamp),
        }
    }
}
