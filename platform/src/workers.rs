//! Background workers that run inside `agora serve`. Each claims its work from the database,
//! so any number of instances can run side by side.
//!
//! Every worker runs under [`supervise`]: a panic (or a body that returns while not asked to
//! stop) is logged, counted per worker name ([`restarts`]) and the worker restarted with
//! backoff; nothing else stops. The workers that act on a mode's data (settlement, payouts,
//! requirement deadlines, webhook delivery) run once per mode, each at its own clock, so a
//! test-mode bug or a slow test endpoint never holds up live mode.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::adapters::gateway::idempotency;
use crate::adapters::gateway::state::AppState;
use crate::infra::workers_status::{self, Worker};

/// How often the expiry sweeps run: idempotency keys, onboarding sessions and links, old
/// email records, API usage past its retention.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Rows deleted per statement, so the sweep never holds SQLite's one writer for long.
const SWEEP_BATCH: u64 = 500;

/// Connections of each mode's webhook worker's own PostgreSQL pool: the dispatcher's claims
/// and the recorder's batches, one or two at a time.
const WEBHOOK_DB_CONNECTIONS: u32 = 4;

/// How often due charges are settled (pending → available).
const SETTLE_EVERY: Duration = Duration::from_secs(10);

/// How long a supervisor waits before restarting a worker that panicked or ended: doubling
/// from `first` up to `max`, back to `first` after a run that lasted `max` or longer.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

/// The workers' backoff: a bug that panics on every pass costs a log line a minute, not a
/// busy loop; a one-off panic is over in a second.
pub const BACKOFF: Backoff = Backoff {
    first: Duration::from_secs(1),
    max: Duration::from_secs(60),
};

/// How often the worker `name` has been restarted in this process (0 if never). Names are
/// `<worker>` or `<worker>:test` / `<worker>:live`, as the logs show them.
pub fn restarts(name: &str) -> u64 {
    workers_status::restarts(name)
}

/// Every worker's restarts so far (the full status is `infra::workers_status::snapshot`).
pub fn restart_counts() -> Vec<(&'static str, u64)> {
    workers_status::snapshot()
        .into_iter()
        .map(|s| (s.name, s.restarts))
        .collect()
}

/// Stop was asked for, or can no longer be (its sender is gone): either way, do not restart.
fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

fn panic_message(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return "cancelled".to_owned();
    }
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Runs `body` as `worker` until `stop`: each run is a task of its own, so a panic in it
/// ends that run only; the supervisor logs it, counts it (`workers_status`) and starts a new
/// run after the backoff. A run that returns while stop was not asked for is restarted the
/// same way. On stop, the current run is awaited (it sees `stop` itself) and nothing is
/// restarted. The worker counts as running while the supervisor lives; the body records its
/// own passes.
pub fn supervise<F, Fut>(
    worker: Worker,
    mut stop: watch::Receiver<bool>,
    backoff: Backoff,
    body: F,
) -> JoinHandle<()>
where
    F: Fn(watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let name = worker.name();
        // Dropped when this task ends, however it ends (stop, or its runtime going away).
        let _running = worker.running();
        let mut delay = backoff.first;
        loop {
            if stopping(&stop) {
                return;
            }
            let started = tokio::time::Instant::now();
            let outcome = tokio::spawn(body(stop.clone())).await;
            if stopping(&stop) {
                return;
            }
            let restarts = worker.restarted();
            match outcome {
                Ok(()) => {
                    tracing::error!(
                        worker = name,
                        restarts,
                        "worker ended by itself; restarting"
                    )
                }
                Err(e) => tracing::error!(
                    worker = name,
                    restarts,
                    panic = %panic_message(e),
                    "worker panicked; restarting"
                ),
            }
            if started.elapsed() >= backoff.max {
                delay = backoff.first;
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => return,
            }
            delay = delay.saturating_mul(2).min(backoff.max);
        }
    })
}

