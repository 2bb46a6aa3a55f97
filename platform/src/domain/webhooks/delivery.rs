//! The delivery worker: a dispatcher that keeps each endpoint's in-flight slots full, HTTP
//! attempts that run as tasks of their own, and a recorder that writes their outcomes in
//! batches.
//!
//! - **One worker per mode.** `run` delivers one mode's events (the workers start one per
//!   mode, each supervised), with that mode's own in-flight permits, so slow test endpoints or
//!   a test-mode bug never hold up live deliveries.
//! - **Continuous, per endpoint.** Each enabled endpoint has its own lane: at most
//!   `webhook_max_per_endpoint` requests in flight to it (and `webhook_max_in_flight` per mode
//!   in the process). When a request ends its slot is refilled at once from the database, so a fast
//!   receiver sees a steady stream, and a slow or failing one only ever holds its own slots:
//!   it never delays another endpoint's lane.
//! - **Woken, not polled.** The transaction that writes deliveries wakes the dispatcher
//!   (`events::wake`: in-process at once, PostgreSQL `NOTIFY` at commit for other processes).
//!   `webhook_poll_ms` is the fallback, and what makes retries that come due visible.
//! - **Claimed in batches, with a lease.** One statement per lane claims its free slots and
//!   room in its bounded queue (LANE_BUFFER_ROUNDS):
//!   it sets `locked_until` (now + 60 s) on due, unleased rows and returns them
//!   (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so instances never wait for each other; SQLite
//!   has one writer, which makes the conditional update atomic). A worker that dies holding a
//!   claim loses it when `locked_until` passes; the attempt is then made again (at least once).
//!   At most the cap plus the lane's queue is claimed, so an endpoint that is down keeps its
//!   backlog in the database, not in memory.
//! - **Recorded in batches.** Outcomes queue to one recorder task, which writes whatever has
//!   arrived (up to 256) in one transaction: a multi-row insert of attempts, one
//!   `UPDATE … FROM (VALUES …)` for the deliveries, one update per endpoint for its failure
//!   bookkeeping. No transaction is ever held across an HTTP request.
//! - **A panic is one attempt's.** An attempt that panics is recorded as a failed attempt
//!   (retried as usual) and its slot freed; a recorder batch that panics is left to its leases,
//!   as after a crash. Anything else that panics ends the mode's worker, which its supervisor
//!   restarts.

use crate::infra::events::EventType;
use crate::infra::workers_status::Worker;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, Statement, TransactionTrait, Value,
};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use super::entity::{attempt as attempts, delivery as deliveries, endpoint as endpoints};
use crate::infra::config::Config;
use crate::infra::events::view::EventObject;
use crate::infra::events::wake::{self, Outbox};
use crate::infra::events::{self, NewEvent, Origin};
use crate::infra::wire::ids::{self, IdKind};

/// Most deliveries one claim statement takes (a lane never asks for more than its free slots
/// and queue room).
pub const CLAIM_BATCH: usize = 100;
/// How long a claim holds: a claimed row is sent within LANE_BUFFER_ROUNDS rounds of attempts
/// and an attempt ends within [`TIMEOUT`], so this leaves time to record it.
pub const CLAIM_FOR: Duration = Duration::seconds(60);
/// A 2xx within this time counts as delivered.
pub const TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// Outcomes written per recorder transaction.
const RECORD_BATCH: usize = 256;
/// Rows per multi-row statement inside that transaction (8–9 parameters each, far below
/// SQLite's limit of 32766).
const ROWS_PER_STATEMENT: usize = 128;
/// Outcomes waiting for the recorder. When it is full (a slow database) a finished attempt
/// keeps its slot until it is queued, so claiming slows down with the database.
const RECORD_QUEUE: usize = 2048;
/// Passes are at least this far apart: under load, completions arrive continuously and each
/// pass then claims several freed slots at once instead of one row per statement.
const MIN_PASS_GAP: StdDuration = StdDuration::from_millis(5);
/// On SQLite a wake-up (a commit wrote deliveries) only claims: the endpoint list is re-read
/// and orphans given up at most this often (and on every poll), so a busy stream of commits
/// costs the one connection a claim per lane, not a full pass each. An endpoint created or
/// changed is seen within this time.
const REFRESH_EVERY: StdDuration = StdDuration::from_secs(1);
/// After a failed pass (the database is unreachable), wait this long before the next.
const ERROR_BACKOFF: StdDuration = StdDuration::from_millis(500);
/// A URL's SSRF verdict (a DNS lookup) is reused this long; the clients' resolver still
/// filters every connection's addresses, so this only spares the lookup.
const URL_RECHECK: StdDuration = StdDuration::from_secs(30);
/// On shutdown, attempts in flight get this long to finish and be recorded.
const DRAIN_FOR: StdDuration = StdDuration::from_secs(15);
/// Response bytes read (and ignored): enough to let the connection be reused.
const MAX_RESPONSE_BYTES: usize = 4096;
/// Longest error text kept in the log.
const MAX_ERROR_LEN: usize = 255;

/// What delivery needs from the process: the database, its own runtime, the sealer (KYC's
/// keys open endpoint secrets and seal the operator's email) and the config (who that email
/// is from and to). The worker builds it from the application state. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub webhooks: Arc<Runtime>,
    pub kyc: Arc<crate::domain::kyc::Runtime>,
}

