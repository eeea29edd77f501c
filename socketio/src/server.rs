//! [`SocketIo`]: the server: configuration, namespaces, connection state
//! recovery, and the entry point that turns a transport connection into a
//! [`Connection`].

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio::Sid;
use serde_json::Value;

use crate::adapter::{AdapterFactory, BroadcastOptions, LocalAdapter, Room};
use crate::client::{Connection, ConnectionInfo};
use crate::conn::{Conn, Encoded};
use crate::data::Data;
use crate::deadlines::{AckGap, ConnectTimeout, Deadlines};
use crate::namespace::{Namespace, ParentNamespace};
use crate::operators::BroadcastOperator;
use crate::packet::{Packet, PacketType};
use crate::runtime::Runtime;
use crate::socket::{DisconnectReason, EmitError, IntoRooms, Socket};

/// Connection state recovery (socket.io 4.6+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a disconnected socket's id, rooms, data and missed packets
    /// are kept. Default 2 minutes.
    pub max_disconnection_duration: Duration,
    /// Skip connection middlewares for a recovered socket. Default true.
    /// When false they run with the restored data and rooms in place (data
    /// they store replaces the restored value of that type), and the missed
    /// packets sent are those the socket's rooms select after them: a
    /// middleware that finds the new credentials weaker can leave rooms, or
    /// refuse the socket, before anything missed is delivered.
    pub skip_middlewares: bool,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
        }
    }
}

/// Server options with documented defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SocketIoConfig {
    /// A connection that joins no namespace within this time is closed. Default 45 s.
    pub connect_timeout: Duration,
    /// Most binary attachments per packet. Default 10.
    pub max_attachments: usize,
    /// Events of one socket waiting for their handlers; beyond it the
    /// client is disconnected as overloaded. Default 1024.
    pub max_queued_events: usize,
    /// Connection state recovery. Default off.
    pub recovery: Option<RecoveryConfig>,
    /// Most packets kept for recovery (oldest dropped first). Default 10,000.
    pub recovery_max_packets: usize,
    /// Most bytes of encoded packets kept for recovery (oldest dropped
    /// first). A packet larger than this empties the buffer instead, so
    /// that no client recovers past it without it. Default 64 MiB.
    pub recovery_max_bytes: usize,
    /// Forget a dynamic namespace's child once its last socket leaves
    /// (the reference's `cleanupEmptyChildNamespaces`). Default true, unlike
    /// the reference: otherwise clients naming new children grow the server
    /// without bound.
    pub cleanup_empty_children: bool,
    /// Time between the CONNECT answer and the socket's next packets, so
    /// that the answer reaches the client in a read of its own before the
    /// connection handlers' first emits. Clients that handle one frame per
    /// read, such as the official protocol test suite, depend on it (the
    /// reference server gets the same gap from its write callbacks). The
    /// handlers themselves start at once (rooms they join are joined before
    /// anyone can react to the answer); only the socket's output waits, in
    /// order. Default 1 ms; zero disables it.
    pub connect_ack_gap: Duration,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        SocketIoConfig {
            connect_timeout: Duration::from_secs(45),
            max_attachments: 10,
            max_queued_events: 1024,
            recovery: None,
            recovery_max_packets: 10_000,
            recovery_max_bytes: 64 << 20,
            cleanup_empty_children: true,
            connect_ack_gap: Duration::from_millis(1),
        }
    }
}