/// A per-mode worker's name in each mode (index: livemode as usize).
type Names = [&'static str; 2];
const SETTLEMENT: Names = ["settlement:test", "settlement:live"];
const PAYOUTS: Names = ["payouts:test", "payouts:live"];
const DEADLINES: Names = ["kyc_deadlines:test", "kyc_deadlines:live"];
const WEBHOOKS: Names = ["webhooks:test", "webhooks:live"];

pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    let config = state.config.clone();
    let s = state.clone();
    let w = workers_status::register("expiry_sweeper", Some(SWEEP_EVERY));
    handles.push(supervise(w.clone(), stop.clone(), BACKOFF, move |stop| {
        expiry_sweeper(s.clone(), w.clone(), stop)
    }));
    for livemode in [false, true] {
        let mode = usize::from(livemode);
        let s = state.clone();
        let w = workers_status::register(SETTLEMENT[mode], Some(SETTLE_EVERY));
        handles.push(supervise(w.clone(), stop.clone(), BACKOFF, move |stop| {
            settlement(s.clone(), livemode, w.clone(), stop)
        }));
        let s = state.clone();
        let every = Duration::from_millis(config.kyc_poll_ms);
        let w = workers_status::register(DEADLINES[mode], Some(every));
        handles.push(supervise(w.clone(), stop.clone(), BACKOFF, move |stop| {
            kyc_deadlines(s.clone(), livemode, w.clone(), stop)
        }));
        if config.payout_worker {
            let s = state.clone();
            let every = Duration::from_millis(config.payout_poll_ms);
            let w = workers_status::register(PAYOUTS[mode], Some(every));
            handles.push(supervise(w.clone(), stop.clone(), BACKOFF, move |stop| {
                payout_scheduler(s.clone(), livemode, w.clone(), stop)
            }));
        }
        if config.webhook_worker {
            let s = state.clone();
            // The dispatcher passes at least every poll, idle or not.
            let every = Duration::from_millis(config.webhook_poll_ms);
            let w = workers_status::register(WEBHOOKS[mode], Some(every));
            handles.push(supervise(w.clone(), stop.clone(), BACKOFF, move |stop| {
                webhooks(s.clone(), livemode, w.clone(), stop)
            }));
        }
    }
    if config.ledger_verify_interval_s > 0 {
        let s = state.clone();
        let every = Duration::from_secs(config.ledger_verify_interval_s);
        let w = workers_status::register("ledger_verify", Some(every));
        handles.push(supervise(w.clone(), stop.clone(), BACKOFF, move |stop| {
            ledger_verifier(s.clone(), w.clone(), stop)
        }));
    }
    if config.email_worker {
        let s = state.clone();
        let every = Duration::from_millis(config.email_poll_ms);
        let w = workers_status::register("emails", Some(every));
        handles.push(supervise(w.clone(), stop.clone(), BACKOFF, move |stop| {
            emails(s.clone(), w.clone(), stop)
        }));
    }
    let s = state.clone();
    let every = Duration::from_millis(config.api_usage_flush_ms);
    let w = workers_status::register("api_usage", Some(every));
    handles.push(supervise(w.clone(), stop.clone(), BACKOFF, move |stop| {
        api_usage(s.clone(), w.clone(), stop)
    }));
    if (config.webhook_worker || config.email_worker) && !config.is_sqlite() {
        // PostgreSQL NOTIFY from other processes' commits wakes this one's outbox workers.
        // It waits for notifications and has no passes to judge (the workers' polls cover
        // what it misses), so it is never stale; its connects and failures are recorded.
        let url = config.database_url();
        let w = workers_status::register("outbox_listener", None);
        handles.push(supervise(w.clone(), stop, BACKOFF, move |stop| {
            crate::infra::events::wake::listen(url.clone(), w.clone(), stop)
        }));
    }
    handles
}

/// Sends the email outbox (wall clock: mail is real in both modes): woken by the commit
/// that queued a message, polling every `email_poll_ms` as the fallback.
async fn emails(state: AppState, worker: Worker, mut stop: watch::Receiver<bool>) {
    let mailer = match crate::infra::email::Mailer::from_config(&state.config) {
        Ok(m) => m,
        Err(e) => {
            // Config validation parses smtp_url first, so this is not expected; say so loudly,
            // once: a restart would not fix the configuration, so wait for stop.
            tracing::error!(error = %e, "the email worker cannot start; emails stay queued");
            // Recorded as a failed pass, so the status shows why it never succeeds.
            worker.pass().failed(0, &e);
            let _ = stop.changed().await;
            return;
        }
    };
    crate::infra::email::run(
        &state.db,
        &state.kyc.sealer,
        mailer,
        Duration::from_millis(state.config.email_poll_ms),
        state.config.email_max_in_flight,
        &worker,
        stop,
    )
    .await;
}

