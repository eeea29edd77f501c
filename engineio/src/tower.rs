//! Tower glue (feature `tower`): the engine as a
//! [`tower_service::Service`], and a [`tower_layer::Layer`] that puts it in
//! front of another service, such as an axum `Router`.
//!
//! - [`EngineTowerService`] answers every request as [`Engine::handle`]
//!   does: mount it on the engine path yourself (axum:
//!   `Router::route_service("/engine.io/", service)`).
//! - [`EngineLayer`] wraps an inner service into an [`EngineMount`]:
//!   requests whose path is the engine path (with or without its trailing
//!   slash, as the engine compares them) go to the engine, every other one
//!   to the inner service, whose errors and response bodies pass through
//!   untouched. Responses unify both bodies as
//!   [`http_body_util::Either`]: `Left` the engine's, `Right` the inner's.
//!
//! Both take any request body hyper's transports accept (hyper's
//! `Incoming`, axum's `Body`); a WebSocket upgrade needs hyper's upgrade
//! extension on the request, which hyper and axum keep. The server the app
//! runs (its timeouts, HTTP versions, graceful shutdown) is the app's:
//! [`EngineConfig::header_read_timeout`](crate::EngineConfig::header_read_timeout)
//! and the lingering close apply only to [`Engine::serve`].
//!
//! # Peer address
//! The engine finds the client's address (for
//! [`Handshake::peer`](crate::Handshake) and
//! [`RequestInfo::peer`](crate::RequestInfo)) in the request's extensions:
//! by default a [`PeerAddr`]; with [`EngineLayer::peer_from`] (or
//! [`EngineTowerService::peer_from`]), first wherever that function looks.
//! With axum that is `ConnectInfo<SocketAddr>`, which axum inserts when
//! served with `into_make_service_with_connect_info::<SocketAddr>()`:
//! `.peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0))`
//! (this crate does not depend on axum). Any extension an app's own
//! middleware inserts works the same way:
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use engineio::tower::EngineLayer;
//! # use engineio::{bytes::Bytes, Engine, EngineConfig, Handler, Socket, Str};
//! # struct Echo;
//! # impl Handler for Echo {
//! #     fn on_message(&self, _: &Socket, _: Str) {}
//! #     fn on_binary(&self, _: &Socket, _: Bytes) {}
//! # }
//!
//! /// What the app's middleware puts in each request.
//! #[derive(Clone)]
//! struct ClientAddr(SocketAddr);
//!
//! let engine = Engine::new(EngineConfig::default(), Echo);
//! let layer = EngineLayer::new(engine).peer_from(|ext| ext.get::<ClientAddr>().map(|c| c.0));
//! // `tower_layer::Layer::layer(&layer, app)`, or axum's `Router::layer(layer)`.
//! ```
//!
//! This module only routes requests and finds their peer; answering them
//! is the engine's.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{Extensions, Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::engine::{dispatch, Engine, PeerAddr};
use crate::routing::path_matches;
use crate::transport::ResponseFuture;

/// Finds a request's peer address in its extensions, for
/// [`EngineLayer::peer_from`] and [`EngineTowerService::peer_from`].
pub type PeerFn = fn(&Extensions) -> Option<SocketAddr>;

/// The engine as a tower [`Service`]: answers every request as
/// [`Engine::handle`] does (404 off the engine path). Always ready; cheap
/// to clone.
#[derive(Clone, Debug)]
pub struct EngineTowerService {
    engine: Engine,
    peer_from: Option<PeerFn>,
}

impl EngineTowerService {
    /// The service of `engine`, finding peers in a [`PeerAddr`] extension.
    pub fn new(engine: Engine) -> Self {
        EngineTowerService {
            engine,
            peer_from: None,
        }
    }

    /// Finds a request's peer with `find` first, then in a [`PeerAddr`]
    /// extension.
    pub fn peer_from(mut self, find: PeerFn) -> Self {
        self.peer_from = Some(find);
        self
    }

    /// The engine (for its sessions, or [`Engine::close_all`] on shutdown).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn peer(&self, ext: &Extensions) -> Option<SocketAddr> {
        self.peer_from
            .and_then(|find| find(ext))
            .or_else(|| ext.get::<PeerAddr>().map(|p| p.0))
    }
}