impl SocketIoConfig {
    /// Sets [`SocketIoConfig::connect_timeout`].
    pub fn connect_timeout(mut self, v: Duration) -> Self {
        self.connect_timeout = v;
        self
    }
    /// Sets [`SocketIoConfig::max_attachments`].
    pub fn max_attachments(mut self, v: usize) -> Self {
        self.max_attachments = v;
        self
    }
    /// Sets [`SocketIoConfig::max_queued_events`].
    pub fn max_queued_events(mut self, v: usize) -> Self {
        self.max_queued_events = v.max(1);
        self
    }
    /// Sets [`SocketIoConfig::recovery`].
    pub fn recovery(mut self, v: Option<RecoveryConfig>) -> Self {
        self.recovery = v;
        self
    }
    /// Sets [`SocketIoConfig::connect_ack_gap`].
    pub fn connect_ack_gap(mut self, v: Duration) -> Self {
        self.connect_ack_gap = v;
        self
    }
    /// Sets [`SocketIoConfig::cleanup_empty_children`].
    pub fn cleanup_empty_children(mut self, v: bool) -> Self {
        self.cleanup_empty_children = v;
        self
    }
    /// Sets [`SocketIoConfig::recovery_max_packets`].
    pub fn recovery_max_packets(mut self, v: usize) -> Self {
        self.recovery_max_packets = v;
        self
    }
    /// Sets [`SocketIoConfig::recovery_max_bytes`].
    pub fn recovery_max_bytes(mut self, v: usize) -> Self {
        self.recovery_max_bytes = v;
        self
    }
}

type Extensions = HashMap<TypeId, Box<dyn Any + Send + Sync>>;
type ServerSideHandler = Arc<dyn Fn(&Data) + Send + Sync>;

struct StoredSession {
    id: Sid,
    nsp: String,
    rooms: Vec<Room>,
    extensions: Extensions,
    at: Instant,
}

struct StoredPacket {
    offset: String,
    nsp: String,
    opts: BroadcastOptions,
    encoded: Encoded,
    /// Bytes of `encoded` (text and attachments).
    size: usize,
    at: Instant,
}

#[derive(Default)]
struct Recovery {
    sessions: HashMap<String, StoredSession>,
    packets: VecDeque<StoredPacket>,
    /// Sum of the stored packets' sizes.
    bytes: usize,
}

/// What recovery restores of a socket.
pub(crate) struct Restored {
    pub(crate) id: Sid,
    rooms: Vec<Room>,
    /// Packets sent while it was away that its rooms then selected, with
    /// the options that selected them.
    missed: Vec<(Encoded, BroadcastOptions)>,
    /// Taken once restored.
    extensions: Option<Extensions>,
}

/// The private session id of a socket (recovery only).
#[derive(Clone)]
struct Pid(String);