/// A URL's last SSRF check: the URL checked, when, and the verdict.
type UrlVerdict = (String, Instant, Result<reqwest::Url, String>);

/// What the delivery worker shares: HTTP clients (one connection pool each, so connections
/// to an endpoint are kept alive and reused), the in-flight bounds and the SSRF verdicts.
pub struct Runtime {
    test_client: reqwest::Client,
    live_client: reqwest::Client,
    /// Each mode's in-flight permits (index: livemode as usize): test endpoints that hold
    /// every permit of theirs leave live mode's untouched.
    in_flight: [Arc<Semaphore>; 2],
    per_endpoint: usize,
    /// `webhook_allow_private_targets`: test mode may reach any address (live mode never).
    allow_private: bool,
    checked: Mutex<HashMap<Uuid, UrlVerdict>>,
}

impl Runtime {
    /// `max_in_flight` per mode; `allow_private` lifts the SSRF guard for test mode only.
    pub fn new(
        max_in_flight: usize,
        per_endpoint: usize,
        allow_private: bool,
    ) -> anyhow::Result<Self> {
        // reqwest is built without a default crypto provider; ring is the workspace's.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let per_endpoint = per_endpoint.max(1);
        let builder = || {
            reqwest::Client::builder()
                // A redirect could lead anywhere, past the SSRF guard; receivers must answer.
                .redirect(reqwest::redirect::Policy::none())
                .timeout(TIMEOUT)
                .connect_timeout(TIMEOUT)
                // Keep as many idle connections per host as requests may be in flight to it.
                .pool_max_idle_per_host(per_endpoint)
                .pool_idle_timeout(StdDuration::from_secs(60))
                .user_agent("Agora-Webhooks/1")
        };
        // Both clients connect only to addresses the guard allows: a name checked a moment
        // ago may resolve elsewhere by the time of the connection.
        let guarded = || builder().dns_resolver(Arc::new(super::ssrf::GuardedResolver));
        let test_client = if allow_private {
            tracing::warn!(
                "webhook_allow_private_targets is on: test-mode webhook endpoints may reach \
                 loopback, private and link-local addresses"
            );
            builder().build()?
        } else {
            guarded().build()?
        };
        let permits = || Arc::new(Semaphore::new(max_in_flight.max(1)));
        Ok(Self {
            test_client,
            live_client: guarded().build()?,
            in_flight: [permits(), permits()],
            per_endpoint,
            allow_private,
            checked: Mutex::new(HashMap::new()),
        })
    }

    /// The mode's HTTP client.
    fn client(&self, livemode: bool) -> &reqwest::Client {
        if livemode {
            &self.live_client
        } else {
            &self.test_client
        }
    }

    /// The mode's in-flight permits.
    fn permits(&self, livemode: bool) -> &Arc<Semaphore> {
        &self.in_flight[usize::from(livemode)]
    }

    /// `url` checked by the SSRF guard, reusing a verdict younger than [`URL_RECHECK`].
    async fn checked_url(&self, endpoint: &endpoints::Model) -> Result<reqwest::Url, String> {
        if !endpoint.livemode && self.allow_private {
            // No DNS then: nothing worth caching.
            return super::ssrf::check_url(&endpoint.url, false, true).await;
        }
        if let Ok(cache) = self.checked.lock() {
            if let Some((url, at, verdict)) = cache.get(&endpoint.id) {
                if *url == endpoint.url && at.elapsed() < URL_RECHECK {
                    return verdict.clone();
                }
            }
        }
        let verdict = super::ssrf::check_url(&endpoint.url, endpoint.livemode, false).await;
        if let Ok(mut cache) = self.checked.lock() {
            // Bounded: endpoints are at most 20 per mode; forget deleted ones now and then.
            if cache.len() > 1000 {
                cache.clear();
            }
            cache.insert(
                endpoint.id,
                (endpoint.url.clone(), Instant::now(), verdict.clone()),
            );
        }
        verdict
    }
}

/// What a dispatcher pass does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The poll (or a wake-up after REFRESH_EVERY): re-read the endpoints, give up orphaned
    /// deliveries, read the test clock, look at every lane.
    Refresh,
    /// A commit wrote deliveries: read the test clock, look at every known lane.
    Wake,
    /// Attempts ended: refill only the lanes that had more.
    Refill,
}

/// A lane claims up to this many times its in-flight cap beyond it, kept in order until a slot
/// frees: a claim costs the database a turn (on SQLite, a turn on its one connection behind
/// every request), so claiming only the free slots would make a fast endpoint wait for that
/// turn after every few requests. Safe within the lease: a queued row waits at most this many
/// rounds of attempts (each ≤ TIMEOUT = 10 s) before it is sent, 40 s < CLAIM_FOR = 60 s.
const LANE_BUFFER_ROUNDS: usize = 4;

/// A claimed delivery waiting in its lane for a free slot.
struct Queued {
    endpoint: Arc<endpoints::Model>,
    event: Option<Arc<events::Event>>,
    row: deliveries::Model,
    now: DateTime<Utc>,
}

/// One endpoint's lane in the dispatcher.
#[derive(Default)]
struct Lane {
    in_flight: usize,
    /// Claimed, waiting for a slot (at most LANE_BUFFER_ROUNDS × the cap). Shared with the
    /// lane's slot tasks, which take the next row themselves as each attempt ends, so a fast
    /// endpoint is not held up while the dispatcher waits on the database.
    queue: Arc<Mutex<std::collections::VecDeque<Queued>>>,
    /// The last claim filled every slot asked for (or something woke us since): there may be
    /// more due. False once a claim came back short, until the next wake-up or poll.
    more: bool,
}

