//! Socket.IO on this driver: [`SmolRuntime`] as the core's
//! [`socketio::Runtime`], this crate's [`Socket`] as its [`socketio::Conn`],
//! and [`engine`] / [`serve`], which bridge engine sessions to Socket.IO
//! connections as `SocketIo::engine` does on tokio.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use async_io::{Async, Timer};
use bytes::Bytes;
use engineio::{CloseReason, EngineConfig, Packet, SendError, Str};
use http::HeaderMap;
use socketio::{Conn, Connection, ConnectionInfo, DisconnectReason, Encoded, SocketIo};

use crate::engine::Engine;
use crate::socket::{Handler, Socket};
use crate::SmolRuntime;

impl socketio::Runtime for SmolRuntime {
    fn spawn(&self, fut: socketio::BoxFuture<()>) {
        SmolRuntime::spawn(self, fut);
    }

    fn sleep(&self, duration: Duration) -> socketio::BoxFuture<()> {
        Box::pin(async move {
            Timer::after(duration).await;
        })
    }
}

impl Conn for Socket {
    fn send(&self, packet: &Encoded) -> Result<(), SendError> {
        let compress = packet.compress();
        match (packet.text(), packet.binary()) {
            // The JSON parser's text alone (most packets): no group.
            (Some(text), _) if packet.attachments().is_empty() => {
                self.send_with(Packet::Message(text.clone()), compress)
            }
            // The msgpack parser's one binary message.
            (_, Some(data)) => self.send_with(Packet::Binary(data.clone()), compress),
            // Text and its attachments, back to back.
            _ => self.send_group(packet.to_engine_packets(), compress),
        }
    }

    fn close(&self) {
        Socket::close(self)
    }

    fn transport(&self) -> Option<&'static str> {
        Some(Socket::transport(self).as_str())
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }
}

/// Bridges engine sessions to Socket.IO connections.
struct Bridge(SocketIo);

impl Handler for Bridge {
    fn on_connect(&self, socket: &Socket) {
        let info = ConnectionInfo::from(socket.handshake()).with_sid(socket.sid());
        let conn = self.0.accept(Arc::new(socket.clone()), info);
        let _ = socket.set_data(conn);
    }

    fn on_message(&self, socket: &Socket, text: Str) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_message(text, None);
        }
    }

    fn on_binary(&self, socket: &Socket, data: Bytes) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_binary(data);
        }
    }

    fn on_message_with(&self, socket: &Socket, text: Str, headers: &Arc<HeaderMap>) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_message(text, Some(headers.clone()));
        }
    }

    fn on_binary_with(&self, socket: &Socket, data: Bytes, headers: &Arc<HeaderMap>) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_binary_with(data, Some(headers.clone()));
        }
    }

    fn on_close(&self, socket: &Socket, r: CloseReason) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_close(DisconnectReason::from(&r));
        }
    }
}

/// An engine serving `io` on `runtime`; the default engine path
/// `/engine.io/` becomes `/socket.io/`. Build `io` with
/// `SocketIo::builder().runtime(Arc::new(runtime.clone()))`, so that its
/// timers and tasks run on the same executor. The engine runs `io`'s
/// request hooks ([`SocketIo::hooks`]) as [`Engine::with_hooks`] says.
pub fn engine(io: &SocketIo, mut config: EngineConfig, runtime: &SmolRuntime) -> Engine {
    if config.path == EngineConfig::default().path {
        config.path = "/socket.io/".into();
    }
    Engine::with_hooks(config, io.hooks().clone(), Bridge(io.clone()), runtime)
}

/// Serves `io` on `listener` with `config` until the listener fails.
pub async fn serve(
    io: &SocketIo,
    listener: Async<TcpListener>,
    config: EngineConfig,
    runtime: &SmolRuntime,
) -> io::Result<()> {
    engine(io, config, runtime).serve(listener).await
}
