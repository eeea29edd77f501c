//! The real `engine.io-client` (npm, pinned in `interop/package-lock.json`)
//! against the conformance engine over polling, WebSocket and
//! polling-then-upgrade: text and binary echoes both ways, ordering, and a
//! server-side close. `npm ci` runs on first use if `node_modules` is missing.

mod common;

use std::process::Command;

use common::{ensure_npm, interop_dir};

fn run_mode(mode: &str) {
    ensure_npm();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (addr, engine) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let engine = conformance::eio_engine();
        let e = engine.clone();
        tokio::spawn(async move { e.serve(listener).await });
        (addr, engine)
    });
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
        "engine.io-client {mode} failed:\nstdout: {stdout}\nstderr: {stderr}"
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
    rt.block_on(async {
        for _ in 0..100 {
            if engine.session_count() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("session still registered after close");
    });
}

#[test]
fn polling_only() {
    run_mode("polling");
}

#[test]
fn websocket_only() {
    run_mode("websocket");
}

#[test]
fn polling_then_upgrade() {
    run_mode("upgrade");
}
