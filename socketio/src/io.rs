//! The tokio/hyper driver: Socket.IO on the `engineio` crate's transports,
//! served by the engine itself or, with the `tower` feature, mounted in the
//! application's tower stack (an axum `Router`) through `engineio::tower`.

use std::sync::Arc;

use engineio::bytes::Bytes;
use engineio::{CloseReason, Engine, EngineConfig, Str};
use http::HeaderMap;

use crate::client::Connection;
use crate::error::DisconnectReason;
use crate::handshake::ConnectionInfo;
use crate::server::SocketIo;

/// Bridges engine sessions to Socket.IO connections.
struct Bridge(SocketIo);

impl engineio::Handler for Bridge {
    fn on_connect(&self, socket: &engineio::Socket) {
        let info = ConnectionInfo::from(socket.handshake()).with_sid(socket.sid());
        let conn = self.0.accept(Arc::new(socket.clone()), info);
        let _ = socket.set_data(conn);
    }

    fn on_message(&self, socket: &engineio::Socket, text: Str) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_message(text, None);
        }
    }

    fn on_binary(&self, socket: &engineio::Socket, data: Bytes) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_binary(data);
        }
    }

    fn on_message_with(&self, socket: &engineio::Socket, text: Str, headers: &Arc<HeaderMap>) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_message(text, Some(headers.clone()));
        }
    }

    fn on_binary_with(&self, socket: &engineio::Socket, data: Bytes, headers: &Arc<HeaderMap>) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_binary_with(data, Some(headers.clone()));
        }
    }

    fn on_close(&self, socket: &engineio::Socket, r: CloseReason) {
        if let Some(c) = socket.data::<Connection>() {
            c.handle_close(DisconnectReason::from(&r));
        }
    }
}

impl SocketIo {
    /// An Engine.IO engine serving this server, with its
    /// [hooks](SocketIo::hooks). The default engine path `/engine.io/`
    /// becomes `/socket.io/`.
    pub fn engine(&self, mut config: EngineConfig) -> Engine {
        if config.path == EngineConfig::default().path {
            config.path = "/socket.io/".into();
        }
        Engine::builder(config)
            .hooks(self.hooks().clone())
            .build(Bridge(self.clone()))
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

/// Socket.IO in a tower stack: see `engineio::tower` for the routing, the
/// response bodies and the peer address. Both return the engine's handle
/// too ([`EngineLayer::engine`](engineio::tower::EngineLayer::engine)), to
/// close its sessions on shutdown; the [`SocketIo`] itself is cheap to
/// clone into the application's state.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::net::SocketAddr;
/// use axum::extract::{ConnectInfo, State};
/// use axum::routing::get;
/// use socketio::SocketIo;
///
/// let io = SocketIo::new();
/// io.of("/").on_connection(|socket| async move {
///     socket.on("chat", |socket, data, _| async move {
///         let _ = socket.broadcast().emit("chat", data);
///     });
/// });
/// let layer = io
///     .layer(engineio::EngineConfig::default())
///     .peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0));
/// let app = axum::Router::new()
///     .route("/news", get(|State(io): State<SocketIo>| async move {
///         let _ = io.emit("news", "from the REST route");
///     }))
///     .with_state(io.clone())
///     .layer(layer); // Socket.IO on /socket.io/, beside /news
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
/// # }
/// ```
#[cfg(feature = "tower")]
impl SocketIo {
    /// A layer that serves this server on the engine path of `config`
    /// (`/socket.io/` by default, as [`SocketIo::engine`]) and passes every
    /// other request to the service it wraps.
    pub fn layer(&self, config: EngineConfig) -> engineio::tower::EngineLayer {
        engineio::tower::EngineLayer::new(self.engine(config))
    }

    /// A tower service that serves this server (404 off the engine path of
    /// `config`), to mount on that path yourself, for instance with
    /// axum's `Router::route_service("/socket.io/", ..)`.
    pub fn service(&self, config: EngineConfig) -> engineio::tower::EngineTowerService {
        engineio::tower::EngineTowerService::new(self.engine(config))
    }
}
