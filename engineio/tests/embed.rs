//! Embedding: mounting the engine in another hyper service, and handing it
//! an already-accepted connection.
mod common;
use common::*;

use std::convert::Infallible;

use engineio::bytes::Bytes;
use engineio::Engine;
use hyper::service::service_fn;

#[tokio::test]
async fn mounted_next_to_other_routes() {
    let rec = Recorder::default();
    let engine = Engine::new(fast_config(), rec.clone());
    let addr = serve_hyper(move |_| {
        let engine = engine.clone();
        service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let engine = engine.clone();
            async move {
                if req.uri().path().starts_with("/engine.io") {
                    Ok::<_, Infallible>(engine.handle(req).await)
                } else {
                    Ok(hyper::Response::new(http_body_util::Full::new(
                        Bytes::from_static(b"app"),
                    )))
                }
            }
        })
    })
    .await;
    assert_eq!(get(addr, "/health").await.text(), "app");
    let (sid, _) = open_polling(addr).await;
    post(addr, &eio(Some(&sid), "polling"), b"4hi").await;
    assert_eq!(get(addr, &eio(Some(&sid), "polling")).await.text(), "4hi");
    let (mut ws, _) = open_ws(addr).await;
    ws_send(&mut ws, "4ws").await;
    assert_eq!(ws_text(&mut ws).await, "4ws");
}

#[tokio::test]
async fn serve_an_accepted_connection() {
    let rec = Recorder::default();
    let engine = Engine::new(fast_config(), rec.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let e = engine.clone();
    tokio::spawn(async move {
        let (stream, peer) = listener.accept().await.unwrap();
        e.serve_connection(stream, Some(peer)).await
    });
    let (mut ws, sid) = open_ws(addr).await;
    ws_send(&mut ws, "4one").await;
    assert_eq!(ws_text(&mut ws).await, "4one");
    let peer = rec.socket(&sid).handshake().peer.unwrap();
    assert!(peer.ip().is_loopback());
    assert_eq!(
        rec.socket(&sid).handshake().query("transport").as_deref(),
        Some("websocket")
    );
}

/// The service's futures, driven by hand as a wrapper might: a finished
/// POST no longer counts as active even while its future is kept, and a
/// future polled again after its answer answers 500 instead of panicking.
#[tokio::test]
async fn service_futures_end_their_post_when_answered() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let svc = srv.engine.service(None);
    let post = |body: &'static [u8]| {
        let req = hyper::Request::post(eio(Some(&sid), "polling"))
            .body(http_body_util::Full::new(Bytes::from_static(body)))
            .unwrap();
        hyper::service::Service::call(&svc, req)
    };
    let mut first = Box::pin(post(b"4one"));
    let resp = first.as_mut().await.unwrap();
    assert_eq!(resp.status(), 200);
    // Kept, not dropped: the next POST must not be taken as overlapping.
    let resp = post(b"4two").await.unwrap();
    assert_eq!(resp.status(), 200, "the first POST ended when answered");
    let mut cx = Context::from_waker(Waker::noop());
    match first.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(r)) => assert_eq!(r.status(), 500),
        other => panic!("expected a 500 answer, got {other:?}"),
    }
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4one\x1e4two"
    );
}
