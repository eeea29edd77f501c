//! [`SocketIo`]: the server's handle: its builder, its namespaces, the
//! entry point that turns a transport connection into a [`Connection`],
//! and shutdown. The state behind the handle is the connections'
//! [`Shared`] state.

use std::future::Future;
use std::sync::Arc;

use engineio::{Hooks, Refusal, RequestHead, RequestInfo};
use futures_util::FutureExt;

use crate::adapter::{AdapterFactory, IntoRooms, LocalAdapter, LocalNamespace};
use crate::client::{Connection, Shared};
use crate::config::SocketIoConfig;
use crate::conn::Conn;
use crate::data::Data;
use crate::error::{AdapterError, DisconnectReason, EmitError};
use crate::handshake::ConnectionInfo;
use crate::namespace::{Directory, Namespace, ParentNamespace};
use crate::operators::BroadcastOperator;
use crate::runtime::Runtime;

/// A Socket.IO server. Cheap to clone.
#[derive(Clone)]
pub struct SocketIo(pub(crate) Arc<Shared>);

/// Builds a [`SocketIo`].
pub struct SocketIoBuilder {
    config: SocketIoConfig,
    runtime: Option<Arc<dyn Runtime>>,
    adapter: Option<AdapterFactory>,
    hooks: Hooks,
}

impl SocketIoBuilder {
    /// Server options.
    pub fn config(mut self, config: SocketIoConfig) -> Self {
        self.config = config;
        self
    }

    /// The runtime (required without the `tokio` feature).
    pub fn runtime(mut self, rt: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(rt);
        self
    }

    /// The adapter of every namespace. Default [`LocalAdapter`].
    pub fn adapter(mut self, factory: AdapterFactory) -> Self {
        self.adapter = Some(factory);
        self
    }

