//! Payouts: money leaving a seller's available balance for their bank account.
//!
//! Ledger (DESIGN.md): created `Dr seller.available · Cr platform.payouts_in_transit` (a
//! guarded line: the seller's available balance never goes below zero, also when payouts and
//! refunds race, because the guard is a condition of the balance UPDATE itself); paid
//! `Dr payouts_in_transit · Cr bank`; failed or canceled `Dr payouts_in_transit ·
//! Cr seller.available`. An instant payout's fee is debited with the amount and credited to
//! the platform's available balance; a failure returns both.
//!
//! Every state change is a conditional UPDATE on the payout's status, so two workers (or an
//! import racing a cancel) cannot move one payout twice; ledger entries are keyed per payout
//! and transition as a second line of defence. The scheduler's payouts carry a period key with
//! a UNIQUE index, so concurrent runs create each scheduled payout once.

pub mod entity;
pub mod files;
pub mod fx;
pub mod manage;
pub mod view;

use crate::infra::events::EventType;
use agora_ledger::journal::{self, Owner};
use agora_ledger::{AccountKind, AccountRef, Currency, LedgerError, LineSpec, Money, NewEntry};
use agora_onboarding::kyc::entities::external_account;
use agora_payouts::{arrival_date, Calendar, FailureCode, Interval, Method, Rail, Schedule};
use chrono::{DateTime, NaiveDate, Utc, Weekday};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set, TransactionTrait,
};
use uuid::Uuid;

use crate::infra::wire::typed::{AccountId, ExternalAccountId, PayoutBatchId, PayoutId};

use crate::domain::payments::entity::balance_transaction;
use crate::infra::config::Config;
use crate::infra::events::{self, NewEvent, Origin};

pub use entity::payout::Model as Payout;
pub use entity::payout_batch::Model as PayoutBatch;
pub use entity::payout_settings::Model as PayoutSettings;
pub use entity::PayoutStatus;
use entity::{payout, payout_batch, payout_settings};
pub use manage::{
    change_settings, find_batch, mark_batch_sent, move_payout, reconciliation_rows,
    update_settings, ScheduleChange, SettingsChange,
};

/// Largest payout, minor units (as for charges).
pub const MAX_AMOUNT: i64 = crate::domain::payments::MAX_AMOUNT;

/// What the payout service refuses or fails at. The adapters map it to HTTP once
/// (`api/errors.rs`); the codes, params and messages are the API's.
#[derive(Debug)]
pub enum PayoutError {
    /// A parameter is wrong: `param` names it as the caller wrote it.
    Invalid {
        param: String,
        code: &'static str,
        message: String,
    },
    /// The request is well formed but the state refuses it (`account_payouts_disabled`,
    /// `payout_status_invalid`, an unreadable bank answer, …).
    State {
        code: &'static str,
        message: String,
    },
    /// The payout `id` does not exist in this mode.
    NotFound {
        what: &'static str,
        id: Uuid,
    },
    /// What was asked for existed but is gone for good (a bank file past its retention).
    Gone {
        code: &'static str,
        message: String,
    },
    /// A stored file is not what was written (its checksum differs): refused, never served.
    Integrity {
        code: &'static str,
        message: String,
    },
    /// Re-evaluating the seller after a failed payout.
    Kyc(crate::domain::kyc::KycError),
    /// Queueing the seller's email.
    Email(crate::infra::email::EmailError),
    Db(DbErr),
    /// A stored value cannot be read, a file not written; never the caller's fault.
    Internal(String),
}

impl PayoutError {
    pub fn invalid(
        param: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        PayoutError::Invalid {
            param: param.into(),
            code,
            message: message.into(),
        }
    }

    pub fn state(code: &'static str, message: impl Into<String>) -> Self {
        PayoutError::State {
            code,
            message: message.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        PayoutError::Internal(cause.to_string())
    }
}

impl std::fmt::Display for PayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayoutError::Invalid { code, message, .. } | PayoutError::State { code, message } => {
                write!(f, "{code}: {message}")
            }
            PayoutError::NotFound { what, id } => write!(f, "no such {what}: {id}"),
            PayoutError::Gone { code, message } | PayoutError::Integrity { code, message } => {
                write!(f, "{code}: {message}")
            }
            PayoutError::Kyc(e) => e.fmt(f),
            PayoutError::Email(e) => e.fmt(f),
            PayoutError::Db(e) => write!(f, "database: {e}"),
            PayoutError::Internal(e) => write!(f, "internal: {e}"),
        }
    }
}

/// What a run's report says for a seller whose payout failed on our side (the cause is in
/// the log): the API's words for a 500.
const INTERNAL_MESSAGE: &str = "Something went wrong on our side. Retry with the same Idempotency-Key; if it keeps happening, contact the operator with the request id.";

impl PayoutError {
    /// For a refusal (what the API answers with a 4xx), its code and message: the payout run
    /// reports those per seller and goes on; anything else stops the run.
    pub fn refusal(&self) -> Option<(&'static str, String)> {
        match self {
            PayoutError::Invalid { code, message, .. } | PayoutError::State { code, message } => {
                Some((code, message.clone()))
            }
            PayoutError::NotFound { what, id } => Some((
                "resource_missing",
                format!(
                    "No such {what}: '{}'",
                    crate::infra::wire::ids::encode(crate::infra::wire::ids::IdKind::Payout, *id)
                ),
            )),
            PayoutError::Kyc(crate::domain::kyc::KycError::Invalid { code, message, .. }) => {
                Some((code, message.clone()))
            }
            PayoutError::Kyc(crate::domain::kyc::KycError::Missing { what, id, .. }) => Some((
                "resource_missing",
                format!(
                    "No such {what}: '{}'",
                    id.chars().take(64).collect::<String>()
                ),
            )),
            _ => None,
        }
    }
}

impl std::error::Error for PayoutError {}

impl From<DbErr> for PayoutError {
    fn from(err: DbErr) -> Self {
        PayoutError::Db(err)
    }
}

impl From<crate::domain::kyc::KycError> for PayoutError {
    fn from(err: crate::domain::kyc::KycError) -> Self {
        PayoutError::Kyc(err)
    }
}

impl From<crate::infra::email::EmailError> for PayoutError {
    fn from(err: crate::infra::email::EmailError) -> Self {
        PayoutError::Email(err)
    }
}
/// Accounts the scheduler looks at per page, and most pages per run (per pass: the payable
/// accounts, then, when explaining, the others): a run is bounded, and what it does not reach
/// it reaches on the next run (each run is idempotent per period).
const RUN_PAGE: u64 = 500;
const RUN_MAX_PAGES: usize = 200;

pub fn scoped(livemode: bool) -> Select<payout::Entity> {
    payout::Entity::find().filter(payout::Column::Livemode.eq(livemode))
}

pub fn scoped_batches(livemode: bool) -> Select<payout_batch::Entity> {
    payout_batch::Entity::find().filter(payout_batch::Column::Livemode.eq(livemode))
}

pub async fn find(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: PayoutId,
) -> Result<Option<Payout>, PayoutError> {
    Ok(scoped(livemode)
        .filter(payout::Column::Id.eq(id))
        .one(db)
        .await?)
}

/// A payout the viewer may see: the platform any of the mode's, a seller (`viewer`) its own.
pub async fn find_for(
    db: &impl ConnectionTrait,
    livemode: bool,
    viewer: Option<AccountId>,
    id: PayoutId,
) -> Result<Option<Payout>, PayoutError> {
    Ok(find(db, livemode, id)
        .await?
        .filter(|p| viewer.is_none_or(|a| a.uuid() == p.account_id)))
}

/// `GET /v1/payouts`.
#[derive(Debug, Default)]
pub struct PayoutFilter {
    /// The seller acting through `Agora-Account`: only its own payouts.
    pub viewer: Option<AccountId>,
    pub account: Option<AccountId>,
    pub status: Option<PayoutStatus>,
    pub batch: Option<PayoutBatchId>,
}

