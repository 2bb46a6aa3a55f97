//! The payments domain: charges (split over one or many sellers), captures, refunds, transfers
//! and settlement, composed from the ledger and the processor. No HTTP here: the API layer
//! (`api::charges`, …) parses requests into these types and renders the results.
//!
//! Ledger entries follow DESIGN.md's table (charge 100.00, fee 10.00):
//! - captured: Dr platform.clearing 100 · Cr seller.pending 90 · Cr platform.pending 10
//!   (a two-phase entry while only authorised);
//! - settled (at `available_on`): Dr seller.pending · Cr seller.available, same for the platform;
//! - refund 40 (reverse transfer, refund fee): Dr seller 36 · Dr platform 4 · Cr clearing 40,
//!   each side taken from its pending account first, then available (which may go negative:
//!   later settlements recover it);
//! - transfer: Dr platform.available (never below zero) · Cr seller.available.

pub mod allocate;
pub mod create;
pub mod entity;
pub mod lists;
pub mod processor;
pub mod view;

use crate::infra::events::EventType;
use std::collections::{BTreeMap, BTreeSet};

use agora_ledger::journal::{self, Resolution};
use agora_ledger::{
    AccountKind, AccountRef, Currency, LedgerError, LineSpec, Money, NewEntry, Owner,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::infra::wire::typed::{AccountId, ChargeId, DisputeId, TransferId};

use allocate::allocate;
pub use entity::charge::ChargeStatus;
pub use entity::dispute::DisputeStatus;
use entity::{balance_transaction, charge, charge_destination, dispute, refund, transfer};
use processor::{Decline, PaymentMethod, Processor};

pub use create::{
    create_charge_planned, plan_charge, prepare_accounts, write_charges, PlannedCharge,
};
pub use entity::balance_transaction::Model as BalanceTransaction;
pub use entity::charge::Model as Charge;
pub use entity::dispute::Model as Dispute;
pub use entity::refund::Model as Refund;
pub use entity::transfer::Model as Transfer;

/// Largest charge, in minor units: 10 billion units of a two-decimal currency. Far above any
/// card payment, far below where sums over a cart could overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// Most sellers in one cart.
pub const MAX_SPLITS: usize = 100;

/// Where in the caller's input a problem is. The domain says which field, typed; the adapters
/// spell it as their callers wrote it (`splits[0].destination`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Amount,
    ApplicationFeeAmount,
    Destination,
    PaymentMethod,
    SourceTransaction,
    /// The cart as a whole.
    Splits,
    /// One part of the cart's split `index`.
    Split {
        index: usize,
        part: SplitField,
    },
}

/// The parts of one split of a cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitField {
    Destination,
    Amount,
    ApplicationFeeAmount,
}

