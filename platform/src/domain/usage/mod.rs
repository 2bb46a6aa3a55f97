//! API usage per key (issue 18): every request made with a valid API key is counted per key,
//! route pattern, method and wall-clock minute, by status class, with a latency histogram.
//!
//! On the request path only [`Recorder::record`] runs: one short mutex section over a bounded
//! in-memory map, with no allocation once the minute's cell exists. A worker takes the cells
//! every `api_usage_flush_ms` and [`Recorder::flush`]es them in multi-row upserts that add to
//! what is stored (store.rs), so several instances and several flushes of one minute add up;
//! a flush that fails puts its cells back. [`report`] sums the stored minutes into minutes,
//! hours or days per route; [`sweep`] deletes minutes past `api_usage_retention_days`.
//!
//! Usage is operational, so it runs on wall-clock minutes in both modes, never the test clock.

pub mod entity;
pub mod histogram;
mod store;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

pub use histogram::Histogram;

use crate::domain::keys::{self, ApiKey};
use crate::infra::wire::ids::{self, IdKind};

/// Longest route pattern counted (ours are far shorter; a longer one is not a route of ours).
pub const MAX_ROUTE_LEN: usize = 200;
/// Distinct route patterns remembered: the router's routes, with room to spare.
const MAX_ROUTES: usize = 1024;
/// Time buckets one report may span (a day of minutes, 60 days of hours, ~4 years of days).
pub const MAX_BUCKETS: i64 = 1440;
/// Rows (bucket × route × method) one report may hold.
pub const MAX_ROWS: usize = 10_000;
/// The span `from` defaults to before `to`.
const DEFAULT_SPAN_S: i64 = 24 * 3600;

/// Who made a request: set by the gateway once the API key is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub key_id: Uuid,
    pub livemode: bool,
}

/// One cell of the rollup: a key's requests to one route with one method in one minute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CellKey {
    pub key_id: Uuid,
    pub livemode: bool,
    pub route: Arc<str>,
    pub method: &'static str,
    /// Unix seconds, a multiple of 60.
    pub minute_start: i64,
}

/// What a cell counts. `status` is by class: 2xx, 3xx, 4xx, 5xx.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cell {
    pub requests: u64,
    pub status: [u64; 4],
    pub latency: Histogram,
}

impl Cell {
    fn add(&mut self, status: u16, latency_us: u64) {
        self.requests = self.requests.saturating_add(1);
        if let Some(class) = status_class(status) {
            self.status[class] = self.status[class].saturating_add(1);
        }
        self.latency.record(latency_us);
    }

    fn merge(&mut self, other: &Cell) {
        self.requests = self.requests.saturating_add(other.requests);
        for (mine, theirs) in self.status.iter_mut().zip(other.status) {
            *mine = mine.saturating_add(theirs);
        }
        self.latency.merge(&other.latency);
    }
}

/// 2xx → 0, 3xx → 1, 4xx → 2, 5xx → 3; none for anything else (never a final API answer).
fn status_class(status: u16) -> Option<usize> {
    match status {
        200..=299 => Some(0),
        300..=399 => Some(1),
        400..=499 => Some(2),
        500..=599 => Some(3),
        _ => None,
    }
}

/// The method as stored: the standard ones by name, anything else as `OTHER` (bounded).
pub fn method_name(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

struct Cells {
    map: HashMap<CellKey, Cell>,
    /// Route patterns seen, so a cell's key shares one allocation per route.
    routes: HashSet<Arc<str>>,
    /// Requests not counted since the last flush because the map was full.
    dropped: u64,
}

/// The in-memory rollup of one process, bounded to `max_cells` cells.
pub struct Recorder {
    cells: Mutex<Cells>,
    max_cells: usize,
}

/// What one flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    pub rows: usize,
    pub requests: u64,
    /// Requests left uncounted since the previous flush (the map was full).
    pub dropped: u64,
}

impl Recorder {
    pub fn new(max_cells: usize) -> Self {
        Self {
            cells: Mutex::new(Cells {
                map: HashMap::new(),
                routes: HashSet::new(),
                dropped: 0,
            }),
            max_cells,
        }
    }

