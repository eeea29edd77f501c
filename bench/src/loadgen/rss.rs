//! The soak's memory figures: a process's resident set size from
//! `/proc/PID/status`, and the verdict over the samples taken after the
//! warm-up (pure: [`Verdict::of`] takes the samples).
//!
//! "Flat" is judged on medians, not on single samples: the median of the
//! first window of post-warm-up samples (a fifth of them, at least three)
//! is the baseline, the median of the last window the end figure, and the
//! end may exceed the baseline by at most the tolerance. A single sample
//! taken while a broadcast or a churn batch is in flight moves neither
//! median, while a steady growth moves the last one.

/// The resident set size of process `pid` in KiB (`VmRSS`), or `None`
/// when the process is gone or the line is missing.
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Fewest post-warm-up samples a verdict needs (two windows of three).
pub const MIN_SAMPLES: usize = 6;

/// The summary of the post-warm-up samples and whether they are flat.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Samples judged.
    pub samples: usize,
    /// Smallest, largest, first and last sample, KiB.
    pub min: u64,
    /// Largest sample, KiB.
    pub max: u64,
    /// First sample, KiB.
    pub first: u64,
    /// Last sample, KiB.
    pub last: u64,
    /// Samples in each window.
    pub window: usize,
    /// Median of the first window (the baseline), KiB.
    pub first_median: u64,
    /// Median of the last window, KiB.
    pub last_median: u64,
    /// Growth of the last median over the first, percent (negative: shrank).
    pub growth_pct: f64,
    /// Whether the growth is within the tolerance.
    pub flat: bool,
}

/// The median of a non-empty slice (the lower middle for even lengths).
fn median(v: &[u64]) -> u64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    s[(s.len() - 1) / 2]
}

impl Verdict {
    /// Judges `samples` (KiB, in time order) against `tolerance_pct`;
    /// `None` with fewer than [`MIN_SAMPLES`].
    pub fn of(samples: &[u64], tolerance_pct: f64) -> Option<Verdict> {
        if samples.len() < MIN_SAMPLES {
            return None;
        }
        let window = (samples.len() / 5).max(3);
        let first_median = median(&samples[..window]);
        let last_median = median(&samples[samples.len() - window..]);
        let growth_pct =
            (last_median as f64 - first_median as f64) * 100.0 / (first_median.max(1) as f64);
        Some(Verdict {
            samples: samples.len(),
            min: *samples.iter().min()?,
            max: *samples.iter().max()?,
            first: samples[0],
            last: samples[samples.len() - 1],
            window,
            first_median,
            last_median,
            growth_pct,
            flat: growth_pct <= tolerance_pct,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_samples_with_spikes_pass() {
        let mut s = vec![100_000u64; 30];
        // Spikes in both windows move neither median.
        s[1] = 140_000;
        s[28] = 150_000;
        let v = Verdict::of(&s, 5.0).unwrap();
        assert!(v.flat, "{v:?}");
        assert_eq!(
            (v.window, v.first_median, v.last_median),
            (6, 100_000, 100_000)
        );
        assert_eq!(
            (v.min, v.max, v.first, v.last),
            (100_000, 150_000, 100_000, 100_000)
        );
    }

    #[test]
    fn steady_growth_fails() {
        // 1 % per sample over 20 samples: the last window is ~17 % up.
        let s: Vec<u64> = (0..20).map(|i| 100_000 + i * 1_000).collect();
        let v = Verdict::of(&s, 5.0).unwrap();
        assert!(!v.flat, "{v:?}");
        assert!(v.growth_pct > 10.0, "{v:?}");
        assert!(Verdict::of(&s, 20.0).unwrap().flat);
    }

    #[test]
    fn too_few_samples_and_own_rss() {
        assert_eq!(Verdict::of(&[1, 2, 3, 4, 5], 5.0), None);
        assert!(vm_rss_kib(std::process::id()).unwrap() > 0);
        assert_eq!(vm_rss_kib(u32::MAX), None);
    }
}
