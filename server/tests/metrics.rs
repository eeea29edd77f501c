//! `/metrics` parsed as Prometheus text and checked against activity.

mod common;

use std::collections::HashMap;

use common::{token, Server};
use serde_json::json;

/// Parses the exposition: series (name with labels) to value; checks that
/// every series has HELP and TYPE lines first.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut typed = std::collections::HashSet::new();
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut p = rest.split(' ');
            let name = p.next().unwrap();
            assert!(matches!(p.next(), Some("counter" | "gauge")), "{line}");
            typed.insert(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line}"));
        let name = series.split('{').next().unwrap();
        assert!(typed.contains(name), "no TYPE before {line}");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        out.insert(
            series.to_owned(),
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value {line}")),
        );
    }
    out
}

#[tokio::test]
async fn metrics_follow_activity_without_per_socket_labels() {
    let s = Server::start("").await;
    let mut a = s
        .client(
            "/",
            json!({ "auth": { "token": token("u", None) }, "transports": ["websocket"] }),
        )
        .await;
    a.connected().await;
    let mut b = s.client("/", json!({})).await;
    b.connected().await;
    a.emit("hello", json!(["0123456789"])).await;
    s.api("POST", "/api/broadcast", Some(json!({ "event": "n" })))
        .await;
    let _ = s.http("GET", "/api/status", &[], b"").await; // 401
    a.event("n").await;
    // The counters of what was received are updated as it is handled:
    // wait for them, then check every value exactly.
    common::poll(5, "the counters", || async {
        let m = parse(&s.http("GET", "/metrics", &[], b"").await.text());
        let status = "socket_server_http_requests_total{route=\"/api/status\",status=\"401\"}";
        (m.get("socket_server_events_received_total") == Some(&1.0) && m.get(status) == Some(&1.0))
            .then_some(())
    })
    .await;
    let r = s.http("GET", "/metrics", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.text();
    let m = parse(&text);
    assert_eq!(m["socket_server_active_connections"], 2.0, "{text}");
    assert_eq!(
        m["socket_server_connections_total{authenticated=\"true\",transport=\"websocket\"}"], 1.0,
        "{text}"
    );
    assert_eq!(
        m["socket_server_connections_total{authenticated=\"false\",transport=\"polling\"}"], 1.0,
        "{text}"
    );
    assert_eq!(m["socket_server_events_received_total"], 1.0, "{text}");
    // The broadcast (2 recipients) and each socket's `system:welcome` and
    // `connected`; u's `user:online` went out before b was there (0).
    assert_eq!(m["socket_server_events_sent_total"], 6.0, "{text}");
    assert!(m["socket_server_bytes_received_total"] >= 10.0, "{text}");
    assert!(m["socket_server_bytes_sent_total"] > 0.0, "{text}");
    assert_eq!(
        m["socket_server_active_sockets{namespace=\"/\"}"], 2.0,
        "{text}"
    );
    assert_eq!(
        m["socket_server_http_requests_total{route=\"/api/broadcast\",status=\"200\"}"], 1.0,
        "{text}"
    );
    assert_eq!(
        m["socket_server_http_requests_total{route=\"/api/status\",status=\"401\"}"], 1.0,
        "{text}"
    );
    assert!(m.contains_key("socket_server_uptime_seconds"));
    // No socket ids or user ids in labels.
    assert!(
        !text.contains("user_u") && !text.contains("\"u\""),
        "{text}"
    );
    a.disconnect().await;
    a.disconnected(5).await;
    let m = common::poll(5, "the disconnect counted", || async {
        let m = parse(&s.http("GET", "/metrics", &[], b"").await.text());
        (m["socket_server_active_connections"] == 1.0).then_some(m)
    })
    .await;
    assert_eq!(m["socket_server_active_connections"], 1.0);
    assert_eq!(
        m["socket_server_disconnections_total{reason=\"client namespace disconnect\"}"],
        1.0
    );
}