pub fn query(livemode: bool, f: &PayoutFilter) -> Select<payout::Entity> {
    let mut select = scoped(livemode);
    for seller in [f.viewer, f.account].into_iter().flatten() {
        select = select.filter(payout::Column::AccountId.eq(seller));
    }
    if let Some(s) = f.status {
        select = select.filter(payout::Column::Status.eq(s));
    }
    if let Some(b) = f.batch {
        select = select.filter(payout::Column::BatchId.eq(b));
    }
    select
}

pub async fn settings(
    db: &impl ConnectionTrait,
    livemode: bool,
    account: Uuid,
) -> Result<Option<PayoutSettings>, PayoutError> {
    Ok(payout_settings::Entity::find()
        .filter(payout_settings::Column::Livemode.eq(livemode))
        .filter(payout_settings::Column::Id.eq(account))
        .one(db)
        .await?)
}

pub fn method_str(m: Method) -> &'static str {
    match m {
        Method::Standard => "standard",
        Method::Instant => "instant",
    }
}

pub fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "monday" => Weekday::Mon,
        "tuesday" => Weekday::Tue,
        "wednesday" => Weekday::Wed,
        "thursday" => Weekday::Thu,
        "friday" => Weekday::Fri,
        _ => return None,
    })
}

/// The account's schedule, or None when it is manual (or, defensively, unreadable).
pub fn schedule_of(s: &PayoutSettings) -> Option<Schedule> {
    let interval = match s.payout_interval.as_str() {
        "daily" => Interval::Daily,
        "weekly" => Interval::Weekly(parse_weekday(s.payout_weekly_anchor.as_deref()?)?),
        "monthly" => Interval::Monthly(u8::try_from(s.payout_monthly_anchor?).ok()?),
        _ => return None,
    };
    let delay = u32::try_from(s.payout_delay_days.unwrap_or(0)).ok()?;
    Schedule::new(interval, delay).ok()
}

/// The rail a bank account is paid on: EUR to an IBAN → SEPA, USD to a US account → ACH,
/// GBP to a UK account → Faster Payments (instant) or Bacs (standard), else `Other` (a CSV
/// file for the platform's bank).
pub fn rail_for(bank: &external_account::Model, currency: Currency, method: Method) -> Rail {
    match (currency.code(), bank.kind.as_str(), bank.country.as_str()) {
        ("EUR", "iban", _) => Rail::Sepa,
        ("USD", "us_aba", "US") => Rail::Ach,
        ("GBP", "gb_sort_code", "GB") => match method {
            Method::Instant => Rail::UkFasterPayments,
            Method::Standard => Rail::UkBacs,
        },
        _ => Rail::Other,
    }
}

pub fn parse_rail(s: &str) -> Rail {
    Rail::ALL
        .into_iter()
        .find(|r| r.as_str() == s)
        .unwrap_or(Rail::Other)
}

/// The payout day at `now` in the platform's `payout_timezone` (validated at start; UTC if it
/// somehow does not parse).
pub fn local_date(config: &Config, now: DateTime<Utc>) -> NaiveDate {
    config
        .payout_timezone
        .parse::<chrono_tz::Tz>()
        .map_or(now.date_naive(), |tz| now.with_timezone(&tz).date_naive())
}

/// The smallest payout in `currency`, minor units.
/// The smallest payout in `currency`, in minor units: `payout_minimums` when it names the
/// currency, else `payout_minimum_major` major units.
pub fn minimum(config: &Config, currency: Currency) -> i64 {
    let code = currency.api_code();
    config
        .payout_minimums
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&code))
        .map(|(_, v)| *v)
        .unwrap_or_else(|| {
            i64::from(config.payout_minimum_major)
                .saturating_mul(10_i64.saturating_pow(currency.exponent()))
        })
}

/// The instant fee on `amount`: the configured percent, rounded up to the minor unit.
pub fn instant_fee(config: &Config, amount: i64) -> Result<i64, PayoutError> {
    let fee =
        (Decimal::from(amount) * config.payout_instant_fee_percent / Decimal::ONE_HUNDRED).ceil();
    fee.to_i64()
        .ok_or_else(|| PayoutError::internal("instant fee overflow"))
}

fn invalid(param: &str, code: &'static str, message: impl Into<String>) -> PayoutError {
    PayoutError::invalid(param, code, message)
}

fn stored_currency(code: &str) -> Result<Currency, PayoutError> {
    Currency::parse(code).map_err(PayoutError::internal)
}

/// A seller's live (not deleted) bank accounts in this mode.
async fn banks_of(
    db: &impl ConnectionTrait,
    livemode: bool,
    account: Uuid,
) -> Result<Vec<external_account::Model>, PayoutError> {
    Ok(external_account::Entity::find()
        .filter(external_account::Column::Livemode.eq(livemode))
        .filter(external_account::Column::AccountId.eq(account))
        .filter(external_account::Column::DeletedAt.is_null())
        .order_by_desc(external_account::Column::Id)
        .limit(100)
        .all(db)
        .await?)
}

/// A payout to a bank account in another currency than the balance's.
#[derive(Debug, Clone, Copy)]
struct Conversion {
    to: Currency,
    /// The reference (mid) rate, `to` per unit of the source currency.
    mid: Decimal,
    /// The platform's markup as a fraction (0.005 for 0.5 %).
    markup: Decimal,
    /// What reaches the bank, in `to`.
    amount_minor: i64,
}

/// Converts `amount` in `from` for `bank` at the latest reference rate less the platform's
/// markup, rounded down (the seller never gets more than the quote); refused as a payout
/// request is when there is no recent rate or the result is below the bank currency's minimum.
async fn conversion(
    db: &impl ConnectionTrait,
    config: &Config,
    now: DateTime<Utc>,
    amount: i64,
    from: Currency,
    bank: &external_account::Model,
) -> Result<Conversion, PayoutError> {
    let code = from.api_code();
    let to = stored_currency(&bank.currency)?;
    let unavailable = || {
        invalid(
            "destination",
            "fx_rate_unavailable",
            format!(
                "no recent exchange rate from {code} to {}; import the reference rates \
                 (agora payouts fx-import)",
                bank.currency
            ),
        )
    };
    let day = fx::latest(db, now.date_naive())
        .await?
        .ok_or_else(unavailable)?;
    let mid = day.cross_rate(from, to).map_err(|_| unavailable())?;
    let markup = config.payout_fx_markup_percent / Decimal::ONE_HUNDRED;
    let c = agora_payouts::convert(amount, from, to, mid, markup)
        .map_err(|e| invalid("amount", "amount_invalid", format!("cannot convert: {e}")))?;
    if c.amount_minor < minimum(config, to) {
        return Err(invalid(
            "amount",
            "amount_too_small",
            format!(
                "converted, the payout is below the smallest in {}",
                bank.currency
            ),
        ));
    }
    Ok(Conversion {
        to,
        mid,
        markup,
        amount_minor: c.amount_minor,
    })
}

#[derive(Debug, Clone)]
pub struct NewPayout {
    pub account: AccountId,
    /// What leaves the seller's available balance, in its currency (before any conversion).
    pub amount: Money,
    /// A bank account of the seller; None: its default for the currency.
    pub destination: Option<ExternalAccountId>,
    pub method: Method,
    /// The scheduler's period; None for a manual payout.
    pub period_key: Option<String>,
}

