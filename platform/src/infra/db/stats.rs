//! Statements per unit of work: every connection made by [`super::connect`] reports each
//! statement it runs, and a future run under [`measured`] learns how many statements (and how
//! much database time) it caused. The gateway measures every request this way (its span, and
//! `Server-Timing` when enabled), and a system test asserts the counts of the hot paths, so an
//! N+1 query cannot creep in unseen.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use sea_orm::DatabaseConnection;

tokio::task_local! {
    static STATEMENTS: Cell<u32>;
    static DB_MICROS: Cell<u64>;
}

/// What the database did for one measured future.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DbWork {
    pub statements: u32,
    /// Time spent waiting on statements (not on the pool or on commits).
    pub time: Duration,
}

/// Makes `db` report its statements to whichever [`measured`] future runs them. Statements run
/// outside one (workers, migrations) cost one failed task-local lookup each.
pub fn install(db: &mut DatabaseConnection) {
    db.set_metric_callback(|info| {
        let _ = STATEMENTS.try_with(|n| n.set(n.get().saturating_add(1)));
        // `RUST_LOG=agora::sql=trace` lists every statement (the SQL, never its values).
        tracing::trace!(target: "agora::sql", sql = %info.statement.sql, failed = info.failed);
        let micros = u64::try_from(info.elapsed.as_micros()).unwrap_or(u64::MAX);
        let _ = DB_MICROS.try_with(|t| t.set(t.get().saturating_add(micros)));
    });
}

/// Runs `f`, counting the statements it runs on connections from [`super::connect`] (in this
/// task; work handed to another task is not counted).
pub async fn measured<F: Future>(f: F) -> (F::Output, DbWork) {
    STATEMENTS
        .scope(Cell::new(0), async {
            DB_MICROS
                .scope(Cell::new(0), async {
                    let out = f.await;
                    let work = DbWork {
                        statements: STATEMENTS.with(Cell::get),
                        time: Duration::from_micros(DB_MICROS.with(Cell::get)),
                    };
                    (out, work)
                })
                .await
        })
        .await
}

/// Adds `work` done elsewhere on this request's behalf (the charge writer runs a request's
/// statements in its own task and hands their count back with the answer) to the
/// [`measured`] future running on this task, if any.
pub fn add(work: DbWork) {
    let _ = STATEMENTS.try_with(|n| n.set(n.get().saturating_add(work.statements)));
    let micros = u64::try_from(work.time.as_micros()).unwrap_or(u64::MAX);
    let _ = DB_MICROS.try_with(|t| t.set(t.get().saturating_add(micros)));
}
