//! What each background worker of this process did last: for `/readyz`, metrics and
//! operators. Per worker name (`settlement:test`, `webhooks:live`, `expiry_sweeper`, …): its
//! passes (last started, last finished, last success), items processed, failed passes,
//! restarts, the last error (short and scrubbed), and the interval it is expected to pass at,
//! so that a worker that stopped making progress shows as stale.
//!
//! Process-wide, as the workers are (one supervisor per worker name), and in infra so that
//! every layer can read and write it: the supervisor in `workers` counts runs and restarts,
//! each worker loop records its passes ([`Worker::pass`]), and [`snapshot`] reads it all
//! without touching the database. Nothing here can fail a worker: a poisoned lock only loses
//! a record.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A worker is stale when its last successful pass (or, before its first, the moment it
/// started running) is older than this many intervals plus [`STALE_MARGIN`]: one slow or
/// failed pass is normal (a retry comes at the next interval), three in a row are not.
pub const STALE_INTERVALS: u32 = 3;
/// Added to the stale bound so that a worker with a short interval (the webhook dispatcher
/// polls every second) is not called stale by one slow database round trip or a busy core.
pub const STALE_MARGIN: Duration = Duration::from_secs(30);
/// The last error is kept to this many characters: enough to recognise it, too short to
/// carry a payload.
pub const ERROR_CHARS: usize = 200;

/// One worker's status, as [`snapshot`] returns it: plain data, copied out of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerStatus {
    /// `<worker>` or `<worker>:test` / `<worker>:live`, as the logs name it.
    pub name: &'static str,
    /// How often it is expected to pass; `None` for a worker that only waits for something
    /// (the PostgreSQL outbox listener), which is never judged stale.
    pub interval: Option<Duration>,
    /// A run of it is going on in this process now (false once stopped).
    pub running: bool,
    /// When it last went from not running to running.
    pub running_since: Option<DateTime<Utc>>,
    pub last_pass_started_at: Option<DateTime<Utc>>,
    pub last_pass_finished_at: Option<DateTime<Utc>>,
    /// The end of the last pass that returned without an error.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Passes finished, successful or not.
    pub passes: u64,
    /// Work done over every pass: rows settled, payouts made, deliveries claimed, emails
    /// attempted, rows deleted… (what each worker counts is in README, "Readiness").
    pub items: u64,
    /// Passes that returned an error.
    pub failures: u64,
    /// Runs that panicked or ended by themselves and were started again.
    pub restarts: u64,
    /// The last failed pass's error, at most [`ERROR_CHARS`] characters, with anything that
    /// looks like an email address or a URL's credentials replaced (see [`scrub`]).
    pub last_error: Option<String>,
}

impl WorkerStatus {
    /// How long without a successful pass makes it stale, if it has an interval.
    pub fn stale_after(&self) -> Option<Duration> {
        self.interval.map(|every| {
            every
                .saturating_mul(STALE_INTERVALS)
                .saturating_add(STALE_MARGIN)
        })
    }

    /// Whole seconds since its last successful pass (never negative).
    pub fn seconds_since_success(&self, now: DateTime<Utc>) -> Option<i64> {
        self.last_success_at
            .map(|at| (now - at).num_seconds().max(0))
    }

    /// Running, expected to pass every `interval`, and no successful pass within
    /// [`Self::stale_after`] of now (counted from when it started running, if it has not
    /// succeeded since).
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        let (Some(bound), true) = (self.stale_after(), self.running) else {
            return false;
        };
        // A success from an earlier run (before a stop and start) does not count against
        // the new run, and a new run gets its full bound before its first success.
        let since = match (self.last_success_at, self.running_since) {
            (Some(ok), Some(start)) => ok.max(start),
            (Some(ok), None) => ok,
            (None, Some(start)) => start,
            (None, None) => return false,
        };
        let bound = chrono::Duration::from_std(bound).unwrap_or(chrono::Duration::MAX);
        now - since > bound
    }
}

#[derive(Debug, Default)]
struct Entry {
    interval: Option<Duration>,
    /// Runs going on now (a supervisor's run holds one while its task lives).
    runs: u32,
    running_since: Option<DateTime<Utc>>,
    last_pass_started_at: Option<DateTime<Utc>>,
    last_pass_finished_at: Option<DateTime<Utc>>,
    last_success_at: Option<DateTime<Utc>>,
    passes: u64,
    items: u64,
    failures: u64,
    restarts: u64,
    last_error: Option<String>,
}