/// Creates a payout and moves its money out of the seller's available balance, in the
/// caller's transaction. `Ok(None)` only when a scheduled payout of this period already
/// exists. On error the caller must roll back.
pub async fn create(
    db: &impl ConnectionTrait,
    config: &Config,
    livemode: bool,
    now: DateTime<Utc>,
    submitted_at: DateTime<Utc>,
    new: NewPayout,
    origin: &Origin,
) -> Result<Option<Payout>, PayoutError> {
    if new.amount.amount_minor <= 0 || new.amount.amount_minor > MAX_AMOUNT {
        return Err(invalid(
            "amount",
            "amount_invalid",
            format!("amount must be between 1 and {MAX_AMOUNT} minor units"),
        ));
    }
    let account = settings(db, livemode, new.account.uuid())
        .await?
        .ok_or_else(|| {
            invalid(
                "account",
                "resource_missing",
                "no such connected account in this mode",
            )
        })?;
    if account.rejected_reason.is_some() {
        return Err(PayoutError::state(
            "account_rejected",
            "the connected account was rejected and cannot be paid out",
        ));
    }
    if !account.payouts_enabled {
        return Err(PayoutError::state(
            "account_payouts_disabled",
            "payouts are not enabled for this account: see its requirements",
        ));
    }
    if account.payouts_paused {
        return Err(PayoutError::state(
            "account_payouts_paused",
            "payouts to this account are paused by the platform",
        ));
    }
    let code = new.amount.currency.api_code();
    let banks = banks_of(db, livemode, new.account.uuid()).await?;
    let bank = match new.destination {
        Some(id) => banks.iter().find(|b| b.id == id.uuid()).ok_or_else(|| {
            invalid(
                "destination",
                "resource_missing",
                "no such bank account on this connected account",
            )
        })?,
        None => banks
            .iter()
            .find(|b| b.currency == code && b.default_for_currency)
            .ok_or_else(|| {
                invalid(
                    "currency",
                    "no_default_bank_account",
                    format!("the account has no bank account for {code}"),
                )
            })?,
    };
    let conversion = if bank.currency != code {
        Some(
            conversion(
                db,
                config,
                now,
                new.amount.amount_minor,
                new.amount.currency,
                bank,
            )
            .await?,
        )
    } else {
        None
    };
    // What reaches the bank, in the bank account's currency.
    let (paid_currency, paid_amount) = match conversion {
        Some(c) => (c.to, c.amount_minor),
        None => (new.amount.currency, new.amount.amount_minor),
    };
    if bank.status == agora_onboarding::kyc::entities::external_account::BankAccountStatus::Errored
    {
        return Err(invalid(
            "destination",
            "bank_account_unusable",
            "the last payout to this bank account failed; add or fix a bank account",
        ));
    }
    let min = minimum(config, new.amount.currency);
    if new.amount.amount_minor < min {
        return Err(invalid(
            "amount",
            "amount_too_small",
            format!(
                "the smallest payout in {code} is {}",
                agora_payouts::csv_file::format_minor(min, new.amount.currency)
            ),
        ));
    }
    let rail = rail_for(bank, paid_currency, new.method);
    let fee = match new.method {
        Method::Standard => 0,
        Method::Instant => {
            if !matches!(rail, Rail::UkFasterPayments | Rail::Sepa) {
                return Err(invalid(
                    "method",
                    "instant_unsupported",
                    "instant payouts go only to GBP accounts in the UK and EUR IBANs",
                ));
            }
            instant_fee(config, new.amount.amount_minor)?
        }
    };
    let id = Uuid::now_v7();
    let arrival = arrival_date(rail, new.method, submitted_at);
    let row = payout::ActiveModel {
        id: Set(id),
        livemode: Set(livemode),
        account_id: Set(new.account.uuid()),
        external_account_id: Set(bank.id),
        amount: Set(paid_amount),
        fee: Set(fee),
        currency: Set(paid_currency.api_code()),
        method: Set(method_str(new.method).to_owned()),
        status: Set(PayoutStatus::Pending),
        rail: Set(rail.as_str().to_owned()),
        arrival_date: Set(arrival.format("%Y-%m-%d").to_string()),
        period_key: Set(new.period_key.clone()),
        source_amount: Set(conversion.map(|_| new.amount.amount_minor)),
        source_currency: Set(conversion.map(|_| code.clone())),
        fx_rate: Set(conversion.map(|c| c.mid.normalize().to_string())),
        fx_markup: Set(conversion.map(|c| c.markup.normalize().to_string())),
        failure_code: Set(None),
        batch_id: Set(None),
        entry_id: Set(None),
        resolution_entry_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    // The row first: for a scheduled payout the unique period key decides, before any money
    // moves, whether this run is the one that creates it.
    let inserted = payout::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                payout::Column::Livemode,
                payout::Column::AccountId,
                payout::Column::Currency,
                payout::Column::PeriodKey,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if inserted == 0 {
        return Ok(None);
    }
    let mut lines = vec![LineSpec::debit(
        AccountRef::seller(
            new.account.uuid(),
            AccountKind::Available,
            new.amount.currency,
        ),
        new.amount.amount_minor + fee,
    )
    .guarded()];
    if conversion.is_some() {
        // DESIGN.md: Dr seller.available (src) · Cr fx (src); Dr fx (dst) · Cr in transit (dst).
        lines.push(LineSpec::credit(
            AccountRef::platform(AccountKind::Fx, new.amount.currency),
            new.amount.amount_minor,
        ));
        lines.push(LineSpec::debit(
            AccountRef::platform(AccountKind::Fx, paid_currency),
            paid_amount,
        ));
    }
    lines.push(LineSpec::credit(
        AccountRef::platform(AccountKind::PayoutsInTransit, paid_currency),
        paid_amount,
    ));
    if fee > 0 {
        lines.push(LineSpec::credit(
            AccountRef::platform(AccountKind::Available, new.amount.currency),
            fee,
        ));
    }
    let posted = match journal::post(
        db,
        livemode,
        NewEntry {
            key: format!("payout:{id}"),
            kind: "payout".to_owned(),
            source_id: Some(id),
            pending: false,
            lines,
            effective_at: now,
        },
    )
    .await
    {
        Ok(p) => p,
        Err(LedgerError::InsufficientFunds(_)) => {
            return Err(invalid(
                "amount",
                "balance_insufficient",
                "the account's available balance in this currency is too low for this payout",
            ))
        }
        Err(e) => return Err(PayoutError::internal(e)),
    };
    payout::Entity::update_many()
        .col_expr(payout::Column::EntryId, Expr::value(posted.entry.id))
        .filter(payout::Column::Id.eq(id))
        .exec(db)
        .await?;
    record_bt(
        db,
        livemode,
        new.account.uuid(),
        &code,
        "payout",
        -new.amount.amount_minor,
        fee,
        id,
        now,
    )
    .await?;
    let created = find(db, livemode, PayoutId::from_uuid(id))
        .await?
        .ok_or_else(|| PayoutError::internal("payout vanished"))?;
    event(db, EventType::PayoutCreated, &created, None, origin, now).await?;
    Ok(Some(created))
}

#[allow(clippy::too_many_arguments)]
async fn record_bt(
    db: &impl ConnectionTrait,
    livemode: bool,
    owner: Uuid,
    currency: &str,
    kind: &str,
    amount: i64,
    fee: i64,
    payout: Uuid,
    now: DateTime<Utc>,
) -> Result<(), PayoutError> {
    balance_transaction::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(livemode),
        owner_id: Set(owner),
        kind: Set(kind.to_owned()),
        amount: Set(amount),
        fee: Set(fee),
        fee_tax: Set(0),
        net: Set(amount - fee),
        currency: Set(currency.to_owned()),
        available_on: Set(now),
        source_kind: Set("payout".to_owned()),
        source_id: Set(payout),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn event(
    db: &impl ConnectionTrait,
    kind: EventType,
    p: &Payout,
    previous: Option<serde_json::Value>,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<(), PayoutError> {
    let object = view::PayoutObject::json(p)?;
    events::record_at(
        db,
        NewEvent {
            livemode: p.livemode,
            account_id: Some(p.account_id),
            kind,
            object,
            previous_attributes: previous,
        },
        origin,
        now,
    )
    .await?;
    Ok(())
}

/// Where a payout goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handed to the bank in a batch file.
    InTransit(Uuid),
    Paid,
    Failed(FailureCode),
    Canceled,
}

impl Outcome {
    fn status(self) -> PayoutStatus {
        match self {
            Outcome::InTransit(_) => PayoutStatus::InTransit,
            Outcome::Paid => PayoutStatus::Paid,
            Outcome::Failed(_) => PayoutStatus::Failed,
            Outcome::Canceled => PayoutStatus::Canceled,
        }
    }

    fn allowed_from(self) -> &'static [PayoutStatus] {
        use PayoutStatus::{InTransit, Paid, Pending};
        match self {
            Outcome::InTransit(_) | Outcome::Canceled => &[Pending],
            Outcome::Paid => &[Pending, InTransit],
            // A return may come after the bank reported the payout as paid.
            Outcome::Failed(_) => &[Pending, InTransit, Paid],
        }
    }
}

/// An email to send once the change is committed.
#[derive(Debug, Clone)]
pub struct Notice {
    pub payout: Payout,
    pub to: String,
    pub locale: crate::infra::i18n::Locale,
}

/// Moves a payout to `outcome` in the caller's transaction, with its ledger entry, balance
/// transaction and event; a failure also marks the bank account errored and re-evaluates the
/// seller's requirements (so scheduled payouts stop until the seller fixes it). Returns the
/// payout and the email to send after commit, if any.
pub async fn transition(
    db: &impl ConnectionTrait,
    livemode: bool,
    now: DateTime<Utc>,
    id: PayoutId,
    outcome: Outcome,
    origin: &Origin,
) -> Result<(Payout, Option<Notice>), PayoutError> {
    let p = find(db, livemode, id).await?.ok_or(PayoutError::NotFound {
        what: "payout",
        id: id.uuid(),
    })?;
    let from = p.status;
    if !outcome.allowed_from().contains(&from) {
        return Err(PayoutError::state(
            "payout_status_invalid",
            format!(
                "a {} payout cannot become {}",
                from.as_str(),
                outcome.status().as_str()
            ),
        ));
    }
    let mut update = payout::Entity::update_many()
        .col_expr(
            payout::Column::Status,
            Expr::value(outcome.status().as_str()),
        )
        .col_expr(payout::Column::UpdatedAt, Expr::value(now));
    match outcome {
        Outcome::InTransit(batch) => {
            update = update.col_expr(payout::Column::BatchId, Expr::value(batch));
        }
        Outcome::Failed(code) => {
            update = update.col_expr(payout::Column::FailureCode, Expr::value(code.as_str()));
        }
        _ => {}
    }
    // The status the payout was read in is the condition: one writer wins.
    let claimed = update
        .filter(payout::Column::Id.eq(id))
        .filter(payout::Column::Status.eq(from))
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(PayoutError::state(
            "payout_status_invalid",
            "the payout changed meanwhile; retrieve it and retry",
        ));
    }
    let currency = stored_currency(&p.currency)?;
    let source_currency = p
        .source_currency
        .as_deref()
        .map(stored_currency)
        .transpose()?;
    let in_transit = AccountRef::platform(AccountKind::PayoutsInTransit, currency);
    let bank = AccountRef::platform(AccountKind::Bank, currency);
    let seller = AccountRef::seller(p.account_id, AccountKind::Available, currency);
    let platform = AccountRef::platform(AccountKind::Available, currency);
    let lines = match outcome {
        Outcome::InTransit(_) => vec![],
        Outcome::Paid => vec![
            LineSpec::debit(in_transit, p.amount),
            LineSpec::credit(bank, p.amount),
        ],
        Outcome::Failed(_) | Outcome::Canceled => {
            // From paid the money came back to the bank; before that it never left.
            let source = if from == PayoutStatus::Paid {
                bank
            } else {
                in_transit
            };
            let mut lines = vec![LineSpec::debit(source, p.amount)];
            match (source_currency, p.source_amount) {
                // Converted: the creation reversed exactly, so the seller gets back what left
                // its balance; the platform carries the FX risk (DESIGN.md).
                (Some(src), Some(src_amount)) => {
                    lines.push(LineSpec::credit(
                        AccountRef::platform(AccountKind::Fx, currency),
                        p.amount,
                    ));
                    lines.push(LineSpec::debit(
                        AccountRef::platform(AccountKind::Fx, src),
                        src_amount,
                    ));
                    lines.push(LineSpec::credit(
                        AccountRef::seller(p.account_id, AccountKind::Available, src),
                        src_amount + p.fee,
                    ));
                    if p.fee > 0 {
                        lines.push(LineSpec::debit(
                            AccountRef::platform(AccountKind::Available, src),
                            p.fee,
                        ));
                    }
                }
                _ => {
                    lines.push(LineSpec::credit(seller, p.amount + p.fee));
                    if p.fee > 0 {
                        lines.push(LineSpec::debit(platform, p.fee));
                    }
                }
            }
            lines
        }
    };
    if !lines.is_empty() {
        let posted = journal::post(
            db,
            livemode,
            NewEntry {
                key: format!("payout:{id}:{}", outcome.status().as_str()),
                kind: format!("payout.{}", outcome.status().as_str()),
                source_id: Some(id.uuid()),
                pending: false,
                lines,
                effective_at: now,
            },
        )
        .await
        .map_err(PayoutError::internal)?;
        payout::Entity::update_many()
            .col_expr(
                payout::Column::ResolutionEntryId,
                Expr::value(posted.entry.id),
            )
            .filter(payout::Column::Id.eq(id))
            .exec(db)
            .await?;
    }
    if matches!(outcome, Outcome::Failed(_) | Outcome::Canceled) {
        let kind = if outcome == Outcome::Canceled {
            "payout_cancel"
        } else {
            "payout_failure"
        };
        // In the currency that left the balance.
        let (bt_currency, bt_amount) = match (&p.source_currency, p.source_amount) {
            (Some(c), Some(a)) => (c.as_str(), a),
            _ => (p.currency.as_str(), p.amount),
        };
        record_bt(
            db,
            livemode,
            p.account_id,
            bt_currency,
            kind,
            bt_amount + p.fee,
            0,
            id.uuid(),
            now,
        )
        .await?;
    }
    if let Outcome::Failed(code) = outcome {
        mark_bank_errored(db, livemode, &p, code, now, origin).await?;
    }
    let after = find(db, livemode, id)
        .await?
        .ok_or_else(|| PayoutError::internal("payout vanished"))?;
    let kind = match outcome {
        Outcome::InTransit(_) => EventType::PayoutUpdated,
        Outcome::Paid => EventType::PayoutPaid,
        Outcome::Failed(_) => EventType::PayoutFailed,
        Outcome::Canceled => EventType::PayoutCanceled,
    };
    event(
        db,
        kind,
        &after,
        Some(serde_json::json!({"status": from.as_str()})),
        origin,
        now,
    )
    .await?;
    let notice = if matches!(outcome, Outcome::Paid | Outcome::Failed(_)) {
        settings(db, livemode, p.account_id).await?.and_then(|a| {
            // Swedish sellers read Swedish; everyone else English (the two we have).
            let locale = if a.country.eq_ignore_ascii_case("SE") {
                crate::infra::i18n::Locale::Sv
            } else {
                crate::infra::i18n::Locale::En
            };
            seller_email(&a).map(|to| Notice {
                payout: after.clone(),
                to,
                locale,
            })
        })
    } else {
        None
    };
    Ok((after, notice))
}

