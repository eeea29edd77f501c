//! [`Socket`]: one client connected to one namespace.
//!
//! Owns the socket's state: its id, data, rooms (through its namespace's
//! adapter), held output and lifecycle. Its event handlers and their
//! dispatch are in `handlers.rs`, the serial event queue in `queue.rs`, acks
//! in both directions in `ack.rs`. User handlers are never called while a
//! lock is held.
//!
//! A socket holds its namespace's [`Scope`] and reaches the namespace and
//! the connection that own it only through [`Home`] and [`Link`]: this
//! module never names the namespace, client or server types.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use engineio::Sid;
use futures_channel::oneshot;
use serde_json::{json, Value};

use crate::adapter::{BroadcastOptions, ClusterSession, IntoRooms, Room, SocketInfo};
use crate::conn::{Conn, Encoded};
use crate::data::Data;
use crate::error::{DisconnectReason, EmitError};
use crate::handshake::Handshake;
use crate::operators::BroadcastOperator;
use crate::packet::{Packet, PacketType, Parts};
use crate::parser::Parser;
use crate::recovery::{Extensions, Pid, Session};
use crate::scope::Scope;

mod ack;
mod handlers;
mod output;
mod queue;

pub use ack::AckSender;
pub use handlers::PacketVerdict;
pub(crate) use queue::poll_in_place;

pub(crate) use output::AckGap;

use handlers::Handlers;
use output::Held;
use queue::Queue;

/// The namespace a socket lives in, as the socket sees it (implemented by
/// the namespace, which owns its sockets).
pub(crate) trait Home: Send + Sync + 'static {
    /// The socket `id` is gone (closed, or never connected): the namespace
    /// forgets it, and a dynamic child left empty may go.
    fn left(&self, id: Sid);
    /// The namespace itself, for [`Socket::nsp`](crate::Socket::nsp).
    fn as_any(&self) -> &dyn Any;
}

/// The Socket.IO connection a socket belongs to, as the socket sees it
/// (implemented by the connection, which owns its sockets).
pub(crate) trait Link: Send + Sync + 'static {
    /// Disconnects every socket of the connection, then closes it.
    fn disconnect_all(&self);
    /// Forgets the socket `id` of namespace `nsp`.
    fn remove_socket(&self, nsp: &str, id: Sid);
}

/// The socket's JSON data, among its typed data.
#[derive(Clone)]
struct SocketData(Value);

// `repr(C)` keeps the fields every packet sent to this socket reads (a
// broadcast reads them for each recipient, from a cold cache) together at
// the front, in one cache line; the compiler's order put them 200 bytes
// apart, behind one more pointer.
#[repr(C)]
pub(crate) struct SocketInner {
    /// `conn` itself when it is an Engine.IO session of the tokio driver:
    /// sends skip the trait object and the allocation behind it.
    #[cfg(feature = "tokio")]
    engine: Option<engineio::Socket>,
    holding: AtomicBool,
    connected: AtomicBool,
    /// Set once the socket closed or was abandoned: it joins no more rooms.
    closed: AtomicBool,
    recovered: bool,
    conn: Arc<dyn Conn>,
    id: Sid,
    /// The id the client knows when it differs from `id`'s text (a
    /// socket.io v2 client on a namespace other than `/`: `nsp#engineId`).
    public_id: Option<Box<str>>,
    scope: Arc<Scope>,
    home: Box<dyn Home>,
    link: Weak<dyn Link>,
    handshake: Arc<Handshake>,
    handlers: RwLock<Handlers>,
    /// Bumped under the write lock of `handlers` on every change: a queued
    /// event whose handlers were resolved at an unchanged generation runs
    /// them without looking them up again.
    handlers_gen: AtomicU64,
    /// By ack id, which the socket picks (a multiply hash does).
    acks: Mutex<HashMap<u64, oneshot::Sender<Data>, engineio::BuildSidHasher>>,
    queue: Mutex<Queue>,
    /// Packets held back while the socket connects, until its CONNECT
    /// answer is out, and then for `connect_ack_gap` (see `output.rs`);
    /// `holding` is the lock-free fast path of `held_output.is_some()`.
    held_output: Mutex<Option<Held>>,
    /// Recorded broadcasts below this `seq` were given back to this
    /// recovered socket as missed packets: live copies are dropped.
    replayed: AtomicU64,
    /// Concurrent (`on_concurrent`) handlers running now.
    concurrent: AtomicUsize,
    /// The client sent a packet on this namespace since it connected: it
    /// knows it is connected (a CONNECT now is an invalid state).
    heard: AtomicBool,
    extensions: Mutex<Extensions>,
    max_queued: usize,
}

