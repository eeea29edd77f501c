//! Rate limits, IP lists behind trusted proxies, max connections and max
//! payload, end to end: over-limit behaviour and recovery after the window.
//! The rate-limit tests run the server in process with its limiters on a
//! manual clock (`InProc`): windows pass when the test advances the clock.
//! "No more refusals" is checked by a barrier (an acknowledged ping after
//! them), not by waiting for a quiet moment.

mod common;

use std::time::Duration;

use common::{InProc, Server};
use serde_json::json;

#[tokio::test]
async fn event_burst_limit_sends_the_error_event_and_recovers() {
    let s =
        InProc::start("[rate_limits]\nevents_per_second = 3\n[monitoring]\nevent_logging = true\n")
            .await;
    let mut c = s.client("/", json!({})).await;
    c.connected().await;
    for i in 0..5 {
        c.emit("tick", json!([i])).await;
    }
    let e = c.event("error").await;
    assert_eq!(e[0]["code"], "RATE_LIMITED", "{e:?}");
    assert_eq!(e[0]["event"], "tick");
    assert_eq!(e[0]["message"], "Rate limit exceeded");
    // The namespace CONNECT spent one of the three, so three of the five
    // events were refused: three error events; the dropped events were not
    // processed (counted as received, never handled).
    for _ in 0..2 {
        assert_eq!(c.event("error").await[0]["code"], "RATE_LIMITED");
    }
    // A second later the burst budget is back: the barrier's ping passes,
    // and no fourth refusal came before its answer.
    s.clock.advance(Duration::from_secs(1));
    c.none_before_ping("error").await;
    s.clock.advance(Duration::from_secs(1));
    c.emit("tick", json!([9])).await;
    c.none_before_ping("error").await;
    let m = s.http("GET", "/metrics", &[], b"").await.text();
    assert!(
        m.contains("socket_server_rate_limited_total{limit=\"event\"} 3"),
        "{m}"
    );
}

#[tokio::test]
async fn event_limit_per_window() {
    let s = InProc::start("[rate_limits]\nevents_per_minute = 4\nwindow_secs = 2\n").await;
    let mut c = s.client("/", json!({ "transports": ["websocket"] })).await;
    c.connected().await;
    for i in 0..5 {
        c.emit("tick", json!([i])).await;
    }
    // CONNECT and three events fit the budget of four: two refusals.
    for _ in 0..2 {
        assert_eq!(c.event("error").await[0]["code"], "RATE_LIMITED");
    }
    // Still inside the window: the next event is refused too.
    s.clock.advance(Duration::from_millis(1900));
    c.emit("tick", json!([5])).await;
    assert_eq!(c.event("error").await[0]["code"], "RATE_LIMITED");
    // A sliding window: after two full windows everything is allowed
    // again, the four events of a budget of four (the ping is the fourth),
    // and no refusal of the first burst came late.
    s.clock.advance(Duration::from_millis(2200));
    for i in 0..3 {
        c.emit("tick", json!([i])).await;
    }
    c.none_before_ping("error").await;
}