/// Where to email the seller: the account's email, else its representative's.
fn seller_email(a: &PayoutSettings) -> Option<String> {
    a.email.clone().or_else(|| {
        agora_onboarding::kyc::profile::Profile::from_json(a.profile.as_ref())
            .individual
            .and_then(|i| i.email)
    })
}

/// The bank account refused the money: mark it errored and re-evaluate the seller, whose
/// `external_account` requirement is due again (payouts_enabled goes false until fixed).
async fn mark_bank_errored(
    db: &impl ConnectionTrait,
    livemode: bool,
    p: &Payout,
    code: FailureCode,
    now: DateTime<Utc>,
    origin: &Origin,
) -> Result<(), PayoutError> {
    external_account::Entity::update_many()
        .col_expr(
            external_account::Column::Status,
            Expr::value(
                agora_onboarding::kyc::entities::external_account::BankAccountStatus::Errored
                    .as_str(),
            ),
        )
        .col_expr(
            external_account::Column::FailureCode,
            Expr::value(code.as_str()),
        )
        .col_expr(external_account::Column::UpdatedAt, Expr::value(now))
        .filter(external_account::Column::Id.eq(p.external_account_id))
        .filter(external_account::Column::Livemode.eq(livemode))
        .exec(db)
        .await?;
    if let Some(account) = agora_onboarding::accounts::find(db, livemode, p.account_id).await? {
        let before = crate::domain::kyc::view::AccountObject::json(&account)?;
        crate::domain::kyc::refresh(db, account, Some(&before), origin).await?;
    }
    Ok(())
}

