//! Rate limiters driven by caller-supplied time.
//!
//! This module owns the limiting arithmetic for the gateway: a compact
//! per-key sliding-window counter ([`Window`]), a bounded map of them keyed by
//! client ([`KeyedLimiter`]) and a per-connection event limiter with an
//! optional burst limit ([`EventLimiter`]). It performs no I/O and reads no
//! clock: every call takes the current [`Instant`], and the [`Limit`] is
//! passed on every call so it can change at run time.
//!
//! # Semantics
//!
//! Time is cut into fixed windows of length `per`, the first one starting
//! when the [`Window`] is created. The window keeps the number of accepted
//! requests in the current fixed window (`curr`) and in the one before it
//! (`prev`). A request arriving `e` into the current window (`0 <= e < per`)
//! is accepted iff
//!
//! ```text
//! curr + 1 + prev * (per - e) / per <= max        (exact rational arithmetic)
//! ```
//!
//! which is the classic weighted sliding-window estimate, with one
//! refinement: the `prev` term is dropped once `e` reaches the offset (within
//! its window) of the previous window's last accepted request, because from
//! then on none of the previous window's requests lies within the last
//! `per` (before that point the estimate is the classic one, after it the
//! count is exact). Consequences:
//! - at most `max` requests are accepted within one fixed window;
//! - at a window edge the previous window still weighs in, so a full window
//!   just before the edge blocks the first instant after it and the quota
//!   comes back linearly (e.g. half of it halfway through). Like every
//!   weighted estimate it assumes the previous window's requests were spread
//!   evenly: if they were bunched at its very end, up to about `2 * max` can
//!   be accepted within one sliding `per`;
//! - `per` after the last accepted request, everything is available again,
//!   so a retry-after never has to exceed `per`.
//!
//! Refused requests are never counted. `max == 0` refuses everything. A
//! `per` shorter than 1 ms is treated as 1 ms. If `per` changes between
//! calls, the stored counts are kept and reinterpreted with the new length.
//!
//! Retry-after values are the exact time until the next request would be
//! accepted (assuming no other traffic), rounded up to whole milliseconds
//! and clamped to `[1 ms, per]`.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Shortest window length; shorter `per` values are raised to this.
const MIN_PER: Duration = Duration::from_millis(1);
/// Offsets inside a window are stored as fractions of `per` in units of 2^-32.
const FRAC_ONE: u128 = 1 << 32;
const NANOS_PER_SEC: u128 = 1_000_000_000;
const NANOS_PER_MS: u128 = 1_000_000;

/// A rate: at most `max` requests per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Requests allowed per window; 0 allows nothing.
    pub max: u32,
    /// Window length (at least 1 ms is used).
    pub per: Duration,
}

impl Limit {
    /// Creates a limit of `max` requests per `per`.
    pub const fn new(max: u32, per: Duration) -> Self {
        Self { max, per }
    }

    fn per(self) -> Duration {
        self.per.max(MIN_PER)
    }
}

fn nanos_to_duration(n: u128) -> Duration {
    let secs = u64::try_from(n / NANOS_PER_SEC).unwrap_or(u64::MAX);
    // The remainder is below 10^9, so it always fits in a u32.
    let sub = u32::try_from(n % NANOS_PER_SEC).unwrap_or(0);
    Duration::new(secs, sub)
}

fn div_ceil(a: u128, b: u128) -> u128 {
    a / b + u128::from(a % b != 0)
}

/// `e / per` as a fraction in units of 2^-32, rounded down, saturating.
///
/// Rounding down means the previous window is dropped at most `per / 2^32`
/// early (under 1 ns for windows up to 4 s, 14 ns for a minute), which keeps
/// "`per` after the last accepted request, a request is accepted" exact.
fn to_frac(e: u128, per: u128) -> u32 {
    u32::try_from(e.saturating_mul(FRAC_ONE) / per).unwrap_or(u32::MAX)
}

