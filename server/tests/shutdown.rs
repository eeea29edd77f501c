//! Graceful shutdown: SIGTERM tells connected clients, marks not ready,
//! stops accepting (the port is free at once), drains, closes and exits 0.

mod common;

use std::time::{Duration, Instant};

use common::Server;
use serde_json::json;

#[tokio::test]
async fn sigterm_notifies_drains_and_exits_zero() {
    let s = Server::start("[server]\ndrain_secs = 3\nreconnect_hint_ms = 1234\n").await;
    let mut ws = s.client("/", json!({ "transports": ["websocket"] })).await;
    ws.connected().await;
    let mut poll = s.client("/", json!({ "transports": ["polling"] })).await;
    poll.connected().await;
    let port = s.port;
    let pid = s.child.id().unwrap();
    let started = Instant::now();
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let n = ws.event("server:shutdown").await;
    assert_eq!(n[0]["reconnectIn"], 1234, "{n:?}");
    let n = ws.event("server_shutdown").await;
    assert_eq!(n[0]["reconnectIn"], 1234, "{n:?}");
    // The polling client gets what its pending GET carries: the first
    // notice at least. Its next GET needs a new connection, which the
    // closed listener refuses, so the second notice reaches it only when
    // both went out in one payload.
    let n = poll.event("server:shutdown").await;
    assert_eq!(n[0]["reconnectIn"], 1234, "{n:?}");
    // Draining: the port no longer takes connections (the next process may
    // bind it); open ones are still served.
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "still accepting while draining"
    );
    ws.emit_ack("ping", json!([])).await;
    // The polling client leaves (its next request needs a new connection);
    // the WebSocket one is closed at the end of the drain.
    poll.disconnect().await;
    let reason = ws.disconnected(10).await;
    assert!(
        reason == "transport close" || reason == "io server disconnect",
        "{reason}"
    );
    let status = s.terminate().await;
    assert!(status.success(), "{status:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

#[tokio::test]
async fn shutdown_without_clients_is_immediate() {
    let s = Server::start("[server]\ndrain_secs = 30\n").await;
    let started = Instant::now();
    let status = s.terminate().await;
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_secs(5));
}