/// Queues the seller's email about a paid or failed payout (HTML and plain text) in the email
/// outbox, in the transaction that moved the payout. An address that cannot be used skips the
/// email (logged): the payout has moved either way.
pub async fn queue_notice(
    db: &impl ConnectionTrait,
    config: &Config,
    sealer: &agora_onboarding::seal::Sealer,
    notice: &Notice,
) -> Result<(), PayoutError> {
    use lettre::message::MultiPart;
    use lettre::Message;
    let p = &notice.payout;
    let id = crate::infra::wire::ids::encode(crate::infra::wire::ids::IdKind::Payout, p.id);
    let amount = Currency::parse(&p.currency)
        .map(|c| agora_payouts::csv_file::format_minor(p.amount, c))
        .unwrap_or_else(|_| p.amount.to_string());
    let cur = p.currency.to_uppercase();
    let paid = p.status == PayoutStatus::Paid;
    let tr = crate::infra::i18n::Tr(notice.locale);
    let fill = |key: &str| {
        tr.s(key)
            .replace("{amount}", &amount)
            .replace("{currency}", &cur)
            .replace("{id}", &id)
            .replace("{date}", &p.arrival_date)
            .replace("{name}", &config.branding_name)
            .replace("{code}", p.failure_code.as_deref().unwrap_or("declined"))
    };
    let (subject, text) = if paid {
        (fill("payout.paid.subject"), fill("payout.paid.body"))
    } else {
        (fill("payout.failed.subject"), fill("payout.failed.body"))
    };
    let html = format!(
        "<!doctype html><html lang=\"{}\"><body><p>{}</p></body></html>",
        notice.locale.code(),
        html_escape(&text)
    );
    let message = (|| {
        Ok::<Message, anyhow::Error>(
            Message::builder()
                .from(config.email_from.parse()?)
                .to(notice.to.parse()?)
                .subject(subject)
                .multipart(MultiPart::alternative_plain_html(text, html))?,
        )
    })();
    match message {
        Ok(message) => {
            let kind = if paid { "payout_paid" } else { "payout_failed" };
            crate::infra::email::enqueue(db, sealer, kind, &message).await?;
        }
        Err(e) => {
            tracing::warn!(error = %e, payout = %id, "no payout email: the seller's address cannot be used")
        }
    }
    Ok(())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What a run would pay (dry run) or paid.
#[derive(Debug, Clone)]
pub struct Planned {
    pub account: Uuid,
    pub currency: String,
    pub amount: i64,
    pub rail: Rail,
    pub arrival_date: NaiveDate,
    pub period_key: String,
}

/// Why a run did not pay a seller, in one currency or at all. The codes are stable: the API
/// and the CLI show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// KYC has not enabled payouts, or the account was rejected; the message names
    /// `requirements.disabled_reason`.
    PayoutsDisabled,
    /// The platform paused the seller's payouts.
    Paused,
    /// The schedule is `manual` (the default): only `POST /v1/payouts` pays the seller.
    ScheduleManual,
    /// A stored schedule the run cannot read.
    ScheduleInvalid,
    /// Nothing available in any currency.
    NoBalance,
    /// No default bank account in the currency, and no usable one in another to convert to.
    NoBankAccountInCurrency,
    /// The currency's default bank account failed a payout; the currency waits for the fix.
    BankAccountErrored,
    /// `as_of` is not a payout day of the schedule in the rail's calendar.
    NotAPayoutDay,
    /// Everything available became available within the schedule's `delay_days`.
    HeldBackByDelay,
    /// Too many recent credits to add up what `delay_days` keeps back.
    TooManyRecentCredits,
    /// What can be paid is below the currency's minimum payout.
    BelowMinimum,
    /// The period's payout in this currency exists already (an earlier or concurrent run).
    AlreadyPaidThisPeriod,
    /// The payout was refused with this code, as `POST /v1/payouts` refuses it:
    /// `fx_rate_unavailable`, `amount_too_small` (once converted), `balance_insufficient` (the
    /// balance moved meanwhile), …
    Refused(&'static str),
}

impl SkipReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::PayoutsDisabled => "payouts_disabled",
            Self::Paused => "paused",
            Self::ScheduleManual => "schedule_manual",
            Self::ScheduleInvalid => "schedule_invalid",
            Self::NoBalance => "no_balance",
            Self::NoBankAccountInCurrency => "no_bank_account_in_currency",
            Self::BankAccountErrored => "bank_account_errored",
            Self::NotAPayoutDay => "not_a_payout_day",
            Self::HeldBackByDelay => "held_back_by_delay",
            Self::TooManyRecentCredits => "too_many_recent_credits",
            Self::BelowMinimum => "below_minimum",
            Self::AlreadyPaidThisPeriod => "already_paid_this_period",
            Self::Refused(code) => code,
        }
    }
}

/// A seller the run looked at and did not pay (in `currency`, or at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub account: Uuid,
    /// Lower-case ISO 4217; `None` when the seller has no available balance to name.
    pub currency: Option<String>,
    /// The available balance in `currency`, minor units.
    pub available: Option<i64>,
    pub reason: SkipReason,
    /// For a person: the amounts, the minimum, the next payout day, what to change.
    pub message: String,
}

/// Most skipped sellers one report lists (the run itself is bounded by its pages); the rest
/// are only counted in `skipped_total`.
pub const MAX_SKIPPED: usize = 1_000;

#[derive(Debug, Default)]
pub struct RunReport {
    pub planned: Vec<Planned>,
    pub created: Vec<Payout>,
    /// Payouts of this period that already existed (an earlier or concurrent run).
    pub already_created: usize,
    pub batches: Vec<PayoutBatch>,
    /// In-transit payouts of sent batches whose arrival date has come: now paid.
    pub paid: Vec<Payout>,
    /// Payouts refused when made (a dry run: that would be refused).
    pub errors: usize,
    /// Sellers looked at and not paid, in the order met, at most [`MAX_SKIPPED`].
    pub skipped: Vec<Skipped>,
    /// How many were skipped in all, listed or not.
    pub skipped_total: usize,
}

impl RunReport {
    fn skip(&mut self, skipped: Skipped) {
        self.skipped_total += 1;
        if self.skipped.len() < MAX_SKIPPED {
            self.skipped.push(skipped);
        }
    }
}

/// One payout run: which mode, which day, and what to do.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub livemode: bool,
    /// The payout day, in the rail calendars' local date.
    pub as_of: NaiveDate,
    /// When the payouts count as submitted (arrival dates, `delay_days`).
    pub submitted_at: DateTime<Utc>,
    /// Report what would be paid, and why not; change nothing.
    pub dry_run: bool,
    /// Also look at the sellers the run never pays (manual schedule, paused, payouts
    /// disabled, rejected) when they have a schedule or an available balance, to report
    /// why. The CLI and the test helper ask for it; the worker does not, as it would read all
    /// their balances on every poll for a report nobody reads.
    pub explain: bool,
}

/// `12.34 EUR`.
fn money(amount_minor: i64, currency: Currency) -> String {
    format!(
        "{} {}",
        agora_payouts::csv_file::format_minor(amount_minor, currency),
        currency.code()
    )
}

fn describe(schedule: &Schedule) -> String {
    match schedule.interval() {
        Interval::Manual => "manual".to_owned(),
        Interval::Daily => "daily".to_owned(),
        Interval::Weekly(day) => format!(
            "weekly on {}",
            match day {
                Weekday::Mon => "monday",
                Weekday::Tue => "tuesday",
                Weekday::Wed => "wednesday",
                Weekday::Thu => "thursday",
                Weekday::Fri => "friday",
                Weekday::Sat => "saturday",
                Weekday::Sun => "sunday",
            }
        ),
        Interval::Monthly(day) => format!("monthly on day {day}"),
    }
}

/// Sellers with money in an available account of this mode (a subquery).
fn funded_sellers(livemode: bool) -> sea_orm::sea_query::SelectStatement {
    use agora_ledger::entity::account as ledger_account;
    sea_orm::sea_query::Query::select()
        .column(ledger_account::Column::OwnerId)
        .from(ledger_account::Entity)
        .and_where(ledger_account::Column::Livemode.eq(livemode))
        .and_where(ledger_account::Column::Kind.eq(AccountKind::Available.as_str()))
        .and_where(
            Expr::col(ledger_account::Column::PostedCredits)
                .gt(Expr::col(ledger_account::Column::PostedDebits)),
        )
        .to_owned()
}

