//! The id of the request being served, held for the task that serves it: the context
//! middleware sets it, error bodies read it (so `error` needs no `context`).

tokio::task_local! {
    pub(super) static REQUEST_ID: String;
}

/// The id of the request being served on this task, if any. Errors put it in their body.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}
