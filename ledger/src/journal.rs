//! Posting journal entries: balanced per currency, append-only, idempotent by key, with
//! balances kept in the same transaction as the lines, and two-phase (pending) entries.
//!
//! Every function takes any [`ConnectionTrait`]; the caller runs them inside its transaction
//! so a business change and its money movement commit together. On any error the caller must
//! roll back: a failed guard leaves earlier statements of the entry applied until then.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::entity::entry::EntryStatus;
use crate::entity::{account, entry, line};
use crate::money::Currency;

/// Who an account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    Platform,
    Seller(Uuid),
}

impl Owner {
    pub fn id(self) -> Uuid {
        match self {
            Owner::Platform => Uuid::nil(),
            Owner::Seller(id) => id,
        }
    }

    pub fn from_id(id: Uuid) -> Self {
        if id.is_nil() {
            Owner::Platform
        } else {
            Owner::Seller(id)
        }
    }
}

/// The chart of accounts of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountKind {
    /// Captured by the processor, not yet settled to the bank (platform; debit-normal).
    Clearing,
    /// Funds not yet available (platform and sellers; credit-normal).
    Pending,
    /// Funds that can be transferred or paid out (platform and sellers; credit-normal).
    Available,
    /// Held back from a seller (credit-normal).
    Reserved,
    TaxPayable,
    ProcessingCosts,
    Bank,
    PayoutsInTransit,
    Fx,
    Losses,
}