/// An attempt that has ended, on its way to the recorder.
struct Finished {
    row: deliveries::Model,
    endpoint: Arc<endpoints::Model>,
    outcome: Outcome,
    /// The mode's clock when the row was claimed: the attempt's time.
    now: DateTime<Utc>,
}

struct Dispatcher {
    ctx: Context,
    livemode: bool,
    lanes: HashMap<Uuid, Lane>,
    /// The mode's enabled endpoints as last read.
    endpoints: Arc<Vec<Arc<endpoints::Model>>>,
    in_flight: usize,
    /// The test clock's offset as last read.
    test_offset: Duration,
    done: mpsc::UnboundedSender<Uuid>,
    record: mpsc::Sender<Finished>,
}

/// Runs one mode's delivery worker until `stop`, at the mode's clock (the test clock drives
/// retries in test mode). `poll` is the fallback interval. Every dispatcher pass is recorded
/// on `worker` (items: deliveries claimed); the poll makes one at least every `poll`, so an
/// idle worker still shows alive.
pub async fn run(
    ctx: Context,
    livemode: bool,
    poll: StdDuration,
    worker: &Worker,
    mut stop: watch::Receiver<bool>,
) {
    let mut woken = wake::subscribe(Outbox::Webhooks);
    let (done, mut finished) = mpsc::unbounded_channel::<Uuid>();
    let (record, outcomes) = mpsc::channel::<Finished>(RECORD_QUEUE);
    let recorder = tokio::spawn(recorder(ctx.clone(), outcomes));
    let mut dispatcher = Dispatcher {
        ctx,
        livemode,
        lanes: HashMap::new(),
        endpoints: Arc::new(Vec::new()),
        in_flight: 0,
        test_offset: Duration::zero(),
        done,
        record,
    };
    let mut next_poll = tokio::time::Instant::now();
    let mut was_woken = false;
    let mut last_refresh: Option<tokio::time::Instant> = None;
    // SQLite: a wake-up only claims, since every statement waits its turn on the one
    // connection. PostgreSQL: a wake-up is a full pass (the worker has its own pool, so it is
    // cheap); claim-only wake-ups measured a p99 near the 1-s refresh there (to be found out).
    let claim_only_wakes = dispatcher.ctx.db.get_database_backend() == DbBackend::Sqlite;
    loop {
        // A poll re-reads the endpoints and looks at every lane; a wake-up looks at every
        // lane too, re-reading the endpoints only if the last read is older than
        // REFRESH_EVERY (else a refresh is due by then); a pass after completions only
        // refills the lanes that had more.
        let mut woke = std::mem::take(&mut was_woken);
        let mut refresh = false;
        if tokio::time::Instant::now() >= next_poll {
            next_poll = tokio::time::Instant::now() + poll;
            refresh = true;
        }
        if woken.has_changed().unwrap_or(false) {
            woken.borrow_and_update();
            woke = true;
        }
        if woke && !refresh && claim_only_wakes {
            match last_refresh {
                Some(at) if at.elapsed() < REFRESH_EVERY => {
                    next_poll = next_poll.min(at + REFRESH_EVERY);
                }
                _ => refresh = true,
            }
        }
        let refresh = refresh || (woke && !claim_only_wakes);
        let pass = match (refresh, woke) {
            (true, _) => Pass::Refresh,
            (false, true) => Pass::Wake,
            (false, false) => Pass::Refill,
        };
        if refresh {
            last_refresh = Some(tokio::time::Instant::now());
        }
        let started = Instant::now();
        let recorded = worker.pass();
        match dispatcher.pass(pass).await {
            Ok(claimed) => recorded.ok(claimed as u64),
            Err(e) => {
                recorded.failed(0, &e);
                tracing::warn!(error = %e, "webhook delivery pass failed; will retry");
                tokio::select! {
                    _ = tokio::time::sleep(ERROR_BACKOFF) => {}
                    _ = stop.changed() => break,
                }
                continue;
            }
        }
        tokio::select! {
            _ = woken.changed() => was_woken = true,
            Some(endpoint) = finished.recv() => dispatcher.finished(endpoint),
            _ = tokio::time::sleep_until(next_poll) => {}
            _ = stop.changed() => break,
        }
        if let Some(rest) = MIN_PASS_GAP.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        while let Ok(endpoint) = finished.try_recv() {
            dispatcher.finished(endpoint);
        }
    }
    // Let what is in flight finish and be recorded; a claim left behind expires and is
    // attempted again (at least once).
    let deadline = tokio::time::Instant::now() + DRAIN_FOR;
    // Queued claims are not started now: their lease passes and they are attempted again.
    for lane in dispatcher.lanes.values_mut() {
        if let Ok(mut queue) = lane.queue.lock() {
            queue.clear();
        }
    }
    while dispatcher.in_flight > 0 {
        match tokio::time::timeout_at(deadline, finished.recv()).await {
            Ok(Some(endpoint)) => dispatcher.finished(endpoint),
            _ => break,
        }
    }
    drop(dispatcher);
    let _ = recorder.await;
}

