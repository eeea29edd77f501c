//! Counters and gauges, rendered in the Prometheus text format for
//! `GET /metrics`. Labels come from small fixed sets (transport, reason
//! codes, routes, namespaces from the config); never socket or user ids.
//!
//! Pure counters: must not read the settings or the server state.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// A counter family with labels: label values to count.
#[derive(Debug, Default)]
pub struct Family(Mutex<BTreeMap<Vec<String>, u64>>);

impl Family {
    /// Adds `n` to the series with these label values.
    pub fn add(&self, labels: &[&str], n: u64) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = m.get_mut(
            labels
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .as_slice(),
        ) {
            *v += n;
            return;
        }
        m.insert(labels.iter().map(|s| s.to_string()).collect(), n);
    }

    /// Adds one.
    pub fn inc(&self, labels: &[&str]) {
        self.add(labels, 1);
    }

    /// The value of one series (0 when absent).
    pub fn get(&self, labels: &[&str]) -> u64 {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .find(|(k, _)| k.iter().map(String::as_str).eq(labels.iter().copied()))
            .map_or(0, |(_, v)| *v)
    }

    /// The sum over all series.
    pub fn total(&self) -> u64 {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.values().sum()
    }

    /// Every series: its label values and its count, in label order.
    pub fn snapshot(&self) -> Vec<(Vec<String>, u64)> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// Every metric the server exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Engine.IO connections open now.
    pub active_connections: AtomicI64,
    /// Socket.IO sockets connected now, by namespace.
    pub active_sockets: Mutex<BTreeMap<String, i64>>,
    /// Socket connections accepted, by `authenticated` and `transport`.
    pub connections_total: Family,
    /// Socket disconnections, by reason.
    pub disconnections_total: Family,
    /// Events received from clients.
    pub events_received_total: AtomicU64,
    /// Events the server emitted to clients (API emits, the built-in
    /// events' answers and `error` replies), one per recipient socket.
    pub events_sent_total: AtomicU64,
    /// Engine.IO message bytes received (text and binary payloads).
    pub bytes_received_total: AtomicU64,
    /// Engine.IO message bytes queued for clients.
    pub bytes_sent_total: AtomicU64,
    /// Rejections by a rate limit, by `limit` (`connection`, `event`, `api`).
    pub rate_limited_total: Family,
    /// Refused handshakes and tokens, by `reason` code.
    pub auth_failures_total: Family,
    /// Handshakes refused by the IP allow/deny lists.
    pub ip_refused_total: AtomicU64,
    /// HTTP API requests, by `route` and `status`.
    pub http_requests_total: Family,
    /// Sends refused because the connection's send buffer
    /// (`connection.send_buffer` packets) was full, by the `policy`
    /// (`connection.slow_client`) that then applied.
    pub send_buffer_full_total: Family,
    /// Connections closed because their send buffer was full, by `policy`:
    /// under `close` the engine closes at the first full send; under
    /// `error` a broadcast that meets a full buffer closes that connection.
    pub slow_client_closed_total: Family,
    /// The application integration's counters (proxy and relay).
    pub gateway: GatewayMetrics,
}

/// Counters of the event proxy, the connection proxy and the relay.
#[derive(Debug, Default)]
pub struct GatewayMetrics {
    /// Backend calls, by `kind` (`event`, `connect`) and `result`: `ok`,
    /// `error` (the backend's own refusal), `timeout`, `unreachable`,
    /// `status` (a non-2xx answer), `invalid` (an answer not of the
    /// protocol), `busy` (refused before the call: the socket's queue was
    /// full).
    pub proxy_requests_total: Family,
    /// Backend requests in flight now.
    pub proxy_in_flight: AtomicI64,
    /// Summed duration of the finished backend requests, in microseconds.
    pub proxy_request_micros: AtomicU64,
    /// Number of finished backend requests.
    pub proxy_request_count: AtomicU64,
    /// Relayed events by `result` (`sent`, `refused`).
    pub relayed_total: Family,
}