/// Accounts a scheduled payout can go to: payouts enabled, not paused, a schedule, not
/// rejected.
fn payable_accounts() -> Condition {
    Condition::all()
        .add(payout_settings::Column::PayoutsEnabled.eq(true))
        .add(payout_settings::Column::PayoutsPaused.eq(false))
        .add(payout_settings::Column::PayoutInterval.ne("manual"))
        .add(payout_settings::Column::RejectedReason.is_null())
}

/// The others, when there is something to say about them: they have a schedule, or money.
fn unpayable_accounts(livemode: bool) -> Condition {
    Condition::all().add(payable_accounts().not()).add(
        Condition::any()
            .add(payout_settings::Column::PayoutInterval.ne("manual"))
            .add(payout_settings::Column::Id.in_subquery(funded_sellers(livemode))),
    )
}

/// The payout run for one mode on `as_of` (the rail calendars' local date): for every account
/// with payouts enabled, not paused, whose schedule makes `as_of` a payout day, a payout of
/// the whole available balance per currency with a default bank account, when it reaches the
/// minimum. Then pending standard payouts go into batch files (unless `dry_run`, which changes
/// nothing). Each payout commits in its own transaction: one bad account never stops the rest.
/// Every seller looked at and not paid is in `skipped`, with the reason.
pub async fn run(
    db: &DatabaseConnection,
    config: &Config,
    sealer: &agora_onboarding::seal::Sealer,
    opts: &RunOptions,
) -> Result<RunReport, PayoutError> {
    let livemode = opts.livemode;
    let mut report = RunReport::default();
    // A dry run converts at the rates the real run would find now.
    let dry_now = match opts.dry_run {
        true => Some(crate::infra::clock::now(db, livemode).await?),
        false => None,
    };
    // First the sellers the run may pay (all the worker looks at), then, to explain, those it
    // never pays: each pass has its own page limit, so explaining never takes a payable
    // seller's place within the limit.
    for payable in [true, false] {
        if !payable && !opts.explain {
            break;
        }
        let mut after: Option<Uuid> = None;
        for _ in 0..RUN_MAX_PAGES {
            let mut q = payout_settings::Entity::find()
                .filter(payout_settings::Column::Livemode.eq(livemode))
                .filter(if payable {
                    payable_accounts()
                } else {
                    unpayable_accounts(livemode)
                })
                .order_by_asc(payout_settings::Column::Id)
                .limit(RUN_PAGE);
            if let Some(a) = after {
                q = q.filter(payout_settings::Column::Id.gt(a));
            }
            let page = q.all(db).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for account in &page {
                run_account(db, config, opts, dry_now, account, &mut report).await?;
            }
        }
    }
    if !opts.dry_run {
        let now = crate::infra::clock::now(db, livemode).await?;
        report.batches = files::create_batches(db, config, sealer, livemode, now).await?;
        report.paid = mark_arrived(db, config, sealer, livemode, opts.as_of).await?;
    }
    Ok(report)
}

/// Why an account is not paid at all, whatever its balances.
fn account_reason(account: &PayoutSettings) -> Option<(SkipReason, String)> {
    if account.rejected_reason.is_some() || !account.payouts_enabled {
        let why = account
            .kyc_state
            .as_ref()
            .and_then(|s| s.pointer("/requirements/disabled_reason"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                account
                    .rejected_reason
                    .as_ref()
                    .map(|r| format!("rejected.{r}"))
            });
        let message = match why {
            Some(why) => {
                format!("payouts are not enabled for the account ({why}); see its requirements")
            }
            None => "payouts are not enabled for the account; see its requirements".to_owned(),
        };
        return Some((SkipReason::PayoutsDisabled, message));
    }
    if account.payouts_paused {
        return Some((
            SkipReason::Paused,
            "the platform paused the account's payouts (payout_settings paused: true)".to_owned(),
        ));
    }
    if account.payout_interval == "manual" {
        return Some((
            SkipReason::ScheduleManual,
            "the payout schedule is manual: only POST /v1/payouts pays this account; give it a \
             schedule with POST /v1/accounts/{id}/payout_settings"
                .to_owned(),
        ));
    }
    None
}