impl AccountKind {
    pub const ALL: [AccountKind; 10] = [
        AccountKind::Clearing,
        AccountKind::Pending,
        AccountKind::Available,
        AccountKind::Reserved,
        AccountKind::TaxPayable,
        AccountKind::ProcessingCosts,
        AccountKind::Bank,
        AccountKind::PayoutsInTransit,
        AccountKind::Fx,
        AccountKind::Losses,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Clearing => "clearing",
            AccountKind::Pending => "pending",
            AccountKind::Available => "available",
            AccountKind::Reserved => "reserved",
            AccountKind::TaxPayable => "tax_payable",
            AccountKind::ProcessingCosts => "processing_costs",
            AccountKind::Bank => "bank",
            AccountKind::PayoutsInTransit => "payouts_in_transit",
            AccountKind::Fx => "fx",
            AccountKind::Losses => "losses",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Balances owed to someone (credit-normal) read as credits minus debits; assets
    /// (clearing, bank, in transit, costs, losses) as debits minus credits.
    pub fn credit_normal(self) -> bool {
        matches!(
            self,
            AccountKind::Pending
                | AccountKind::Available
                | AccountKind::Reserved
                | AccountKind::TaxPayable
                | AccountKind::Fx
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountRef {
    pub owner: Owner,
    pub kind: AccountKind,
    pub currency: Currency,
}

impl AccountRef {
    pub fn platform(kind: AccountKind, currency: Currency) -> Self {
        Self {
            owner: Owner::Platform,
            kind,
            currency,
        }
    }

    pub fn seller(seller: Uuid, kind: AccountKind, currency: Currency) -> Self {
        Self {
            owner: Owner::Seller(seller),
            kind,
            currency,
        }
    }
}

impl fmt::Display for AccountRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.owner {
            Owner::Platform => write!(f, "platform.{}.{}", self.kind.as_str(), self.currency),
            Owner::Seller(id) => write!(f, "seller[{id}].{}.{}", self.kind.as_str(), self.currency),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Debit,
    Credit,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }
}

/// What a line may not do to its account's posted balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Anything goes (e.g. a refund may take a seller's available balance below zero).
    None,
    /// The account's posted balance, read by its normal side, must stay ≥ 0 after the entry.
    NonNegative,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSpec {
    pub account: AccountRef,
    pub side: Side,
    pub amount_minor: i64,
    pub guard: Guard,
}

impl LineSpec {
    pub fn debit(account: AccountRef, amount_minor: i64) -> Self {
        Self {
            account,
            side: Side::Debit,
            amount_minor,
            guard: Guard::None,
        }
    }

    pub fn credit(account: AccountRef, amount_minor: i64) -> Self {
        Self {
            account,
            side: Side::Credit,
            amount_minor,
            guard: Guard::None,
        }
    }

    pub fn guarded(mut self) -> Self {
        self.guard = Guard::NonNegative;
        self
    }
}

#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Unique per mode; a second post with the same key returns the first entry.
    pub key: String,
    pub kind: String,
    pub source_id: Option<Uuid>,
    /// A two-phase entry: moves pending balances until resolved.
    pub pending: bool,
    pub lines: Vec<LineSpec>,
    pub effective_at: DateTime<Utc>,
}

/// Most lines one entry may carry: a cart of many sellers still fits; a runaway loop does not.
pub const MAX_LINES: usize = 512;
pub const MAX_KEY_LEN: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("an entry needs at least two lines")]
    TooFewLines,
    #[error("an entry may have at most {MAX_LINES} lines")]
    TooManyLines,
    #[error("entry key must be 1 to {MAX_KEY_LEN} characters")]
    BadKey,
    #[error("line amounts must be positive, got {0}")]
    NonPositiveAmount(i64),
    #[error("entry does not balance in {currency}: debits {debits}, credits {credits}")]
    Unbalanced {
        currency: Currency,
        debits: i64,
        credits: i64,
    },
    #[error("amount overflow")]
    Overflow,
    #[error("insufficient funds in {0}")]
    InsufficientFunds(AccountRef),
    #[error("no such pending entry")]
    PendingNotFound,
    #[error("the pending entry is already resolved")]
    AlreadyResolved,
    #[error("a posting must use the pending entry's accounts and sides, each at most its pending amount")]
    ExceedsPending,
    #[error("the entry key is already used by a different entry")]
    KeyConflict,
    #[error("a guarded line cannot join a batch: post its entry on its own")]
    GuardedInBatch,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Checks an entry's shape before any statement runs: 2..=MAX_LINES positive lines that
/// balance per currency.
pub fn check_balanced(lines: &[LineSpec]) -> Result<(), LedgerError> {
    if lines.len() < 2 {
        return Err(LedgerError::TooFewLines);
    }
    if lines.len() > MAX_LINES {
        return Err(LedgerError::TooManyLines);
    }
    let mut sums: BTreeMap<Currency, (i64, i64)> = BTreeMap::new();
    for l in lines {
        if l.amount_minor <= 0 {
            return Err(LedgerError::NonPositiveAmount(l.amount_minor));
        }
        let sum = sums.entry(l.account.currency).or_default();
        let slot = match l.side {
            Side::Debit => &mut sum.0,
            Side::Credit => &mut sum.1,
        };
        *slot = slot
            .checked_add(l.amount_minor)
            .ok_or(LedgerError::Overflow)?;
    }
    for (currency, (debits, credits)) in sums {
        if debits != credits {
            return Err(LedgerError::Unbalanced {
                currency,
                debits,
                credits,
            });
        }
    }
    Ok(())
}

/// Finds or creates the ledger accounts `refs` (accounts are created on first use), in two
/// statements when all exist, four when some are new, whatever their number. Safe under
/// concurrency: the unique key decides, the loser reads the winner's row.
pub(crate) async fn ensure_accounts(
    db: &impl ConnectionTrait,
    livemode: bool,
    refs: &BTreeSet<AccountRef>,
    now: DateTime<Utc>,
) -> Result<BTreeMap<AccountRef, Uuid>, DbErr> {
    let mut ids = find_accounts(db, livemode, refs).await?;
    let missing: BTreeSet<AccountRef> = refs
        .iter()
        .filter(|r| !ids.contains_key(r))
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok(ids);
    }
    let rows = missing.iter().map(|account| account::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(livemode),
        owner_id: Set(account.owner.id()),
        kind: Set(account.kind.as_str().to_owned()),
        currency: Set(account.currency.code().to_owned()),
        posted_debits: Set(0),
        posted_credits: Set(0),
        pending_debits: Set(0),
        pending_credits: Set(0),
        created_at: Set(now),
    });
    account::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                account::Column::Livemode,
                account::Column::OwnerId,
                account::Column::Kind,
                account::Column::Currency,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    ids.extend(find_accounts(db, livemode, &missing).await?);
    match missing.iter().find(|r| !ids.contains_key(r)) {
        Some(account) => Err(DbErr::RecordNotFound(format!("ledger account {account}"))),
        None => Ok(ids),
    }
}

