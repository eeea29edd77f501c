//! [`Socket`]: one client connected to one namespace.
//!
//! Owns the socket's event handlers, its pending acks and its serial event
//! queue: events run one after another in arrival order (a slow async
//! handler delays later events rather than being overtaken). User handlers
//! are never called while a lock is held.

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, SystemTime};

use engineio::{SendError, Sid};
use futures_channel::oneshot;
use futures_util::FutureExt;
use serde_json::{json, Value};

use crate::adapter::{Room, SocketInfo};
use crate::client::Client;
use crate::conn::{Conn, Encoded};
use crate::data::Data;
use crate::namespace::Namespace;
use crate::operators::BroadcastOperator;
use crate::packet::{Packet, PacketType, Parts};
use crate::runtime::BoxFuture;

/// The client's handshake, as the socket's namespace saw it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Handshake {
    /// The `auth` payload of the CONNECT packet (`{}` when absent).
    pub auth: Value,
    /// Request URL of the Engine.IO handshake (path and query).
    pub url: String,
    /// Request headers of the Engine.IO handshake (shared, not copied, by
    /// every socket of the connection).
    pub headers: Arc<http::HeaderMap>,
    /// Peer address, when known.
    pub address: Option<SocketAddr>,
    /// When the Engine.IO handshake happened.
    pub issued: SystemTime,
}

impl Handshake {
    /// A query parameter of the handshake URL, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let q = self.url.split_once('?').map_or("", |(_, q)| q);
        engineio::query::param(q, name)
    }
}

/// Why a socket disconnected; strings match the reference server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server called `disconnect()`.
    ServerNamespaceDisconnect,
    /// The client sent a DISCONNECT packet.
    ClientNamespaceDisconnect,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The connection closed.
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client sent an invalid packet.
    ParseError,
    /// The connection was closed by the server.
    ForcedServerClose,
}

impl DisconnectReason {
    /// The reference server's reason string.
    pub fn as_str(&self) -> &'static str {
        match self {
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedServerClose => "forced server close",
        }
    }

    /// Whether connection state recovery keeps the session after this
    /// disconnect (the reference server's recoverable reasons: all but
    /// namespace disconnects and parse errors).
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            DisconnectReason::PingTimeout
                | DisconnectReason::TransportClose
                | DisconnectReason::TransportError
                | DisconnectReason::ServerShuttingDown
                | DisconnectReason::ForcedServerClose
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an emit failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmitError {
    /// The socket is disconnected.
    Disconnected,
    /// The connection's send buffer is full.
    Full,
    /// The event name is reserved.
    Reserved,
    /// The adapter could not broadcast.
    Adapter,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EmitError::Disconnected => "socket disconnected",
            EmitError::Full => "send buffer full",
            EmitError::Reserved => "reserved event name",
            EmitError::Adapter => "adapter failed to broadcast",
        })
    }
}

impl std::error::Error for EmitError {}

impl From<SendError> for EmitError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Full => EmitError::Full,
            _ => EmitError::Disconnected,
        }
    }
}

/// Why waiting for an ack failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckError {
    /// No ack within the timeout.
    Timeout,
    /// The socket disconnected first.
    Disconnected,
    /// The packet could not be sent.
    Emit(EmitError),
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckError::Timeout => f.write_str("ack timed out"),
            AckError::Disconnected => f.write_str("socket disconnected before the ack"),
            AckError::Emit(e) => write!(f, "emit failed: {e}"),
        }
    }
}

impl std::error::Error for AckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AckError::Emit(e) => Some(e),
            _ => None,
        }
    }
}

/// Answers a client's ack request. Dropping it without sending answers nothing.
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: u64,
}

impl AckSender {
    /// Sends the ack with `data`.
    pub fn send(self, data: impl Into<Data>) -> Result<(), EmitError> {
        let (args, bins) = data.into().into_parts();
        let args = Value::Array(args);
        // Encoded from its parts: no `Packet`, no copy of the namespace.
        let parts = Parts {
            ty: PacketType::ack(!bins.is_empty()),
            nsp: self.socket.nsp_name(),
            id: Some(self.id),
            data: Some(&args),
            attachments: bins.len(),
        };
        let encoded = Encoded::from_parts(parts, &bins, true);
        self.socket.send_packet(encoded)
    }
}

