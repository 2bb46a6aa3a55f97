//! The charge writer: group commit (DESIGN.md, Scale). Every charge updates the platform's
//! `clearing` and `pending` ledger rows, so one transaction per charge serialises charges on
//! those rows' locks (PostgreSQL) or on one fsync each (SQLite). Instead, `POST /v1/charges`
//! parses and validates its input in its handler, then hands the writer a [`Job`] (its
//! idempotency key, the request's fingerprint and the effect) and awaits the answer. The one
//! writer task per process takes whatever jobs are waiting (up to `charge_batch_max`,
//! optionally lingering `charge_batch_wait_ms` for more), begins ONE transaction, runs each
//! job in a SAVEPOINT of its own (`idempotency::run_nested`: claim, effect, stored response),
//! commits once, and only then answers every job.
//!
//! Why it is safe:
//! - Nothing is acknowledged that is not durable: answers are sent after the COMMIT. If BEGIN
//!   or COMMIT fails, every job of the batch gets 503 `api_error` with `Retry-After: 1`; its
//!   claim, effect and stored response were in the transaction that did not commit, so a
//!   retry with the same Idempotency-Key runs it again, once.
//! - One job's error rolls back its own savepoint only; the others commit.
//! - The queue is bounded (`charge_batch_queue`): when it is full the request is refused with
//!   503 + `Retry-After` rather than queued without limit.
//! - No network call inside the transaction: the simulator processor is in-process. A real
//!   acquirer's authorize must happen before the job is queued (phase 2), as DESIGN.md says:
//!   never hold a database transaction across a network call.
//!
//! Phase 2 (multi-row inserts, one UPDATE per distinct ledger account per batch) slots in at
//! [`write_batch`]: the jobs are all there, in one transaction, before anything is answered.

use std::time::Duration;

use actix_web::http::StatusCode;
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::error::ApiError;
use super::request_id::REQUEST_ID;
use crate::infra::db::stats::{self, DbWork};

/// A request's effect: runs in the transaction (a savepoint) it is given and returns the
/// status and body to answer (200, or 402 for a declined card, which commits its failed
/// charge); an error rolls back this request's savepoint only.
pub type Effect = Box<
    dyn for<'t> FnOnce(
            &'t DatabaseTransaction,
        ) -> BoxFuture<'t, Result<(StatusCode, Value), ApiError>>
        + Send,
>;

/// A job as the writer runs it: everything the request does in the batch transaction (for
/// a charge, `idempotency::run_nested`: its savepoint with claim, effect and stored response).
pub type Work = Box<
    dyn for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<Answer, ApiError>> + Send,
>;

/// What a batched request answers (the parts of an `HttpResponse` that can cross tasks).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    /// A replay of a key's stored response (`Idempotent-Replayed: true`).
    pub replayed: bool,
}

/// Boxes `f` as an [`Effect`] (a closure passed here gets its higher-ranked signature from
/// the bound, which `Box::new` alone does not give it).
pub fn effect<F>(f: F) -> Effect
where
    F: for<'t> FnOnce(
            &'t DatabaseTransaction,
        ) -> BoxFuture<'t, Result<(StatusCode, Value), ApiError>>
        + Send
        + 'static,
{
    Box::new(f)
}

/// What the writer sends back: the answer, and the statements it ran for the request (added
/// to the request's own counters, so `Server-Timing` and the span stay true).
type Reply = (Result<Answer, ApiError>, DbWork);

struct Job {
    work: Work,
    /// The request's id and span, so the job's errors and logs carry them.
    request_id: Option<String>,
    span: tracing::Span,
    reply: oneshot::Sender<Reply>,
}

/// The handle to this process's charge writer (in `AppState`). Cheap to clone; the writer
/// task ends when the last handle is dropped, after the jobs already queued.
#[derive(Clone)]
pub struct ChargeWriter {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Jobs per transaction, at most.
    pub max: usize,
    /// How long a batch waits for more jobs after the first (zero: it takes what is waiting).
    pub wait: Duration,
    /// Jobs waiting for the writer, at most; past it requests get 503.
    pub queue: usize,
}

impl ChargeWriter {
    /// Starts the writer on the current tokio runtime.
    pub fn spawn(db: DatabaseConnection, limits: BatchLimits) -> Self {
        let (jobs, queue) = mpsc::channel(limits.queue.max(1));
        tokio::spawn(run(db, queue, limits));
        Self { jobs }
    }

    /// Queues a job and waits for its answer, which comes after its batch committed.
    pub async fn submit(&self, work: Work) -> Result<Answer, ApiError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            work,
            request_id: super::request_id::current_request_id(),
            span: tracing::Span::current(),
            reply,
        };
        if let Err(error) = self.jobs.try_send(job) {
            let why = match error {
                mpsc::error::TrySendError::Full(_) => "the charge queue is full",
                mpsc::error::TrySendError::Closed(_) => "the charge writer has stopped",
            };
            tracing::warn!("{why}: refusing a charge with 503");
            return Err(unavailable());
        }
        match answer.await {
            Ok((result, work)) => {
                stats::add(work);
                result
            }
            // The writer dropped the job without answering (it stopped): its transaction
            // did not commit, so a retry is safe.
            Err(_) => Err(unavailable()),
        }
    }
}

/// The writer could not take or commit the request: nothing was done (503, `Retry-After`).
fn unavailable() -> ApiError {
    ApiError::unavailable(
        "The server could not take this request now; nothing was done. Retry in a second with the same Idempotency-Key.",
    )
}

async fn run(db: DatabaseConnection, mut queue: mpsc::Receiver<Job>, limits: BatchLimits) {
    let max = limits.max.max(1);
    let mut jobs = Vec::with_capacity(max);
    // `recv_many` waits for one job, then takes whatever else is waiting, up to `max`.
    while queue.recv_many(&mut jobs, max).await > 0 {
        if !limits.wait.is_zero() {
            let deadline = tokio::time::Instant::now() + limits.wait;
            while jobs.len() < max {
                let more = max - jobs.len();
                match tokio::time::timeout_at(deadline, queue.recv_many(&mut jobs, more)).await {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
        write_batch(&db, &mut jobs).await;
    }
}

/// One transaction for every job in `jobs` (drained), answered after its COMMIT.
async fn write_batch(db: &DatabaseConnection, jobs: &mut Vec<Job>) {
    let txn = match db.begin().await {
        Ok(txn) => txn,
        Err(error) => {
            tracing::error!(%error, jobs = jobs.len(), "charge batch: BEGIN failed");
            for job in jobs.drain(..) {
                let _ = job.reply.send((Err(unavailable()), DbWork::default()));
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(jobs.len());
    for job in jobs.drain(..) {
        let Job {
            work,
            request_id,
            span,
            reply,
        } = job;
        let nested = work(&txn);
        let (result, work) = match request_id {
            Some(id) => stats::measured(REQUEST_ID.scope(id, nested).instrument(span)).await,
            None => stats::measured(nested.instrument(span)).await,
        };
        done.push((reply, result, work));
    }
    let size = done.len();
    match txn.commit().await {
        Ok(()) => {
            tracing::debug!(jobs = size, "charge batch committed");
            for (reply, result, work) in done {
                // A client that went away drops its receiver; its charge stands (replayable).
                let _ = reply.send((result, work));
            }
        }
        Err(error) => {
            tracing::error!(%error, jobs = size, "charge batch: COMMIT failed");
            for (reply, _, work) in done {
                let _ = reply.send((Err(unavailable()), work));
            }
        }
    }
}
