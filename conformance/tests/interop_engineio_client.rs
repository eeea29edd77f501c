//! The real `engine.io-client` (npm, pinned in `interop/package-lock.json`)
//! against the conformance engine over polling, WebSocket and
//! polling-then-upgrade: text and binary echoes both ways, ordering, and a
//! server-side close; on each runtime (the test's name ends with it).
//! `npm ci` runs on first use if `node_modules` is missing.

mod common;

use std::process::Command;

use common::{ensure_npm, interop_dir, Server};
use conformance::smol::Mode;

fn run_mode(runtime: &str, mode: &str) {
    ensure_npm();
    let server = Server::start(runtime, Mode::Eio);
    let addr = server.addr();
    let out = Command::new("node")
        .arg("eio-client.mjs")
        .arg(format!("http://{addr}"))
        .arg(mode)
        .current_dir(interop_dir())
        .output()
        .expect("node must be installed to run the interop tests");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "engine.io-client {mode} on {runtime} failed:\nstdout: {stdout}\nstderr: {stderr}"
    );
    let want = if mode == "polling" {
        "polling"
    } else {
        "websocket"
    };
    assert!(
        stdout.contains(&format!("ok {mode} transport={want}")),
        "unexpected output: {stdout}"
    );
    // The server closed the session: the registry is empty again.
    for _ in 0..100 {
        if server.session_count() == 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("session still registered after close on {runtime}");
}

#[test]
fn polling_only_tokio() {
    run_mode("tokio", "polling");
}

#[test]
fn websocket_only_tokio() {
    run_mode("tokio", "websocket");
}

#[test]
fn polling_then_upgrade_tokio() {
    run_mode("tokio", "upgrade");
}

#[test]
fn polling_only_smol() {
    run_mode("smol", "polling");
}

#[test]
fn websocket_only_smol() {
    run_mode("smol", "websocket");
}

#[test]
fn polling_then_upgrade_smol() {
    run_mode("smol", "upgrade");
}
