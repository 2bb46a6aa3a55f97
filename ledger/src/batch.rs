//! Group commit for the ledger: many new entries of one mode written with a fixed number of
//! statements, whatever their number (DESIGN.md, Scale).
//!
//! [`Batch::add`] checks each entry exactly as [`crate::journal::post`] does and refuses it on
//! its own (the batch is unchanged), so one bad entry never fails the others. [`Batch::write`]
//! then inserts every entry and every line (multi-row, in chunks) and hands back the balance
//! [`Moves`]: each distinct account's summed delta. [`Moves::apply`] moves them, the hot rows
//! every charge shares, last, so the caller runs it just before COMMIT and those rows stay
//! locked for as short a time as possible.
//!
//! What a batch does not take: guarded lines (a guard must tell which entry lacked the funds,
//! so a guarded entry goes through `post`, one statement per account), and entry keys already
//! used (every batched entry is new: the caller makes its key from a fresh id; a used key
//! fails the INSERT, and the caller falls back to posting one by one).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockType, Order, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entity::entry::EntryStatus;
use crate::entity::{account, entry, line};
use crate::journal::{
    check_balanced, check_key, ensure_accounts, Guard, LedgerError, NewEntry, Side,
};
use crate::AccountRef;

/// Rows per INSERT: far below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters (9
/// columns per entry, 7 per line).
const ROWS_PER_INSERT: usize = 1_000;

/// The ids of ledger accounts already seen, per mode. An account's id never changes once
/// created, so writers may share this for as long as they write to one database (a writer
/// whose transaction rolls back clears it: accounts it created are gone).
pub type AccountIds = HashMap<(bool, AccountRef), Uuid>;

/// [`AccountIds`] shared by the writers of one process.
pub type SharedAccountIds = std::sync::Mutex<AccountIds>;

fn locked(ids: &SharedAccountIds) -> std::sync::MutexGuard<'_, AccountIds> {
    // A panic while holding it leaves a map of valid ids: keep using it.
    ids.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Finds or creates the ledger accounts `refs` on `db` OUTSIDE any batch transaction (each
/// statement commits on its own) and shares their ids. Called before a batch begins: two
/// writers creating the same new account inside their batches would wait on each other's
/// uncommitted row while holding hot-row locks, and deadlock; committed first, a batch only
/// ever finds its accounts.
pub async fn learn_accounts(
    db: &impl ConnectionTrait,
    livemode: bool,
    refs: &BTreeSet<AccountRef>,
    shared: &SharedAccountIds,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let unknown: BTreeSet<AccountRef> = {
        let known = locked(shared);
        refs.iter()
            .filter(|a| !known.contains_key(&(livemode, **a)))
            .copied()
            .collect()
    };
    if unknown.is_empty() {
        return Ok(());
    }
    let found = ensure_accounts(db, livemode, &unknown, now).await?;
    let mut known = locked(shared);
    for (account, id) in found {
        known.insert((livemode, account), id);
    }
    Ok(())
}

/// Forgets every id (after a rollback that may have undone accounts created in it).
pub fn forget(ids: &SharedAccountIds) {
    locked(ids).clear();
}

/// One account's summed movement in a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Delta {
    posted_debits: i64,
    posted_credits: i64,
    pending_debits: i64,
    pending_credits: i64,
}

impl Delta {
    fn add(&mut self, other: &Delta) -> Result<(), LedgerError> {
        let sum = |a: i64, b: i64| a.checked_add(b).ok_or(LedgerError::Overflow);
        *self = Delta {
            posted_debits: sum(self.posted_debits, other.posted_debits)?,
            posted_credits: sum(self.posted_credits, other.posted_credits)?,
            pending_debits: sum(self.pending_debits, other.pending_debits)?,
            pending_credits: sum(self.pending_credits, other.pending_credits)?,
        };
        Ok(())
    }
}

struct Entry {
    model: entry::Model,
    new: NewEntry,
}

/// New entries of one mode, checked, waiting to be written together.
pub struct Batch {
    livemode: bool,
    entries: Vec<Entry>,
    keys: BTreeSet<String>,
    deltas: BTreeMap<AccountRef, Delta>,
}

