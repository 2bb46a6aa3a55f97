//! The charge writer: group commit (DESIGN.md, Scale). Every charge updates the platform's
//! `clearing` and `pending` ledger rows, so one transaction per charge serialises charges on
//! those rows' locks (PostgreSQL) or on one fsync each (SQLite). Instead `POST /v1/charges`
//! checks its Idempotency-Key, parses, and plans its charge in its handler (every read, the
//! KYC gate, the price, the processor's answer, every row built: `payments::plan_charge`,
//! on the handler's own pooled connection, outside any transaction), then hands the writer a
//! [`Planned`] job and awaits the answer. The one writer task per process takes whatever
//! jobs are waiting (up to `charge_batch_max`, optionally lingering `charge_batch_wait_ms`
//! for more) and writes them in ONE transaction with a fixed number of statements whatever
//! their number: one INSERT claims every key (as done, with its answer: `ON CONFLICT DO
//! NOTHING RETURNING id`), then `payments::write_charges` (multi-row INSERTs for entries,
//! lines, charges, destinations, balance transactions, events and deliveries; each distinct
//! ledger account's balance moved once, last), then COMMIT, and only then the answers.
//!
//! Why it is safe:
//! - Nothing is acknowledged that is not durable: answers are sent after the COMMIT. If COMMIT
//!   fails, every job of the batch gets 503 `api_error` with `Retry-After: 1`: a retry with
//!   the same Idempotency-Key either replays (the commit did land) or runs once.
//! - One bad charge never fails its batch: everything that can refuse a charge is decided in
//!   its plan, before it joins. If a statement of the batch fails anyway (a deadlock, a lost
//!   connection, a bug), the transaction rolls back whole and the batch is rerun one job at a
//!   time, each in a SAVEPOINT of its own ([`idempotency::run_nested`]), so any refusal is
//!   that job's alone.
//! - A key the batch could not claim (held by an earlier request, or twice in one batch) is
//!   run the same way: `run_nested`'s claim decides between replay, 400 and 409.
//! - Jobs that do more than write rows (a charge disputed at once) are [`Work`]: they run in
//!   savepoints, in a transaction after the batch's.
//! - The queue is bounded (`charge_batch_queue`): when it is full the request is refused with
//!   503 + `Retry-After` rather than queued without limit.
//! - No network call inside the transaction: the processor answers in the plan.

use std::time::Duration;

use actix_web::http::StatusCode;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, TransactionTrait,
};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;
use uuid::Uuid;

use agora_ledger::batch::{self as ledger_batch, AccountIds, SharedAccountIds};
use std::sync::Arc;

use super::error::ApiError;
use super::idempotency::entity as keys;
use super::request_id::REQUEST_ID;
use crate::domain::payments::{self, PlannedCharge};
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
#[derive(Debug, Clone)]
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

/// A planned charge waiting for its batch: the plan, and what the request answers once it is
/// written (the body is the charge as planned, or a decline's 402).
#[derive(Clone)]
pub struct Planned {
    pub plan: PlannedCharge,
    pub status: StatusCode,
    pub body: Value,
    /// For a plan written on its own (a dispute at once, or a batch rerun one by one).
    pub dispute_fee_major: u32,
}

impl Planned {
    /// The plan as an [`Effect`] for a savepoint of its own.
    pub fn effect(self) -> Effect {
        let Planned {
            plan,
            status,
            body,
            dispute_fee_major,
        } = self;
        effect(move |txn| {
            Box::pin(async move {
                let ids = SharedAccountIds::new(AccountIds::new());
                if plan.needs_own_savepoint() {
                    let created =
                        payments::create_charge_planned(txn, plan, dispute_fee_major, &ids).await?;
                    let body = crate::domain::payments::view::ChargeObject::json(&created.charge)?;
                    return Ok((status, body));
                }
                payments::write_charges(txn, &[&plan], &ids).await?;
                Ok((status, body))
            })
        })
    }
}

enum Task {
    Work(Work),
    /// Boxed: a plan is a few hundred bytes, a `Work` a pointer.
    Planned(Box<PlannedTask>),
}

struct PlannedTask {
    /// The request's key row, claimed as done with the answer (none without a key).
    claim: Option<keys::Model>,
    planned: Planned,
    answer: Answer,
    /// The same request in a savepoint of its own (`idempotency::run_nested`): for a key the
    /// batch could not claim, or a batch rerun one by one.
    fallback: Work,
}

