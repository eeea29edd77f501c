//! Several engine paths on one port (document 004: `/api/socket` and
//! `/api/socket-namespaces`): one Socket.IO server behind both (the same
//! namespaces, rooms and sockets), the HTTP API still answering beside a
//! path under `/api/`, and a path that would hide an API route refused.

mod common;

use common::{bin, Server};
use serde_json::json;

#[tokio::test]
async fn two_paths_serve_one_server_beside_the_api() {
    let s = Server::start(
        "[server]\npath = [\"/api/socket\", \"/api/socket-namespaces\"]\n\
         [namespaces.\"/messenger\"]\n",
    )
    .await;
    let mut main = s
        .client(
            "/",
            json!({ "path": "/api/socket", "transports": ["polling"] }),
        )
        .await;
    main.connected().await;
    let mut other = s
        .client(
            "/",
            json!({ "path": "/api/socket-namespaces", "transports": ["websocket"] }),
        )
        .await;
    other.connected().await;
    let mut messenger = s
        .client("/messenger", json!({ "path": "/api/socket-namespaces/" }))
        .await;
    messenger.connected().await;
    for c in [&mut main, &mut other] {
        assert_eq!(
            c.emit_ack("join-room", json!(["lobby"])).await[0]["success"],
            true
        );
    }
    // The same rooms: one push reaches the sockets of both paths.
    let r = s
        .api(
            "POST",
            "/api/room",
            Some(json!({ "room": "lobby", "event": "news", "data": 1 })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["recipients"], 2);
    assert_eq!(main.event("news").await, vec![json!(1)]);
    assert_eq!(other.event("news").await, vec![json!(1)]);
    // The API answers beside the engine path under /api/.
    let r = s.api("GET", "/api/status", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.api("GET", "/api/sockets", None).await;
    assert_eq!(r.json()["count"], 2, "{}", r.text());
    assert_eq!(s.http("GET", "/health", &[], b"").await.status, 200);
    // The default path is not served any more; neither is a path below an engine path.
    let r = s
        .http("GET", "/socket.io/?EIO=4&transport=polling", &[], b"")
        .await;
    assert_eq!(r.status, 404);
    let r = s
        .http("GET", "/api/socket/x?EIO=4&transport=polling", &[], b"")
        .await;
    // Not an engine path, so an API path: without a key, 401 before routing.
    assert_eq!(r.status, 401);
    // A handshake on either path, straight over HTTP.
    for p in ["/api/socket/", "/api/socket-namespaces"] {
        let r = s
            .http("GET", &format!("{p}?EIO=4&transport=polling"), &[], b"")
            .await;
        assert_eq!(r.status, 200, "{p}: {}", r.text());
        assert!(r.text().starts_with("0{\"sid\""), "{}", r.text());
    }
    // Three clients and the two handshakes (each engine reports its new
    // session a moment after answering it).
    common::poll(10, "five connections", || async {
        let m = s.http("GET", "/metrics", &[], b"").await.text();
        m.contains("socket_server_active_connections 5\n")
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_path_that_hides_an_api_route_is_refused() {
    for (path, msg) in [
        ("/api/status", "is the HTTP API route /api/status"),
        ("/api/", "would hide the whole HTTP API"),
        ("/metrics", "would hide /metrics"),
    ] {
        let out = tokio::process::Command::new(bin())
            .args(["check-config", "--path", path])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{path}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{path}: {err}");
    }
    let out = tokio::process::Command::new(bin())
        .args([
            "check-config",
            "--set",
            "server.path=[\"/api/socket\",\"/ws\"]",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("\"/api/socket\",") && shown.contains("\"/ws\","),
        "{shown}"
    );
}