/// One account of the run: a payout per currency it can be paid in today, a skip for the rest.
async fn run_account(
    db: &DatabaseConnection,
    config: &Config,
    opts: &RunOptions,
    dry_now: Option<DateTime<Utc>>,
    account: &PayoutSettings,
    report: &mut RunReport,
) -> Result<(), PayoutError> {
    let livemode = opts.livemode;
    let balances: Vec<(Currency, i64)> =
        journal::owner_accounts(db, livemode, Owner::Seller(account.id))
            .await?
            .into_iter()
            .filter(|(r, _)| r.kind == AccountKind::Available)
            .map(|(r, b)| (r.currency, b.posted(AccountKind::Available)))
            .filter(|(_, available)| *available > 0)
            .collect();
    let skipped =
        |currency: Option<(Currency, i64)>, reason: SkipReason, message: String| Skipped {
            account: account.id,
            currency: currency.map(|(c, _)| c.api_code()),
            available: currency.map(|(_, a)| a),
            reason,
            message,
        };
    let schedule = schedule_of(account);
    let whole = account_reason(account).or_else(|| match schedule {
        None => Some((
            SkipReason::ScheduleInvalid,
            format!(
                "the stored schedule ({}) cannot be read; set it again",
                account.payout_interval
            ),
        )),
        Some(_) if balances.is_empty() => Some((
            SkipReason::NoBalance,
            "nothing is available to pay out (everything available was already paid out, or what was captured is still pending its settlement delay: the seller's balance shows both)".to_owned(),
        )),
        Some(_) => None,
    });
    let schedule = match (whole, schedule) {
        (None, Some(schedule)) => schedule,
        (whole, _) => {
            // One skip per balance, or one for the account when it has none.
            let (reason, message) =
                whole.unwrap_or_else(|| (SkipReason::ScheduleInvalid, "no schedule".to_owned()));
            if balances.is_empty() {
                report.skip(skipped(None, reason, message));
            } else {
                for b in &balances {
                    report.skip(skipped(Some(*b), reason, message.clone()));
                }
            }
            return Ok(());
        }
    };
    let banks = banks_of(db, livemode, account.id).await?;
    for (currency, available) in balances {
        let this = Some((currency, available));
        let code = currency.api_code();
        let bank = match scheduled_destination(&banks, &code, &account.default_currency) {
            Ok(bank) => bank,
            Err((reason, message)) => {
                report.skip(skipped(this, reason, message));
                continue;
            }
        };
        let Ok(paid_currency) = Currency::parse(&bank.currency) else {
            report.skip(skipped(
                this,
                SkipReason::Refused("internal_error"),
                "the bank account's currency cannot be read".to_owned(),
            ));
            continue;
        };
        let rail = rail_for(bank, paid_currency, Method::Standard);
        let calendar: Calendar = rail.calendar();
        if !schedule.is_payout_day(opts.as_of, &calendar) {
            let next = schedule
                .next_payout_day(opts.as_of, &calendar)
                .map_or_else(String::new, |d| format!("; the next is {d}"));
            let message = format!(
                "{} is not a payout day of the schedule ({}, {} calendar){next}",
                opts.as_of,
                describe(&schedule),
                rail.as_str()
            );
            report.skip(skipped(this, SkipReason::NotAPayoutDay, message));
            continue;
        }
        let Some(mut period_key) = schedule.period_key(opts.as_of) else {
            report.skip(skipped(
                this,
                SkipReason::ScheduleInvalid,
                "the schedule has no payout periods".to_owned(),
            ));
            continue;
        };
        if bank.currency != code {
            // A converted payout lands in the bank's currency beside that currency's own
            // payout: the source currency keeps their period keys apart.
            period_key = format!("{period_key}:{code}");
        }
        let Some(held) = held_back(
            db,
            livemode,
            account.id,
            &code,
            &schedule,
            opts.submitted_at,
        )
        .await?
        else {
            report.skip(skipped(
                this,
                SkipReason::TooManyRecentCredits,
                format!(
                    "more than {MAX_HELD_ROWS} credits in the last {} days (delay_days) to add up",
                    schedule.delay_days()
                ),
            ));
            continue;
        };
        let amount = available.saturating_sub(held);
        let min = minimum(config, currency).max(1);
        if amount <= 0 {
            let message = format!(
                "all of {} became available in the last {} days (delay_days)",
                money(available, currency),
                schedule.delay_days()
            );
            report.skip(skipped(this, SkipReason::HeldBackByDelay, message));
            continue;
        }
        if amount < min {
            let held_text = if held > 0 {
                format!(
                    " ({} more is held back by delay_days)",
                    money(held, currency)
                )
            } else {
                String::new()
            };
            let message = format!(
                "{} can be paid out{held_text}, below the minimum payout of {}",
                money(amount, currency),
                money(min, currency)
            );
            report.skip(skipped(this, SkipReason::BelowMinimum, message));
            continue;
        }
        let plan = Planned {
            account: account.id,
            currency: code.clone(),
            amount: amount.min(MAX_AMOUNT),
            rail,
            arrival_date: arrival_date(rail, Method::Standard, opts.submitted_at),
            period_key: period_key.clone(),
        };
        let already = |report: &mut RunReport| {
            report.already_created += 1;
            report.skip(skipped(
                this,
                SkipReason::AlreadyPaidThisPeriod,
                format!("the payout of period {period_key} exists already"),
            ));
        };
        if let Some(now) = dry_now {
            let exists = scoped(livemode)
                .filter(payout::Column::AccountId.eq(account.id))
                .filter(payout::Column::Currency.eq(bank.currency.clone()))
                .filter(payout::Column::PeriodKey.eq(period_key.clone()))
                .one(db)
                .await?
                .is_some();
            if exists {
                already(report);
                continue;
            }
            if bank.currency != code {
                match conversion(db, config, now, plan.amount, currency, bank).await {
                    Ok(_) => {}
                    Err(e) => {
                        let Some((refused, message)) = e.refusal() else {
                            return Err(e);
                        };
                        report.errors += 1;
                        let message = converted(&code, bank, &message);
                        report.skip(skipped(this, SkipReason::Refused(refused), message));
                        continue;
                    }
                }
            }
            report.planned.push(plan);
            continue;
        }
        let txn = db.begin().await?;
        let now = crate::infra::clock::now(&txn, livemode).await?;
        let result = create(
            &txn,
            config,
            livemode,
            now,
            opts.submitted_at,
            NewPayout {
                account: AccountId::from_uuid(account.id),
                amount: Money::new(plan.amount, currency),
                destination: Some(ExternalAccountId::from_uuid(bank.id)),
                method: Method::Standard,
                period_key: Some(period_key.clone()),
            },
            &Origin::default(),
        )
        .await;
        match result {
            Ok(Some(p)) => {
                txn.commit().await?;
                report.planned.push(plan);
                report.created.push(p);
            }
            Ok(None) => {
                txn.rollback().await?;
                already(report);
            }
            Err(e) => {
                // Most often the balance changed since it was read (a concurrent payout or
                // refund), or a converted payout has no recent rate: the next run tries again.
                txn.rollback().await?;
                let (refused, message) = e
                    .refusal()
                    .unwrap_or_else(|| ("internal_error", INTERNAL_MESSAGE.to_owned()));
                tracing::warn!(code = refused, error = %e, "scheduled payout skipped");
                report.errors += 1;
                let message = if bank.currency == code {
                    message
                } else {
                    converted(&code, bank, &message)
                };
                report.skip(skipped(this, SkipReason::Refused(refused), message));
            }
        }
    }
    Ok(())
}

/// Why a converted payout was refused, saying that it was one.
fn converted(currency: &str, bank: &external_account::Model, refusal: &str) -> String {
    format!(
        "no bank account for {}; converting it for the {} bank account failed: {refusal}",
        currency.to_ascii_uppercase(),
        bank.currency.to_ascii_uppercase()
    )
}

/// Where a scheduled payout of a `currency` balance goes: that currency's default bank
/// account; if the seller has none, the default bank account of the account's default
/// currency (else of the first currency with one), converted at the reference rate. A default
/// account that failed (`errored`) stops the currency's payouts until it is fixed, rather than
/// sending the money somewhere else. Otherwise, why not.
fn scheduled_destination<'a>(
    banks: &'a [external_account::Model],
    currency: &str,
    default_currency: &str,
) -> Result<&'a external_account::Model, (SkipReason, String)> {
    let upper = currency.to_ascii_uppercase();
    let defaults = || banks.iter().filter(|b| b.default_for_currency);
    if let Some(own) = defaults().find(|b| b.currency == currency) {
        if own.status
            == agora_onboarding::kyc::entities::external_account::BankAccountStatus::Errored
        {
            return Err((
                SkipReason::BankAccountErrored,
                format!(
                    "the default bank account for {upper} failed a payout ({}); add a bank \
                     account or make another the default for {upper}",
                    own.failure_code.as_deref().unwrap_or("declined")
                ),
            ));
        }
        return Ok(own);
    }
    let mut usable: Vec<&external_account::Model> = defaults()
        .filter(|b| {
            b.status
                != agora_onboarding::kyc::entities::external_account::BankAccountStatus::Errored
        })
        .collect();
    usable.sort_by_key(|b| (b.currency != default_currency, b.currency.clone()));
    usable.into_iter().next().ok_or_else(|| {
        (
            SkipReason::NoBankAccountInCurrency,
            format!(
                "no bank account for {upper}, and no usable default bank account in another \
                 currency to convert to"
            ),
        )
    })
}

/// Most recent credits summed for a schedule's delay; an account with more is skipped this
/// run rather than paid too much.
const MAX_HELD_ROWS: u64 = 10_000;

/// What a schedule's `delay_days` keeps back: the credits (charges, transfers) that became
/// available within the last `delay_days` before `submitted_at`. `None` when there are too many
/// to add up in one run.
async fn held_back(
    db: &impl ConnectionTrait,
    livemode: bool,
    account: Uuid,
    currency: &str,
    schedule: &Schedule,
    submitted_at: DateTime<Utc>,
) -> Result<Option<i64>, PayoutError> {
    if schedule.delay_days() == 0 {
        return Ok(Some(0));
    }
    let cutoff = submitted_at - chrono::Duration::days(i64::from(schedule.delay_days()));
    let rows = crate::domain::payments::scoped_balance_transactions(
        livemode,
        agora_ledger::Owner::Seller(account),
    )
    .filter(balance_transaction::Column::Currency.eq(currency))
    .filter(balance_transaction::Column::SourceKind.is_in(["charge", "transfer"]))
    .filter(balance_transaction::Column::Net.gt(0))
    .filter(balance_transaction::Column::AvailableOn.gt(cutoff))
    .filter(balance_transaction::Column::AvailableOn.lte(submitted_at))
    .limit(MAX_HELD_ROWS + 1)
    .all(db)
    .await?;
    if rows.len() as u64 > MAX_HELD_ROWS {
        tracing::warn!("too many recent credits to apply a payout delay; skipped this run");
        return Ok(None);
    }
    Ok(rows
        .iter()
        .try_fold(0_i64, |sum, bt| sum.checked_add(bt.net)))
}

/// Most payouts marked paid per run; the rest follow on the next run.
const ARRIVED_BATCH: u64 = 1_000;

