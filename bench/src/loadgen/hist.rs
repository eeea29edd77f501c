//! A log-linear latency histogram, lock-free to record into.
//!
//! Values are nanoseconds. Below 256 ns every value has its own bucket; from
//! there each power of two is cut into 128 equal buckets, so a bucket is at
//! most 1/128 (0.8 %) of its values wide: ~1 % precision over the whole range
//! from 1 µs to 60 s (values above 60 s are counted as 60 s). That is 3,840
//! buckets, 30 KiB. Percentiles report the highest value of their bucket
//! (never above the largest value recorded), as HdrHistogram does.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Sub-buckets per power of two, as bits (128).
const SUB_BITS: u32 = 7;
/// Sub-buckets per power of two.
const SUB: u64 = 1 << SUB_BITS;
/// The largest value kept apart: 60 s in nanoseconds.
const MAX_NS: u64 = 60_000_000_000;

/// The bucket of value `v` (nanoseconds, at most [`MAX_NS`]).
fn index(v: u64) -> usize {
    if v < 2 * SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS + 1
    let shift = exp - SUB_BITS; // >= 1
    let top = v >> shift; // in [SUB, 2 * SUB)
    (2 * SUB + u64::from(shift - 1) * SUB + (top - SUB)) as usize
}

/// The highest value that falls in bucket `i`.
fn highest(i: usize) -> u64 {
    let i = i as u64;
    if i < 2 * SUB {
        return i;
    }
    let j = i - 2 * SUB;
    let shift = j / SUB + 1;
    let top = j % SUB + SUB;
    ((top + 1) << shift) - 1
}

/// Latency histogram (nanoseconds); any thread may record into it.
pub struct Histogram {
    /// Count per bucket.
    buckets: Box<[AtomicU64]>,
    /// Values recorded.
    count: AtomicU64,
    /// Their sum, for the mean.
    sum: AtomicU64,
    /// The largest, exact.
    max: AtomicU64,
}

/// Percentiles and the like of a [`Histogram`], in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest value, exact.
    pub max_us: f64,
    /// Arithmetic mean, exact.
    pub mean_us: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        let n = index(MAX_NS) + 1;
        Self {
            buckets: (0..n).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    /// Records one value in nanoseconds.
    pub fn record(&self, ns: u64) {
        let v = ns.min(MAX_NS);
        self.buckets[index(v)].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
        self.max.fetch_max(v, Relaxed);
    }

    /// The value (nanoseconds) at quantile `q` in 0..=1; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let max = self.max.load(Relaxed);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return highest(i).min(max);
            }
        }
        max
    }

    /// Values recorded so far.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// The usual figures, in microseconds.
    pub fn summary(&self) -> Summary {
        let us = |ns: u64| (ns as f64 / 100.0).round() / 10.0;
        let count = self.count.load(Relaxed);
        Summary {
            p50_us: us(self.quantile(0.50)),
            p90_us: us(self.quantile(0.90)),
            p99_us: us(self.quantile(0.99)),
            p999_us: us(self.quantile(0.999)),
            max_us: us(self.max.load(Relaxed)),
            mean_us: us(self.sum.load(Relaxed).checked_div(count).unwrap_or(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_within_one_percent() {
        let mut v = 0u64;
        while v <= MAX_NS {
            let i = index(v);
            assert!(highest(i) >= v, "v {v} bucket {i}");
            if i > 0 {
                assert!(highest(i - 1) < v, "v {v} bucket {i}");
            }
            if v >= 1000 {
                let lo = highest(i - 1) + 1;
                assert!((highest(i) - lo) as f64 / lo as f64 <= 0.01, "v {v}");
            }
            v = v + 1 + v / 97;
        }
    }

    #[test]
    fn quantiles() {
        let h = Histogram::new();
        for us in 1..=1000u64 {
            h.record(us * 1000);
        }
        let s = h.summary();
        assert_eq!(h.count.load(Relaxed), 1000);
        assert!((s.p50_us - 500.0).abs() <= 5.0, "{s:?}");
        assert!((s.p99_us - 990.0).abs() <= 10.0, "{s:?}");
        assert_eq!(s.max_us, 1000.0);
        h.record(u64::MAX);
        assert_eq!(h.summary().max_us, 60_000_000.0);
    }
}
