//! Namespaces: static ones, and dynamic ones created on demand by a
//! [`ParentNamespace`] whose predicate matches the requested name; and the
//! [`Directory`] of a server's namespaces.
//!
//! A namespace owns its connection middlewares and handlers, its connected
//! sockets, its adapter (inside its [`Scope`]), its recovery store and its
//! `server_side_emit` listeners. Delivery to local sockets lives here, as
//! the namespace's side of [`LocalNamespace`], so that every adapter (local
//! or distributed) shares it. A namespace never names the client or server
//! types: connections find it through the directory.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use engineio::{Sid, SidMap};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};

use crate::adapter::{
    AckResult, AckStream, Adapter, AdapterFactory, BroadcastOptions, IntoRooms, LocalNamespace,
    Room, SocketInfo, WeakNamespace,
};
use crate::config::SocketIoConfig;
use crate::conn::Encoded;
use crate::data::Data;
use crate::error::{AckError, ConnectError, EmitError};
use crate::observer::ObserverSlot;
use crate::operators::BroadcastOperator;
use crate::packet::{Packet, PacketType};
use crate::recovery::Recovery;
use crate::runtime::{BoxFuture, Runtime};
use crate::scope::Scope;
use crate::socket::{Home, NewSocket, Socket};

/// A connection middleware.
pub(crate) type Middleware =
    Arc<dyn Fn(Socket) -> BoxFuture<Result<(), ConnectError>> + Send + Sync>;
/// A connection handler.
pub(crate) type ConnectionHandler = Arc<dyn Fn(Socket) -> BoxFuture<()> + Send + Sync>;
/// A `server_side_emit` listener.
type ServerSideHandler = Arc<dyn Fn(&Data) + Send + Sync>;
/// A `server_side_emit` listener that answers.
pub(crate) type ServerSideAckHandler = Arc<dyn Fn(&Data) -> Data + Send + Sync>;

/// Middlewares and handlers, shared by a parent namespace and its children.
/// Each list is replaced whole when one is added, so that a connecting
/// socket takes it with a reference count, not a copy.
#[derive(Default)]
pub(crate) struct Hooks {
    middlewares: RwLock<Option<Arc<[Middleware]>>>,
    handlers: RwLock<Option<Arc<[ConnectionHandler]>>>,
}

/// A parent namespace's middlewares (or connection handlers), then the
/// namespace's own, in the order they run.
pub(crate) struct HookList<T>([Option<Arc<[T]>>; 2]);

impl<T> Default for HookList<T> {
    fn default() -> Self {
        HookList([None, None])
    }
}

impl<T> HookList<T> {
    /// Whether it holds none.
    pub(crate) fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Each, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter().flatten().flat_map(|list| list.iter())
    }
}

/// Adds `item` to the list behind `lock`.
fn push_hook<T: Clone>(lock: &RwLock<Option<Arc<[T]>>>, item: T) {
    let mut list = lock.write().unwrap_or_else(|e| e.into_inner());
    let mut v = list.as_deref().map(<[T]>::to_vec).unwrap_or_default();
    v.push(item);
    *list = Some(v.into());
}