impl GatewayMetrics {
    /// Appends the `socket_server_proxy_*` and relay series to `s`.
    fn render(&self, s: &mut String) {
        let r = Ordering::Relaxed;
        family(
            s,
            "socket_server_proxy_requests_total",
            "Backend calls of the event and connection proxies by kind and result",
            &["kind", "result"],
            &self.proxy_requests_total,
        );
        gauge(
            s,
            "socket_server_proxy_in_flight",
            "Backend requests of the proxies in flight",
            self.proxy_in_flight.load(r).max(0),
        );
        let secs = self.proxy_request_micros.load(r) as f64 / 1e6;
        header(
            s,
            "socket_server_proxy_request_seconds_total",
            "Summed duration of the requests sent to a backend",
            "counter",
        );
        let _ = writeln!(s, "socket_server_proxy_request_seconds_total {secs}\n");
        counter(
            s,
            "socket_server_proxy_backend_requests_total",
            "Requests sent to a backend (finished)",
            self.proxy_request_count.load(r),
        );
        family(
            s,
            "socket_server_relayed_total",
            "Events relayed to the sender's rooms, by result",
            &["result"],
            &self.relayed_total,
        );
    }
}

impl Metrics {
    /// Adjusts the active socket gauge of `namespace` by `delta`.
    pub fn sockets_delta(&self, namespace: &str, delta: i64) {
        let mut m = self
            .active_sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *m.entry(namespace.to_owned()).or_default() += delta;
    }

    /// The Prometheus text exposition; `uptime` in seconds, `rooms` the
    /// room count now.
    pub fn render(&self, uptime: u64, rooms: usize) -> String {
        let mut s = String::with_capacity(4096);
        let r = Ordering::Relaxed;
        gauge(
            &mut s,
            "socket_server_active_connections",
            "Number of active socket connections",
            self.active_connections.load(r).max(0),
        );
        header(
            &mut s,
            "socket_server_active_sockets",
            "Connected Socket.IO sockets by namespace",
            "gauge",
        );
        for (ns, v) in self
            .active_sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                s,
                "socket_server_active_sockets{{namespace=\"{}\"}} {}",
                escape(ns),
                v.max(&0)
            );
        }
        s.push('\n');
        family(
            &mut s,
            "socket_server_connections_total",
            "Total number of connections",
            &["authenticated", "transport"],
            &self.connections_total,
        );
        family(
            &mut s,
            "socket_server_disconnections_total",
            "Socket disconnections by reason",
            &["reason"],
            &self.disconnections_total,
        );
        counter(
            &mut s,
            "socket_server_events_received_total",
            "Events received from clients",
            self.events_received_total.load(r),
        );
        counter(
            &mut s,
            "socket_server_events_sent_total",
            "Events emitted to clients",
            self.events_sent_total.load(r),
        );
        counter(
            &mut s,
            "socket_server_bytes_received_total",
            "Message bytes received",
            self.bytes_received_total.load(r),
        );
        counter(
            &mut s,
            "socket_server_bytes_sent_total",
            "Message bytes sent",
            self.bytes_sent_total.load(r),
        );
        family(
            &mut s,
            "socket_server_rate_limited_total",
            "Requests and events refused by a rate limit",
            &["limit"],
            &self.rate_limited_total,
        );
        family(
            &mut s,
            "socket_server_auth_failures_total",
            "Authentication failures by reason",
            &["reason"],
            &self.auth_failures_total,
        );
        counter(
            &mut s,
            "socket_server_ip_refused_total",
            "Handshakes refused by the IP lists",
            self.ip_refused_total.load(r),
        );
        family(
            &mut s,
            "socket_server_http_requests_total",
            "HTTP API requests by route and status",
            &["route", "status"],
            &self.http_requests_total,
        );
        family(
            &mut s,
            "socket_server_send_buffer_full_total",
            "Sends refused by a full send buffer, by slow-client policy",
            &["policy"],
            &self.send_buffer_full_total,
        );
        family(
            &mut s,
            "socket_server_slow_client_closed_total",
            "Connections closed for a full send buffer, by slow-client policy",
            &["policy"],
            &self.slow_client_closed_total,
        );
        self.gateway.render(&mut s);
        gauge(
            &mut s,
            "socket_server_rooms",
            "Rooms in use (socket id rooms excluded)",
            rooms as i64,
        );
        gauge(
            &mut s,
            "socket_server_uptime_seconds",
            "Seconds since start",
            uptime as i64,
        );
        s
    }
}

