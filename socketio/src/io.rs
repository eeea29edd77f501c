//! The tokio/hyper driver: Socket.IO on the `engineio` crate's transports.

use std::sync::Arc;

use engineio::bytes::Bytes;
use engineio::{CloseReason, Engine, EngineConfig, Str};

use crate::client::Connection;
use crate::error::DisconnectReason;
use crate::handshake::ConnectionInfo;
use crate::server::SocketIo;

/// Bridges engine sessions to Socket.IO connections.
struct Bridge(SocketIo);

impl engineio::Handler for Bridge {
    fn on_connect(&self, socket: &engineio::Socket) {
        let info = ConnectionInfo::from(socket.handshake());
        let conn = self.0.accept(Arc::new(socket.clone()), info);
        let _ = socket.set_data(conn);
    }

    fn on_message(&self, socket: &engineio::Socket, text: Str) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_text(&text);
        }
    }

    fn on_binary(&self, socket: &engineio::Socket, data: Bytes) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_binary(data);
        }
    }

    fn on_close(&self, socket: &engineio::Socket, r: CloseReason) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_close(DisconnectReason::from(&r));
        }
    }
}

impl SocketIo {
    /// An Engine.IO engine serving this server. The default engine path
    /// `/engine.io/` becomes `/socket.io/`.
    pub fn engine(&self, mut config: EngineConfig) -> Engine {
        if config.path == EngineConfig::default().path {
            config.path = "/socket.io/".into();
        }
        Engine::new(config, Bridge(self.clone()))
    }

    /// Serves this server on `listener` with `config` until the listener fails.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        config: EngineConfig,
    ) -> std::io::Result<()> {
        self.engine(config).serve(listener).await
    }
}
