//! Background workers that run inside `agora serve`. Each claims its work from the database,
//! so any number of instances can run side by side.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::adapters::gateway::idempotency;
use crate::adapters::gateway::state::AppState;

/// How often the expiry sweeps run: idempotency keys, onboarding sessions and links, old
/// email records.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Rows deleted per statement, so the sweep never holds SQLite's one writer for long.
const SWEEP_BATCH: u64 = 500;

/// Connections of the webhook worker's own PostgreSQL pool: the dispatcher's claims and the
/// recorder's batches, one or two at a time.
const WEBHOOK_DB_CONNECTIONS: u32 = 4;

/// How often due charges are settled (pending → available).
const SETTLE_EVERY: Duration = Duration::from_secs(10);

pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut handles = vec![
        tokio::spawn(expiry_sweeper(state.clone(), stop.clone())),
        tokio::spawn(settlement(state.clone(), stop.clone())),
        tokio::spawn(kyc_deadlines(state.clone(), stop.clone())),
    ];
    if state.config.payout_worker {
        handles.push(tokio::spawn(payout_scheduler(state.clone(), stop.clone())));
    }
    if state.config.email_worker {
        handles.push(tokio::spawn(emails(state.clone(), stop.clone())));
    }
    if state.config.webhook_worker {
        handles.push(tokio::spawn(webhooks(state.clone(), stop.clone())));
    }
    if (state.config.webhook_worker || state.config.email_worker) && !state.config.is_sqlite() {
        // PostgreSQL NOTIFY from other processes' commits wakes this one's outbox workers.
        handles.push(tokio::spawn(crate::infra::events::wake::listen(
            state.config.database_url(),
            stop,
        )));
    }
    handles
}

/// Sends the email outbox (wall clock: mail is real in both modes): woken by the commit
/// that queued a message, polling every `email_poll_ms` as the fallback.
async fn emails(state: AppState, stop: watch::Receiver<bool>) {
    let mailer = match crate::infra::email::Mailer::from_config(&state.config) {
        Ok(m) => m,
        Err(e) => {
            // Config validation parses smtp_url first, so this is not expected; say so loudly.
            tracing::error!(error = %e, "the email worker cannot start; emails stay queued");
            return;
        }
    };
    crate::infra::email::run(
        &state.db,
        &state.kyc.sealer,
        mailer,
        Duration::from_millis(state.config.email_poll_ms),
        state.config.email_max_in_flight,
        stop,
    )
    .await;
}

/// Delivers webhooks in both modes, each at its own clock (the test clock drives retries):
/// woken by the commits that write deliveries, polling every `webhook_poll_ms` as the
/// fallback (see `domain::webhooks::delivery`).
async fn webhooks(state: AppState, stop: watch::Receiver<bool>) {
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
    crate::domain::webhooks::run(context, poll, stop).await;
}

/// Settles due charges in both modes, each at its own clock (test mode's can be advanced).
async fn settlement(state: AppState, mut stop: watch::Receiver<bool>) {
    use sea_orm::TransactionTrait;
    loop {
        for livemode in [false, true] {
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
            .await;
            match result {
                Ok(0) => {}
                Ok(n) => tracing::info!(livemode, balances = n, "settled due charges"),
                Err(e) => tracing::warn!(error = %e, "settlement failed; will retry"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(SETTLE_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The payout run in both modes, each on its own clock's date (test mode follows the test
/// clock), every `payout_poll_ms`. Runs are idempotent per period (a unique key), so running
/// often, or on many instances at once, creates each scheduled payout once.
async fn payout_scheduler(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.config.payout_poll_ms);
    loop {
        for livemode in [false, true] {
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
            .await;
            match result {
                Ok(r) if r.created.is_empty() && r.batches.is_empty() => {}
                Ok(r) => tracing::info!(
                    livemode,
                    payouts = r.created.len(),
                    batches = r.batches.len(),
                    "payout run"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "payout run failed; will retry")
                }
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

/// Applies passed requirement deadlines in both modes (test mode at its own clock): what is
/// still due becomes past due and charges stop, with the account's events.
async fn kyc_deadlines(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.config.kyc_poll_ms);
    loop {
        for livemode in [false, true] {
            match crate::domain::kyc::apply_deadlines(&state.db, livemode, DEADLINE_BATCH).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(livemode, accounts = n, "requirement deadlines applied"),
                Err(e) => tracing::warn!(error = %e, "deadline pass failed; will retry"),
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

async fn expiry_sweeper(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut orphans_swept_at: Option<std::time::Instant> = None;
    loop {
        match idempotency::expire(&state.db, Utc::now(), SWEEP_BATCH).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "expired idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "idempotency sweep failed; will retry"),
        }
        // Hosted onboarding: expired page sessions, and links long past their expiry.
        match crate::adapters::hosted::sweep(&state.db, Utc::now(), SWEEP_BATCH).await {
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
        match crate::infra::email::purge(&state.db, Utc::now(), SWEEP_BATCH).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "old email records deleted"),
            Err(e) => tracing::warn!(error = %e, "email purge failed; will retry"),
        }
        // Bank files of batches sent longer than bank_file_retention_days ago (each mode by
        // its clock, as the batches' sent_at).
        for livemode in [false, true] {
            match crate::domain::payouts::files::sweep_sent(
                &state.db,
                &state.config,
                livemode,
                SWEEP_BATCH,
            )
            .await
            {
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
        if orphans_swept_at.is_none_or(|at| at.elapsed() >= ORPHAN_SWEEP_EVERY) {
            orphans_swept_at = Some(std::time::Instant::now());
            sweep_orphans(&state).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Documents and bank files whose transaction never committed (see `kyc::files` and
/// `payouts::files`).
async fn sweep_orphans(state: &AppState) {
    match crate::domain::kyc::files::sweep_orphans(&state.db, &state.kyc).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "orphaned document files deleted"),
        Err(e) => tracing::warn!(error = %e, "document orphan sweep failed; will retry"),
    }
    match crate::domain::payouts::files::sweep_orphans(&state.db, &state.config).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "orphaned bank files deleted"),
        Err(e) => tracing::warn!(error = %e, "bank file orphan sweep failed; will retry"),
    }
}
