//! Servers configured for the official protocol test suites.
//!
//! [`eio_engine`] is the Engine.IO server the `socketio/engine.io-protocol`
//! suite expects: path `/engine.io/`, `pingInterval` 300, `pingTimeout` 200,
//! `maxPayload` 1000000, CORS for any origin, every message echoed back as
//! it came (text as text, binary as binary). One addition for the interop
//! tests: the text message `close-me` is not echoed; the server closes the
//! session instead.
//!
//! [`Mount`] says where an engine is served: on its own, or in an axum
//! router ([`axum_router`], `--mount axum`) beside a `GET /hello` route.
//!
//! [`serve_ws_echo`] is no Engine.IO server: a raw WebSocket echo on the
//! engine's own framing (`engineio::raw_ws`), any path, text as text and
//! binary as binary, messages up to [`WS_ECHO_MAX_MESSAGE`]; the
//! Autobahn fuzzingclient drives it (`conformance ws-echo`,
//! `scripts/autobahn.sh`).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod axum_mount;
mod interop;
mod ws_echo;

use std::time::Duration;

pub use axum_mount::{axum_router, Mount, HELLO};
pub use interop::{
    sio_interop_config, sio_interop_server, sio_interop_server_using, sio_interop_server_with,
};
pub use ws_echo::{echo, serve_ws_echo, ws_echo_config, WS_ECHO_MAX_MESSAGE};

use engineio::{Cors, Engine, EngineConfig, Handler, Socket, Str};

/// Echoes every message back to its sender.
#[derive(Debug, Default)]
pub struct Echo;

impl Handler for Echo {
    fn on_message(&self, socket: &Socket, text: Str) {
        if text == "close-me" {
            socket.close();
        } else {
            // A full buffer means the client stopped reading; dropping the echo is the test's signal.
            let _ = socket.send_text(text);
        }
    }

    fn on_binary(&self, socket: &Socket, data: engineio::bytes::Bytes) {
        let _ = socket.send_binary(data);
    }
}

/// The engine.io-protocol suite's configuration.
pub fn eio_config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .cors(Cors::any())
}

/// The echo engine with the suite's configuration.
pub fn eio_engine() -> Engine {
    Engine::new(eio_config(), Echo)
}

/// The socket.io-protocol suite's server: on connection emit `auth` with
/// the handshake's auth; `message` is answered by `message-back` with the
/// same arguments; `message-with-ack` acks with its arguments; `/custom`
/// emits `auth` too. `connectTimeout` is 1000 ms. The CONNECT answer is
/// sent 1 ms ahead of the connection handler's first emit
/// (`connect_ack_gap`): the suite's raw client handles one WebSocket frame
/// per read and would miss the emit if both arrived in one read.
pub fn sio_server() -> socketio::SocketIo {
    let config = socketio::SocketIoConfig::default()
        .connect_timeout(Duration::from_millis(1000))
        .connect_ack_gap(Duration::from_millis(1));
    let io = socketio::SocketIo::builder().config(config).build();
    io.of("/").on_connection(|socket| async move {
        let _ = socket.emit("auth", socket.handshake().auth.clone());
        socket.on("message", |socket, data, _| async move {
            let _ = socket.emit("message-back", data);
        });
        socket.on("message-with-ack", |_, data, ack| async move {
            if let Some(ack) = ack {
                let _ = ack.send(data);
            }
        });
    });
    io.of("/custom").on_connection(|socket| async move {
        let _ = socket.emit("auth", socket.handshake().auth.clone());
    });
    io
}

/// The Socket.IO suite's engine (path `/socket.io/`).
pub fn sio_engine() -> Engine {
    sio_server().engine(eio_config())
}

/// The workspace README's Rust examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The embedding guide's Rust examples (`docs/embedding.md`), compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/embedding.md")]
pub struct EmbeddingDoctests;
