//! What the dashboard shows over time: a bounded log of recent events
//! (name, direction, namespace, socket id, payload size; never the payload)
//! and a bounded history of samples (connections, sockets by transport,
//! events per second).
//!
//! Bookkeeping only: callers pass the limits and the times; must not read
//! the settings, the clock or the server state. Each structure is one
//! mutex held for a push or a copy, never across an await: recording an
//! event takes the log's mutex once (set `dashboard.event_log = 0` to
//! record none).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

/// What an event log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An event a client sent.
    In,
    /// An event the server (its HTTP API) emitted.
    Out,
    /// A socket connected to a namespace.
    Connect,
    /// A socket left a namespace.
    Disconnect,
}

/// One entry of the dashboard's event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Increasing number of the entry: a reader asks for the entries after
    /// the last one it saw.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// What happened.
    pub kind: Kind,
    /// Event name; for connects and disconnects `connect`, or the
    /// disconnect reason.
    pub event: String,
    /// Namespace.
    pub namespace: String,
    /// The socket, for events of one socket.
    pub socket_id: Option<String>,
    /// Size of the payload's JSON text plus binary attachments, in bytes.
    pub bytes: usize,
    /// Sockets reached, for events the server emitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipients: Option<usize>,
}

/// What [`Recorder::record`] is told about one event (its number and time
/// are the recorder's).
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// What happened.
    pub kind: Kind,
    /// Event name (or reason).
    pub event: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// The socket, if one.
    pub socket_id: Option<&'a str>,
    /// Payload size in bytes.
    pub bytes: usize,
    /// Recipients of an emitted event.
    pub recipients: Option<usize>,
}

/// The counts one history sample is taken from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Engine.IO connections open.
    pub connections: usize,
    /// Socket.IO sockets connected (every namespace).
    pub sockets: usize,
    /// Sockets whose connection is on HTTP long-polling.
    pub polling: usize,
    /// Sockets whose connection is on WebSocket.
    pub websocket: usize,
    /// Named rooms (without the sockets' own).
    pub rooms: usize,
    /// Events received from clients since the start.
    pub events_in: u64,
    /// Events sent to clients since the start.
    pub events_out: u64,
}

/// One point of the history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Engine.IO connections open.
    pub connections: usize,
    /// Socket.IO sockets connected.
    pub sockets: usize,
    /// Sockets on long-polling.
    pub polling: usize,
    /// Sockets on WebSocket.
    pub websocket: usize,
    /// Named rooms.
    pub rooms: usize,
    /// Events received per second since the previous sample (0 for the
    /// first).
    pub in_per_second: f64,
    /// Events sent per second since the previous sample (0 for the first).
    pub out_per_second: f64,
    #[serde(skip)]
    events_in: u64,
    #[serde(skip)]
    events_out: u64,
}

/// The event log and the history. Shared by reference.
#[derive(Debug, Default)]
pub struct Recorder {
    log: Mutex<Log>,
    history: Mutex<VecDeque<Sample>>,
}

#[derive(Debug, Default)]
struct Log {
    entries: VecDeque<Entry>,
    next_seq: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Rate of `now - before` over `ms` milliseconds, two decimals.
fn per_second(now: u64, before: u64, ms: u64) -> f64 {
    if ms == 0 {
        return 0.0;
    }
    let r = now.saturating_sub(before) as f64 * 1000.0 / ms as f64;
    (r * 100.0).round() / 100.0
}

impl Recorder {
    /// Appends `r` at `now_ms`, keeping the last `max` entries (none when
    /// `max` is 0).
    pub fn record(&self, r: Record<'_>, now_ms: u64, max: usize) {
        if max == 0 {
            lock(&self.log).entries.clear();
            return;
        }
        // Built before the lock: only the push is under it.
        let mut entry = Entry {
            seq: 0,
            timestamp: now_ms,
            kind: r.kind,
            event: r.event.to_owned(),
            namespace: r.namespace.to_owned(),
            socket_id: r.socket_id.map(str::to_owned),
            bytes: r.bytes,
            recipients: r.recipients,
        };
        let mut log = lock(&self.log);
        while log.entries.len() >= max {
            log.entries.pop_front();
        }
        entry.seq = log.next_seq;
        log.next_seq += 1;
        log.entries.push_back(entry);
    }