fn read_hooks<T>(lock: &RwLock<Option<Arc<[T]>>>) -> Option<Arc<[T]>> {
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

impl Hooks {
    fn add_middleware<F, Fut>(&self, f: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        let m: Middleware = Arc::new(move |s| Box::pin(f(s)));
        push_hook(&self.middlewares, m);
    }

    fn add_handler<F, Fut>(&self, f: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let h: ConnectionHandler = Arc::new(move |s| Box::pin(f(s)));
        push_hook(&self.handlers, h);
    }

    fn middlewares(&self) -> Option<Arc<[Middleware]>> {
        read_hooks(&self.middlewares)
    }

    fn handlers(&self) -> Option<Arc<[ConnectionHandler]>> {
        read_hooks(&self.handlers)
    }
}

pub(crate) struct NsInner {
    scope: Arc<Scope>,
    /// The directory this namespace is listed in (to forget an empty child).
    directory: Weak<Directory>,
    hooks: Hooks,
    parent: Option<ParentNamespace>,
    sockets: RwLock<SidMap<Socket>>,
    server_side: RwLock<HashMap<String, Vec<ServerSideHandler>>>,
    server_side_ack: RwLock<HashMap<String, ServerSideAckHandler>>,
    /// The server's observer (see `observer.rs`).
    observer: Arc<ObserverSlot>,
}

/// A namespace. Cheap to clone.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NsInner>);

impl Namespace {
    /// A namespace `name` listed in `directory`, its adapter built by the
    /// directory's factory (which gets the namespace as [`LocalNamespace`]).
    fn new(name: String, directory: &Arc<Directory>, parent: Option<ParentNamespace>) -> Self {
        let nsp = Namespace(Arc::new_cyclic(|nsp: &Weak<NsInner>| {
            let local: Weak<dyn LocalNamespace> = nsp.clone();
            let adapter = (directory.adapter_factory)(WeakNamespace::new(&name, local));
            let recovery = Recovery::new(&directory.config);
            let scope = Scope::new(
                name,
                adapter,
                directory.runtime.clone(),
                recovery,
                directory.config.parser,
                directory.observer.tap(),
            );
            NsInner {
                scope: Arc::new(scope),
                directory: Arc::downgrade(directory),
                hooks: Hooks::default(),
                parent,
                sockets: RwLock::new(SidMap::default()),
                server_side: RwLock::new(HashMap::new()),
                server_side_ack: RwLock::new(HashMap::new()),
                observer: directory.observer.clone(),
            }
        }));
        // The adapter starts at once, in the background if it must wait
        // (a distributed adapter subscribing to its peers).
        let mut init = nsp.adapter().init();
        if (&mut init).now_or_never().is_none() {
            nsp.runtime().spawn(Box::pin(async move {
                let _ = init.await;
            }));
        }
        nsp
    }

    /// The name (`/` for the main namespace).
    pub fn name(&self) -> &str {
        self.0.scope.name()
    }

    /// The adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        self.0.scope.adapter()
    }

    /// The recovery store, when connection state recovery is on.
    pub(crate) fn recovery(&self) -> Option<&Recovery> {
        self.0.scope.recovery()
    }

    /// The runtime.
    pub(crate) fn runtime(&self) -> &Arc<dyn Runtime> {
        self.0.scope.runtime()
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

    /// The middlewares a socket connecting here passes: its parent's
    /// (a dynamic namespace's), then its own.
    pub(crate) fn middlewares(&self) -> HookList<Middleware> {
        let parent = self.0.parent.as_ref().and_then(|p| p.0.hooks.middlewares());
        HookList([parent, self.0.hooks.middlewares()])
    }

    /// The connection handlers, in the same order.
    pub(crate) fn connection_handlers(&self) -> HookList<ConnectionHandler> {
        let parent = self.0.parent.as_ref().and_then(|p| p.0.hooks.handlers());
        HookList([parent, self.0.hooks.handlers()])
    }

    /// The connected local socket with this id.
    pub fn socket(&self, id: Sid) -> Option<Socket> {
        self.0.socket(id)
    }

    /// Every connected local socket.
    pub fn sockets(&self) -> Vec<Socket> {
        self.0
            .sockets
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A socket of this namespace, not yet connected.
    pub(crate) fn new_socket(&self, spec: NewSocket) -> Socket {
        Socket::new(self.0.scope.clone(), Box::new(self.clone()), spec)
    }

    pub(crate) fn add_socket(&self, socket: &Socket) {
        if let Ok(mut m) = self.0.sockets.write() {
            m.insert(socket.id(), socket.clone());
        }
        let own = [socket.public_id().to_owned()];
        self.adapter().add_all(socket.id(), &own);
        if let Some(o) = self.0.observer.get() {
            o.joined(self.name(), socket.id(), &own);
        }
    }

    /// A child of a dynamic namespace lives only while it has sockets, so
    /// clients cannot make the server keep any number of them.
    fn forget_if_empty(&self) {
        let Some(parent) = &self.0.parent else { return };
        let Some(directory) = self.0.directory.upgrade() else {
            return;
        };
        if directory.config.cleanup_empty_children {
            directory.remove_child(self, parent);
        }
    }

    /// Broadcast to `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Broadcast to everyone but `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Broadcast to every socket of the namespace.
    pub fn emit(&self, event: &str, data: impl Into<Data>) -> Result<(), EmitError> {
        self.broadcast().emit(event, data)
    }

    /// A broadcast operator on the whole namespace (for `volatile`, `local`...).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.scope.clone())
    }

    /// Answers `server_side_emit_with_ack` events of this namespace from
    /// other nodes (replacing an earlier answering listener of `event`).
    pub(crate) fn on_server_side_ack(&self, event: String, f: ServerSideAckHandler) {
        self.0
            .server_side_ack
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event, f);
    }

    /// Listens to `server_side_emit` events of this namespace from other nodes.
    pub(crate) fn on_server_side(&self, event: String, f: ServerSideHandler) {
        self.0
            .server_side
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(event)
            .or_default()
            .push(f);
    }
}