/// What a connection gives a namespace to make one of its sockets.
pub(crate) struct NewSocket {
    /// The socket id (a recovered socket keeps its own; a socket.io v2
    /// client's is its Engine.IO id).
    pub(crate) id: Sid,
    /// The id as the client knows it, when not `id`'s text.
    pub(crate) public_id: Option<Box<str>>,
    /// The Engine.IO connection it rides on.
    pub(crate) conn: Arc<dyn Conn>,
    /// The Socket.IO connection that owns it.
    pub(crate) link: Weak<dyn Link>,
    /// The client's handshake for this namespace.
    pub(crate) handshake: Arc<Handshake>,
    /// Whether connection state recovery restored it.
    pub(crate) recovered: bool,
    /// Most events waiting for their handlers (`max_queued_events`).
    pub(crate) max_queued: usize,
}

/// One client connected to one namespace. Cheap to clone.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketInner>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Socket {
    /// A socket of the namespace `home` (whose scope is `scope`), not yet
    /// connected.
    pub(crate) fn new(scope: Arc<Scope>, home: Box<dyn Home>, spec: NewSocket) -> Socket {
        let NewSocket {
            id,
            public_id,
            conn,
            link,
            handshake,
            recovered,
            max_queued,
        } = spec;
        Socket(Arc::new(SocketInner {
            #[cfg(feature = "tokio")]
            engine: conn
                .as_any()
                .and_then(|c| c.downcast_ref::<engineio::Socket>())
                .cloned(),
            id,
            public_id,
            scope,
            home,
            conn,
            link,
            handshake,
            handlers: RwLock::new(Handlers::default()),
            handlers_gen: AtomicU64::new(0),
            acks: Mutex::new(HashMap::default()),
            queue: Mutex::new(Queue::default()),
            held_output: Mutex::new(None),
            replayed: AtomicU64::new(0),
            holding: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            concurrent: AtomicUsize::new(0),
            heard: AtomicBool::new(false),
            connected: AtomicBool::new(false),
            extensions: Mutex::new(Extensions::default()),
            recovered,
            max_queued,
        }))
    }

    /// The socket id: the socket's key in its namespace. Random (not the
    /// Engine.IO session id, which is sensitive) for socket.io v3+ clients;
    /// for a socket.io v2 client (Engine.IO 3) it is the Engine.IO id, as
    /// in the reference, since that client computes its id itself. See
    /// [`Socket::public_id`] for the id as text.
    pub fn id(&self) -> Sid {
        self.0.id
    }

    /// The socket id as the client knows it (the reference's `socket.id`),
    /// which also names the socket's own room: [`Socket::id`]'s text,
    /// except for a socket.io v2 client on a namespace other than `/`,
    /// whose id is `nsp#engineId` (`/chat#` followed by [`Socket::id`]).
    /// [`parse_socket_id`](crate::parse_socket_id) takes either form back
    /// to the [`Sid`].
    pub fn public_id(&self) -> &str {
        self.0.public_id.as_deref().unwrap_or(self.0.id.as_str())
    }

    /// The connection this socket rides on, shared by the sockets of every
    /// namespace the client joined over it.
    pub fn conn(&self) -> &Arc<dyn Conn> {
        &self.0.conn
    }

    pub(crate) fn nsp_name(&self) -> &str {
        self.0.scope.name()
    }

    /// The namespace, as [`Home`] (see [`Socket::nsp`](crate::Socket::nsp)).
    pub(crate) fn home(&self) -> &dyn Home {
        &*self.0.home
    }

    /// The handshake.
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// Whether connection state recovery restored this socket.
    pub fn recovered(&self) -> bool {
        self.0.recovered
    }

    pub(crate) fn set_connected(&self) {
        self.0.connected.store(true, Ordering::Release);
    }

    /// Stores typed per-socket data (one value per type).
    pub fn insert<T: Any + Send + Sync>(&self, value: T) {
        lock(&self.0.extensions).insert(TypeId::of::<T>(), Box::new(value));
    }

    /// A clone of the stored value of type `T`.
    pub fn get<T: Any + Send + Sync + Clone>(&self) -> Option<T> {
        lock(&self.0.extensions)
            .get(&TypeId::of::<T>())?
            .downcast_ref::<T>()
            .cloned()
    }

    pub(crate) fn take_extensions(&self) -> Extensions {
        std::mem::take(&mut *lock(&self.0.extensions))
    }

    pub(crate) fn set_extensions(&self, ext: Extensions) {
        *lock(&self.0.extensions) = ext;
    }

    /// Removes and returns the stored value of type `T`.
    pub fn remove<T: Any + Send + Sync>(&self) -> Option<T> {
        let b = lock(&self.0.extensions).remove(&TypeId::of::<T>())?;
        b.downcast::<T>().ok().map(|b| *b)
    }

    /// Sets the socket's JSON data (the reference's `socket.data`): what
    /// `fetch_sockets` reports of it to any node, Node servers included.
    /// Kept with its other data by connection state recovery. The
    /// server's [`Observer`](crate::Observer) hears of it
    /// ([`Observer::data_set`](crate::Observer::data_set): the Admin UI's
    /// `socket_updated`); without one that costs one atomic load.
    pub fn set_data(&self, data: Value) {
        if let Some(o) = self.0.scope.tap() {
            o.data_set(self.nsp_name(), self.0.id, &data);
        }
        self.insert(SocketData(data));
    }

    /// The socket's JSON data (`Null` when none was set).
    pub fn data(&self) -> Value {
        self.get::<SocketData>().map_or(Value::Null, |d| d.0)
    }

    /// Emits `event` to this client.
    pub fn emit(&self, event: &str, data: impl Into<Data>) -> Result<(), EmitError> {
        if crate::packet::RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved);
        }
        let data = data.into();
        self.notify_outgoing(event, &data);
        let parser = self.0.scope.parser();
        if let (None, Parser::Json, Some(args)) =
            (self.0.scope.recovery(), parser, data.args_text())
        {
            // Received arguments sent on as they came: their text.
            let parts = Parts {
                ty: PacketType::Event,
                nsp: self.nsp_name(),
                id: None,
                data: None,
                attachments: 0,
            };
            let encoded =
                Encoded::json_text(|out| parts.encode_array_into(out, Some(event), args), true);
            return self.send_packet(encoded);
        }
        let (payload, bins) = data.into_event(event);
        if let Some(recovery) = self.0.scope.recovery() {
            // Like the reference: with recovery on, a direct emit is a
            // broadcast to the socket's own room, stored with an offset so
            // that it is replayed if the client misses it.
            let mut packet = Packet::event(self.nsp_name(), payload, None, bins);
            let opts = BroadcastOptions {
                rooms: vec![self.public_id().to_owned()],
                ..Default::default()
            };
            if self.0.scope.adapter().keeps_sessions() {
                // Stored by the adapter, with an offset every node knows.
                return self.broadcast_to_self(packet, opts);
            }
            recovery.record(self.0.scope.runtime().now(), &mut packet, &opts);
            return self.send_packet(Encoded::with_parser(self.0.scope.parser(), &packet, true));
        }
        // Encoded from its parts: no `Packet`, no copy of the namespace.
        let parts = Parts {
            ty: PacketType::event(!bins.is_empty()),
            nsp: self.nsp_name(),
            id: None,
            data: Some(&payload),
            attachments: bins.len(),
        };
        self.send_packet(Encoded::from_parts(parser, parts, &bins, true))
    }

    /// Reads what [`Socket::send_packet`] reads first, without locking, so
    /// that a broadcast's batch of recipients misses the cache together
    /// (see `LocalNamespace::deliver`).
    pub(crate) fn prefetch(&self) {
        std::hint::black_box(self.0.connected.load(Ordering::Relaxed));
    }

    /// Sends `packet`, taken by value: a unicast moves its text into the
    /// connection's queue, a broadcast passes each recipient a clone.
    pub(crate) fn send_packet(&self, packet: Encoded) -> Result<(), EmitError> {
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        let packet = match self.hold_if_held(packet) {
            Ok(()) => return Ok(()),
            Err(packet) => packet,
        };
        if self.replayed(&packet) {
            return Ok(());
        }
        if let Some(o) = self.0.scope.tap() {
            o.message_out(packet.wire_len());
        }
        #[cfg(feature = "tokio")]
        if let Some(engine) = &self.0.engine {
            return crate::conn::send_to_engine(engine, packet).map_err(EmitError::from);
        }
        self.0.conn.send(&packet).map_err(EmitError::from)
    }

    /// Joins rooms.
    pub fn join(&self, rooms: impl IntoRooms) {
        if !self.0.closed.load(Ordering::Acquire) {
            let rooms = rooms.into_rooms();
            self.0.scope.adapter().add_all(self.0.id, &rooms);
            if let Some(o) = self.0.scope.tap() {
                o.joined(self.nsp_name(), self.0.id, &rooms);
            }
        }
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.0.scope.adapter().del(self.0.id, room);
        if let Some(o) = self.0.scope.tap() {
            o.left(self.nsp_name(), self.0.id, room);
        }
    }

    /// The rooms this socket is in (including its own).
    pub fn rooms(&self) -> Vec<Room> {
        self.0.scope.adapter().socket_rooms(self.0.id)
    }

    /// Broadcast to `rooms`, excluding this socket.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        BroadcastOperator::new(self.0.scope.clone())
            .except(self.public_id().to_owned())
            .to(rooms)
    }

    /// Broadcast to every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.scope.clone()).except(self.public_id().to_owned())
    }

    /// Disconnects from the namespace; with `close`, closes the whole connection.
    pub fn disconnect(&self, close: bool) {
        match self.0.link.upgrade().filter(|_| close) {
            // Like the reference: every namespace of the connection first.
            Some(link) => link.disconnect_all(),
            None => {
                self.disconnect_namespace();
                if close {
                    self.release_output();
                    self.0.conn.close();
                }
            }
        }
    }

    pub(crate) fn disconnect_namespace(&self) {
        if self.connected() {
            let packet = Packet::new(PacketType::Disconnect, self.nsp_name(), None);
            let _ = self.send_packet(Encoded::with_parser(self.0.scope.parser(), &packet, true));
        }
        self.close(DisconnectReason::ServerNamespaceDisconnect);
    }

    /// A socket that never connected (refused, or its connection closed
    /// during middlewares): forget whatever rooms middlewares joined.
    pub(crate) fn abandon(&self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.scope.adapter().del_all(self.0.id);
        self.0.home.left(self.0.id);
    }

    /// Closes the underlying connection without a DISCONNECT packet (the
    /// reference's `socket.conn.close()`): the client sees the transport
    /// close and reconnects, recovering its state if recovery is on.
    pub fn close_connection(&self) {
        self.release_output();
        self.0.conn.close();
    }

    /// What `fetch_sockets` reports of this socket.
    pub fn info(&self) -> SocketInfo {
        let mut info = SocketInfo::new(
            self.0.id,
            self.nsp_name(),
            self.rooms(),
            self.0.handshake.clone(),
        );
        info.data = self.data();
        if let Some(p) = &self.0.public_id {
            info.public_id = p.to_string();
        }
        info
    }

    /// A direct emit with recovery on an adapter that keeps sessions: a
    /// broadcast to the socket's own room (in the background when the
    /// adapter does not finish at once).
    fn broadcast_to_self(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), EmitError> {
        let fut = self.0.scope.adapter().broadcast(packet, opts);
        self.0.scope.finish_or_spawn(fut)
    }

    /// Ends the socket: `disconnecting`, leave rooms, `disconnect`, and
    /// (recovery) keep its state for a reconnect.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        if !self.0.connected.swap(false, Ordering::AcqRel) {
            return;
        }
        self.0.closed.store(true, Ordering::Release);
        let recovery = self.0.scope.recovery().filter(|_| reason.is_recoverable());
        let rooms = recovery.map(|_| self.rooms());
        let (disconnecting, disconnect) = self.disconnect_handlers();
        for f in &disconnecting {
            // User code must not stop the cleanup below.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| f(self, &reason)));
        }
        self.0.scope.adapter().del_all(self.0.id);
        self.0.home.left(self.0.id);
        if let Some(link) = self.0.link.upgrade() {
            link.remove_socket(self.nsp_name(), self.0.id);
        }
        // Pending acks fail with `Disconnected` as their senders drop;
        // queued events are dropped. Both outside the locks.
        let acks = std::mem::take(&mut *lock(&self.0.acks));
        drop(acks);
        self.drop_queued();
        for f in &disconnect {
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| f(self, &reason)));
        }
        // After the handlers, which may still read the socket's data.
        if let (Some(recovery), Some(rooms), Some(Pid(pid))) = (recovery, rooms, self.get()) {
            let adapter = self.0.scope.adapter();
            if adapter.keeps_sessions() {
                // Node's default data is `{}`: what a Node server restores.
                let data = Some(self.data()).filter(|d| !d.is_null());
                let data = data.unwrap_or_else(|| Value::Object(Default::default()));
                let session = ClusterSession::new(self.0.id, pid, rooms, data);
                adapter.persist_session(session, recovery.max_disconnection_duration());
                return;
            }
            let session = Session {
                id: self.0.id,
                rooms,
                extensions: self.take_extensions(),
            };
            recovery.store(self.0.scope.runtime().now(), pid, session);
        }
    }

    /// Whether the client sent a packet other than CONNECT on this
    /// namespace since it connected.
    pub(crate) fn heard(&self) -> bool {
        self.0.heard.load(Ordering::Relaxed)
    }

    /// Handles a packet for this namespace from the client, carried by a
    /// request with `headers` when the server keeps them.
    pub(crate) fn handle_packet(&self, packet: Packet, headers: Option<Arc<http::HeaderMap>>) {
        self.0.heard.store(true, Ordering::Relaxed);
        match packet.ty {
            PacketType::Event | PacketType::BinaryEvent => self.handle_event(packet, headers),
            PacketType::Ack | PacketType::BinaryAck => self.handle_ack(packet, headers),
            PacketType::Disconnect => self.close(DisconnectReason::ClientNamespaceDisconnect),
            PacketType::Connect | PacketType::ConnectError => {}
        }
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("nsp", &self.nsp_name())
            .finish()
    }
}

/// The CONNECT answer payload.
pub(crate) fn connect_payload(id: Sid, pid: Option<&str>) -> Value {
    match pid {
        Some(pid) => json!({ "sid": id.as_str(), "pid": pid }),
        None => json!({ "sid": id.as_str() }),
    }
}