    /// Installs an async hook that sees every Engine.IO handshake request
    /// (method, path, query, headers, peer) before a connection exists,
    /// and may refuse it with a [`Refusal`]: answered with its status
    /// (403 unless chosen) and `{"code":4,"message":...}`, CORS headers
    /// included (the reference's `allowRequest`).
    pub fn allow_request<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(RequestInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Refusal>> + Send + 'static,
    {
        self.hooks = self.hooks.allow_request(hook);
        self
    }

    /// Installs a hook that adds headers to the answer of every handshake,
    /// polling or WebSocket (the reference's `initial_headers` event), say
    /// a `Set-Cookie`. Added headers are appended to the answer's own.
    pub fn initial_headers<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RequestHead<'_>, &mut http::HeaderMap) + Send + Sync + 'static,
    {
        self.hooks = self.hooks.initial_headers(hook);
        self
    }

    /// Installs a hook that adds headers to every successful answer: the
    /// handshake's, every polling `GET` and `POST`, and the `101` of every
    /// WebSocket (the reference's `headers` event). See [`Hooks`].
    pub fn headers<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RequestHead<'_>, &mut http::HeaderMap) + Send + Sync + 'static,
    {
        self.hooks = self.hooks.headers(hook);
        self
    }

    /// With `true`, every received event and ack knows the headers of the
    /// HTTP request that carried it ([`Data::request_headers`]): over
    /// polling the `POST` that held it, over WebSocket the request that
    /// opened the WebSocket (handshake or upgrade).
    /// Default `false`: no headers are kept per message.
    pub fn message_headers(mut self, keep: bool) -> Self {
        self.hooks = self.hooks.message_headers(keep);
        self
    }

    /// Builds the server with its main namespace `/`.
    ///
    /// # Panics
    /// Without the `tokio` feature, when no runtime was given.
    pub fn build(self) -> SocketIo {
        #[cfg(feature = "tokio")]
        let runtime = self
            .runtime
            .unwrap_or_else(|| Arc::new(crate::runtime::TokioRuntime));
        #[cfg(not(feature = "tokio"))]
        let runtime = self
            .runtime
            .expect("a Runtime is required without the tokio feature");
        let factory = self.adapter.unwrap_or_else(LocalAdapter::factory);
        let namespaces = Directory::new(self.config, runtime, factory);
        let io = SocketIo(Arc::new(Shared::new(namespaces, self.hooks)));
        io.of("/");
        io
    }
}

impl SocketIo {
    /// A builder.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder {
            config: SocketIoConfig::default(),
            runtime: None,
            adapter: None,
            hooks: Hooks::default(),
        }
    }

    /// A server with default options on tokio.
    #[cfg(feature = "tokio")]
    pub fn new() -> SocketIo {
        SocketIo::builder().build()
    }

    /// The configuration.
    pub fn config(&self) -> &SocketIoConfig {
        self.0.namespaces().config()
    }

    /// The request hooks given to the builder
    /// ([`SocketIoBuilder::allow_request`], [`initial_headers`](SocketIoBuilder::initial_headers),
    /// [`headers`](SocketIoBuilder::headers), [`message_headers`](SocketIoBuilder::message_headers)).
    /// `SocketIo::engine` (feature `tokio`) installs them on its engine; a driver on
    /// another runtime runs them itself: [`Hooks::check`] on each
    /// handshake, [`Hooks::response_headers`] on each successful answer,
    /// and, when [`Hooks::keeps_message_headers`], feeds each message
    /// with [`Connection::handle_text_with`] and
    /// [`Connection::handle_binary_with`].
    pub fn hooks(&self) -> &Hooks {
        self.0.hooks()
    }

    /// The static namespace `name`, created if needed.
    pub fn of(&self, name: &str) -> Namespace {
        let name = if name.starts_with('/') {
            name.to_owned()
        } else {
            format!("/{name}")
        };
        self.0.namespaces().of(name)
    }

    /// A dynamic namespace: children are created for names `predicate` accepts.
    pub fn dynamic(
        &self,
        predicate: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> ParentNamespace {
        self.0.namespaces().dynamic(Arc::new(predicate))
    }

    /// Existing namespaces (static and created children).
    pub fn namespaces(&self) -> Vec<Namespace> {
        self.0.namespaces().all()
    }

    /// Takes a new transport connection. Feed the returned [`Connection`]
    /// its messages; this is the runtime-independent entry point.
    pub fn accept(&self, conn: Arc<dyn Conn>, info: ConnectionInfo) -> Connection {
        Connection::new(conn, self.0.clone(), info)
    }

    /// Attaches the server's [`Observer`](crate::Observer), which hears
    /// every namespace from now on (one per server: the Admin UI's, for
    /// instance). Gives it back when one is attached already.
    pub fn observe(
        &self,
        observer: Arc<dyn crate::Observer>,
    ) -> Result<(), Arc<dyn crate::Observer>> {
        self.0.namespaces().observer().set(observer)
    }

    /// Broadcast on the main namespace to `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.of("/").to(rooms)
    }

    /// Broadcast on the main namespace except `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.of("/").except(rooms)
    }

    /// Emits to every socket of the main namespace.
    pub fn emit(&self, event: &str, data: impl Into<Data>) -> Result<(), EmitError> {
        self.of("/").emit(event, data)
    }

    /// Listens to `server_side_emit` events from other nodes (on the main
    /// namespace, as the reference's `io.on`).
    pub fn on_server_side(
        &self,
        event: impl Into<String>,
        f: impl Fn(&Data) + Send + Sync + 'static,
    ) {
        self.of("/").on_server_side(event.into(), Arc::new(f));
    }

    /// Answers `server_side_emit_with_ack` events from other nodes (on the
    /// main namespace): `f`'s answer goes back to the emitting node; one
    /// answering listener per event.
    pub fn on_server_side_with_ack(
        &self,
        event: impl Into<String>,
        f: impl Fn(&Data) -> Data + Send + Sync + 'static,
    ) {
        self.of("/").on_server_side_ack(event.into(), Arc::new(f));
    }

    /// Emits to the listeners of the other nodes and collects one answer
    /// per other node (the first argument of its answer), within the
    /// adapter's request timeout; a node with no answering listener makes
    /// it time out, as in the reference.
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        data: impl Into<Data>,
    ) -> Result<Vec<Data>, AdapterError> {
        self.of("/")
            .adapter()
            .server_side_emit_with_ack(event.to_owned(), data.into())
            .await
    }

    /// Emits to the `on_server_side` listeners of the other nodes.
    pub async fn server_side_emit(
        &self,
        event: &str,
        data: impl Into<Data>,
    ) -> Result<(), AdapterError> {
        self.of("/")
            .adapter()
            .server_side_emit(event.to_owned(), data.into())
            .await
    }

    /// Delivers a `server_side_emit` from another node to the main
    /// namespace's listeners (adapters do this through
    /// [`LocalNamespace::server_side_emit`](crate::LocalNamespace::server_side_emit)).
    pub fn handle_server_side(&self, event: &str, data: &Data) {
        self.of("/").0.server_side_emit(event, data);
    }

    /// Shuts down: every socket disconnects with reason "server shutting
    /// down" and every connection closes.
    pub fn close(&self) {
        // Like the reference: no DISCONNECT packet (clients would not
        // reconnect); sockets end with "server shutting down" and the
        // connections close, so clients reconnect to the next server.
        for n in self.namespaces() {
            for s in n.sockets() {
                s.close(DisconnectReason::ServerShuttingDown);
                s.close_connection();
            }
            // Then the adapter stops (a distributed one leaves its peers).
            let mut closing = n.adapter().close();
            if (&mut closing).now_or_never().is_none() {
                n.runtime().spawn(closing);
            }
        }
    }
}

#[cfg(feature = "tokio")]
impl Default for SocketIo {
    fn default() -> Self {
        SocketIo::new()
    }
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("config", self.config())
            .finish()
    }
}
