//! Real Socket.IO clients against `conformance::sio_interop_server()`:
//! `socket.io-client` (npm, pinned in `interop/package-lock.json`) over
//! polling, WebSocket and upgrade, and python-socketio (pinned in
//! `interop/python/requirements.txt`) over polling and WebSocket. What each
//! checks is listed in the scripts (`interop/sio-client.mjs`,
//! `interop/python/sio_client.py`) and the server's contract in
//! `src/interop.rs`. Each runs on each runtime (the test's name ends with
//! it). Missing packages are installed on first use.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::{ensure_npm, interop_dir, Server};
use conformance::smol::Mode;

fn ensure_python() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = interop_dir().join("python");
        // The repository's one venv maker, from the repository root.
        let root = dir.join("../../..");
        let ok = Command::new("bash")
            .arg("scripts/venv.sh")
            .arg(&dir)
            .current_dir(&root)
            .status()
            .expect("bash and python3 must be installed to run the interop tests")
            .success();
        assert!(ok, "python client setup failed in {}", dir.display());
    });
}

fn run(runtime: &str, program: &str, args: &[&str], dir: PathBuf, want: &str, recovery: bool) {
    let mode = match recovery {
        true => Mode::SioInterop,
        false => Mode::SioInteropNoRecovery,
    };
    let server = Server::start(runtime, mode);
    let url = format!("http://{}", server.addr());
    let mut full: Vec<&str> = args.to_vec();
    full.insert(1, &url);
    let out = Command::new(program)
        .args(&full)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(want),
        "{program} {full:?} on {runtime} failed:\nstdout: {stdout}\nstderr: {stderr}"
    );
}

fn node(runtime: &str, mode: &str) {
    ensure_npm();
    run(
        runtime,
        "node",
        &["sio-client.mjs", mode],
        interop_dir(),
        &format!("ok {mode}"),
        true,
    );
}

fn python(runtime: &str, transport: &str) {
    ensure_python();
    let dir = interop_dir().join("python");
    // python-socketio does not implement recovery: serve it without, or
    // every event would carry the offset as an extra argument.
    run(
        runtime,
        ".venv/bin/python",
        &["sio_client.py", transport],
        dir,
        &format!("ok python {transport}"),
        false,
    );
}

#[test]
fn socket_io_client_polling_tokio() {
    node("tokio", "polling");
}

#[test]
fn socket_io_client_websocket_tokio() {
    node("tokio", "websocket");
}

#[test]
fn socket_io_client_upgrade_tokio() {
    node("tokio", "upgrade");
}

#[test]
fn python_socketio_polling_tokio() {
    python("tokio", "polling");
}

#[test]
fn python_socketio_websocket_tokio() {
    python("tokio", "websocket");
}

#[test]
fn socket_io_client_polling_smol() {
    node("smol", "polling");
}

#[test]
fn socket_io_client_websocket_smol() {
    node("smol", "websocket");
}

#[test]
fn socket_io_client_upgrade_smol() {
    node("smol", "upgrade");
}

#[test]
fn python_socketio_polling_smol() {
    python("smol", "polling");
}

#[test]
fn python_socketio_websocket_smol() {
    python("smol", "websocket");
}
