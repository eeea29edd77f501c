//! [`Connection`]: the Socket.IO state of one Engine.IO connection, and
//! [`Shared`]: what every connection of a server shares.
//!
//! Owns the decoder (attachment reassembly) and the namespace sockets of
//! the connection. It consumes the connection's messages in order and
//! never depends on a runtime beyond [`Runtime`](crate::Runtime); any
//! embedder feeds it `handle_text`, `handle_binary` and `handle_close`.
//! The connect timeout it is subject to is timed here too.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use bytes::{Buf, Bytes};
use engineio::{Hooks, Sid, Str};
use futures_util::FutureExt;
use http::HeaderMap;
use serde_json::{json, Value};

use crate::conn::{Conn, Encoded};
use crate::data::Data;
use crate::deadlines::{Deadlines, Due};
use crate::decoder::Decoder;
use crate::error::{ConnectError, DisconnectReason, ParseError};
use crate::handshake::{ConnectionInfo, Handshake};
use crate::namespace::{Directory, HookList, Namespace};
use crate::packet::{decode_event_raw, Packet, PacketType, RawEvent};
use crate::recovery::{Pid, Restored};
use crate::runtime::BoxFuture;
use crate::socket::{connect_payload, poll_in_place, AckGap, Link, NewSocket, Socket};

/// What every connection of one server shares: its namespaces (with the
/// server's options and runtime) and its two timer queues.
/// [`SocketIo`](crate::SocketIo) is a handle on it.
pub(crate) struct Shared {
    namespaces: Arc<Directory>,
    /// The request hooks drivers install on their engines.
    hooks: Hooks,
    /// Connections that must join a namespace within `connect_timeout`.
    connect_timeouts: Arc<Deadlines<ConnectTimeout>>,
    /// Sockets whose output waits for `connect_ack_gap`.
    ack_gaps: Arc<Deadlines<AckGap>>,
}

impl Shared {
    /// The shared state of a server with these namespaces.
    pub(crate) fn new(namespaces: Arc<Directory>, hooks: Hooks) -> Shared {
        let config = namespaces.config();
        let rt = namespaces.runtime().clone();
        Shared {
            hooks,
            connect_timeouts: Arc::new(Deadlines::new(config.connect_timeout, rt.clone())),
            ack_gaps: Arc::new(Deadlines::new(config.connect_ack_gap, rt)),
            namespaces,
        }
    }

    /// The server's namespaces.
    pub(crate) fn namespaces(&self) -> &Arc<Directory> {
        &self.namespaces
    }

    /// The request hooks.
    pub(crate) fn hooks(&self) -> &Hooks {
        &self.hooks
    }
}

/// A connection that must have joined a namespace by its deadline.
pub(crate) struct ConnectTimeout(Weak<Client>);

impl Due for ConnectTimeout {
    fn run(self) {
        if let Some(c) = self.0.upgrade() {
            c.close_if_unused();
        }
    }
}

struct State {
    decoder: Decoder,
    /// The request headers of a binary packet's first part, until its
    /// attachments complete it (see [`Connection::handle_text_with`]).
    pending_headers: Option<Arc<HeaderMap>>,
    sockets: Sockets,
    /// Namespaces whose CONNECT waits for something (an awaiting
    /// middleware, a cluster adapter's session lookup): a CONNECT decided
    /// within its own call, as most are, is never listed. The table is
    /// freed once empty, as it is for the whole life of a connected client.
    connecting: HashSet<String>,
    closed: bool,
}

pub(crate) struct Client {
    conn: Arc<dyn Conn>,
    server: Arc<Shared>,
    info: ConnectionInfo,
    /// A socket.io v2 client (Engine.IO 3): joined to `/` at once, its
    /// CONNECTs carry a query instead of `auth`, its answers no payload.
    v2: bool,
    state: Mutex<State>,
}

/// One Engine.IO connection's Socket.IO state. Feed it the connection's
/// messages in order; it answers through its [`Conn`].
#[derive(Clone)]
pub struct Connection(pub(crate) Arc<Client>);

