//! Small read-through caches for what every charge reads and almost nothing writes: API keys,
//! sellers' charge-relevant fields, the test clock's offset (issue 13: no statement per
//! charge that can be done once).
//!
//! Each entry lives at most its cache's TTL (`cache_ttl_ms`, default 1 s). A change made by
//! this process invalidates the entry when its transaction has committed, so this process
//! sees its own changes at once; a change made by another `agora serve` (or by `agora keys
//! revoke`) on the same database is seen within the TTL. That is the stated bound: several
//! processes agree within `cache_ttl_ms`.
//!
//! Hand-written rather than a crate (moka, quick_cache): a map behind a mutex, a TTL and a
//! size bound is all this needs, with no extra dependency tree to build.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A counter of changes to one kind of row, bumped by the code that changes them: an entry
/// read before a bump is never served after it. Process-wide (a change in one app of a test
/// binary empties the others' caches too: harmless, a miss is only a read).
pub struct Epoch(AtomicU64);

impl Epoch {
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Something of this kind changed (call it where the change is written).
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

impl Default for Epoch {
    fn default() -> Self {
        Self::new()
    }
}

/// Accounts (a seller's KYC state, settlement delay, tags: what a charge reads).
pub static ACCOUNTS: Epoch = Epoch::new();
/// API keys (revocation).
pub static KEYS: Epoch = Epoch::new();
/// The test clock's offset.
pub static CLOCK: Epoch = Epoch::new();

/// Most entries a cache holds; past it the cache starts over (a bound, not an eviction
/// policy: the caches hold keys and sellers, far fewer than this in practice).
pub const MAX_ENTRIES: usize = 100_000;

pub struct TtlCache<K, V> {
    ttl: Duration,
    epoch: &'static Epoch,
    entries: Mutex<HashMap<K, (Instant, u64, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// A cache whose entries live `ttl` (zero: nothing is cached) and no longer than the
    /// next bump of `epoch`.
    pub fn new(ttl: Duration, epoch: &'static Epoch) -> Self {
        Self {
            ttl,
            epoch,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Take this before reading what [`TtlCache::insert`] will store.
    pub fn epoch(&self) -> u64 {
        self.epoch.current()
    }

    /// The entry for `key`, if it is younger than the TTL and no change came since its read.
    pub fn get(&self, key: &K) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let (at, epoch, value) = entries.get(key)?;
        (*epoch == self.epoch.current() && at.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Stores `value`, read after [`TtlCache::epoch`] returned `read_at`: if a change came in
    /// between, the value may be older than it and is never served.
    pub fn insert(&self, key: K, value: V, read_at: u64) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (Instant::now(), read_at, value));
        }
    }

    /// Forgets `key` (call after the change to it committed).
    pub fn invalidate(&self, key: &K) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }

    /// Forgets everything (a change whose keys are not known one by one).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_forgotten() {
        static E: Epoch = Epoch::new();
        let cache = TtlCache::new(Duration::from_millis(50), &E);
        cache.insert("a", 1, cache.epoch());
        cache.insert("b", 2, cache.epoch());
        assert_eq!(cache.get(&"a"), Some(1));
        cache.invalidate(&"a");
        assert_eq!(cache.get(&"a"), None);
        assert_eq!(cache.get(&"b"), Some(2));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(&"b"), None, "an entry past its TTL is not served");
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        static E: Epoch = Epoch::new();
        let cache = TtlCache::new(Duration::ZERO, &E);
        cache.insert(1, 1, cache.epoch());
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn a_change_hides_what_was_read_before_it() {
        static E: Epoch = Epoch::new();
        let cache = TtlCache::new(Duration::from_secs(60), &E);
        cache.insert("old", 1, cache.epoch());
        let before_read = cache.epoch();
        E.bump();
        // Read before the change, stored after it: stale from the start.
        cache.insert("raced", 2, before_read);
        assert_eq!(cache.get(&"old"), None);
        assert_eq!(cache.get(&"raced"), None);
        cache.insert("fresh", 3, cache.epoch());
        assert_eq!(cache.get(&"fresh"), Some(3));
    }
}