/// One key's sliding-window state (32 bytes). See the module documentation
/// for the exact semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Start of the current fixed window.
    start: Instant,
    /// Accepted requests in the previous fixed window.
    prev: u32,
    /// Accepted requests in the current fixed window.
    curr: u32,
    /// Offset of the previous window's last accepted request (fraction of
    /// `per`, rounded down).
    prev_last: u32,
    /// Offset of the current window's last accepted request.
    curr_last: u32,
}

impl Window {
    /// Creates an empty window whose first fixed window starts at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            start: now,
            prev: 0,
            curr: 0,
            prev_last: 0,
            curr_last: 0,
        }
    }

    /// Counts one request at `now` if `limit` allows it; otherwise returns
    /// how long to wait before retrying and counts nothing.
    pub fn check(&mut self, limit: Limit, now: Instant) -> Result<(), Duration> {
        let pending = self.evaluate(limit, now)?;
        self.record(pending);
        Ok(())
    }

    /// Whether one more request at `now` is within `limit` (the retry-after
    /// when not), counting nothing: for limits that count only some
    /// outcomes (failed logins), checked before the attempt.
    pub fn allows(&mut self, limit: Limit, now: Instant) -> Result<(), Duration> {
        self.evaluate(limit, now).map(|_| ())
    }

    /// Rolls the window forward to `now` and decides, without counting.
    /// On success returns the offset to record for the request.
    fn evaluate(&mut self, limit: Limit, now: Instant) -> Result<u32, Duration> {
        let per = limit.per();
        let per_n = per.as_nanos();
        let e = self.advance(per_n, now);
        let (c, p, m) = (
            u128::from(self.curr),
            u128::from(self.prev),
            u128::from(limit.max),
        );
        let prev_term = if self.prev_active(e, per_n) {
            p * per_n.saturating_sub(e)
        } else {
            0
        };
        if m > 0 && (c + 1) * per_n + prev_term <= m * per_n {
            return Ok(to_frac(e, per_n));
        }
        let wait = if m == 0 {
            per_n
        } else if c < m {
            earliest(c, p, self.prev_last, m, per_n, e).saturating_sub(e)
        } else {
            // Only the next window can help; its `prev` is today's `curr`.
            per_n.saturating_sub(e) + earliest(0, c, self.curr_last, m, per_n, 0)
        };
        let wait = nanos_to_duration(div_ceil(wait, NANOS_PER_MS) * NANOS_PER_MS);
        Err(wait.clamp(MIN_PER, per))
    }

    fn record(&mut self, offset: u32) {
        self.curr = self.curr.saturating_add(1);
        self.curr_last = self.curr_last.max(offset);
    }

    /// Moves to the fixed window containing `now`; returns the offset of
    /// `now` within it, in nanoseconds (always below `per_n`).
    fn advance(&mut self, per_n: u128, now: Instant) -> u128 {
        let elapsed = now.saturating_duration_since(self.start).as_nanos();
        if elapsed < per_n {
            return elapsed;
        }
        if elapsed / per_n == 1 {
            self.prev = self.curr;
            self.prev_last = self.curr_last;
        } else {
            self.prev = 0;
            self.prev_last = 0;
        }
        self.curr = 0;
        self.curr_last = 0;
        let rem = elapsed % per_n;
        match now.checked_sub(nanos_to_duration(rem)) {
            Some(start) => {
                self.start = start;
                rem
            }
            None => {
                self.start = now;
                0
            }
        }
    }

    /// Whether some request of the previous window may still lie within the
    /// last `per` at offset `e`.
    fn prev_active(&self, e: u128, per_n: u128) -> bool {
        self.prev > 0 && e * FRAC_ONE < u128::from(self.prev_last) * per_n
    }

    /// Start of the current fixed window.
    fn start(&self) -> Instant {
        self.start
    }
}

