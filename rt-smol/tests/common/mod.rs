//! Shared by the smol engine's tests: a server on its own threads
//! (stopped when dropped), a handler that echoes and records, and blocking
//! HTTP/1.1 and WebSocket clients over std's `TcpStream`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use engineio::bytes::Bytes;
use engineio::http::HeaderMap;
use engineio::{CloseReason, EngineConfig, Hooks, Str};
use socketio_smol::async_io::Async;
use socketio_smol::{Engine, Handler, SmolRuntime, Socket};

/// What the handler saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Connect,
    Message(String),
    Binary(Vec<u8>),
    Upgrade,
    Close(CloseReason),
    /// The `X-Req` header a message came with (messages keep headers),
    /// seen just before the message itself.
    Headers(Option<String>),
}

/// Echoes text and binary; `close-me` closes the session. Records all.
pub struct Recorder(Mutex<mpsc::Sender<Seen>>);

impl Recorder {
    fn seen(&self, s: Seen) {
        let _ = self.0.lock().unwrap().send(s);
    }
}

impl Handler for Recorder {
    fn on_connect(&self, _: &Socket) {
        self.seen(Seen::Connect);
    }
    fn on_message(&self, socket: &Socket, text: Str) {
        self.seen(Seen::Message(text.to_string()));
        if text == "close-me" {
            socket.close();
        } else {
            let _ = socket.send_text(text);
        }
    }
    fn on_binary(&self, socket: &Socket, data: Bytes) {
        self.seen(Seen::Binary(data.to_vec()));
        let _ = socket.send_binary(data);
    }
    fn on_message_with(&self, socket: &Socket, text: Str, headers: &Arc<HeaderMap>) {
        let x_req = headers.get("x-req").and_then(|v| v.to_str().ok());
        self.seen(Seen::Headers(x_req.map(str::to_owned)));
        self.on_message(socket, text);
    }
    fn on_upgrade(&self, _: &Socket) {
        self.seen(Seen::Upgrade);
    }
    fn on_close(&self, _: &Socket, reason: CloseReason) {
        self.seen(Seen::Close(reason));
    }
}

/// An engine on 127.0.0.1:0 running on two threads of its own.
pub struct Server {
    pub addr: SocketAddr,
    pub engine: Engine,
    pub seen: mpsc::Receiver<Seen>,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(config: EngineConfig) -> Server {
        Server::start_with_hooks(config, Hooks::default())
    }

    /// [`Server::start`] with the application's request hooks.
    pub fn start_with_hooks(config: EngineConfig, hooks: Hooks) -> Server {
        let (tx, seen) = mpsc::channel();
        let rt = SmolRuntime::new();
        let engine = Engine::with_hooks(config, hooks, Recorder(Mutex::new(tx)), &rt);
        let listener = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let (stop, stopped) = mpsc::channel::<()>();
        let e = engine.clone();
        let thread = std::thread::spawn(move || {
            let serve = async move {
                let _ = e.serve(listener).await;
            };
            // Polls for the stop signal: the tests' only way in from outside.
            let watch = async move {
                while stopped.try_recv() == Err(mpsc::TryRecvError::Empty) {
                    socketio_smol::async_io::Timer::after(Duration::from_millis(10)).await;
                }
            };
            rt.block_on(2, futures_lite::future::or(serve, watch));
            // Cancels the connection and session tasks: their sockets close.
            rt.shutdown();
        });
        Server {
            addr,
            engine,
            seen,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The next thing the handler saw, within 5 s.
    pub fn next_seen(&self) -> Seen {
        self.seen
            .recv_timeout(Duration::from_secs(5))
            .expect("the handler saw nothing within 5 s")
    }

    /// Waits until no session is registered.
    pub fn wait_empty(&self) {
        for _ in 0..250 {
            if self.engine.session_count() == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("sessions still registered: {}", self.engine.session_count());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The JSON error body's code.
    pub fn code(&self) -> i64 {
        let v: serde_json::Value = serde_json::from_slice(&self.body).expect("a JSON body");
        v["code"].as_i64().expect("a code")
    }
}

/// One HTTP/1.1 connection, for requests in sequence.
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Client {
            reader: BufReader::new(s),
        }
    }

    pub fn stream(&mut self) -> &mut TcpStream {
        self.reader.get_mut()
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream().write_all(bytes).unwrap();
    }

    /// Sends a request with `headers` (`Name: value` lines) and `body`.
    pub fn send(&mut self, method: &str, target: &str, headers: &[&str], body: &[u8]) {
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        if !body.is_empty() || method == "POST" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes);
    }

    /// Reads one answer (its body by `Content-Length`).
    pub fn read(&mut self) -> Answer {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not a status line: {line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let mut a = Answer {
            status,
            headers,
            body: Vec::new(),
        };
        let len: usize = a.header("content-length").map_or(0, |v| v.parse().unwrap());
        a.body = vec![0; len];
        self.reader.read_exact(&mut a.body).unwrap();
        a
    }

    pub fn request(&mut self, method: &str, target: &str, headers: &[&str], body: &[u8]) -> Answer {
        self.send(method, target, headers, body);
        self.read()
    }

    /// Whether the server closed the connection (the read ends, or the
    /// connection is reset) within the read timeout (5 s unless the test
    /// set another on [`Client::stream`]). Bytes instead, or nothing
    /// before the timeout, is not closed.
    pub fn closed(&mut self) -> bool {
        use std::io::ErrorKind;
        let mut b = [0u8; 1];
        match self.reader.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
            Err(e) => matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
            ),
        }
    }
}