type Registry = BTreeMap<&'static str, Arc<Mutex<Entry>>>;

/// Every worker registered in this process, by name.
static REGISTRY: Mutex<Registry> = Mutex::new(BTreeMap::new());

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while holding this lock cannot leave the map half-changed (inserts are whole),
    // so a poisoned lock is still good to read and write.
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lock(entry: &Mutex<Entry>) -> MutexGuard<'_, Entry> {
    // Every write to an entry is a few field assignments with nothing that can panic between
    // them, so a poisoned entry is consistent.
    entry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A handle to one worker's record: cheap to clone, records without looking the name up.
#[derive(Debug, Clone)]
pub struct Worker {
    name: &'static str,
    entry: Arc<Mutex<Entry>>,
}

/// The record of the worker `name`, made on first use; `interval` is how often it is
/// expected to pass (`None`: never judged stale). Registering a name again returns the same
/// record with the interval given now.
pub fn register(name: &'static str, interval: Option<Duration>) -> Worker {
    let entry = registry().entry(name).or_default().clone();
    lock(&entry).interval = interval;
    Worker { name, entry }
}

/// Every registered worker's status, by name. Cheap: no database, one short lock each.
pub fn snapshot() -> Vec<WorkerStatus> {
    let entries: Vec<(&'static str, Arc<Mutex<Entry>>)> = registry()
        .iter()
        .map(|(name, entry)| (*name, entry.clone()))
        .collect();
    entries
        .into_iter()
        .map(|(name, entry)| {
            let e = lock(&entry);
            WorkerStatus {
                name,
                interval: e.interval,
                running: e.runs > 0,
                running_since: e.running_since,
                last_pass_started_at: e.last_pass_started_at,
                last_pass_finished_at: e.last_pass_finished_at,
                last_success_at: e.last_success_at,
                passes: e.passes,
                items: e.items,
                failures: e.failures,
                restarts: e.restarts,
                last_error: e.last_error.clone(),
            }
        })
        .collect()
}

/// How often the worker `name` has been restarted in this process (0 if never).
pub fn restarts(name: &str) -> u64 {
    let entry = registry().get(name).cloned();
    entry.map_or(0, |e| lock(&e).restarts)
}

impl Worker {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A run starts: the worker counts as running until the returned guard is dropped (when
    /// the run's supervisor ends, however it ends: a stop, or its runtime going away).
    pub fn running(&self) -> Running {
        let mut e = lock(&self.entry);
        if e.runs == 0 {
            e.running_since = Some(Utc::now());
        }
        e.runs = e.runs.saturating_add(1);
        Running {
            entry: self.entry.clone(),
        }
    }

    /// Counts a restart (a run that panicked or ended by itself) and returns the count.
    pub fn restarted(&self) -> u64 {
        let mut e = lock(&self.entry);
        e.restarts = e.restarts.saturating_add(1);
        e.restarts
    }

    /// A pass begins; finish it with [`Pass::ok`] or [`Pass::failed`]. A pass dropped
    /// unfinished (its run panicked or was cancelled) stays started: the restart counts it.
    pub fn pass(&self) -> Pass {
        lock(&self.entry).last_pass_started_at = Some(Utc::now());
        Pass {
            entry: self.entry.clone(),
        }
    }
}

/// While alive, the worker counts as running (see [`Worker::running`]).
#[derive(Debug)]
pub struct Running {
    entry: Arc<Mutex<Entry>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut e = lock(&self.entry);
        e.runs = e.runs.saturating_sub(1);
    }
}

/// A pass in progress (see [`Worker::pass`]).
#[must_use = "finish a pass with ok() or failed()"]
#[derive(Debug)]
pub struct Pass {
    entry: Arc<Mutex<Entry>>,
}

impl Pass {
    /// The pass did its work: `items` is how much (0 for an idle pass, which still shows the
    /// worker alive).
    pub fn ok(self, items: u64) {
        let now = Utc::now();
        let mut e = lock(&self.entry);
        e.last_pass_finished_at = Some(now);
        e.last_success_at = Some(now);
        e.passes = e.passes.saturating_add(1);
        e.items = e.items.saturating_add(items);
    }

    /// The pass returned an error; `items` is what it did before (a sweep of several tables
    /// may fail in one and delete rows in the others).
    pub fn failed(self, items: u64, error: &dyn Display) {
        let message = scrub(&error.to_string());
        let now = Utc::now();
        let mut e = lock(&self.entry);
        e.last_pass_finished_at = Some(now);
        e.passes = e.passes.saturating_add(1);
        e.items = e.items.saturating_add(items);
        e.failures = e.failures.saturating_add(1);
        e.last_error = Some(message);
    }
}

/// An error message fit to keep and show: its first line, at most [`ERROR_CHARS`]
/// characters, with every word that holds an `@` (an email address, or a URL's `user:password@`)
/// replaced by `[redacted]`. Worker errors are database, SMTP and HTTP errors: a connection
/// string or a recipient is what could end up in one.
pub fn scrub(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    let words: Vec<&str> = line
        .split(' ')
        .map(|word| {
            if word.contains('@') {
                "[redacted]"
            } else {
                word
            }
        })
        .collect();
    let joined = words.join(" ");
    if joined.chars().count() <= ERROR_CHARS {
        return joined;
    }
    let mut cut: String = joined.chars().take(ERROR_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str) -> WorkerStatus {
        snapshot()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} is registered"))
    }

    #[test]
    fn passes_items_failures_and_the_last_error_are_recorded() {
        let worker = register("unit.status:test", Some(Duration::from_secs(10)));
        let run = worker.running();
        worker.pass().ok(3);
        worker.pass().ok(0);
        worker.pass().failed(
            1,
            &"connection to postgres://agora:s3cret@db.internal/agora refused\nsecond line",
        );
        let s = status("unit.status:test");
        assert!(s.running);
        assert_eq!((s.passes, s.items, s.failures), (3, 4, 1));
        assert_eq!(
            s.last_error.as_deref(),
            Some("connection to [redacted] refused"),
            "credentials and later lines never kept"
        );
        assert!(s.last_success_at.is_some());
        assert!(s.last_pass_finished_at >= s.last_success_at);
        assert_eq!(s.interval, Some(Duration::from_secs(10)));
        drop(run);
        assert!(!status("unit.status:test").running);
    }

    #[test]
    fn a_worker_without_a_success_within_three_intervals_and_a_margin_is_stale() {
        let worker = register("unit.stale", Some(Duration::from_secs(10)));
        let _run = worker.running();
        let s = status("unit.stale");
        let start = s.running_since.expect("running since");
        let bound = chrono::Duration::seconds(3 * 10 + 30);
        assert!(!s.is_stale(start + bound), "at the bound: not yet");
        assert!(s.is_stale(start + bound + chrono::Duration::seconds(1)));
        worker.pass().ok(0);
        let s = status("unit.stale");
        let ok = s.last_success_at.expect("a success");
        assert!(!s.is_stale(ok + bound));
        assert!(s.is_stale(ok + bound + chrono::Duration::seconds(1)));
        assert_eq!(s.seconds_since_success(ok + bound), Some(60));
        // A failed pass is no success: it does not reset the clock.
        worker.pass().failed(0, &"boom");
        assert!(status("unit.stale").is_stale(ok + bound + chrono::Duration::seconds(1)));
    }

    #[test]
    fn a_stopped_or_intervalless_worker_is_never_stale() {
        let listener = register("unit.listener", None);
        let _run = listener.running();
        let far = Utc::now() + chrono::Duration::days(365);
        assert!(!status("unit.listener").is_stale(far));
        let stopped = register("unit.stopped", Some(Duration::from_secs(1)));
        drop(stopped.running());
        assert!(!status("unit.stopped").is_stale(far));
    }

    #[test]
    fn restarts_are_counted_per_name() {
        let worker = register("unit.restarts", Some(Duration::from_secs(1)));
        assert_eq!(restarts("unit.restarts"), 0);
        assert_eq!(worker.restarted(), 1);
        assert_eq!(worker.restarted(), 2);
        assert_eq!(restarts("unit.restarts"), 2);
        assert_eq!(restarts("unit.never_registered"), 0);
    }

    #[test]
    fn scrub_keeps_a_short_first_line() {
        let long = "x".repeat(500);
        let scrubbed = scrub(&long);
        assert_eq!(scrubbed.chars().count(), ERROR_CHARS);
        assert!(scrubbed.ends_with('…'));
        assert_eq!(scrub("to anna@example.se: 550"), "to [redacted] 550");
        assert_eq!(scrub("plain"), "plain");
    }
}
