//! [`Connection`]: the Socket.IO state of one Engine.IO connection.
//!
//! Owns the decoder (attachment reassembly) and the namespace sockets of
//! the connection. It consumes the connection's messages in order and
//! never depends on a runtime beyond [`Runtime`](crate::Runtime); any
//! embedder feeds it `handle_text`, `handle_binary` and `handle_close`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::Bytes;
use engineio::Sid;
use futures_util::FutureExt;
use serde_json::{json, Value};

use crate::conn::{Conn, Encoded};
use crate::deadlines::{AckGap, ConnectTimeout, Deadlines};
use crate::decoder::Decoder;
use crate::namespace::ConnectError;
use crate::packet::{Packet, PacketType};
use crate::runtime::BoxFuture;
use crate::server::ServerInner;
use crate::socket::{connect_payload, poll_in_place, DisconnectReason, Handshake, Socket};

/// The Engine.IO handshake facts every socket of a connection shares.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Request URL (path and query).
    pub url: String,
    /// Request headers (shared by every socket of the connection).
    pub headers: Arc<http::HeaderMap>,
    /// Peer address.
    pub address: Option<SocketAddr>,
    /// Handshake time.
    pub issued: SystemTime,
}

struct State {
    decoder: Decoder,
    sockets: HashMap<String, Socket>,
    connecting: HashSet<String>,
    closed: bool,
}

pub(crate) struct Client {
    conn: Arc<dyn Conn>,
    server: Arc<ServerInner>,
    info: ConnectionInfo,
    state: Mutex<State>,
}

/// One Engine.IO connection's Socket.IO state. Feed it the connection's
/// messages in order; it answers through its [`Conn`].
#[derive(Clone)]
pub struct Connection(pub(crate) Arc<Client>);

impl Client {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connect timeout expired: closes the connection if it has no
    /// namespace socket.
    pub(crate) fn close_if_unused(&self) {
        let unused = {
            let st = self.lock();
            st.sockets.is_empty() && !st.closed
        };
        if unused {
            self.conn.close();
        }
    }

    pub(crate) fn remove_socket(&self, nsp: &str, id: Sid) {
        let mut st = self.lock();
        if st.sockets.get(nsp).is_some_and(|s| s.id() == id) {
            st.sockets.remove(nsp);
        }
    }

    /// Disconnects every socket of this connection (server side), then closes it.
    pub(crate) fn disconnect_all(&self) {
        let sockets: Vec<Socket> = self.lock().sockets.values().cloned().collect();
        for s in sockets {
            s.disconnect_namespace();
            // Packets held after a CONNECT answer go out before the close.
            s.release_output();
        }
        self.conn.close();
    }
}

impl Connection {
    pub(crate) fn new(
        conn: Arc<dyn Conn>,
        server: Arc<ServerInner>,
        info: ConnectionInfo,
    ) -> Connection {
        let max_attachments = server.config.max_attachments;
        let client = Arc::new(Client {
            conn,
            server,
            info,
            state: Mutex::new(State {
                decoder: Decoder::new(max_attachments),
                sockets: HashMap::new(),
                connecting: HashSet::new(),
                closed: false,
            }),
        });
        // connectTimeout: a connection with no namespace socket by then is closed.
        Deadlines::push(&client.server, ConnectTimeout(Arc::downgrade(&client)));
        Connection(client)
    }

    /// A text message arrived.
    pub fn handle_text(&self, text: &str) {
        let r = self.0.lock().decoder.decode_text(text);
        self.after_decode(r);
    }

    /// A binary message arrived.
    pub fn handle_binary(&self, data: Bytes) {
        let r = self.0.lock().decoder.decode_binary(data);
        self.after_decode(r);
    }

    fn after_decode(&self, r: Result<Option<Packet>, crate::ParseError>) {
        match r {
            Ok(Some(p)) => self.handle_packet(p),
            Ok(None) => {}
            Err(_) => {
                self.handle_close(DisconnectReason::ParseError);
                self.0.conn.close();
            }
        }
    }

    /// The connection closed: every socket disconnects with `reason`.
    pub fn handle_close(&self, reason: DisconnectReason) {
        let sockets: Vec<Socket> = {
            let mut st = self.0.lock();
            st.closed = true;
            st.sockets.drain().map(|(_, s)| s).collect()
        };
        for s in sockets {
            s.close(reason.clone());
        }
    }

    /// Sockets of this connection, one per namespace.
    pub fn sockets(&self) -> Vec<Socket> {
        self.0.lock().sockets.values().cloned().collect()
    }