/// A text event on its way to its socket, its arguments not parsed
/// (`Connection::route_raw_event`).
struct RawTarget {
    socket: Socket,
    name: String,
    id: Option<u64>,
    /// Where the payload array starts in the message.
    array_at: usize,
    /// Where the first argument starts in the array.
    args_at: Option<usize>,
}

impl RawTarget {
    /// Runs the event, `array` being the message from its payload array on.
    fn deliver(self, array: Bytes, headers: Option<Arc<HeaderMap>>) {
        let data = Data::from_event_text(array, self.args_at);
        self.socket
            .handle_event_data(self.name, data, self.id, headers);
    }
}

/// The sockets of one connection by namespace. Most connections have one
/// or two: a short list compared in order, without hashing and without a
/// key of its own (each socket knows its namespace's name), against a hash
/// map's table and a copied name per entry; past [`Sockets::FEW`] entries a
/// map, so that a client on many namespaces costs no more per packet.
enum Sockets {
    Few(Vec<Socket>),
    Many(HashMap<String, Socket>),
}

impl Sockets {
    /// The most sockets kept as a list.
    const FEW: usize = 8;

    fn get(&self, nsp: &str) -> Option<&Socket> {
        match self {
            Sockets::Few(v) => v.iter().find(|s| s.nsp_name() == nsp),
            Sockets::Many(m) => m.get(nsp),
        }
    }

    /// Adds `socket`, replacing the one of the same namespace.
    fn insert(&mut self, socket: Socket) {
        match self {
            Sockets::Few(v) => {
                if let Some(old) = v.iter_mut().find(|s| s.nsp_name() == socket.nsp_name()) {
                    *old = socket;
                } else if v.len() < Self::FEW {
                    v.reserve_exact(1);
                    v.push(socket);
                } else {
                    let mut m: HashMap<String, Socket> =
                        v.drain(..).map(|s| (s.nsp_name().to_owned(), s)).collect();
                    m.insert(socket.nsp_name().to_owned(), socket);
                    *self = Sockets::Many(m);
                }
            }
            Sockets::Many(m) => {
                m.insert(socket.nsp_name().to_owned(), socket);
            }
        }
    }

    fn remove(&mut self, nsp: &str) {
        match self {
            Sockets::Few(v) => v.retain(|s| s.nsp_name() != nsp),
            Sockets::Many(m) => {
                m.remove(nsp);
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Sockets::Few(v) => v.is_empty(),
            Sockets::Many(m) => m.is_empty(),
        }
    }

    fn to_vec(&self) -> Vec<Socket> {
        match self {
            Sockets::Few(v) => v.clone(),
            Sockets::Many(m) => m.values().cloned().collect(),
        }
    }

    fn take(&mut self) -> Vec<Socket> {
        match std::mem::replace(self, Sockets::Few(Vec::new())) {
            Sockets::Few(v) => v,
            Sockets::Many(m) => m.into_values().collect(),
        }
    }
}

impl State {
    /// The socket on namespace `nsp`.
    fn socket(&self, nsp: &str) -> Option<&Socket> {
        self.sockets.get(nsp)
    }

    /// `nsp`'s CONNECT waits: another one for it is ignored meanwhile.
    fn waiting(&mut self, nsp: &str) {
        if !self.connecting.contains(nsp) {
            self.connecting.insert(nsp.to_owned());
        }
    }

    /// `nsp` is no longer connecting; the set's table goes with its last
    /// name.
    fn connected_or_refused(&mut self, nsp: &str) {
        if self.connecting.is_empty() {
            return;
        }
        self.connecting.remove(nsp);
        if self.connecting.is_empty() {
            self.connecting = HashSet::new();
        }
    }
}

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
}

impl Link for Client {
    fn remove_socket(&self, nsp: &str, id: Sid) {
        let mut st = self.lock();
        if st.socket(nsp).is_some_and(|s| s.id() == id) {
            st.sockets.remove(nsp);
        }
    }

