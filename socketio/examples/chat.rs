//! A chat server: rooms, acks and binary.
//!
//! `cargo run -p socketio --example chat`, then from a socket.io-client:
//! `socket.emit("join", "lobby", (rooms) => ...)`,
//! `socket.emit("message", "lobby", "hello", (status) => ...)`,
//! `socket.emit("image", "lobby", new Uint8Array([...]))`.

use std::time::Duration;

use engineio::EngineConfig;
use serde_json::json;
use socketio::{Data, SocketIo};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = SocketIo::new();
    io.of("/").on_connection(|socket| async move {
        println!("{} connected", socket.id());

        // Join a room and acknowledge with the socket's rooms.
        socket.on("join", |socket, data: Data, ack| async move {
            let Ok(room) = data.get::<String>(0) else {
                return;
            };
            socket.join(room.as_str());
            let _ = socket
                .to(room.as_str())
                .emit("joined", json!({ "id": socket.id().as_str() }));
            if let Some(ack) = ack {
                let _ = ack.send(json!(socket.rooms()));
            }
        });

        // A text message to a room, acknowledged once broadcast.
        socket.on("message", |socket, data: Data, ack| async move {
            let (room, text): (String, String) = match data.parse() {
                Ok(v) => v,
                Err(e) => {
                    let _ = socket.emit("error", e.to_string());
                    return;
                }
            };
            let out = json!({ "from": socket.id().as_str(), "text": text });
            let status = match socket.to(room.as_str()).emit("message", out) {
                Ok(()) => "delivered",
                Err(_) => "failed",
            };
            if let Some(ack) = ack {
                let _ = ack.send(status);
            }
        });

        // Binary is forwarded as is: encoded once for the whole room.
        socket.on("image", |socket, data: Data, _| async move {
            let Ok(room) = data.get::<String>(0) else {
                return;
            };
            let Some(bytes) = data.binary_arg(1).cloned() else {
                return;
            };
            let out = Data::new().arg(socket.id().as_str()).binary(bytes);
            let _ = socket.to(room.as_str()).emit("image", out);
        });

        // Ask the client something and wait for its answer.
        socket.on("whoami", |socket, _, _| async move {
            match socket
                .emit_with_ack("name?", (), Duration::from_secs(5))
                .await
            {
                Ok(answer) => println!("{} is {:?}", socket.id(), answer.args()),
                Err(e) => println!("{} did not answer: {e}", socket.id()),
            }
        });

        socket.on_disconnect(|socket, reason| println!("{} left: {reason}", socket.id()));
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("chat on http://127.0.0.1:3000/socket.io/");
    io.serve(listener, EngineConfig::default()).await
}