/// Bank files carry no confirmation of success: a payout whose batch was sent counts as paid
/// on its arrival date (`as_of` in the rail's calendar), unless the bank reported it earlier.
/// A return that comes later still fails it (from `paid`, the money comes back from the bank).
async fn mark_arrived(
    db: &DatabaseConnection,
    config: &Config,
    sealer: &agora_onboarding::seal::Sealer,
    livemode: bool,
    as_of: NaiveDate,
) -> Result<Vec<Payout>, PayoutError> {
    let day = as_of.format("%Y-%m-%d").to_string();
    // `YYYY-MM-DD` text sorts as dates do.
    let due = scoped(livemode)
        .filter(payout::Column::Status.eq(PayoutStatus::InTransit))
        .filter(payout::Column::ArrivalDate.lte(day))
        .filter(payout::Column::BatchId.is_not_null())
        .order_by_asc(payout::Column::Id)
        .limit(ARRIVED_BATCH)
        .all(db)
        .await?;
    let batch_ids: Vec<Uuid> = due.iter().filter_map(|p| p.batch_id).collect();
    let sent: std::collections::BTreeSet<Uuid> = scoped_batches(livemode)
        .filter(payout_batch::Column::Id.is_in(batch_ids))
        .filter(payout_batch::Column::Status.eq(payout_batch::BatchStatus::Sent))
        .all(db)
        .await?
        .into_iter()
        .map(|b| b.id)
        .collect();
    let mut paid = Vec::new();
    for p in due
        .into_iter()
        .filter(|p| p.batch_id.is_some_and(|b| sent.contains(&b)))
    {
        let txn = db.begin().await?;
        let now = crate::infra::clock::now(&txn, livemode).await?;
        match transition(
            &txn,
            livemode,
            now,
            PayoutId::from_uuid(p.id),
            Outcome::Paid,
            &Origin::default(),
        )
        .await
        {
            Ok((after, notice)) => {
                if let Some(n) = notice {
                    queue_notice(&txn, config, sealer, &n).await?;
                }
                txn.commit().await?;
                paid.push(after);
            }
            // Changed meanwhile (an import, another run): nothing to do.
            Err(_) => txn.rollback().await?,
        }
    }
    Ok(paid)
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub paid: Vec<Payout>,
    pub failed: Vec<Payout>,
    /// Lines that named no payout we know, or one not in a state the report can change.
    pub unmatched: Vec<String>,
}

/// Most payouts looked at to match one NACHA return.
const MAX_RETURN_CANDIDATES: u64 = 1_000;

/// Imports a bank's answer: an ISO 20022 status report (pain.002: rejected → failed with the
/// mapped reason, accepted → paid) or a NACHA return file (each return → failed with the mapped
/// return code). Each payout changes in its own transaction; importing the same file twice
/// changes nothing the second time (the payouts are no longer in a state it can change).
pub async fn import(
    db: &DatabaseConnection,
    config: &Config,
    sealer: &agora_onboarding::seal::Sealer,
    livemode: bool,
    text: &str,
) -> Result<ImportReport, PayoutError> {
    let mut report = ImportReport::default();
    let mut todo: Vec<(Option<Uuid>, String, Outcome)> = Vec::new();
    if text.trim_start().starts_with('<') {
        let file = agora_payouts::pain002::parse_status_report(text).map_err(|e| {
            PayoutError::state("file_invalid", format!("not a readable pain.002: {e}"))
        })?;
        for t in file.transactions {
            let outcome = match t.status {
                agora_payouts::pain002::PaymentStatus::Accepted => Outcome::Paid,
                agora_payouts::pain002::PaymentStatus::Rejected => Outcome::Failed(
                    agora_payouts::pain002::map_reason_code(t.reason_code.as_deref().unwrap_or("")),
                ),
                agora_payouts::pain002::PaymentStatus::Pending => continue,
            };
            todo.push((
                Uuid::try_parse(&t.end_to_end_id).ok(),
                t.end_to_end_id,
                outcome,
            ));
        }
    } else {
        let returns = agora_payouts::nacha::parse_returns(text).map_err(|e| {
            PayoutError::state(
                "file_invalid",
                format!("not a readable NACHA return file: {e}"),
            )
        })?;
        for r in returns {
            let reference = r.individual_id.trim().to_uppercase();
            let candidates = scoped(livemode)
                .filter(payout::Column::Rail.eq(Rail::Ach.as_str()))
                .filter(payout::Column::Status.is_in([PayoutStatus::InTransit, PayoutStatus::Paid]))
                .filter(payout::Column::Amount.eq(r.amount_cents))
                .order_by_desc(payout::Column::Id)
                .limit(MAX_RETURN_CANDIDATES)
                .all(db)
                .await?;
            let id = candidates
                .iter()
                .find(|p| files::reference_of(p.id) == reference)
                .map(|p| p.id);
            todo.push((
                id,
                reference,
                Outcome::Failed(agora_payouts::nacha::map_return_code(&r.return_code)),
            ));
        }
    }
    for (id, label, outcome) in todo {
        let Some(id) = id else {
            report.unmatched.push(label);
            continue;
        };
        let txn = db.begin().await?;
        let now = crate::infra::clock::now(&txn, livemode).await?;
        match transition(
            &txn,
            livemode,
            now,
            PayoutId::from_uuid(id),
            outcome,
            &Origin::default(),
        )
        .await
        {
            Ok((p, notice)) => {
                if let Some(n) = notice {
                    queue_notice(&txn, config, sealer, &n).await?;
                }
                txn.commit().await?;
                if outcome == Outcome::Paid {
                    report.paid.push(p);
                } else {
                    report.failed.push(p);
                }
            }
            Err(_) => {
                txn.rollback().await?;
                report.unmatched.push(label);
            }
        }
    }
    Ok(report)
}

/// The balance transactions a payout accounts for, as a filter on the seller's balance
/// transactions: its own (the debit, and the return if it failed or was canceled) and, for a
/// scheduled payout (which sweeps the whole available balance), every movement in its currency
/// that became available after the seller's previous scheduled payout in that currency and
/// by this one. A manual payout's amount is the platform's choice, so it sweeps nothing in
/// particular: only its own rows.
pub async fn reconciliation_condition(
    db: &impl ConnectionTrait,
    p: &Payout,
) -> Result<sea_orm::Condition, PayoutError> {
    use sea_orm::Condition;
    let bt = balance_transaction::Column::SourceKind;
    let own = Condition::all()
        .add(bt.eq("payout"))
        .add(balance_transaction::Column::SourceId.eq(p.id));
    if p.period_key.is_none() {
        return Ok(own);
    }
    let previous = scoped(p.livemode)
        .filter(payout::Column::AccountId.eq(p.account_id))
        .filter(payout::Column::Currency.eq(p.currency.clone()))
        .filter(payout::Column::PeriodKey.is_not_null())
        .filter(payout::Column::Status.is_not_in([PayoutStatus::Failed, PayoutStatus::Canceled]))
        .filter(payout::Column::Id.lt(p.id))
        .order_by_desc(payout::Column::Id)
        .one(db)
        .await?;
    let mut swept = Condition::all()
        .add(bt.ne("payout"))
        .add(balance_transaction::Column::Currency.eq(p.currency.clone()))
        .add(balance_transaction::Column::AvailableOn.lte(p.created_at));
    if let Some(prev) = previous {
        swept = swept.add(balance_transaction::Column::AvailableOn.gt(prev.created_at));
    }
    Ok(Condition::any().add(own).add(swept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payout_day_is_the_platform_time_zones_date() {
        let mut config = Config::default();
        // 23:30 UTC on 1 December is already 2 December in Stockholm, still 1 December in
        // New York.
        let now = NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_opt(23, 30, 0))
            .map(|t| t.and_utc())
            .unwrap_or_default();
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_default();
        assert_eq!(local_date(&config, now), day(1));
        config.payout_timezone = "Europe/Stockholm".to_owned();
        assert_eq!(local_date(&config, now), day(2));
        config.payout_timezone = "America/New_York".to_owned();
        assert_eq!(local_date(&config, now), day(1));
    }

    #[test]
    fn a_named_currency_has_its_own_minimum() {
        let mut config = Config::default();
        let sek = Currency::parse("sek").unwrap_or_else(|e| panic!("{e}"));
        let jpy = Currency::parse("jpy").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(minimum(&config, sek), 100, "1 major unit by default");
        assert_eq!(minimum(&config, jpy), 1);
        config.payout_minimums.insert("SEK".to_owned(), 10_000);
        assert_eq!(minimum(&config, sek), 10_000, "any case");
        assert_eq!(minimum(&config, jpy), 1);
    }
}