    /// Disconnects every socket of this connection (server side), then closes it.
    fn disconnect_all(&self) {
        let sockets = self.lock().sockets.to_vec();
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
        server: Arc<Shared>,
        info: ConnectionInfo,
    ) -> Connection {
        let config = server.namespaces.config();
        let decoder = Decoder::with_parser(config.parser, config.max_attachments);
        let v2 = info.protocol() == engineio::Protocol::V3;
        let client = Arc::new(Client {
            conn,
            server,
            info,
            v2,
            state: Mutex::new(State {
                decoder,
                pending_headers: None,
                sockets: Sockets::Few(Vec::new()),
                connecting: HashSet::new(),
                closed: false,
            }),
        });
        // connectTimeout: a connection with no namespace socket by then is closed.
        let timeout = ConnectTimeout(Arc::downgrade(&client));
        client.server.connect_timeouts.push(timeout);
        if let Some(o) = client.server.namespaces.observer().get() {
            o.connection_opened();
        }
        let c = Connection(client);
        if v2 {
            // socket.io v2 clients never send a CONNECT for the main
            // namespace: the server connects them to it right away.
            c.connect("/".to_owned(), json!({}));
        }
        c
    }

    /// A text message arrived.
    pub fn handle_text(&self, text: &str) {
        self.handle_text_with(text, None);
    }

    /// A binary message arrived.
    pub fn handle_binary(&self, data: Bytes) {
        self.handle_binary_with(data, None);
    }

    /// A text message arrived in a request with these headers: the event
    /// or ack it holds reaches its handlers with them
    /// ([`Data::request_headers`](crate::Data::request_headers)). A driver
    /// calls this instead of [`Connection::handle_text`] when it keeps
    /// message headers ([`SocketIo::hooks`](crate::SocketIo::hooks)); with
    /// `None` it is `handle_text`.
    ///
    /// A binary packet keeps the headers of its first part (this text):
    /// its attachments may come in later requests.
    pub fn handle_text_with(&self, text: &str, headers: Option<Arc<HeaderMap>>) {
        self.observe_in(text.len());
        match decode_event_raw(text).and_then(|ev| self.route_raw_event(ev)) {
            Some(Some(to)) => {
                let array = Bytes::copy_from_slice(&text.as_bytes()[to.array_at..]);
                to.deliver(array, headers);
            }
            Some(None) => {}
            None => self.decode_text(text, headers),
        }
    }

    /// A text message arrived, taken by value; `headers` as for
    /// [`Connection::handle_text_with`]. The arguments of an event stay in
    /// the message's buffer, without a copy, until a handler reads them
    /// ([`Data`](crate::Data) parses them on first use), so a handler that
    /// only answers or forwards them never builds their JSON tree. A driver
    /// that owns its messages calls this instead.
    pub fn handle_message(&self, text: Str, headers: Option<Arc<HeaderMap>>) {
        self.observe_in(text.len());
        match decode_event_raw(&text).and_then(|ev| self.route_raw_event(ev)) {
            Some(Some(to)) => {
                // The message's own buffer, not a shared slice of it.
                let mut array = text.into_bytes();
                array.advance(to.array_at);
                to.deliver(array, headers);
            }
            Some(None) => {}
            None => self.decode_text(&text, headers),
        }
    }

    /// Where an event read by `decode_event_raw` goes, as
    /// [`Connection::handle_packet`] would route the packet
    /// `Packet::decode` makes of it: `Some(None)` when this connection has
    /// no socket on its namespace (it is dropped). `None` when the decoder
    /// is not ready for it (the msgpack parser, attachments awaited): the
    /// text then goes the general way, which refuses it.
    fn route_raw_event(&self, ev: RawEvent<'_>) -> Option<Option<RawTarget>> {
        let socket = {
            let st = self.0.lock();
            if !st.decoder.takes_text_events() {
                return None;
            }
            st.socket(ev.nsp).cloned()
        };
        Some(socket.map(|socket| RawTarget {
            socket,
            name: ev.name.into_owned(),
            id: ev.id,
            array_at: ev.array_at,
            args_at: ev.args_at,
        }))
    }

    /// Decodes a text message with the decoder and routes what it gives.
    fn decode_text(&self, text: &str, headers: Option<Arc<HeaderMap>>) {
        let r = {
            let mut st = self.0.lock();
            let r = st.decoder.decode_text(text);
            if let Ok(None) = r {
                st.pending_headers = headers;
                return;
            }
            r
        };
        self.after_decode(r, headers);
    }

