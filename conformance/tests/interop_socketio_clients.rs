//! Real Socket.IO clients against `conformance::sio_interop_server()`:
//! `socket.io-client` (npm, pinned in `interop/package-lock.json`) over
//! polling, WebSocket and upgrade, with the default parser and with
//! `socket.io-msgpack-parser` (the server then uses `Parser::Msgpack`:
//! every step of the script, binary events, acks both ways and broadcasts
//! included, runs over msgpack), and python-socketio (pinned in
//! `interop/python/requirements.txt`) over polling and WebSocket. What each
//! checks is listed in the scripts (`interop/sio-client.mjs`,
//! `interop/python/sio_client.py`) and the server's contract in
//! `src/interop.rs`. Each runs on each runtime (the test's name ends with
//! it). Missing packages are installed on first use.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::{ensure_npm, interop_dir, run_client, Server};
use conformance::smol::Mode;
use socketio::Parser;

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

/// Runs the client against the interop server on `runtime`; `server`:
/// with recovery or not, and the server's parser.
fn run(
    runtime: &str,
    program: &str,
    args: &[&str],
    dir: PathBuf,
    want: &str,
    server: (bool, Parser),
) {
    let mode = match server.0 {
        true => Mode::SioInterop,
        false => Mode::SioInteropNoRecovery,
    };
    let srv = Server::start_using(runtime, mode, server.1);
    let url = format!("http://{}", srv.addr());
    run_client(program, args, &url, dir, want);
}

fn node(runtime: &str, mode: &str) {
    ensure_npm();
    run(
        runtime,
        "node",
        &["sio-client.mjs", mode],
        interop_dir(),
        &format!("ok {mode}"),
        (true, Parser::Json),
    );
}

/// The same script with socket.io-msgpack-parser, against a msgpack server.
fn node_msgpack(runtime: &str, mode: &str) {
    ensure_npm();
    run(
        runtime,
        "node",
        &["sio-client.mjs", mode, "msgpack"],
        interop_dir(),
        &format!("ok {mode} msgpack"),
        (true, Parser::Msgpack),
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
        (false, Parser::Json),
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

#[test]
fn socket_io_msgpack_client_polling_tokio() {
    node_msgpack("tokio", "polling");
}

#[test]
fn socket_io_msgpack_client_websocket_tokio() {
    node_msgpack("tokio", "websocket");
}

#[test]
fn socket_io_msgpack_client_upgrade_tokio() {
    node_msgpack("tokio", "upgrade");
}

#[test]
fn socket_io_msgpack_client_polling_smol() {
    node_msgpack("smol", "polling");
}

#[test]
fn socket_io_msgpack_client_websocket_smol() {
    node_msgpack("smol", "websocket");
}

#[test]
fn socket_io_msgpack_client_upgrade_smol() {
    node_msgpack("smol", "upgrade");
}