impl NsInner {
    fn socket(&self, id: Sid) -> Option<Socket> {
        self.sockets.read().ok()?.get(&id).cloned()
    }

    /// The connected local sockets of `sids`, collected under one read
    /// lock into this thread's reused buffer (give it back with
    /// [`give_back`]).
    ///
    /// Each recipient's state is cold, and a clone's atomic increment stops
    /// the CPU from reading ahead: first read a batch of recipients with
    /// plain loads (their misses overlap), then clone them.
    fn recipients(&self, sids: &[Sid]) -> Vec<Socket> {
        let mut out = RECIPIENTS.try_with(|r| r.take()).unwrap_or_default();
        out.reserve(sids.len());
        let Ok(sockets) = self.sockets.read() else {
            return out;
        };
        let mut batch: [Option<&Socket>; PREFETCH_BATCH] = [None; PREFETCH_BATCH];
        for chunk in sids.chunks(PREFETCH_BATCH) {
            for (slot, sid) in batch.iter_mut().zip(chunk) {
                *slot = sockets.get(sid);
                if let Some(s) = slot {
                    s.prefetch();
                }
            }
            out.extend(batch[..chunk.len()].iter().flatten().map(|s| (*s).clone()));
        }
        out
    }

    /// Calls `f` on each local socket of `sids` still connected, with no
    /// lock held.
    fn each(&self, sids: &[Sid], f: impl Fn(&Socket)) {
        let sockets: Vec<Socket> = sids.iter().filter_map(|sid| self.socket(*sid)).collect();
        for s in &sockets {
            f(s);
        }
    }
}

impl LocalNamespace for NsInner {
    fn name(&self) -> &str {
        self.scope.name()
    }

    fn recovery(&self) -> Option<Duration> {
        self.scope
            .recovery()
            .map(|r| r.max_disconnection_duration())
    }

    /// Sends `packet` to the local sockets `sids`, encoding it once.
    ///
    /// A recipient whose send buffer is full misses a volatile packet. A
    /// non-volatile one is never dropped silently: that recipient's
    /// connection is closed instead (a recoverable disconnect, so with
    /// connection state recovery the client gets the packet on reconnect).
    fn deliver(&self, packet: &Packet, sids: &[Sid], opts: &BroadcastOptions) {
        let encoded = Encoded::with_parser(self.scope.parser(), packet, opts.compress);
        // Sent with no lock held: a `Conn` may close its connection from
        // `send`, and closing removes the socket from this table.
        let recipients = self.recipients(sids);
        for s in &recipients {
            if s.send_packet(encoded.clone()) == Err(EmitError::Full) && !opts.volatile {
                s.close_connection();
            }
        }
        if let (Some(o), Some(payload)) = (self.observer.get(), &packet.data) {
            if matches!(packet.ty, PacketType::Event | PacketType::BinaryEvent) {
                for s in &recipients {
                    o.broadcast_sent(s, payload);
                }
            }
        }
        give_back(recipients);
    }

