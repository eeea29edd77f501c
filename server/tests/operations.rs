//! First run and operations, end to end: the README's quick start run as
//! written, the startup log's account of what is live, throttled events
//! answered `RATE_LIMITED` in their ack, and draining that frees the port
//! at once.

mod common;

use std::time::Duration;

use common::{InProc, Server};
use serde_json::json;

/// The README's quick start block, with the release binary replaced by
/// the test build and port 3000 by a free one.
fn quick_start(port: u16) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let from = readme
        .find("Quick start")
        .expect("a quick start in the README");
    let block = readme[from..]
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    block
        .lines()
        .filter(|l| !l.starts_with("cargo build"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("target/release/socketio-server", common::bin())
        .replace("localhost:3000", &format!("127.0.0.1:{port}"))
}

#[tokio::test]
async fn the_readme_quick_start_works_as_written() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = common::scratch();
    let out = tokio::process::Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(quick_start(port))
        .current_dir(&dir)
        .env("SOCKETIO_SERVER_SERVER__PORT", port.to_string())
        .env_remove("SOCKETIO_SERVER_CONFIG")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let answers: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(answers.len(), 2, "{stdout}");
    assert_eq!(answers[0]["success"], true, "{stdout}");
    assert_eq!(answers[0]["status"], "ok");
    assert_eq!(answers[1]["success"], true, "{stdout}");
    assert!(stderr.contains("API keys: 1 key(s)"), "{stderr}");
}

#[tokio::test]
async fn the_startup_log_says_what_is_live() {
    let s = Server::start("[cors]\norigins = [\"https://app.example\"]\n").await;
    let logs = s.stop_and_read_logs().await;
    for want in [
        "API keys: 1 key(s), 1 admin key(s)",
        "JWT secrets: 1 (HS256); authentication optional",
        "CORS origins: https://app.example",
        "cluster: off",
    ] {
        assert!(logs.contains(want), "{want} missing from:\n{logs}");
    }
    assert!(
        !logs.contains(common::KEY) && !logs.contains(common::SECRET),
        "{logs}"
    );
    // Nothing configured: the log says what is missing and how to set it.
    let s = Server::start_with("[server]\nport = 0\n", &[], &[]).await;
    let logs = s.stop_and_read_logs().await;
    assert!(logs.contains("API keys: none"), "{logs}");
    assert!(logs.contains("set api.keys"), "{logs}");
    assert!(logs.contains("JWT secrets: none"), "{logs}");
    assert!(logs.contains("CORS origins: none"), "{logs}");
}

#[tokio::test]
async fn human_logs_print_values_not_debug_syntax() {
    let s = Server::start("").await;
    let mut c = s.client("/", json!({ "transports": ["websocket"] })).await;
    c.connected().await;
    c.close().await;
    let logs = s.stop_and_read_logs().await;
    let line = logs
        .lines()
        .find(|l| l.contains("socket connected"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(line.contains("transport=websocket"), "{line}");
    assert!(line.contains("address=127.0.0.1:"), "{line}");
    assert!(!line.contains("Some(") && !line.contains('"'), "{line}");
}

#[tokio::test]
async fn throttled_events_ack_rate_limited() {
    let s = InProc::start("[rate_limits]\nevents_per_second = 3\nevents_per_minute = 1000\n").await;
    let mut c = s.connected(None, None).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        let a = c.emit_ack("get-rooms", json!([])).await;
        codes.push(a[0]["code"].clone());
    }
    // The namespace CONNECT counted too: two events passed, then refusals.
    let limited: Vec<_> = codes.iter().filter(|c| *c == "RATE_LIMITED").collect();
    assert!(limited.len() >= 2, "{codes:?}");
    let a = c.emit_ack("get-rooms", json!([])).await;
    assert_eq!(a[0]["success"], false, "{a:?}");
    assert_eq!(a[0]["code"], "RATE_LIMITED");
    assert!(a[0]["retryAfter"].is_u64(), "{a:?}");
    assert_eq!(a[0]["error"], "Rate limit exceeded");
    // After the window, events pass again.
    s.clock.advance(Duration::from_secs(2));
    let a = c.emit_ack("get-rooms", json!([])).await;
    assert_eq!(a[0]["success"], true, "{a:?}");
}

#[tokio::test]
async fn draining_frees_the_port_at_once() {
    let s = Server::start("[server]\ndrain_secs = 5\n").await;
    let mut ws = s.client("/", json!({ "transports": ["websocket"] })).await;
    ws.connected().await;
    let port = s.port;
    let pid = s.child.id().unwrap();
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    ws.event("server:shutdown").await;
    // The next process can bind while this one drains its clients.
    let next = common::poll(5, "the port to be free", || async move {
        std::net::TcpListener::bind(("127.0.0.1", port)).ok()
    })
    .await;
    drop(next);
    // The open connection is still served until the drain ends.
    ws.emit_ack("ping", json!([])).await;
    let status = s.terminate().await;
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn refusals_before_the_engine_are_readable_in_connect_error() {
    let body_of = |e: &serde_json::Value| -> serde_json::Value {
        serde_json::from_str(e["body"].as_str().unwrap_or_else(|| panic!("no body: {e}"))).unwrap()
    };
    // A full server.
    let s = InProc::start("[connection]\nmax_connections = 1\n").await;
    let _first = s.connected(None, None).await;
    let mut c = s.client("/", json!({ "transports": ["polling"] })).await;
    let e = c.refused().await;
    assert_eq!(e["description"], 503, "{e}");
    let b = body_of(&e);
    assert_eq!(b["reason"], "SERVER_FULL", "{b}");
    assert_eq!(b["message"], "Server full: 1 connections");
    // The IP lists, and the connection rate.
    let s = InProc::start("[security]\nip_deny = [\"127.0.0.0/8\"]\n").await;
    let mut c = s.client("/", json!({ "transports": ["polling"] })).await;
    let e = c.refused().await;
    assert_eq!(body_of(&e)["reason"], "ADDRESS_NOT_ALLOWED", "{e}");
    let s = InProc::start("[rate_limits]\nconnections_per_minute = 1\n").await;
    let _first = s.connected(None, None).await;
    let mut c = s.client("/", json!({ "transports": ["polling"] })).await;
    let e = c.refused().await;
    let b = body_of(&e);
    assert_eq!(b["reason"], "RATE_LIMITED", "{e}");
    assert!(b["message"].as_str().unwrap().contains("retry in"), "{b}");
    // An origin refused: the page may read why (and only that answer
    // carries its origin).
    let s = InProc::start("[cors]\norigins = [\"https://app.example\"]\n").await;
    let hs = "/socket.io/?EIO=4&transport=polling";
    let r = s
        .http("GET", hs, &[("origin", "https://evil.example")], b"")
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["reason"], "ORIGIN_NOT_ALLOWED");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://evil.example")
    );
    assert_eq!(r.header("access-control-allow-credentials"), None);
    let r = s
        .http(
            "GET",
            "/api/openapi.json",
            &[("origin", "https://evil.example")],
            b"",
        )
        .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
    let mut c = s
        .client("/", json!({ "transports": ["polling"], "extraHeaders": { "origin": "https://evil.example" } }))
        .await;
    let e = c.refused().await;
    assert_eq!(body_of(&e)["reason"], "ORIGIN_NOT_ALLOWED", "{e}");
}
