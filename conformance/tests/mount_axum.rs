//! `conformance <mode> --mount axum`: the test servers inside an axum
//! Router, as the binary serves them (so its `--mount` parsing is checked
//! too), on 127.0.0.1 with `--port 0`: `GET /hello` beside the Socket.IO
//! suite's server over polling, WebSocket and a polling-to-WebSocket
//! upgrade; and the real socket.io-client's interop script
//! (`interop/sio-client.mjs`) against the interop server mounted in axum.
//! `--mount axum` with `--runtime smol` is a usage error; `--runtime smol`
//! with `--parser msgpack` serves socket.io-msgpack-parser clients.
//! The raw clients are socketio's test clients, shared by `#[path]`.

mod common;
#[path = "../../socketio/tests/common/http.rs"]
mod http_client;
#[path = "../../socketio/tests/common/mod.rs"]
mod sio_client;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};

use common::{ensure_npm, interop_dir, run_client};
use http_client::Polling;
use sio_client::Client;

/// A running `conformance <args> --port 0`, killed when dropped.
struct Conformance {
    child: Child,
    addr: SocketAddr,
    /// Kept open: the server's later output must not meet a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Conformance {
    fn start(args: &[&str]) -> Conformance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_conformance"))
            .args(args)
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the conformance binary starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // "conformance server on http://127.0.0.1:PORT/socket.io/"
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Conformance {
            child,
            addr,
            _stdout: stdout,
        }
    }
}

impl Drop for Conformance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The suite's server (`conformance sio --mount axum`).
fn sio_in_axum() -> Conformance {
    Conformance::start(&["sio", "--mount", "axum"])
}

#[test]
fn unknown_mounts_are_usage_errors() {
    let cases: [&[&str]; 3] = [
        &["sio", "--mount", "nginx"],
        &["ws-echo", "--mount", "axum"],
        // The axum mount is a tokio stack.
        &["sio", "--mount", "axum", "--runtime", "smol"],
    ];
    for args in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_conformance"))
            .args(args)
            .args(["--port", "0"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: conformance"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn hello_beside_socket_io_over_polling() {
    let server = sio_in_axum();
    let hello = http_client::get(server.addr, "/hello").await;
    assert_eq!(
        (hello.status, hello.body.as_str()),
        (200, conformance::HELLO)
    );
    let mut c = Polling::connect(server.addr).await;
    // The suite's server greets every socket with its auth.
    assert_eq!(c.next().await, r#"42["auth",{}]"#);
    c.send(r#"42["message","over polling"]"#).await;
    assert_eq!(c.next().await, r#"42["message-back","over polling"]"#);
}

#[tokio::test]
async fn socket_io_over_websocket() {
    let server = sio_in_axum();
    let (mut c, _) = Client::connect(server.addr, "/").await;
    assert_eq!(c.text().await, r#"42["auth",{}]"#);
    c.send(r#"421["message-with-ack",1,"two"]"#).await;
    assert_eq!(c.text().await, r#"431[1,"two"]"#);
}

#[tokio::test]
async fn polling_upgrades_to_websocket() {
    let server = sio_in_axum();
    let addr = server.addr;
    let mut c = Polling::connect(addr).await;
    assert_eq!(c.next().await, r#"42["auth",{}]"#);
    let mut ws = Client::upgrade(addr, &c.eio_sid).await;
    ws.send(r#"42["message","upgraded"]"#).await;
    assert_eq!(ws.text().await, r#"42["message-back","upgraded"]"#);
}

/// socket.io-client's interop script in `mode` against
/// `conformance sio-interop --mount axum`.
fn socket_io_client(mode: &str) {
    ensure_npm();
    let server = Conformance::start(&["sio-interop", "--mount", "axum"]);
    let url = format!("http://{}", server.addr);
    let want = format!("ok {mode}");
    run_client(
        "node",
        &["sio-client.mjs", mode],
        &url,
        interop_dir(),
        &want,
    );
}

#[test]
fn socket_io_client_polling() {
    socket_io_client("polling");
}

#[test]
fn socket_io_client_websocket() {
    socket_io_client("websocket");
}

#[test]
fn socket_io_client_upgrade() {
    socket_io_client("upgrade");
}

/// `conformance sio-interop --runtime smol --parser msgpack`: the flags
/// that are not about mounting combine too.
#[test]
fn socket_io_msgpack_client_on_smol() {
    ensure_npm();
    let server = Conformance::start(&["sio-interop", "--runtime", "smol", "--parser", "msgpack"]);
    let url = format!("http://{}", server.addr);
    run_client(
        "node",
        &["sio-client.mjs", "upgrade", "msgpack"],
        &url,
        interop_dir(),
        "ok upgrade msgpack",
    );
}