    /// A poisoned lock (a panic while it was held) still holds whole counts: every change
    /// under it is a few additions. Keep counting rather than stop.
    fn lock(&self) -> MutexGuard<'_, Cells> {
        self.cells.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one request made by `caller` to `route` (the route pattern, `/v1/charges/{id}`)
    /// that answered `status` after `latency_us`, in the minute of `now_unix`.
    pub fn record(
        &self,
        caller: Caller,
        route: &str,
        method: &str,
        status: u16,
        latency_us: u64,
        now_unix: i64,
    ) {
        let minute_start = now_unix - now_unix.rem_euclid(60);
        let method = method_name(method);
        let mut cells = self.lock();
        let route = match cells.routes.get(route) {
            Some(known) => known.clone(),
            None if route.len() > MAX_ROUTE_LEN || cells.routes.len() >= MAX_ROUTES => {
                cells.dropped = cells.dropped.saturating_add(1);
                return;
            }
            None => {
                let new: Arc<str> = Arc::from(route);
                cells.routes.insert(new.clone());
                new
            }
        };
        let key = CellKey {
            key_id: caller.key_id,
            livemode: caller.livemode,
            route,
            method,
            minute_start,
        };
        if let Some(cell) = cells.map.get_mut(&key) {
            cell.add(status, latency_us);
            return;
        }
        if cells.map.len() >= self.max_cells {
            cells.dropped = cells.dropped.saturating_add(1);
            return;
        }
        let mut cell = Cell::default();
        cell.add(status, latency_us);
        cells.map.insert(key, cell);
    }

    /// Takes every cell (the map starts empty again) and the count of requests dropped.
    fn take(&self) -> (Vec<(CellKey, Cell)>, u64) {
        let mut cells = self.lock();
        let map = std::mem::take(&mut cells.map);
        let dropped = std::mem::take(&mut cells.dropped);
        drop(cells);
        (map.into_iter().collect(), dropped)
    }

    /// Puts back the cells of a flush that failed, added to what was counted meanwhile. The
    /// bound holds: a cell that no longer fits is counted as dropped (and warned of at the
    /// next flush).
    fn restore(&self, taken: Vec<(CellKey, Cell)>) {
        let mut cells = self.lock();
        for (key, cell) in taken {
            if let Some(existing) = cells.map.get_mut(&key) {
                existing.merge(&cell);
            } else if cells.map.len() < self.max_cells {
                cells.map.insert(key, cell);
            } else {
                cells.dropped = cells.dropped.saturating_add(cell.requests);
            }
        }
    }

    /// Cells waiting for the next flush (for tests and the shutdown log).
    pub fn pending(&self) -> usize {
        self.lock().map.len()
    }

    /// Writes every cell to the database in one transaction (multi-row upserts adding to the
    /// stored counts). On failure the cells are put back for the next flush: nothing is lost
    /// and, the transaction having rolled back, nothing is counted twice.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<Flushed, DbErr> {
        let (mut cells, dropped) = self.take();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                max_cells = self.max_cells,
                "API usage: requests were not counted because the in-memory rollup was full \
                 (api_usage_max_cells); flush more often or raise the limit"
            );
        }
        if cells.is_empty() {
            return Ok(Flushed {
                dropped,
                ..Flushed::default()
            });
        }
        // One order for every writer: two instances upserting the same rows lock them in the
        // same order, so they wait for each other instead of deadlocking (PostgreSQL).
        cells.sort_by(|(a, _), (b, _)| {
            (a.key_id, a.minute_start, &a.route, a.method).cmp(&(
                b.key_id,
                b.minute_start,
                &b.route,
                b.method,
            ))
        });
        let requests = cells.iter().map(|(_, c)| c.requests).sum();
        match store::write(db, &cells).await {
            Ok(()) => Ok(Flushed {
                rows: cells.len(),
                requests,
                dropped,
            }),
            Err(e) => {
                self.restore(cells);
                Err(e)
            }
        }
    }
}

/// Reports are summed into buckets of one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Minute,
    Hour,
    Day,
}