    /// A binary message (an attachment) arrived; `headers` as for
    /// [`Connection::handle_text_with`] (the packet it completes keeps
    /// those of its first part, so they matter only to a driver that
    /// gets no text first).
    pub fn handle_binary_with(&self, data: Bytes, headers: Option<Arc<HeaderMap>>) {
        self.observe_in(data.len());
        let (r, first) = {
            let mut st = self.0.lock();
            let r = st.decoder.decode_binary(data);
            let first = match r {
                Ok(Some(_)) | Err(_) => st.pending_headers.take(),
                Ok(None) => None,
            };
            (r, first)
        };
        self.after_decode(r, first.or(headers));
    }

    fn observe_in(&self, len: usize) {
        if let Some(o) = self.0.server.namespaces.observer().get() {
            o.message_in(len);
        }
    }

    fn after_decode(&self, r: Result<Option<Packet>, ParseError>, headers: Option<Arc<HeaderMap>>) {
        match r {
            Ok(Some(p)) => self.handle_packet(p, headers),
            Ok(None) => {}
            Err(_) => {
                self.handle_close(DisconnectReason::ParseError);
                self.0.conn.close();
            }
        }
    }

    /// The connection closed: every socket disconnects with `reason`.
    pub fn handle_close(&self, reason: DisconnectReason) {
        let (sockets, was_closed): (Vec<Socket>, bool) = {
            let mut st = self.0.lock();
            let was_closed = std::mem::replace(&mut st.closed, true);
            (st.sockets.take(), was_closed)
        };
        for s in sockets {
            s.close(reason.clone());
        }
        if let (false, Some(o)) = (was_closed, self.0.server.namespaces.observer().get()) {
            o.connection_closed(reason.as_str());
        }
    }

    /// Sockets of this connection, one per namespace.
    pub fn sockets(&self) -> Vec<Socket> {
        self.0.lock().sockets.to_vec()
    }

    /// Routes a decoded packet. Like the reference client (`ondecoded`), a
    /// CONNECT for a namespace this connection is connected to, and any
    /// CONNECT_ERROR (which only a server sends), is an invalid state: the
    /// whole connection closes, every socket with `forced server close`
    /// and no DISCONNECT packet.
    ///
    /// Unlike the reference, a CONNECT repeated before the client sent
    /// anything else on that namespace is taken as a duplicate and ignored:
    /// socket.io-client sends two when `io.socket(nsp)` (which connects) is
    /// followed by `connect()`, and the reference, which answers a CONNECT
    /// a tick later, usually reads the second before it has a socket.
    /// Likewise a CONNECT while the namespace's middlewares still run. Other
    /// packets for a namespace without a socket are dropped (the reference
    /// closes for those too; a client can race a server-side namespace
    /// disconnect).
    fn handle_packet(&self, p: Packet, headers: Option<Arc<HeaderMap>>) {
        match p.ty {
            PacketType::Connect if self.0.v2 => {
                let (name, auth) = v2_namespace(&p.nsp);
                self.connect(name, auth)
            }
            PacketType::Connect => self.connect(p.nsp, p.data.unwrap_or_else(|| json!({}))),
            PacketType::ConnectError => self.force_close(),
            _ => {
                let socket = self.0.lock().socket(&p.nsp).cloned();
                if let Some(s) = socket {
                    s.handle_packet(p, headers);
                }
            }
        }
    }

    /// Closes the connection for a protocol violation that is not a parse
    /// error (the reference's `client.close()`).
    fn force_close(&self) {
        self.handle_close(DisconnectReason::ForcedServerClose);
        self.0.conn.close();
    }

    /// `packet` encoded with the server's parser.
    fn encode(&self, packet: &Packet) -> Encoded {
        let parser = self.0.server.namespaces.config().parser;
        Encoded::with_parser(parser, packet, true)
    }

    /// The CONNECT answer for the socket `id` on `nsp` (`pid`: its
    /// private id with connection state recovery). socket.io v2 clients
    /// take it without payload. With the JSON parser it is written as
    /// text directly, as `Packet::encode` would write it.
    fn connect_answer(&self, nsp: &str, id: Sid, pid: Option<&str>) -> Encoded {
        let parser = self.0.server.namespaces.config().parser;
        if parser != crate::Parser::Json {
            let data = (!self.0.v2).then(|| connect_payload(id, pid));
            return self.encode(&Packet::new(PacketType::Connect, nsp, data));
        }
        let v2 = self.0.v2;
        Encoded::json_text(|out| write_connect_answer(out, nsp, id, pid, v2), true)
    }