/// The cluster adapters' counters (from `socketio_cluster::Stats`), for
/// the `socketio_<engine>_*` series (`socketio_redis_*`,
/// `socketio_postgres_*`) `/metrics` adds when clustering is on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ClusterCounters {
    /// The engine (`redis`, `postgres`; empty reads as `redis`): the
    /// series' prefix.
    pub engine: &'static str,
    /// The engine's connections are up.
    pub connected: bool,
    /// Messages published.
    pub published: u64,
    /// Messages received on the adapters' channels.
    pub received: u64,
    /// Received messages that were not messages of the protocol.
    pub malformed: u64,
    /// Publishes or counts the engine refused or could not take.
    pub errors: u64,
    /// Received messages dropped because routing fell behind.
    pub dropped: u64,
    /// Requests to the other servers that timed out.
    pub timeouts: u64,
    /// Reconnections to the engine.
    pub reconnects: u64,
    /// Requests to the other servers that got every answer.
    pub requests: u64,
    /// Their summed duration, in microseconds.
    pub request_micros: u64,
}

impl ClusterCounters {
    /// Appends the `socketio_<engine>_*` series to `s`.
    pub fn render(&self, s: &mut String) {
        let engine = if self.engine.is_empty() {
            "redis"
        } else {
            self.engine
        };
        let what = match engine {
            "postgres" => "PostgreSQL",
            _ => "Redis",
        };
        let name = |n: &str| format!("socketio_{engine}_{n}");
        gauge(
            s,
            &name("connected"),
            &format!("Whether the connections to {what} are up (1) or retrying (0)"),
            i64::from(self.connected),
        );
        let counters = [
            (
                name("messages_published_total"),
                format!("Messages published to {what}"),
                self.published,
            ),
            (
                name("messages_received_total"),
                format!("Messages received from {what}"),
                self.received,
            ),
            (
                name("messages_malformed_total"),
                String::from("Received messages that were not of the protocol"),
                self.malformed,
            ),
            (
                name("errors_total"),
                format!("Publishes and counts {what} refused or could not take"),
                self.errors,
            ),
            (
                name("messages_dropped_total"),
                String::from("Received messages dropped because routing fell behind"),
                self.dropped,
            ),
            (
                name("request_timeouts_total"),
                String::from("Requests to the other servers that timed out"),
                self.timeouts,
            ),
            (
                name("reconnects_total"),
                format!("Reconnections to {what}"),
                self.reconnects,
            ),
            (
                name("requests_total"),
                String::from("Requests to the other servers that got every answer"),
                self.requests,
            ),
        ];
        for (name, help, v) in counters {
            counter(s, &name, &help, v);
        }
        let name = name("request_duration_seconds");
        header(
            s,
            &name,
            "Duration of the requests that got every answer",
            "summary",
        );
        let secs = self.request_micros as f64 / 1e6;
        let _ = writeln!(s, "{name}_sum {secs}\n{name}_count {}\n", self.requests);
    }
}

fn header(s: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(s, "# HELP {name} {help}");
    let _ = writeln!(s, "# TYPE {name} {kind}");
}

fn gauge(s: &mut String, name: &str, help: &str, v: i64) {
    header(s, name, help, "gauge");
    let _ = writeln!(s, "{name} {v}\n");
}

fn counter(s: &mut String, name: &str, help: &str, v: u64) {
    header(s, name, help, "counter");
    let _ = writeln!(s, "{name} {v}\n");
}

