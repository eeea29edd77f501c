//! An Engine.IO echo server on 127.0.0.1:3000, path `/engine.io/`.
//!
//! `cargo run -p engineio --example echo`, then connect `engine.io-client`.

use engineio::bytes::Bytes;
use engineio::{CloseReason, Engine, EngineConfig, Handler, Socket, Str};

struct Echo;

impl Handler for Echo {
    fn on_connect(&self, socket: &Socket) {
        println!("{} connected over {:?}", socket.sid(), socket.transport());
    }

    fn on_message(&self, socket: &Socket, text: Str) {
        // A full send buffer is reported, never hidden: here we just log it.
        if let Err(e) = socket.send_text(text) {
            eprintln!("{}: {e}", socket.sid());
        }
    }

    fn on_binary(&self, socket: &Socket, data: Bytes) {
        let _ = socket.send_binary(data);
    }

    fn on_close(&self, socket: &Socket, reason: CloseReason) {
        println!("{} closed: {reason}", socket.sid());
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let engine = Engine::new(EngineConfig::default(), Echo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    engine.serve(listener).await
}
