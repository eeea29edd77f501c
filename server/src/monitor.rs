//! Event statistics and the bounded event log behind
//! `GET /api/monitoring/events` and `GET /api/monitoring/log`, plus ISO 8601
//! timestamps. Payloads are never recorded.
//!
//! Bookkeeping only (it reads the clock for entry timestamps): callers pass
//! the limits; must not read the settings or the server state.
//!
//! Counting takes no lock shared between threads: each thread counts into
//! its own shard (one of [`SHARDS`], picked once per thread), merged on
//! read. Which names are counted by themselves (at most `max_event_types`
//! of them, the rest as [`OTHER`]) is decided once per name and shard
//! against the shared set of admitted names; a name beyond the limit
//! consults that set (a read lock) on each of its events. The event log is
//! one mutex, taken only to log (when event logging is on), to read it and
//! to reset.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Name under which event names beyond `max_event_types` are counted.
pub const OTHER: &str = "(other)";

/// Count shards: threads beyond this many share shards (round robin).
pub const SHARDS: usize = 16;
/// One event log entry.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogEntry {
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Event name (or a server event such as `connection`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Namespace, socket id and user id; never the payload.
    pub data: serde_json::Value,
}

/// One shard's counts.
#[derive(Debug, Default)]
struct Shard {
    /// Admitted names (sharing the admitted set's strings) and their counts.
    by_type: HashMap<Arc<str>, u64>,
    /// Events of names beyond the limit.
    other: u64,
}

/// When the counts were last reset.
#[derive(Debug, Clone, Copy)]
struct Since {
    at: SystemTime,
    instant: Instant,
}

impl Since {
    fn now() -> Since {
        Since {
            at: SystemTime::now(),
            instant: Instant::now(),
        }
    }
}

/// Event counters and the event log. Shared by reference: every method
/// takes `&self`.
#[derive(Debug)]
pub struct Monitor {
    shards: Box<[Mutex<Shard>]>,
    /// The names counted by themselves, at most `max_event_types`.
    admitted: RwLock<HashSet<Arc<str>>>,
    since: Mutex<Since>,
    log: Mutex<VecDeque<LogEntry>>,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            admitted: RwLock::default(),
            since: Mutex::new(Since::now()),
            log: Mutex::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// This thread's shard index, assigned round robin on first use.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    INDEX.with(|i| *i)
}

impl Monitor {
    /// Counts one event of `name`; at most `max_types` distinct names, the
    /// others as [`OTHER`].
    pub fn count(&self, name: &str, max_types: usize) {
        let mut shard = lock(&self.shards[shard_index()]);
        if let Some(n) = shard.by_type.get_mut(name) {
            *n += 1;
            return;
        }
        match self.admit(name, max_types) {
            Some(name) => {
                shard.by_type.insert(name, 1);
            }
            None => shard.other += 1,
        }
    }

    /// The shared string of `name` if it is, or now becomes, one of the
    /// at most `max_types` names counted by themselves.
    fn admit(&self, name: &str, max_types: usize) -> Option<Arc<str>> {
        {
            let admitted = self.admitted.read().unwrap_or_else(|e| e.into_inner());
            if let Some(known) = admitted.get(name) {
                return Some(known.clone());
            }
            if admitted.len() >= max_types {
                return None;
            }
        }
        let mut admitted = self.admitted.write().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = admitted.get(name) {
            return Some(known.clone());
        }
        if admitted.len() >= max_types {
            return None;
        }
        let name: Arc<str> = Arc::from(name);
        admitted.insert(name.clone());
        Some(name)
    }

