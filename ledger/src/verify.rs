//! The ledger's invariants, checked over a whole database (both modes), for
//! `agora ledger verify` and for tests after every concurrent scenario:
//!
//! 1. every entry has two or more lines (a void resolution has none) and balances per currency;
//! 2. every line's currency is its account's;
//! 3. every account's balances equal the sums of its lines: posted debits/credits over posted
//!    lines, pending debits/credits over the lines of pending entries not yet resolved;
//! 4. per mode and currency, all accounts together sum to zero (posted and pending);
//! 5. `pending`, `reserved` and `tax_payable` balances are never negative. `available` may be:
//!    refunds and disputes may take a seller below zero (the explicit negative-balance rule),
//!    and later settlements recover it.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbErr, Statement};
use uuid::Uuid;

use crate::journal::{AccountKind, Owner};

#[derive(Debug, Default)]
pub struct Report {
    pub entries: i64,
    pub lines: i64,
    pub accounts: i64,
    /// One readable sentence per broken entry or account.
    pub problems: Vec<String>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn summary(&self) -> String {
        format!(
            "ledger verified: {} entries, {} lines, {} accounts checked; {}",
            self.entries,
            self.lines,
            self.accounts,
            if self.is_ok() {
                "all invariants hold".to_owned()
            } else {
                format!("{} problem(s)", self.problems.len())
            }
        )
    }
}

/// Most problems listed one by one; past it the report only counts.
const MAX_LISTED: usize = 1000;

fn stmt(db: &impl ConnectionTrait, sql: &str) -> Statement {
    Statement::from_string(db.get_database_backend(), sql.to_owned())
}