impl Dispatcher {
    fn finished(&mut self, endpoint: Uuid) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(lane) = self.lanes.get_mut(&endpoint) {
            lane.in_flight = lane.in_flight.saturating_sub(1);
        }
        self.start_queued(endpoint);
    }

    /// Starts slot tasks for the lane's queued deliveries, up to its free slots (and the
    /// process's permits). Each slot task sends queued rows one after another until the queue
    /// is empty, then frees its slot.
    fn start_queued(&mut self, endpoint: Uuid) {
        let runtime = self.ctx.webhooks.clone();
        let Some(lane) = self.lanes.get_mut(&endpoint) else {
            return;
        };
        let queued = lane.queue.lock().map(|q| q.len()).unwrap_or(0);
        let wanted = queued.min(runtime.per_endpoint.saturating_sub(lane.in_flight));
        for _ in 0..wanted {
            let Ok(permit) = runtime.permits(self.livemode).clone().try_acquire_owned() else {
                return;
            };
            lane.in_flight += 1;
            self.in_flight += 1;
            tokio::spawn(slot(
                self.ctx.clone(),
                endpoint,
                lane.queue.clone(),
                permit,
                self.done.clone(),
                self.record.clone(),
            ));
        }
    }

    /// One pass over the mode (see [`Pass`]); returns how many deliveries it claimed.
    async fn pass(&mut self, pass: Pass) -> Result<usize, DbErr> {
        let db = self.ctx.db.clone();
        let runtime = self.ctx.webhooks.clone();
        let full = pass != Pass::Refill;
        let livemode = self.livemode;
        if pass == Pass::Wake {
            for e in self.endpoints.iter() {
                self.lanes.entry(e.id).or_default().more = true;
            }
        }
        if pass == Pass::Refresh {
            let list = endpoints::Entity::find()
                .filter(endpoints::Column::Livemode.eq(livemode))
                .filter(endpoints::Column::Disabled.eq(false))
                .all(&db)
                .await?;
            for e in &list {
                self.lanes.entry(e.id).or_default().more = true;
            }
            // Forget lanes of endpoints gone from this mode once idle.
            let ids: Vec<Uuid> = list.iter().map(|e| e.id).collect();
            let previous = std::mem::take(&mut self.endpoints);
            for gone in previous.iter().filter(|e| !ids.contains(&e.id)) {
                if self.lanes.get(&gone.id).is_some_and(|l| l.in_flight == 0) {
                    self.lanes.remove(&gone.id);
                }
            }
            self.endpoints = Arc::new(list.into_iter().map(Arc::new).collect());
        }
        let endpoints = self.endpoints.clone();
        let wanted = endpoints.iter().any(|e| {
            self.lanes
                .get(&e.id)
                .is_some_and(|l| l.more && l.in_flight < runtime.per_endpoint)
        });
        if !wanted && !full {
            return Ok(0);
        }
        // The test clock's offset is read on full passes (a wake-up or the poll, so an
        // advance is seen within one poll) and reused by the passes between them, which
        // only refill slots: one query fewer per pass at full speed.
        if full && !livemode {
            self.test_offset = crate::infra::clock::test_offset(&db).await?;
        }
        let now = match livemode {
            true => Utc::now(),
            false => Utc::now() + self.test_offset,
        };
        if pass == Pass::Refresh {
            give_up_orphans(&db, livemode, now).await?;
        }
        let mut claimed = 0;
        for endpoint in endpoints.iter() {
            self.start_queued(endpoint.id);
            let lane = self.lanes.entry(endpoint.id).or_default();
            if !lane.more {
                continue;
            }
            // Free slots plus room in the lane's queue; nothing if the process has no
            // permit to spare (the claim would only wait).
            let queued = lane.queue.lock().map(|q| q.len()).unwrap_or(0);
            let room = (runtime.per_endpoint * (1 + LANE_BUFFER_ROUNDS))
                .saturating_sub(lane.in_flight + queued)
                .min(CLAIM_BATCH);
            // A claim costs a turn on the database: while the lane still has work queued,
            // wait until it can take a worthwhile batch rather than claiming a few rows.
            let worthwhile =
                (runtime.per_endpoint * (1 + LANE_BUFFER_ROUNDS) / 2).clamp(1, CLAIM_BATCH / 2);
            if room == 0
                || (queued > 0 && room < worthwhile)
                || runtime.permits(livemode).available_permits() == 0
            {
                continue;
            }
            let rows = claim(&db, livemode, endpoint.id, now, room).await?;
            claimed += rows.len();
            lane.more = rows.len() == room;
            if rows.is_empty() {
                continue;
            }
            let event_ids: Vec<Uuid> = rows.iter().map(|r| r.event_id).collect();
            let events: HashMap<Uuid, Arc<events::Event>> = events::entity::Entity::find()
                .filter(events::entity::Column::Livemode.eq(livemode))
                .filter(events::entity::Column::Id.is_in(event_ids))
                .all(&db)
                .await?
                .into_iter()
                .map(|e| (e.id, Arc::new(e)))
                .collect();
            if let Ok(mut queue) = lane.queue.lock() {
                for row in rows {
                    let event = events.get(&row.event_id).cloned();
                    queue.push_back(Queued {
                        endpoint: endpoint.clone(),
                        event,
                        row,
                        now,
                    });
                }
            }
            self.start_queued(endpoint.id);
        }
        Ok(claimed)
    }
}