    fn send(&self, packet: Packet) {
        let _ = self.0.conn.send(&self.encode(&packet));
    }

    fn connect(&self, name: String, auth: Value) {
        {
            let st = self.0.lock();
            if let Some(s) = st.socket(&name).filter(|_| !st.closed) {
                let known = s.heard();
                drop(st);
                if known {
                    self.force_close();
                }
                return;
            }
            // Messages come one at a time: a CONNECT for a namespace not
            // yet listed is decided within this call, or listed before it
            // returns (see `State::waiting`).
            if st.closed || st.connecting.contains(&name) {
                return;
            }
        }
        let Some(nsp) = self.0.server.namespaces.namespace_for(&name) else {
            self.send(Packet::new(
                PacketType::ConnectError,
                name,
                Some(json!({ "message": "Invalid namespace" })),
            ));
            return;
        };
        if self.0.v2 {
            // socket.io v2 has no connection state recovery: its ids are
            // the engine's, and its CONNECT query is not a session claim.
            self.connect_as(nsp, auth, None);
            return;
        }
        if let Some(restore) = cluster_restore(&nsp, &auth) {
            // The adapter keeps the sessions: asked before the socket exists.
            self.0.lock().waiting(&name);
            let this = self.clone();
            nsp.clone().runtime().spawn(Box::pin(async move {
                let restored = restore.await;
                this.connect_as(nsp, auth, restored);
            }));
            return;
        }
        let now = nsp.runtime().now();
        let restored = nsp.recovery().and_then(|r| r.take(now, &auth));
        self.connect_as(nsp, auth, restored);
    }