/// Delivers one mode's webhooks at its clock (the test clock drives test-mode retries):
/// woken by the commits that write deliveries, polling every `webhook_poll_ms` as the
/// fallback (see `domain::webhooks::delivery`).
async fn webhooks(state: AppState, livemode: bool, worker: Worker, stop: watch::Receiver<bool>) {
    // On PostgreSQL the worker has a small pool of its own: behind a busy API every request
    // holds one of the shared pool's connections, and a claim queued behind them would make
    // delivery as slow as the API is busy. SQLite has one writer: the shared connection.
    let db = if state.config.is_sqlite() {
        state.db.clone()
    } else {
        let mut own = (*state.config).clone();
        own.db_max_connections = WEBHOOK_DB_CONNECTIONS;
        match crate::infra::db::connect(&own).await {
            Ok(db) => db,
            Err(e) => {
                tracing::warn!(error = %e, "the webhook worker shares the API's pool");
                state.db.clone()
            }
        }
    };
    let context = crate::domain::webhooks::Context {
        db,
        config: state.config.clone(),
        webhooks: state.webhooks.clone(),
        kyc: state.kyc.clone(),
    };
    let poll = Duration::from_millis(state.config.webhook_poll_ms);
    crate::domain::webhooks::run(context, livemode, poll, &worker, stop).await;
}

/// A pass's span: the unit a trace shows for a worker (exported with `otlp_endpoint`). Only
/// the periodic workers have one (at most a few passes a minute each); the webhook and email
/// workers pass every second or more and would flood a collector with idle passes.
fn pass_span(worker: &Worker) -> tracing::Span {
    tracing::info_span!(
        "worker_pass",
        worker = worker.name(),
        items = tracing::field::Empty
    )
}

