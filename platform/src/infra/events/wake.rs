//! Wake-ups for the outbox workers, so a delivery starts when its row commits instead of at the
//! next poll.
//!
//! Two paths, both from the transaction that writes outbox rows ([`written`]):
//!
//! - **In this process**: a `watch` channel per outbox, bumped by the writer. A `watch` never
//!   loses a wake-up (a worker busy with a pass sees the change on its next wait) and wakes
//!   every worker in the process (tests run several servers in one process). It fires before
//!   the writer commits. On SQLite that is still in order: the pool has one connection, which
//!   the writer holds until it commits, so the worker's claim can only run after the commit.
//! - **Across processes (PostgreSQL)**: `NOTIFY agora_outbox` in the writer's transaction,
//!   which PostgreSQL delivers at commit and only if it commits; [`listen`] turns each
//!   notification into the same in-process signal. This also covers the in-process signal that
//!   came before the commit on PostgreSQL (the pass it caused found nothing yet).
//!
//! Polling stays, slower, as the fallback: a lost listener connection, another process on
//! SQLite, retries that come due.

use std::sync::LazyLock;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use tokio::sync::watch;

/// The PostgreSQL channel the outbox writers notify.
pub const CHANNEL: &str = "agora_outbox";
/// Wait before reconnecting a lost listener (the poll covers the gap).
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// Which outbox a wake-up is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outbox {
    Webhooks,
    Emails,
}

impl Outbox {
    fn payload(self) -> &'static str {
        match self {
            Outbox::Webhooks => "webhooks",
            Outbox::Emails => "emails",
        }
    }

    fn sender(self) -> &'static watch::Sender<u64> {
        static WEBHOOKS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);
        static EMAILS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);
        match self {
            Outbox::Webhooks => &WEBHOOKS,
            Outbox::Emails => &EMAILS,
        }
    }
}

/// Wakes this process's workers of `outbox` (no database involved).
pub fn signal(outbox: Outbox) {
    outbox.sender().send_modify(|n| *n = n.wrapping_add(1));
}

/// A worker's end: `changed()` resolves after the next [`signal`].
pub fn subscribe(outbox: Outbox) -> watch::Receiver<u64> {
    outbox.sender().subscribe()
}

/// Called in the transaction that wrote rows to `outbox`: signals this process and, on
/// PostgreSQL, notifies every listening process at commit. PostgreSQL folds identical
/// notifications of one transaction into one, so a transaction writing many rows sends one.
pub async fn written(db: &impl ConnectionTrait, outbox: Outbox) -> Result<(), DbErr> {
    signal(outbox);
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute(Statement::from_string(
            DbBackend::Postgres,
            format!("NOTIFY {CHANNEL}, '{}'", outbox.payload()),
        ))
        .await?;
    }
    Ok(())
}

/// Listens on PostgreSQL for [`CHANNEL`] and signals this process's workers, until `stop`.
/// Reconnects after a lost connection, and wakes every worker then, since notifications sent
/// while it was gone are lost. A no-op for SQLite URLs. Recorded on `worker`: a pass per
/// connection attempt (ok once listening, failed when it cannot connect or loses the
/// connection; items: notifications received on it).
pub async fn listen(
    database_url: String,
    worker: crate::infra::workers_status::Worker,
    mut stop: watch::Receiver<bool>,
) {
    use sea_orm::sqlx::postgres::PgListener;
    if !database_url.starts_with("postgres") {
        return;
    }
    loop {
        let pass = worker.pass();
        let connected = async {
            let mut listener = PgListener::connect(&database_url).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        }
        .await;
        match connected {
            Ok(mut listener) => {
                pass.ok(0);
                // Whatever was notified before we listened is found by this pass.
                signal(Outbox::Webhooks);
                signal(Outbox::Emails);
                loop {
                    tokio::select! {
                        received = listener.try_recv() => match received {
                            Ok(Some(n)) => {
                                worker.pass().ok(1);
                                match n.payload() {
                                    "emails" => signal(Outbox::Emails),
                                    _ => signal(Outbox::Webhooks),
                                }
                            }
                            // The connection dropped; the next call reconnects. Anything
                            // notified meanwhile is lost, so look now.
                            Ok(None) => {
                                signal(Outbox::Webhooks);
                                signal(Outbox::Emails);
                            }
                            Err(e) => {
                                worker.pass().failed(0, &e);
                                tracing::warn!(error = %e, "outbox listener failed; reconnecting");
                                break;
                            }
                        },
                        _ = stop.changed() => return,
                    }
                }
            }
            Err(e) => {
                pass.failed(0, &e);
                tracing::warn!(error = %e, "outbox listener cannot connect; polling only")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RECONNECT_AFTER) => {}
            _ = stop.changed() => return,
        }
    }
}