fn family(s: &mut String, name: &str, help: &str, labels: &[&str], f: &Family) {
    header(s, name, help, "counter");
    for (values, v) in f.snapshot() {
        let pairs: Vec<String> = labels
            .iter()
            .zip(&values)
            .map(|(l, v)| format!("{l}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(s, "{name}{{{}}} {v}", pairs.join(","));
    }
    s.push('\n');
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_and_escapes_labels() {
        let m = Metrics::default();
        m.active_connections.store(3, Ordering::Relaxed);
        m.connections_total.inc(&["true", "websocket"]);
        m.connections_total.inc(&["true", "websocket"]);
        m.connections_total.inc(&["false", "polling"]);
        m.auth_failures_total.inc(&["a\"b"]);
        m.sockets_delta("/", 2);
        m.send_buffer_full_total.add(&["close"], 4);
        m.slow_client_closed_total.inc(&["close"]);
        m.gateway.proxy_requests_total.inc(&["event", "timeout"]);
        m.gateway
            .proxy_request_micros
            .store(250_000, Ordering::Relaxed);
        m.gateway.proxy_request_count.store(1, Ordering::Relaxed);
        let t = m.render(5, 1);
        assert!(
            t.contains("socket_server_proxy_requests_total{kind=\"event\",result=\"timeout\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("socket_server_proxy_request_seconds_total 0.25\n"),
            "{t}"
        );
        assert!(
            t.contains("socket_server_proxy_backend_requests_total 1\n"),
            "{t}"
        );
        assert!(t.contains("# TYPE socket_server_send_buffer_full_total counter\nsocket_server_send_buffer_full_total{policy=\"close\"} 4\n"), "{t}");
        assert!(
            t.contains("socket_server_slow_client_closed_total{policy=\"close\"} 1\n"),
            "{t}"
        );
        assert!(t.contains("# TYPE socket_server_active_connections gauge\nsocket_server_active_connections 3\n"), "{t}");
        assert!(t.contains("socket_server_connections_total{authenticated=\"true\",transport=\"websocket\"} 2\n"), "{t}");
        assert!(t.contains("socket_server_connections_total{authenticated=\"false\",transport=\"polling\"} 1\n"), "{t}");
        assert!(t.contains("reason=\"a\\\"b\""), "{t}");
        assert!(
            t.contains("socket_server_active_sockets{namespace=\"/\"} 2"),
            "{t}"
        );
        assert_eq!(m.connections_total.get(&["true", "websocket"]), 2);
        assert_eq!(m.connections_total.total(), 3);
    }

    #[test]
    fn renders_the_cluster_counters() {
        let c = ClusterCounters {
            connected: true,
            published: 4,
            requests: 2,
            request_micros: 1_500_000,
            ..ClusterCounters::default()
        };
        let mut t = String::new();
        c.render(&mut t);
        assert!(
            t.contains("# TYPE socketio_redis_connected gauge\nsocketio_redis_connected 1\n"),
            "{t}"
        );
        assert!(
            t.contains("socketio_redis_messages_published_total 4\n"),
            "{t}"
        );
        assert!(t.contains("socketio_redis_reconnects_total 0\n"), "{t}");
        assert!(
            t.contains("# TYPE socketio_redis_request_duration_seconds summary\n"),
            "{t}"
        );
        assert!(t.contains("socketio_redis_request_duration_seconds_sum 1.5\nsocketio_redis_request_duration_seconds_count 2\n"), "{t}");
        // PostgreSQL's: the same series under its own prefix.
        let mut t = String::new();
        ClusterCounters {
            engine: "postgres",
            ..c
        }
        .render(&mut t);
        assert!(
            t.contains("# HELP socketio_postgres_connected Whether the connections to PostgreSQL are up (1) or retrying (0)\n# TYPE socketio_postgres_connected gauge\nsocketio_postgres_connected 1\n"),
            "{t}"
        );
        assert!(t.contains("socketio_postgres_requests_total 2\n"), "{t}");
        assert!(!t.contains("socketio_redis_"), "{t}");
    }
}
