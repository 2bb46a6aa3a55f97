//! The id of the request being served, held for the task that serves it: the context
//! middleware sets it, error bodies read it (so `error` needs no `context`). Also the header a
//! replayed answer carries, which the context middleware counts (so `context` needs no
//! `idempotency`, which needs `context`).

/// `Idempotent-Replayed: true` on an answer replayed for its Idempotency-Key.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

tokio::task_local! {
    pub(super) static REQUEST_ID: String;
}

/// The id of the request being served on this task, if any. Errors put it in their body.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}