/// An event handler: socket, arguments, and the ack sender if the client asked for one.
pub type EventHandler = Arc<dyn Fn(Socket, Data, Option<AckSender>) -> BoxFuture<()> + Send + Sync>;
type AnyHandler = Arc<dyn Fn(&Socket, &str, &Data) + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(&Socket, &DisconnectReason) + Send + Sync>;
type ErrorHandler = Arc<dyn Fn(&Socket, &Data) + Send + Sync>;
/// What a packet middleware decides.
pub type PacketVerdict = Result<(), Option<Data>>;
type PacketMiddleware = Arc<dyn Fn(&Socket, &str, &Data) -> PacketVerdict + Send + Sync>;

/// An event's handler, and whether it may run concurrently with later events.
struct EventEntry {
    handler: EventHandler,
    concurrent: bool,
}

/// An arriving event and what it runs.
struct Event {
    name: String,
    data: Data,
    ack: Option<AckSender>,
    run: Dispatch,
    /// The generation of the handlers `run` was resolved at.
    gen: u64,
}

/// What an arriving event runs: resolved once, under one read lock.
struct Dispatch {
    mws: Vec<PacketMiddleware>,
    any_in: Vec<AnyHandler>,
    handler: Option<EventHandler>,
}

/// Hashes event names for the handler map: two multiply-rotate steps per 8
/// bytes instead of SipHash's rounds, for the lookup every event makes.
/// SipHash guards a map against keys chosen to collide; this map's keys
/// are the server's own handler names, and a client's name is only looked
/// up, never inserted.
#[derive(Default, Clone, Copy)]
struct NameHasher(u64);

impl NameHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
}

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 56));
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn finish(&self) -> u64 {
        // The table takes its bucket from the low bits and its tag from the
        // top ones; the rotation brings well-mixed bits to both.
        self.0.rotate_left(26)
    }
}

type NameMap<V> = HashMap<String, V, std::hash::BuildHasherDefault<NameHasher>>;

#[derive(Default)]
struct Handlers {
    events: NameMap<EventEntry>,
    any_in: Vec<AnyHandler>,
    any_out: Vec<AnyHandler>,
    packet_mw: Vec<PacketMiddleware>,
    disconnecting: Vec<DisconnectHandler>,
    disconnect: Vec<DisconnectHandler>,
    error: Vec<ErrorHandler>,
}

struct Queue {
    jobs: VecDeque<BoxFuture<()>>,
    running: bool,
    /// Jobs wait until the CONNECT answer is out (see `release_queue`).
    held: bool,
}

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
    nsp: Namespace,
    client: Weak<Client>,
    handshake: Arc<Handshake>,
    handlers: RwLock<Handlers>,
    /// Bumped under the write lock of `handlers` on every change: a queued
    /// event whose handlers were resolved at an unchanged generation runs
    /// them without looking them up again.
    handlers_gen: AtomicU64,
    acks: Mutex<HashMap<u64, oneshot::Sender<Data>>>,
    queue: Mutex<Queue>,
    /// Packets held back right after the CONNECT answer (`connect_ack_gap`);
    /// `holding` is the lock-free fast path of `held_output.is_some()`.
    held_output: Mutex<Option<Vec<Encoded>>>,
    /// Concurrent (`on_concurrent`) handlers running now.
    concurrent: AtomicUsize,
    extensions: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
    max_queued: usize,
}