/// Claims up to `limit` due, unleased deliveries of one endpoint, oldest first, and returns
/// them. One statement; see the module comment for why it is safe among instances.
async fn claim(
    db: &DatabaseConnection,
    livemode: bool,
    endpoint: Uuid,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<deliveries::Model>, DbErr> {
    let backend = db.get_database_backend();
    let lock = crate::infra::db::skip_locked(backend);
    let sql = format!(
        "UPDATE webhook_deliveries SET locked_until = $1 WHERE id IN (\
         SELECT id FROM webhook_deliveries WHERE endpoint_id = $2 AND livemode = $3 \
         AND status = 'pending' AND next_attempt_at <= $4 \
         AND (locked_until IS NULL OR locked_until < $4) \
         ORDER BY next_attempt_at, id LIMIT $5{lock}) RETURNING *"
    );
    let values: Vec<Value> = vec![
        (now + CLAIM_FOR).into(),
        endpoint.into(),
        livemode.into(),
        now.into(),
        i64::try_from(limit).unwrap_or(1).into(),
    ];
    let mut rows = deliveries::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            crate::infra::db::placeholders(backend, &sql),
            values,
        ))
        .all(db)
        .await?;
    rows.sort_by_key(|r| (r.next_attempt_at, r.id));
    Ok(rows)
}

/// Gives up due deliveries whose endpoint is disabled or gone: a disabled endpoint gets
/// nothing, not even what was queued before. Read fresh in the statement itself, so an
/// endpoint created a moment ago is never mistaken for a gone one.
async fn give_up_orphans(
    db: &DatabaseConnection,
    livemode: bool,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let enabled = Query::select()
        .column(endpoints::Column::Id)
        .from(endpoints::Entity)
        .and_where(endpoints::Column::Disabled.eq(false))
        .to_owned();
    deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::Status,
            Expr::value(deliveries::DeliveryStatus::Failed.as_str()),
        )
        .col_expr(
            deliveries::Column::LastError,
            Expr::value("endpoint disabled or deleted"),
        )
        .col_expr(
            deliveries::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(deliveries::Column::Livemode.eq(livemode))
        .filter(deliveries::Column::Status.eq(deliveries::DeliveryStatus::Pending))
        .filter(deliveries::Column::NextAttemptAt.lte(now))
        .filter(
            deliveries::Column::LockedUntil
                .is_null()
                .or(deliveries::Column::LockedUntil.lt(now)),
        )
        .filter(deliveries::Column::EndpointId.not_in_subquery(enabled))
        .exec(db)
        .await?;
    Ok(())
}

/// One of a lane's slots, as its own task: takes the lane's next queued delivery, sends it,
/// queues the outcome for the recorder, and goes on until the queue is empty; then frees the
/// slot (the permit, and the lane's through `done`). At most the lane's cap of these run.
async fn slot(
    ctx: Context,
    endpoint: Uuid,
    queue: Arc<Mutex<std::collections::VecDeque<Queued>>>,
    permit: OwnedSemaphorePermit,
    done: mpsc::UnboundedSender<Uuid>,
    record: mpsc::Sender<Finished>,
) {
    // Frees the lane's slot however this task ends, a panic included: a slot never freed
    // would shrink the lane for good.
    let _slot = SlotGuard { done, endpoint };
    loop {
        let next = queue.lock().ok().and_then(|mut q| q.pop_front());
        let Some(q) = next else { break };
        let outcome = match &q.event {
            Some(event) => attempt(send(&ctx, &q.endpoint, event, &q.row, q.now)).await,
            None => Outcome::gone("event no longer exists"),
        };
        // Queued before the next is taken: a full queue (a slow database) holds the slot.
        let _ = record
            .send(Finished {
                row: q.row,
                endpoint: q.endpoint,
                outcome,
                now: q.now,
            })
            .await;
    }
    drop(permit);
}

/// Reports a slot free to the dispatcher when dropped.
struct SlotGuard {
    done: mpsc::UnboundedSender<Uuid>,
    endpoint: Uuid,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let _ = self.done.send(self.endpoint);
    }
}

/// One attempt, a panic in it caught: it becomes a failed attempt, retried on the schedule
/// like any other, and the lane goes on with its next delivery.
async fn attempt(send: impl std::future::Future<Output = Outcome>) -> Outcome {
    match std::panic::AssertUnwindSafe(send).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %message, "a webhook attempt panicked; recorded as failed");
            Outcome::failed("internal error while sending")
        }
    }
}

/// Writes outcomes as they come, whatever has arrived at once (up to [`RECORD_BATCH`]) in one
/// transaction. Ends when every sender is gone and the queue is empty.
async fn recorder(ctx: Context, mut outcomes: mpsc::Receiver<Finished>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while outcomes.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        // A panic here would stop every later outcome from being written: catch it per batch.
        match std::panic::AssertUnwindSafe(record(&ctx, &batch))
            .catch_unwind()
            .await
        {
            Ok(Ok(())) => {}
            // The claims expire and the attempts are made again (at least once).
            Ok(Err(e)) => {
                tracing::warn!(error = %e, attempts = batch.len(), "webhook attempts not recorded")
            }
            Err(_) => tracing::error!(
                attempts = batch.len(),
                "recording webhook attempts panicked; they are made again when their claims expire"
            ),
        }
        batch.clear();
    }
}