/// The ids of those of `refs` that exist, in one query.
async fn find_accounts(
    db: &impl ConnectionTrait,
    livemode: bool,
    refs: &BTreeSet<AccountRef>,
) -> Result<BTreeMap<AccountRef, Uuid>, DbErr> {
    let owners: BTreeSet<Uuid> = refs.iter().map(|r| r.owner.id()).collect();
    let kinds: BTreeSet<&str> = refs.iter().map(|r| r.kind.as_str()).collect();
    let currencies: BTreeSet<&str> = refs.iter().map(|r| r.currency.code()).collect();
    let rows = account::Entity::find()
        .filter(account::Column::Livemode.eq(livemode))
        .filter(account::Column::OwnerId.is_in(owners))
        .filter(account::Column::Kind.is_in(kinds))
        .filter(account::Column::Currency.is_in(currencies))
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| account_ref(row).map(|r| (r, row.id)))
        .filter(|(r, _)| refs.contains(r))
        .collect())
}

async fn account_row(
    db: &impl ConnectionTrait,
    livemode: bool,
    account: AccountRef,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::Livemode.eq(livemode))
        .filter(account::Column::OwnerId.eq(account.owner.id()))
        .filter(account::Column::Kind.eq(account.kind.as_str()))
        .filter(account::Column::Currency.eq(account.currency.code()))
        .one(db)
        .await
}

/// Balances of one account, all in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balances {
    pub posted_debits: i64,
    pub posted_credits: i64,
    pub pending_debits: i64,
    pub pending_credits: i64,
}

impl Balances {
    /// The posted balance read by the account's normal side.
    pub fn posted(&self, kind: AccountKind) -> i64 {
        if kind.credit_normal() {
            self.posted_credits - self.posted_debits
        } else {
            self.posted_debits - self.posted_credits
        }
    }

    /// The pending (two-phase, unresolved) balance read by the account's normal side.
    pub fn pending(&self, kind: AccountKind) -> i64 {
        if kind.credit_normal() {
            self.pending_credits - self.pending_debits
        } else {
            self.pending_debits - self.pending_credits
        }
    }
}

pub async fn balances(
    db: &impl ConnectionTrait,
    livemode: bool,
    account: AccountRef,
) -> Result<Balances, DbErr> {
    Ok(account_row(db, livemode, account)
        .await?
        .map(|a| Balances {
            posted_debits: a.posted_debits,
            posted_credits: a.posted_credits,
            pending_debits: a.pending_debits,
            pending_credits: a.pending_credits,
        })
        .unwrap_or_default())
}

/// Every account of one owner, with its balances.
pub async fn owner_accounts(
    db: &impl ConnectionTrait,
    livemode: bool,
    owner: Owner,
) -> Result<Vec<(AccountRef, Balances)>, DbErr> {
    let rows = account::Entity::find()
        .filter(account::Column::Livemode.eq(livemode))
        .filter(account::Column::OwnerId.eq(owner.id()))
        .order_by_asc(account::Column::Currency)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|a| {
            let kind = AccountKind::parse(&a.kind)?;
            let currency = Currency::parse(&a.currency).ok()?;
            Some((
                AccountRef {
                    owner,
                    kind,
                    currency,
                },
                Balances {
                    posted_debits: a.posted_debits,
                    posted_credits: a.posted_credits,
                    pending_debits: a.pending_debits,
                    pending_credits: a.pending_credits,
                },
            ))
        })
        .collect())
}

/// The result of a post: the entry, and whether this call recorded it or found it recorded.
#[derive(Debug, Clone)]
pub struct Posted {
    pub entry: entry::Model,
    pub replayed: bool,
}