impl Granularity {
    pub const NAMES: [&'static str; 3] = ["minute", "hour", "day"];

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "minute" => Some(Self::Minute),
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Self::Minute => 60,
            Self::Hour => 3600,
            Self::Day => 86_400,
        }
    }
}

/// A report's time range: whole buckets, `from` inclusive, `to` exclusive (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: i64,
    pub to: i64,
    pub granularity: Granularity,
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("from must be before to")]
    RangeEmpty,
    #[error(
        "from … to spans {buckets} {granularity}s; a report holds at most {MAX_BUCKETS}: \
         narrow the range or use a coarser granularity"
    )]
    RangeTooWide {
        buckets: i64,
        granularity: &'static str,
    },
    #[error(
        "the report would hold more than {MAX_ROWS} rows (buckets × routes): narrow the range \
         or use a coarser granularity"
    )]
    TooManyRows,
    #[error("{count} keys begin with this prefix; name the key by its id (key_…) or its prefix with its last four (sk_test_AbCd…wxyz)")]
    KeyAmbiguous { count: usize },
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn floor_to(t: i64, step: i64) -> i64 {
    t - t.rem_euclid(step)
}

fn ceil_to(t: i64, step: i64) -> i64 {
    let down = floor_to(t, step);
    if down == t {
        t
    } else {
        down.saturating_add(step)
    }
}

impl Range {
    /// The whole buckets covering `from` … `to` (unix seconds): `from` rounded down, `to` up.
    /// `to` defaults to `now`; `from` to 24 hours before `to`, or as far back as
    /// [`MAX_BUCKETS`] reach when that is less (minutes). A range given that needs more
    /// buckets is refused, as is one that ends before it begins.
    pub fn new(
        from: Option<i64>,
        to: Option<i64>,
        granularity: Granularity,
        now: i64,
    ) -> Result<Self, UsageError> {
        let step = granularity.seconds();
        let to_exact = to.unwrap_or(now);
        if from.is_some_and(|from| from >= to_exact) {
            return Err(UsageError::RangeEmpty);
        }
        let to = ceil_to(to_exact, step);
        let from = match from {
            Some(from) => floor_to(from, step),
            None => floor_to(to_exact.saturating_sub(DEFAULT_SPAN_S), step)
                .max(to.saturating_sub(MAX_BUCKETS * step)),
        };
        let buckets = (to - from) / step;
        if buckets > MAX_BUCKETS {
            return Err(UsageError::RangeTooWide {
                buckets,
                granularity: granularity.name(),
            });
        }
        Ok(Self {
            from,
            to,
            granularity,
        })
    }
}

/// One key's requests to one route with one method in one bucket of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    /// The bucket's start, unix seconds.
    pub start: i64,
    pub route: String,
    pub method: String,
    pub requests: u64,
    /// 2xx, 3xx, 4xx, 5xx.
    pub status: [u64; 4],
    pub latency: Histogram,
}

impl UsageRow {
    /// Requests answered 4xx or 5xx.
    pub fn errors(&self) -> u64 {
        self.status[2].saturating_add(self.status[3])
    }
}

/// One key's usage over `range`, per bucket, route and method (buckets without requests are
/// left out), in order of bucket, route, method.
pub async fn report(
    db: &impl ConnectionTrait,
    key_id: Uuid,
    range: &Range,
) -> Result<Vec<UsageRow>, UsageError> {
    let rows = store::read(db, key_id, range, MAX_ROWS + 1).await?;
    if rows.len() > MAX_ROWS {
        return Err(UsageError::TooManyRows);
    }
    Ok(rows)
}

/// `rows` summed per route and method over all their buckets (`start` is the first bucket's),
/// in order of route and method: what the CLI prints as totals.
pub fn totals_by_route(rows: &[UsageRow]) -> Vec<UsageRow> {
    let mut totals: std::collections::BTreeMap<(String, String), UsageRow> = Default::default();
    for row in rows {
        totals
            .entry((row.route.clone(), row.method.clone()))
            .and_modify(|t| {
                t.requests = t.requests.saturating_add(row.requests);
                for (mine, theirs) in t.status.iter_mut().zip(row.status) {
                    *mine = mine.saturating_add(theirs);
                }
                t.latency.merge(&row.latency);
                t.start = t.start.min(row.start);
            })
            .or_insert_with(|| row.clone());
    }
    totals.into_values().collect()
}

