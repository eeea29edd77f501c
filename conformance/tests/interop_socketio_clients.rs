//! Real Socket.IO clients against `conformance::sio_interop_server()`:
//! `socket.io-client` (npm, pinned in `interop/package-lock.json`) over
//! polling, WebSocket and upgrade, with the default parser and with
//! `socket.io-msgpack-parser` (the server then uses `Parser::Msgpack`:
//! every step of the script, binary events, acks both ways and broadcasts
//! included, runs over msgpack), and python-socketio (pinned in
//! `interop/python/requirements.txt`) over polling and WebSocket. What each
//! checks is listed in the scripts (`interop/sio-client.mjs`,
//! `interop/python/sio_client.py`) and the server's contract in
//! `src/interop.rs`. Missing packages are installed on first use.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::{ensure_npm, interop_dir, run_client};
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

/// Starts the interop server on its own runtime; returns its address and the runtime.
fn server(recovery: bool, parser: Parser) -> (SocketAddr, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let engine = conformance::sio_interop_server_using(recovery, parser)
            .engine(conformance::sio_interop_config());
        tokio::spawn(async move { engine.serve(listener).await });
        addr
    });
    (addr, rt)
}

fn run(program: &str, args: &[&str], dir: PathBuf, want: &str, server: (bool, Parser)) {
    let (addr, _rt) = self::server(server.0, server.1);
    run_client(program, args, &format!("http://{addr}"), dir, want);
}

fn node(mode: &str) {
    ensure_npm();
    run(
        "node",
        &["sio-client.mjs", mode],
        interop_dir(),
        &format!("ok {mode}"),
        (true, Parser::Json),
    );
}

/// The same script with socket.io-msgpack-parser, against a msgpack server.
fn node_msgpack(mode: &str) {
    ensure_npm();
    run(
        "node",
        &["sio-client.mjs", mode, "msgpack"],
        interop_dir(),
        &format!("ok {mode} msgpack"),
        (true, Parser::Msgpack),
    );
}

fn python(transport: &str) {
    ensure_python();
    let dir = interop_dir().join("python");
    // python-socketio does not implement recovery: serve it without, or
    // every event would carry the offset as an extra argument.
    run(
        ".venv/bin/python",
        &["sio_client.py", transport],
        dir,
        &format!("ok python {transport}"),
        (false, Parser::Json),
    );
}

#[test]
fn socket_io_client_polling() {
    node("polling");
}

#[test]
fn socket_io_client_websocket() {
    node("websocket");
}

#[test]
fn socket_io_client_upgrade() {
    node("upgrade");
}

#[test]
fn socket_io_msgpack_client_polling() {
    node_msgpack("polling");
}

#[test]
fn socket_io_msgpack_client_websocket() {
    node_msgpack("websocket");
}

#[test]
fn socket_io_msgpack_client_upgrade() {
    node_msgpack("upgrade");
}

#[test]
fn python_socketio_polling() {
    python("polling");
}

#[test]
fn python_socketio_websocket() {
    python("websocket");
}