/// One client connected to one namespace. Cheap to clone.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketInner>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Socket {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: Sid,
        nsp: Namespace,
        conn: Arc<dyn Conn>,
        client: Weak<Client>,
        handshake: Arc<Handshake>,
        recovered: bool,
        max_queued: usize,
    ) -> Socket {
        Socket(Arc::new(SocketInner {
            #[cfg(feature = "tokio")]
            engine: conn
                .as_any()
                .and_then(|c| c.downcast_ref::<engineio::Socket>())
                .cloned(),
            id,
            nsp,
            conn,
            client,
            handshake,
            handlers: RwLock::new(Handlers::default()),
            handlers_gen: AtomicU64::new(0),
            acks: Mutex::new(HashMap::new()),
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                running: false,
                held: true,
            }),
            held_output: Mutex::new(None),
            holding: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            concurrent: AtomicUsize::new(0),
            connected: AtomicBool::new(false),
            extensions: Mutex::new(HashMap::new()),
            recovered,
            max_queued,
        }))
    }

    /// The socket id (not the Engine.IO session id).
    pub fn id(&self) -> Sid {
        self.0.id
    }

    /// The connection this socket rides on, shared by the sockets of every
    /// namespace the client joined over it.
    pub fn conn(&self) -> &Arc<dyn Conn> {
        &self.0.conn
    }

    /// The namespace.
    pub fn nsp(&self) -> &Namespace {
        &self.0.nsp
    }

    fn nsp_name(&self) -> &str {
        self.0.nsp.name()
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

    /// The handlers, to change them (which bumps their generation).
    fn handlers(&self) -> std::sync::RwLockWriteGuard<'_, Handlers> {
        let guard = self.0.handlers.write().unwrap_or_else(|e| e.into_inner());
        self.0.handlers_gen.fetch_add(1, Ordering::Release);
        guard
    }

    /// What `event` runs now, whether its handler is concurrent, and the
    /// generation of the handlers this was read at.
    fn resolve(&self, event: &str) -> (Dispatch, bool, u64) {
        let h = self.0.handlers.read().unwrap_or_else(|e| e.into_inner());
        let gen = self.0.handlers_gen.load(Ordering::Acquire);
        let entry = h.events.get(event);
        let run = Dispatch {
            mws: h.packet_mw.clone(),
            any_in: h.any_in.clone(),
            handler: entry.map(|e| e.handler.clone()),
        };
        (run, entry.is_some_and(|e| e.concurrent), gen)
    }

    /// Registers the handler of `event` (replacing a previous one).
    pub fn on<F, Fut>(&self, event: impl Into<String>, handler: F)
    where
        F: Fn(Socket, Data, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.set_handler(event.into(), handler, false);
    }

    /// Registers a handler of `event` that runs as soon as its event
    /// arrives, concurrently with other events, instead of in arrival order
    /// (the opt-in for handlers that must not wait behind slow ones).
    pub fn on_concurrent<F, Fut>(&self, event: impl Into<String>, handler: F)
    where
        F: Fn(Socket, Data, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.set_handler(event.into(), handler, true);
    }

    fn set_handler<F, Fut>(&self, event: String, handler: F, concurrent: bool)
    where
        F: Fn(Socket, Data, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let handler: EventHandler = Arc::new(move |s, d, a| Box::pin(handler(s, d, a)));
        let entry = EventEntry {
            handler,
            concurrent,
        };
        self.handlers().events.insert(event, entry);
    }

    /// Removes the handler of `event`.
    pub fn off(&self, event: &str) {
        self.handlers().events.remove(event);
    }

    /// Calls `f` for every incoming event, before its handler.
    pub fn on_any(&self, f: impl Fn(&Socket, &str, &Data) + Send + Sync + 'static) {
        self.handlers().any_in.push(Arc::new(f));
    }

    /// Calls `f` for every outgoing event of this socket.
    pub fn on_any_outgoing(&self, f: impl Fn(&Socket, &str, &Data) + Send + Sync + 'static) {
        self.handlers().any_out.push(Arc::new(f));
    }

    /// A per-packet middleware (`socket.use`): `Ok(())` lets the event
    /// through; `Err(_)` drops it, and `Err(Some(data))` also calls the
    /// socket's [`on_error`](Socket::on_error) listeners with `data` (on the
    /// server, as the reference does; send the client something yourself if
    /// it should know).
    pub fn use_packet(
        &self,
        f: impl Fn(&Socket, &str, &Data) -> PacketVerdict + Send + Sync + 'static,
    ) {
        self.handlers().packet_mw.push(Arc::new(f));
    }

    /// Called with the error of a packet middleware that refused an event.
    pub fn on_error(&self, f: impl Fn(&Socket, &Data) + Send + Sync + 'static) {
        self.handlers().error.push(Arc::new(f));
    }

    /// Called when the socket is about to leave its rooms (rooms still readable).
    pub fn on_disconnecting(&self, f: impl Fn(&Socket, &DisconnectReason) + Send + Sync + 'static) {
        self.handlers().disconnecting.push(Arc::new(f));
    }

    /// Called once the socket has disconnected.
    pub fn on_disconnect(&self, f: impl Fn(&Socket, &DisconnectReason) + Send + Sync + 'static) {
        self.handlers().disconnect.push(Arc::new(f));
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

    pub(crate) fn take_extensions(&self) -> HashMap<TypeId, Box<dyn Any + Send + Sync>> {
        std::mem::take(&mut *lock(&self.0.extensions))
    }

    pub(crate) fn set_extensions(&self, ext: HashMap<TypeId, Box<dyn Any + Send + Sync>>) {
        *lock(&self.0.extensions) = ext;
    }

    /// Removes and returns the stored value of type `T`.
    pub fn remove<T: Any + Send + Sync>(&self) -> Option<T> {
        let b = lock(&self.0.extensions).remove(&TypeId::of::<T>())?;
        b.downcast::<T>().ok().map(|b| *b)
    }

    /// Emits `event` to this client.
    pub fn emit(&self, event: &str, data: impl Into<Data>) -> Result<(), EmitError> {
        if crate::packet::RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved);
        }
        let data = data.into();
        self.notify_outgoing(event, &data);
        let (payload, bins) = data.into_event(event);
        if let Some(server) = self.0.nsp.server().filter(|s| s.recovery_enabled()) {
            // Like the reference: with recovery on, a direct emit is a
            // broadcast to the socket's own room, stored with an offset so
            // that it is replayed if the client misses it.
            let mut packet = Packet::event(self.nsp_name(), payload, None, bins);
            let opts = crate::adapter::BroadcastOptions {
                rooms: vec![self.0.id.to_string()],
                ..Default::default()
            };
            server.record_broadcast(&self.0.nsp, &mut packet, &opts);
            return self.send_packet(Encoded::new(&packet));
        }
        // Encoded from its parts: no `Packet`, no copy of the namespace.
        let parts = Parts {
            ty: PacketType::event(!bins.is_empty()),
            nsp: self.nsp_name(),
            id: None,
            data: Some(&payload),
            attachments: bins.len(),
        };
        self.send_packet(Encoded::from_parts(parts, &bins, true))
    }

    /// Emits `event` and waits for the client's ack, at most `timeout`.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: impl Into<Data>,
        timeout: Duration,
    ) -> Result<Data, AckError> {
        if crate::packet::RESERVED_EVENTS.contains(&event) {
            return Err(AckError::Emit(EmitError::Reserved));
        }
        let data = data.into();
        self.notify_outgoing(event, &data);
        let (payload, bins) = data.into_event(event);
        let id = self.0.nsp.next_ack_id();
        let packet = Packet::event(self.nsp_name(), payload, Some(id), bins);
        let rx = self.register_ack(id);
        if let Err(e) = self.send_packet(Encoded::new(&packet)) {
            self.forget_ack(id);
            return Err(AckError::Emit(e));
        }
        self.wait_ack(id, rx, timeout).await
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        let tx = lock(&self.0.acks).remove(&id);
        drop(tx);
    }

    pub(crate) fn register_ack(&self, id: u64) -> oneshot::Receiver<Data> {
        let (tx, rx) = oneshot::channel();
        lock(&self.0.acks).insert(id, tx);
        rx
    }

    /// Waits for ack `id`; its entry is removed however this ends (answer,
    /// timeout, or the caller dropping the future).
    pub(crate) async fn wait_ack(
        &self,
        id: u64,
        rx: oneshot::Receiver<Data>,
        timeout: Duration,
    ) -> Result<Data, AckError> {
        struct Guard<'a>(&'a Socket, u64);
        impl Drop for Guard<'_> {
            fn drop(&mut self) {
                let tx = lock(&self.0 .0.acks).remove(&self.1);
                drop(tx);
            }
        }
        let _guard = Guard(self, id);
        let sleep = self.0.nsp.runtime().sleep(timeout);
        match futures_util::future::select(rx, sleep).await {
            futures_util::future::Either::Left((r, _)) => r.map_err(|_| AckError::Disconnected),
            futures_util::future::Either::Right(_) => Err(AckError::Timeout),
        }
    }

    fn notify_outgoing(&self, event: &str, data: &Data) {
        let any_out = self
            .0
            .handlers
            .read()
            .map(|h| h.any_out.clone())
            .unwrap_or_default();
        for f in any_out {
            f(self, event, data);
        }
    }

    /// Reads what [`Socket::send_packet`] reads first, without locking:
    /// see `engineio::Socket::prefetch`.
    pub(crate) fn prefetch(&self) {
        std::hint::black_box(self.0.connected.load(Ordering::Relaxed));
        #[cfg(feature = "tokio")]
        if let Some(engine) = &self.0.engine {
            engine.prefetch();
        }
    }

    /// Sends `packet`, taken by value: a unicast moves its text into the
    /// connection's queue, a broadcast passes each recipient a clone.
    pub(crate) fn send_packet(&self, packet: Encoded) -> Result<(), EmitError> {
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        if self.0.holding.load(Ordering::Acquire) {
            let mut held = lock(&self.0.held_output);
            if let Some(v) = held.as_mut() {
                v.push(packet);
                return Ok(());
            }
        }
        #[cfg(feature = "tokio")]
        if let Some(engine) = &self.0.engine {
            return crate::conn::send_to_engine(engine, packet).map_err(EmitError::from);
        }
        self.0.conn.send(&packet).map_err(EmitError::from)
    }

    /// Holds the socket's packets back until [`Socket::release_output`].
    pub(crate) fn hold_output(&self) {
        *lock(&self.0.held_output) = Some(Vec::new());
        self.0.holding.store(true, Ordering::Release);
    }

    /// Sends the held packets, in order, and stops holding. Sent under the
    /// lock so that a concurrent emit cannot overtake them (sends only queue).
    pub(crate) fn release_output(&self) {
        let mut held = lock(&self.0.held_output);
        for p in held.take().unwrap_or_default() {
            if self.0.conn.send(&p) == Err(engineio::SendError::Full) {
                self.0.conn.close();
                break;
            }
        }
        self.0.holding.store(false, Ordering::Release);
    }

    /// Joins rooms.
    pub fn join(&self, rooms: impl IntoRooms) {
        if !self.0.closed.load(Ordering::Acquire) {
            self.0.nsp.adapter().add_all(self.0.id, &rooms.into_rooms());
        }
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.0.nsp.adapter().del(self.0.id, room);
    }

    /// The rooms this socket is in (including its own).
    pub fn rooms(&self) -> Vec<Room> {
        self.0.nsp.adapter().socket_rooms(self.0.id)
    }

    /// Broadcast to `rooms`, excluding this socket.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        BroadcastOperator::new(self.0.nsp.clone())
            .except(self.0.id.to_string())
            .to(rooms)
    }

    /// Broadcast to every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.nsp.clone()).except(self.0.id.to_string())
    }

    /// Disconnects from the namespace; with `close`, closes the whole connection.
    pub fn disconnect(&self, close: bool) {
        match self.0.client.upgrade().filter(|_| close) {
            // Like the reference: every namespace of the connection first.
            Some(client) => client.disconnect_all(),
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
            let _ = self.send_packet(Encoded::new(&Packet::new(
                PacketType::Disconnect,
                self.nsp_name(),
                None,
            )));
        }
        self.close(DisconnectReason::ServerNamespaceDisconnect);
    }

    /// A socket that never connected (refused, or its connection closed
    /// during middlewares): forget whatever rooms middlewares joined.
    pub(crate) fn abandon(&self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.nsp.adapter().del_all(self.0.id);
        self.0.nsp.forget_if_empty();
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
        SocketInfo {
            id: self.0.id,
            nsp: self.nsp_name().to_owned(),
            rooms: self.rooms(),
            handshake: self.0.handshake.clone(),
        }
    }

    /// Ends the socket: `disconnecting`, leave rooms, `disconnect`, and
    /// (recovery) keep its state for a reconnect.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        if !self.0.connected.swap(false, Ordering::AcqRel) {
            return;
        }
        self.0.closed.store(true, Ordering::Release);
        let server = self
            .0
            .nsp
            .server()
            .filter(|s| s.recovery_enabled() && reason.is_recoverable());
        let rooms = server.as_ref().map(|_| self.rooms());
        let (disconnecting, disconnect) = {
            let h = self.0.handlers.read().unwrap_or_else(|e| e.into_inner());
            (h.disconnecting.clone(), h.disconnect.clone())
        };
        for f in &disconnecting {
            // User code must not stop the cleanup below.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| f(self, &reason)));
        }
        self.0.nsp.on_socket_closed(self);
        if let Some(client) = self.0.client.upgrade() {
            client.remove_socket(self.nsp_name(), self.0.id);
        }
        // Pending acks fail with `Disconnected` as their senders drop;
        // queued events are dropped. Both outside the locks.
        let acks = std::mem::take(&mut *lock(&self.0.acks));
        drop(acks);
        let jobs = std::mem::take(&mut lock(&self.0.queue).jobs);
        drop(jobs);
        for f in &disconnect {
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| f(self, &reason)));
        }
        // After the handlers, which may still read the socket's data.
        if let (Some(server), Some(rooms)) = (server, rooms) {
            server.store_session(self, rooms);
        }
    }

    /// Handles a packet for this namespace from the client.
    pub(crate) fn handle_packet(&self, packet: Packet) {
        match packet.ty {
            PacketType::Event | PacketType::BinaryEvent => {
                let Some((event, data)) = Data::from_event(packet.data, packet.attachments) else {
                    return;
                };
                let ack = packet.id.map(|id| AckSender {
                    socket: self.clone(),
                    id,
                });
                // Resolved once here; a queued event whose handlers changed
                // meanwhile (say, registered by a connection handler after
                // an await) looks them up again when it runs.
                let (run, concurrent, gen) = self.resolve(&event);
                let event = Event {
                    name: event,
                    data,
                    ack,
                    run,
                    gen,
                };
                if !concurrent {
                    self.run_or_enqueue(event);
                    return;
                }
                // Bounded like the serial queue: beyond it, overloaded.
                if self.0.concurrent.fetch_add(1, Ordering::AcqRel) >= self.0.max_queued {
                    self.0.concurrent.fetch_sub(1, Ordering::AcqRel);
                    self.disconnect(true);
                    return;
                }
                let socket = self.clone();
                let s = self.clone();
                let job = AssertUnwindSafe(async move { socket.dispatch(event).await })
                    .catch_unwind()
                    .map(move |_| {
                        s.0.concurrent.fetch_sub(1, Ordering::AcqRel);
                    });
                self.0.nsp.runtime().spawn(Box::pin(job));
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let Some(id) = packet.id else { return };
                let tx = lock(&self.0.acks).remove(&id);
                if let Some(tx) = tx {
                    let args = match packet.data {
                        Some(Value::Array(a)) => a,
                        _ => Vec::new(),
                    };
                    let _ = tx.send(Data::from_parts(args, packet.attachments));
                }
            }
            PacketType::Disconnect => self.close(DisconnectReason::ClientNamespaceDisconnect),
            PacketType::Connect | PacketType::ConnectError => {}
        }
    }

    async fn dispatch(&self, event: Event) {
        if let Some(job) = self.start_dispatch(event) {
            job.await;
        }
    }

    /// Runs `event`'s packet middlewares and `on_any` listeners, and calls
    /// its handler: what is left to run is the future it returned, if any.
    fn start_dispatch(&self, event: Event) -> Option<BoxFuture<()>> {
        let Event {
            name: event,
            data,
            ack,
            run,
            gen,
        } = event;
        let run = match self.0.handlers_gen.load(Ordering::Acquire) == gen {
            true => run,
            false => self.resolve(&event).0,
        };
        let Dispatch {
            mws,
            any_in,
            handler,
        } = run;
        for mw in mws {
            if let Err(err) = mw(self, &event, &data) {
                if let Some(err) = err {
                    let listeners = self
                        .0
                        .handlers
                        .read()
                        .map(|h| h.error.clone())
                        .unwrap_or_default();
                    for f in listeners {
                        f(self, &err);
                    }
                }
                return None;
            }
        }
        for f in any_in {
            f(self, &event, &data);
        }
        handler.map(|h| h(self.clone(), data, ack))
    }

    /// Lets queued jobs run (they are held until the CONNECT answer is out).
    pub(crate) fn release_queue(&self) {
        let start = {
            let mut q = lock(&self.0.queue);
            q.held = false;
            !q.jobs.is_empty() && !std::mem::replace(&mut q.running, true)
        };
        if start {
            let socket = self.clone();
            self.0
                .nsp
                .runtime()
                .spawn(Box::pin(async move { socket.run_queue().await }));
        }
    }

    /// Runs `job` up to its first await now, as the reference runs its
    /// connection handler in the same tick as the CONNECT answer, and queues
    /// the rest (it runs before any event). Call while the queue is held.
    pub(crate) fn start_job(&self, mut job: BoxFuture<()>) {
        // The queue task polls it again at once, with its own waker.
        if !poll_in_place(&mut job) {
            lock(&self.0.queue).jobs.push_front(job);
        }
    }

    /// Runs `job` after every job queued before it. With nothing queued or
    /// running, it runs now, up to its first await: most handlers finish
    /// there, and then no task is spawned for them. One that awaits goes to
    /// a queue task, which polls it again at once with its own waker.
    ///
    /// The job of an event is its dispatch: when it runs now, that runs
    /// here and only the future its handler returned, if it awaits, is
    /// kept (no job is boxed for it).
    fn run_or_enqueue(&self, event: Event) {
        let overloaded = {
            let mut q = lock(&self.0.queue);
            if q.jobs.len() >= self.0.max_queued {
                true
            } else if !q.held && !q.running {
                // Ours to run: later jobs queue behind it.
                q.running = true;
                false
            } else {
                let socket = self.clone();
                q.jobs
                    .push_back(Box::pin(async move { socket.dispatch(event).await }));
                return;
            }
        };
        if overloaded {
            // The client sends faster than its handlers finish.
            self.disconnect(true);
            return;
        }
        // No lock is held here: middlewares and the handler may use this
        // socket freely. One that panics ends its event, as a queued job's
        // panic does.
        let job = std::panic::catch_unwind(AssertUnwindSafe(|| self.start_dispatch(event)))
            .ok()
            .flatten();
        let job = job.and_then(|mut job| (!poll_in_place(&mut job)).then_some(job));
        if job.is_none() {
            let mut q = lock(&self.0.queue);
            if q.jobs.is_empty() {
                q.running = false;
                return;
            }
            // Jobs queued while it ran: the queue task runs them.
        }
        // A job that awaits belongs to the queue task from now on, like one
        // it had taken from the queue: a close drops queued jobs, not it.
        let socket = self.clone();
        self.0.nsp.runtime().spawn(Box::pin(async move {
            if let Some(job) = job {
                let _ = AssertUnwindSafe(job).catch_unwind().await;
            }
            socket.run_queue().await
        }));
    }

    async fn run_queue(self) {
        loop {
            let job = {
                let mut q = lock(&self.0.queue);
                match q.jobs.pop_front() {
                    Some(j) => j,
                    None => {
                        q.running = false;
                        return;
                    }
                }
            };
            // A panicking handler must not stall the socket's later events.
            let _ = AssertUnwindSafe(job).catch_unwind().await;
        }
    }
}

