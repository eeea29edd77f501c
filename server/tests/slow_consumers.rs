//! Slow consumers on both transports: a client that stops reading (a
//! WebSocket whose TCP socket is kept open but never read, a polling client
//! that stops polling) while the server broadcasts it far more than its
//! send buffer holds. The connection's queue is bounded by
//! `connection.send_buffer`: the configured `connection.slow_client` policy
//! applies (the connection is closed: under `close` at the first full send,
//! under `error` by the broadcast that met the full buffer), `/metrics`
//! counts it, and the server's resident memory grows by far less than what
//! was pushed at the client.

mod common;

use std::time::Duration;

use common::{http, Server, KEY};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes of each broadcast's string argument.
const MESSAGE: usize = 400_000;
/// Broadcasts pushed at the slow client: 120 MB in all.
const PUSHES: usize = 300;
/// Most growth of the server's RSS allowed, far below what was pushed: the
/// send buffer (8 packets), the WebSocket writer's buffer and a few
/// requests' worth of temporaries.
const RSS_LIMIT_KIB: u64 = 48 * 1024;

/// The server's config for `policy`: a send buffer of 8 packets, pings far
/// apart (the session must end by the policy, not by a ping timeout), no
/// rate limits (300 API requests in a few seconds).
fn config(policy: &str) -> String {
    format!(
        "[connection]\nsend_buffer = 8\nslow_client = \"{policy}\"\n\
         ping_interval_ms = 60000\nping_timeout_ms = 60000\n\
         [rate_limits]\nenabled = false\n[api]\nmax_body_bytes = 1048576\n"
    )
}

/// The server process's VmRSS in KiB.
fn rss_kib(s: &Server) -> u64 {
    let pid = s.child.id().expect("server running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// One series of `/metrics` (0 when absent).
async fn metric(s: &Server, series: &str) -> f64 {
    let text = s.http("GET", "/metrics", &[], b"").await.text();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (name, v) = l.rsplit_once(' ')?;
            (name == series).then(|| v.parse::<f64>().unwrap())
        })
        .unwrap_or(0.0)
}

/// Reads one unmasked server frame: (opcode, payload).
async fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).await.unwrap();
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).await.unwrap();
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).await.unwrap();
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).await.unwrap();
    (h[0] & 0x0f, payload)
}

/// Writes a masked text frame (zero mask key: the payload goes as is).
async fn write_text(s: &mut TcpStream, text: &str) {
    let mut f = vec![0x81, 0x80 | text.len() as u8, 0, 0, 0, 0];
    f.extend_from_slice(text.as_bytes());
    s.write_all(&f).await.unwrap();
}

/// A raw WebSocket client connected to `/` (up to `40{...}`); it reads
/// nothing more afterwards.
async fn ws_client(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req = format!(
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let (_, open) = read_frame(&mut s).await;
    assert_eq!(open[0], b'0', "{}", String::from_utf8_lossy(&open));
    write_text(&mut s, "40").await;
    loop {
        let (_, p) = read_frame(&mut s).await;
        if p.starts_with(b"40") {
            return s;
        }
    }
}

/// Broadcasts `PUSHES` messages of `MESSAGE` bytes to `/`; returns the
/// server's largest RSS growth over `base` seen meanwhile (KiB).
async fn push_and_watch(s: &Server, base: u64) -> u64 {
    let data = "x".repeat(MESSAGE);
    let body = json!({ "event": "big", "data": data }).to_string();
    let mut peak = 0;
    for _ in 0..PUSHES {
        let r = s
            .http(
                "POST",
                "/api/broadcast",
                &[("x-api-key", KEY), ("content-type", "application/json")],
                body.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        peak = peak.max(rss_kib(s).saturating_sub(base));
    }
    peak
}

/// Waits until `/metrics` has no connection left.
async fn no_connection_left(s: &Server) {
    for _ in 0..100 {
        if metric(s, "socket_server_active_connections").await == 0.0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the slow client's connection was not closed");
}

/// The WebSocket case under `policy`: bounded memory, the connection
/// closed, the policy counted.
async fn websocket_reader_stops(policy: &str) {
    let s = Server::start(&config(policy)).await;
    let client = ws_client(s.port).await;
    assert_eq!(metric(&s, "socket_server_active_connections").await, 1.0);
    let base = rss_kib(&s);
    let grown = push_and_watch(&s, base).await;
    eprintln!("websocket, {policy}: RSS grew {grown} KiB at most");
    assert!(
        grown < RSS_LIMIT_KIB,
        "RSS grew {grown} KiB for {} MB pushed at a client that reads nothing",
        PUSHES * MESSAGE / 1_000_000
    );
    no_connection_left(&s).await;
    let full = metric(
        &s,
        &format!("socket_server_send_buffer_full_total{{policy=\"{policy}\"}}"),
    )
    .await;
    assert!(full >= 1.0, "no refused send counted under {policy}");
    let closed = metric(
        &s,
        &format!("socket_server_slow_client_closed_total{{policy=\"{policy}\"}}"),
    )
    .await;
    assert_eq!(closed, 1.0, "slow-client closes under {policy}");
    drop(client);
}

#[tokio::test]
async fn websocket_that_stops_reading_is_closed_under_close() {
    websocket_reader_stops("close").await;
}

#[tokio::test]
async fn websocket_that_stops_reading_is_closed_under_error() {
    websocket_reader_stops("error").await;
}

/// A polling client that connects to `/` and then stops polling; returns
/// the path with its sid.
async fn polling_client(port: u16) -> String {
    let path = "/socket.io/?EIO=4&transport=polling";
    let open = http(port, "GET", path, &[], b"").await.text();
    let v: Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    let sid = v["sid"].as_str().unwrap().to_owned();
    let with_sid = format!("{path}&sid={sid}");
    let r = http(
        port,
        "POST",
        &with_sid,
        &[("content-type", "text/plain")],
        b"40",
    )
    .await;
    assert_eq!(r.text(), "ok");
    let r = http(port, "GET", &with_sid, &[], b"").await;
    assert!(r.text().starts_with("40"), "{}", r.text());
    with_sid
}

#[tokio::test]
async fn polling_client_that_stops_polling_gets_at_most_the_buffer() {
    let s = Server::start(&config("error")).await;
    let path = polling_client(s.port).await;
    assert_eq!(metric(&s, "socket_server_active_connections").await, 1.0);
    let base = rss_kib(&s);
    let grown = push_and_watch(&s, base).await;
    eprintln!("polling, error: RSS grew {grown} KiB at most");
    assert!(grown < RSS_LIMIT_KIB, "RSS grew {grown} KiB");
    assert!(metric(&s, "socket_server_send_buffer_full_total{policy=\"error\"}").await >= 1.0);
    assert_eq!(
        metric(
            &s,
            "socket_server_slow_client_closed_total{policy=\"error\"}"
        )
        .await,
        1.0
    );
    // The next polls get what the buffer held, at most `send_buffer`
    // messages, then the close packet: nothing beyond the bound was kept.
    let (mut big, mut closed) = (0, false);
    for _ in 0..10 {
        let r = http(s.port, "GET", &path, &[], b"").await;
        if r.status != 200 {
            break;
        }
        let body = r.text();
        for p in body.split('\x1e') {
            big += usize::from(p.starts_with("42[\"big\""));
            closed |= p == "1";
        }
        if closed {
            break;
        }
    }
    assert!(
        (1..=8).contains(&big),
        "{big} messages after the client came back"
    );
    assert!(closed, "no close packet after them");
    no_connection_left(&s).await;
}