struct Job {
    task: Task,
    /// The request's id and span, so the job's errors and logs carry them.
    request_id: Option<String>,
    span: tracing::Span,
    reply: oneshot::Sender<Reply>,
    /// When it was queued (the batch wait metric).
    queued_at: std::time::Instant,
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
    /// Writer tasks, each with a batch transaction of its own (PostgreSQL only; SQLite has
    /// one writer). Two overlap one batch's COMMIT (its fsync, the hot rows locked) with the
    /// next batch's INSERTs; the hot rows, moved last, are taken in one global order, so two
    /// batches queue on them and never deadlock.
    pub writers: usize,
}

impl ChargeWriter {
    /// Starts the writers on the current tokio runtime.
    pub fn spawn(db: DatabaseConnection, limits: BatchLimits) -> Self {
        let (jobs, queue) = mpsc::channel(limits.queue.max(1));
        let writers = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => limits.writers.max(1),
            _ => 1,
        };
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        // Ledger account ids seen so far, shared by the writers (see `AccountIds`).
        let ids = Arc::new(SharedAccountIds::new(AccountIds::new()));
        for _ in 0..writers {
            tokio::spawn(run(db.clone(), queue.clone(), ids.clone(), limits));
        }
        Self { jobs }
    }

    /// Queues a job and waits for its answer, which comes after its batch committed.
    pub async fn submit(&self, work: Work) -> Result<Answer, ApiError> {
        self.queue(Task::Work(work)).await
    }

    /// Queues a planned charge and waits for its answer, which comes after its batch
    /// committed. `claim` is its key's row (as done, with `answer`), `fallback` the request
    /// run in a savepoint of its own (see [`PlannedTask`]).
    pub async fn submit_planned(
        &self,
        claim: Option<keys::Model>,
        planned: Planned,
        answer: Answer,
        fallback: Work,
    ) -> Result<Answer, ApiError> {
        self.queue(Task::Planned(Box::new(PlannedTask {
            claim,
            planned,
            answer,
            fallback,
        })))
        .await
    }

    async fn queue(&self, task: Task) -> Result<Answer, ApiError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            task,
            request_id: super::request_id::current_request_id(),
            span: tracing::Span::current(),
            reply,
            queued_at: std::time::Instant::now(),
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

/// One writer: takes a batch from the shared queue (the lock is held only while taking),
/// writes it, repeats until every handle is gone and the queue is empty.
async fn run(
    db: DatabaseConnection,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    ids: Arc<SharedAccountIds>,
    limits: BatchLimits,
) {
    let max = limits.max.max(1);
    let mut jobs = Vec::with_capacity(max);
    // The size of this writer's last batch: lingering for more jobs pays only under load (a
    // batch of one means nobody else was waiting, and a lone charge should not wait).
    let mut last = 0usize;
    loop {
        {
            let mut queue = queue.lock().await;
            // `recv_many` waits for one job, then takes whatever else is waiting, up to `max`.
            if queue.recv_many(&mut jobs, max).await == 0 {
                return;
            }
            if !limits.wait.is_zero() && last > 1 {
                let deadline = tokio::time::Instant::now() + limits.wait;
                while jobs.len() < max {
                    let more = max - jobs.len();
                    match tokio::time::timeout_at(deadline, queue.recv_many(&mut jobs, more)).await
                    {
                        Ok(n) if n > 0 => {}
                        _ => break,
                    }
                }
            }
        }
        last = jobs.len();
        observe_batch(&jobs);
        write_batch(&db, &mut jobs, &ids).await;
    }
}

