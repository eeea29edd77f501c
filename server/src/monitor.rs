//! Event statistics and the bounded event log behind
//! `GET /api/monitoring/events` and `GET /api/monitoring/log`, plus ISO 8601
//! timestamps. Payloads are never recorded.
//!
//! Bookkeeping only (it reads the clock for entry timestamps): callers pass
//! the limits; must not read the settings or the server state.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Name under which event names beyond `max_event_types` are counted.
pub const OTHER: &str = "(other)";

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

/// Event counters and the event log.
#[derive(Debug)]
pub struct Monitor {
    total: u64,
    by_type: HashMap<String, u64>,
    last_reset: SystemTime,
    reset_instant: Instant,
    log: VecDeque<LogEntry>,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor {
            total: 0,
            by_type: HashMap::new(),
            last_reset: SystemTime::now(),
            reset_instant: Instant::now(),
            log: VecDeque::new(),
        }
    }
}

impl Monitor {
    /// Counts one event of `name`; at most `max_types` distinct names.
    pub fn count(&mut self, name: &str, max_types: usize) {
        self.total += 1;
        if let Some(n) = self.by_type.get_mut(name) {
            *n += 1;
        } else if self.by_type.len() < max_types {
            self.by_type.insert(name.to_owned(), 1);
        } else {
            *self.by_type.entry(OTHER.to_owned()).or_default() += 1;
        }
    }

    /// Appends to the log, keeping the last `max` entries.
    pub fn log(&mut self, kind: &str, data: serde_json::Value, max: usize) {
        if max == 0 {
            self.log.clear();
            return;
        }
        while self.log.len() >= max {
            self.log.pop_front();
        }
        self.log.push_back(LogEntry {
            timestamp: unix_ms(SystemTime::now()),
            kind: kind.to_owned(),
            data,
        });
    }

    /// The event statistics, as the settings documents shape them.
    pub fn stats(&self, now: Instant) -> serde_json::Value {
        let secs = now
            .saturating_duration_since(self.reset_instant)
            .max(Duration::from_secs(1));
        let mut by: Vec<(&String, &u64)> = self.by_type.iter().collect();
        by.sort();
        let by: serde_json::Map<String, serde_json::Value> = by
            .into_iter()
            .map(|(k, v)| (k.clone(), (*v).into()))
            .collect();
        serde_json::json!({
            "totalEvents": self.total,
            "eventsByType": by,
            "lastReset": unix_ms(self.last_reset),
            "eventsPerSecond": (self.total as f64 / secs.as_secs_f64() * 100.0).round() / 100.0,
        })
    }

    /// The newest `limit` log entries, oldest first.
    pub fn recent(&self, limit: usize) -> Vec<LogEntry> {
        let skip = self.log.len().saturating_sub(limit);
        self.log.iter().skip(skip).cloned().collect()
    }

    /// Clears counters and the log.
    pub fn reset(&mut self) {
        *self = Monitor::default();
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `2026-11-22T10:04:05.123Z`.
pub fn iso8601(t: SystemTime) -> String {
    let ms = unix_ms(t);
    let secs = ms / 1000;
    let (h, mi, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        ms % 1000
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
        let mut m = Monitor::default();
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
}