impl SplitField {
    /// The same part of a single-destination charge, which has no `splits`.
    fn single(self) -> Field {
        match self {
            SplitField::Destination => Field::Destination,
            SplitField::Amount => Field::Amount,
            SplitField::ApplicationFeeAmount => Field::ApplicationFeeAmount,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// An input value is wrong: `field` says which.
    #[error("{message}")]
    Invalid {
        field: Field,
        code: &'static str,
        message: String,
    },
    /// An amount outside 1 to [`MAX_AMOUNT`] minor units (`amount_invalid`; the message names
    /// the field as the caller wrote it).
    #[error("amount out of range")]
    AmountOutOfRange(Field),
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The request is valid but the object's state forbids it (already captured, …).
    #[error("{message}")]
    State { code: &'static str, message: String },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl PaymentError {
    fn invalid(field: Field, code: &'static str, message: impl Into<String>) -> Self {
        PaymentError::Invalid {
            field,
            code,
            message: message.into(),
        }
    }

    fn state(code: &'static str, message: impl Into<String>) -> Self {
        PaymentError::State {
            code,
            message: message.into(),
        }
    }
}

/// One seller's part of a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub destination: Uuid,
    pub amount: i64,
    pub application_fee_amount: i64,
    /// VAT on the fee (from a fee rule), owed to the tax authority: platform `tax_payable`.
    #[serde(default)]
    pub tax_amount: i64,
    /// The fee rule and version that priced this split, when the platform gave no fee. Stored
    /// with the charge, so a later rule change never alters it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_rule: Option<(Uuid, u32)>,
}

impl Split {
    /// What the seller keeps.
    pub fn net(&self) -> i64 {
        self.amount - self.application_fee_amount - self.tax_amount
    }

    /// What the platform takes: its fee and the VAT on it.
    fn platform_part(&self) -> i64 {
        self.application_fee_amount + self.tax_amount
    }

    /// This split scaled down to `part` of its amount, fee and tax in proportion.
    fn scaled(&self, part: i64) -> Split {
        let scaled = SplitPart::of(self).take(part).unwrap_or(SplitPart {
            amount: part,
            fee: 0,
            tax: 0,
        });
        Split {
            destination: self.destination,
            amount: part,
            application_fee_amount: scaled.fee,
            tax_amount: scaled.tax,
            fee_rule: self.fee_rule,
        }
    }
}

/// A currency read back from a row. Rows only ever hold codes that parsed when written, so a
/// failure means a corrupted row: reported as a database error, not a client one.
fn stored_currency(code: &str) -> Result<Currency, DbErr> {
    Currency::parse(code).map_err(|e| DbErr::Custom(e.to_string()))
}

pub fn splits_of(charge: &Charge) -> Vec<Split> {
    serde_json::from_value(charge.splits.clone()).unwrap_or_default()
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, PaymentError> {
    serde_json::to_value(value).map_err(|e| PaymentError::Db(DbErr::Custom(e.to_string())))
}

pub fn scoped_charges(livemode: bool) -> Select<charge::Entity> {
    charge::Entity::find().filter(charge::Column::Livemode.eq(livemode))
}

/// Charges in which `seller` has a split (its single-destination charges and the carts it is
/// in), by the `charge_destinations` index.
pub fn charges_of_seller(
    select: Select<charge::Entity>,
    livemode: bool,
    seller: AccountId,
) -> Select<charge::Entity> {
    select.filter(
        charge::Column::Id.in_subquery(
            sea_orm::sea_query::Query::select()
                .column(charge_destination::Column::ChargeId)
                .from(charge_destination::Entity)
                .and_where(charge_destination::Column::Livemode.eq(livemode))
                .and_where(charge_destination::Column::AccountId.eq(seller))
                .to_owned(),
        ),
    )
}

/// Whether `seller` has a split in the charge.
pub fn has_split(charge: &Charge, seller: AccountId) -> bool {
    let seller = seller.uuid();
    charge.destination_id == Some(seller)
        || splits_of(charge).iter().any(|s| s.destination == seller)
}

pub fn scoped_refunds(livemode: bool) -> Select<refund::Entity> {
    refund::Entity::find().filter(refund::Column::Livemode.eq(livemode))
}

pub fn scoped_transfers(livemode: bool) -> Select<transfer::Entity> {
    transfer::Entity::find().filter(transfer::Column::Livemode.eq(livemode))
}

pub async fn find_charge(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: ChargeId,
) -> Result<Option<Charge>, DbErr> {
    scoped_charges(livemode)
        .filter(charge::Column::Id.eq(id))
        .one(db)
        .await
}

/// One balance transaction to record: a movement of `owner`'s balance as it sees it.
struct Bt {
    /// Set when the caller needs the row's id (a charge keeps its platform row's).
    id: Option<Uuid>,
    owner: Owner,
    kind: &'static str,
    amount: i64,
    /// Everything deducted from `amount` on its way to this balance (see the entity).
    fee: i64,
    /// The VAT part of `fee`.
    fee_tax: i64,
    available_on: DateTime<Utc>,
}

/// Records the rows for one source (a charge, refund, transfer or dispute) in one statement;
/// rows that move nothing are skipped.
async fn record_bts(
    db: &impl ConnectionTrait,
    livemode: bool,
    currency: Currency,
    source: (&str, Uuid),
    now: DateTime<Utc>,
    rows: Vec<Bt>,
) -> Result<(), DbErr> {
    let models = bt_models(livemode, currency, source, now, rows);
    if !models.is_empty() {
        balance_transaction::Entity::insert_many(models)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The rows of [`record_bts`], for a caller that writes many sources' rows at once.
fn bt_models(
    livemode: bool,
    currency: Currency,
    source: (&str, Uuid),
    now: DateTime<Utc>,
    rows: Vec<Bt>,
) -> Vec<balance_transaction::ActiveModel> {
    rows.into_iter()
        .filter(|r| r.amount != 0 || r.fee != 0)
        .map(|r| balance_transaction::ActiveModel {
            id: Set(r.id.unwrap_or_else(Uuid::now_v7)),
            livemode: Set(livemode),
            owner_id: Set(r.owner.id()),
            kind: Set(r.kind.to_owned()),
            amount: Set(r.amount),
            fee: Set(r.fee),
            fee_tax: Set(r.fee_tax),
            net: Set(r.amount - r.fee),
            currency: Set(currency.api_code()),
            available_on: Set(r.available_on),
            source_kind: Set(source.0.to_owned()),
            source_id: Set(source.1),
            created_at: Set(now),
        })
        .collect()
}

/// The balance transactions of a capture: each seller's gross part less the platform's fee and
/// VAT, and the platform's fees, all available on the settlement date.
fn capture_bts(splits: &[Split], available_on: DateTime<Utc>, first_seller_bt: Uuid) -> Vec<Bt> {
    let mut rows: Vec<Bt> = splits
        .iter()
        .enumerate()
        .map(|(i, s)| Bt {
            id: (i == 0).then_some(first_seller_bt),
            owner: Owner::Seller(s.destination),
            kind: "charge",
            amount: s.amount,
            fee: s.platform_part(),
            fee_tax: s.tax_amount,
            available_on,
        })
        .collect();
    rows.push(Bt {
        id: None,
        owner: Owner::Platform,
        kind: "application_fee",
        amount: splits.iter().map(|s| s.application_fee_amount).sum(),
        fee: 0,
        fee_tax: 0,
        available_on,
    });
    rows
}

pub fn scoped_balance_transactions(
    livemode: bool,
    owner: Owner,
) -> Select<balance_transaction::Entity> {
    balance_transaction::Entity::find()
        .filter(balance_transaction::Column::Livemode.eq(livemode))
        .filter(balance_transaction::Column::OwnerId.eq(owner.id()))
}

/// One seller's part of a cart as the platform asked for it: the platform's fee when it gave
/// one, else the fee rules price it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitRequest {
    pub destination: AccountId,
    pub amount: i64,
    pub application_fee_amount: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewCharge {
    /// What the buyer pays, in the charge's currency (minor units).
    pub amount: Money,
    /// Single destination: one split with `single = true`.
    pub splits: Vec<SplitRequest>,
    pub single: bool,
    pub method: PaymentMethod,
    pub capture: bool,
    pub description: Option<String>,
    pub transfer_group: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// What a charge needs from the platform's configuration and the outside world.
pub struct ChargeSettings<'a> {
    /// The platform's default settlement delay (an account's own wins).
    pub settlement_delay: Duration,
    /// The percent the mode's default fee rule starts with (see `fee_rules`).
    pub default_fee_percent: rust_decimal::Decimal,
    /// Dispute fee in major units, for a charge the processor reports disputed at once.
    pub dispute_fee_major: u32,
    pub processor: &'a dyn Processor,
    /// Sellers as charges read them, cached (none: read every time).
    pub sellers: Option<&'a SellerCache>,
}

/// Sellers by mode and id (infra::cache): a charge's KYC gate, settlement delay and fee-rule
/// conditions read them. `kyc` and `payouts` bump `cache::ACCOUNTS` when they change one.
pub type SellerCache =
    crate::infra::cache::TtlCache<(bool, Uuid), agora_onboarding::accounts::Account>;

/// What a planned charge is once written (`PlannedCharge::created`, `create_charge_planned`): the charge, and the decline if the processor refused it (then
/// only the failed charge is recorded; no money moved).
pub struct Created {
    pub charge: Charge,
    pub decline: Option<Decline>,
}

fn check_splits(amount: i64, splits: &[Split], single: bool) -> Result<(), PaymentError> {
    if amount <= 0 || amount > MAX_AMOUNT {
        return Err(PaymentError::AmountOutOfRange(Field::Amount));
    }
    if splits.is_empty() || splits.len() > MAX_SPLITS {
        return Err(PaymentError::invalid(
            Field::Splits,
            "splits_invalid",
            format!("give 1 to {MAX_SPLITS} splits"),
        ));
    }
    let mut sum: i64 = 0;
    for (i, s) in splits.iter().enumerate() {
        if s.amount <= 0 || s.amount > MAX_AMOUNT {
            return Err(PaymentError::AmountOutOfRange(split_field(
                single,
                i,
                SplitField::Amount,
            )));
        }
        if s.application_fee_amount < 0
            || s.tax_amount < 0
            || s.application_fee_amount + s.tax_amount > s.amount
        {
            return Err(PaymentError::invalid(
                split_field(single, i, SplitField::ApplicationFeeAmount),
                "application_fee_invalid",
                "application_fee_amount must be between 0 and the amount it is taken from",
            ));
        }
        if splits[..i].iter().any(|o| o.destination == s.destination) {
            // Each split is priced on its own (fixed parts, minimums): two splits to one seller
            // would charge it twice. A seller's part of a cart is one split.
            return Err(PaymentError::invalid(
                split_field(single, i, SplitField::Destination),
                "splits_invalid",
                "each seller may appear in one split only; give its whole part in that split",
            ));
        }
        sum = sum.checked_add(s.amount).ok_or_else(|| {
            PaymentError::invalid(Field::Amount, "amount_invalid", "amount overflow")
        })?;
    }
    if sum != amount {
        return Err(PaymentError::invalid(
            Field::Splits,
            "splits_mismatch",
            format!("the splits add up to {sum}, but the charge amount is {amount}"),
        ));
    }
    Ok(())
}

/// The lines that move a captured (or authorised) cart: Dr clearing · Cr each seller's pending
/// with its gross part, Dr it with the platform's fee and VAT · Cr platform pending with the
/// fees · Cr platform tax_payable with the VAT. The seller's pending nets to DESIGN.md's
/// "Cr seller.pending 90"; the gross credit is kept so that a seller's captured volume (fee
/// tiers) can be read from the ledger.
fn capture_lines(currency: Currency, splits: &[Split]) -> Vec<LineSpec> {
    let total: i64 = splits.iter().map(|s| s.amount).sum();
    let fees: i64 = splits.iter().map(|s| s.application_fee_amount).sum();
    let taxes: i64 = splits.iter().map(|s| s.tax_amount).sum();
    let mut lines = vec![LineSpec::debit(
        AccountRef::platform(AccountKind::Clearing, currency),
        total,
    )];
    for s in splits {
        let pending = AccountRef::seller(s.destination, AccountKind::Pending, currency);
        lines.push(LineSpec::credit(pending, s.amount));
        if s.platform_part() > 0 {
            lines.push(LineSpec::debit(pending, s.platform_part()));
        }
    }
    if fees > 0 {
        lines.push(LineSpec::credit(
            AccountRef::platform(AccountKind::Pending, currency),
            fees,
        ));
    }
    if taxes > 0 {
        lines.push(LineSpec::credit(
            AccountRef::platform(AccountKind::TaxPayable, currency),
            taxes,
        ));
    }
    lines
}

/// Entry kind of a capture: the seller's gross credits under it are its captured volume.
pub const CAPTURE_KIND: &str = "charge.captured";

/// A seller's captured volume in `currency` in the calendar month (UTC) of `at`, before `at`:
/// the gross credits of capture entries to its pending account.
pub async fn monthly_volume(
    db: &impl ConnectionTrait,
    livemode: bool,
    seller: Uuid,
    currency: Currency,
    at: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let volumes = monthly_volumes(db, livemode, &[seller], currency, at).await?;
    Ok(volumes.get(&seller).copied().unwrap_or(0))
}

/// [`monthly_volume`] of each of `sellers`, in two statements however many there are.
pub async fn monthly_volumes(
    db: &impl ConnectionTrait,
    livemode: bool,
    sellers: &[Uuid],
    currency: Currency,
    at: DateTime<Utc>,
) -> Result<BTreeMap<Uuid, i64>, DbErr> {
    use chrono::{Datelike, TimeZone};
    let start = Utc
        .with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(at);
    let accounts: BTreeSet<AccountRef> = sellers
        .iter()
        .map(|s| AccountRef::seller(*s, AccountKind::Pending, currency))
        .collect();
    let volumes = journal::posted_volumes(
        db,
        livemode,
        &accounts,
        agora_ledger::Side::Credit,
        &[CAPTURE_KIND],
        start,
        at,
    )
    .await?;
    Ok(volumes
        .into_iter()
        .filter_map(|(account, v)| match account.owner {
            agora_ledger::Owner::Seller(id) => Some((id, v)),
            agora_ledger::Owner::Platform => None,
        })
        .collect())
}

/// How long a cart's funds stay pending: its slowest seller's delay (each seller's own, or
/// the platform's default).
async fn cart_delay(
    db: &impl ConnectionTrait,
    livemode: bool,
    splits: &[Split],
    default: Duration,
) -> Result<Duration, DbErr> {
    use agora_onboarding::accounts;
    let sellers = accounts::scoped(livemode)
        .filter(accounts::entity::Column::Id.is_in(splits.iter().map(|s| s.destination)))
        .all(db)
        .await?;
    Ok(slowest_delay(&sellers, default))
}

/// The settlement delay of a cart: the longest of its sellers' own delays (the platform's
/// `default` for a seller without one).
fn slowest_delay(sellers: &[agora_onboarding::accounts::Account], default: Duration) -> Duration {
    sellers
        .iter()
        .map(|a| {
            a.settlement_delay_days
                .map_or(default, |d| Duration::days(i64::from(d)))
        })
        .max()
        .unwrap_or(default)
}

/// The field of split `i`'s `part`: of the cart's split, or of a single-destination charge.
fn split_field(single: bool, i: usize, part: SplitField) -> Field {
    if single {
        part.single()
    } else {
        Field::Split { index: i, part }
    }
}

/// Each split's seller, loaded once (one query for the cart), in the splits' order: it must
/// exist in this mode and take charges.
async fn load_sellers(
    db: &impl ConnectionTrait,
    livemode: bool,
    splits: &[SplitRequest],
    single: bool,
    cache: Option<&SellerCache>,
) -> Result<Vec<agora_onboarding::accounts::Account>, PaymentError> {
    use agora_onboarding::accounts;
    let mut found: BTreeMap<Uuid, accounts::Account> = BTreeMap::new();
    let mut missing: Vec<Uuid> = Vec::new();
    for s in splits {
        let id = s.destination.uuid();
        match cache.and_then(|c| c.get(&(livemode, id))) {
            Some(account) => {
                found.insert(id, account);
            }
            None => missing.push(id),
        }
    }
    if !missing.is_empty() {
        let read_at = cache.map(|c| c.epoch());
        let rows = accounts::scoped(livemode)
            .filter(accounts::entity::Column::Id.is_in(missing))
            .all(db)
            .await?;
        for account in rows {
            if let (Some(cache), Some(read_at)) = (cache, read_at) {
                cache.insert((livemode, account.id), account.clone(), read_at);
            }
            found.insert(account.id, account);
        }
    }
    let mut sellers = Vec::with_capacity(splits.len());
    for (i, s) in splits.iter().enumerate() {
        let field = split_field(single, i, SplitField::Destination);
        let Some(account) = found.get(&s.destination.uuid()) else {
            return Err(PaymentError::invalid(
                field,
                "resource_missing",
                "no such connected account in this mode",
            ));
        };
        // KYC: a seller takes charges once its basic details are in (and it is neither
        // rejected, under review nor past a deadline).
        if !account.charges_enabled {
            let reason = account
                .kyc_state
                .as_ref()
                .and_then(|s| s.pointer("/requirements/disabled_reason"))
                .and_then(|r| r.as_str())
                .unwrap_or("requirements.fields_needed")
                .to_owned();
            return Err(PaymentError::invalid(
                field,
                "account_charges_disabled",
                format!(
                    "the connected account cannot take charges ({reason}); its requirements.currently_due lists what is missing"
                ),
            ));
        }
        sellers.push(account.clone());
    }
    Ok(sellers)
}

/// Each split with its price: the fee the platform gave, or the fee rules' quote (fee, VAT on
/// it, rule and version) from the seller's captured volume this month, read from the ledger.
/// The mode's active rules are read once for the whole cart.
async fn price_splits(
    db: &impl ConnectionTrait,
    livemode: bool,
    now: DateTime<Utc>,
    settings: &ChargeSettings<'_>,
    new: &NewCharge,
    sellers: &[agora_onboarding::accounts::Account],
) -> Result<Vec<Split>, PaymentError> {
    let mut rules = None;
    // The volumes of every seller the rules will price, in one go.
    let unpriced: Vec<Uuid> = new
        .splits
        .iter()
        .filter(|s| s.application_fee_amount.is_none())
        .map(|s| s.destination.uuid())
        .collect();
    let volumes = if unpriced.is_empty() {
        BTreeMap::new()
    } else {
        monthly_volumes(db, livemode, &unpriced, new.amount.currency, now).await?
    };
    let mut priced = Vec::with_capacity(new.splits.len());
    for (s, seller) in new.splits.iter().zip(sellers) {
        if let Some(fee) = s.application_fee_amount {
            priced.push(Split {
                destination: s.destination.uuid(),
                amount: s.amount,
                application_fee_amount: fee,
                tax_amount: 0,
                fee_rule: None,
            });
            continue;
        }
        let rules = match &mut rules {
            Some(rules) => rules,
            None => rules.insert(
                crate::domain::fee_rules::active_rules(db, livemode, settings.default_fee_percent)
                    .await
                    .map_err(|e| PaymentError::Db(DbErr::Custom(e.to_string())))?,
            ),
        };
        let volume = volumes.get(&s.destination.uuid()).copied().unwrap_or(0);
        let input = crate::domain::fee_rules::QuoteInput {
            amount: s.amount,
            currency: new.amount.currency,
            destination: s.destination.uuid(),
            payment_method_type: match &new.method {
                PaymentMethod::TestToken(_) => "card".to_owned(),
                PaymentMethod::External { .. } => "external".to_owned(),
            },
            payment_method_country: None,
            at: now,
        };
        let ctx = crate::domain::fee_rules::context_for(seller, &input, volume);
        // The default rule matches every charge and amounts were checked: a failure is a bug.
        let quote = agora_fees::quote(rules, &ctx)
            .map_err(|e| PaymentError::Db(DbErr::Custom(e.to_string())))?;
        priced.push(Split {
            destination: s.destination.uuid(),
            amount: s.amount,
            application_fee_amount: quote.fee_amount,
            tax_amount: quote.tax_amount,
            fee_rule: Some((quote.rule_id, quote.rule_version)),
        });
    }
    Ok(priced)
}

/// What `POST /v1/charges/{id}/capture` asks.
#[derive(Debug, Clone, Copy)]
pub struct NewCapture {
    pub charge_id: ChargeId,
    /// Default: all that was authorised.
    pub amount: Option<i64>,
}

/// Captures an authorised charge, start to end, in the caller's transaction at the mode's
/// clock: `amount` (default all) of it; the rest is released. Each seller's part and fee
/// shrink in proportion (largest remainder, so the parts add up). Resolves the authorisation
/// in the ledger, updates the charge, writes its balance transactions and records
/// `charge.captured`.
pub async fn capture(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    settlement_delay: Duration,
    new: NewCapture,
    origin: &crate::infra::events::Origin,
) -> Result<Charge, PaymentError> {
    let now = crate::infra::clock::now(txn, livemode).await?;
    let charge = capture_at(txn, livemode, now, settlement_delay, new).await?;
    crate::infra::events::record_at(
        txn,
        crate::infra::events::NewEvent {
            livemode,
            account_id: charge.destination_id,
            kind: EventType::ChargeCaptured,
            object: view::ChargeObject::json(&charge)?,
            previous_attributes: None,
        },
        origin,
        now,
    )
    .await?;
    Ok(charge)
}

async fn capture_at(
    db: &impl ConnectionTrait,
    livemode: bool,
    now: DateTime<Utc>,
    settlement_delay: Duration,
    new: NewCapture,
) -> Result<Charge, PaymentError> {
    let NewCapture { charge_id, amount } = new;
    let charge = find_charge(db, livemode, charge_id)
        .await?
        .ok_or(PaymentError::NotFound("charge"))?;
    if charge.status != ChargeStatus::Pending {
        return Err(PaymentError::state(
            "charge_not_capturable",
            format!(
                "this charge is {} and cannot be captured",
                if charge.captured {
                    "already captured"
                } else {
                    charge.status.as_str()
                }
            ),
        ));
    }
    let amount = amount.unwrap_or(charge.amount);
    if amount <= 0 {
        return Err(PaymentError::invalid(
            Field::Amount,
            "amount_invalid",
            "amount must be a positive integer number of minor units",
        ));
    }
    if amount > charge.amount {
        return Err(PaymentError::invalid(
            Field::Amount,
            "amount_too_large",
            format!("capture at most the authorised {}", charge.amount),
        ));
    }
    let currency = stored_currency(&charge.currency)?;
    let splits = splits_of(&charge);
    let parts = allocate(amount, &splits.iter().map(|s| s.amount).collect::<Vec<_>>())
        .ok_or_else(|| DbErr::Custom("cannot allocate capture".to_owned()))?;
    let captured: Vec<Split> = splits
        .iter()
        .zip(parts)
        .map(|(s, part)| s.scaled(part))
        .collect();
    let pending_id = charge
        .authorization_entry_id
        .ok_or(PaymentError::NotFound("authorization"))?;
    let lines: Vec<LineSpec> = capture_lines(
        currency,
        &captured
            .iter()
            .copied()
            .filter(|s| s.amount > 0)
            .collect::<Vec<_>>(),
    );
    journal::resolve(
        db,
        livemode,
        pending_id,
        format!("charge:{charge_id}:capture"),
        CAPTURE_KIND.to_owned(),
        Resolution::Post(lines),
        now,
    )
    .await?;
    let fees: i64 = captured.iter().map(|s| s.application_fee_amount).sum();
    // Conditional on still being pending: a concurrent capture loses here (and in the ledger).
    let delay = cart_delay(db, livemode, &captured, settlement_delay).await?;
    let bt_id = Uuid::now_v7();
    let updated = charge::Entity::update_many()
        .col_expr(
            charge::Column::Status,
            Expr::value(ChargeStatus::Succeeded.as_str()),
        )
        .col_expr(charge::Column::Captured, Expr::value(true))
        .col_expr(charge::Column::AmountCaptured, Expr::value(amount))
        .col_expr(charge::Column::ApplicationFeeAmount, Expr::value(fees))
        .col_expr(charge::Column::Splits, Expr::value(to_json(&captured)?))
        .col_expr(charge::Column::AvailableOn, Expr::value(now + delay))
        .col_expr(
            charge::Column::BalanceTransactionId,
            Expr::value(charge.destination_id.map(|_| bt_id)),
        )
        .filter(charge::Column::Id.eq(charge_id))
        .filter(charge::Column::Status.eq(ChargeStatus::Pending))
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Err(PaymentError::state(
            "charge_not_capturable",
            "this charge was captured concurrently",
        ));
    }
    record_bts(
        db,
        livemode,
        currency,
        ("charge", charge_id.uuid()),
        now,
        capture_bts(&captured, now + delay, bt_id),
    )
    .await?;
    find_charge(db, livemode, charge_id)
        .await?
        .ok_or(PaymentError::NotFound("charge"))
}

#[derive(Debug, Clone)]
pub struct NewRefund {
    pub charge_id: ChargeId,
    pub amount: Option<i64>,
    pub reason: Option<String>,
    pub reverse_transfer: bool,
    pub refund_application_fee: bool,
    pub metadata: BTreeMap<String, String>,
}

/// A part of one split, decomposed as the charge decomposed the split: `amount` of it, of
/// which `fee` is the platform's application fee and `tax` the VAT on that fee (the rest is
/// the seller's net).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPart {
    pub amount: i64,
    pub fee: i64,
    pub tax: i64,
}

impl SplitPart {
    pub fn net(&self) -> i64 {
        self.amount - self.fee - self.tax
    }

    fn of(split: &Split) -> Self {
        SplitPart {
            amount: split.amount,
            fee: split.application_fee_amount,
            tax: split.tax_amount,
        }
    }

    fn add(&mut self, other: SplitPart) {
        self.amount += other.amount;
        self.fee += other.fee;
        self.tax += other.tax;
    }

    fn minus(&self, other: &SplitPart) -> SplitPart {
        SplitPart {
            amount: (self.amount - other.amount).max(0),
            fee: (self.fee - other.fee).max(0),
            tax: (self.tax - other.tax).max(0),
        }
    }

    /// `part` of what this holds, spread over fee, VAT and net in proportion (largest
    /// remainder). When `part` is all of it, exactly all of it: that is what makes a series of
    /// partial refunds end with every component back where it was.
    fn take(&self, part: i64) -> Option<SplitPart> {
        if part == 0 {
            return Some(SplitPart::default());
        }
        let net = self.net();
        if net < 0 || part > self.amount {
            return None;
        }
        let parts = allocate(part, &[self.fee, self.tax, net])?;
        Some(SplitPart {
            amount: part,
            fee: parts[0],
            tax: parts[1],
        })
    }
}

/// Who bears one seller's part of a refund (or dispute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundShare {
    pub destination: Uuid,
    /// Taken back from the seller's balance.
    pub seller_amount: i64,
    /// Taken back from the platform's balance: its application fee share, or the whole part
    /// when the platform bears the refund (`reverse_transfer: false`).
    pub platform_amount: i64,
    /// VAT on the platform's fee share, reversed from `tax_payable`. Absent (0) on refunds
    /// recorded before VAT was reversed, whose `platform_amount` included it.
    #[serde(default)]
    pub tax_amount: i64,
    /// This split's part of the refund as the charge decomposed it. Absent on older rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<SplitPart>,
}

impl RefundShare {
    /// The split part this share refunded. Older rows did not record it: it is rebuilt from
    /// the amounts in proportion to the split.
    fn refunded_part(&self, split: &Split) -> SplitPart {
        if let Some(part) = self.part {
            return part;
        }
        let amount = self.seller_amount + self.platform_amount + self.tax_amount;
        SplitPart::of(split)
            .take(amount.min(split.amount))
            .unwrap_or_default()
    }
}

/// What of each split earlier refunds took, in the order of the charge's splits.
pub fn refunded_parts(splits: &[Split], refunds: &[Vec<RefundShare>]) -> Vec<SplitPart> {
    let mut done = vec![SplitPart::default(); splits.len()];
    for shares in refunds {
        // Shares are written one per split, in the splits' order.
        for ((d, split), share) in done.iter_mut().zip(splits).zip(shares) {
            d.add(share.refunded_part(split));
        }
    }
    done
}

/// Splits a refund of `amount` over a charge's sellers in proportion to what each still has
/// captured and unrefunded (largest remainder), and each seller's part over the platform's
/// fee, the VAT on it and the seller's net in proportion to what remains of each. So parts
/// never exceed what remains, and the refund that takes the rest takes each component exactly:
/// a charge refunded in full, in any steps, leaves every account where it was.
///
/// Who bears the part:
/// - `reverse_transfer` and `refund_application_fee`: the seller its net share, the platform
///   its fee share, `tax_payable` the VAT on that fee (the VAT is no longer owed);
/// - `reverse_transfer` only: the seller bears the whole part; the platform keeps its fee and
///   the VAT on it stays owed;
/// - no `reverse_transfer`: the platform bears the whole part.
///
/// `None` when `amount` exceeds what remains (or a stored row is inconsistent).
pub fn refund_shares(
    splits: &[Split],
    done: &[SplitPart],
    amount: i64,
    reverse_transfer: bool,
    refund_application_fee: bool,
) -> Option<Vec<RefundShare>> {
    let remaining: Vec<SplitPart> = splits
        .iter()
        .enumerate()
        .map(|(i, s)| SplitPart::of(s).minus(&done.get(i).copied().unwrap_or_default()))
        .collect();
    let parts = allocate(
        amount,
        &remaining.iter().map(|r| r.amount).collect::<Vec<_>>(),
    )?;
    splits
        .iter()
        .zip(remaining)
        .zip(parts)
        .map(|((s, rest), p)| {
            let part = rest.take(p)?;
            let (seller_amount, platform_amount, tax_amount) =
                match (reverse_transfer, refund_application_fee) {
                    (true, true) => (part.net(), part.fee, part.tax),
                    (true, false) => (part.amount, 0, 0),
                    (false, _) => (0, part.amount, 0),
                };
            Some(RefundShare {
                destination: s.destination,
                seller_amount,
                platform_amount,
                tax_amount,
                part: Some(part),
            })
        })
        .collect()
}

/// The line that takes the VAT of refunded fee shares off `tax_payable` (none without VAT).
fn vat_reversal(shares: &[RefundShare], currency: Currency) -> Option<LineSpec> {
    let tax: i64 = shares.iter().map(|sh| sh.tax_amount).sum();
    (tax > 0).then(|| LineSpec::debit(AccountRef::platform(AccountKind::TaxPayable, currency), tax))
}

/// What one seller has of a cart charge beyond its split: how much of its part was refunded,
/// and its own balance transaction of the capture.
#[derive(Debug, Clone, Copy, Default)]
pub struct SellerPart {
    pub refunded: i64,
    pub balance_transaction: Option<Uuid>,
}

/// [`SellerPart`] of `seller` in each of `charges` (a page at most: two queries in all).
pub async fn seller_parts(
    db: &impl ConnectionTrait,
    livemode: bool,
    seller: AccountId,
    charges: &[Charge],
) -> Result<BTreeMap<Uuid, SellerPart>, DbErr> {
    let ids: Vec<Uuid> = charges.iter().map(|c| c.id).collect();
    let mut out: BTreeMap<Uuid, SellerPart> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let by_charge = refunds_of(db, livemode, ids.clone()).await?;
    for c in charges {
        let splits = splits_of(c);
        let done = refunded_parts(&splits, by_charge.get(&c.id).map_or(&[][..], Vec::as_slice));
        let refunded = splits
            .iter()
            .zip(&done)
            .filter(|(s, _)| s.destination == seller.uuid())
            .map(|(_, d)| d.amount)
            .sum();
        out.entry(c.id).or_default().refunded = refunded;
    }
    let bts: Vec<(Uuid, Uuid)> =
        scoped_balance_transactions(livemode, Owner::Seller(seller.uuid()))
            .select_only()
            .column(balance_transaction::Column::SourceId)
            .column(balance_transaction::Column::Id)
            .filter(balance_transaction::Column::SourceKind.eq("charge"))
            .filter(balance_transaction::Column::Kind.eq("charge"))
            .filter(balance_transaction::Column::SourceId.is_in(ids))
            .into_tuple()
            .all(db)
            .await?;
    for (charge_id, bt) in bts {
        out.entry(charge_id).or_default().balance_transaction = Some(bt);
    }
    Ok(out)
}

/// The shares of the refunds a charge has had so far, oldest first.
async fn earlier_refunds(
    db: &impl ConnectionTrait,
    livemode: bool,
    charge_id: Uuid,
) -> Result<Vec<Vec<RefundShare>>, DbErr> {
    Ok(refunds_of(db, livemode, vec![charge_id])
        .await?
        .remove(&charge_id)
        .unwrap_or_default())
}

/// The shares of every refund of `charges`, per charge, oldest first (one query).
async fn refunds_of(
    db: &impl ConnectionTrait,
    livemode: bool,
    charges: Vec<Uuid>,
) -> Result<BTreeMap<Uuid, Vec<Vec<RefundShare>>>, DbErr> {
    let rows: Vec<(Uuid, serde_json::Value)> = scoped_refunds(livemode)
        .select_only()
        .column(refund::Column::ChargeId)
        .column(refund::Column::Allocation)
        .filter(refund::Column::ChargeId.is_in(charges))
        .order_by_asc(refund::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_charge: BTreeMap<Uuid, Vec<Vec<RefundShare>>> = BTreeMap::new();
    for (charge_id, allocation) in rows {
        let shares =
            serde_json::from_value(allocation).map_err(|e| DbErr::Custom(e.to_string()))?;
        by_charge.entry(charge_id).or_default().push(shares);
    }
    Ok(by_charge)
}

/// When the pending funds of `owner` in `currency` would all have become available: the
/// latest `available_on` among its captured, unsettled charges (at least `now`). A refund that
/// takes from the pending balance takes from there: settlement moves what pending still holds,
/// so the shortfall shows when the last of those charges settles.
async fn pending_until(
    db: &impl ConnectionTrait,
    livemode: bool,
    owner: Owner,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, DbErr> {
    let mut select = scoped_charges(livemode);
    if let Owner::Seller(seller) = owner {
        select = charges_of_seller(select, livemode, AccountId::from_uuid(seller));
    }
    let latest: Option<Option<DateTime<Utc>>> = select
        .select_only()
        .column_as(charge::Column::AvailableOn.max(), "latest")
        .filter(charge::Column::Currency.eq(currency.api_code()))
        .filter(charge::Column::Captured.eq(true))
        .filter(charge::Column::Settled.eq(false))
        .into_tuple()
        .one(db)
        .await?;
    Ok(latest.flatten().map_or(now, |t| t.max(now)))
}

/// How one owner's debit was taken: from its pending balance, then from available.
#[derive(Debug, Clone, Copy)]
struct Taken {
    owner: Owner,
    from_pending: i64,
    from_available: i64,
}

/// Lines debiting `owner` by `amount`: from its pending account as far as that holds money
/// (guarded, so a concurrent refund cannot take pending below zero), the rest from available
/// (unguarded: the negative-balance rule).
async fn debit_pending_first(
    db: &impl ConnectionTrait,
    livemode: bool,
    owner: Owner,
    currency: Currency,
    amount: i64,
    use_pending: bool,
    lines: &mut Vec<LineSpec>,
) -> Result<Taken, PaymentError> {
    let mut taken = Taken {
        owner,
        from_pending: 0,
        from_available: 0,
    };
    if amount <= 0 {
        return Ok(taken);
    }
    let pending = AccountRef {
        owner,
        kind: AccountKind::Pending,
        currency,
    };
    let available = AccountRef {
        owner,
        kind: AccountKind::Available,
        currency,
    };
    let held = if use_pending {
        journal::balances(db, livemode, pending)
            .await?
            .posted(AccountKind::Pending)
            .max(0)
    } else {
        0
    };
    taken.from_pending = held.min(amount);
    taken.from_available = amount - taken.from_pending;
    if taken.from_pending > 0 {
        lines.push(LineSpec::debit(pending, taken.from_pending).guarded());
    }
    if taken.from_available > 0 {
        lines.push(LineSpec::debit(available, taken.from_available));
    }
    Ok(taken)
}

/// Posts one entry that takes `debits` (owner, amount) from each owner's pending account first
/// and then its available account, beside the given fixed lines (the credit to clearing, the
/// VAT reversed from tax_payable, …). If a concurrent entry drained a pending account between
/// our read and our write, the guard refuses; the attempt is rolled back to a savepoint and
/// everything is taken from available instead. Returns how each owner's debit was taken.
#[allow(clippy::too_many_arguments)]
async fn claw_back(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    key: String,
    kind: &str,
    source_id: Uuid,
    currency: Currency,
    debits: &[(Owner, i64)],
    fixed: Vec<LineSpec>,
    now: DateTime<Utc>,
) -> Result<Vec<Taken>, PaymentError> {
    // One debit per owner: a seller with two splits in a cart reads its pending balance once.
    let mut merged: BTreeMap<Owner, i64> = BTreeMap::new();
    for (owner, amount) in debits {
        *merged.entry(*owner).or_default() += amount;
    }
    for use_pending in [true, false] {
        let mut lines = fixed.clone();
        let mut taken = Vec::with_capacity(merged.len());
        for (owner, amount) in &merged {
            taken.push(
                debit_pending_first(
                    txn,
                    livemode,
                    *owner,
                    currency,
                    *amount,
                    use_pending,
                    &mut lines,
                )
                .await?,
            );
        }
        let entry = NewEntry {
            key: key.clone(),
            kind: kind.to_owned(),
            source_id: Some(source_id),
            pending: false,
            lines,
            effective_at: now,
        };
        let savepoint = txn.begin().await?;
        match journal::post(&savepoint, livemode, entry).await {
            Ok(_) => {
                savepoint.commit().await?;
                return Ok(taken);
            }
            Err(LedgerError::InsufficientFunds(_)) if use_pending => savepoint.rollback().await?,
            Err(e) => return Err(e.into()),
        }
    }
    Err(PaymentError::state(
        "ledger_contention",
        "could not record the movement; retry",
    ))
}

/// The balance transactions of money taken back from owners: one row per balance it moved.
/// What came off the pending balance is `pending` until those funds would have become
/// available; what came off available is available at once. `fee_of` gives an owner's fee on
/// the row (a seller's dispute fee), taken with its first row.
async fn taken_bts(
    db: &impl ConnectionTrait,
    livemode: bool,
    currency: Currency,
    kind: &'static str,
    taken: &[Taken],
    fee_of: impl Fn(Owner) -> i64,
    now: DateTime<Utc>,
) -> Result<Vec<Bt>, DbErr> {
    let mut rows = Vec::new();
    for t in taken {
        // A fee is part of what was taken, so it never exceeds the two rows together.
        let mut fee = fee_of(t.owner);
        if t.from_pending > 0 {
            // The row's fee is inside its amount: give it to the pending row only as far as
            // that row holds it.
            let row_fee = fee.min(t.from_pending);
            fee -= row_fee;
            rows.push(Bt {
                id: None,
                owner: t.owner,
                kind,
                amount: -(t.from_pending - row_fee),
                fee: row_fee,
                fee_tax: 0,
                available_on: pending_until(db, livemode, t.owner, currency, now).await?,
            });
        }
        if t.from_available > 0 {
            rows.push(Bt {
                id: None,
                owner: t.owner,
                kind,
                amount: -(t.from_available - fee),
                fee,
                fee_tax: 0,
                available_on: now,
            });
        }
    }
    Ok(rows)
}

/// A refund, start to end, in the caller's transaction at the mode's clock: checks the charge
/// (`NotFound("charge")` when it is not in this mode), claims the amount on it, allocates it
/// over what remains, claws it back in the ledger, writes the balance transactions and the
/// refund, and records `charge.refunded` (the charge after the refund).
pub async fn create_refund(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    new: NewRefund,
    origin: &crate::infra::events::Origin,
) -> Result<Refund, PaymentError> {
    let now = crate::infra::clock::now(txn, livemode).await?;
    let (refund, charge) = refund_at(txn, livemode, now, new).await?;
    crate::infra::events::record_at(
        txn,
        crate::infra::events::NewEvent {
            livemode,
            account_id: charge.destination_id,
            kind: EventType::ChargeRefunded,
            object: view::ChargeObject::json(&charge)?,
            previous_attributes: None,
        },
        origin,
        now,
    )
    .await?;
    Ok(refund)
}

async fn refund_at(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    now: DateTime<Utc>,
    new: NewRefund,
) -> Result<(Refund, Charge), PaymentError> {
    let charge = find_charge(txn, livemode, new.charge_id)
        .await?
        .ok_or(PaymentError::NotFound("charge"))?;
    if !charge.captured {
        return Err(PaymentError::state(
            "charge_not_refundable",
            format!(
                "this charge is {}; only captured charges can be refunded",
                charge.status.as_str()
            ),
        ));
    }
    if charge.disputed {
        return Err(PaymentError::state(
            "charge_disputed",
            "this charge is disputed; its money is already with the dispute",
        ));
    }
    let remaining = charge.amount_captured - charge.amount_refunded;
    if let Some(amount) = new.amount {
        if amount <= 0 {
            return Err(PaymentError::invalid(
                Field::Amount,
                "amount_invalid",
                "amount must be a positive integer number of minor units",
            ));
        }
    }
    if remaining <= 0 {
        return Err(PaymentError::state(
            "charge_already_refunded",
            "this charge has been refunded in full",
        ));
    }
    let amount = new.amount.unwrap_or(remaining);
    if amount > remaining {
        return Err(PaymentError::invalid(
            Field::Amount,
            "amount_too_large",
            format!("refund at most the {remaining} not yet refunded"),
        ));
    }
    // Conditional, so concurrent refunds can never together exceed what was captured. On
    // PostgreSQL it also locks the charge until commit, so the earlier refunds read below
    // include every refund committed before this one.
    let claimed = charge::Entity::update_many()
        .col_expr(
            charge::Column::AmountRefunded,
            Expr::col(charge::Column::AmountRefunded).add(amount),
        )
        .filter(charge::Column::Id.eq(charge.id))
        .filter(
            Expr::expr(Expr::col(charge::Column::AmountRefunded).add(amount))
                .lte(Expr::col(charge::Column::AmountCaptured)),
        )
        .exec(txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(PaymentError::invalid(
            Field::Amount,
            "amount_too_large",
            "the charge has been refunded meanwhile; less remains",
        ));
    }
    let currency = stored_currency(&charge.currency)?;
    let splits = splits_of(&charge);
    let done = refunded_parts(&splits, &earlier_refunds(txn, livemode, charge.id).await?);
    let shares = refund_shares(
        &splits,
        &done,
        amount,
        new.reverse_transfer,
        new.refund_application_fee,
    )
    .ok_or_else(|| DbErr::Custom("cannot allocate refund".to_owned()))?;
    let id = Uuid::now_v7();
    let debits = shares
        .iter()
        .map(|sh| (Owner::Seller(sh.destination), sh.seller_amount))
        .chain(std::iter::once((
            Owner::Platform,
            shares.iter().map(|sh| sh.platform_amount).sum(),
        )))
        .collect::<Vec<_>>();
    let mut fixed = vec![LineSpec::credit(
        AccountRef::platform(AccountKind::Clearing, currency),
        amount,
    )];
    fixed.extend(vat_reversal(&shares, currency));
    let taken = claw_back(
        txn,
        livemode,
        format!("refund:{id}"),
        "refund",
        id,
        currency,
        &debits,
        fixed,
        now,
    )
    .await?;
    let bts = taken_bts(txn, livemode, currency, "refund", &taken, |_| 0, now).await?;
    record_bts(txn, livemode, currency, ("refund", id), now, bts).await?;
    let refund = refund::ActiveModel {
        id: Set(id),
        livemode: Set(livemode),
        charge_id: Set(charge.id),
        amount: Set(amount),
        currency: Set(charge.currency.clone()),
        reason: Set(new.reason),
        reverse_transfer: Set(new.reverse_transfer),
        refund_application_fee: Set(new.refund_application_fee),
        allocation: Set(to_json(&shares)?),
        metadata: Set(to_json(&new.metadata)?),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    let charge = find_charge(txn, livemode, ChargeId::from_uuid(charge.id))
        .await?
        .ok_or(PaymentError::NotFound("charge"))?;
    Ok((refund, charge))
}

#[derive(Debug, Clone)]
pub struct NewTransfer {
    /// What moves from the platform's available balance to the seller's.
    pub amount: Money,
    pub destination: AccountId,
    pub source_transaction: Option<ChargeId>,
    pub transfer_group: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// Moves money from the platform's available balance to a seller's, in the caller's
/// transaction at the mode's clock, and records `transfer.created`; never more than the
/// platform has (a guarded line, so concurrent transfers cannot overdraw it either).
pub async fn create_transfer(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    new: NewTransfer,
    origin: &crate::infra::events::Origin,
) -> Result<Transfer, PaymentError> {
    let now = crate::infra::clock::now(txn, livemode).await?;
    let t = transfer_at(txn, livemode, now, new).await?;
    record_transfer_event(txn, EventType::TransferCreated, &t, origin, now).await?;
    Ok(t)
}

async fn record_transfer_event(
    txn: &sea_orm::DatabaseTransaction,
    kind: EventType,
    t: &Transfer,
    origin: &crate::infra::events::Origin,
    now: DateTime<Utc>,
) -> Result<(), PaymentError> {
    crate::infra::events::record_at(
        txn,
        crate::infra::events::NewEvent {
            livemode: t.livemode,
            account_id: Some(t.destination_id),
            kind,
            object: view::TransferObject::json(t)?,
            previous_attributes: None,
        },
        origin,
        now,
    )
    .await?;
    Ok(())
}

async fn transfer_at(
    db: &impl ConnectionTrait,
    livemode: bool,
    now: DateTime<Utc>,
    new: NewTransfer,
) -> Result<Transfer, PaymentError> {
    if new.amount.amount_minor <= 0 || new.amount.amount_minor > MAX_AMOUNT {
        return Err(PaymentError::AmountOutOfRange(Field::Amount));
    }
    match agora_onboarding::accounts::find(db, livemode, new.destination.uuid()).await? {
        None => {
            return Err(PaymentError::invalid(
                Field::Destination,
                "resource_missing",
                "no such connected account in this mode",
            ))
        }
        Some(a) if a.rejected_reason.is_some() => {
            return Err(PaymentError::invalid(
                Field::Destination,
                "account_rejected",
                "the connected account was rejected and cannot receive transfers",
            ))
        }
        Some(_) => {}
    }
    if let Some(source) = new.source_transaction {
        let charge = find_charge(db, livemode, source).await?;
        match charge {
            Some(c) if c.captured && c.currency == new.amount.currency.api_code() => {}
            Some(_) => {
                return Err(PaymentError::invalid(
                    Field::SourceTransaction,
                    "source_transaction_invalid",
                    "the source charge must be captured and in the transfer's currency",
                ))
            }
            None => {
                return Err(PaymentError::invalid(
                    Field::SourceTransaction,
                    "resource_missing",
                    "no such charge in this mode",
                ))
            }
        }
    }
    let id = Uuid::now_v7();
    let lines = vec![
        LineSpec::debit(
            AccountRef::platform(AccountKind::Available, new.amount.currency),
            new.amount.amount_minor,
        )
        .guarded(),
        LineSpec::credit(
            AccountRef::seller(
                new.destination.uuid(),
                AccountKind::Available,
                new.amount.currency,
            ),
            new.amount.amount_minor,
        ),
    ];
    match journal::post(
        db,
        livemode,
        NewEntry {
            key: format!("transfer:{id}"),
            kind: "transfer".to_owned(),
            source_id: Some(id),
            pending: false,
            lines,
            effective_at: now,
        },
    )
    .await
    {
        Ok(_) => {}
        Err(LedgerError::InsufficientFunds(_)) => {
            return Err(PaymentError::invalid(
                Field::Amount,
                "balance_insufficient",
                "the platform's available balance in this currency is too low for this transfer",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    record_bts(
        db,
        livemode,
        new.amount.currency,
        ("transfer", id),
        now,
        vec![
            Bt {
                id: None,
                owner: Owner::Platform,
                kind: "transfer",
                amount: -new.amount.amount_minor,
                fee: 0,
                fee_tax: 0,
                available_on: now,
            },
            Bt {
                id: None,
                owner: Owner::Seller(new.destination.uuid()),
                kind: "transfer",
                amount: new.amount.amount_minor,
                fee: 0,
                fee_tax: 0,
                available_on: now,
            },
        ],
    )
    .await?;
    Ok(transfer::ActiveModel {
        id: Set(id),
        livemode: Set(livemode),
        amount: Set(new.amount.amount_minor),
        currency: Set(new.amount.currency.api_code()),
        destination_id: Set(new.destination.uuid()),
        source_transaction: Set(new.source_transaction.map(ChargeId::uuid)),
        transfer_group: Set(new.transfer_group),
        amount_reversed: Set(0),
        metadata: Set(to_json(&new.metadata)?),
        created_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// What `POST /v1/transfers/{id}/reversals` asks.
#[derive(Debug, Clone, Copy)]
pub struct NewReversal {
    pub transfer_id: TransferId,
    /// Default: all that is not yet reversed.
    pub amount: Option<i64>,
}

/// Reverses (part of) a transfer, in the caller's transaction at the mode's clock, and records
/// `transfer.reversed`: the seller gives back to the platform. The seller's available balance
/// may go negative (the negative-balance rule); the reversal can never exceed what is left of
/// the transfer, also under concurrency (a conditional update decides).
pub async fn reverse_transfer(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    new: NewReversal,
    origin: &crate::infra::events::Origin,
) -> Result<Transfer, PaymentError> {
    let now = crate::infra::clock::now(txn, livemode).await?;
    let (t, _) = reversal_at(txn, livemode, now, new.transfer_id.uuid(), new.amount).await?;
    record_transfer_event(txn, EventType::TransferReversed, &t, origin, now).await?;
    Ok(t)
}

async fn reversal_at(
    db: &impl ConnectionTrait,
    livemode: bool,
    now: DateTime<Utc>,
    transfer_id: Uuid,
    amount: Option<i64>,
) -> Result<(Transfer, i64), PaymentError> {
    let t = scoped_transfers(livemode)
        .filter(transfer::Column::Id.eq(transfer_id))
        .one(db)
        .await?
        .ok_or(PaymentError::NotFound("transfer"))?;
    let left = t.amount - t.amount_reversed;
    if amount.is_some_and(|a| a <= 0) {
        return Err(PaymentError::invalid(
            Field::Amount,
            "amount_invalid",
            "amount must be a positive integer number of minor units",
        ));
    }
    if left <= 0 {
        return Err(PaymentError::state(
            "transfer_already_reversed",
            "this transfer has been reversed in full",
        ));
    }
    let amount = amount.unwrap_or(left);
    if amount > left {
        return Err(PaymentError::invalid(
            Field::Amount,
            "amount_too_large",
            format!("reverse at most the {left} not yet reversed"),
        ));
    }
    let claimed = transfer::Entity::update_many()
        .col_expr(
            transfer::Column::AmountReversed,
            Expr::col(transfer::Column::AmountReversed).add(amount),
        )
        .filter(transfer::Column::Id.eq(t.id))
        .filter(
            Expr::expr(Expr::col(transfer::Column::AmountReversed).add(amount))
                .lte(Expr::col(transfer::Column::Amount)),
        )
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(PaymentError::invalid(
            Field::Amount,
            "amount_too_large",
            "the transfer has been reversed meanwhile; less remains",
        ));
    }
    let currency = stored_currency(&t.currency)?;
    let key = format!("transfer:{}:reversal:{}", t.id, Uuid::now_v7());
    journal::post(
        db,
        livemode,
        NewEntry {
            key,
            kind: "transfer.reversal".to_owned(),
            source_id: Some(t.id),
            pending: false,
            lines: vec![
                LineSpec::debit(
                    AccountRef::seller(t.destination_id, AccountKind::Available, currency),
                    amount,
                ),
                LineSpec::credit(
                    AccountRef::platform(AccountKind::Available, currency),
                    amount,
                ),
            ],
            effective_at: now,
        },
    )
    .await?;
    record_bts(
        db,
        livemode,
        currency,
        ("transfer", t.id),
        now,
        vec![
            Bt {
                id: None,
                owner: Owner::Seller(t.destination_id),
                kind: "transfer_reversal",
                amount: -amount,
                fee: 0,
                fee_tax: 0,
                available_on: now,
            },
            Bt {
                id: None,
                owner: Owner::Platform,
                kind: "transfer_reversal",
                amount,
                fee: 0,
                fee_tax: 0,
                available_on: now,
            },
        ],
    )
    .await?;
    let t = scoped_transfers(livemode)
        .filter(transfer::Column::Id.eq(transfer_id))
        .one(db)
        .await?
        .ok_or(PaymentError::NotFound("transfer"))?;
    Ok((t, amount))
}

/// Largest number of charges settled per batch, so one run never holds the writer long.
pub const SETTLE_BATCH: u64 = 200;

/// Moves the shares of charges whose `available_on` has come from pending to available.
/// Each charge is claimed by a conditional update, so concurrent workers never settle one
/// twice; the ledger entry key makes a retry harmless too. Returns the owners whose available
/// balance grew, for `balance.available` events.
pub async fn settle_due(
    db: &impl ConnectionTrait,
    livemode: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Owner>, PaymentError> {
    let due = scoped_charges(livemode)
        .filter(charge::Column::Captured.eq(true))
        .filter(charge::Column::Settled.eq(false))
        .filter(charge::Column::AvailableOn.lte(now))
        .order_by_asc(charge::Column::AvailableOn)
        .limit(SETTLE_BATCH)
        .all(db)
        .await?;
    let mut owners = std::collections::BTreeSet::new();
    for c in due {
        let claimed = charge::Entity::update_many()
            .col_expr(charge::Column::Settled, Expr::value(true))
            .filter(charge::Column::Id.eq(c.id))
            .filter(charge::Column::Settled.eq(false))
            .exec(db)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let currency = stored_currency(&c.currency)?;
        let mut moves: BTreeMap<Owner, i64> = BTreeMap::new();
        for s in splits_of(&c) {
            *moves.entry(Owner::Seller(s.destination)).or_default() += s.net();
        }
        *moves.entry(Owner::Platform).or_default() += c.application_fee_amount;
        let mut lines = Vec::new();
        for (owner, want) in moves {
            // A refund may already have taken part of the pending balance; move what is there.
            let pending = AccountRef {
                owner,
                kind: AccountKind::Pending,
                currency,
            };
            let held = journal::balances(db, livemode, pending)
                .await?
                .posted(AccountKind::Pending)
                .max(0);
            let amount = want.min(held);
            if amount > 0 {
                lines.push(LineSpec::debit(pending, amount).guarded());
                lines.push(LineSpec::credit(
                    AccountRef {
                        owner,
                        kind: AccountKind::Available,
                        currency,
                    },
                    amount,
                ));
                owners.insert(owner);
            }
        }
        if !lines.is_empty() {
            journal::post(
                db,
                livemode,
                NewEntry {
                    key: format!("charge:{}:settle", c.id),
                    kind: "charge.settled".to_owned(),
                    source_id: Some(c.id),
                    pending: false,
                    lines,
                    effective_at: now,
                },
            )
            .await?;
        }
    }
    Ok(owners.into_iter().collect())
}

/// A balance: per currency, what is available and what is pending, for one owner.
#[derive(Debug, Clone, Default)]
pub struct BalanceSummary {
    pub available: BTreeMap<String, i64>,
    pub pending: BTreeMap<String, i64>,
}

pub async fn balance(
    db: &impl ConnectionTrait,
    livemode: bool,
    owner: Owner,
) -> Result<BalanceSummary, DbErr> {
    let mut summary = BalanceSummary::default();
    for (account, balances) in journal::owner_accounts(db, livemode, owner).await? {
        let code = account.currency.api_code();
        match account.kind {
            AccountKind::Available => {
                *summary.available.entry(code).or_default() +=
                    balances.posted(AccountKind::Available);
            }
            AccountKind::Pending => {
                *summary.pending.entry(code).or_default() += balances.posted(AccountKind::Pending);
            }
            _ => {}
        }
    }
    Ok(summary)
}

pub fn scoped_disputes(livemode: bool) -> Select<dispute::Entity> {
    dispute::Entity::find().filter(dispute::Column::Livemode.eq(livemode))
}

/// The dispute fee: `major_units` of the charge's currency (15 → 15.00 EUR, 15 JPY, 15.000 KWD).
pub fn dispute_fee(currency: Currency, major_units: u32) -> i64 {
    i64::from(major_units) * 10i64.pow(currency.exponent())
}

/// Opens a dispute on a charge in the caller's transaction at the mode's clock and records
/// `charge.dispute.created` (the dispute, with the charge as `charge_object`). The test
/// helper and the dispute test card (`pm_card_createDispute`) both come here.
pub async fn dispute_charge(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    charge_id: ChargeId,
    reason: &str,
    fee_major_units: u32,
    origin: &crate::infra::events::Origin,
) -> Result<Dispute, PaymentError> {
    let now = crate::infra::clock::now(txn, livemode).await?;
    let (d, charge) = open_dispute(txn, livemode, now, charge_id, reason, fee_major_units).await?;
    let mut object = view::DisputeObject::json(&d)?;
    object["charge_object"] = view::ChargeObject::json(&charge)?;
    crate::infra::events::record_at(
        txn,
        crate::infra::events::NewEvent {
            livemode,
            account_id: charge.destination_id,
            kind: EventType::ChargeDisputeCreated,
            object,
            previous_attributes: None,
        },
        origin,
        now,
    )
    .await?;
    Ok(d)
}

/// Opens a dispute on a captured charge for what was not refunded: that amount goes back to
/// clearing from the sellers (net) and the platform (fee) as in a full refund, and each
/// seller also pays `fee_major_units` of dispute fee (split over a cart's sellers in
/// proportion) to the platform:
/// Dr seller 90 · Dr platform 10 · Cr clearing 100; Dr seller 15 · Cr platform 15.
pub async fn open_dispute(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    now: DateTime<Utc>,
    charge_id: ChargeId,
    reason: &str,
    fee_major_units: u32,
) -> Result<(Dispute, Charge), PaymentError> {
    let charge = find_charge(txn, livemode, charge_id)
        .await?
        .ok_or(PaymentError::NotFound("charge"))?;
    if !charge.captured {
        return Err(PaymentError::state(
            "charge_not_disputable",
            "only captured charges can be disputed",
        ));
    }
    let amount = charge.amount_captured - charge.amount_refunded;
    if charge.disputed || amount <= 0 {
        return Err(PaymentError::state(
            "charge_not_disputable",
            "this charge is already disputed or fully refunded",
        ));
    }
    // Claim it: concurrent disputes (or a refund racing this) see `disputed` set.
    let claimed = charge::Entity::update_many()
        .col_expr(charge::Column::Disputed, Expr::value(true))
        .filter(charge::Column::Id.eq(charge.id))
        .filter(charge::Column::Disputed.eq(false))
        .filter(charge::Column::AmountRefunded.eq(charge.amount_refunded))
        .exec(txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(PaymentError::state(
            "charge_not_disputable",
            "the charge changed meanwhile; retry",
        ));
    }
    let currency = stored_currency(&charge.currency)?;
    let splits = splits_of(&charge);
    // The dispute takes what refunds left: each component exactly, the fee's VAT included.
    let done = refunded_parts(&splits, &earlier_refunds(txn, livemode, charge.id).await?);
    let shares = refund_shares(&splits, &done, amount, true, true)
        .ok_or_else(|| DbErr::Custom("cannot allocate dispute".to_owned()))?;
    let fee = dispute_fee(currency, fee_major_units);
    let fees = allocate(fee, &splits.iter().map(|sp| sp.amount).collect::<Vec<_>>())
        .ok_or_else(|| DbErr::Custom("cannot allocate dispute fee".to_owned()))?;
    let id = Uuid::now_v7();
    let mut debits: Vec<(Owner, i64)> = shares
        .iter()
        .zip(&fees)
        .map(|(sh, f)| (Owner::Seller(sh.destination), sh.seller_amount + f))
        .collect();
    debits.push((
        Owner::Platform,
        shares.iter().map(|sh| sh.platform_amount).sum(),
    ));
    let mut fixed = vec![LineSpec::credit(
        AccountRef::platform(AccountKind::Clearing, currency),
        amount,
    )];
    if fee > 0 {
        fixed.push(LineSpec::credit(
            AccountRef::platform(AccountKind::Available, currency),
            fee,
        ));
    }
    fixed.extend(vat_reversal(&shares, currency));
    let taken = claw_back(
        txn,
        livemode,
        format!("dispute:{id}:open"),
        "dispute.opened",
        id,
        currency,
        &debits,
        fixed,
        now,
    )
    .await?;
    let mut seller_fees: BTreeMap<Owner, i64> = BTreeMap::new();
    for (sh, f) in shares.iter().zip(&fees) {
        *seller_fees
            .entry(Owner::Seller(sh.destination))
            .or_default() += f;
    }
    let fee_of = |owner: Owner| seller_fees.get(&owner).copied().unwrap_or(0);
    let mut bts = taken_bts(txn, livemode, currency, "dispute", &taken, fee_of, now).await?;
    bts.push(Bt {
        id: None,
        owner: Owner::Platform,
        kind: "dispute_fee",
        amount: fee,
        fee: 0,
        fee_tax: 0,
        available_on: now,
    });
    record_bts(txn, livemode, currency, ("dispute", id), now, bts).await?;
    let dispute = dispute::ActiveModel {
        id: Set(id),
        livemode: Set(livemode),
        charge_id: Set(charge.id),
        amount: Set(amount),
        fee: Set(fee),
        currency: Set(charge.currency.clone()),
        reason: Set(reason.to_owned()),
        status: Set(DisputeStatus::NeedsResponse),
        allocation: Set(to_json(&shares)?),
        created_at: Set(now),
        closed_at: Set(None),
    }
    .insert(txn)
    .await?;
    let charge = find_charge(txn, livemode, ChargeId::from_uuid(charge.id))
        .await?
        .ok_or(PaymentError::NotFound("charge"))?;
    Ok((dispute, charge))
}

/// What `POST /v1/disputes/{id}/close` asks.
#[derive(Debug, Clone, Copy)]
pub struct DisputeClosing {
    pub dispute_id: DisputeId,
    /// Won (the money comes back) or lost.
    pub won: bool,
}

/// Closes a dispute in the caller's transaction at the mode's clock and records
/// `charge.dispute.closed` (for the charge's destination). Won: the disputed amount comes
/// back (Cr the sellers' and platform's available, Dr clearing); the dispute fee stays paid.
/// Lost: nothing moves.
pub async fn close_dispute(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    closing: DisputeClosing,
    origin: &crate::infra::events::Origin,
) -> Result<Dispute, PaymentError> {
    let now = crate::infra::clock::now(txn, livemode).await?;
    let d = close_at(txn, livemode, now, closing.dispute_id.uuid(), closing.won).await?;
    let account = find_charge(txn, livemode, ChargeId::from_uuid(d.charge_id))
        .await?
        .and_then(|c| c.destination_id);
    crate::infra::events::record_at(
        txn,
        crate::infra::events::NewEvent {
            livemode,
            account_id: account,
            kind: EventType::ChargeDisputeClosed,
            object: view::DisputeObject::json(&d)?,
            previous_attributes: None,
        },
        origin,
        now,
    )
    .await?;
    Ok(d)
}

async fn close_at(
    db: &impl ConnectionTrait,
    livemode: bool,
    now: DateTime<Utc>,
    dispute_id: Uuid,
    won: bool,
) -> Result<Dispute, PaymentError> {
    let d = scoped_disputes(livemode)
        .filter(dispute::Column::Id.eq(dispute_id))
        .one(db)
        .await?
        .ok_or(PaymentError::NotFound("dispute"))?;
    let status = if won {
        DisputeStatus::Won
    } else {
        DisputeStatus::Lost
    };
    let closed = dispute::Entity::update_many()
        .col_expr(dispute::Column::Status, Expr::value(status.as_str()))
        .col_expr(dispute::Column::ClosedAt, Expr::value(now))
        .filter(dispute::Column::Id.eq(d.id))
        .filter(dispute::Column::Status.eq(DisputeStatus::NeedsResponse))
        .exec(db)
        .await?;
    if closed.rows_affected != 1 {
        return Err(PaymentError::state(
            "dispute_closed",
            format!("this dispute is already closed ({})", d.status.as_str()),
        ));
    }
    if won {
        let currency = stored_currency(&d.currency)?;
        let shares: Vec<RefundShare> =
            serde_json::from_value(d.allocation.clone()).unwrap_or_default();
        let mut lines = vec![LineSpec::debit(
            AccountRef::platform(AccountKind::Clearing, currency),
            d.amount,
        )];
        for sh in &shares {
            if sh.seller_amount > 0 {
                lines.push(LineSpec::credit(
                    AccountRef::seller(sh.destination, AccountKind::Available, currency),
                    sh.seller_amount,
                ));
            }
        }
        let platform: i64 = shares.iter().map(|sh| sh.platform_amount).sum();
        if platform > 0 {
            lines.push(LineSpec::credit(
                AccountRef::platform(AccountKind::Available, currency),
                platform,
            ));
        }
        // The payment stands again: so does the fee, and the VAT on it is owed again.
        let tax: i64 = shares.iter().map(|sh| sh.tax_amount).sum();
        if tax > 0 {
            lines.push(LineSpec::credit(
                AccountRef::platform(AccountKind::TaxPayable, currency),
                tax,
            ));
        }
        journal::post(
            db,
            livemode,
            NewEntry {
                key: format!("dispute:{}:won", d.id),
                kind: "dispute.won".to_owned(),
                source_id: Some(d.id),
                pending: false,
                lines,
                effective_at: now,
            },
        )
        .await?;
        let mut bts: Vec<Bt> = shares
            .iter()
            .map(|sh| Bt {
                id: None,
                owner: Owner::Seller(sh.destination),
                kind: "dispute_reversal",
                amount: sh.seller_amount,
                fee: 0,
                fee_tax: 0,
                available_on: now,
            })
            .collect();
        bts.push(Bt {
            id: None,
            owner: Owner::Platform,
            kind: "dispute_reversal",
            amount: platform,
            fee: 0,
            fee_tax: 0,
            available_on: now,
        });
        record_bts(db, livemode, currency, ("dispute", d.id), now, bts).await?;
    }
    scoped_disputes(livemode)
        .filter(dispute::Column::Id.eq(d.id))
        .one(db)
        .await?
        .ok_or(PaymentError::NotFound("dispute"))
}

// Last in the file: the source checks (layers, event types) read what comes before the first
// `#[cfg(test)]` as the shipped code.
#[cfg(test)]
mod refund_props;