    fn handle_packet(&self, p: Packet) {
        if p.ty == PacketType::Connect {
            self.connect(p.nsp, p.data.unwrap_or_else(|| json!({})));
            return;
        }
        let socket = self.0.lock().sockets.get(&p.nsp).cloned();
        if let Some(s) = socket {
            s.handle_packet(p);
        }
    }

    fn send(&self, packet: Packet) {
        let _ = self.0.conn.send(&Encoded::new(&packet));
    }

    fn connect(&self, name: String, auth: Value) {
        {
            let mut st = self.0.lock();
            if st.closed || st.sockets.contains_key(&name) || !st.connecting.insert(name.clone()) {
                return;
            }
        }
        let Some(nsp) = self.0.server.namespace_for(&name) else {
            self.0.lock().connecting.remove(&name);
            self.send(Packet::new(
                PacketType::ConnectError,
                name,
                Some(json!({ "message": "Invalid namespace" })),
            ));
            return;
        };
        let mut restored = self.0.server.take_recovery(&nsp, &auth);
        let id = restored.as_ref().map_or_else(Sid::random, |r| r.id);
        let handshake = Arc::new(Handshake {
            auth,
            url: self.0.info.url.clone(),
            headers: self.0.info.headers.clone(),
            address: self.0.info.address,
            issued: self.0.info.issued,
        });
        let socket = Socket::new(
            id,
            nsp.clone(),
            self.0.conn.clone(),
            Arc::downgrade(&self.0),
            handshake,
            restored.is_some(),
            self.0.server.config.max_queued_events,
        );
        let skip = restored.is_some() && self.0.server.skip_middlewares();
        let middlewares = if skip { Vec::new() } else { nsp.middlewares() };
        if let (Some(r), false) = (restored.as_mut(), middlewares.is_empty()) {
            // The middlewares see the restored data and rooms.
            r.restore(&socket);
        }
        let this = self.clone();
        if middlewares.is_empty() {
            this.finish_connect(socket, restored);
            return;
        }
        let mut job: BoxFuture<()> = Box::pin(async move {
            for mw in middlewares {
                // A panicking middleware refuses the connection like an error.
                let verdict = AssertUnwindSafe(mw(socket.clone()))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(ConnectError::new("middleware error")));
                if let Err(e) = verdict {
                    this.0.lock().connecting.remove(socket.nsp().name());
                    socket.abandon();
                    this.send(Packet::new(
                        PacketType::ConnectError,
                        socket.nsp().name(),
                        Some(e.payload()),
                    ));
                    return;
                }
            }
            this.finish_connect(socket, restored);
        });
        // Most middlewares decide without awaiting: then no task is spawned.
        if !poll_in_place(&mut job) {
            self.0.server.runtime.spawn(job);
        }
    }

    fn finish_connect(&self, socket: Socket, restored: Option<crate::server::Restored>) {
        let nsp = socket.nsp().clone();
        {
            let mut st = self.0.lock();
            st.connecting.remove(nsp.name());
            if st.closed {
                drop(st);
                socket.abandon();
                return;
            }
            // Registered and marked connected in one step with the client's
            // state, so a concurrent close either sees it or prevents it.
            st.sockets.insert(nsp.name().to_owned(), socket.clone());
            socket.set_connected();
            nsp.add_socket(&socket);
        }
        // Restore first: the restored data holds the private id to keep.
        let missed = restored.map(|r| r.missed(&socket)).unwrap_or_default();
        let pid = self.0.server.recovery_pid(&socket);
        // The answer goes out first; the socket's next packets wait for
        // `connect_ack_gap` so the answer reaches the client alone.
        let handlers = nsp.connection_handlers();
        let gap = self.0.server.config.connect_ack_gap;
        let hold = !gap.is_zero() && (!handlers.is_empty() || !missed.is_empty());
        if hold {
            socket.hold_output();
        }
        self.send(Packet::new(
            PacketType::Connect,
            nsp.name(),
            Some(connect_payload(socket.id(), pid.as_deref())),
        ));
        for p in missed {
            let _ = socket.send_packet(p);
        }
        // The connection handlers start now, up to their first await (rooms
        // they join are joined before anyone can react to the answer); the
        // rest runs before the client's first events, which wait in the
        // queue (held until here).
        if !handlers.is_empty() {
            let s = socket.clone();
            socket.start_job(Box::pin(async move {
                for h in handlers {
                    h(s.clone()).await;
                }
            }));
        }
        if hold {
            // One queue and task per server, not a task per connection.
            Deadlines::push(&self.0.server, AckGap(socket.clone()));
        }
        socket.release_queue();
    }
}
