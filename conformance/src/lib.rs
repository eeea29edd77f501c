//! Servers configured for the official protocol test suites.
//!
//! [`eio_engine`] is the Engine.IO server the `socketio/engine.io-protocol`
//! suite expects: path `/engine.io/`, `pingInterval` 300, `pingTimeout` 200,
//! `maxPayload` 1000000, CORS for any origin, every message echoed back as
//! it came (text as text, binary as binary). One addition for the interop
//! tests: the text message `close-me` is not echoed; the server closes the
//! session instead.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

use std::time::Duration;

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