pub(crate) struct ServerInner {
    pub(crate) config: SocketIoConfig,
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) adapter_factory: AdapterFactory,
    nsps: RwLock<HashMap<String, Namespace>>,
    parents: RwLock<Vec<ParentNamespace>>,
    server_side: RwLock<HashMap<String, Vec<ServerSideHandler>>>,
    recovery: Mutex<Recovery>,
    /// Connections that must join a namespace within `connect_timeout`.
    pub(crate) connect_timeouts: Deadlines<ConnectTimeout>,
    /// Sockets whose output waits for `connect_ack_gap`.
    pub(crate) ack_gaps: Deadlines<AckGap>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ServerInner {
    /// The namespace `name`: a static one, or a child a parent creates.
    pub(crate) fn namespace_for(self: &Arc<Self>, name: &str) -> Option<Namespace> {
        if let Some(n) = self.nsps.read().ok()?.get(name) {
            return Some(n.clone());
        }
        let parents = self.parents.read().ok()?.clone();
        // A panicking predicate refuses the name instead of killing the caller.
        let parent = parents.into_iter().find(|p| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (p.0.predicate)(name)))
                .unwrap_or(false)
        })?;
        // Built before taking the lock: the adapter factory is user code.
        let child = Namespace::new(name.to_owned(), self, Some(parent.clone()));
        let mut nsps = self.nsps.write().ok()?;
        if let Some(n) = nsps.get(name) {
            return Some(n.clone());
        }
        nsps.insert(name.to_owned(), child.clone());
        drop(nsps);
        parent.add_child(child.clone());
        Some(child)
    }

    pub(crate) fn skip_middlewares(&self) -> bool {
        self.config
            .recovery
            .as_ref()
            .is_some_and(|r| r.skip_middlewares)
    }

    /// The socket's private id for the CONNECT answer (recovery only):
    /// a recovered socket keeps its own, as clients compare them to decide
    /// whether they recovered.
    pub(crate) fn recovery_pid(&self, socket: &Socket) -> Option<String> {
        self.config.recovery.as_ref()?;
        if let Some(Pid(pid)) = socket.get::<Pid>() {
            return Some(pid);
        }
        let pid = Sid::random().to_string();
        socket.insert(Pid(pid.clone()));
        Some(pid)
    }

    /// Whether connection state recovery is on.
    pub(crate) fn recovery_enabled(&self) -> bool {
        self.config.recovery.is_some()
    }

    /// Keeps a socket's id, rooms and data after a recoverable disconnect.
    pub(crate) fn store_session(&self, socket: &Socket, rooms: Vec<Room>) {
        let Some(cfg) = &self.config.recovery else {
            return;
        };
        let Some(Pid(pid)) = socket.get::<Pid>() else {
            return;
        };
        let now = self.runtime.now();
        let session = StoredSession {
            id: socket.id(),
            nsp: socket.nsp().name().to_owned(),
            rooms,
            extensions: socket.take_extensions(),
            at: now,
        };
        let expired: Vec<StoredSession> = {
            let mut rec = lock(&self.recovery);
            let keys: Vec<String> = rec
                .sessions
                .iter()
                .filter(|(_, s)| now.duration_since(s.at) >= cfg.max_disconnection_duration)
                .map(|(k, _)| k.clone())
                .collect();
            let expired = keys.iter().filter_map(|k| rec.sessions.remove(k)).collect();
            rec.sessions.insert(pid, session);
            expired
        };
        // User data is dropped outside the lock: its Drop may emit.
        drop(expired);
    }

    /// Appends the recovery offset to a broadcast event and records it.
    pub(crate) fn record_broadcast(
        &self,
        nsp: &Namespace,
        packet: &mut Packet,
        opts: &BroadcastOptions,
    ) {
        let Some(cfg) = &self.config.recovery else {
            return;
        };
        if packet.ty != PacketType::Event && packet.ty != PacketType::BinaryEvent || opts.volatile {
            return;
        }
        let offset = Sid::random().to_string();
        if let Some(Value::Array(a)) = packet.data.as_mut() {
            a.push(Value::String(offset.clone()));
        }
        let now = self.runtime.now();
        let encoded = Encoded::with_compress(packet, opts.compress);
        let size =
            encoded.text().len() + encoded.attachments().iter().map(Bytes::len).sum::<usize>();
        let max_bytes = self.config.recovery_max_bytes;
        let mut rec = lock(&self.recovery);
        if size > max_bytes {
            // Unkept, and no older offset may be recovered past it.
            rec.packets.clear();
            rec.bytes = 0;
            return;
        }
        while rec.packets.len() >= self.config.recovery_max_packets.max(1)
            || rec.bytes + size > max_bytes
            || rec
                .packets
                .front()
                .is_some_and(|p| now.duration_since(p.at) > cfg.max_disconnection_duration)
        {
            let Some(old) = rec.packets.pop_front() else {
                break;
            };
            rec.bytes -= old.size;
        }
        rec.bytes += size;
        rec.packets.push_back(StoredPacket {
            offset,
            nsp: nsp.name().to_owned(),
            opts: opts.clone(),
            encoded,
            size,
            at: now,
        });
    }

    /// Forgets an empty child namespace (unless a socket joined meanwhile).
    /// By identity: an older instance of the same name never removes a newer one.
    pub(crate) fn remove_child(&self, child: &Namespace, parent: &ParentNamespace) {
        let removed = {
            let mut nsps = self.nsps.write().unwrap_or_else(|e| e.into_inner());
            let current = nsps
                .get(child.name())
                .is_some_and(|n| Arc::ptr_eq(&n.0, &child.0));
            (current && child.sockets().is_empty()).then(|| nsps.remove(child.name()))
        };
        if removed.is_some() {
            parent.remove_child(child);
        }
        drop(removed);
    }

    /// Restores the session `auth` names (`pid` and `offset`), if still kept.
    pub(crate) fn take_recovery(&self, nsp: &Namespace, auth: &Value) -> Option<Restored> {
        let cfg = self.config.recovery.as_ref()?;
        let pid = auth.get("pid")?.as_str()?;
        let offset = auth.get("offset")?.as_str()?;
        let now = self.runtime.now();
        let mut rec = lock(&self.recovery);
        let session = rec.sessions.remove(pid)?;
        let valid = session.nsp == nsp.name()
            && now.duration_since(session.at) < cfg.max_disconnection_duration;
        let index = rec.packets.iter().position(|p| p.offset == offset);
        let (true, Some(index)) = (valid, index) else {
            drop(rec);
            // User data is dropped outside the lock: its Drop may emit.
            drop(session);
            return None;
        };
        let missed = rec
            .packets
            .iter()
            .skip(index + 1)
            .filter(|p| p.nsp == session.nsp && included(&session.rooms, &p.opts))
            .map(|p| (p.encoded.clone(), p.opts.clone()))
            .collect();
        drop(rec);
        Some(Restored {
            id: session.id,
            rooms: session.rooms,
            missed,
            extensions: Some(session.extensions),
        })
    }
}