    /// Sends `packet` with one ack id to the local sockets `sids` and
    /// collects each answer within `timeout`.
    fn deliver_with_ack(
        &self,
        mut packet: Packet,
        sids: &[Sid],
        timeout: Duration,
    ) -> (usize, AckStream) {
        let id = self.scope.next_ack_id();
        packet.id = Some(id);
        let encoded = Encoded::with_parser(self.scope.parser(), &packet, true);
        let answers: FuturesUnordered<BoxFuture<AckResult>> = sids
            .iter()
            .filter_map(|sid| self.socket(*sid))
            .map(|s| {
                let rx = s.register_ack(id);
                let fut: BoxFuture<AckResult> = match s.send_packet(encoded.clone()) {
                    Ok(()) => Box::pin(async move { s.wait_ack(id, rx, timeout).await }),
                    Err(e) => {
                        s.forget_ack(id);
                        Box::pin(std::future::ready(Err(AckError::Emit(e))))
                    }
                };
                fut
            })
            .collect();
        (answers.len(), answers.boxed())
    }

    fn fetch(&self, sids: &[Sid]) -> Vec<SocketInfo> {
        sids.iter()
            .filter_map(|sid| self.socket(*sid))
            .map(|s| s.info())
            .collect()
    }

    fn join(&self, sids: &[Sid], rooms: &[Room]) {
        self.each(sids, |s| s.join(rooms.to_vec()));
    }

    fn leave(&self, sids: &[Sid], rooms: &[Room]) {
        self.each(sids, |s| {
            for r in rooms {
                s.leave(r);
            }
        });
    }

    fn disconnect(&self, sids: &[Sid], close: bool) {
        self.each(sids, |s| s.disconnect(close));
    }

    fn server_side_emit(&self, event: &str, data: &Data) {
        let handlers = self
            .server_side
            .read()
            .ok()
            .and_then(|m| m.get(event).cloned())
            .unwrap_or_default();
        for h in handlers {
            h(data);
        }
    }

    fn server_side_emit_with_ack(&self, event: &str, data: &Data) -> Option<Data> {
        self.server_side_emit(event, data);
        let answer = self
            .server_side_ack
            .read()
            .ok()
            .and_then(|m| m.get(event).cloned())?;
        Some(answer(data))
    }
}

