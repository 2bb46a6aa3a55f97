//! Per-API-key rate limiting: a token bucket per key, `rate_limit_per_second` tokens a second
//! up to `rate_limit_burst`. Over it a request gets 429 `rate_limit_error` with `Retry-After`.
//! The buckets live in this process: behind a load balancer each instance limits on its own
//! (a limit of N per instance), which bounds abuse without a shared store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use uuid::Uuid;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Most keys tracked; past it, idle buckets (full again) are dropped. Keys are few (they are
/// rows an operator creates), so this only guards against unbounded growth.
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    /// `per_second == 0` turns limiting off.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(seconds)` says when to retry.
    pub fn check(&self, key: Uuid, now: Instant) -> Result<(), u64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        // A poisoned lock only means another request panicked mid-update; the map is still
        // usable, and refusing every request would be worse.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&key) {
            let (per_second, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_refills() {
        let limiter = RateLimiter::new(2, 3);
        let key = Uuid::now_v7();
        let other = Uuid::now_v7();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(key, t0), Ok(()));
        }
        assert_eq!(limiter.check(key, t0), Err(1));
        assert_eq!(
            limiter.check(other, t0),
            Ok(()),
            "keys do not share a bucket"
        );
        // Half a second later one token is back (2 per second).
        assert_eq!(limiter.check(key, t0 + Duration::from_millis(500)), Ok(()));
        assert!(limiter.check(key, t0 + Duration::from_millis(500)).is_err());
        // Long idle: full again, never more than the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limiter.check(key, later), Ok(()));
        }
        assert!(limiter.check(key, later).is_err());
    }

    #[test]
    fn zero_turns_it_off() {
        let limiter = RateLimiter::new(0, 0);
        let key = Uuid::now_v7();
        for _ in 0..1000 {
            assert_eq!(limiter.check(key, Instant::now()), Ok(()));
        }
    }
}