impl<B> Service<Request<B>> for EngineTowerService
where
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture<B>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let peer = self.peer(req.extensions());
        dispatch(&self.engine.0, req, peer)
    }
}

/// A [`Layer`] that sends the engine path's requests to the engine and the
/// others to the service it wraps (see [`EngineMount`]). Cheap to clone.
///
/// With axum: `Router::new().route(..).layer(EngineLayer::new(engine))`,
/// after the routes: axum runs a `layer` for the routes and for the
/// fallback, so the engine path needs no route of its own (`route_layer`
/// would skip the fallback, and with it the engine path).
#[derive(Clone, Debug)]
pub struct EngineLayer {
    service: EngineTowerService,
}

impl EngineLayer {
    /// A layer mounting `engine` on its configured path.
    pub fn new(engine: Engine) -> Self {
        EngineLayer {
            service: EngineTowerService::new(engine),
        }
    }

    /// Finds a request's peer with `find` first, then in a [`PeerAddr`]
    /// extension.
    pub fn peer_from(mut self, find: PeerFn) -> Self {
        self.service = self.service.peer_from(find);
        self
    }

    /// The engine (for its sessions, or [`Engine::close_all`] on shutdown).
    pub fn engine(&self) -> &Engine {
        self.service.engine()
    }
}

impl<S> Layer<S> for EngineLayer {
    type Service = EngineMount<S>;

    fn layer(&self, inner: S) -> EngineMount<S> {
        EngineMount {
            engine: self.service.clone(),
            inner,
        }
    }
}

/// The service an [`EngineLayer`] makes: the engine on its path, `S`
/// everywhere else.
///
/// `poll_ready` is the inner service's (the engine is always ready): the
/// caller learns whether a request can be taken before knowing where it
/// goes. A request for the engine then leaves the readiness the inner
/// service granted unused, for the next call, as the tower contract
/// allows; an inner service that reserves capacity when ready (a
/// concurrency limit, a buffer) holds it until that call.
#[derive(Clone, Debug)]
pub struct EngineMount<S> {
    engine: EngineTowerService,
    inner: S,
}

impl<S> EngineMount<S> {
    /// The wrapped service.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The engine (for its sessions, or [`Engine::close_all`] on shutdown).
    pub fn engine(&self) -> &Engine {
        self.engine.engine()
    }
}

impl<S, B, ResBody> Service<Request<B>> for EngineMount<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = Response<Either<Full<Bytes>, ResBody>>;
    type Error = S::Error;
    type Future = MountFuture<S::Future, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let kind = if path_matches(&self.engine.engine.config().path, req.uri().path()) {
            Kind::Engine {
                fut: self.engine.call(req),
            }
        } else {
            Kind::Inner {
                fut: self.inner.call(req),
            }
        };
        MountFuture { kind }
    }
}

pin_project! {
    /// The answer of an [`EngineMount`]: the engine's or the inner service's.
    #[must_use = "futures do nothing unless polled"]
    pub struct MountFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Engine { fut: ResponseFuture<B> },
        Inner { #[pin] fut: F },
    }
}

impl<F, B, ResBody, E> Future for MountFuture<F, B>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    B: Body + Unpin,
{
    type Output = Result<Response<Either<Full<Bytes>, ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Engine { fut } => match ready!(Pin::new(fut).poll(cx)) {
                Ok(resp) => Poll::Ready(Ok(resp.map(Either::Left))),
                Err(never) => match never {},
            },
            KindProj::Inner { fut } => {
                let resp = ready!(fut.poll(cx))?;
                Poll::Ready(Ok(resp.map(Either::Right)))
            }
        }
    }
}

