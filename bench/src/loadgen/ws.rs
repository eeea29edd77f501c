//! The WebSocket-only transport: `GET {path}?EIO=4&transport=websocket`
//! upgraded by tokio-tungstenite over a plain `TcpStream` (no upgrade from
//! polling), then one task per connection that reads frames and writes the
//! packets its scenario asks for.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::cli::Target;
use super::inflate::{self, DeflateStats, Inflating};
use super::session::{room_query, Cmd, ConnReport, Reply, Session};

/// The client's WebSocket: inflating when the run negotiates
/// permessage-deflate, plain otherwise.
type Ws = WebSocketStream<Inflating<TcpStream>>;

/// A connected WebSocket client: the `40{...}` answer has arrived.
pub struct WsConn {
    /// The connection.
    ws: Ws,
    /// Silence after which the server counts as gone (ping interval + ping
    /// timeout + 5 s).
    idle: Duration,
}

/// Longest wait for one frame during the handshake (the caller also bounds
/// the whole handshake).
const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for a write to go out (the server reads too slowly).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the next text frame, answering Engine.IO pings on the way.
async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        let msg = tokio::time::timeout(FRAME_TIMEOUT, ws.next())
            .await
            .map_err(|_| "no answer from the server")?;
        match msg {
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                ws.send(Message::text("3"))
                    .await
                    .map_err(|e| format!("write: {e}"))?;
            }
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Binary(_))) => return Err("unexpected binary frame".into()),
            Some(Ok(Message::Close(_))) | None => return Err("closed during the handshake".into()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read: {e}")),
        }
    }
}

/// The idle bound from an Engine.IO open packet `0{...}`.
pub fn idle_from_open(open: &str) -> Result<Duration, String> {
    let json = open
        .strip_prefix('0')
        .ok_or_else(|| format!("expected the open packet, got {open:?}"))?;
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("open packet: {e}"))?;
    let ms = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(25_000);
    if v.get("sid").and_then(|s| s.as_str()).is_none() {
        return Err("open packet without a sid".into());
    }
    Ok(Duration::from_millis(
        ms("pingInterval") + ms("pingTimeout") + 5_000,
    ))
}

/// Opens a WebSocket connection and connects to the main namespace (until
/// `40{...}`), joining `room` through the handshake query when given, and
/// negotiating permessage-deflate without context takeover when `deflate`
/// is given (counting the compressed messages there). The caller bounds the
/// whole of it in time.
pub async fn connect(
    target: &Target,
    room: Option<&str>,
    deflate: Option<&Arc<DeflateStats>>,
) -> Result<WsConn, String> {
    let stream = TcpStream::connect(target.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let url = format!(
        "ws://{}{}?EIO=4&transport=websocket{}",
        target.host,
        target.path,
        room_query(room)
    );
    // Small buffers: up to ~19k of these live in one process.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(16 * 1024);
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("WebSocket request: {e}"))?;
    let stream = match deflate {
        Some(stats) => {
            let offer = HeaderValue::from_static(inflate::OFFER);
            request
                .headers_mut()
                .insert("Sec-WebSocket-Extensions", offer);
            Inflating::deflate(stream, stats.clone())
        }
        None => Inflating::plain(stream),
    };
    let (mut ws, answer) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|e| format!("WebSocket handshake: {e}"))?;
    if deflate.is_some() {
        let ext = answer.headers().get("Sec-WebSocket-Extensions");
        inflate::check_answer(ext.and_then(|v| v.to_str().ok()))?;
    }
    let idle = idle_from_open(&next_text(&mut ws).await?)?;
    ws.send(Message::text("40"))
        .await
        .map_err(|e| format!("write: {e}"))?;
    loop {
        let p = next_text(&mut ws).await?;
        if p.starts_with("40") {
            return Ok(WsConn { ws, idle });
        }
        if p.starts_with("44") {
            return Err(format!("connect_error: {p}"));
        }
        // Anything else before the connect answer (a noop) is skipped.
    }
}

/// Drives a connected client until its command channel closes (then closes
/// the connection cleanly) or the connection fails (an error, unless the run
/// is closing). Returns what it counted.
pub async fn run(conn: WsConn, mut session: Session, mut rx: UnboundedReceiver<Cmd>) -> ConnReport {
    let WsConn { mut ws, idle } = conn;
    let mut last_rx = Instant::now();
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    let failure = loop {
        tokio::select! {
            biased;
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    last_rx = Instant::now();
                    match session.on_packet(t.as_str()) {
                        Ok(Reply::Pong) => {
                            match tokio::time::timeout(WRITE_TIMEOUT, ws.send(Message::text("3"))).await {
                                Ok(Ok(())) => {}
                                Ok(Err(e)) => break format!("write: {e}"),
                                Err(_) => break "write timed out".into(),
                            }
                        }
                        Ok(Reply::None) => {}
                        Err(e) => break e,
                    }
                }
                Some(Ok(Message::Binary(_))) => break "unexpected binary frame".into(),
                Some(Ok(Message::Close(_))) | None => break "the server closed the connection".into(),
                Some(Ok(_)) => last_rx = Instant::now(),
                Some(Err(e)) => break format!("read: {e}"),
            },
            cmd = rx.recv() => match cmd {
                Some(cmd) => {
                    // Write every queued command, then flush once.
                    let res = tokio::time::timeout(WRITE_TIMEOUT, async {
                        ws.feed(Message::text(session.packet(cmd))).await?;
                        while let Ok(cmd) = rx.try_recv() {
                            ws.feed(Message::text(session.packet(cmd))).await?;
                        }
                        ws.flush().await
                    })
                    .await;
                    match res {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => break format!("write: {e}"),
                        Err(_) => break "write timed out".into(),
                    }
                }
                None => {
                    let _ = tokio::time::timeout(Duration::from_secs(2), async {
                        let _ = ws.close(None).await;
                        while let Some(Ok(_)) = ws.next().await {}
                    })
                    .await;
                    return session.report();
                }
            },
            () = &mut idle_timer => {
                let deadline = last_rx + idle;
                if Instant::now() >= deadline {
                    break "no packet from the server for ping interval + ping timeout".into();
                }
                idle_timer.as_mut().reset(deadline);
            }
        }
    };
    let ctx = session.ctx();
    if !ctx.closing.load(std::sync::atomic::Ordering::Relaxed) {
        ctx.error(failure);
    }
    session.report()
}