/// Smallest offset `>= from` (at most `per`) at which one more request is
/// accepted, given `curr < max` accepted requests in this window and `prev`
/// in the previous one whose last request was at fraction `prev_last`.
fn earliest(curr: u128, prev: u128, prev_last: u32, max: u128, per: u128, from: u128) -> u128 {
    if prev == 0 {
        return from;
    }
    let spare = max.saturating_sub(curr).saturating_sub(1);
    // From here on the previous window no longer counts.
    let dropped = div_ceil(u128::from(prev_last) * per, FRAC_ONE);
    // From here on prev * (per - e) <= spare * per.
    let weighted = per.saturating_sub(spare * per / prev);
    from.max(dropped.min(weighted))
}

/// Sliding-window limits for many keys (e.g. client addresses), holding at
/// most `max_keys` keys.
///
/// When a new key arrives while full, keys idle for two windows of the
/// current limit are pruned first (they hold no quota state); if the map is
/// still full the new key is refused with `Err(limit.per)` (fail closed).
#[derive(Clone, Debug)]
pub struct KeyedLimiter<K> {
    windows: HashMap<K, Window>,
    max_keys: usize,
    /// After a prune that freed nothing: no prune with an idle threshold of
    /// at least `.1` can free anything before `.0`.
    no_prune_before: Option<(Instant, Duration)>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// Creates an empty limiter holding at most `max_keys` keys (0 refuses
    /// every key).
    pub fn new(max_keys: usize) -> Self {
        Self {
            windows: HashMap::new(),
            max_keys,
            no_prune_before: None,
        }
    }

    /// Counts one request for `key` at `now` if `limit` allows it; otherwise
    /// returns the retry-after. A key is only stored once one of its
    /// requests has been accepted.
    pub fn check(&mut self, key: &K, limit: Limit, now: Instant) -> Result<(), Duration> {
        if let Some(window) = self.windows.get_mut(key) {
            return window.check(limit, now);
        }
        if self.windows.len() >= self.max_keys {
            let idle = limit.per().saturating_mul(2);
            // Pruning scans every key: skip it while it provably frees nothing.
            let futile = matches!(self.no_prune_before, Some((t, i)) if now < t && idle >= i);
            if !futile {
                self.prune(now, idle);
                if self.windows.len() >= self.max_keys {
                    let oldest = self.windows.values().map(Window::start).min();
                    let next = oldest.and_then(|s| s.checked_add(idle));
                    self.no_prune_before = next.map(|t| (t, idle));
                }
            }
            if self.windows.len() >= self.max_keys {
                return Err(limit.per());
            }
        }
        let mut window = Window::new(now);
        window.check(limit, now)?;
        self.windows.insert(key.clone(), window);
        Ok(())
    }

    /// [`Window::allows`] for `key` (a key never counted is allowed unless
    /// `limit` allows nothing); counts and stores nothing.
    pub fn allows(&mut self, key: &K, limit: Limit, now: Instant) -> Result<(), Duration> {
        match self.windows.get_mut(key) {
            Some(w) => w.allows(limit, now),
            None => Window::new(now).allows(limit, now),
        }
    }

    /// Removes keys whose current fixed window started at least `idle`
    /// before `now`. With `idle` of at least two windows this forgets
    /// nothing that could still limit the key.
    pub fn prune(&mut self, now: Instant, idle: Duration) {
        self.windows
            .retain(|_, w| now.saturating_duration_since(w.start()) < idle);
    }

    /// Number of keys currently tracked.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

/// Per-connection event limits: a main window (e.g. per minute) and an
/// optional short burst window (e.g. per second). An event is counted in
/// both or in neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventLimiter {
    window: Window,
    burst: Window,
}

