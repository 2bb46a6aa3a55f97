//! Rate limiting with token buckets: per API key (`rate_limit_per_second` tokens a second up
//! to `rate_limit_burst`), and per client address (`ip_rate_limit_per_second`, burst
//! `ip_rate_limit_burst`) for what comes before a key is known — failed key lookups and the
//! hosted pages — so a flood of made-up keys costs no database queries once its bucket is
//! empty. Over a limit a request gets 429 `rate_limit_error` with `Retry-After`.
//! The buckets live in this process: behind a load balancer each instance limits on its own
//! (a limit of N per instance), which bounds abuse without a shared store.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use uuid::Uuid;

/// Token buckets keyed by `K`: API key ids by default, client addresses for [`IpLimiter`].
pub struct RateLimiter<K = Uuid> {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// Buckets per client address.
pub type IpLimiter = RateLimiter<IpAddr>;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Most keys tracked; past it, idle buckets (full again) are dropped. Keys are few (they are
/// rows an operator creates), so this only guards against unbounded growth.
const MAX_BUCKETS: usize = 10_000;

impl<K: Hash + Eq + Copy> RateLimiter<K> {
    /// `per_second == 0` turns limiting off.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(seconds)` says when to retry.
    pub fn check(&self, key: K, now: Instant) -> Result<(), u64> {
        self.spend(key, now, true)
    }

    /// Whether `key` has a token left, without taking it: for limits that count only
    /// failures (a failed key lookup is charged by [`RateLimiter::charge`] afterwards).
    pub fn peek(&self, key: K, now: Instant) -> Result<(), u64> {
        self.spend(key, now, false)
    }

    /// Takes a token for `key` (a failure to count); never refuses. With none left the
    /// bucket goes into debt, down to minus the burst: requests in flight together all passed
    /// `peek` before any was charged, and each must still be paid for, or N concurrent
    /// connections would get N times the burst.
    pub fn charge(&self, key: K, now: Instant) {
        if self.per_second <= 0.0 {
            return;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = ((bucket.tokens + refill).min(self.burst) - 1.0).max(-self.burst);
        bucket.at = now.max(bucket.at);
    }

    fn spend(&self, key: K, now: Instant, take: bool) -> Result<(), u64> {
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
            if take {
                bucket.tokens -= 1.0;
            }
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

/// The limits per client address, and how to tell the client's address.
pub struct ClientLimits {
    /// Failed API-key lookups: refused before the lookup once an address has used its burst.
    pub auth_failures: IpLimiter,
    /// Every request to the hosted onboarding pages.
    pub pages: IpLimiter,
    trusted_proxies: Vec<IpAddr>,
}

impl ClientLimits {
    pub fn new(per_second: u32, burst: u32, trusted_proxies: Vec<IpAddr>) -> Self {
        Self {
            auth_failures: RateLimiter::new(per_second, burst),
            pages: RateLimiter::new(per_second, burst),
            trusted_proxies,
        }
    }

    /// Whether a trusted proxy says the client's request came over https: the TCP peer is in
    /// `trusted_proxies` and its `X-Forwarded-Proto` (the last value: the one it wrote) is
    /// `https`. From anyone else the header is the client's own claim and proves nothing.
    pub fn forwarded_https(&self, req: &actix_web::HttpRequest) -> bool {
        let Some(peer) = req.peer_addr().map(|a| a.ip().to_canonical()) else {
            return false;
        };
        if !self.trusted_proxies.contains(&peer) {
            return false;
        }
        req.headers()
            .get_all("x-forwarded-proto")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }

    /// The client's address: the TCP peer, unless the peer is a trusted proxy; then the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries to its
    /// left were written by the client and prove nothing).
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip().to_canonical();
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for entry in forwarded.iter().rev() {
            match entry.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
                Ok(ip) if self.trusted_proxies.contains(&ip) => continue,
                Ok(ip) => return Some(ip),
                // Garbage where the proxy should have written an address: fall back to the
                // proxy itself rather than believe anything to its left.
                Err(_) => return Some(peer),
            }
        }
        Some(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_refills() {
        let limiter: RateLimiter = RateLimiter::new(2, 3);
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
    fn peek_takes_nothing_and_charge_counts_failures() {
        let limiter: IpLimiter = RateLimiter::new(1, 2);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(limiter.peek(ip, t0), Ok(()), "peeking is free");
        }
        limiter.charge(ip, t0);
        limiter.charge(ip, t0);
        assert_eq!(limiter.peek(ip, t0), Err(1), "two failures used the burst");
        // Two more that were in flight together with those: paid for, as debt.
        limiter.charge(ip, t0);
        limiter.charge(ip, t0);
        assert!(limiter.peek(ip, t0).is_err());
        let other: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(limiter.peek(other, t0), Ok(()), "addresses do not share");
        assert!(
            limiter.peek(ip, t0 + Duration::from_secs(2)).is_err(),
            "two seconds repay the debt of two"
        );
        assert_eq!(limiter.peek(ip, t0 + Duration::from_secs(3)), Ok(()));
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_says_otherwise() {
        use actix_web::test::TestRequest;
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let limits = ClientLimits::new(1, 1, vec![proxy]);
        let direct = TestRequest::default()
            .peer_addr("198.51.100.9:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.1"))
            .to_http_request();
        assert_eq!(
            limits.client_ip(&direct),
            Some("198.51.100.9".parse().unwrap()),
            "an untrusted peer's header is ignored"
        );
        let proxied = TestRequest::default()
            .peer_addr("10.0.0.5:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.2.3.4, 203.0.113.1, 10.0.0.5"))
            .to_http_request();
        assert_eq!(
            limits.client_ip(&proxied),
            Some("203.0.113.1".parse().unwrap()),
            "the right-most address the proxy did not add itself"
        );
        let mapped = TestRequest::default()
            .peer_addr("[::ffff:10.0.0.5]:4000".parse().unwrap())
            .to_http_request();
        assert_eq!(
            limits.client_ip(&mapped),
            Some(proxy),
            "no header: the proxy"
        );
    }

    #[test]
    fn zero_turns_it_off() {
        let limiter: RateLimiter = RateLimiter::new(0, 0);
        let key = Uuid::now_v7();
        for _ in 0..1000 {
            assert_eq!(limiter.check(key, Instant::now()), Ok(()));
        }
    }
}