/// One batch of outcomes: the attempts, the deliveries' new states and each endpoint's
/// failure bookkeeping in one transaction; the operator is emailed (through the outbox, in
/// the same transaction) about an endpoint this batch disabled.
async fn record(ctx: &Context, batch: &[Finished]) -> Result<(), DbErr> {
    struct Row<'a> {
        f: &'a Finished,
        attempts: i32,
        delivered: bool,
        next_retry: Option<DateTime<Utc>>,
    }
    let rows: Vec<Row> = batch
        .iter()
        .map(|f| {
            let attempts = f.row.attempts.saturating_add(1);
            let delivered = f.outcome.delivered();
            // Retries stop at the 3-day deadline, with one last attempt at it, so an endpoint
            // that failed from the first attempt to the last has failed for 3 days and gets
            // disabled.
            let deadline = f.row.created_at + super::RETRY_WINDOW;
            let next_retry = if delivered || f.now >= deadline || f.outcome.permanent {
                None
            } else {
                Some((f.now + super::retry_delay(attempts)).min(deadline))
            };
            Row {
                f,
                attempts,
                delivered,
                next_retry,
            }
        })
        .collect();
    let txn = ctx.db.begin().await?;
    let backend = txn.get_database_backend();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        attempts::Entity::insert_many(chunk.iter().map(|r| attempts::ActiveModel {
            id: Set(Uuid::now_v7()),
            delivery_id: Set(r.f.row.id),
            endpoint_id: Set(r.f.row.endpoint_id),
            event_id: Set(r.f.row.event_id),
            status_code: Set(r.f.outcome.status_code),
            error: Set(r.f.outcome.error.clone()),
            latency_ms: Set(r.f.outcome.latency_ms),
            attempted_at: Set(r.f.now),
            next_retry_at: Set(r.next_retry),
        }))
        .exec_without_returning(&txn)
        .await?;
        // One statement for the chunk's deliveries, each with its own values.
        let mut sql = String::from(
            "UPDATE webhook_deliveries SET status = v.column2, attempts = v.column3, \
             next_attempt_at = v.column4, locked_until = NULL, last_status_code = v.column5, \
             last_error = v.column6, last_latency_ms = v.column7, delivered_at = v.column8 \
             FROM (VALUES ",
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 8);
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = i * 8;
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7,
                n + 8
            ));
            let status = match (r.delivered, r.next_retry) {
                (true, _) => deliveries::DeliveryStatus::Delivered,
                (false, Some(_)) => deliveries::DeliveryStatus::Pending,
                (false, None) => deliveries::DeliveryStatus::Failed,
            };
            values.extend([
                r.f.row.id.into(),
                status.as_str().into(),
                r.attempts.into(),
                r.next_retry.unwrap_or(r.f.row.next_attempt_at).into(),
                r.f.outcome.status_code.into(),
                r.f.outcome.error.clone().into(),
                Some(r.f.outcome.latency_ms).into(),
                r.delivered.then_some(r.f.now).into(),
            ]);
        }
        sql.push_str(") AS v WHERE webhook_deliveries.id = v.column1");
        txn.execute(Statement::from_sql_and_values(
            backend,
            crate::infra::db::placeholders(backend, &sql),
            values,
        ))
        .await?;
    }
    // Each endpoint's run of failures, from its outcomes in the order they ended.
    let mut per_endpoint: Vec<(Arc<endpoints::Model>, Vec<&Row>)> = Vec::new();
    for r in &rows {
        match per_endpoint
            .iter_mut()
            .find(|(e, _)| e.id == r.f.endpoint.id)
        {
            Some((_, list)) => list.push(r),
            None => per_endpoint.push((r.f.endpoint.clone(), vec![r])),
        }
    }
    let mut disabled = Vec::new();
    for (endpoint, outcomes) in per_endpoint {
        let Some(last) = outcomes.last() else {
            continue;
        };
        let now = last.f.now;
        if last.delivered {
            endpoints::Entity::update_many()
                .col_expr(
                    endpoints::Column::FailingSince,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(endpoints::Column::Id.eq(endpoint.id))
                .filter(endpoints::Column::FailingSince.is_not_null())
                .exec(&txn)
                .await?;
            continue;
        }
        // The first failure of a run starts the clock; later ones keep it. A success in this
        // batch ended the previous run, so the run starts at the first failure after it.
        let restarted = outcomes.iter().any(|r| r.delivered);
        let mut update = endpoints::Entity::update_many()
            .col_expr(endpoints::Column::FailingSince, Expr::value(now))
            .filter(endpoints::Column::Id.eq(endpoint.id));
        if !restarted {
            update = update.filter(endpoints::Column::FailingSince.is_null());
        }
        update.exec(&txn).await?;
        // Read back in the transaction: the dispatcher's copy of the endpoint may be older.
        let failing_since = endpoints::Entity::find_by_id(endpoint.id)
            .one(&txn)
            .await?
            .and_then(|e| e.failing_since)
            .unwrap_or(now);
        if now - failing_since >= super::RETRY_WINDOW {
            // Conditional, so of racing workers exactly one disables and records the event.
            let changed = endpoints::Entity::update_many()
                .col_expr(endpoints::Column::Disabled, Expr::value(true))
                .filter(endpoints::Column::Id.eq(endpoint.id))
                .filter(endpoints::Column::Disabled.eq(false))
                .exec(&txn)
                .await?
                .rows_affected;
            if changed == 1 {
                let mut after = (*endpoint).clone();
                after.disabled = true;
                let object = super::view::EndpointObject::from_model(&after);
                let object = serde_json::to_value(object)
                    .map_err(|e| DbErr::Custom(format!("endpoint JSON: {e}")))?;
                events::record_at(
                    &txn,
                    NewEvent {
                        livemode: endpoint.livemode,
                        account_id: None,
                        kind: EventType::WebhookEndpointDisabled,
                        object,
                        previous_attributes: Some(serde_json::json!({"disabled": false})),
                    },
                    &Origin::default(),
                    now,
                )
                .await?;
                // In the transaction that disables it: the email goes out if and only if it is.
                notify_operator(&txn, ctx, &after).await;
                disabled.push(after);
            }
        }
    }
    txn.commit().await?;
    // Counted once committed: an outcome not recorded is attempted again and counted then.
    {
        use crate::infra::metrics::{mode_label, names};
        for r in &rows {
            let outcome = match (r.delivered, r.next_retry) {
                (true, _) => "delivered",
                (false, Some(_)) => "retrying",
                (false, None) => "failed",
            };
            let mode = mode_label(r.f.endpoint.livemode);
            metrics::counter!(names::WEBHOOK_DELIVERIES, "outcome" => outcome, "mode" => mode)
                .increment(1);
            // What an operator paged about failing webhooks needs: which endpoint, and why
            // (its URL is the platform's and may carry a token: not logged).
            if !r.delivered {
                tracing::info!(
                    endpoint = %ids::encode(IdKind::WebhookEndpoint, r.f.endpoint.id),
                    livemode = r.f.endpoint.livemode,
                    attempt = r.attempts,
                    status = r.f.outcome.status_code,
                    error = r.f.outcome.error.as_deref().unwrap_or(""),
                    outcome,
                    "webhook attempt failed"
                );
            }
            if r.f.outcome.status_code.is_some() || r.f.outcome.error.is_some() {
                metrics::histogram!(names::WEBHOOK_ATTEMPT_DURATION, "mode" => mode)
                    .record(r.f.outcome.latency_ms.max(0) as f64 / 1000.0);
            }
        }
        for endpoint in &disabled {
            metrics::counter!(
                names::WEBHOOK_ENDPOINTS_DISABLED,
                "mode" => mode_label(endpoint.livemode)
            )
            .increment(1);
        }
    }
    for endpoint in disabled {
        tracing::warn!(
            endpoint = %ids::encode(IdKind::WebhookEndpoint, endpoint.id),
            "webhook endpoint disabled after 3 days of failures"
        );
    }
    Ok(())
}