impl EventLimiter {
    /// Creates a limiter whose windows start at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            window: Window::new(now),
            burst: Window::new(now),
        }
    }

    /// Counts one event at `now` if both `per_window` and `burst` (when
    /// given) allow it; otherwise returns the longer of the retry-afters and
    /// counts nothing.
    pub fn check(
        &mut self,
        per_window: Limit,
        burst: Option<Limit>,
        now: Instant,
    ) -> Result<(), Duration> {
        let main = self.window.evaluate(per_window, now);
        let short = burst.map(|limit| self.burst.evaluate(limit, now));
        match (main, short) {
            (Ok(a), None) => self.window.record(a),
            (Ok(a), Some(Ok(b))) => {
                self.window.record(a);
                self.burst.record(b);
            }
            (Err(a), Some(Err(b))) => return Err(a.max(b)),
            (Err(wait), _) | (_, Some(Err(wait))) => return Err(wait),
        }
        Ok(())
    }
}

/// The key a per-address limit counts under: the address, or its /64 for
/// IPv6 (one host usually holds a whole /64).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Accepts as many requests as possible at `now`, up to 1000.
    fn drain(w: &mut Window, limit: Limit, now: Instant) -> u32 {
        let mut n = 0;
        while n < 1000 && w.check(limit, now).is_ok() {
            n += 1;
        }
        n
    }

    #[test]
    fn window_is_small() {
        assert!(std::mem::size_of::<Window>() <= 32);
    }

    #[test]
    fn exactly_max_then_refused() {
        let t0 = Instant::now();
        let limit = Limit::new(5, secs(10));
        let mut w = Window::new(t0);
        for i in 0..5 {
            assert_eq!(w.check(limit, t0 + ms(i)), Ok(()));
        }
        assert!(w.check(limit, t0 + ms(5)).is_err());
        assert!(w.check(limit, t0 + secs(9)).is_err());
    }

    #[test]
    fn allows_counts_nothing() {
        let t0 = Instant::now();
        let limit = Limit::new(2, secs(60));
        let mut k = KeyedLimiter::new(4);
        for _ in 0..10 {
            assert_eq!(k.allows(&1, limit, t0), Ok(()));
        }
        assert!(k.is_empty(), "allows stores no key");
        k.check(&1, limit, t0).unwrap();
        k.check(&1, limit, t0).unwrap();
        let retry = k.allows(&1, limit, t0).unwrap_err();
        assert!(retry > Duration::ZERO && retry <= secs(60));
        assert_eq!(k.allows(&2, limit, t0), Ok(()));
        assert!(k.allows(&1, limit, t0 + secs(121)).is_ok());
        assert!(KeyedLimiter::new(4)
            .allows(&1, Limit::new(0, secs(1)), t0)
            .is_err());
    }

    #[test]
    fn recovery_after_per_and_refusals_are_free() {
        let t0 = Instant::now();
        let limit = Limit::new(3, secs(10));
        let mut w = Window::new(t0);
        assert_eq!(drain(&mut w, limit, t0), 3);
        // Hammering while refused does not push recovery back.
        for i in 1..100 {
            assert!(w.check(limit, t0 + ms(i * 99)).is_err());
        }
        assert_eq!(drain(&mut w, limit, t0 + secs(10)), 3);
        // A burst in the middle of a window: the weighted estimate frees one
        // slot when 1 + 3 * (10 - e) / 10 <= 3, i.e. at e = 3.333.. s, and
        // everything is back exactly `per` after the burst.
        let mut w = Window::new(t0);
        assert_eq!(drain(&mut w, limit, t0 + secs(4)), 3);
        let mut w2 = w;
        assert_eq!(w.check(limit, t0 + secs(13)), Err(ms(334)));
        assert_eq!(w.check(limit, t0 + ms(13_334)), Ok(()));
        assert!(w2.check(limit, t0 + ms(13_999)).is_ok());
        let mut w3 = w2;
        assert_eq!(drain(&mut w2, limit, t0 + ms(13_999)), 0);
        assert_eq!(drain(&mut w3, limit, t0 + secs(14)), 2);
        // Long silence forgets everything.
        assert_eq!(drain(&mut w, limit, t0 + secs(100)), 3);
    }

    #[test]
    fn sliding_across_the_boundary() {
        let t0 = Instant::now();
        let limit = Limit::new(10, secs(10));
        let mut w = Window::new(t0);
        // Ten requests at the very end of the first window...
        assert_eq!(drain(&mut w, limit, t0 + ms(9_999)), 10);
        // ...block the start of the next one (no 2x burst at the edge).
        assert_eq!(w.check(limit, t0 + secs(10)), Err(secs(1)));
        // The previous window weighs (per - e) / per: at e = 1 s it counts
        // 9, leaving room for one; at e = 5 s it counts 5.
        assert_eq!(drain(&mut w, limit, t0 + secs(11)), 1);
        assert_eq!(drain(&mut w, limit, t0 + secs(15)), 4);
        // Near the end the previous window weighs 10 * 0.002 = 0.02.
        assert_eq!(drain(&mut w, limit, t0 + ms(19_998)), 4);
        // Once its last request is `per` old it no longer counts at all.
        assert_eq!(drain(&mut w, limit, t0 + ms(19_999)), 1);
        // No fixed window ever holds more than `max`.
        assert!(w.check(limit, t0 + ms(19_999)).is_err());
    }

    #[test]
    fn retry_after_values() {
        let t0 = Instant::now();
        let limit = Limit::new(4, secs(4));
        let mut w = Window::new(t0);
        assert_eq!(drain(&mut w, limit, t0 + secs(1)), 4);
        // All four sit at offset 1 s, so they leave the sliding window at 5 s.
        assert_eq!(w.check(limit, t0 + secs(1)), Err(secs(4)));
        assert_eq!(w.check(limit, t0 + secs(3)), Err(secs(2)));
        assert_eq!(w.check(limit, t0 + secs(4)), Err(secs(1)));
        assert_eq!(w.check(limit, t0 + ms(4_999)), Err(ms(1)));
        assert_eq!(w.check(limit, t0 + secs(5)), Ok(()));

        // Spread traffic: the weighted estimate decides first.
        let limit = Limit::new(10, secs(10));
        let mut w = Window::new(t0);
        for i in 0..10 {
            assert_eq!(w.check(limit, t0 + secs(i)), Ok(()));
        }
        // At 10 s the previous window (last request at 9 s) weighs fully;
        // one request fits once 10 * (10 - e) / 10 <= 9, i.e. at e = 1 s.
        assert_eq!(w.check(limit, t0 + secs(10)), Err(secs(1)));
        assert_eq!(w.check(limit, t0 + ms(10_500)), Err(ms(500)));
        assert_eq!(w.check(limit, t0 + secs(11)), Ok(()));
        // Sub-millisecond waits round up to 1 ms.
        let mut w = Window::new(t0);
        let fast = Limit::new(1, ms(1));
        assert_eq!(w.check(fast, t0), Ok(()));
        let almost = t0 + Duration::from_nanos(999_999);
        assert_eq!(w.check(fast, almost), Err(ms(1)));
    }

    #[test]
    fn retry_after_is_honest() {
        // Waiting exactly the advertised time always succeeds.
        let t0 = Instant::now();
        for (max, per_ms, gap_ms) in [(3, 1000, 7), (10, 60_000, 997), (1, 500, 3), (7, 3000, 61)] {
            let limit = Limit::new(max, ms(per_ms));
            let mut w = Window::new(t0);
            let mut now = t0;
            let mut accepted = 0;
            for _ in 0..400 {
                match w.check(limit, now) {
                    Ok(()) => accepted += 1,
                    Err(wait) => {
                        assert!(wait >= ms(1) && wait <= limit.per, "{wait:?}");
                        assert_eq!(w.check(limit, now + wait), Ok(()), "{max} {per_ms}");
                        accepted += 1;
                        now += wait;
                    }
                }
                now += ms(gap_ms);
            }
            assert!(accepted > 0);
        }
    }

    #[test]
    fn max_zero_and_tiny_per() {
        let t0 = Instant::now();
        let mut w = Window::new(t0);
        let none = Limit::new(0, secs(5));
        assert_eq!(w.check(none, t0), Err(secs(5)));
        assert_eq!(w.check(none, t0 + secs(100)), Err(secs(5)));
        // A zero `per` behaves as 1 ms.
        let zero = Limit::new(1, Duration::ZERO);
        assert_eq!(w.check(zero, t0 + secs(200)), Ok(()));
        assert_eq!(w.check(zero, t0 + secs(200)), Err(ms(1)));
        assert_eq!(w.check(zero, t0 + secs(200) + ms(1)), Ok(()));
    }

    #[test]
    fn limit_changes_between_calls() {
        let t0 = Instant::now();
        let mut w = Window::new(t0);
        assert_eq!(drain(&mut w, Limit::new(5, secs(10)), t0), 5);
        // Raising the limit allows more at once.
        assert_eq!(drain(&mut w, Limit::new(8, secs(10)), t0 + secs(1)), 3);
        // Lowering it below the count blocks until the counts age out.
        let low = Limit::new(2, secs(10));
        assert!(w.check(low, t0 + secs(2)).is_err());
        let wait = w.check(low, t0 + secs(5)).unwrap_err();
        assert!(wait <= secs(10));
        assert_eq!(w.check(low, t0 + secs(11) + ms(1)), Ok(()));
        // Changing `per` reinterprets the window; it never panics.
        assert!(w.check(Limit::new(2, ms(100)), t0 + secs(12)).is_ok());
        let huge = Limit::new(2, Duration::MAX);
        assert!(w.check(huge, t0 + secs(13)).is_ok());
        let wait = w.check(huge, t0 + secs(13)).unwrap_err();
        assert!(wait >= secs(13));
    }

    #[test]
    fn time_going_backwards_is_harmless() {
        let t0 = Instant::now() + secs(10);
        let limit = Limit::new(2, secs(10));
        let mut w = Window::new(t0);
        assert_eq!(w.check(limit, t0 - secs(5)), Ok(()));
        assert_eq!(w.check(limit, t0), Ok(()));
        assert!(w.check(limit, t0 - secs(9)).is_err());
    }

    #[test]
    fn keyed_limits_per_key() {
        let t0 = Instant::now();
        let limit = Limit::new(2, secs(1));
        let mut k = KeyedLimiter::new(10);
        assert!(k.is_empty());
        assert_eq!(k.check(&"a", limit, t0), Ok(()));
        assert_eq!(k.check(&"a", limit, t0), Ok(()));
        assert_eq!(k.check(&"a", limit, t0), Err(secs(1)));
        assert_eq!(k.check(&"b", limit, t0), Ok(()));
        assert_eq!(k.len(), 2);
        // Refused new keys are not stored.
        assert_eq!(k.check(&"c", Limit::new(0, secs(1)), t0), Err(secs(1)));
        assert_eq!(k.len(), 2);
    }

    #[test]
    fn keyed_cap_prunes_idle_then_fails_closed() {
        let t0 = Instant::now();
        let limit = Limit::new(5, secs(1));
        let mut k = KeyedLimiter::new(2);
        assert_eq!(k.check(&1, limit, t0), Ok(()));
        assert_eq!(k.check(&2, limit, t0 + ms(500)), Ok(()));
        // Full, nobody idle: refused with `per`, existing keys still work.
        assert_eq!(k.check(&3, limit, t0 + secs(1)), Err(secs(1)));
        assert_eq!(k.check(&3, limit, t0 + ms(1_999)), Err(secs(1)));
        assert_eq!(k.check(&1, limit, t0 + ms(1_999)), Ok(()));
        assert_eq!(k.len(), 2);
        // Key 2 (window started at 0.5 s) is idle for two windows at 2.5 s;
        // key 1 rolled to a window starting at 1 s.
        assert_eq!(k.check(&3, limit, t0 + ms(2_499)), Err(secs(1)));
        let mut k2 = k.clone();
        assert_eq!(k.check(&3, limit, t0 + ms(2_500)), Ok(()));
        assert_eq!(k.len(), 2);
        // A shorter `per` makes keys idle sooner, despite the pruning hint
        // left by the refusal at 2.499 s.
        let short = Limit::new(5, ms(100));
        assert_eq!(k2.check(&4, short, t0 + ms(2_499)), Ok(()));
        assert_eq!(k2.len(), 1);
        // Zero capacity refuses every key.
        let mut z: KeyedLimiter<u8> = KeyedLimiter::new(0);
        assert_eq!(z.check(&1, limit, t0), Err(secs(1)));
        assert!(z.is_empty());
    }

    #[test]
    fn keyed_prune() {
        let t0 = Instant::now();
        let limit = Limit::new(1, secs(1));
        let mut k = KeyedLimiter::new(10);
        assert_eq!(k.check(&"old", limit, t0), Ok(()));
        assert_eq!(k.check(&"new", limit, t0 + secs(5)), Ok(()));
        k.prune(t0 + secs(6), secs(2));
        assert_eq!(k.len(), 1);
        assert_eq!(k.check(&"new", limit, t0 + secs(5)), Err(secs(1)));
        k.prune(t0 + secs(7), secs(2));
        assert!(k.is_empty());
    }

    #[test]
    fn event_limiter_burst() {
        let t0 = Instant::now();
        let minute = Limit::new(10, secs(60));
        let second = Limit::new(3, secs(1));
        let mut e = EventLimiter::new(t0);
        for _ in 0..3 {
            assert_eq!(e.check(minute, Some(second), t0), Ok(()));
        }
        assert_eq!(e.check(minute, Some(second), t0), Err(secs(1)));
        // Without the burst limit the main window alone applies.
        assert_eq!(e.check(minute, None, t0), Ok(()));
        for i in 1..=2 {
            assert_eq!(e.check(minute, Some(second), t0 + secs(i)), Ok(()));
        }
        // Every 300 ms from 3 s: the burst limit refuses 3.9 s and 4.2 s,
        // then the main window is full after 4.5 s.
        let accepted: Vec<bool> = (0..8)
            .map(|i| {
                e.check(minute, Some(second), t0 + ms(3_000 + i * 300))
                    .is_ok()
            })
            .collect();
        assert_eq!(
            accepted,
            [true, true, true, false, false, true, false, false]
        );
        // Main window exhausted (last accepted at 4.5 s): its longer
        // retry-after wins.
        let verdict = e.check(minute, Some(second), t0 + secs(10));
        assert_eq!(verdict, Err(ms(54_500)));
    }

    #[test]
    fn event_limiter_refusal_consumes_nothing() {
        let t0 = Instant::now();
        let minute = Limit::new(2, secs(60));
        let second = Limit::new(5, secs(1));
        let mut e = EventLimiter::new(t0);
        assert_eq!(e.check(minute, Some(second), t0), Ok(()));
        assert_eq!(e.check(minute, Some(second), t0), Ok(()));
        // Refused by the main window: the burst window is not charged.
        for _ in 0..10 {
            assert!(e.check(minute, Some(second), t0).is_err());
        }
        let roomy = Limit::new(100, secs(60));
        assert_eq!(e.check(roomy, Some(second), t0), Ok(()));
        assert_eq!(e.check(roomy, Some(second), t0), Ok(()));
        assert_eq!(e.check(roomy, Some(second), t0), Ok(()));
        assert_eq!(e.check(roomy, Some(second), t0), Err(secs(1)));
        // Refused by the burst window: the main window is not charged.
        let two = Limit::new(2, secs(60));
        let mut e = EventLimiter::new(t0);
        let one = Limit::new(1, secs(1));
        assert_eq!(e.check(two, Some(one), t0), Ok(()));
        for _ in 0..10 {
            assert_eq!(e.check(two, Some(one), t0), Err(secs(1)));
        }
        assert_eq!(e.check(two, Some(one), t0 + secs(1)), Ok(()));
    }
}
