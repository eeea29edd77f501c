//! Server-initiated heartbeat and ping timeouts on both transports.
mod common;
use common::*;

use std::time::{Duration, Instant};

use engineio::CloseReason;

#[tokio::test]
async fn polling_ping_pong_three_times() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    for _ in 0..3 {
        let started = Instant::now();
        let r = get(srv.addr, &eio(Some(&sid), "polling")).await;
        assert_eq!((r.status, r.text().as_str()), (200, "2"));
        // The ping waits for pingInterval; it is not sent at once.
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            post(srv.addr, &eio(Some(&sid), "polling"), b"3")
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn polling_ping_timeout_closes() {
    let srv = start(fast_config()).await;
    let opened = Instant::now();
    let (sid, _) = open_polling(srv.addr).await;
    // Waits for the close itself rather than sleeping past it: never before
    // pingInterval (300 ms) plus pingTimeout (200 ms).
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::PingTimeout);
    assert!(
        opened.elapsed() >= Duration::from_millis(500),
        "{:?}",
        opened.elapsed()
    );
    get(srv.addr, &eio(Some(&sid), "polling"))
        .await
        .assert_error(400, 1);
}

#[tokio::test]
async fn websocket_ping_pong_three_times() {
    let srv = start(fast_config()).await;
    let (mut ws, sid) = open_ws(srv.addr).await;
    for _ in 0..3 {
        assert_eq!(ws_text(&mut ws).await, "2");
        ws_send(&mut ws, "3").await;
    }
    assert_eq!(srv.rec.events(&sid), [Seen::Connect]);
}

#[tokio::test]
async fn websocket_ping_timeout_closes() {
    let srv = start(fast_config()).await;
    let (mut ws, sid) = open_ws(srv.addr).await;
    assert_eq!(ws_text(&mut ws).await, "2");
    // No pong: a close packet, then the connection closes.
    assert_eq!(ws_text(&mut ws).await, "1");
    assert!(ws_next(&mut ws).await.is_none());
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::PingTimeout);
}
