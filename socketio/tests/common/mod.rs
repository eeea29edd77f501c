//! Test support: a real server on 127.0.0.1:0 and a raw Socket.IO client
//! over WebSocket that shows the exact frames.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use engineio::EngineConfig;
use futures_util::{SinkExt, StreamExt};
use socketio::SocketIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub fn engine_config() -> EngineConfig {
    EngineConfig::default().ping_interval(Duration::from_secs(30))
}

/// Serves `io` on 127.0.0.1:0.
pub async fn serve(io: &SocketIo) -> SocketAddr {
    serve_with(io, engine_config()).await
}

pub async fn serve_with(io: &SocketIo, config: EngineConfig) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let engine = io.engine(config);
    tokio::spawn(async move { engine.serve(listener).await });
    addr
}

/// A WebSocket on `/socket.io/` with `extra` query parameters.
async fn ws_connect(addr: SocketAddr, extra: &str) -> WebSocketStream<TcpStream> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket{extra}");
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    ws
}

/// What the raw client received.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
    Closed,
}

pub struct Client {
    pub ws: WebSocketStream<TcpStream>,
    pub eio_sid: String,
}

impl Client {
    /// Opens an Engine.IO WebSocket session (no namespace yet).
    pub async fn open(addr: SocketAddr) -> Client {
        Self::open_query(addr, "").await
    }

    pub async fn open_query(addr: SocketAddr, extra: &str) -> Client {
        let mut c = Client {
            ws: ws_connect(addr, extra).await,
            eio_sid: String::new(),
        };
        let open = c.text().await;
        assert!(open.starts_with('0'), "{open}");
        let v: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
        c.eio_sid = v["sid"].as_str().unwrap().to_owned();
        c
    }

    /// Upgrades the polling session `eio_sid` to WebSocket (probe, then
    /// upgrade) and returns the upgraded connection's client.
    pub async fn upgrade(addr: SocketAddr, eio_sid: &str) -> Client {
        let mut c = Client {
            ws: ws_connect(addr, &format!("&sid={eio_sid}")).await,
            eio_sid: eio_sid.to_owned(),
        };
        c.send("2probe").await;
        assert_eq!(c.text().await, "3probe");
        c.send("5").await;
        c
    }

    /// Opens a session and connects to `nsp` (`/` or `/name`), returning the socket id.
    pub async fn connect(addr: SocketAddr, nsp: &str) -> (Client, String) {
        let mut c = Client::open(addr).await;
        let id = c.join_nsp(nsp, None).await;
        (c, id)
    }

    /// Sends CONNECT for `nsp` and expects the answer; returns the socket id.
    pub async fn join_nsp(&mut self, nsp: &str, auth: Option<&str>) -> String {
        let prefix = if nsp == "/" {
            String::new()
        } else {
            format!("{nsp},")
        };
        self.send(&format!("40{prefix}{}", auth.unwrap_or("")))
            .await;
        let answer = self.text().await;
        let want = format!("40{prefix}");
        assert!(answer.starts_with(&want), "connect answer {answer}");
        let v: serde_json::Value = serde_json::from_str(&answer[want.len()..]).unwrap();
        v["sid"].as_str().unwrap().to_owned()
    }

    pub async fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    pub async fn send_binary(&mut self, data: &[u8]) {
        self.ws.send(Message::binary(data.to_vec())).await.unwrap();
    }

    /// The next frame, answering pings; `Closed` when the connection ends.
    pub async fn next(&mut self) -> Frame {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("a frame within 5 s");
            match m {
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => self.send("3").await,
                Some(Ok(Message::Text(t))) => return Frame::Text(t.to_string()),
                Some(Ok(Message::Binary(b))) => return Frame::Binary(b.to_vec()),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Frame::Closed,
            }
        }
    }

    pub async fn text(&mut self) -> String {
        match self.next().await {
            Frame::Text(t) => t,
            other => panic!("expected text, got {other:?}"),
        }
    }

    pub async fn binary(&mut self) -> Vec<u8> {
        match self.next().await {
            Frame::Binary(b) => b,
            other => panic!("expected binary, got {other:?}"),
        }
    }

    /// Asserts that the server sent this client nothing since its last
    /// frame: the test emits a probe to the client's socket `sid` (on `/`)
    /// and the probe must be the next frame. Whatever the server sent
    /// before (the packet that must not arrive) would be queued ahead of
    /// it on the same connection, so this fails instead of passing when
    /// the server is merely slow, as a quiet window would.
    pub async fn nothing_before_probe(&mut self, io: &SocketIo, sid: &str) {
        io.to(sid.to_owned()).emit("probe", ()).unwrap();
        assert_eq!(self.text().await, r#"42["probe"]"#, "something came first");
    }

    /// Waits for the connection to end (close packet or close frame).
    pub async fn closed(&mut self) {
        loop {
            match self.next().await {
                Frame::Closed => return,
                Frame::Text(t) if t == "1" => continue,
                other => panic!("expected close, got {other:?}"),
            }
        }
    }
}

/// Polls `f` until it holds (at most 2 s).
pub async fn eventually(mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition never held");
}

/// Pending until opened, for every waiter; a handler that awaits it holds
/// its place in the event queue for as long as the test wants, where a
/// sleep would hold it only for as long as the machine is fast.
#[derive(Default)]
pub struct Gate(std::sync::Mutex<(bool, Vec<std::task::Waker>)>);

impl Gate {
    /// Opens the gate: every waiter, present and future, passes.
    pub fn open(&self) {
        let wakers = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            std::mem::take(&mut g.1)
        };
        wakers.into_iter().for_each(std::task::Waker::wake);
    }

    /// Waits until the gate is open.
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut g = self.0.lock().unwrap();
            if g.0 {
                std::task::Poll::Ready(())
            } else {
                g.1.push(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }
}

impl Client {
    /// Returns once the server handled every message this client sent
    /// before: a connection's messages are handled in order, so when the
    /// CONNECT to `/barrier` (which the server must define) is answered,
    /// the earlier ones were dispatched (run, or queued behind a handler).
    pub async fn barrier(&mut self) {
        self.join_nsp("/barrier", None).await;
    }
}