/// How a key is named when its usage is asked for: by id, as the keys list and the
/// restricted-keys API show it, or by its public prefix (`sk_test_AbCd`, optionally with its
/// last four: `sk_test_AbCd…wxyz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    Id(Uuid),
    Prefix {
        prefix: String,
        last4: Option<String>,
    },
}

fn is_key_chars(s: &str) -> bool {
    s.len() == 4
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl KeyRef {
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if value.starts_with("key_") {
            return ids::decode(IdKind::ApiKey, value).ok().map(Self::Id);
        }
        let (head, last4) = match value.split_once('…').or_else(|| value.split_once("...")) {
            Some((head, last4)) => (head, Some(last4)),
            None => (value, None),
        };
        let body = ["sk_test_", "sk_live_", "rk_test_", "rk_live_"]
            .iter()
            .find_map(|p| head.strip_prefix(p))?;
        if !is_key_chars(body) || last4.is_some_and(|l| !is_key_chars(l)) {
            return None;
        }
        Some(Self::Prefix {
            prefix: head.to_owned(),
            last4: last4.map(str::to_owned),
        })
    }
}

/// The key `key` names, revoked or not, in `livemode` if given (the API: a key sees only its
/// own mode's keys), in either mode if not (the operator's CLI). `None`: no such key.
pub async fn find_key(
    db: &impl ConnectionTrait,
    livemode: Option<bool>,
    key: &KeyRef,
) -> Result<Option<ApiKey>, UsageError> {
    let mut query = keys::entity::Entity::find();
    if let Some(livemode) = livemode {
        query = query.filter(keys::entity::Column::Livemode.eq(livemode));
    }
    match key {
        KeyRef::Id(id) => Ok(query
            .filter(keys::entity::Column::Id.eq(*id))
            .one(db)
            .await?),
        KeyRef::Prefix { prefix, last4 } => {
            query = query.filter(keys::entity::Column::DisplayPrefix.eq(prefix.as_str()));
            if let Some(last4) = last4 {
                query = query.filter(keys::entity::Column::Last4.eq(last4.as_str()));
            }
            // Two are enough to know it is ambiguous; the count is only for the message.
            let mut found = query.all(db).await?;
            match found.len() {
                0 => Ok(None),
                1 => Ok(found.pop()),
                count => Err(UsageError::KeyAmbiguous { count }),
            }
        }
    }
}