/// Posts a balanced entry. With a key already used in this mode it changes nothing and
/// returns the earlier entry (`replayed`), or `KeyConflict` if that entry differs in kind.
pub async fn post(
    db: &impl ConnectionTrait,
    livemode: bool,
    new: NewEntry,
) -> Result<Posted, LedgerError> {
    check_balanced(&new.lines)?;
    check_key(&new.key)?;
    let status = if new.pending {
        EntryStatus::Pending
    } else {
        EntryStatus::Posted
    };
    let (entry, inserted) = insert_entry(db, livemode, &new, status, None).await?;
    if !inserted {
        if entry.kind != new.kind || entry.source_id != new.source_id {
            return Err(LedgerError::KeyConflict);
        }
        return Ok(Posted {
            entry,
            replayed: true,
        });
    }
    write_lines(
        db,
        livemode,
        entry.id,
        &new.lines,
        new.pending,
        new.effective_at,
    )
    .await?;
    Ok(Posted {
        entry,
        replayed: false,
    })
}

pub(crate) fn check_key(key: &str) -> Result<(), LedgerError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(LedgerError::BadKey);
    }
    Ok(())
}

async fn insert_entry(
    db: &impl ConnectionTrait,
    livemode: bool,
    new: &NewEntry,
    status: EntryStatus,
    pending_id: Option<Uuid>,
) -> Result<(entry::Model, bool), LedgerError> {
    let model = entry::Model {
        id: Uuid::now_v7(),
        livemode,
        key: new.key.clone(),
        kind: new.kind.clone(),
        source_id: new.source_id,
        status,
        pending_id,
        effective_at: new.effective_at,
        created_at: Utc::now(),
    };
    let row: entry::ActiveModel = model.clone().into();
    let inserted = entry::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([entry::Column::Livemode, entry::Column::Key])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if inserted == 1 {
        crate::count_entries(livemode, 1);
        // The row is exactly what we wrote: no need to read it back.
        return Ok((model, true));
    }
    let found = entry::Entity::find()
        .filter(entry::Column::Livemode.eq(livemode))
        .filter(entry::Column::Key.eq(new.key.clone()))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("journal entry {}", new.key)))?;
    Ok((found, false))
}

/// Inserts the lines (one multi-row statement) and applies their sums to each distinct
/// account once, guarded where asked.
async fn write_lines(
    db: &impl ConnectionTrait,
    livemode: bool,
    entry_id: Uuid,
    lines: &[LineSpec],
    pending: bool,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let refs: BTreeSet<AccountRef> = lines.iter().map(|l| l.account).collect();
    let ids = ensure_accounts(db, livemode, &refs, now).await?;
    let rows: Vec<line::ActiveModel> = lines
        .iter()
        .map(|l| line::ActiveModel {
            id: Set(Uuid::now_v7()),
            entry_id: Set(entry_id),
            account_id: Set(ids[&l.account]),
            currency: Set(l.account.currency.code().to_owned()),
            side: Set(l.side.as_str().to_owned()),
            amount_minor: Set(l.amount_minor),
            pending: Set(pending),
        })
        .collect();
    line::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;

    let mut deltas: BTreeMap<AccountRef, (i64, i64, bool)> = BTreeMap::new();
    for l in lines {
        // Checked by `check_balanced` before anything was written; asserted again here, in
        // release builds too, because a violation is a bug in this module, never bad input,
        // and writing it would break the books for good.
        assert!(
            l.amount_minor > 0,
            "ledger: entry {entry_id} has a line of {} minor units",
            l.amount_minor
        );
        let d = deltas.entry(l.account).or_insert((0, 0, false));
        match l.side {
            Side::Debit => {
                d.0 =
                    d.0.checked_add(l.amount_minor)
                        .ok_or(LedgerError::Overflow)?
            }
            Side::Credit => {
                d.1 =
                    d.1.checked_add(l.amount_minor)
                        .ok_or(LedgerError::Overflow)?
            }
        }
        d.2 |= l.guard == Guard::NonNegative;
    }
    // What the balances will move by must balance per currency, exactly as the lines did: the
    // aggregation per account may not lose or invent money.
    let mut net: BTreeMap<Currency, i128> = BTreeMap::new();
    for (account, (debits, credits, _)) in &deltas {
        *net.entry(account.currency).or_default() += i128::from(*debits) - i128::from(*credits);
    }
    for (currency, n) in net {
        assert_eq!(
            n,
            0,
            "ledger: entry {entry_id} moves balances unevenly in {}",
            currency.code()
        );
    }
    // Guarded accounts get a statement each (the guard is its condition, and which account
    // lacked the funds must be known).
    // PostgreSQL locks rows as it updates them: one UPDATE per account, in the one global order
    // of `AccountRef` (platform before sellers), so two entries over the same hot accounts
    // queue instead of deadlocking. (A multi-row UPDATE locks in its plan's scan order, and
    // two of them deadlock under load.) SQLite has one writer and no row locks: there the
    // unguarded accounts move in one statement.
    let one_statement = db.get_database_backend() == sea_orm::DbBackend::Sqlite;
    let mut together = Vec::new();
    for (account, (debits, credits, guarded)) in deltas {
        if (guarded && !pending) || !one_statement {
            apply_delta(
                db,
                ids[&account],
                account,
                debits,
                credits,
                pending,
                guarded,
            )
            .await?;
        } else {
            together.push((ids[&account], debits, credits));
        }
    }
    apply_unguarded(db, together, pending).await
}