/// One request on a connection of its own.
pub fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[&str],
    body: &[u8],
) -> Answer {
    Client::connect(addr).request(method, target, headers, body)
}

/// A polling handshake's answer.
pub fn handshake(addr: SocketAddr) -> Answer {
    request(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"")
}

/// Opens a polling session; returns its sid.
pub fn open_polling(addr: SocketAddr) -> String {
    let a = handshake(addr);
    assert_eq!(a.status, 200, "{}", a.text());
    let text = a.text();
    let open: serde_json::Value = serde_json::from_str(&text[1..]).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}

pub fn poll_url(sid: &str) -> String {
    format!("/engine.io/?EIO=4&transport=polling&sid={sid}")
}

pub const WS_HEADERS: [&str; 4] = [
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
];

/// A WebSocket client frame or message.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
    Close,
    Other(u8),
}

/// A blocking WebSocket client.
pub struct WsClient {
    client: Client,
}

impl WsClient {
    /// The client under the WebSocket (its TCP stream).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Opens a WebSocket at `target` (101 checked).
    pub fn connect(addr: SocketAddr, target: &str) -> WsClient {
        WsClient::connect_with(addr, target, &[])
    }

    /// [`WsClient::connect`] with `extra` request headers.
    pub fn connect_with(addr: SocketAddr, target: &str, extra: &[&str]) -> WsClient {
        let mut client = Client::connect(addr);
        let headers: Vec<&str> = WS_HEADERS.iter().chain(extra).copied().collect();
        let a = client.request("GET", target, &headers, b"");
        assert_eq!(a.status, 101, "{}", a.text());
        assert_eq!(
            a.header("sec-websocket-accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        WsClient { client }
    }

    /// Sends one masked frame.
    pub fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n < 65536 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [1u8, 2, 3, 4];
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.client.send_raw(&f);
    }

    pub fn send_text(&mut self, text: &str) {
        self.send_frame(1, text.as_bytes());
    }

    /// Reads one server frame; the connection's end (or a reset) before
    /// one is [`Frame::Close`], nothing within the read timeout a failure.
    pub fn read(&mut self) -> Frame {
        use std::io::ErrorKind;
        let r = &mut self.client.reader;
        let mut h = [0u8; 2];
        if let Err(e) = r.read_exact(&mut h) {
            assert!(
                !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                "no frame and no close within the read timeout"
            );
            return Frame::Close;
        }
        assert_eq!(h[1] & 0x80, 0, "server frames are unmasked");
        let len = match h[1] & 0x7f {
            126 => {
                let mut l = [0u8; 2];
                r.read_exact(&mut l).unwrap();
                u16::from_be_bytes(l) as usize
            }
            127 => {
                let mut l = [0u8; 8];
                r.read_exact(&mut l).unwrap();
                u64::from_be_bytes(l) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0; len];
        r.read_exact(&mut payload).unwrap();
        match h[0] & 0x0f {
            1 => Frame::Text(String::from_utf8(payload).unwrap()),
            2 => Frame::Binary(payload),
            8 => Frame::Close,
            op => Frame::Other(op),
        }
    }

    /// The next text frame that is not a ping (`2`).
    pub fn read_text(&mut self) -> String {
        loop {
            match self.read() {
                Frame::Text(t) if t == "2" => self.send_text("3"),
                Frame::Text(t) => return t,
                other => panic!("expected text, got {other:?}"),
            }
        }
    }
}
