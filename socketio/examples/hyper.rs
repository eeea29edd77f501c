//! Socket.IO inside a plain hyper 1.x server, beside the app's own route.
//!
//! `cargo run -p socketio --example hyper [ADDR]` (default 127.0.0.1:3000),
//! then connect a socket.io-client to `http://ADDR` (it echoes `echo`
//! events) and `curl http://ADDR/health` (the number of open Engine.IO
//! sessions).
//!
//! Each connection is served by hyper with upgrades on (WebSocket needs
//! them); requests on the engine path go to `Engine::handle`, with the
//! peer address as an `engineio::PeerAddr` extension, the rest to the app.
//! No feature beyond the default is needed.

use std::convert::Infallible;

use engineio::bytes::Bytes;
use engineio::{Engine, EngineConfig, PeerAddr};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use socketio::SocketIo;

/// Answers one request: the engine's path to the engine, the rest here.
async fn route(
    engine: Engine,
    mut req: Request<Incoming>,
    peer: PeerAddr,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if path.trim_end_matches('/') == engine.config().path.trim_end_matches('/') {
        req.extensions_mut().insert(peer);
        return engine.handle(req).await;
    }
    let (status, body) = match path {
        "/health" => (
            StatusCode::OK,
            format!("{} sessions\n", engine.session_count()),
        ),
        _ => (StatusCode::NOT_FOUND, "not found\n".to_owned()),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = SocketIo::new();
    io.of("/").on_connection(|socket| async move {
        socket.on("echo", |socket, data, _| async move {
            let _ = socket.emit("echo", data);
        });
    });
    // `/socket.io/`: SocketIo::engine's default path.
    let engine = io.engine(EngineConfig::default());

    let addr = std::env::args().nth(1);
    let addr = addr.as_deref().unwrap_or("127.0.0.1:3000");

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("Socket.IO on http://{addr}/socket.io/, health on http://{addr}/health");
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors, say: wait rather than spin.
                eprintln!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let engine = engine.clone();
        let svc = service_fn(move |req| {
            let engine = engine.clone();
            async move { Ok::<_, Infallible>(route(engine, req, PeerAddr(peer)).await) }
        });
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
            if let Err(e) = served {
                eprintln!("{peer}: {e}");
            }
        });
    }
}