/// The debit and credit columns a pending or posted line moves.
fn balance_columns(pending: bool) -> (account::Column, account::Column) {
    if pending {
        (
            account::Column::PendingDebits,
            account::Column::PendingCredits,
        )
    } else {
        (
            account::Column::PostedDebits,
            account::Column::PostedCredits,
        )
    }
}

/// One relative UPDATE for every `(account id, debits, credits)`: `col = col + CASE id WHEN …
/// THEN … END` (SQLite only: see `write_lines`).
async fn apply_unguarded(
    db: &impl ConnectionTrait,
    mut moves: Vec<(Uuid, i64, i64)>,
    pending: bool,
) -> Result<(), LedgerError> {
    let (dcol, ccol) = balance_columns(pending);
    moves.sort_unstable_by_key(|m| m.0);
    let Some((first, rest)) = moves.split_first() else {
        return Ok(());
    };
    let step = |col: account::Column, pick: fn(&(Uuid, i64, i64)) -> i64| {
        let mut case = Expr::case(account::Column::Id.eq(first.0), pick(first));
        for m in rest {
            case = case.case(account::Column::Id.eq(m.0), pick(m));
        }
        let by_account: sea_orm::sea_query::SimpleExpr = case.finally(0i64).into();
        Expr::col(col).add(by_account)
    };
    let result = account::Entity::update_many()
        .col_expr(dcol, step(dcol, |m| m.1))
        .col_expr(ccol, step(ccol, |m| m.2))
        .filter(account::Column::Id.is_in(moves.iter().map(|m| m.0)))
        .exec(db)
        .await?;
    // Every account exists (ensure_accounts): anything else is a bug, and half a move would
    // break the books.
    assert_eq!(
        result.rows_affected,
        moves.len() as u64,
        "ledger: a balance update missed an account"
    );
    Ok(())
}

/// One relative UPDATE per account: no read-modify-write, so concurrent entries on the same
/// account add up correctly. A guard becomes a condition of the same statement.
async fn apply_delta(
    db: &impl ConnectionTrait,
    id: Uuid,
    account: AccountRef,
    debits: i64,
    credits: i64,
    pending: bool,
    guarded: bool,
) -> Result<(), LedgerError> {
    let (dcol, ccol) = balance_columns(pending);
    let mut update = account::Entity::update_many()
        .col_expr(dcol, Expr::col(dcol).add(debits))
        .col_expr(ccol, Expr::col(ccol).add(credits))
        .filter(account::Column::Id.eq(id));
    if guarded && !pending {
        // Balance after the entry, read by the normal side, must be ≥ 0.
        let after = if account.kind.credit_normal() {
            Expr::col(ccol)
                .add(credits)
                .sub(Expr::col(dcol))
                .sub(debits)
        } else {
            Expr::col(dcol)
                .add(debits)
                .sub(Expr::col(ccol))
                .sub(credits)
        };
        update = update.filter(Expr::expr(after).gte(0));
    }
    let result = update.exec(db).await?;
    if result.rows_affected != 1 {
        return Err(LedgerError::InsufficientFunds(account));
    }
    Ok(())
}