    /// Appends to the log, keeping the last `max` entries.
    pub fn log(&self, kind: &str, data: serde_json::Value, max: usize) {
        let entry = LogEntry {
            timestamp: unix_ms(SystemTime::now()),
            kind: kind.to_owned(),
            data,
        };
        let mut log = lock(&self.log);
        if max == 0 {
            log.clear();
            return;
        }
        while log.len() >= max {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// The event statistics, as the settings documents shape them.
    pub fn stats(&self, now: Instant) -> serde_json::Value {
        let since = *lock(&self.since);
        let mut by: HashMap<Arc<str>, u64> = HashMap::new();
        let mut other = 0;
        for shard in self.shards.iter() {
            let shard = lock(shard);
            for (name, n) in &shard.by_type {
                *by.entry(name.clone()).or_default() += n;
            }
            other += shard.other;
        }
        if other > 0 {
            *by.entry(Arc::from(OTHER)).or_default() += other;
        }
        let total: u64 = by.values().sum();
        let mut by: Vec<(Arc<str>, u64)> = by.into_iter().collect();
        by.sort();
        let by: serde_json::Map<String, serde_json::Value> = by
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        let secs = now
            .saturating_duration_since(since.instant)
            .max(Duration::from_secs(1));
        serde_json::json!({
            "totalEvents": total,
            "eventsByType": by,
            "lastReset": unix_ms(since.at),
            "eventsPerSecond": (total as f64 / secs.as_secs_f64() * 100.0).round() / 100.0,
        })
    }

    /// The newest `limit` log entries, oldest first.
    pub fn recent(&self, limit: usize) -> Vec<LogEntry> {
        let log = lock(&self.log);
        let skip = log.len().saturating_sub(limit);
        log.iter().skip(skip).cloned().collect()
    }

    /// Clears counters and the log. An event counted meanwhile may land
    /// before or after the reset.
    pub fn reset(&self) {
        *lock(&self.since) = Since::now();
        for shard in self.shards.iter() {
            *lock(shard) = Shard::default();
        }
        // After the shards: a name admitted meanwhile is admitted again.
        self.admitted
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        lock(&self.log).clear();
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `2026-11-22T10:04:05.123Z` (the Admin UI's dates, the same format).
pub fn iso8601(t: SystemTime) -> String {
    socketio::admin::iso_date(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_123); // leap day 2000
        assert_eq!(iso8601(t), "2000-02-29T00:00:00.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(iso8601(t), "2026-11-18T11:06:40.000Z");
    }

    #[test]
    fn counts_are_bounded_and_log_keeps_the_newest() {
        let m = Monitor::default();
        for i in 0..10 {
            m.count(&format!("e{i}"), 3);
        }
        m.count("e0", 3);
        let s = m.stats(Instant::now());
        assert_eq!(s["totalEvents"], 11);
        assert_eq!(s["eventsByType"]["e0"], 2);
        assert_eq!(s["eventsByType"][OTHER], 7);
        for i in 0..5 {
            m.log("x", serde_json::json!({ "i": i }), 3);
        }
        let r = m.recent(2);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].data["i"], 4);
        assert_eq!(m.recent(50).len(), 3);
        m.reset();
        assert_eq!(m.stats(Instant::now())["totalEvents"], 0);
    }

    /// Many threads count at once (more than there are shards): every
    /// total is exact, at most `max` names are counted by themselves
    /// (threads race for the last places), the rest land in the other
    /// bucket.
    #[test]
    fn concurrent_counting_is_exact() {
        const THREADS: usize = SHARDS + 4;
        const PER_THREAD: u64 = 5_000;
        let m = Arc::new(Monitor::default());
        let max = 3 + THREADS / 2;
        // The three shared names take the first places.
        for k in 0..3 {
            m.count(&format!("shared{k}"), max);
        }
        let start = Arc::new(std::sync::Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (m, start) = (m.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    for i in 0..PER_THREAD {
                        // Its own name first, then three names everyone shares.
                        let name = match i % 4 {
                            0 => format!("own{t}"),
                            k => format!("shared{}", k - 1),
                        };
                        m.count(&name, max);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = m.stats(Instant::now());
        let total = THREADS as u64 * PER_THREAD + 3;
        assert_eq!(s["totalEvents"], total);
        let by = s["eventsByType"].as_object().unwrap();
        let per_name = PER_THREAD / 4;
        for k in 0..3 {
            assert_eq!(by[&format!("shared{k}")], per_name * THREADS as u64 + 1);
        }
        let own: Vec<&String> = by.keys().filter(|k| k.starts_with("own")).collect();
        assert_eq!(own.len(), max - 3, "{by:?}");
        for k in &own {
            assert_eq!(by[k.as_str()], per_name);
        }
        let other = per_name * (THREADS - own.len()) as u64;
        assert_eq!(by[OTHER], other);
        let sum: u64 = by.values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(sum, total);
        m.reset();
        assert_eq!(m.stats(Instant::now())["totalEvents"], 0);
        m.count("after", max);
        assert_eq!(m.stats(Instant::now())["eventsByType"]["after"], 1);
    }
}