/// What one HTTP attempt came to.
struct Outcome {
    status_code: Option<i32>,
    error: Option<String>,
    latency_ms: i64,
    /// Not worth retrying (the event is gone).
    permanent: bool,
}

impl Outcome {
    fn delivered(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|c| (200..300).contains(&c))
    }

    fn failed(error: impl Into<String>) -> Self {
        Self {
            status_code: None,
            error: Some(truncate(error.into())),
            latency_ms: 0,
            permanent: false,
        }
    }

    fn gone(why: &str) -> Self {
        Self {
            permanent: true,
            ..Self::failed(why)
        }
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_ERROR_LEN {
        let mut cut = MAX_ERROR_LEN;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

async fn send(
    state: &Context,
    endpoint: &endpoints::Model,
    event: &events::Event,
    row: &deliveries::Model,
    now: DateTime<Utc>,
) -> Outcome {
    // DNS can change after the endpoint was saved: check again (at most every 30 s; the
    // live client's resolver filters each connection's addresses in any case).
    let url = match state.webhooks.checked_url(endpoint).await {
        Ok(url) => url,
        Err(message) => {
            // Not the URL: it may carry a token the platform put in its path.
            tracing::warn!(
                endpoint = %ids::encode(IdKind::WebhookEndpoint, endpoint.id),
                livemode = endpoint.livemode,
                reason = %message,
                "webhook attempt refused by the SSRF guard"
            );
            return Outcome::failed(message);
        }
    };
    let Ok(body) = serde_json::to_vec(&EventObject::from_model(event)) else {
        return Outcome::failed("event could not be serialised");
    };
    let id = ids::encode(IdKind::Event, event.id);
    // Receivers check the timestamp against their own clock (5 minutes' tolerance in the
    // reference libraries), so it is real time even when the test clock has been advanced.
    let timestamp = Utc::now().timestamp();
    let mut signatures = Vec::with_capacity(2);
    let sealer = &state.kyc.sealer;
    if let Some(secret) = super::open_secret(sealer, &endpoint.secret) {
        signatures.extend(super::sign(&secret, &id, timestamp, &body));
    }
    if let (Some(previous), Some(until)) = (
        &endpoint.previous_secret,
        endpoint.previous_secret_expires_at,
    ) {
        if until > now {
            if let Some(secret) = super::open_secret(sealer, previous) {
                signatures.extend(super::sign(&secret, &id, timestamp, &body));
            }
        }
    }
    if signatures.is_empty() {
        return Outcome::failed("endpoint secret is malformed");
    }
    let client = state.webhooks.client(endpoint.livemode);
    let started = Instant::now();
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signatures.join(" "))
        // For receivers that order events themselves (delivery is unordered): the event's
        // time to the microsecond (`created` in the body has seconds), and which attempt
        // this is (a retry may arrive after later events).
        .header(
            "agora-event-created",
            event
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        )
        .header(
            "agora-delivery-attempt",
            row.attempts.saturating_add(1).to_string(),
        )
        .body(body);
    let result = tokio::time::timeout(TIMEOUT, async {
        let mut response = request.send().await?;
        let status = response.status().as_u16();
        let mut read = 0;
        while read < MAX_RESPONSE_BYTES {
            match response.chunk().await? {
                Some(chunk) => read += chunk.len(),
                None => break,
            }
        }
        Ok::<u16, reqwest::Error>(status)
    })
    .await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match result {
        Ok(Ok(status)) => Outcome {
            status_code: Some(i32::from(status)),
            error: (!(200..300).contains(&status)).then(|| format!("HTTP {status}")),
            latency_ms,
            permanent: false,
        },
        Ok(Err(e)) => Outcome {
            status_code: None,
            // Without the URL: it may carry a token the platform put in its path.
            error: Some(truncate(e.without_url().to_string())),
            latency_ms,
            permanent: false,
        },
        Err(_) => Outcome {
            status_code: None,
            error: Some("timed out after 10 s".to_owned()),
            latency_ms,
            permanent: false,
        },
    }
}

/// Queues the operator's email that an endpoint was disabled (the email outbox sends it).
/// Best effort: the endpoint is disabled and the event recorded whether or not this works.
async fn notify_operator(
    db: &impl sea_orm::ConnectionTrait,
    state: &Context,
    endpoint: &endpoints::Model,
) {
    use lettre::Message;
    let Some(to) = state.config.operator_email.as_deref() else {
        tracing::warn!("operator_email is not set; no email about the disabled endpoint");
        return;
    };
    let id = ids::encode(IdKind::WebhookEndpoint, endpoint.id);
    let mode = if endpoint.livemode { "live" } else { "test" };
    let result = async {
        let message = Message::builder()
            .from(state.config.email_from.parse()?)
            .to(to.parse()?)
            .subject(format!("Webhook endpoint {id} disabled"))
            .body(format!(
                "The {mode}-mode webhook endpoint {id} ({}) failed every delivery for 3 days and \
                 has been disabled. Fix the receiver, then re-enable it with \
                 POST /v1/webhook_endpoints/{id} {{\"disabled\": false}} and redeliver missed \
                 events with POST /v1/events/{{id}}/redeliver.\n",
                endpoint.url
            ))?;
        crate::infra::email::enqueue(db, &state.kyc.sealer, "endpoint_disabled", &message)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not queue the operator email");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #15: the test-mode client resolves names through the SSRF guard too (a name that
    /// resolves to loopback is never connected to), unless the operator allows private targets.
    #[tokio::test]
    async fn the_test_client_resolves_through_the_guard() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://localhost:{}/hook",
            listener.local_addr().unwrap().port()
        );
        let guarded = Runtime::new(4, 1, false).unwrap();
        let sent = guarded.client(false).post(&url).body("{}").send().await;
        assert!(sent.is_err(), "refused before connecting");
        let accepted = tokio::time::timeout(StdDuration::from_millis(300), listener.accept()).await;
        assert!(accepted.is_err(), "nothing connected to the receiver");
        // The live client is guarded whatever the setting says.
        let open = Runtime::new(4, 1, true).unwrap();
        assert!(open.client(true).post(&url).send().await.is_err());
        // With private targets allowed, test mode reaches the receiver.
        let request = open.client(false).post(&url).body("{}").send();
        let request = tokio::spawn(async move {
            let _ = request.await;
        });
        let accepted = tokio::time::timeout(StdDuration::from_secs(5), listener.accept()).await;
        assert!(accepted.is_ok(), "allowed: the receiver was reached");
        request.abort();
    }

    /// Issue #15: each mode has its own in-flight permits, so slow test endpoints holding every
    /// permit of theirs leave live deliveries theirs.
    #[test]
    fn each_mode_has_its_own_in_flight_permits() {
        let runtime = Runtime::new(2, 1, false).unwrap();
        let held: Vec<_> = (0..2)
            .map(|_| runtime.permits(false).clone().try_acquire_owned().unwrap())
            .collect();
        assert_eq!(runtime.permits(false).available_permits(), 0);
        assert_eq!(runtime.permits(true).available_permits(), 2);
        drop(held);
    }

    /// Issue #15: a panic while sending one delivery is that attempt's failure (retried on the
    /// schedule), not the end of the lane or the worker.
    #[tokio::test]
    async fn a_panicking_attempt_is_a_failed_attempt() {
        let outcome = attempt(async { panic!("a bug in one attempt") }).await;
        assert!(!outcome.delivered());
        assert!(!outcome.permanent, "retried like any failure");
        assert_eq!(
            outcome.error.as_deref(),
            Some("internal error while sending")
        );
        let fine = attempt(async {
            Outcome {
                status_code: Some(200),
                error: None,
                latency_ms: 1,
                permanent: false,
            }
        })
        .await;
        assert!(fine.delivered());
    }

    /// The slot is reported free even when its task panics.
    #[tokio::test]
    async fn a_slot_is_freed_when_its_task_panics() {
        let (done, mut freed) = mpsc::unbounded_channel();
        let endpoint = Uuid::now_v7();
        let task = tokio::spawn(async move {
            let _slot = SlotGuard { done, endpoint };
            panic!("a bug outside the attempt");
        });
        assert!(task.await.is_err());
        assert_eq!(freed.recv().await, Some(endpoint));
    }
}