/// The span of a batch: every log line the writer emits for it (and the batch's own spans
/// when traces are exported) names the batch's requests. A batch serves many requests, so
/// it is no request's child: it carries their ids in `request_ids` (comma-separated) and
/// follows from each request's span (a link, in a trace). The ids are joined only when the
/// span is enabled.
fn batch_span<'a>(
    jobs: impl Iterator<Item = (&'a Option<String>, &'a tracing::Span)>,
) -> tracing::Span {
    let span = tracing::info_span!(
        "charge_batch",
        jobs = tracing::field::Empty,
        request_ids = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let mut ids = String::new();
    let mut count = 0usize;
    for (request_id, request_span) in jobs {
        count += 1;
        span.follows_from(request_span);
        if let Some(id) = request_id {
            if !ids.is_empty() {
                ids.push(',');
            }
            ids.push_str(id);
        }
    }
    span.record("jobs", count);
    span.record("request_ids", ids.as_str());
    span
}

/// The batch's size and how long each of its jobs waited for it.
fn observe_batch(jobs: &[Job]) {
    use crate::infra::metrics::names;
    metrics::histogram!(names::CHARGE_BATCH_SIZE).record(jobs.len() as f64);
    let wait = metrics::histogram!(names::CHARGE_BATCH_WAIT);
    for job in jobs {
        wait.record(job.queued_at.elapsed().as_secs_f64());
    }
}

/// A job that runs in a savepoint of its own.
struct Nested {
    work: Work,
    request_id: Option<String>,
    span: tracing::Span,
    reply: oneshot::Sender<Reply>,
}

/// A planned job of the batch.
struct Row {
    claim: Option<keys::Model>,
    planned: Planned,
    answer: Answer,
    fallback: Work,
    request_id: Option<String>,
    span: tracing::Span,
    reply: oneshot::Sender<Reply>,
}

impl Row {
    fn nested(self) -> Nested {
        Nested {
            work: self.fallback,
            request_id: self.request_id,
            span: self.span,
            reply: self.reply,
        }
    }
}

/// Every job in `jobs` (drained): the planned ones in one transaction of fixed size, then
/// the rest (and any planned job the batch could not take) each in a savepoint.
async fn write_batch(db: &DatabaseConnection, jobs: &mut Vec<Job>, ids: &SharedAccountIds) {
    let mut rows = Vec::new();
    let mut nested = Vec::new();
    for job in jobs.drain(..) {
        let Job {
            task,
            request_id,
            span,
            reply,
            queued_at: _,
        } = job;
        match task {
            Task::Work(work) => nested.push(Nested {
                work,
                request_id,
                span,
                reply,
            }),
            Task::Planned(task) => {
                let PlannedTask {
                    claim,
                    planned,
                    answer,
                    fallback,
                } = *task;
                rows.push(Row {
                    claim,
                    planned,
                    answer,
                    fallback,
                    request_id,
                    span,
                    reply,
                })
            }
        }
    }
    if !rows.is_empty() {
        nested.extend(write_rows(db, rows, ids).await);
    }
    if !nested.is_empty() {
        write_nested(db, nested).await;
    }
}

/// Why a batch of rows did not commit.
enum Failed {
    /// Before COMMIT: nothing was written; the jobs can run again, one by one.
    Before(sea_orm::DbErr),
    /// At COMMIT: whether it landed is unknown; the jobs get 503 (a keyed retry is safe).
    Commit(sea_orm::DbErr),
}

/// The planned jobs in one transaction; answers those written and returns those to run in a
/// savepoint of their own (a key held elsewhere; every job, when a statement failed).
async fn write_rows(
    db: &DatabaseConnection,
    rows: Vec<Row>,
    ids: &SharedAccountIds,
) -> Vec<Nested> {
    // The key rows to claim, with the batch position of the request each belongs to.
    let claims: Vec<(usize, keys::Model)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.claim.clone()?)))
        .collect();
    let span = batch_span(rows.iter().map(|r| (&r.request_id, &r.span)));
    // Only the plans enter the transaction's future (a row's fallback `Work` is not Sync).
    let every_plan: Vec<&PlannedCharge> = rows.iter().map(|r| &r.planned.plan).collect();
    let began = std::time::Instant::now();
    let (outcome, work) = stats::measured(
        async {
            payments::prepare_accounts(db, &every_plan, ids)
                .await
                .map_err(|e| Failed::Before(DbErr::Custom(e.to_string())))?;
            let txn = db.begin().await.map_err(Failed::Before)?;
            // In the unique index's order: two writers claiming overlapping keys (a client's
            // retry racing its first request) then wait for each other in one order and never
            // deadlock, as they did with each batch's own order on PostgreSQL.
            let mut ordered: Vec<keys::Model> = claims.iter().map(|c| c.1.clone()).collect();
            ordered.sort_by(|a, b| {
                (a.livemode, &a.scope, &a.key).cmp(&(b.livemode, &b.scope, &b.key))
            });
            let claimed = claim_done(&txn, ordered.into_iter().map(Into::into).collect())
                .await
                .map_err(Failed::Before)?;
            // A row whose key was claimed (or that has no key) is written here.
            let mut mine = vec![true; every_plan.len()];
            for (i, row) in &claims {
                mine[*i] = claimed.contains(&row.id);
            }
            let plans: Vec<&PlannedCharge> = every_plan
                .iter()
                .zip(&mine)
                .filter(|(_, mine)| **mine)
                .map(|(plan, _)| *plan)
                .collect();
            if let Err(error) = payments::write_charges(&txn, &plans, ids).await {
                return Err(Failed::Before(sea_orm::DbErr::Custom(error.to_string())));
            }
            txn.commit().await.map_err(Failed::Commit)?;
            Ok(mine)
        }
        .instrument(span.clone()),
    )
    .await;
    // What follows logs about the batch: in its span, so each line names its requests.
    let _batch = span.enter();
    let mut rerun = Vec::new();
    use crate::infra::metrics::names;
    match &outcome {
        Ok(_) => {
            metrics::histogram!(names::CHARGE_BATCH_COMMIT).record(began.elapsed().as_secs_f64())
        }
        Err(Failed::Before(_)) => {
            metrics::counter!(names::CHARGE_BATCH_FAILURES, "at" => "before_commit").increment(1)
        }
        Err(Failed::Commit(_)) => {
            metrics::counter!(names::CHARGE_BATCH_FAILURES, "at" => "commit").increment(1)
        }
    }
    match outcome {
        Ok(mine) => {
            tracing::debug!(
                jobs = rows.len(),
                statements = work.statements,
                "charge batch committed"
            );
            for (row, mine) in rows.into_iter().zip(mine) {
                if mine {
                    // A client that went away drops its receiver; its charge stands.
                    let _ = row.reply.send((Ok(row.answer), work));
                } else {
                    rerun.push(row.nested());
                }
            }
        }
        Err(Failed::Before(error)) => {
            // Accounts created in the rolled-back transaction do not exist.
            ledger_batch::forget(ids);
            tracing::warn!(%error, jobs = rows.len(), "charge batch failed before COMMIT: rerunning its jobs one by one");
            rerun.extend(rows.into_iter().map(Row::nested));
        }
        Err(Failed::Commit(error)) => {
            ledger_batch::forget(ids);
            tracing::error!(%error, jobs = rows.len(), "charge batch: COMMIT failed");
            for row in rows {
                let _ = row.reply.send((Err(unavailable()), work));
            }
        }
    }
    rerun
}