    /// Builds the socket (recovered or new), runs the middlewares, then
    /// answers.
    fn connect_as(&self, nsp: Namespace, auth: Value, mut restored: Option<Restored>) {
        let (id, public_id) = match (&restored, self.0.v2) {
            (Some(r), _) => (r.id, None),
            (None, true) => v2_ids(self.0.info.sid, nsp.name()),
            (None, false) => (Sid::random(), None),
        };
        let handshake = Arc::new(Handshake::new(&self.0.info, auth));
        let link: Weak<Client> = Arc::downgrade(&self.0);
        let socket = nsp.new_socket(NewSocket {
            id,
            public_id,
            conn: self.0.conn.clone(),
            link,
            handshake,
            recovered: restored.is_some(),
            max_queued: self.0.server.namespaces.config().max_queued_events,
        });
        let skip = restored.is_some() && nsp.recovery().is_some_and(|r| r.skip_middlewares());
        let middlewares = if skip {
            HookList::default()
        } else {
            nsp.middlewares()
        };
        if let (Some(r), false) = (restored.as_mut(), middlewares.is_empty()) {
            // The middlewares see the restored data and rooms.
            restore(&socket, r);
        }
        let this = self.clone();
        if middlewares.is_empty() {
            this.finish_connect(socket, restored);
            return;
        }
        let mut job: BoxFuture<()> = Box::pin(async move {
            for mw in middlewares.iter() {
                // A panicking middleware refuses the connection like an error.
                let verdict = AssertUnwindSafe(mw(socket.clone()))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(ConnectError::new("middleware error")));
                if let Err(e) = verdict {
                    this.0.lock().connected_or_refused(socket.nsp_name());
                    socket.abandon();
                    let data = match this.0.v2 {
                        true => e.v2_payload(),
                        false => e.payload(),
                    };
                    this.send(Packet::new(
                        PacketType::ConnectError,
                        socket.nsp().name(),
                        Some(data),
                    ));
                    return;
                }
            }
            this.finish_connect(socket, restored);
        });
        // Most middlewares decide without awaiting: then no task is spawned.
        // The job was polled with a no-op waker: nothing runs it before the
        // spawn, so it cannot finish before it is listed as waiting.
        if !poll_in_place(&mut job) {
            self.0.lock().waiting(nsp.name());
            nsp.runtime().spawn(job);
        }
    }

    /// Makes the socket visible and answers its CONNECT. The socket's
    /// output is held from before anyone can send to it (a broadcast on
    /// another thread, a recovered room) until its answer is queued, then
    /// the missed packets (read once the socket is in its rooms, so that
    /// none falls between them and live delivery), then whatever was sent
    /// to it meanwhile (see `socket/output.rs`).
    fn finish_connect(&self, socket: Socket, restored: Option<Restored>) {
        let nsp = socket.nsp().clone();
        socket.hold_output();
        {
            let mut st = self.0.lock();
            st.connected_or_refused(nsp.name());
            if st.closed {
                drop(st);
                socket.abandon();
                return;
            }
            // Registered and marked connected in one step with the client's
            // state, so a concurrent close either sees it or prevents it.
            st.sockets.insert(socket.clone());
            socket.set_connected();
            nsp.add_socket(&socket);
        }
        if let Some(o) = self.0.server.namespaces.observer().get() {
            o.connected(&socket);
        }
        // Restore first: the restored data holds the private id to keep.
        let (missed, replayed) = match (restored, nsp.recovery()) {
            (Some(mut r), Some(recovery)) => {
                restore(&socket, &mut r);
                if let Some(offset) = r.offset.take() {
                    // What came in since the adapter's first read, now that
                    // the socket is in its rooms; output stays held. Should
                    // this read fail, only those are lost (the reference
                    // loses them always: it reads once, before the joins).
                    let this = self.clone();
                    let before = std::mem::take(&mut r.missed);
                    let ask = nsp.adapter().missed_packets(offset, socket.rooms());
                    nsp.runtime().spawn(Box::pin(async move {
                        let after = ask.await.unwrap_or_default();
                        let parser = this.0.server.namespaces.config().parser;
                        let missed = before
                            .packets
                            .iter()
                            .chain(&after.packets)
                            .map(|p| Encoded::with_parser(parser, p, true))
                            .collect();
                        this.answer(socket, missed, before.mark.max(after.mark));
                    }));
                    return;
                }
                recovery.missed(&r, &socket.rooms())
            }
            _ => (Vec::new(), 0),
        };
        self.answer(socket, missed, replayed);
    }

    /// Queues the CONNECT answer, then the `missed` packets, starts the
    /// connection handlers and releases the socket's output.
    fn answer(&self, socket: Socket, missed: Vec<Encoded>, replayed: u64) {
        let nsp = socket.nsp().clone();
        let pid = (!self.0.v2).then(|| recovery_pid(&nsp, &socket)).flatten();
        // The answer goes out first; with `connect_ack_gap`, the socket's
        // next packets wait for it so the answer reaches the client alone.
        let handlers = nsp.connection_handlers();
        let gap = self.0.server.namespaces.config().connect_ack_gap;
        let keep = !gap.is_zero() && (!handlers.is_empty() || !missed.is_empty());
        // socket.io v2 clients take a CONNECT without payload.
        let answer = self.connect_answer(nsp.name(), socket.id(), pid.as_deref());
        socket.answer_connect(answer, missed, replayed, keep);
        // The connection handlers start now, up to their first await (rooms
        // they join are joined before anyone can react to the answer); the
        // rest runs before the client's first events, which wait in the
        // queue (held until here).
        if !handlers.is_empty() {
            let s = socket.clone();
            socket.start_job(Box::pin(async move {
                for h in handlers.iter() {
                    h(s.clone()).await;
                }
            }));
        }
        if keep {
            // One queue and task per server, not a task per connection.
            self.0.server.ack_gaps.push(AckGap(socket.clone()));
        }
        socket.release_queue();
    }
}

/// A socket.io v2 CONNECT's namespace (`/nsp?token=x`): its name, and its
/// query as the `auth` object (`{"token":"x"}`), as the reference reads it.
fn v2_namespace(nsp: &str) -> (String, Value) {
    let (name, query) = nsp.split_once('?').unwrap_or((nsp, ""));
    let auth: serde_json::Map<String, Value> = engineio::query::pairs_decoded(query)
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    (name.to_owned(), Value::Object(auth))
}