/// Polls `job` once, here, with a waker that does nothing; whoever keeps a
/// job that is not done must poll it again with a real waker. Returns
/// whether it is done (a panic ends it too).
pub(crate) fn poll_in_place(job: &mut BoxFuture<()>) -> bool {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    !matches!(
        std::panic::catch_unwind(AssertUnwindSafe(|| job.as_mut().poll(&mut cx))),
        Ok(std::task::Poll::Pending)
    )
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("nsp", &self.nsp_name())
            .finish()
    }
}

/// One or several room names.
pub trait IntoRooms {
    /// The rooms.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.to_owned()]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl IntoRooms for Sid {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.to_string()]
    }
}

impl<T: Into<String>> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Into<String> + Clone, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(Into::into).collect()
    }
}

/// The CONNECT answer payload.
pub(crate) fn connect_payload(id: Sid, pid: Option<&str>) -> Value {
    match pid {
        Some(pid) => json!({ "sid": id.as_str(), "pid": pid }),
        None => json!({ "sid": id.as_str() }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::{NameHasher, NameMap};

    #[test]
    fn event_names_hash_apart_and_are_found() {
        let names = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "echo",
            "echo\0",
            "broadcast",
            "broadcast-room",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
        ];
        let build = BuildHasherDefault::<NameHasher>::default();
        let hashes: HashSet<u64> = names.iter().map(|n| build.hash_one(n)).collect();
        assert_eq!(hashes.len(), names.len());
        let mut map = NameMap::default();
        for (i, n) in names.iter().enumerate() {
            map.insert(n.to_string(), i);
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(map.get(*n), Some(&i));
        }
        assert_eq!(map.get("missing"), None);
    }
}