impl<F, B> std::fmt::Debug for MountFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let to = match self.kind {
            Kind::Engine { .. } => "engine",
            Kind::Inner { .. } => "inner",
        };
        f.debug_tuple("MountFuture").field(&to).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use http::StatusCode;
    use http_body_util::BodyExt;

    use super::*;
    use crate::socket::Handler;
    use crate::{EngineConfig, Socket, Str};

    struct Quiet;
    impl Handler for Quiet {
        fn on_message(&self, _: &Socket, _: Str) {}
        fn on_binary(&self, _: &Socket, _: Bytes) {}
    }

    /// An inner service that is ready only when told, answers `/fail`
    /// with an error and everything else with its path.
    #[derive(Default)]
    struct Inner {
        ready: bool,
        calls: usize,
    }

    impl Service<Request<Full<Bytes>>> for Inner {
        type Response = Response<Full<Bytes>>;
        type Error = &'static str;
        type Future = std::future::Ready<Result<Self::Response, &'static str>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), &'static str>> {
            if self.ready {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        }

        fn call(&mut self, req: Request<Full<Bytes>>) -> Self::Future {
            self.calls += 1;
            std::future::ready(match req.uri().path() {
                "/fail" => Err("inner failed"),
                p => Ok(Response::new(Full::new(Bytes::from(p.to_owned())))),
            })
        }
    }

    fn mount() -> EngineMount<Inner> {
        let engine = Engine::new(EngineConfig::default(), Quiet);
        EngineLayer::new(engine).layer(Inner::default())
    }

    fn get(uri: &str) -> Request<Full<Bytes>> {
        Request::get(uri).body(Full::new(Bytes::new())).unwrap()
    }

    /// Polls a future that must be ready at once.
    fn now<F: Future>(fut: F) -> F::Output {
        let mut cx = Context::from_waker(Waker::noop());
        match std::pin::pin!(fut).poll(&mut cx) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("not ready"),
        }
    }

    fn text<B: Body + Unpin>(resp: Response<B>) -> String
    where
        B::Error: std::fmt::Debug,
    {
        let body = now(resp.into_body().collect()).unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[test]
    fn readiness_is_the_inner_services() {
        let mut svc = mount();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(svc.poll_ready(&mut cx).is_pending());
        svc.inner.ready = true;
        assert_eq!(svc.poll_ready(&mut cx), Poll::Ready(Ok(())));
    }

    #[test]
    fn the_engine_path_goes_to_the_engine() {
        let mut svc = mount();
        // No EIO=4: answered by the engine, without opening a session.
        for path in [
            "/engine.io/?EIO=3&transport=polling",
            "/engine.io?EIO=3&transport=polling",
        ] {
            let resp = now(svc.call(get(path))).unwrap();
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
            assert!(matches!(resp.body(), Either::Left(_)));
            let body = text(resp);
            assert!(body.contains("Unsupported protocol version"), "{body}");
        }
        assert_eq!(svc.inner.calls, 0);
    }

    #[test]
    fn other_paths_go_to_the_inner_service_and_its_errors_pass() {
        let mut svc = mount();
        let resp = now(svc.call(get("/engine.io/x"))).unwrap();
        assert!(matches!(resp.body(), Either::Right(_)));
        assert_eq!(text(resp), "/engine.io/x");
        assert_eq!(now(svc.call(get("/fail"))).unwrap_err(), "inner failed");
        assert_eq!(svc.inner.calls, 2);
    }

    #[test]
    fn peers_come_from_the_finder_then_peer_addr() {
        let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:2".parse().unwrap();
        let engine = Engine::new(EngineConfig::default(), Quiet);
        let plain = EngineTowerService::new(engine);
        let found = plain
            .clone()
            .peer_from(|ext| ext.get::<(u8, SocketAddr)>().map(|p| p.1));
        let mut ext = Extensions::new();
        assert_eq!(plain.peer(&ext), None);
        ext.insert(PeerAddr(a));
        assert_eq!(plain.peer(&ext), Some(a));
        assert_eq!(found.peer(&ext), Some(a), "falls back on PeerAddr");
        ext.insert((0u8, b));
        assert_eq!(found.peer(&ext), Some(b));
        assert_eq!(plain.peer(&ext), Some(a));
    }

    #[test]
    fn the_service_alone_answers_404_off_its_path() {
        let engine = Engine::new(EngineConfig::default(), Quiet);
        let mut svc = EngineTowerService::new(engine);
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(
            Service::<Request<Full<Bytes>>>::poll_ready(&mut svc, &mut cx),
            Poll::Ready(Ok(()))
        );
        let resp = now(svc.call(get("/elsewhere"))).unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
}