/// One transaction for every job in `jobs`, each in a savepoint of its own, answered after
/// its COMMIT.
async fn write_nested(db: &DatabaseConnection, jobs: Vec<Nested>) {
    let span = batch_span(jobs.iter().map(|j| (&j.request_id, &j.span)));
    let txn = match db.begin().instrument(span.clone()).await {
        Ok(txn) => txn,
        Err(error) => {
            let _batch = span.enter();
            tracing::error!(%error, jobs = jobs.len(), "charge batch: BEGIN failed");
            for job in jobs {
                let _ = job.reply.send((Err(unavailable()), DbWork::default()));
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(jobs.len());
    for job in jobs {
        let Nested {
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
    let committed = txn.commit().instrument(span.clone()).await;
    let _batch = span.enter();
    match committed {
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

/// Claims many keys in one statement (`INSERT … ON CONFLICT DO NOTHING RETURNING id`);
/// returns the ids of the rows inserted. A key already held (by an earlier request, or by
/// another of the same batch) is not: its request goes through `idempotency::run_nested`, whose claim
/// decides between replay, 400 and 409.
async fn claim_done(
    db: &impl ConnectionTrait,
    rows: Vec<keys::ActiveModel>,
) -> Result<std::collections::HashSet<Uuid>, DbErr> {
    use sea_orm::QueryTrait;
    let mut claimed = std::collections::HashSet::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        // 11 columns a row: 1,000 rows stay under SQLite's 32,766 bound parameters.
        let chunk: Vec<keys::ActiveModel> = rows.by_ref().take(1_000).collect();
        let mut insert = keys::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([
                    keys::Column::Livemode,
                    keys::Column::Scope,
                    keys::Column::Key,
                ])
                .do_nothing()
                .to_owned(),
            )
            .into_query();
        insert.returning_col(keys::Column::Id);
        let backend = db.get_database_backend();
        for row in db.query_all(backend.build(&insert)).await? {
            claimed.insert(row.try_get::<Uuid>("", "id")?);
        }
    }
    Ok(claimed)
}