    /// The newest `limit` entries numbered at least `after`, oldest first.
    pub fn entries(&self, after: u64, limit: usize) -> Vec<Entry> {
        let log = lock(&self.log);
        let newer = log.entries.iter().filter(|e| e.seq >= after).count();
        let skip = log.entries.len() - newer + newer.saturating_sub(limit);
        log.entries.iter().skip(skip).cloned().collect()
    }

    /// Entries in the log now, and the number the next one gets.
    pub fn log_len(&self) -> (usize, u64) {
        let log = lock(&self.log);
        (log.entries.len(), log.next_seq)
    }

    /// Takes a sample of `t` at `now_ms`, keeping the last `max` samples;
    /// rates are against the previous sample.
    pub fn sample(&self, t: Totals, now_ms: u64, max: usize) {
        let mut h = lock(&self.history);
        let (in_ps, out_ps) = match h.back() {
            Some(p) => {
                let ms = now_ms.saturating_sub(p.timestamp);
                (
                    per_second(t.events_in, p.events_in, ms),
                    per_second(t.events_out, p.events_out, ms),
                )
            }
            None => (0.0, 0.0),
        };
        if max == 0 {
            h.clear();
            return;
        }
        while h.len() >= max {
            h.pop_front();
        }
        h.push_back(Sample {
            timestamp: now_ms,
            connections: t.connections,
            sockets: t.sockets,
            polling: t.polling,
            websocket: t.websocket,
            rooms: t.rooms,
            in_per_second: in_ps,
            out_per_second: out_ps,
            events_in: t.events_in,
            events_out: t.events_out,
        });
    }

    /// The history, oldest first.
    pub fn history(&self) -> Vec<Sample> {
        lock(&self.history).iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(event: &'a str) -> Record<'a> {
        Record {
            kind: Kind::In,
            event,
            namespace: "/",
            socket_id: Some("s"),
            bytes: 3,
            recipients: None,
        }
    }

    #[test]
    fn log_is_bounded_and_numbered() {
        let r = Recorder::default();
        for i in 0..10 {
            r.record(rec(&format!("e{i}")), 1000 + i, 4);
        }
        assert_eq!(r.log_len(), (4, 10));
        let all = r.entries(0, 100);
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].event, "e6");
        assert_eq!(all[3].seq, 9);
        let after = r.entries(8, 100);
        assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), [8, 9]);
        let newest = r.entries(0, 1);
        assert_eq!(newest[0].event, "e9");
        assert!(r.entries(10, 5).is_empty());
        r.record(rec("x"), 2000, 0);
        assert_eq!(r.log_len(), (0, 10));
    }

    #[test]
    fn entry_json_has_no_payload() {
        let r = Recorder::default();
        r.record(rec("chat"), 5, 10);
        let v = serde_json::to_value(&r.entries(0, 1)[0]).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"seq":0,"timestamp":5,"kind":"in","event":"chat","namespace":"/","socketId":"s","bytes":3})
        );
    }

    #[test]
    fn history_rates_and_bound() {
        let r = Recorder::default();
        let t = |i: u64, o: u64| Totals {
            events_in: i,
            events_out: o,
            sockets: 2,
            ..Totals::default()
        };
        r.sample(t(0, 0), 10_000, 3);
        r.sample(t(10, 4), 12_000, 3);
        r.sample(t(10, 4), 14_000, 3);
        r.sample(t(13, 4), 16_000, 3);
        let h = r.history();
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].in_per_second, 5.0);
        assert_eq!(h[0].out_per_second, 2.0);
        assert_eq!(h[1].in_per_second, 0.0);
        assert_eq!(h[2].in_per_second, 1.5);
        assert_eq!(h[2].timestamp, 16_000);
        let v = serde_json::to_value(h[2]).unwrap();
        assert!(v.get("eventsIn").is_none(), "{v}");
        assert_eq!(v["sockets"], 2);
        // Same instant twice: no division by zero.
        r.sample(t(20, 4), 16_000, 3);
        assert_eq!(r.history()[2].in_per_second, 0.0);
    }
}