#[tokio::test]
async fn namespace_churn_counts_against_the_connection() {
    let s = Server::start(
        "[rate_limits]\nevents_per_minute = 6\nevents_per_second = 0\n[namespaces.\"/open\"]\n",
    )
    .await;
    let mut c = s.client("/", json!({})).await;
    c.connected().await;
    // Connecting and leaving /open over and over on the same connection
    // spends the connection's budget: the limit is per connection, not per
    // namespace socket.
    c.send_raw(json!({ "op": "churn", "nsp": "/open", "times": 10 }))
        .await;
    let r = c.expect(20, "churn", |v| v["type"] == "churn").await;
    assert!(r["refused"].as_u64().unwrap() >= 4, "{r}");
    assert_eq!(r["last"], "RATE_LIMITED", "{r}");
    // Events on / are refused too now.
    c.emit("x", json!([1])).await;
    assert_eq!(c.event("error").await[0]["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn long_event_names_are_not_recorded() {
    let s =
        Server::start("[monitoring]\nevent_logging = true\n[rate_limits]\nevents_per_second = 1\n")
            .await;
    let mut c = s.client("/", json!({})).await;
    c.connected().await;
    let long = "n".repeat(5000);
    c.emit(&long, json!([1])).await;
    c.emit(&long, json!([2])).await;
    let e = c.event("error").await;
    assert_eq!(e[0]["event"], "(other)", "{e:?}");
    let ev = s
        .http(
            "GET",
            "/api/monitoring/events",
            &[("x-api-key", common::ADMIN_KEY)],
            b"",
        )
        .await
        .text();
    assert!(!ev.contains(&long[..200]) && ev.contains("(other)"), "{ev}");
}

#[tokio::test]
async fn connection_rate_per_ip_gets_429_then_recovers() {
    let s = InProc::start("[rate_limits]\nconnections_per_minute = 2\nwindow_secs = 2\n").await;
    let hs = "/socket.io/?EIO=4&transport=polling";
    assert_eq!(s.http("GET", hs, &[], b"").await.status, 200);
    assert_eq!(s.http("GET", hs, &[], b"").await.status, 200);
    let r = s.http("GET", hs, &[], b"").await;
    assert_eq!(r.status, 429, "{}", r.text());
    let b = r.json();
    assert_eq!(b["success"], false);
    assert_eq!(b["error"], "Rate limit exceeded");
    assert_eq!(b["code"], "RATE_LIMITED");
    let retry = b["retryAfter"].as_u64().unwrap();
    assert!((1..=2).contains(&retry), "{b}");
    assert_eq!(r.header("retry-after"), Some(retry.to_string().as_str()));
    // A real client sees a connect_error.
    let mut c = s.client("/", json!({})).await;
    c.refused().await;
    s.clock.advance(Duration::from_millis(1900));
    assert_eq!(
        s.http("GET", hs, &[], b"").await.status,
        429,
        "within the window"
    );
    s.clock.advance(Duration::from_millis(2200));
    assert_eq!(s.http("GET", hs, &[], b"").await.status, 200);
}

#[tokio::test]
async fn ip_lists_and_trusted_proxies() {
    let s = Server::start(
        "[security]\nip_deny = [\"10.0.0.0/8\"]\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
    )
    .await;
    let hs = "/socket.io/?EIO=4&transport=polling";
    assert_eq!(s.http("GET", hs, &[], b"").await.status, 200);
    let r = s
        .http("GET", hs, &[("x-forwarded-for", "10.1.2.3")], b"")
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["code"], 4);
    assert_eq!(
        s.http("GET", hs, &[("x-forwarded-for", "192.0.2.1")], b"")
            .await
            .status,
        200
    );
    // A proxy that adds its own header line: the client's forged line comes
    // first and is not believed.
    let r = s
        .http(
            "GET",
            hs,
            &[
                ("x-forwarded-for", "192.0.2.1"),
                ("x-forwarded-for", "10.1.2.3"),
            ],
            b"",
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // A chain: the rightmost untrusted hop is the client.
    let r = s
        .http(
            "GET",
            hs,
            &[("x-forwarded-for", "192.0.2.1, 10.1.2.3, 127.0.0.1")],
            b"",
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // The proxy's client address is the one rate limits and the status see.
    // (`/metrics` left outside the lists, to read the count from here.)
    let s2 = Server::start(
        "[security]\nip_allow = [\"192.0.2.0/24\"]\n[security.ip_lists_apply_to]\nmetrics = false\n",
    )
    .await;
    // 127.0.0.1 is not in the allow list and no proxy is trusted: the header is ignored.
    assert_eq!(
        s2.http("GET", hs, &[("x-forwarded-for", "192.0.2.1")], b"")
            .await
            .status,
        403
    );
    let m = s2.http("GET", "/metrics", &[], b"").await.text();
    assert!(m.contains("socket_server_ip_refused_total 1"), "{m}");
}

#[tokio::test]
async fn max_connections_refuses_then_frees() {
    let s = Server::start_with(
        &common::base_config(),
        &["--set", "connection.max_connections=2"],
        &[],
    )
    .await;
    let mut a = s.client("/", json!({})).await;
    a.connected().await;
    let mut b = s.client("/", json!({})).await;
    b.connected().await;
    let r = s
        .http("GET", "/socket.io/?EIO=4&transport=polling", &[], b"")
        .await;
    assert_eq!(r.status, 503);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("2 connections"),
        "{}",
        r.text()
    );
    let mut c = s.client("/", json!({})).await;
    c.refused().await;
    a.disconnect().await;
    a.disconnected(5).await;
    // The server counts the connection gone once its engine session closed.
    common::poll(5, "the freed connection", || async {
        let m = s.http("GET", "/metrics", &[], b"").await.text();
        m.contains("socket_server_active_connections 1\n")
            .then_some(())
    })
    .await;
    let mut d = s.client("/", json!({})).await;
    d.connected().await;
}

/// A server with `max_payload` 1000 and a polling session opened on it.
async fn small_payload_session() -> (Server, String) {
    let s = Server::start_with(
        &common::base_config(),
        &["--set", "connection.max_payload=1000"],
        &[],
    )
    .await;
    let r = s
        .http("GET", "/socket.io/?EIO=4&transport=polling", &[], b"")
        .await;
    let sid = r.text()[1..].split('"').nth(3).unwrap().to_owned();
    (s, sid)
}

/// Issue #23, item 1, through the gateway's own accept loop: a client that
/// uploads an oversized body slowly, then reads, gets the 413 instead of a
/// broken pipe (the connection closes lingering).
#[tokio::test]
async fn a_slow_oversized_upload_reads_its_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (s, sid) = small_payload_session().await;
    let addr = s.url().trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let chunk = [b'x'; 8 * 1024];
    let head = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        25 * chunk.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    for i in 0..25 {
        if let Err(e) = tcp.write_all(&chunk).await {
            panic!("write {i} failed: {e}");
        }
        tokio::time::sleep(Duration::from_millis(4)).await;
    }
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut buf))
        .await
        .expect("EOF")
        .expect("the answer, not a reset");
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

