//! The tower layer (feature `tower`) on hyper's own connections, with
//! hyper's `Incoming` bodies: the engine path goes to the engine (polling,
//! WebSocket, with the peer a `PeerAddr` extension names), every other
//! path to the inner service.
mod common;
use common::*;

use std::convert::Infallible;
use std::future::{poll_fn, Ready};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use engineio::bytes::Bytes;
use engineio::tower::{EngineLayer, EngineMount};
use engineio::{Engine, PeerAddr};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

/// The application under the layer: answers `app <path>`.
#[derive(Clone)]
struct App;

impl Service<Request<Incoming>> for App {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        let body = format!("app {}", req.uri().path());
        std::future::ready(Ok(Response::new(Full::new(Bytes::from(body)))))
    }
}

/// Serves `mount` on 127.0.0.1:0 with hyper, as a tower service should be
/// driven: ready first, then called; each request carries its `PeerAddr`.
async fn serve(mount: EngineMount<App>) -> SocketAddr {
    serve_hyper(move |peer| {
        let mount = mount.clone();
        service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(PeerAddr(peer));
            let mut svc = mount.clone();
            async move {
                poll_fn(|cx| svc.poll_ready(cx)).await?;
                svc.call(req).await
            }
        })
    })
    .await
}

async fn start() -> (SocketAddr, Recorder) {
    let rec = Recorder::default();
    let engine = Engine::new(fast_config(), rec.clone());
    let addr = serve(EngineLayer::new(engine).layer(App)).await;
    (addr, rec)
}

#[tokio::test]
async fn other_paths_reach_the_inner_service() {
    let (addr, rec) = start().await;
    assert_eq!(get(addr, "/health").await.text(), "app /health");
    assert_eq!(
        get(addr, "/engine.io/more").await.text(),
        "app /engine.io/more"
    );
    assert!(rec.sockets.lock().unwrap().is_empty());
}

#[tokio::test]
async fn polling_through_the_layer() {
    let (addr, rec) = start().await;
    let (sid, _) = open_polling(addr).await;
    post(addr, &eio(Some(&sid), "polling"), b"4hi").await;
    assert_eq!(get(addr, &eio(Some(&sid), "polling")).await.text(), "4hi");
    let peer = rec.socket(&sid).handshake().peer.expect("a peer address");
    assert!(peer.ip().is_loopback(), "{peer}");
}

#[tokio::test]
async fn websocket_through_the_layer() {
    let (addr, rec) = start().await;
    let (mut ws, sid) = open_ws(addr).await;
    ws_send(&mut ws, "4ws").await;
    assert_eq!(ws_text(&mut ws).await, "4ws");
    assert!(rec.socket(&sid).handshake().peer.is_some());
}