/// A socket.io v2 client's socket ids on namespace `nsp`, as the reference
/// gives them (and the client computes them): the Engine.IO id `sid` on
/// `/`, `nsp#sid` elsewhere. The key stays the Engine.IO id on every
/// namespace (one socket per namespace and connection keeps it unique in
/// each). Without the Engine.IO id (a driver that does not tell it), a
/// random id.
fn v2_ids(sid: Option<Sid>, nsp: &str) -> (Sid, Option<Box<str>>) {
    let id = sid.unwrap_or_else(Sid::random);
    let public = (nsp != "/").then(|| format!("{nsp}#{id}").into_boxed_str());
    (id, public)
}

/// Gives a recovered socket its data and rooms back, once. Done before the
/// connection middlewares when they run for recovered sockets, so they see
/// (and may change) what comes back; data they store replaces the restored
/// value of the same type.
fn restore(socket: &Socket, restored: &mut Restored) {
    if let Some((extensions, rooms, data)) = restored.take_state() {
        socket.set_extensions(extensions);
        if let Some(data) = data {
            socket.set_data(data);
        }
        socket.join(rooms);
    }
}

/// With an adapter that keeps the sessions and a client that names its
/// private id and last offset: the session the adapter gives back, with
/// the packets the client missed; `None` (a fresh session) when it has
/// none, or fails to give either, as the reference's `restoreSession`
/// fails as a whole.
fn cluster_restore(nsp: &Namespace, auth: &Value) -> Option<BoxFuture<Option<Restored>>> {
    nsp.recovery()?;
    let adapter = nsp.adapter().clone();
    if !adapter.keeps_sessions() {
        return None;
    }
    let pid = auth.get("pid")?.as_str()?.to_owned();
    let offset = auth.get("offset")?.as_str()?.to_owned();
    let ask = adapter.restore_session(pid, offset.clone());
    Some(Box::pin(async move {
        let session = ask.await.ok()??;
        let read = adapter.missed_packets(offset.clone(), session.rooms.clone());
        let missed = read.await.ok()?;
        Some(Restored::from_cluster(session, offset, missed))
    }))
}

/// Writes the JSON parser's CONNECT answer text (see
/// `Connection::connect_answer`): what `Packet::encode` writes for it.
fn write_connect_answer(out: &mut Vec<u8>, nsp: &str, id: Sid, pid: Option<&str>, v2: bool) {
    out.push(b'0');
    crate::packet::encode_nsp_into(out, nsp);
    if v2 {
        return;
    }
    // Serializing a str into a Vec cannot fail.
    out.extend_from_slice(br#"{"sid":"#);
    let _ = serde_json::to_writer(&mut *out, id.as_str());
    if let Some(pid) = pid {
        out.extend_from_slice(br#","pid":"#);
        let _ = serde_json::to_writer(&mut *out, pid);
    }
    out.push(b'}');
}

/// The socket's private id for the CONNECT answer (recovery only): a
/// recovered socket keeps its own, as clients compare them to decide
/// whether they recovered.
fn recovery_pid(nsp: &Namespace, socket: &Socket) -> Option<String> {
    nsp.recovery()?;
    if let Some(Pid(pid)) = socket.get::<Pid>() {
        return Some(pid);
    }
    let pid = Sid::random().to_string();
    socket.insert(Pid(pid.clone()));
    Some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connect_answer_is_what_the_packet_encoder_writes() {
        let id = Sid::random();
        for nsp in ["/", "/chat", "/a,b"] {
            for pid in [None, Some("p1d-_x"), Some("quote\"d")] {
                for v2 in [false, true] {
                    let mut direct = Vec::new();
                    write_connect_answer(&mut direct, nsp, id, pid, v2);
                    let data = (!v2).then(|| connect_payload(id, pid));
                    let mut encoded = Vec::new();
                    Packet::new(PacketType::Connect, nsp, data).encode_into(&mut encoded);
                    assert_eq!(
                        String::from_utf8(direct).unwrap(),
                        String::from_utf8(encoded).unwrap(),
                        "{nsp} {pid:?} v2={v2}"
                    );
                }
            }
        }
    }
}
