//! Payload limits on both transports and the bounded send buffer.
mod common;
use common::*;

use std::time::Duration;

use engineio::{CloseReason, SendError, SlowClientPolicy};
use futures_util::SinkExt;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn declared_oversized_post_is_refused_unread() {
    let srv = start(fast_config().max_payload(1000)).await;
    let (sid, _) = open_polling(srv.addr).await;
    // Declares 10 GB and sends nothing: answered at once, nothing buffered.
    let r = request(
        srv.addr,
        "POST",
        &eio(Some(&sid), "polling"),
        &[("Content-Length", "10000000000")],
        b"",
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn streamed_oversized_post_stops_at_the_limit() {
    let srv = start(fast_config().max_payload(1000)).await;
    let (sid, _) = open_polling(srv.addr).await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        eio(Some(&sid), "polling")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("190\r\n4{}\r\n", "a".repeat(399));
    for _ in 0..3 {
        s.write_all(chunk.as_bytes()).await.unwrap();
    }
    // The body never ends, yet the server answers once past 1000 bytes.
    let r = read_response(&mut s).await;
    assert_eq!(r.status, 413);
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn stalled_post_body_times_out() {
    let cfg = fast_config()
        .ping_interval(Duration::from_secs(20))
        .body_read_timeout(Duration::from_millis(300));
    let srv = start(cfg).await;
    let (sid, _) = open_polling(srv.addr).await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    // Declares 10 bytes and sends 2: the first read finds the body
    // incomplete, so the timeout starts then.
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n4a",
        eio(Some(&sid), "polling")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let t0 = std::time::Instant::now();
    let r = read_response(&mut s).await;
    assert_eq!(r.status, 400);
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportError);
}

/// Slowloris: headers that trickle in, or never come after a keep-alive
/// answer, lose the connection once `header_read_timeout` passes, and not
/// before.
#[tokio::test]
async fn slow_or_missing_headers_lose_the_connection() {
    use tokio::io::AsyncReadExt;
    let timeout = Duration::from_millis(400);
    let srv = start(fast_config().header_read_timeout(timeout)).await;
    let path = eio(None, "polling");
    // One header line every 100 ms: each read makes progress, none finishes.
    let mut slow = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let t0 = std::time::Instant::now();
    slow.write_all(format!("GET {path} HTTP/1.1\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let closed_after = loop {
        tokio::select! {
            n = slow.read(&mut buf) => {
                assert_eq!(n.unwrap_or(0), 0, "nothing is answered to a partial head");
                break t0.elapsed();
            }
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                assert!(t0.elapsed() < Duration::from_secs(5), "never closed");
                let _ = slow.write_all(b"X-Slow: 1\r\n").await;
            }
        }
    };
    assert!(closed_after >= timeout, "{closed_after:?}");
    assert!(closed_after < timeout * 3, "{closed_after:?}");
    // A keep-alive connection that answered one request and then idles:
    // read to the end, the answer arrives and then the close.
    let mut idle = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let t0 = std::time::Instant::now();
    idle.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_response(&mut idle).await.status, 200);
    let idled = t0.elapsed();
    assert!(idled >= timeout - Duration::from_millis(50), "{idled:?}");
    assert!(idled < timeout * 3, "{idled:?}");
}

#[tokio::test]
async fn post_at_the_limit_is_accepted() {
    let srv = start(fast_config().max_payload(1000)).await;
    let (sid, _) = open_polling(srv.addr).await;
    let body = format!("4{}", "x".repeat(999));
    assert_eq!(
        post(srv.addr, &eio(Some(&sid), "polling"), body.as_bytes())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn too_many_packets_in_one_post() {
    let srv = start(fast_config().max_packets_per_post(3)).await;
    let (sid, _) = open_polling(srv.addr).await;
    let r = post(
        srv.addr,
        &eio(Some(&sid), "polling"),
        b"4a\x1e4b\x1e4c\x1e4d",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::ParseError);
}

#[tokio::test]
async fn oversized_websocket_message_closes() {
    let srv = start(fast_config().max_payload(1000)).await;
    let (mut ws, sid) = open_ws(srv.addr).await;
    ws_send(&mut ws, &format!("4{}", "x".repeat(999))).await;
    assert_eq!(ws_text(&mut ws).await.len(), 1000);
    let _ = ws
        .send(Message::text(format!("4{}", "x".repeat(5000))))
        .await;
    assert!(ws_next(&mut ws).await.is_none());
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn invalid_websocket_packets_close_with_parse_error() {
    for bad in ["abc", "", "9"] {
        let srv = start(fast_config()).await;
        let (mut ws, sid) = open_ws(srv.addr).await;
        ws_send(&mut ws, bad).await;
        assert_eq!(ws_text(&mut ws).await, "1", "close packet after {bad:?}");
        assert!(ws_next(&mut ws).await.is_none());
        assert_eq!(
            srv.rec.closed(&sid).await,
            CloseReason::ParseError,
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn full_send_buffer_is_an_error_not_a_timeout() {
    let srv = start(
        fast_config()
            .ping_interval(Duration::from_secs(30))
            .send_buffer(4),
    )
    .await;
    let (sid, _) = open_polling(srv.addr).await;
    let socket = srv.rec.socket(&sid);
    for i in 0..4 {
        socket.send_text(format!("m{i}")).unwrap();
    }
    assert_eq!(socket.send_text("overflow"), Err(SendError::Full));
    assert_eq!(srv.rec.events(&sid), [Seen::Connect], "not closed");
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4m0\x1e4m1\x1e4m2\x1e4m3"
    );
    socket.send_text("after").unwrap();
}

#[tokio::test]
async fn slow_client_policy_close() {
    let cfg = fast_config()
        .ping_interval(Duration::from_secs(30))
        .send_buffer(2)
        .slow_client(SlowClientPolicy::Close);
    let srv = start(cfg).await;
    let (sid, _) = open_polling(srv.addr).await;
    let socket = srv.rec.socket(&sid);
    socket.send_text("a").unwrap();
    socket.send_text("b").unwrap();
    assert_eq!(socket.send_text("c"), Err(SendError::Full));
    // The buffered packets and the close packet reach the client.
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4a\x1e4b"
    );
    assert_eq!(get(srv.addr, &eio(Some(&sid), "polling")).await.text(), "1");
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::SlowClient);
}

#[tokio::test]
async fn websocket_client_that_never_reads_fills_the_buffer() {
    let srv = start(
        fast_config()
            .ping_interval(Duration::from_secs(30))
            .send_buffer(8),
    )
    .await;
    let (_ws, sid) = open_ws(srv.addr).await;
    let socket = srv.rec.socket(&sid);
    let big = "x".repeat(256 * 1024);
    let mut full = false;
    for _ in 0..2000 {
        match socket.send_text(big.as_str()) {
            Ok(()) => tokio::time::sleep(Duration::from_millis(1)).await,
            Err(SendError::Full) => {
                full = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(full, "the send buffer is bounded");
    assert_eq!(srv.rec.events(&sid), [Seen::Connect], "still open");
    // A stalled WebSocket waits for writability instead of spinning: over a
    // second of stall the process burns far less than a core.
    let before = process_cpu_ms();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = process_cpu_ms() - before;
    assert!(used < 500, "{used} ms of CPU while stalled: busy loop");
}

/// User + system CPU time of this process, from /proc (Linux).
fn process_cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks * 1000 / 100
}
