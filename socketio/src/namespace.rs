//! Namespaces: static ones, and dynamic ones created on demand by a
//! [`ParentNamespace`] whose predicate matches the requested name.
//!
//! A namespace owns its connection middlewares and handlers, its connected
//! sockets and its adapter. Delivery to local sockets lives here so that
//! every adapter (local or distributed) shares it.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Duration;

use engineio::{Sid, SidMap};
use serde_json::{json, Value};

use crate::adapter::{AckResult, Adapter, BroadcastOptions};
use crate::conn::Encoded;
use crate::operators::BroadcastOperator;
use crate::packet::Packet;
use crate::runtime::{BoxFuture, Runtime};
use crate::server::ServerInner;
use crate::socket::{AckError, EmitError, IntoRooms, Socket};

/// A connection middleware's refusal: sent to the client as CONNECT_ERROR
/// `{"message": message, "data": data}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// Error message.
    pub message: String,
    /// Optional extra data.
    pub data: Option<Value>,
}

impl ConnectError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub(crate) fn payload(&self) -> Value {
        match &self.data {
            Some(d) => json!({ "message": self.message, "data": d }),
            None => json!({ "message": self.message }),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

/// A connection middleware.
pub type Middleware = Arc<dyn Fn(Socket) -> BoxFuture<Result<(), ConnectError>> + Send + Sync>;
/// A connection handler.
pub type ConnectionHandler = Arc<dyn Fn(Socket) -> BoxFuture<()> + Send + Sync>;

/// Middlewares and handlers, shared by a parent namespace and its children.
#[derive(Default)]
pub(crate) struct Hooks {
    middlewares: RwLock<Vec<Middleware>>,
    handlers: RwLock<Vec<ConnectionHandler>>,
}

impl Hooks {
    fn add_middleware<F, Fut>(&self, f: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        let m: Middleware = Arc::new(move |s| Box::pin(f(s)));
        self.middlewares
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(m);
    }

    fn add_handler<F, Fut>(&self, f: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let h: ConnectionHandler = Arc::new(move |s| Box::pin(f(s)));
        self.handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(h);
    }

    pub(crate) fn middlewares(&self) -> Vec<Middleware> {
        self.middlewares
            .read()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    pub(crate) fn handlers(&self) -> Vec<ConnectionHandler> {
        self.handlers.read().map(|v| v.clone()).unwrap_or_default()
    }
}

pub(crate) struct NsInner {
    name: String,
    server: Weak<ServerInner>,
    runtime: Arc<dyn Runtime>,
    hooks: Hooks,
    parent: Option<ParentNamespace>,
    adapter: OnceLock<Arc<dyn Adapter>>,
    sockets: RwLock<SidMap<Socket>>,
    ack_ids: AtomicU64,
}

/// A namespace. Cheap to clone.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NsInner>);

/// A weak handle on a namespace, held by its adapter.
#[derive(Clone)]
pub struct WeakNamespace(Weak<NsInner>);

impl WeakNamespace {
    /// The namespace, if it still exists.
    pub fn upgrade(&self) -> Option<Namespace> {
        self.0.upgrade().map(Namespace)
    }

    #[cfg(test)]
    pub(crate) fn dangling() -> Self {
        WeakNamespace(Weak::new())
    }
}

impl Namespace {
    pub(crate) fn new(
        name: String,
        server: &Arc<ServerInner>,
        parent: Option<ParentNamespace>,
    ) -> Namespace {
        let nsp = Namespace(Arc::new(NsInner {
            name,
            server: Arc::downgrade(server),
            runtime: server.runtime.clone(),
            hooks: Hooks::default(),
            parent,
            adapter: OnceLock::new(),
            sockets: RwLock::new(SidMap::default()),
            ack_ids: AtomicU64::new(0),
        }));
        let adapter = (server.adapter_factory)(WeakNamespace(Arc::downgrade(&nsp.0)));
        let _ = nsp.0.adapter.set(adapter);
        nsp
    }

    /// The name (`/` for the main namespace).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        self.0.adapter.get().expect("set at construction")
    }

    pub(crate) fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.0.runtime
    }

    pub(crate) fn server(&self) -> Option<Arc<ServerInner>> {
        self.0.server.upgrade()
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.0.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a connection middleware: runs before `on_connection`; an
    /// `Err` refuses the connection with CONNECT_ERROR.
    pub fn use_middleware<F, Fut>(&self, f: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.0.hooks.add_middleware(f);
        self
    }

    /// Adds a connection handler; register the socket's event handlers here.
    pub fn on_connection<F, Fut>(&self, f: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.0.hooks.add_handler(f);
        self
    }

    pub(crate) fn middlewares(&self) -> Vec<Middleware> {
        let mut v = self
            .0
            .parent
            .as_ref()
            .map(|p| p.0.hooks.middlewares())
            .unwrap_or_default();
        v.extend(self.0.hooks.middlewares());
        v
    }

    pub(crate) fn connection_handlers(&self) -> Vec<ConnectionHandler> {
        let mut v = self
            .0
            .parent
            .as_ref()
            .map(|p| p.0.hooks.handlers())
            .unwrap_or_default();
        v.extend(self.0.hooks.handlers());
        v
    }

    /// The connected local socket with this id.
    pub fn socket(&self, id: Sid) -> Option<Socket> {
        self.0.sockets.read().ok()?.get(&id).cloned()
    }

    /// Every connected local socket.
    pub fn sockets(&self) -> Vec<Socket> {
        self.0
            .sockets
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn add_socket(&self, socket: &Socket) {
        if let Ok(mut m) = self.0.sockets.write() {
            m.insert(socket.id(), socket.clone());
        }
        self.adapter()
            .add_all(socket.id(), &[socket.id().to_string()]);
    }

    pub(crate) fn on_socket_closed(&self, socket: &Socket) {
        self.adapter().del_all(socket.id());
        if let Ok(mut m) = self.0.sockets.write() {
            m.remove(&socket.id());
        }
        self.forget_if_empty();
    }

    /// A child of a dynamic namespace lives only while it has sockets, so
    /// clients cannot make the server keep any number of them.
    pub(crate) fn forget_if_empty(&self) {
        let Some(parent) = &self.0.parent else { return };
        let Some(server) = self.server() else { return };
        if server.config.cleanup_empty_children {
            server.remove_child(self, parent);
        }
    }

    /// Sends `packet` to the local sockets `sids`, encoding it once.
    ///
    /// A recipient whose send buffer is full misses a volatile packet. A
    /// non-volatile one is never dropped silently: that recipient's
    /// connection is closed instead (a recoverable disconnect, so with
    /// connection state recovery the client gets the packet on reconnect).
    pub fn deliver(&self, packet: &Packet, sids: &[Sid], opts: &BroadcastOptions) {
        let volatile = opts.volatile;
        let encoded = Encoded::with_compress(packet, opts.compress);
        let mut full = Vec::new();
        // One read lock for the whole fan-out; queueing a packet takes only
        // the socket's own locks. Closing may need this lock: after it.
        if let Ok(sockets) = self.0.sockets.read() {
            // Each recipient's state is cold, and a send's lock stops the
            // CPU from reading ahead: first read a batch of recipients
            // without locking (their misses overlap), then send to them.
            let mut batch: [Option<&Socket>; PREFETCH_BATCH] = [None; PREFETCH_BATCH];
            for chunk in sids.chunks(PREFETCH_BATCH) {
                for (slot, sid) in batch.iter_mut().zip(chunk) {
                    *slot = sockets.get(sid);
                    if let Some(s) = slot {
                        s.prefetch();
                    }
                }
                for s in batch[..chunk.len()].iter().flatten() {
                    if s.send_packet(encoded.clone()) == Err(EmitError::Full) && !volatile {
                        full.push((*s).clone());
                    }
                }
            }
        }
        for s in full {
            s.close_connection();
        }
    }

    /// Sends `packet` with one ack id to the local sockets `sids` and
    /// collects each answer within `timeout`.
    pub fn deliver_with_ack(
        &self,
        mut packet: Packet,
        sids: &[Sid],
        timeout: Duration,
    ) -> BoxFuture<Vec<AckResult>> {
        let id = self.next_ack_id();
        packet.id = Some(id);
        let encoded = Encoded::new(&packet);
        let waits: Vec<BoxFuture<AckResult>> = sids
            .iter()
            .filter_map(|sid| self.socket(*sid))
            .map(|s| {
                let rx = s.register_ack(id);
                let sent = s.send_packet(encoded.clone());
                let fut: BoxFuture<AckResult> = match sent {
                    Ok(()) => Box::pin(async move { s.wait_ack(id, rx, timeout).await }),
                    Err(e) => {
                        s.forget_ack(id);
                        Box::pin(std::future::ready(Err(AckError::Emit(e))))
                    }
                };
                fut
            })
            .collect();
        Box::pin(futures_util::future::join_all(waits))
    }

    /// Broadcast to `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).to(rooms)
    }

    /// Broadcast to everyone but `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).except(rooms)
    }

    /// Broadcast to every socket of the namespace.
    pub fn emit(&self, event: &str, data: impl Into<crate::Data>) -> Result<(), EmitError> {
        BroadcastOperator::new(self.clone()).emit(event, data)
    }

    /// A broadcast operator on the whole namespace (for `volatile`, `local`...).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone())
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.0.name)
            .finish()
    }
}

