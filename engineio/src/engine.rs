//! [`Engine`]: the entry points that serve HTTP, over the shared state in
//! [`crate::registry`].
//!
//! Routes each request on the engine path: a handshake (after the
//! `allow_request` hook) opens a session, registers it and spawns its
//! driver; a request with a sid goes to that session's transport. This is
//! the only module that names both the transports and the driver. Each
//! session lives in its own driver task; the engine only holds the
//! registry's handles, never a session's state.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Body;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

use crate::accept::{self, First};
use crate::config::{EngineConfig, TransportKind};
use crate::driver::Driver;
use crate::error::CloseReason;
use crate::handshake::Handshake;
use crate::hooks::{BoxFuture, Hooks, Refusal, RequestInfo};
use crate::opening;
use crate::registry::Inner;
use crate::routing::{self, Route};
use crate::sid::Sid;
use crate::socket::{Handler, Socket};
use crate::transport::linger::lingering_after;
use crate::transport::{
    at_capacity, cors, error, full, not_found, now, polling, preflight, refused, websocket,
    ErrorCode, Resp, ResponseFuture,
};

/// The peer address of a request, as a request extension: apps that mount
/// [`Engine::handle`] (or an [`EngineService`] made without a peer, or the
/// `tower` feature's service or layer) in their own server insert it to
/// have it in [`Handshake::peer`](crate::Handshake) and
/// [`RequestInfo::peer`]. [`Engine::serve`] and
/// [`Engine::serve_connection`] pass the address along themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// An Engine.IO server: configuration, a [`Handler`] and the open sessions.
/// Cheap to clone.
#[derive(Clone)]
pub struct Engine(pub(crate) Arc<Inner>);

/// Builds an [`Engine`].
pub struct EngineBuilder {
    config: EngineConfig,
    hooks: Hooks,
}

impl EngineBuilder {
    /// Installs an async hook that sees every handshake request (method,
    /// path, query, headers, peer) and may refuse it (see
    /// [`Hooks::allow_request`]).
    pub fn allow_request<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(RequestInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Refusal>> + Send + 'static,
    {
        self.hooks = self.hooks.allow_request(hook);
        self
    }

    /// Replaces every hook with `hooks`: the way to install the response
    /// headers hooks ([`Hooks::initial_headers`], [`Hooks::headers`]) and
    /// [`Hooks::message_headers`], or a bundle built elsewhere (say by a
    /// Socket.IO server).
    pub fn hooks(mut self, hooks: Hooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// Builds the engine reporting to `handler`.
    pub fn build(self, handler: impl Handler) -> Engine {
        Engine(Arc::new(Inner::new(
            self.config,
            Arc::new(handler),
            self.hooks,
        )))
    }
}

impl Engine {
    /// An engine with `config` reporting to `handler`.
    pub fn new(config: EngineConfig, handler: impl Handler) -> Engine {
        Engine::builder(config).build(handler)
    }

    /// A builder for options beyond [`EngineConfig`].
    pub fn builder(config: EngineConfig) -> EngineBuilder {
        EngineBuilder {
            config,
            hooks: Hooks::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.0.config
    }

    /// The request hooks.
    pub fn hooks(&self) -> &Hooks {
        &self.0.hooks
    }

    /// The open session with this id.
    pub fn socket(&self, sid: Sid) -> Option<Socket> {
        self.0.lookup(&sid)
    }

    /// Every open session.
    pub fn sockets(&self) -> Vec<Socket> {
        self.0.sockets()
    }

    /// Number of open sessions.
    pub fn session_count(&self) -> usize {
        self.0.len()
    }

    /// Closes every session with reason "server shutting down".
    pub fn close_all(&self) {
        for s in self.sockets() {
            s.close_with(CloseReason::ServerShuttingDown);
        }
    }

    /// Answers one HTTP request on the engine path. Use this to mount the
    /// engine in another server; WebSocket upgrades need hyper's upgrade
    /// extension on the request (hyper and axum keep it).
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body + Send + Unpin + 'static,
        B::Data: Send,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let peer = req.extensions().get::<PeerAddr>().map(|p| p.0);
        match dispatch(&self.0, req, peer).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        }
    }

    /// A hyper [`Service`](hyper::service::Service) for this engine.
    pub fn service(&self, peer: Option<SocketAddr>) -> EngineService {
        EngineService {
            engine: self.clone(),
            peer,
        }
    }

    /// Serves HTTP/1.1 (with upgrades) on one already-accepted connection.
    /// A connection closed with its request unread (a 413) closes
    /// lingering, within [`EngineConfig::linger_timeout`] and
    /// [`EngineConfig::linger_bytes`], before this returns.
    pub async fn serve_connection<I>(
        &self,
        io: I,
        peer: Option<SocketAddr>,
    ) -> Result<(), hyper::Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.serve_after(io, Bytes::new(), peer).await
    }