/// Runs `ledger verify` over the whole database (both modes) at start and then every
/// `ledger_verify_interval_s`, for the metrics an alert watches. Reads only; on PostgreSQL
/// its queries see one snapshot each, on SQLite WAL readers never block the writer.
async fn ledger_verifier(state: AppState, worker: Worker, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(state.config.ledger_verify_interval_s);
    loop {
        let started = std::time::Instant::now();
        let pass = worker.pass();
        let span = pass_span(&worker);
        match agora_ledger::verify::verify(&state.db)
            .instrument(span.clone())
            .await
        {
            Ok(report) => {
                crate::infra::metrics::record_verify(&report, started.elapsed());
                span.record("items", report.entries);
                // A broken ledger is the verifier's finding, not its failure: the pass worked
                // (the metric and the error line below say what it found).
                pass.ok(u64::try_from(report.entries).unwrap_or(0));
                if report.is_ok() {
                    tracing::info!(
                        entries = report.entries,
                        ms = started.elapsed().as_millis() as u64,
                        "{}",
                        report.summary()
                    );
                } else {
                    tracing::error!(problems = report.problems.len(), first = ?report.problems.first(), "{}", report.summary());
                }
            }
            Err(e) => {
                pass.failed(0, &e);
                tracing::warn!(error = %e, "ledger verify could not run; will retry")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Writes the API usage this process counted (domain::usage) every `api_usage_flush_ms`, and
/// once more when asked to stop: the server has stopped serving by then (app.rs stops the
/// workers after it), so the last requests are in that flush. A failed flush keeps its
/// counts for the next one.
async fn api_usage(state: AppState, worker: Worker, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.config.api_usage_flush_ms);
    loop {
        let last = tokio::select! {
            _ = tokio::time::sleep(every) => stopping(&stop),
            _ = stop.changed() => true,
        };
        let pass = worker.pass();
        match state.usage.flush(&state.db).await {
            Ok(flushed) => pass.ok(flushed.requests),
            Err(e) if last => {
                pass.failed(0, &e);
                tracing::error!(
                    error = %e,
                    cells = state.usage.pending(),
                    "the last API usage flush failed; those counts are lost"
                )
            }
            Err(e) => {
                pass.failed(0, &e);
                tracing::warn!(error = %e, "API usage flush failed; will retry")
            }
        }
        if last {
            return;
        }
    }
}

/// Settles one mode's due charges at its clock (test mode's can be advanced).
async fn settlement(
    state: AppState,
    livemode: bool,
    worker: Worker,
    mut stop: watch::Receiver<bool>,
) {
    use sea_orm::TransactionTrait;
    loop {
        let pass = worker.pass();
        let span = pass_span(&worker);
        let result = async {
            let txn = state.db.begin().await?;
            let now = crate::infra::clock::now(&txn, livemode).await?;
            let n = crate::adapters::api::balance::settle(
                &txn,
                livemode,
                now,
                &crate::infra::events::Origin::default(),
            )
            .await?;
            txn.commit().await?;
            Ok::<usize, crate::adapters::gateway::error::ApiError>(n)
        }
        .instrument(span.clone())
        .await;
        match result {
            Ok(n) => {
                span.record("items", n);
                pass.ok(n as u64);
                if n > 0 {
                    tracing::info!(livemode, balances = n, "settled due charges");
                }
            }
            Err(e) => {
                pass.failed(0, &e);
                tracing::warn!(livemode, error = %e, "settlement failed; will retry");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(SETTLE_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One mode's payout run, on its clock's date (test mode follows the test clock), every
/// `payout_poll_ms`. Runs are idempotent per period (a unique key), so running often, or on
/// many instances at once, creates each scheduled payout once.
async fn payout_scheduler(
    state: AppState,
    livemode: bool,
    worker: Worker,
    mut stop: watch::Receiver<bool>,
) {
    let every = Duration::from_millis(state.config.payout_poll_ms);
    loop {
        let pass = worker.pass();
        let span = pass_span(&worker);
        let result = async {
            let now = crate::infra::clock::now(&state.db, livemode).await?;
            crate::domain::payouts::run(
                &state.db,
                &state.config,
                &state.kyc.sealer,
                &crate::domain::payouts::RunOptions {
                    livemode,
                    as_of: crate::domain::payouts::local_date(&state.config, now),
                    submitted_at: now,
                    dry_run: false,
                    // Nobody reads a worker's skips: not worth reading every unpaid
                    // seller's balances each poll.
                    explain: false,
                },
            )
            .await
        }
        .instrument(span.clone())
        .await;
        match result {
            Ok(r) => {
                span.record("items", r.created.len());
                pass.ok(r.created.len() as u64);
                if !(r.created.is_empty() && r.batches.is_empty()) {
                    tracing::info!(
                        livemode,
                        payouts = r.created.len(),
                        batches = r.batches.len(),
                        "payout run"
                    );
                }
            }
            Err(e) => {
                pass.failed(0, &e);
                tracing::warn!(livemode, error = %e, "payout run failed; will retry")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Accounts evaluated per pass of the deadline worker.
const DEADLINE_BATCH: u64 = 200;

/// Applies one mode's passed requirement deadlines (test mode at its own clock): what is
/// still due becomes past due and charges stop, with the account's events.
async fn kyc_deadlines(
    state: AppState,
    livemode: bool,
    worker: Worker,
    mut stop: watch::Receiver<bool>,
) {
    let every = Duration::from_millis(state.config.kyc_poll_ms);
    loop {
        let pass = worker.pass();
        let span = pass_span(&worker);
        let result = crate::domain::kyc::apply_deadlines(&state.db, livemode, DEADLINE_BATCH)
            .instrument(span.clone())
            .await;
        match result {
            Ok(n) => {
                span.record("items", n);
                pass.ok(n as u64);
                if n > 0 {
                    tracing::info!(livemode, accounts = n, "requirement deadlines applied");
                }
            }
            Err(e) => {
                pass.failed(0, &e);
                tracing::warn!(livemode, error = %e, "deadline pass failed; will retry");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// How often files no row points at are looked for (a directory listing each time).
const ORPHAN_SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// What one sweeper pass did: rows and files deleted, and the first error of its sweeps
/// (each sweep runs whatever another failed; the pass counts as failed if any did).
#[derive(Default)]
struct Swept {
    deleted: u64,
    error: Option<String>,
}

impl Swept {
    /// Adds one sweep's outcome: `Ok(n)` deleted n; an error is logged by the caller.
    fn add<E: std::fmt::Display>(&mut self, outcome: &Result<u64, E>) {
        match outcome {
            Ok(n) => self.deleted = self.deleted.saturating_add(*n),
            Err(e) => {
                self.error.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

async fn expiry_sweeper(state: AppState, worker: Worker, mut stop: watch::Receiver<bool>) {
    let mut orphans_swept_at: Option<std::time::Instant> = None;
    loop {
        let pass = worker.pass();
        let span = pass_span(&worker);
        let swept = sweep_once(&state, &mut orphans_swept_at)
            .instrument(span.clone())
            .await;
        span.record("items", swept.deleted);
        match swept.error {
            None => pass.ok(swept.deleted),
            Some(e) => pass.failed(swept.deleted, &e),
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One pass of the expiry sweeper: every sweep, each logging its own outcome.
async fn sweep_once(state: &AppState, orphans_swept_at: &mut Option<std::time::Instant>) -> Swept {
    let mut swept = Swept::default();
    let expired = idempotency::expire(&state.db, Utc::now(), SWEEP_BATCH).await;
    swept.add(&expired);
    match expired {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "expired idempotency keys"),
        Err(e) => tracing::warn!(error = %e, "idempotency sweep failed; will retry"),
    }
    // Hosted onboarding: expired page sessions, and links long past their expiry.
    let hosted = crate::adapters::hosted::sweep(&state.db, Utc::now(), SWEEP_BATCH).await;
    swept.add(&hosted.as_ref().map(|(s, l)| s.saturating_add(*l)));
    match hosted {
        Ok((0, 0)) => {}
        Ok((sessions, links)) => {
            tracing::info!(
                sessions,
                links,
                "expired onboarding sessions and links deleted"
            );
        }
        Err(e) => tracing::warn!(error = %e, "onboarding sweep failed; will retry"),
    }
    let purged = crate::infra::email::purge(&state.db, Utc::now(), SWEEP_BATCH).await;
    swept.add(&purged);
    match purged {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "old email records deleted"),
        Err(e) => tracing::warn!(error = %e, "email purge failed; will retry"),
    }
    // Bank files of batches sent longer than bank_file_retention_days ago (each mode by
    // its clock, as the batches' sent_at).
    for livemode in [false, true] {
        let sent = crate::domain::payouts::files::sweep_sent(
            &state.db,
            &state.config,
            livemode,
            SWEEP_BATCH,
        )
        .await;
        swept.add(&sent.as_ref().map(|n| *n as u64));
        match sent {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                livemode,
                deleted = n,
                "bank files past their retention deleted"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "bank file retention sweep failed; will retry")
            }
        }
    }
    let usage = crate::domain::usage::sweep(
        &state.db,
        Utc::now(),
        state.config.api_usage_retention_days,
        SWEEP_BATCH,
    )
    .await;
    swept.add(&usage);
    match usage {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "API usage past its retention deleted"),
        Err(e) => tracing::warn!(error = %e, "API usage retention sweep failed; will retry"),
    }
    if orphans_swept_at.is_none_or(|at| at.elapsed() >= ORPHAN_SWEEP_EVERY) {
        *orphans_swept_at = Some(std::time::Instant::now());
        sweep_orphans(state, &mut swept).await;
    }
    swept
}

/// Documents and bank files whose transaction never committed (see `kyc::files` and
/// `payouts::files`).
async fn sweep_orphans(state: &AppState, swept: &mut Swept) {
    let documents = crate::domain::kyc::files::sweep_orphans(&state.db, &state.kyc).await;
    swept.add(&documents.as_ref().map(|n| *n as u64));
    match documents {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "orphaned document files deleted"),
        Err(e) => tracing::warn!(error = %e, "document orphan sweep failed; will retry"),
    }
    let bank_files = crate::domain::payouts::files::sweep_orphans(&state.db, &state.config).await;
    swept.add(&bank_files.as_ref().map(|n| *n as u64));
    match bank_files {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "orphaned bank files deleted"),
        Err(e) => tracing::warn!(error = %e, "bank file orphan sweep failed; will retry"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const QUICK: Backoff = Backoff {
        first: Duration::from_millis(10),
        max: Duration::from_millis(40),
    };

    /// A body that counts its runs and panics on the first `panics` of them, then ticks until
    /// stopped.
    fn flaky(
        runs: Arc<AtomicUsize>,
        ticks: Arc<AtomicUsize>,
        panics: usize,
    ) -> impl Fn(watch::Receiver<bool>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    {
        move |mut stop| {
            let (runs, ticks) = (runs.clone(), ticks.clone());
            Box::pin(async move {
                if runs.fetch_add(1, Ordering::SeqCst) < panics {
                    panic!("a bug in one pass");
                }
                loop {
                    ticks.fetch_add(1, Ordering::SeqCst);
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                        _ = stop.changed() => return,
                    }
                }
            })
        }
    }

    /// Issue #15: a panic no longer stops a worker for good, and one mode's worker going down
    /// does not stop the other's: each is supervised on its own, restarted with backoff, and
    /// its restarts counted.
    #[tokio::test]
    async fn a_panicking_worker_is_restarted_and_the_other_mode_keeps_running() {
        let (stop_tx, stop) = watch::channel(false);
        let (test_runs, test_ticks) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (live_runs, live_ticks) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let test = supervise(
            workers_status::register("unit.flaky:test", None),
            stop.clone(),
            QUICK,
            flaky(test_runs.clone(), test_ticks.clone(), 3),
        );
        let live = supervise(
            workers_status::register("unit.flaky:live", None),
            stop.clone(),
            QUICK,
            flaky(live_runs.clone(), live_ticks.clone(), 0),
        );
        for _ in 0..200 {
            if test_ticks.load(Ordering::SeqCst) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            test_runs.load(Ordering::SeqCst),
            4,
            "three panics, then a run that lasts"
        );
        assert!(
            test_ticks.load(Ordering::SeqCst) > 0,
            "the restarted worker works"
        );
        assert_eq!(restarts("unit.flaky:test"), 3);
        assert_eq!(
            live_runs.load(Ordering::SeqCst),
            1,
            "the other mode never stopped"
        );
        assert_eq!(restarts("unit.flaky:live"), 0);
        let status = |name: &str| {
            workers_status::snapshot()
                .into_iter()
                .find(|s| s.name == name)
                .expect("registered")
        };
        assert!(
            status("unit.flaky:test").running,
            "running between restarts"
        );
        let before = live_ticks.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            live_ticks.load(Ordering::SeqCst) > before,
            "the other mode keeps running"
        );

        // Stop ends both supervisors (and their bodies) without another restart.
        let _ = stop_tx.send(true);
        tokio::time::timeout(Duration::from_secs(5), async {
            let _ = test.await;
            let _ = live.await;
        })
        .await
        .expect("supervisors stop");
        assert_eq!(restarts("unit.flaky:test"), 3);
        assert_eq!(test_runs.load(Ordering::SeqCst), 4);
        assert!(
            !status("unit.flaky:test").running && !status("unit.flaky:live").running,
            "a stopped worker is not running (so never stale)"
        );
    }

    /// A body that ends by itself while not asked to stop is restarted too (a worker that
    /// silently returned would leave its work undone).
    #[tokio::test]
    async fn a_worker_that_returns_early_is_restarted() {
        let (stop_tx, stop) = watch::channel(false);
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let worker = workers_status::register("unit.returns", None);
        let handle = supervise(worker, stop, QUICK, move |_| {
            let runs = counted.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
            }
        });
        for _ in 0..200 {
            if runs.load(Ordering::SeqCst) >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(runs.load(Ordering::SeqCst) >= 3);
        assert!(restarts("unit.returns") >= 2);
        let _ = stop_tx.send(true);
        tokio::time::timeout(Duration::from_secs(5), handle)
            .await
            .expect("supervisor stops")
            .expect("supervisor did not panic");
    }
}