/// Recipients of a broadcast read ahead of sending to them (see
/// [`Namespace::deliver`]).
const PREFETCH_BATCH: usize = 16;

/// Decides whether a requested namespace name belongs to a parent namespace.
pub type NamespacePredicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

pub(crate) struct ParentInner {
    pub(crate) predicate: NamespacePredicate,
    hooks: Hooks,
    children: RwLock<Vec<Namespace>>,
}

/// A dynamic namespace: child namespaces are created when a client
/// connects to a name the predicate accepts; the parent's middlewares and
/// handlers apply to every child.
#[derive(Clone)]
pub struct ParentNamespace(pub(crate) Arc<ParentInner>);

impl ParentNamespace {
    pub(crate) fn new(predicate: NamespacePredicate) -> Self {
        ParentNamespace(Arc::new(ParentInner {
            predicate,
            hooks: Hooks::default(),
            children: RwLock::new(Vec::new()),
        }))
    }

    /// Adds a connection middleware for every child.
    pub fn use_middleware<F, Fut>(&self, f: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.0.hooks.add_middleware(f);
        self
    }

    /// Adds a connection handler for every child.
    pub fn on_connection<F, Fut>(&self, f: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.0.hooks.add_handler(f);
        self
    }

    /// The children created so far.
    pub fn children(&self) -> Vec<Namespace> {
        self.0
            .children
            .read()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    pub(crate) fn add_child(&self, nsp: Namespace) {
        if let Ok(mut c) = self.0.children.write() {
            c.push(nsp);
        }
    }

    pub(crate) fn remove_child(&self, nsp: &Namespace) {
        if let Ok(mut c) = self.0.children.write() {
            c.retain(|n| !Arc::ptr_eq(&n.0, &nsp.0));
        }
    }

    /// Emits to every socket of every child.
    pub fn emit(&self, event: &str, data: impl Into<crate::Data>) -> Result<(), EmitError> {
        let data = data.into();
        for c in self.children() {
            c.emit(event, data.clone())?;
        }
        Ok(())
    }
}
