//! Background workers that run inside `agora serve`. Each claims its work from the database,
//! so any number of instances can run side by side.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::gateway::idempotency;
use crate::state::AppState;

/// How often expired idempotency keys are swept.
const IDEMPOTENCY_SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Rows deleted per statement, so the sweep never holds SQLite's one writer for long.
const IDEMPOTENCY_SWEEP_BATCH: u64 = 500;

pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    vec![tokio::spawn(idempotency_sweeper(state, stop))]
}

async fn idempotency_sweeper(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        match idempotency::expire(&state.db, Utc::now(), IDEMPOTENCY_SWEEP_BATCH).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "expired idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "idempotency sweep failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(IDEMPOTENCY_SWEEP_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}
