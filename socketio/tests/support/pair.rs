//! [`Pair`]: a server on a [`ManualRuntime`] and in-memory clients. Each
//! [`Client`] is what a transport would be: its [`Peer`] is the server's
//! [`Conn`] (capturing every packet sent), and the test feeds the
//! connection the messages a client would send. A connection the server
//! closes is reported back to it as the engine would (`handle_close` with
//! a forced server close), at the virtual instant it closed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use engineio::SendError;
use socketio::{
    Conn, Connection, ConnectionInfo, DisconnectReason, Encoded, SocketIo, SocketIoConfig,
};

use super::runtime::ManualRuntime;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One packet the server sent: its text and attachments (JSON parser),
/// or its one binary message (msgpack parser; `text` is empty then).
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The text message.
    pub text: String,
    /// The binary attachments, in order.
    pub attachments: Vec<Bytes>,
    /// The msgpack message.
    pub binary: Option<Bytes>,
}

/// The server side of an in-memory connection.
#[derive(Default)]
pub struct Peer {
    out: Mutex<VecDeque<Sent>>,
    closed: AtomicBool,
    transport: Mutex<Option<&'static str>>,
}

impl Peer {
    /// Sets the transport the connection reports (`None` at first).
    #[allow(dead_code)]
    pub fn set_transport(&self, t: &'static str) {
        *lock(&self.transport) = Some(t);
    }
}

impl Conn for Peer {
    fn send(&self, packet: &Encoded) -> Result<(), SendError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        lock(&self.out).push_back(Sent {
            text: packet.text().map(|t| t.to_string()).unwrap_or_default(),
            attachments: packet.attachments().to_vec(),
            binary: packet.binary().cloned(),
        });
        Ok(())
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    fn transport(&self) -> Option<&'static str> {
        *lock(&self.transport)
    }
}

/// A connection the pair knows, and whether its close was reported.
struct Link {
    peer: Arc<Peer>,
    conn: Connection,
    reported: bool,
}

type Links = Arc<Mutex<Vec<Link>>>;

/// A server driven by hand: its runtime, its handle, its connections.
pub struct Pair {
    /// The runtime every timer and task of the server runs on.
    pub rt: ManualRuntime,
    /// The server.
    pub io: SocketIo,
    links: Links,
}

impl Pair {
    /// A server with `config` on a fresh manual runtime.
    pub fn new(config: SocketIoConfig) -> Pair {
        let rt = ManualRuntime::new();
        let io = SocketIo::builder()
            .runtime(rt.handle())
            .config(config)
            .build();
        Pair {
            rt,
            io,
            links: Links::default(),
        }
    }

    /// A new Engine.IO connection (no namespace joined yet).
    pub fn open(&self) -> Client {
        let peer = Arc::new(Peer::default());
        let conn = self.io.accept(peer.clone(), info());
        lock(&self.links).push(Link {
            peer: peer.clone(),
            conn: conn.clone(),
            reported: false,
        });
        let c = Client {
            rt: self.rt.clone(),
            links: self.links.clone(),
            peer,
            conn,
        };
        c.settle();
        c
    }

    /// A connection that joined `/`; returns it and its socket id.
    pub fn connect(&self) -> (Client, String) {
        let c = self.open();
        let sid = c.join("");
        (c, sid)
    }

    /// Advances virtual time by `by`, stopping at each timer on the way
    /// (tasks run, server closes are reported, at each stop).
    pub fn advance(&self, by: Duration) {
        let links = self.links.clone();
        self.rt.advance_with(by, || {
            report_closes(&links);
        });
    }

    /// Runs every ready task and reports server closes.
    pub fn settle(&self) {
        settle(&self.rt, &self.links);
    }
}

fn settle(rt: &ManualRuntime, links: &Links) {
    loop {
        rt.run_until_idle();
        if !report_closes(links) {
            return;
        }
    }
}

/// Tells each connection the server closed that it is closed; whether
/// there was any.
fn report_closes(links: &Links) -> bool {
    let closed: Vec<Connection> = lock(links)
        .iter_mut()
        .filter(|l| !l.reported && l.peer.closed.load(Ordering::Acquire))
        .map(|l| {
            l.reported = true;
            l.conn.clone()
        })
        .collect();
    for c in &closed {
        c.handle_close(DisconnectReason::ForcedServerClose);
    }
    !closed.is_empty()
}

/// The client end of an in-memory connection.
pub struct Client {
    rt: ManualRuntime,
    links: Links,
    /// What the server sees as the connection.
    pub peer: Arc<Peer>,
    /// The server's state of this connection.
    pub conn: Connection,
}

impl Client {
    fn settle(&self) {
        settle(&self.rt, &self.links);
    }

    /// Sends a text message (a Socket.IO packet as the engine delivers it:
    /// `0` CONNECT, `2` EVENT, `3` ACK...) and lets the server run until idle.
    pub fn send(&self, text: &str) {
        self.conn.handle_text(text);
        self.settle();
    }

    /// Sends a binary message (an attachment, or a msgpack packet).
    pub fn send_binary(&self, data: &[u8]) {
        self.conn.handle_binary(Bytes::copy_from_slice(data));
        self.settle();
    }

    /// Sends CONNECT for `nsp` (`""` for `/`, else `/name`) and takes the
    /// answer; returns the socket id.
    pub fn join(&self, nsp: &str) -> String {
        let prefix = if nsp.is_empty() {
            String::new()
        } else {
            format!("{nsp},")
        };
        self.send(&format!("0{prefix}"));
        let answer = self.recv();
        let body = answer
            .strip_prefix(&format!("0{prefix}"))
            .unwrap_or_else(|| panic!("connect answer: {answer}"));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["sid"].as_str().unwrap().to_owned()
    }

    /// The next packet the server sent, if any.
    pub fn try_recv(&self) -> Option<Sent> {
        lock(&self.peer.out).pop_front()
    }

    /// The next packet's text; panics when the server sent nothing.
    pub fn recv(&self) -> String {
        match self.try_recv() {
            Some(s) => s.text,
            None => panic!("the server sent nothing"),
        }
    }

    /// Every packet's text sent and not yet received.
    pub fn drain(&self) -> Vec<String> {
        lock(&self.peer.out).drain(..).map(|s| s.text).collect()
    }

    /// Whether the server closed this connection.
    pub fn is_closed(&self) -> bool {
        self.peer.closed.load(Ordering::Acquire)
    }

    /// The transport ended on the client's side (the engine reports a
    /// transport close).
    pub fn drop_transport(&self) {
        if let Some(l) = lock(&self.links)
            .iter_mut()
            .find(|l| Arc::ptr_eq(&l.peer, &self.peer))
        {
            l.reported = true;
        }
        self.peer.closed.store(true, Ordering::Release);
        self.conn.handle_close(DisconnectReason::TransportClose);
        self.settle();
    }
}

/// A WebSocket connection's handshake facts.
pub fn info() -> ConnectionInfo {
    ConnectionInfo {
        url: "/socket.io/?EIO=4&transport=websocket".into(),
        headers: Default::default(),
        address: None,
        issued: std::time::SystemTime::UNIX_EPOCH,
        sid: None,
    }
}
