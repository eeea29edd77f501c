//! The raw WebSocket echo server the Autobahn suite drives (`conformance
//! ws-echo`): every path answers a WebSocket upgrade on the engine's own
//! framing ([`engineio::raw_ws`]), no Engine.IO on top; each text message
//! comes back as text, each binary as binary. Messages up to
//! [`WS_ECHO_MAX_MESSAGE`] (64 MiB) are accepted; a request that is not an
//! upgrade gets 400. permessage-deflate is negotiated with clients that
//! offer it.

use std::convert::Infallible;
use std::future::poll_fn;
use std::io;
use std::task::Poll;

use engineio::bytes::Bytes;
use engineio::raw_ws::{self, RawConfig, RawEvent, RawWebSocket};
use engineio::PerMessageDeflate;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The echo server's message limit: 64 MiB (Autobahn's case 9 sends up to 16 MiB).
pub const WS_ECHO_MAX_MESSAGE: usize = 64 << 20;

/// The echo server's limits, and permessage-deflate for clients that offer
/// it: context takeover when the client allows it, every message
/// compressed (threshold 0), so Autobahn's cases 12 and 13 exercise the
/// codec on every size.
pub fn ws_echo_config() -> RawConfig {
    let deflate = PerMessageDeflate::default()
        .threshold(0)
        .context_takeover(true);
    RawConfig::default()
        .max_message(WS_ECHO_MAX_MESSAGE)
        .per_message_deflate(Some(deflate))
}

/// Accepts connections on `listener` until it fails, echoing every
/// WebSocket on it.
pub async fn serve_ws_echo(listener: TcpListener, config: RawConfig) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| answer(req, config));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            // A broken connection only ends this connection.
            let _ = conn.await;
        });
    }
}

async fn answer(
    mut req: Request<Incoming>,
    config: RawConfig,
) -> Result<Response<Full<Bytes>>, Infallible> {
    match raw_ws::upgrade(&mut req, config) {
        Ok((resp, upgrading)) => {
            tokio::spawn(async move {
                if let Ok(ws) = upgrading.accept().await {
                    echo(ws).await;
                }
            });
            Ok(resp)
        }
        Err(e) => Ok(e.response().unwrap_or_else(|| {
            let mut resp = Response::new(Full::new(Bytes::from_static(b"websocket only\n")));
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            resp
        })),
    }
}

/// Echoes messages until the peer closes or breaks the protocol, then
/// completes the close. Reads only while little is queued for writing, so
/// a peer that does not read cannot make the server buffer without bound.
pub async fn echo(mut ws: RawWebSocket) {
    poll_fn(|cx| loop {
        if let Poll::Ready(Err(_)) = ws.poll_flush(cx) {
            return Poll::Ready(());
        }
        match ws.poll_ready(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => return Poll::Ready(()),
            Poll::Pending => return Poll::Pending,
        }
        match ws.poll_next(cx) {
            Poll::Ready(RawEvent::Text(s)) => ws.start_send_text(&s),
            Poll::Ready(RawEvent::Binary(b)) => ws.start_send_binary(&b),
            Poll::Ready(_) => return Poll::Ready(()),
            Poll::Pending => return Poll::Pending,
        }
    })
    .await;
    ws.close().await;
}