fn included(rooms: &[Room], opts: &BroadcastOptions) -> bool {
    let targeted = opts.rooms.is_empty() || opts.rooms.iter().any(|r| rooms.contains(r));
    let excluded = opts.except.iter().any(|r| rooms.contains(r));
    targeted && !excluded
}

/// A Socket.IO server. Cheap to clone.
#[derive(Clone)]
pub struct SocketIo(pub(crate) Arc<ServerInner>);

/// Builds a [`SocketIo`].
pub struct SocketIoBuilder {
    config: SocketIoConfig,
    runtime: Option<Arc<dyn Runtime>>,
    adapter: Option<AdapterFactory>,
}

impl SocketIoBuilder {
    /// Server options.
    pub fn config(mut self, config: SocketIoConfig) -> Self {
        self.config = config;
        self
    }

    /// The runtime (required without the `tokio` feature).
    pub fn runtime(mut self, rt: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(rt);
        self
    }

    /// The adapter of every namespace. Default [`LocalAdapter`].
    pub fn adapter(mut self, factory: AdapterFactory) -> Self {
        self.adapter = Some(factory);
        self
    }

    /// Builds the server with its main namespace `/`.
    ///
    /// # Panics
    /// Without the `tokio` feature, when no runtime was given.
    pub fn build(self) -> SocketIo {
        #[cfg(feature = "tokio")]
        let runtime = self
            .runtime
            .unwrap_or_else(|| Arc::new(crate::runtime::TokioRuntime));
        #[cfg(not(feature = "tokio"))]
        let runtime = self
            .runtime
            .expect("a Runtime is required without the tokio feature");
        let io = SocketIo(Arc::new(ServerInner {
            config: self.config,
            runtime,
            adapter_factory: self.adapter.unwrap_or_else(LocalAdapter::factory),
            nsps: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
            server_side: RwLock::new(HashMap::new()),
            recovery: Mutex::new(Recovery::default()),
            connect_timeouts: Default::default(),
            ack_gaps: Default::default(),
        }));
        io.of("/");
        io
    }
}