    /// [`Engine::serve_connection`] for a stream off which `read` was
    /// read already: hyper reads those bytes first.
    async fn serve_after<I>(
        &self,
        io: I,
        read: Bytes,
        peer: Option<SocketAddr>,
    ) -> Result<(), hyper::Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let config = &self.0.config;
        let (io, linger) = lingering_after(io, read, config.linger_timeout, config.linger_bytes);
        let served = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
            .serve_connection(TokioIo::new(io), self.service(peer))
            .with_upgrades()
            .await;
        linger.finish().await;
        served
    }

    /// The connection's first request: the driver of the WebSocket session
    /// it opened, or `None` once hyper served the connection (or the
    /// client left).
    async fn first_request(self, stream: TcpStream, peer: SocketAddr) -> Option<Driver> {
        match accept::first_request(&self.0, &stream).await {
            First::Gone => None,
            First::Open(head, ahead) => accept::open(&self.0, stream, head, ahead, peer).await,
            First::Other(read) => {
                let _ = self.serve_after(stream, read, Some(peer)).await;
                None
            }
        }
    }

    /// Accepts connections on `listener` forever, one task per connection.
    /// A connection that opens a WebSocket session with its first request
    /// is answered without hyper, and its task becomes the session's
    /// driver; every other request is served by hyper as in
    /// [`Engine::serve_connection`].
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(c) => c,
                // Out of descriptors and similar: back off instead of spinning.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let first = self.clone().first_request(stream, peer);
            tokio::spawn(Connection::Accepting(Box::pin(first)));
        }
    }
}

/// The task of one connection accepted by [`Engine::serve`]: a WebSocket
/// handshake for a new session first is answered by the engine itself
/// and the task becomes the session's driver (see `accept`); anything
/// else is hyper's. What reads the head, runs the hook or serves hyper is
/// boxed (it is larger than the driver), so that a session's task holds
/// its driver and little else.
// The large variant is the one a connection lives in: boxing the driver
// would cost an allocation per session, to save nothing.
#[allow(clippy::large_enum_variant)]
enum Connection {
    Accepting(BoxFuture<Option<Driver>>),
    Driving(Driver),
}

impl Future for Connection {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            match this {
                Connection::Accepting(first) => match ready!(first.as_mut().poll(cx)) {
                    Some(driver) => *this = Connection::Driving(driver),
                    None => return Poll::Ready(()),
                },
                Connection::Driving(driver) => return Pin::new(driver).poll(cx),
            }
        }
    }
}

/// The engine as a hyper service, answering every request with [`Engine::handle`].
#[derive(Clone)]
pub struct EngineService {
    engine: Engine,
    peer: Option<SocketAddr>,
}

impl<B> hyper::service::Service<Request<B>> for EngineService
where
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = Response<Full<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture<B>;

    fn call(&self, req: Request<B>) -> Self::Future {
        // Passed along rather than stored in the request's extensions,
        // which would cost two allocations per request.
        let peer = self
            .peer
            .or_else(|| req.extensions().get::<PeerAddr>().map(|p| p.0));
        dispatch(&self.engine.0, req, peer)
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("sessions", &self.session_count())
            .finish()
    }
}

