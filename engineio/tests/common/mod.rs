//! Test support: a real engine on 127.0.0.1:0, a minimal raw HTTP/1.1
//! client (so odd requests are easy) and a WebSocket client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engineio::bytes::Bytes;
use engineio::{CloseReason, Engine, EngineConfig, Handler, Socket, Str};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// What the test handler saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Connect,
    Text(String),
    Binary(Vec<u8>),
    Upgrade,
    Close(CloseReason),
}

/// Echoes like the conformance server and records everything.
#[derive(Clone, Default)]
pub struct Recorder {
    pub seen: Arc<Mutex<Vec<(String, Seen)>>>,
    pub sockets: Arc<Mutex<Vec<Socket>>>,
}

impl Recorder {
    fn push(&self, s: &Socket, e: Seen) {
        self.seen.lock().unwrap().push((s.sid().to_string(), e));
    }

    pub fn events(&self, sid: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| s == sid)
            .map(|(_, e)| e.clone())
            .collect()
    }

    pub fn socket(&self, sid: &str) -> Socket {
        self.sockets
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.sid().as_str() == sid)
            .cloned()
            .expect("socket connected")
    }

    /// Waits until `sid` saw a close, returning its reason.
    pub async fn closed(&self, sid: &str) -> CloseReason {
        for _ in 0..300 {
            if let Some(Seen::Close(r)) = self.events(sid).last() {
                return r.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{sid} never closed: {:?}", self.events(sid));
    }
}

impl Handler for Recorder {
    fn on_connect(&self, socket: &Socket) {
        self.sockets.lock().unwrap().push(socket.clone());
        self.push(socket, Seen::Connect);
    }
    fn on_message(&self, socket: &Socket, text: Str) {
        self.push(socket, Seen::Text(text.to_string()));
        if text != "no-echo" {
            let _ = socket.send_text(text);
        }
    }
    fn on_binary(&self, socket: &Socket, data: Bytes) {
        self.push(socket, Seen::Binary(data.to_vec()));
        let _ = socket.send_binary(data);
    }
    fn on_upgrade(&self, socket: &Socket) {
        self.push(socket, Seen::Upgrade);
    }
    fn on_close(&self, socket: &Socket, reason: CloseReason) {
        self.push(socket, Seen::Close(reason));
    }
}

pub fn fast_config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
}

pub struct Server {
    pub addr: SocketAddr,
    pub engine: Engine,
    pub rec: Recorder,
}

pub async fn start(config: EngineConfig) -> Server {
    let rec = Recorder::default();
    start_engine(Engine::new(config, rec.clone()), rec).await
}

pub async fn start_engine(engine: Engine, rec: Recorder) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let e = engine.clone();
    tokio::spawn(async move { e.serve(listener).await });
    Server { addr, engine, rec }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not json: {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Asserts an engine error response.
    pub fn assert_error(&self, status: u16, code: u64) {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(self.json()["code"], code, "body: {}", self.text());
    }
}

/// One request on a fresh connection (`Connection: close`).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    read_response(&mut s).await
}

pub async fn read_response(s: &mut TcpStream) -> Resp {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    parse_response(&buf)
}

pub fn parse_response(buf: &[u8]) -> Resp {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    if let Some((_, n)) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        body.truncate(n.parse().unwrap());
    }
    Resp {
        status,
        headers,
        body,
    }
}

pub fn eio(sid: Option<&str>, transport: &str) -> String {
    match sid {
        Some(s) => format!("/engine.io/?EIO=4&transport={transport}&sid={s}"),
        None => format!("/engine.io/?EIO=4&transport={transport}"),
    }
}

pub async fn get(addr: SocketAddr, target: &str) -> Resp {
    request(addr, "GET", target, &[], b"").await
}

/// The polling session `sid` still works: a POSTed message comes back on
/// the next GET.
pub async fn assert_polls(addr: SocketAddr, sid: &str) {
    assert_eq!(
        post(addr, &eio(Some(sid), "polling"), b"4hi").await.text(),
        "ok"
    );
    assert_eq!(get(addr, &eio(Some(sid), "polling")).await.text(), "4hi");
}

pub async fn post(addr: SocketAddr, target: &str, body: &[u8]) -> Resp {
    request(addr, "POST", target, &[], body).await
}

/// Opens a polling session; returns its sid and handshake JSON.
pub async fn open_polling(addr: SocketAddr) -> (String, serde_json::Value) {
    let r = get(addr, &eio(None, "polling")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(text.starts_with('0'), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text[1..]).unwrap();
    (v["sid"].as_str().unwrap().to_owned(), v)
}

pub type Ws = WebSocketStream<TcpStream>;

pub async fn ws_connect(
    addr: SocketAddr,
    target: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}{target}");
    tokio_tungstenite::client_async(url, stream)
        .await
        .map(|(ws, _)| ws)
}

/// The next data frame, skipping control frames; `None` once closed.
pub async fn ws_next(ws: &mut Ws) -> Option<Message> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("websocket frame within 5 s");
        match m {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(m)) => return Some(m),
        }
    }
}

pub async fn ws_text(ws: &mut Ws) -> String {
    match ws_next(ws).await {
        Some(Message::Text(t)) => t.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

pub async fn ws_send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// Opens a WebSocket-only session; returns the socket and its sid.
pub async fn open_ws(addr: SocketAddr) -> (Ws, String) {
    let mut ws = ws_connect(addr, &eio(None, "websocket")).await.unwrap();
    let open = ws_text(&mut ws).await;
    assert!(open.starts_with('0'), "{open}");
    let v: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    (ws, v["sid"].as_str().unwrap().to_owned())
}

/// Serves HTTP/1.1 with upgrades on 127.0.0.1:0, as an app embedding the
/// engine would: each connection gets the hyper service `make` builds for
/// its peer.
pub async fn serve_hyper<S, B>(make: impl Fn(SocketAddr) -> S + Send + 'static) -> SocketAddr
where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
        > + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept().await.unwrap();
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), make(peer))
                    .with_upgrades(),
            );
        }
    });
    addr
}