/// Deletes the minutes that began more than `retention_days` before `now`, `batch` rows per
/// statement. Returns how many rows went.
pub async fn sweep(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    retention_days: u32,
    batch: u64,
) -> Result<u64, DbErr> {
    let cutoff = now.timestamp() - i64::from(retention_days) * 86_400;
    crate::infra::db::delete_in_batches::<entity::Entity>(
        db,
        entity::Column::Id,
        entity::Column::MinuteStart.lt(cutoff),
        batch,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Caller = Caller {
        key_id: Uuid::from_u128(1),
        livemode: false,
    };

    #[test]
    fn requests_of_one_minute_share_a_cell_and_the_map_is_bounded() {
        let recorder = Recorder::new(2);
        let t = 1_700_000_000 - 1_700_000_000 % 60;
        recorder.record(A, "/v1/charges", "POST", 200, 1_000, t);
        recorder.record(A, "/v1/charges", "POST", 402, 2_000, t + 59);
        recorder.record(A, "/v1/charges", "POST", 500, 2_000, t + 1);
        assert_eq!(recorder.pending(), 1);
        recorder.record(A, "/v1/charges", "POST", 200, 1_000, t + 60);
        assert_eq!(
            recorder.pending(),
            2,
            "the next minute is a cell of its own"
        );
        // Full: a new cell is refused and counted as dropped; existing cells still count.
        recorder.record(A, "/v1/charges", "GET", 200, 1_000, t);
        recorder.record(A, "/v1/charges", "POST", 200, 1_000, t + 2);
        assert_eq!(recorder.pending(), 2);
        let (cells, dropped) = recorder.take();
        assert_eq!(dropped, 1);
        let first = cells
            .iter()
            .find(|(k, _)| k.minute_start == t)
            .map(|(_, c)| *c)
            .unwrap_or_default();
        assert_eq!(first.requests, 4);
        assert_eq!(first.status, [2, 0, 1, 1]);
        assert_eq!(first.latency.total(), 4);
        assert_eq!(recorder.pending(), 0, "taken");
    }

    #[test]
    fn cells_put_back_add_to_what_came_meanwhile_within_the_bound() {
        let recorder = Recorder::new(2);
        let t = 1_700_000_040;
        recorder.record(A, "/v1/charges", "POST", 200, 1_000, t);
        recorder.record(A, "/v1/refunds", "POST", 200, 1_000, t);
        let (taken, _) = recorder.take();
        recorder.record(A, "/v1/charges", "POST", 200, 1_000, t);
        recorder.record(A, "/v1/accounts", "GET", 200, 1_000, t);
        recorder.restore(taken);
        let (cells, dropped) = recorder.take();
        assert_eq!(cells.len(), 2);
        let charges = cells
            .iter()
            .find(|(k, _)| &*k.route == "/v1/charges")
            .map(|(_, c)| c.requests);
        assert_eq!(charges, Some(2), "merged with the one counted meanwhile");
        assert_eq!(dropped, 1, "the refunds cell no longer fitted");
    }

    #[test]
    fn ranges_are_whole_buckets_and_bounded() {
        let now = 1_700_000_123; // 22:15:23 UTC
        let hour = Range::new(None, None, Granularity::Hour, now).unwrap();
        assert_eq!(hour.to, 1_700_002_800, "to rounded up to the hour");
        assert_eq!(hour.from, 1_699_912_800, "24 h before, rounded down");
        assert_eq!((hour.to - hour.from) / 3600, 25);
        // Minutes by default: the last 1440 only.
        let minute = Range::new(None, None, Granularity::Minute, now).unwrap();
        assert_eq!((minute.to - minute.from) / 60, MAX_BUCKETS);
        assert!(matches!(
            Range::new(Some(now), Some(now), Granularity::Hour, now),
            Err(UsageError::RangeEmpty)
        ));
        assert!(matches!(
            Range::new(Some(now - 86_400 * 2), None, Granularity::Minute, now),
            Err(UsageError::RangeTooWide { .. })
        ));
        let days = Range::new(Some(now - 86_400 * 90), None, Granularity::Day, now).unwrap();
        assert_eq!(days.from % 86_400, 0);
        assert_eq!((days.to - days.from) / 86_400, 91);
    }

    #[test]
    fn keys_are_named_by_id_or_public_prefix() {
        let id = Uuid::now_v7();
        assert_eq!(
            KeyRef::parse(&ids::encode(IdKind::ApiKey, id)),
            Some(KeyRef::Id(id))
        );
        assert_eq!(
            KeyRef::parse("sk_test_AbC-"),
            Some(KeyRef::Prefix {
                prefix: "sk_test_AbC-".to_owned(),
                last4: None
            })
        );
        assert_eq!(
            KeyRef::parse("rk_live_AbCd…wx_z"),
            Some(KeyRef::Prefix {
                prefix: "rk_live_AbCd".to_owned(),
                last4: Some("wx_z".to_owned())
            })
        );
        assert_eq!(
            KeyRef::parse("sk_test_AbCd...wxyz"),
            KeyRef::parse("sk_test_AbCd…wxyz")
        );
        for bad in [
            "",
            "sk_test_",
            "sk_test_AbC",
            "sk_test_AbCde",
            "pk_test_AbCd",
            "sk_test_AbCd…wxy",
            "key_nonsense",
            "acct_01h455vb4pex5vsknk084sn02q",
        ] {
            assert_eq!(KeyRef::parse(bad), None, "{bad}");
        }
    }
}