pub async fn verify(db: &impl ConnectionTrait) -> Result<Report, DbErr> {
    let mut report = Report::default();
    let problem = |report: &mut Report, text: String| {
        if report.problems.len() < MAX_LISTED {
            report.problems.push(text);
        }
    };

    for (sql, field) in [
        (
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM journal_entries",
            0,
        ),
        ("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM journal_lines", 1),
        (
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ledger_accounts",
            2,
        ),
    ] {
        let n = match db.query_one(stmt(db, sql)).await? {
            Some(row) => row.try_get::<i64>("", "n")?,
            None => 0,
        };
        match field {
            0 => report.entries = n,
            1 => report.lines = n,
            _ => report.accounts = n,
        }
    }

    // 1. Balanced per currency.
    let rows = db
        .query_all(stmt(
            db,
            "SELECT l.entry_id AS entry_id, e.key AS key, l.currency AS currency, \
             CAST(SUM(CASE WHEN l.side = 'debit' THEN l.amount_minor ELSE 0 END) AS BIGINT) AS debits, \
             CAST(SUM(CASE WHEN l.side = 'credit' THEN l.amount_minor ELSE 0 END) AS BIGINT) AS credits \
             FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id \
             GROUP BY l.entry_id, e.key, l.currency \
             HAVING SUM(CASE WHEN l.side = 'debit' THEN l.amount_minor ELSE 0 END) \
                 <> SUM(CASE WHEN l.side = 'credit' THEN l.amount_minor ELSE 0 END)",
        ))
        .await?;
    for row in rows {
        let key: String = row.try_get("", "key")?;
        let currency: String = row.try_get("", "currency")?;
        let debits: i64 = row.try_get("", "debits")?;
        let credits: i64 = row.try_get("", "credits")?;
        problem(
            &mut report,
            format!(
                "entry '{key}' does not balance in {currency}: debits {debits}, credits {credits}"
            ),
        );
    }

    // 1b. At least two lines, all positive.
    let rows = db
        .query_all(stmt(
            db,
            "SELECT e.key AS key, CAST(COUNT(l.id) AS BIGINT) AS n, \
             CAST(COALESCE(MIN(l.amount_minor), 1) AS BIGINT) AS smallest \
             FROM journal_entries e LEFT JOIN journal_lines l ON l.entry_id = e.id \
             WHERE e.status <> 'resolution_void' \
             GROUP BY e.id, e.key \
             HAVING COUNT(l.id) < 2 OR MIN(l.amount_minor) <= 0",
        ))
        .await?;
    for row in rows {
        let key: String = row.try_get("", "key")?;
        let n: i64 = row.try_get("", "n")?;
        let smallest: i64 = row.try_get("", "smallest")?;
        problem(
            &mut report,
            format!("entry '{key}' has {n} line(s), smallest amount {smallest}: needs two or more positive lines"),
        );
    }

    // 2. Line currency is the account's.
    let rows = db
        .query_all(stmt(
            db,
            "SELECT e.key AS key, l.currency AS line_currency, a.currency AS account_currency \
             FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id \
             JOIN journal_entries e ON e.id = l.entry_id WHERE l.currency <> a.currency",
        ))
        .await?;
    for row in rows {
        let key: String = row.try_get("", "key")?;
        let lc: String = row.try_get("", "line_currency")?;
        let ac: String = row.try_get("", "account_currency")?;
        problem(
            &mut report,
            format!("entry '{key}' has a {lc} line on a {ac} account"),
        );
    }

    // 3. Balances equal the sums of their lines.
    let rows = db
        .query_all(stmt(
            db,
            "SELECT a.id AS id, a.livemode AS livemode, a.owner_id AS owner_id, a.kind AS kind, a.currency AS currency, \
             a.posted_debits AS posted_debits, a.posted_credits AS posted_credits, \
             a.pending_debits AS pending_debits, a.pending_credits AS pending_credits, \
             CAST(COALESCE(SUM(CASE WHEN l.pending = FALSE AND l.side = 'debit' THEN l.amount_minor ELSE 0 END), 0) AS BIGINT) AS sum_pd, \
             CAST(COALESCE(SUM(CASE WHEN l.pending = FALSE AND l.side = 'credit' THEN l.amount_minor ELSE 0 END), 0) AS BIGINT) AS sum_pc, \
             CAST(COALESCE(SUM(CASE WHEN l.pending = TRUE AND r.id IS NULL AND l.side = 'debit' THEN l.amount_minor ELSE 0 END), 0) AS BIGINT) AS sum_hd, \
             CAST(COALESCE(SUM(CASE WHEN l.pending = TRUE AND r.id IS NULL AND l.side = 'credit' THEN l.amount_minor ELSE 0 END), 0) AS BIGINT) AS sum_hc \
             FROM ledger_accounts a \
             LEFT JOIN journal_lines l ON l.account_id = a.id \
             LEFT JOIN journal_entries r ON r.pending_id = l.entry_id \
             GROUP BY a.id, a.livemode, a.owner_id, a.kind, a.currency, a.posted_debits, a.posted_credits, a.pending_debits, a.pending_credits",
        ))
        .await?;
    // (livemode, currency) → (posted debits, posted credits, pending debits, pending credits)
    let mut totals: BTreeMap<(bool, String), [i128; 4]> = BTreeMap::new();
    for row in rows {
        let livemode: bool = row.try_get("", "livemode")?;
        let owner: Uuid = row.try_get("", "owner_id")?;
        let kind: String = row.try_get("", "kind")?;
        let currency: String = row.try_get("", "currency")?;
        let stored = [
            row.try_get::<i64>("", "posted_debits")?,
            row.try_get::<i64>("", "posted_credits")?,
            row.try_get::<i64>("", "pending_debits")?,
            row.try_get::<i64>("", "pending_credits")?,
        ];
        let summed = [
            row.try_get::<i64>("", "sum_pd")?,
            row.try_get::<i64>("", "sum_pc")?,
            row.try_get::<i64>("", "sum_hd")?,
            row.try_get::<i64>("", "sum_hc")?,
        ];
        let name = describe(livemode, owner, &kind, &currency);
        if stored != summed {
            problem(
                &mut report,
                format!(
                    "account {name}: stored posted {}/{} pending {}/{} (debits/credits) but its lines sum to posted {}/{} pending {}/{}",
                    stored[0], stored[1], stored[2], stored[3], summed[0], summed[1], summed[2], summed[3]
                ),
            );
        }
        let t = totals.entry((livemode, currency.clone())).or_default();
        for (slot, value) in t.iter_mut().zip(stored) {
            *slot += i128::from(value);
        }
        // 5. Never-negative kinds.
        if let Some(k) = AccountKind::parse(&kind) {
            let posted = if k.credit_normal() {
                stored[1] - stored[0]
            } else {
                stored[0] - stored[1]
            };
            let must_not_be_negative = matches!(
                k,
                AccountKind::Pending | AccountKind::Reserved | AccountKind::TaxPayable
            );
            if must_not_be_negative && posted < 0 {
                problem(&mut report, format!("account {name} is negative: {posted}"));
            }
        } else {
            problem(&mut report, format!("account {name} has an unknown kind"));
        }
    }

    // 4. Everything sums to zero per mode and currency.
    for ((livemode, currency), [pd, pc, hd, hc]) in totals {
        let mode = if livemode { "live" } else { "test" };
        if pd != pc {
            problem(
                &mut report,
                format!(
                    "{mode} {currency}: posted debits {pd} ≠ posted credits {pc} over all accounts"
                ),
            );
        }
        if hd != hc {
            problem(
                &mut report,
                format!("{mode} {currency}: pending debits {hd} ≠ pending credits {hc} over all accounts"),
            );
        }
    }
    Ok(report)
}

fn describe(livemode: bool, owner: Uuid, kind: &str, currency: &str) -> String {
    let mode = if livemode { "live" } else { "test" };
    match Owner::from_id(owner) {
        Owner::Platform => format!("{mode} platform.{kind}.{currency}"),
        Owner::Seller(id) => format!("{mode} seller[{id}].{kind}.{currency}"),
    }
}