/// Answers one request; `peer` is the client's address, when known.
/// Everything that can be decided from the request alone is decided here,
/// before the returned future is first polled.
pub(crate) fn dispatch<B>(
    inner: &Arc<Inner>,
    req: Request<B>,
    peer: Option<SocketAddr>,
) -> ResponseFuture<B>
where
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let route = routing::route(
        &inner.config,
        req.method(),
        req.uri().path(),
        req.uri().query().unwrap_or(""),
        req.headers(),
    );
    let (sid, transport) = match route {
        Route::Session { sid, transport } => (sid, transport),
        Route::Open(transport) => return handshake(inner, req, transport, peer),
        Route::NotFound => return ResponseFuture::ready(not_found()),
        Route::Preflight => return ResponseFuture::ready(preflight(inner, &req)),
        Route::BadWebSocket(bad) => return ResponseFuture::ready(full(bad.response())),
        Route::Error(code) => return ResponseFuture::ready(cors(inner, &req, error(code))),
    };
    let Some(socket) = Sid::parse(&sid).and_then(|s| inner.lookup(&s)) else {
        return ResponseFuture::ready(cors(inner, &req, error(ErrorCode::UnknownSid)));
    };
    match transport {
        // Only a WebSocket request needs the upgrade headers looked at;
        // a malformed handshake leaves the session untouched.
        TransportKind::WebSocket => ResponseFuture::ready(match websocket::check_handshake(&req) {
            Ok(()) => websocket::upgrade(inner, socket, req),
            Err(bad) => full(bad.response()),
        }),
        TransportKind::Polling => polling::handle(inner, socket, req),
    }
}

fn handshake<B>(
    inner: &Arc<Inner>,
    req: Request<B>,
    transport: TransportKind,
    peer: Option<SocketAddr>,
) -> ResponseFuture<B>
where
    B: Body + Send + Unpin + 'static,
{
    let Some(hook) = inner.hooks.allow_request_hook() else {
        return ResponseFuture::ready(open_session(inner, req, transport, peer));
    };
    let info = RequestInfo::new(
        req.method().clone(),
        req.uri(),
        req.headers().clone(),
        peer,
        transport,
    );
    let hook = hook.clone();
    let inner = inner.clone();
    ResponseFuture::boxed(Box::pin(async move {
        // Called on the first poll, as an async handler would be.
        match hook(info).await {
            Ok(()) => open_session(&inner, req, transport, peer),
            Err(refusal) => cors(&inner, &req, refused(&refusal)),
        }
    }))
}

/// Opens a session for an accepted handshake, starts its driver and answers it.
fn open_session<B>(
    inner: &Arc<Inner>,
    req: Request<B>,
    transport: TransportKind,
    peer: Option<SocketAddr>,
) -> Resp
where
    B: Body + Send + Unpin + 'static,
{
    let handshake = Handshake::detached(req.uri(), req.headers(), peer);
    let now = now();
    let Some((socket, mut session)) = opening::open(inner, handshake, transport, now) else {
        return cors(inner, &req, at_capacity());
    };
    let sid = socket.sid();
    let opened = match transport {
        TransportKind::Polling => polling::open(inner, &mut session, &req, now)
            .map(|resp| (resp, Driver::new(session, socket, inner.clone()))),
        TransportKind::WebSocket => websocket::open(inner, sid, req).map(|(resp, on, deflate)| {
            (
                resp,
                Driver::with_upgrade(session, socket, inner.clone(), on, deflate),
            )
        }),
    };
    let Some((resp, driver)) = opened else {
        inner.unregister(sid);
        return error(ErrorCode::BadRequest);
    };
    tokio::spawn(driver);
    resp
}