/// How to resolve a pending entry.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Post these lines (same accounts and sides as the pending lines, each amount at most
    /// the pending amount; balanced). The rest is released.
    Post(Vec<LineSpec>),
    /// Release everything; nothing is posted.
    Void,
}

/// Resolves a pending entry exactly once: its pending amounts are released and, for a post,
/// the given lines are posted. A second resolution fails with `AlreadyResolved` (the unique
/// index on `pending_id` decides races).
pub async fn resolve(
    db: &impl ConnectionTrait,
    livemode: bool,
    pending_id: Uuid,
    key: String,
    kind: String,
    resolution: Resolution,
    effective_at: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    check_key(&key)?;
    let pending_entry = entry::Entity::find_by_id(pending_id)
        .filter(entry::Column::Livemode.eq(livemode))
        .filter(entry::Column::Status.eq(EntryStatus::Pending))
        .one(db)
        .await?
        .ok_or(LedgerError::PendingNotFound)?;
    let pending_lines = line::Entity::find()
        .filter(line::Column::EntryId.eq(pending_id))
        .all(db)
        .await?;
    let accounts = account::Entity::find()
        .filter(
            account::Column::Id.is_in(
                pending_lines
                    .iter()
                    .map(|l| l.account_id)
                    .collect::<Vec<_>>(),
            ),
        )
        .all(db)
        .await?;
    let by_id: BTreeMap<Uuid, &account::Model> = accounts.iter().map(|a| (a.id, a)).collect();

    // What each (account, side) holds pending.
    let mut held: BTreeMap<(AccountRef, &'static str), (Uuid, i64)> = BTreeMap::new();
    for l in &pending_lines {
        let a = by_id
            .get(&l.account_id)
            .ok_or(LedgerError::PendingNotFound)?;
        let account = account_ref(a).ok_or(LedgerError::PendingNotFound)?;
        let side = if l.side == "debit" { "debit" } else { "credit" };
        let slot = held.entry((account, side)).or_insert((a.id, 0));
        slot.1 = slot
            .1
            .checked_add(l.amount_minor)
            .ok_or(LedgerError::Overflow)?;
    }
    let (status, lines) = match &resolution {
        Resolution::Void => (EntryStatus::ResolutionVoid, Vec::new()),
        Resolution::Post(lines) => {
            check_balanced(lines)?;
            let mut used: BTreeMap<(AccountRef, &'static str), i64> = BTreeMap::new();
            // Every held account is of the currency its pending lines were written in.
            for l in &pending_lines {
                if let Some(a) = by_id.get(&l.account_id) {
                    assert_eq!(
                        a.currency, l.currency,
                        "ledger: pending line {} is not in its account's currency",
                        l.id
                    );
                }
            }
            for l in lines {
                let k = (l.account, l.side.as_str());
                let u = used.entry(k).or_default();
                *u = u.checked_add(l.amount_minor).ok_or(LedgerError::Overflow)?;
                match held.get(&k) {
                    Some((_, max)) if *u <= *max => {}
                    _ => return Err(LedgerError::ExceedsPending),
                }
            }
            (EntryStatus::ResolutionPost, lines.clone())
        }
    };
    let new = NewEntry {
        key,
        kind,
        source_id: pending_entry.source_id,
        pending: false,
        lines: lines.clone(),
        effective_at,
    };
    let id = Uuid::now_v7();
    let row = entry::ActiveModel {
        id: Set(id),
        livemode: Set(livemode),
        key: Set(new.key.clone()),
        kind: Set(new.kind.clone()),
        source_id: Set(new.source_id),
        status: Set(status),
        pending_id: Set(Some(pending_id)),
        effective_at: Set(effective_at),
        created_at: Set(Utc::now()),
    };
    // Both unique keys (entry key, pending id) guard against a second resolution; either
    // conflict means it happened already.
    let inserted = entry::Entity::insert(row)
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    if inserted != 1 {
        let earlier = entry::Entity::find()
            .filter(entry::Column::PendingId.eq(pending_id))
            .one(db)
            .await?;
        return match earlier {
            Some(e) if e.key == new.key => Ok(Posted {
                entry: e,
                replayed: true,
            }),
            _ => Err(LedgerError::AlreadyResolved),
        };
    }
    crate::count_entries(livemode, 1);
    let entry = entry::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("resolution entry".to_owned()))?;
    // Once only: the unique index on pending_id made ours the one resolution. Asserted (in
    // release builds too) before any balance moves, so a lost index would stop here rather
    // than release the same pending amounts twice.
    let resolutions = entry::Entity::find()
        .filter(entry::Column::Livemode.eq(livemode))
        .filter(entry::Column::PendingId.eq(pending_id))
        .count(db)
        .await?;
    assert_eq!(
        resolutions, 1,
        "ledger: pending entry {pending_id} has {resolutions} resolutions"
    );
    // Release what was pending.
    for ((account, side), (account_id, amount)) in &held {
        let col = if *side == "debit" {
            account::Column::PendingDebits
        } else {
            account::Column::PendingCredits
        };
        let result = account::Entity::update_many()
            .col_expr(col, Expr::col(col).sub(*amount))
            .filter(account::Column::Id.eq(*account_id))
            .exec(db)
            .await?;
        if result.rows_affected != 1 {
            return Err(LedgerError::InsufficientFunds(*account));
        }
    }
    if !lines.is_empty() {
        write_lines(db, livemode, id, &lines, false, effective_at).await?;
    }
    Ok(Posted {
        entry,
        replayed: false,
    })
}

pub(crate) fn account_ref(a: &account::Model) -> Option<AccountRef> {
    Some(AccountRef {
        owner: Owner::from_id(a.owner_id),
        kind: AccountKind::parse(&a.kind)?,
        currency: Currency::parse(&a.currency).ok()?,
    })
}

/// The sum of each account's posted lines on `side` under entries of `kinds` effective in
/// `[from, to)`, in two statements whatever the number of accounts; an account that does not
/// exist yet has 0.
pub async fn posted_volumes(
    db: &impl ConnectionTrait,
    livemode: bool,
    accounts: &BTreeSet<AccountRef>,
    side: Side,
    kinds: &[&str],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<BTreeMap<AccountRef, i64>, DbErr> {
    let mut out: BTreeMap<AccountRef, i64> = accounts.iter().map(|a| (*a, 0)).collect();
    if accounts.is_empty() {
        return Ok(out);
    }
    let ids = find_accounts(db, livemode, accounts).await?;
    if ids.is_empty() {
        return Ok(out);
    }
    let by_id: BTreeMap<Uuid, AccountRef> = ids.iter().map(|(r, id)| (*id, *r)).collect();
    let query = Query::select()
        .column((line::Entity, line::Column::AccountId))
        // CAST: PostgreSQL sums BIGINT into NUMERIC.
        .expr_as(
            Expr::cust("CAST(COALESCE(SUM(journal_lines.amount_minor), 0) AS BIGINT)"),
            Alias::new("total"),
        )
        .from(line::Entity)
        .inner_join(
            entry::Entity,
            Expr::col((entry::Entity, entry::Column::Id))
                .equals((line::Entity, line::Column::EntryId)),
        )
        .and_where(Expr::col((line::Entity, line::Column::AccountId)).is_in(by_id.keys().copied()))
        .and_where(Expr::col((line::Entity, line::Column::Side)).eq(side.as_str()))
        .and_where(Expr::col((line::Entity, line::Column::Pending)).eq(false))
        .and_where(Expr::col((entry::Entity, entry::Column::Kind)).is_in(kinds.iter().copied()))
        .and_where(Expr::col((entry::Entity, entry::Column::EffectiveAt)).gte(from))
        .and_where(Expr::col((entry::Entity, entry::Column::EffectiveAt)).lt(to))
        .group_by_col((line::Entity, line::Column::AccountId))
        .to_owned();
    let rows = db
        .query_all(db.get_database_backend().build(&query))
        .await?;
    for row in rows {
        let id: Uuid = row.try_get("", "account_id")?;
        let total: i64 = row.try_get("", "total")?;
        if let Some(account) = by_id.get(&id) {
            out.insert(*account, total);
        }
    }
    Ok(out)
}