#[tokio::test]
async fn max_payload_on_both_transports() {
    let (s, sid) = small_payload_session().await;
    let big = format!("4{}", "x".repeat(2000));
    let r = s
        .http(
            "POST",
            &format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
            &[("content-type", "text/plain")],
            big.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 413);
    let mut c = s.client("/", json!({ "transports": ["websocket"] })).await;
    c.connected().await;
    c.emit("big", json!(["y".repeat(2000)])).await;
    assert_eq!(c.disconnected(5).await, "transport close");
}

#[tokio::test]
async fn browser_origins_are_checked_on_handshakes() {
    let hs = "/socket.io/?EIO=4&transport=polling";
    // No origins configured: only pages of this host.
    let s = Server::start("").await;
    let r = s
        .http("GET", hs, &[("origin", "https://evil.example")], b"")
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // The test client sends `host: 127.0.0.1`: a page of that origin passes.
    let r = s
        .http("GET", hs, &[("origin", "http://127.0.0.1")], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // No Origin (non-browser clients): allowed.
    assert_eq!(s.http("GET", hs, &[], b"").await.status, 200);
    // A list: listed origins pass and get CORS headers, others are refused.
    let s =
        Server::start("[cors]\norigins = [\"https://app.example\"]\ncredentials = true\n").await;
    let r = s
        .http("GET", hs, &[("origin", "https://app.example")], b"")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(
        s.http("GET", hs, &[("origin", "https://other.example")], b"")
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn connection_knobs_bound_headers_and_posts() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Server::start_with(
        &common::base_config(),
        &[
            "--set",
            "connection.header_read_timeout_ms=300",
            "--set",
            "connection.max_packets_per_post=2",
        ],
        &[],
    )
    .await;
    // A request head that never ends loses the connection after 300 ms.
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
        .await
        .unwrap();
    let t0 = std::time::Instant::now();
    slow.write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf))
        .await
        .expect("closed within the timeout");
    assert_eq!(n.unwrap_or(0), 0);
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
    // Three packets in one POST when two are allowed: refused.
    let r = s
        .http("GET", "/socket.io/?EIO=4&transport=polling", &[], b"")
        .await;
    let sid = r.text()[1..].split('"').nth(3).unwrap().to_owned();
    let r = s
        .http(
            "POST",
            &format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
            &[("content-type", "text/plain")],
            b"6\x1e6\x1e6",
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
}