impl SocketIo {
    /// A builder.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder {
            config: SocketIoConfig::default(),
            runtime: None,
            adapter: None,
        }
    }

    /// A server with default options on tokio.
    #[cfg(feature = "tokio")]
    pub fn new() -> SocketIo {
        SocketIo::builder().build()
    }

    /// The configuration.
    pub fn config(&self) -> &SocketIoConfig {
        &self.0.config
    }

    /// The static namespace `name`, created if needed.
    pub fn of(&self, name: &str) -> Namespace {
        let name = if name.starts_with('/') {
            name.to_owned()
        } else {
            format!("/{name}")
        };
        if let Some(n) = self.0.nsps.read().ok().and_then(|m| m.get(&name).cloned()) {
            return n;
        }
        // Built before taking the lock: the adapter factory is user code.
        let fresh = Namespace::new(name.clone(), &self.0, None);
        let mut m = self.0.nsps.write().unwrap_or_else(|e| e.into_inner());
        m.entry(name).or_insert(fresh).clone()
    }

    /// A dynamic namespace: children are created for names `predicate` accepts.
    pub fn dynamic(
        &self,
        predicate: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> ParentNamespace {
        let p = ParentNamespace::new(Arc::new(predicate));
        self.0
            .parents
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(p.clone());
        p
    }

    /// Existing namespaces (static and created children).
    pub fn namespaces(&self) -> Vec<Namespace> {
        self.0
            .nsps
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Takes a new transport connection. Feed the returned [`Connection`]
    /// its messages; this is the runtime-independent entry point.
    pub fn accept(&self, conn: Arc<dyn Conn>, info: ConnectionInfo) -> Connection {
        Connection::new(conn, self.0.clone(), info)
    }

    /// Broadcast on the main namespace to `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.of("/").to(rooms)
    }

    /// Broadcast on the main namespace except `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.of("/").except(rooms)
    }

    /// Emits to every socket of the main namespace.
    pub fn emit(&self, event: &str, data: impl Into<Data>) -> Result<(), EmitError> {
        self.of("/").emit(event, data)
    }

    /// Listens to `server_side_emit` events from other nodes.
    pub fn on_server_side(
        &self,
        event: impl Into<String>,
        f: impl Fn(&Data) + Send + Sync + 'static,
    ) {
        self.0
            .server_side
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(event.into())
            .or_default()
            .push(Arc::new(f));
    }

    /// Emits to the `on_server_side` listeners of the other nodes.
    pub async fn server_side_emit(
        &self,
        event: &str,
        data: impl Into<Data>,
    ) -> Result<(), crate::AdapterError> {
        self.of("/")
            .adapter()
            .server_side_emit(event.to_owned(), data.into())
            .await
    }

    /// Delivers a `server_side_emit` from another node (called by adapters).
    pub fn handle_server_side(&self, event: &str, data: &Data) {
        let hs = self
            .0
            .server_side
            .read()
            .ok()
            .and_then(|m| m.get(event).cloned())
            .unwrap_or_default();
        for h in hs {
            h(data);
        }
    }

    /// Shuts down: every socket disconnects with reason "server shutting
    /// down" and every connection closes.
    pub fn close(&self) {
        // Like the reference: no DISCONNECT packet (clients would not
        // reconnect); sockets end with "server shutting down" and the
        // connections close, so clients reconnect to the next server.
        for n in self.namespaces() {
            for s in n.sockets() {
                s.close(DisconnectReason::ServerShuttingDown);
                s.close_connection();
            }
        }
    }
}

#[cfg(feature = "tokio")]
impl Default for SocketIo {
    fn default() -> Self {
        SocketIo::new()
    }
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("config", &self.0.config)
            .finish()
    }
}

impl Restored {
    /// Gives the socket its data and rooms back. Done before the
    /// connection middlewares when they run for recovered sockets, so they
    /// see (and may change) what comes back; data they store replaces the
    /// restored value of the same type.
    pub(crate) fn restore(&mut self, socket: &Socket) {
        if let Some(ext) = self.extensions.take() {
            socket.set_extensions(ext);
            socket.join(std::mem::take(&mut self.rooms));
        }
    }

    /// The missed packets the socket's rooms select now (a middleware may
    /// have left some), restoring first if that was not done.
    pub(crate) fn missed(mut self, socket: &Socket) -> Vec<Encoded> {
        self.restore(socket);
        let rooms = socket.rooms();
        self.missed
            .into_iter()
            .filter(|(_, opts)| included(&rooms, opts))
            .map(|(e, _)| e)
            .collect()
    }
}