impl Home for Namespace {
    fn left(&self, id: Sid) {
        let removed = self.0.sockets.write().ok().and_then(|mut m| m.remove(&id));
        // A socket's last clone may go here: outside the lock.
        drop(removed);
        self.forget_if_empty();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Socket {
    /// The namespace.
    pub fn nsp(&self) -> &Namespace {
        // Every socket is made by `Namespace::new_socket`, whose home is
        // the namespace itself.
        match self.home().as_any().downcast_ref::<Namespace>() {
            Some(nsp) => nsp,
            None => unreachable!("a socket's home is its namespace"),
        }
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name())
            .finish()
    }
}

/// Recipients of a broadcast read ahead of cloning them (see
/// `NsInner::recipients`).
const PREFETCH_BATCH: usize = 16;

/// Most recipients whose buffer a thread keeps between broadcasts (8 bytes
/// each): a larger one is freed, so one huge broadcast pins no memory.
const RECIPIENTS_KEEP: usize = 16 * 1024;

thread_local! {
    /// The buffer a broadcast collects its recipients in, reused by the
    /// thread's next broadcast: one allocation per thread, not per
    /// broadcast. Taken out while in use, so a broadcast made from inside a
    /// send (a `Conn` closing, a disconnect handler) gets a fresh one.
    static RECIPIENTS: std::cell::Cell<Vec<Socket>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Drops the recipients (their last clones may go here: no lock is held)
/// and keeps the empty buffer for the thread's next broadcast.
fn give_back(mut recipients: Vec<Socket>) {
    recipients.clear();
    if recipients.capacity() <= RECIPIENTS_KEEP {
        let _ = RECIPIENTS.try_with(|r| {
            // A nested broadcast's buffer gives way to the larger one.
            let kept = r.take();
            r.set(if kept.capacity() >= recipients.capacity() {
                kept
            } else {
                recipients
            });
        });
    }
}

/// Decides whether a requested namespace name belongs to a parent namespace.
pub(crate) type NamespacePredicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

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
    pub fn emit(&self, event: &str, data: impl Into<Data>) -> Result<(), EmitError> {
        let data = data.into();
        for c in self.children() {
            c.emit(event, data.clone())?;
        }
        Ok(())
    }
}

/// A server's namespaces: the static ones and the children dynamic parents
/// created, by name, and the parents in the order they were added. Also
/// what every namespace is built with: the server's options, runtime and
/// adapter factory.
pub(crate) struct Directory {
    config: SocketIoConfig,
    runtime: Arc<dyn Runtime>,
    adapter_factory: AdapterFactory,
    observer: Arc<ObserverSlot>,
    nsps: RwLock<HashMap<String, Namespace>>,
    parents: RwLock<Vec<ParentNamespace>>,
}

impl Directory {
    /// An empty directory.
    pub(crate) fn new(
        config: SocketIoConfig,
        runtime: Arc<dyn Runtime>,
        adapter_factory: AdapterFactory,
    ) -> Arc<Directory> {
        Arc::new(Directory {
            config,
            runtime,
            adapter_factory,
            observer: Arc::default(),
            nsps: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
        })
    }

    /// The server's options.
    pub(crate) fn config(&self) -> &SocketIoConfig {
        &self.config
    }

    /// The runtime.
    pub(crate) fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.runtime
    }

    /// Where the server's observer lives.
    pub(crate) fn observer(&self) -> &ObserverSlot {
        &self.observer
    }

    /// The namespace `name` (with its leading `/`), created as a static
    /// one if there is none.
    pub(crate) fn of(self: &Arc<Self>, name: String) -> Namespace {
        if let Some(n) = self.nsps.read().ok().and_then(|m| m.get(&name).cloned()) {
            return n;
        }
        // Built before taking the lock: the adapter factory is user code.
        let fresh = Namespace::new(name.clone(), self, None);
        let mut m = self.nsps.write().unwrap_or_else(|e| e.into_inner());
        m.entry(name).or_insert(fresh).clone()
    }

    /// Adds a dynamic namespace whose children are the names `predicate` accepts.
    pub(crate) fn dynamic(&self, predicate: NamespacePredicate) -> ParentNamespace {
        let p = ParentNamespace::new(predicate);
        self.parents
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(p.clone());
        p
    }

    /// Existing namespaces (static and created children).
    pub(crate) fn all(&self) -> Vec<Namespace> {
        self.nsps
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The namespace a client asks for: a static one, or a child a parent creates.
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

    /// Forgets an empty child namespace (unless a socket joined meanwhile).
    /// By identity: an older instance of the same name never removes a newer one.
    fn remove_child(&self, child: &Namespace, parent: &ParentNamespace) {
        let removed = {
            let mut nsps = self.nsps.write().unwrap_or_else(|e| e.into_inner());
            let current = nsps
                .get(child.name())
                .is_some_and(|n| Arc::ptr_eq(&n.0, &child.0));
            (current && child.sockets().is_empty()).then(|| nsps.remove(child.name()))
        };
        if removed.is_some() {
            parent.remove_child(child);
            // Its adapter stops too: a distributed one must not stay
            // subscribed (and counted by its peers) for a namespace gone.
            let mut closing = child.adapter().close();
            if (&mut closing).now_or_never().is_none() {
                child.runtime().spawn(closing);
            }
        }
        drop(removed);
    }
}
