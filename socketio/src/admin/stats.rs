//! The aggregated counts `server_stats` carries (the reference's
//! `EventBuffer`): Engine.IO connections opened and closed (by reason),
//! packets and bytes in and out, since the previous report.
//!
//! Counted with atomics on the hot paths (every packet sent or received
//! adds to them); only closes, which are rare, take a lock. The counts of
//! one period are reported under the second the report is made in.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::serialize::millis;

/// Most distinct close reasons kept per period (reasons are a short
/// fixed list; this only bounds a misbehaving driver).
const MAX_REASONS: usize = 32;

/// Counts since the last report.
#[derive(Default)]
pub(crate) struct Counters {
    connections: AtomicU64,
    packets_in: AtomicU64,
    bytes_in: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
    closes: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    pub(crate) fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self, reason: &str) {
        let mut closes = self.closes.lock().unwrap_or_else(|e| e.into_inner());
        if closes.len() < MAX_REASONS || closes.contains_key(reason) {
            *closes.entry(reason.to_owned()).or_default() += 1;
        }
    }

    pub(crate) fn message_in(&self, len: usize) {
        self.packets_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(len as u64, Ordering::Relaxed);
    }

    pub(crate) fn message_out(&self, len: usize) {
        self.packets_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(len as u64, Ordering::Relaxed);
    }

    /// The counts since the last call, as the UI's `aggregatedEvents`
    /// (`{timestamp, type, subType?, count}`, zero counts left out), and
    /// starts a new period.
    pub(crate) fn take(&self, now: SystemTime) -> Vec<Value> {
        let timestamp = millis(now) / 1000 * 1000;
        let mut out = Vec::new();
        let mut push = |ty: &str, sub: Option<&str>, count: u64| {
            if count > 0 {
                let mut v = json!({"timestamp": timestamp, "type": ty, "count": count});
                if let Some(sub) = sub {
                    v["subType"] = Value::from(sub);
                }
                out.push(v);
            }
        };
        let take = |a: &AtomicU64| a.swap(0, Ordering::Relaxed);
        push("rawConnection", None, take(&self.connections));
        let closes = std::mem::take(&mut *self.closes.lock().unwrap_or_else(|e| e.into_inner()));
        for (reason, count) in &closes {
            push("rawDisconnection", Some(reason), *count);
        }
        push("packetsIn", None, take(&self.packets_in));
        push("bytesIn", None, take(&self.bytes_in));
        push("packetsOut", None, take(&self.packets_out));
        push("bytesOut", None, take(&self.bytes_out));
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn counts_one_period_at_a_time() {
        let c = Counters::default();
        c.connection_opened();
        c.connection_opened();
        c.message_in(10);
        c.message_out(3);
        c.message_out(4);
        c.connection_closed("transport close");
        let at = UNIX_EPOCH + Duration::from_millis(5_678);
        let v = c.take(at);
        let find = |ty: &str| {
            v.iter()
                .find(|e| e["type"] == ty)
                .map(|e| e["count"].clone())
        };
        assert_eq!(find("rawConnection"), Some(json!(2)));
        assert_eq!(find("packetsIn"), Some(json!(1)));
        assert_eq!(find("bytesIn"), Some(json!(10)));
        assert_eq!(find("packetsOut"), Some(json!(2)));
        assert_eq!(find("bytesOut"), Some(json!(7)));
        let close = v.iter().find(|e| e["type"] == "rawDisconnection").unwrap();
        assert_eq!(close["subType"], "transport close");
        assert!(v.iter().all(|e| e["timestamp"] == 5_000));
        assert!(c.take(at).is_empty(), "a new period starts empty");
    }

    #[test]
    fn close_reasons_are_bounded() {
        let c = Counters::default();
        for i in 0..100 {
            c.connection_closed(&format!("r{i}"));
        }
        assert_eq!(c.take(UNIX_EPOCH).len(), MAX_REASONS);
    }
}
