//! Request latency as a histogram with fixed, log-spaced buckets: the same buckets in every
//! minute, on every instance, so minutes merge into hours and days by adding counts, and p50 /
//! p99 come from the merged counts. No sample is kept.
//!
//! Bucket `i` (0 … 36) holds latencies up to [`UPPER_US`]`[i]` = 250 µs · 2^(i/2), rounded
//! (250 µs, 354 µs, 0.5 ms, 0.71 ms, 1 ms, … 65.5 s), and more than the bucket below; bucket
//! 37 holds everything slower than 65.5 s. A quantile is reported as its bucket's geometric
//! middle, so it is within a factor 2^¼ (±19 %) of the latency measured; in bucket 0 within
//! 0.25 ms; past 65.5 s it is reported as 65.5 s ("at least").

/// Buckets per histogram (the `api_usage` table has one column each).
pub const BUCKETS: usize = 38;

// The table's columns and these buckets must agree: a change is a new migration.
const _: () = assert!(BUCKETS == agora_migrations::API_USAGE_LATENCY_BUCKETS);

/// Upper bound of each bucket but the last, in microseconds: round(250 · 2^(i/2)).
pub const UPPER_US: [u64; BUCKETS - 1] = [
    250, 354, 500, 707, 1_000, 1_414, 2_000, 2_828, 4_000, 5_657, 8_000, 11_314, 16_000, 22_627,
    32_000, 45_255, 64_000, 90_510, 128_000, 181_019, 256_000, 362_039, 512_000, 724_077,
    1_024_000, 1_448_155, 2_048_000, 2_896_309, 4_096_000, 5_792_619, 8_192_000, 11_585_238,
    16_384_000, 23_170_475, 32_768_000, 46_340_950, 65_536_000,
];

/// Requests per latency bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Histogram {
    pub counts: [u64; BUCKETS],
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: [0; BUCKETS],
        }
    }
}

impl Histogram {
    /// The bucket a latency falls in: the first whose upper bound is at least it.
    pub fn bucket_of(latency_us: u64) -> usize {
        UPPER_US.partition_point(|&upper| upper < latency_us)
    }

    pub fn record(&mut self, latency_us: u64) {
        let bucket = Self::bucket_of(latency_us);
        self.counts[bucket] = self.counts[bucket].saturating_add(1);
    }

    /// Adds `other`'s counts: the histogram of both sets of requests.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine = mine.saturating_add(*theirs);
        }
    }

    pub fn total(&self) -> u64 {
        self.counts
            .iter()
            .fold(0u64, |sum, n| sum.saturating_add(*n))
    }

    /// What a latency in `bucket` is reported as, in milliseconds: the geometric middle of its
    /// bounds (bucket 0 as if it began at 250/√2 µs; the last as its lower bound, 65.5 s).
    pub fn representative_ms(bucket: usize) -> f64 {
        let upper = |i: usize| UPPER_US[i.min(UPPER_US.len() - 1)] as f64;
        let us = match bucket {
            0 => upper(0) / std::f64::consts::SQRT_2,
            b if b >= UPPER_US.len() => upper(UPPER_US.len() - 1),
            b => (upper(b - 1) * upper(b)).sqrt(),
        };
        us / 1000.0
    }

    /// The `q` quantile (0 < q ≤ 1) in milliseconds, within the buckets' resolution; `None`
    /// for an empty histogram. The rank is ⌈q·n⌉ (at least 1): p50 of three requests is the
    /// second, p99 of three the third.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        for (bucket, n) in self.counts.iter().enumerate() {
            seen = seen.saturating_add(*n);
            if seen >= rank {
                return Some(Self::representative_ms(bucket));
            }
        }
        Some(Self::representative_ms(BUCKETS - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_250_microseconds_times_root_two_to_the_i() {
        for (i, upper) in UPPER_US.iter().enumerate() {
            let exact = 250.0 * 2f64.powf(i as f64 / 2.0);
            assert_eq!(*upper, exact.round() as u64, "bucket {i}");
        }
        assert!(UPPER_US.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn latencies_land_in_the_bucket_whose_bounds_hold_them() {
        assert_eq!(Histogram::bucket_of(0), 0);
        assert_eq!(Histogram::bucket_of(250), 0);
        assert_eq!(Histogram::bucket_of(251), 1);
        assert_eq!(Histogram::bucket_of(1_000), 4);
        assert_eq!(Histogram::bucket_of(1_001), 5);
        assert_eq!(Histogram::bucket_of(65_536_000), 36);
        assert_eq!(Histogram::bucket_of(65_536_001), 37);
        assert_eq!(Histogram::bucket_of(u64::MAX), 37);
    }

    /// The exact quantile of `values` (rank ⌈q·n⌉), to compare the histogram's with.
    fn exact(values: &[u64], q: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1] as f64 / 1000.0
    }

    #[test]
    fn merged_minutes_give_the_quantiles_of_all_their_requests_within_the_resolution() {
        // Three "minutes" of made-up latencies from 0.3 ms to 20 s, spread unevenly.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let minutes: Vec<Vec<u64>> = (0..3)
            .map(|m| {
                (0..(200 + m * 150))
                    .map(|_| 300 + next() % (if m == 1 { 20_000_000 } else { 40_000 }))
                    .collect()
            })
            .collect();
        let mut merged = Histogram::default();
        let mut all = Vec::new();
        for values in &minutes {
            let mut minute = Histogram::default();
            for v in values {
                minute.record(*v);
            }
            merged.merge(&minute);
            all.extend_from_slice(values);
        }
        // Merging minutes is the same as recording every request in one histogram.
        let mut direct = Histogram::default();
        for v in &all {
            direct.record(*v);
        }
        assert_eq!(merged, direct);
        assert_eq!(merged.total(), all.len() as u64);
        let resolution = 2f64.powf(0.25) + 1e-3;
        for q in [0.5, 0.9, 0.99, 1.0] {
            let got = merged.quantile_ms(q).unwrap();
            let want = exact(&all, q);
            assert!(
                got <= want * resolution && got >= want / resolution,
                "q {q}: {got} ms reported, {want} ms measured"
            );
        }
    }

    #[test]
    fn quantiles_of_few_requests_and_the_extremes() {
        assert_eq!(Histogram::default().quantile_ms(0.5), None);
        let mut h = Histogram::default();
        for us in [1_000, 8_000, 64_000] {
            h.record(us);
        }
        // p50 of three is the second (8 ms, bucket 10: 5.657 < x ≤ 8 ms), p99 the third.
        let p50 = h.quantile_ms(0.5).unwrap();
        assert!((p50 - (5.657f64 * 8.0).sqrt()).abs() < 1e-3, "{p50}");
        let p99 = h.quantile_ms(0.99).unwrap();
        assert!((p99 - (45.255f64 * 64.0).sqrt()).abs() < 1e-3, "{p99}");
        let mut slow = Histogram::default();
        slow.record(3_600_000_000);
        assert_eq!(
            slow.quantile_ms(0.99),
            Some(65_536.0),
            "past the last bound: at least"
        );
        let mut fast = Histogram::default();
        fast.record(10);
        assert!(fast.quantile_ms(0.5).unwrap() < 0.25);
    }
}