impl Batch {
    pub fn new(livemode: bool) -> Self {
        Self {
            livemode,
            entries: Vec::new(),
            keys: BTreeSet::new(),
            deltas: BTreeMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What [`Batch::add`] checks of an entry on its own: what `post` checks, and no guard.
    /// A caller that checks before it queues an entry knows the batch will take it.
    pub fn check(new: &NewEntry) -> Result<(), LedgerError> {
        check_balanced(&new.lines)?;
        check_key(&new.key)?;
        if new.lines.iter().any(|l| l.guard != Guard::None) {
            return Err(LedgerError::GuardedInBatch);
        }
        Ok(())
    }

    /// Checks `new` as `post` would and adds it as entry `id` (a fresh UUIDv7). On an error
    /// the entry is refused and the batch is as it was.
    pub fn add(&mut self, id: Uuid, new: NewEntry) -> Result<(), LedgerError> {
        Self::check(&new)?;
        if self.keys.contains(&new.key) {
            return Err(LedgerError::KeyConflict);
        }
        let mut mine: BTreeMap<AccountRef, Delta> = BTreeMap::new();
        for l in &new.lines {
            let d = mine.entry(l.account).or_default();
            let one = match (l.side, new.pending) {
                (Side::Debit, false) => Delta {
                    posted_debits: l.amount_minor,
                    ..Delta::default()
                },
                (Side::Credit, false) => Delta {
                    posted_credits: l.amount_minor,
                    ..Delta::default()
                },
                (Side::Debit, true) => Delta {
                    pending_debits: l.amount_minor,
                    ..Delta::default()
                },
                (Side::Credit, true) => Delta {
                    pending_credits: l.amount_minor,
                    ..Delta::default()
                },
            };
            d.add(&one)?;
        }
        // Summed into a copy first: an overflow refuses this entry and leaves the batch whole.
        let mut merged = self.deltas.clone();
        for (account, d) in &mine {
            merged.entry(*account).or_default().add(d)?;
        }
        let model = entry::Model {
            id,
            livemode: self.livemode,
            key: new.key.clone(),
            kind: new.kind.clone(),
            source_id: new.source_id,
            status: if new.pending {
                EntryStatus::Pending
            } else {
                EntryStatus::Posted
            },
            pending_id: None,
            effective_at: new.effective_at,
            created_at: Utc::now(),
        };
        self.deltas = merged;
        self.keys.insert(new.key.clone());
        self.entries.push(Entry { model, new });
        Ok(())
    }

    /// Inserts every entry and line (creating accounts on first use, their ids remembered in
    /// `ids`) and returns the balance moves, for [`Moves::apply`] just before COMMIT.
    pub async fn write(
        self,
        db: &impl ConnectionTrait,
        shared: &SharedAccountIds,
        now: DateTime<Utc>,
    ) -> Result<Moves, LedgerError> {
        let livemode = self.livemode;
        let mut ids: BTreeMap<AccountRef, Uuid> = BTreeMap::new();
        let mut unknown: BTreeSet<AccountRef> = BTreeSet::new();
        {
            let known = locked(shared);
            for account in self.deltas.keys() {
                match known.get(&(livemode, *account)) {
                    Some(id) => {
                        ids.insert(*account, *id);
                    }
                    None => {
                        unknown.insert(*account);
                    }
                }
            }
        }
        if !unknown.is_empty() {
            // Not shared: an account created in this transaction does not exist for the other
            // writers' transactions until it commits (their journal lines would fail their
            // foreign key). [`learn_accounts`] creates and shares them before a batch begins.
            ids.extend(ensure_accounts(db, livemode, &unknown, now).await?);
        }
        let id_of = |account: &AccountRef| -> Result<Uuid, LedgerError> {
            ids.get(account).copied().ok_or_else(|| {
                LedgerError::Db(sea_orm::DbErr::RecordNotFound(format!(
                    "ledger account {account}"
                )))
            })
        };
        let mut lines = Vec::new();
        for e in &self.entries {
            for l in &e.new.lines {
                lines.push(line::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    entry_id: Set(e.model.id),
                    account_id: Set(id_of(&l.account)?),
                    currency: Set(l.account.currency.code().to_owned()),
                    side: Set(l.side.as_str().to_owned()),
                    amount_minor: Set(l.amount_minor),
                    pending: Set(e.new.pending),
                });
            }
        }
        let entries: Vec<entry::ActiveModel> = self
            .entries
            .iter()
            .map(|e| e.model.clone().into())
            .collect();
        let written = entries.len();
        insert_chunked::<entry::Entity, _>(db, entries).await?;
        crate::count_entries(livemode, written);
        insert_chunked::<line::Entity, _>(db, lines).await?;
        // What the balances will move by must balance per currency, as every entry did: the
        // summing may not lose or invent money. Asserted in release builds too: a violation
        // is a bug here, and writing it would break the books for good.
        let mut net: BTreeMap<crate::Currency, i128> = BTreeMap::new();
        for (account, d) in &self.deltas {
            *net.entry(account.currency).or_default() += i128::from(d.posted_debits)
                - i128::from(d.posted_credits)
                + i128::from(d.pending_debits)
                - i128::from(d.pending_credits);
        }
        for (currency, n) in net {
            assert_eq!(n, 0, "ledger batch moves balances unevenly in {currency}");
        }
        let mut moves = Vec::with_capacity(self.deltas.len());
        for (account, d) in self.deltas {
            moves.push((id_of(&account)?, d));
        }
        Ok(Moves { moves })
    }
}

async fn insert_chunked<E, A>(db: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), LedgerError>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E>,
    E::Model: sea_orm::IntoActiveModel<A>,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        E::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Each distinct account's summed movement, in the one global lock order (`AccountRef`:
/// the platform's accounts first).
pub struct Moves {
    moves: Vec<(Uuid, Delta)>,
}

impl Moves {
    /// Moves the balances: on PostgreSQL one `SELECT … ORDER BY … FOR NO KEY UPDATE` takes
    /// every row lock in the global order (as `post` takes them one by one, so the two never
    /// deadlock), then one UPDATE moves them all; SQLite (one writer, no row locks) needs only
    /// the UPDATE. NO KEY: the lock an UPDATE of balances takes anyway, which does not wait
    /// for the KEY SHARE locks another batch's journal lines hold on these rows through their
    /// foreign key (FOR UPDATE would, and two batches would deadlock).
    pub async fn apply(self, db: &impl ConnectionTrait) -> Result<(), LedgerError> {
        let Some((first, rest)) = self.moves.split_first() else {
            return Ok(());
        };
        let in_batch = || self.moves.iter().map(|m| m.0);
        if db.get_database_backend() == sea_orm::DbBackend::Postgres {
            let mut order = Expr::case(account::Column::Id.eq(first.0), 0i64);
            for (i, m) in rest.iter().enumerate() {
                order = order.case(account::Column::Id.eq(m.0), i as i64 + 1);
            }
            let lock = Query::select()
                .column(account::Column::Id)
                .from(account::Entity)
                .and_where(account::Column::Id.is_in(in_batch()))
                .order_by_expr(order.finally(i64::MAX).into(), Order::Asc)
                .lock(LockType::NoKeyUpdate)
                .to_owned();
            let locked = db
                .query_all(db.get_database_backend().build(&lock))
                .await?
                .len();
            assert_eq!(
                locked,
                self.moves.len(),
                "ledger batch: an account is missing"
            );
        }
        let step = |col: account::Column, pick: fn(&Delta) -> i64| {
            let mut case = Expr::case(account::Column::Id.eq(first.0), pick(&first.1));
            for m in rest {
                case = case.case(account::Column::Id.eq(m.0), pick(&m.1));
            }
            let by_account: sea_orm::sea_query::SimpleExpr = case.finally(0i64).into();
            Expr::col(col).add(by_account)
        };
        let mut update = account::Entity::update_many();
        // Only the columns something moved: a batch of captures leaves the pending ones be.
        type Pick = fn(&Delta) -> i64;
        let columns: [(account::Column, Pick); 4] = [
            (account::Column::PostedDebits, |d| d.posted_debits),
            (account::Column::PostedCredits, |d| d.posted_credits),
            (account::Column::PendingDebits, |d| d.pending_debits),
            (account::Column::PendingCredits, |d| d.pending_credits),
        ];
        for (col, pick) in columns {
            if self.moves.iter().any(|m| pick(&m.1) != 0) {
                update = update.col_expr(col, step(col, pick));
            }
        }
        let result = update
            .filter(account::Column::Id.is_in(in_batch()))
            .exec(db)
            .await?;
        // Every account exists (ensured in `write`): anything else is a bug, and half a move
        // would break the books.
        assert_eq!(
            result.rows_affected,
            self.moves.len() as u64,
            "ledger batch: a balance update missed an account"
        );
        Ok(())
    }
}
