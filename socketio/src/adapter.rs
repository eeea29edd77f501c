//! [`Adapter`]: rooms and cluster-wide operations of one namespace, and
//! [`LocalNamespace`]: the namespace as its adapter sees it.
//!
//! The trait mirrors the reference `ClusterAdapter`: room bookkeeping for
//! local sockets is synchronous (every node keeps its own), every operation
//! that may involve other nodes is async. [`LocalAdapter`] is the in-memory
//! default; a distributed adapter keeps local rooms the same way, publishes
//! to its peers and applies what they publish through [`LocalNamespace`],
//! which is all it knows of the namespace: this module never names the
//! namespace, socket, client or server types.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use engineio::{Sid, SidMap, SidSet};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde_json::Value;

use crate::data::Data;
use crate::error::{AckError, AdapterError};
use crate::handshake::Handshake;
use crate::packet::Packet;
use crate::runtime::BoxFuture;

/// A room name. Every socket is also in the room named by its id.
pub type Room = String;

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

/// Who a broadcast reaches, and how. Start from `Default` (every socket,
/// compressible) and set what differs; more fields may come, so build it
/// that way rather than with a struct literal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// Rooms to reach (union); empty means every socket of the namespace.
    pub rooms: Vec<Room>,
    /// Rooms (or socket ids) to leave out.
    pub except: Vec<Room>,
    /// Drop the packet for a recipient whose send buffer is full, silently.
    pub volatile: bool,
    /// Only this node, not the other nodes of a cluster.
    pub local: bool,
    /// The transport may compress the packet (HTTP compression of polling
    /// responses). Default true, as in the reference.
    pub compress: bool,
    /// For a broadcast with acks: how long its acks are awaited (the
    /// reference's `timeout` flag).
    pub timeout: Option<Duration>,
    /// The server the broadcast came from, as its adapter names it
    /// ([`Adapter::server_id`]); `None` for this node's own.
    pub origin: Option<String>,
}

impl Default for BroadcastOptions {
    fn default() -> Self {
        BroadcastOptions {
            rooms: Vec::new(),
            except: Vec::new(),
            volatile: false,
            local: false,
            compress: true,
            timeout: None,
            origin: None,
        }
    }
}

impl BroadcastOptions {
    /// Adds rooms to reach.
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.rooms.extend(rooms.into_rooms());
        self
    }

    /// Adds rooms (or socket ids) to leave out.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.except.extend(rooms.into_rooms());
        self
    }
}

/// A socket as `fetch_sockets` reports it (possibly on another node).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SocketInfo {
    /// Socket id.
    pub id: Sid,
    /// The id as the client knows it ([`Socket::public_id`]): `id`'s text
    /// but for a socket.io v2 client on a namespace other than `/`.
    ///
    /// [`Socket::public_id`]: crate::Socket::public_id
    pub public_id: String,
    /// Namespace name.
    pub nsp: String,
    /// Rooms the socket is in (including its own).
    pub rooms: Vec<Room>,
    /// Its handshake.
    pub handshake: Arc<Handshake>,
    /// Its JSON data (the reference's `socket.data`, set with
    /// [`Socket::set_data`](crate::Socket::set_data)); `Null` when none.
    pub data: Value,
    /// The server it is on ([`Adapter::server_id`]); `None` for this node.
    pub server: Option<String>,
}

impl SocketInfo {
    /// A socket of this node.
    pub fn new(
        id: Sid,
        nsp: impl Into<String>,
        rooms: Vec<Room>,
        handshake: Arc<Handshake>,
    ) -> Self {
        SocketInfo {
            id,
            public_id: id.to_string(),
            nsp: nsp.into(),
            rooms,
            handshake,
            data: Value::Null,
            server: None,
        }
    }
}

/// The [`Sid`] of a socket id as text ([`Socket::public_id`]): an id as
/// such, or a socket.io v2 client's `nsp#id` (`nsp` starting with `/`).
/// `None` for anything else. The `Sid` alone does not say which namespace
/// a socket is in: look it up in the namespace named before the `#`.
///
/// [`Socket::public_id`]: crate::Socket::public_id
pub fn parse_socket_id(text: &str) -> Option<Sid> {
    match text.rsplit_once('#') {
        Some((nsp, id)) if nsp.starts_with('/') => Sid::parse(id),
        Some(_) => None,
        None => Sid::parse(text),
    }
}

/// The answer of one recipient to a broadcast with ack.
pub type AckResult = Result<Data, AckError>;

/// The answers to a broadcast with ack, as they come.
pub type AckStream = BoxStream<'static, AckResult>;

/// The namespace as its adapter sees it: the local sockets, and the
/// operations a broadcast or a peer's request applies to them. Implemented
/// by the crate's namespaces; an adapter reaches it through the
/// [`WeakNamespace`] its factory was given.
pub trait LocalNamespace: Send + Sync + 'static {
    /// The namespace's name.
    fn name(&self) -> &str;
    /// Sends `packet` to the local sockets `sids`, encoding it once. A
    /// recipient whose send buffer is full misses a volatile packet; for a
    /// non-volatile one its connection is closed instead (never a silent
    /// loss).
    fn deliver(&self, packet: &Packet, sids: &[Sid], opts: &BroadcastOptions);
    /// Sends `packet` with one ack id to the local sockets `sids`: how many
    /// it was sent to (what a peer's request is answered with first), and
    /// each answer as it comes, or its error once `timeout` passed.
    fn deliver_with_ack(
        &self,
        packet: Packet,
        sids: &[Sid],
        timeout: Duration,
    ) -> (usize, AckStream);
    /// Describes the local sockets `sids` (those still connected).
    fn fetch(&self, sids: &[Sid]) -> Vec<SocketInfo>;
    /// Makes the local sockets `sids` join `rooms`.
    fn join(&self, sids: &[Sid], rooms: &[Room]);
    /// Makes the local sockets `sids` leave `rooms`.
    fn leave(&self, sids: &[Sid], rooms: &[Room]);
    /// Disconnects the local sockets `sids` (their whole connection if `close`).
    fn disconnect(&self, sids: &[Sid], close: bool);
    /// Runs this node's `server_side_emit` listeners of the namespace.
    fn server_side_emit(&self, event: &str, data: &Data);
    /// Runs them for an emit that wants an answer: the answer of this
    /// node's answering listener of `event`, if it has one (a node without
    /// one does not answer, as in the reference). Default: no answer.
    fn server_side_emit_with_ack(&self, event: &str, data: &Data) -> Option<Data> {
        self.server_side_emit(event, data);
        None
    }
    /// With connection state recovery on, how long a disconnected socket's
    /// session may be recovered; `None` when it is off. A cluster adapter
    /// that keeps recovery offsets appends one to each broadcast event only
    /// then, as the reference does. Default `None`.
    fn recovery(&self) -> Option<Duration> {
        None
    }
}

/// A weak handle on a namespace, held by its adapter (the namespace owns
/// the adapter, so a strong one would keep both alive).
///
/// The factory gets it while the namespace is being built: its name is
/// known at once, `upgrade` succeeds once the factory returned.
#[derive(Clone)]
pub struct WeakNamespace {
    name: Arc<str>,
    nsp: Weak<dyn LocalNamespace>,
}

impl WeakNamespace {
    /// A handle on the namespace `name`.
    pub fn new(name: &str, nsp: Weak<dyn LocalNamespace>) -> Self {
        WeakNamespace {
            name: name.into(),
            nsp,
        }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace, if it still exists.
    pub fn upgrade(&self) -> Option<Arc<dyn LocalNamespace>> {
        self.nsp.upgrade()
    }
}

/// Rooms and cluster operations for one namespace.
///
/// A disconnected socket's session, kept by a cluster adapter for
/// connection state recovery on any node (the reference's
/// `SessionToPersist`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClusterSession {
    /// The socket's id, given back on recovery.
    pub sid: Sid,
    /// Its private id, which the client sends back to recover.
    pub pid: String,
    /// Its rooms (its own id included).
    pub rooms: Vec<Room>,
    /// Its JSON data ([`Socket::set_data`](crate::Socket::set_data)).
    pub data: Value,
}

impl ClusterSession {
    /// A session.
    pub fn new(sid: Sid, pid: String, rooms: Vec<Room>, data: Value) -> Self {
        ClusterSession {
            sid,
            pid,
            rooms,
            data,
        }
    }
}

/// What [`Adapter::missed_packets`] gives back.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Missed {
    /// The broadcasts the socket missed, oldest first, each with its offset
    /// appended and its recovery mark set ([`Packet::set_recovery_mark`]).
    pub packets: Vec<Packet>,
    /// A mark above theirs: a live packet marked below it is one of them
    /// (or older), which the recovering socket drops.
    pub mark: u64,
    /// The offset of the last entry read, from which a later read goes on
    /// without returning these again; `None` when nothing was read.
    pub resume: Option<String>,
}

impl Missed {
    /// `packets`, marked below `mark`, read up to offset `resume`.
    pub fn new(packets: Vec<Packet>, mark: u64, resume: Option<String>) -> Self {
        Missed {
            packets,
            mark,
            resume,
        }
    }
}

/// Lifecycle: the factory builds the adapter with its namespace; [`init`]
/// runs once right after (in the background when it does not finish at
/// once), [`close`] when the server closes or forgets the namespace (an
/// empty dynamic child). Every operation that may
/// involve other nodes is async and ends, at the latest after the adapter's
/// request timeout, with its result or an [`AdapterError`].
///
/// [`init`]: Adapter::init
/// [`close`]: Adapter::close
pub trait Adapter: Send + Sync + 'static {
    /// Starts the adapter (a distributed one subscribes to its peers).
    /// Default: nothing to do.
    fn init(&self) -> BoxFuture<Result<(), AdapterError>> {
        Box::pin(std::future::ready(Ok(())))
    }
    /// Stops the adapter (unsubscribes, tells its peers). Default: nothing.
    fn close(&self) -> BoxFuture<()> {
        Box::pin(std::future::ready(()))
    }
    /// This server's id in the cluster (the reference's `uid`); `None` for
    /// a single node.
    fn server_id(&self) -> Option<&str> {
        None
    }

    /// Adds a local socket to rooms.
    fn add_all(&self, sid: Sid, rooms: &[Room]);
    /// Removes a local socket from a room.
    fn del(&self, sid: Sid, room: &str);
    /// Removes a local socket from every room.
    fn del_all(&self, sid: Sid);
    /// The rooms a local socket is in.
    fn socket_rooms(&self, sid: Sid) -> Vec<Room>;
    /// Every room with a local member.
    fn rooms(&self) -> Vec<Room>;
    /// The local sockets `opts` selects, each once.
    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid>;

    /// Sends `packet` to every socket `opts` selects, on every node.
    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<(), AdapterError>>;
    /// Like `broadcast`, collecting every recipient's ack within `timeout`.
    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Result<Vec<AckResult>, AdapterError>>;
    /// Makes the selected sockets join `rooms`.
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<(), AdapterError>>;
    /// Makes the selected sockets leave `rooms`.
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<(), AdapterError>>;
    /// Disconnects the selected sockets (and their connections if `close`).
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<Result<(), AdapterError>>;
    /// Describes the selected sockets.
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>>;
    /// Emits an event to the other nodes' `server_side_emit` listeners.
    fn server_side_emit(&self, event: String, data: Data) -> BoxFuture<Result<(), AdapterError>>;
    /// Emits an event to the other nodes' listeners and collects one answer
    /// per other node within the request timeout. Default (one node): no
    /// other node, no answer.
    fn server_side_emit_with_ack(
        &self,
        _event: String,
        _data: Data,
    ) -> BoxFuture<Result<Vec<Data>, AdapterError>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
    /// Number of nodes in the cluster (1 for a single node).
    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>>;
    /// Every room with a member on any node. Default: this node's rooms.
    fn all_rooms(&self) -> BoxFuture<Result<Vec<Room>, AdapterError>> {
        Box::pin(std::future::ready(Ok(self.rooms())))
    }

    /// Whether this adapter keeps the sessions and broadcast offsets of
    /// connection state recovery itself, so that a client recovers on any
    /// node (the Redis Streams adapter). Then the namespace records
    /// nothing: the adapter appends each broadcast event's offset (see
    /// [`LocalNamespace::recovery`]), a socket's direct emits go through
    /// [`Adapter::broadcast`] to its own room, and its sessions go to
    /// [`Adapter::persist_session`]. Default false: the namespace's own
    /// store (recovery on the same node only).
    fn keeps_sessions(&self) -> bool {
        false
    }
    /// Keeps a disconnected socket's session for `ttl` (fire and forget).
    /// Default: nothing.
    fn persist_session(&self, session: ClusterSession, ttl: Duration) {
        let _ = (session, ttl);
    }
    /// Takes the session of private id `pid`, once, if it is still kept and
    /// `offset` (the last one the client got) still known; `None`
    /// otherwise (the client connects anew). Default `None`.
    fn restore_session(
        &self,
        pid: String,
        offset: String,
    ) -> BoxFuture<Result<Option<ClusterSession>, AdapterError>> {
        let _ = (pid, offset);
        Box::pin(std::future::ready(Ok(None)))
    }
    /// The broadcasts after `offset` that a socket in `rooms` gets (see
    /// [`Missed`]). Called twice for a restored session: before the socket
    /// exists (an error then gives the client a fresh session, as the
    /// reference does when it cannot restore one), and once it is in its
    /// rooms, from [`Missed::resume`] of the first read, for what came in
    /// between (an error then only loses those). Default: none.
    fn missed_packets(
        &self,
        offset: String,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<Missed, AdapterError>> {
        let _ = (offset, rooms);
        Box::pin(std::future::ready(Ok(Missed::default())))
    }
}

/// Builds the adapter of each namespace.
pub type AdapterFactory = Arc<dyn Fn(WeakNamespace) -> Arc<dyn Adapter> + Send + Sync>;

/// A set that holds one member without allocating: most rooms have one
/// member (every socket's own room) and most sockets one room.
enum Members<T> {
    One(T),
    Many(HashSet<T>),
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Members::Many(HashSet::new())
    }
}

impl<T: std::hash::Hash + Eq> Members<T> {
    fn insert(&mut self, t: T) {
        match self {
            Members::Many(s) if s.is_empty() => *self = Members::One(t),
            Members::Many(s) => {
                s.insert(t);
            }
            Members::One(a) if *a == t => {}
            Members::One(_) => {
                let Members::One(a) = std::mem::take(self) else {
                    return;
                };
                *self = Members::Many(HashSet::from([a, t]));
            }
        }
    }

    fn remove<Q>(&mut self, q: &Q)
    where
        T: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        match self {
            Members::One(a) if (*a).borrow() == q => *self = Members::default(),
            Members::One(_) => {}
            Members::Many(s) => {
                s.remove(q);
            }
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Members::Many(s) if s.is_empty())
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        let (one, many) = match self {
            Members::One(t) => (Some(t), None),
            Members::Many(s) => (None, Some(s.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

#[derive(Default)]
struct Rooms {
    rooms: HashMap<Room, Members<Sid>>,
    sids: SidMap<Members<Room>>,
}

/// The in-memory adapter: one node, rooms in a map.
pub struct LocalAdapter {
    nsp: WeakNamespace,
    state: Mutex<Rooms>,
}

impl LocalAdapter {
    /// An adapter for `nsp`.
    pub fn new(nsp: WeakNamespace) -> Self {
        LocalAdapter {
            nsp,
            state: Mutex::new(Rooms::default()),
        }
    }

    /// The factory to pass to the server builder.
    pub fn factory() -> AdapterFactory {
        Arc::new(|nsp| Arc::new(LocalAdapter::new(nsp)))
    }

    fn lock(&self) -> MutexGuard<'_, Rooms> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `room` has a local member.
    pub fn has_room(&self, room: &str) -> bool {
        self.lock().rooms.contains_key(room)
    }

    fn ready<T: Send + 'static>(v: T) -> BoxFuture<T> {
        Box::pin(std::future::ready(v))
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        let mut st = self.lock();
        for r in rooms {
            st.rooms.entry(r.clone()).or_default().insert(sid);
            st.sids.entry(sid).or_default().insert(r.clone());
        }
    }

    fn del(&self, sid: Sid, room: &str) {
        let mut st = self.lock();
        if let Some(set) = st.rooms.get_mut(room) {
            set.remove(&sid);
            if set.is_empty() {
                st.rooms.remove(room);
            }
        }
        if let Some(set) = st.sids.get_mut(&sid) {
            set.remove(room);
        }
    }

    fn del_all(&self, sid: Sid) {
        let mut st = self.lock();
        let Some(rooms) = st.sids.remove(&sid) else {
            return;
        };
        for r in rooms.iter() {
            if let Some(set) = st.rooms.get_mut(r) {
                set.remove(&sid);
                if set.is_empty() {
                    st.rooms.remove(r);
                }
            }
        }
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.lock()
            .sids
            .get(&sid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn rooms(&self) -> Vec<Room> {
        self.lock().rooms.keys().cloned().collect()
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        let st = self.lock();
        let excluded: SidSet = opts
            .except
            .iter()
            .filter_map(|r| st.rooms.get(r))
            .flat_map(Members::iter)
            .copied()
            .collect();
        // Everyone, or one room: no socket can come twice.
        let unique = opts.rooms.len() <= 1;
        let mut seen = SidSet::default();
        let candidates: Box<dyn Iterator<Item = &Sid>> = if opts.rooms.is_empty() {
            Box::new(st.sids.keys())
        } else {
            Box::new(
                opts.rooms
                    .iter()
                    .filter_map(|r| st.rooms.get(r))
                    .flat_map(Members::iter),
            )
        };
        candidates
            .filter(|s| !excluded.contains(s) && (unique || seen.insert(**s)))
            .copied()
            .collect()
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let Some(nsp) = self.nsp.upgrade() else {
            return Self::ready(Err(AdapterError::NamespaceGone));
        };
        let sids = self.local_sockets(&opts);
        nsp.deliver(&packet, &sids, &opts);
        Self::ready(Ok(()))
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Result<Vec<AckResult>, AdapterError>> {
        let Some(nsp) = self.nsp.upgrade() else {
            return Self::ready(Err(AdapterError::NamespaceGone));
        };
        let (_, answers) = nsp.deliver_with_ack(packet, &self.local_sockets(&opts), timeout);
        Box::pin(async move { Ok(answers.collect().await) })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let Some(nsp) = self.nsp.upgrade() else {
            return Self::ready(Err(AdapterError::NamespaceGone));
        };
        nsp.join(&self.local_sockets(&opts), &rooms);
        Self::ready(Ok(()))
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let Some(nsp) = self.nsp.upgrade() else {
            return Self::ready(Err(AdapterError::NamespaceGone));
        };
        nsp.leave(&self.local_sockets(&opts), &rooms);
        Self::ready(Ok(()))
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let Some(nsp) = self.nsp.upgrade() else {
            return Self::ready(Err(AdapterError::NamespaceGone));
        };
        nsp.disconnect(&self.local_sockets(&opts), close);
        Self::ready(Ok(()))
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>> {
        let Some(nsp) = self.nsp.upgrade() else {
            return Self::ready(Err(AdapterError::NamespaceGone));
        };
        Self::ready(Ok(nsp.fetch(&self.local_sockets(&opts))))
    }

    fn server_side_emit(&self, _event: String, _data: Data) -> BoxFuture<Result<(), AdapterError>> {
        // A single node has no peers to tell.
        Self::ready(Ok(()))
    }

    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        Self::ready(Ok(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_hold_one_inline_and_more_in_a_set() {
        let mut m = Members::default();
        assert!(m.is_empty());
        m.insert(1);
        m.insert(1);
        assert!(matches!(m, Members::One(1)));
        m.insert(2);
        m.insert(3);
        let mut all: Vec<i32> = m.iter().copied().collect();
        all.sort();
        assert_eq!(all, vec![1, 2, 3]);
        for i in [1, 2, 4] {
            m.remove(&i);
        }
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![&3]);
        m.remove(&3);
        assert!(m.is_empty());
        m.insert(5);
        assert!(matches!(m, Members::One(5)));
        m.remove(&6);
        assert!(!m.is_empty());
        m.remove(&5);
        assert!(m.is_empty() && m.iter().next().is_none());
    }

    /// A namespace type for adapters whose namespace is gone.
    struct Gone;

    impl LocalNamespace for Gone {
        fn name(&self) -> &str {
            "/"
        }
        fn deliver(&self, _: &Packet, _: &[Sid], _: &BroadcastOptions) {}
        fn deliver_with_ack(&self, _: Packet, _: &[Sid], _: Duration) -> (usize, AckStream) {
            (0, futures_util::stream::empty().boxed())
        }
        fn fetch(&self, _: &[Sid]) -> Vec<SocketInfo> {
            Vec::new()
        }
        fn join(&self, _: &[Sid], _: &[Room]) {}
        fn leave(&self, _: &[Sid], _: &[Room]) {}
        fn disconnect(&self, _: &[Sid], _: bool) {}
        fn server_side_emit(&self, _: &str, _: &Data) {}
    }

    fn opts(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
        BroadcastOptions::default()
            .to(rooms.to_vec())
            .except(except.to_vec())
    }

    #[test]
    fn rooms_union_except_and_no_duplicates() {
        let a = LocalAdapter::new(WeakNamespace::new("/", Weak::<Gone>::new()));
        let (s1, s2, s3) = (Sid::random(), Sid::random(), Sid::random());
        a.add_all(s1, &["r1".into(), "r2".into()]);
        a.add_all(s2, &["r2".into()]);
        a.add_all(s3, &["r3".into()]);
        let mut got = a.local_sockets(&opts(&["r1", "r2"], &[]));
        got.sort();
        let mut want = vec![s1, s2];
        want.sort();
        assert_eq!(got, want, "each socket once");
        assert_eq!(a.local_sockets(&opts(&["r1", "r2"], &["r1"])), vec![s2]);
        assert_eq!(a.local_sockets(&opts(&[], &["r1", "r2"])), vec![s3]);
        a.del(s1, "r2");
        assert_eq!(a.socket_rooms(s1), vec!["r1".to_string()]);
        a.del_all(s1);
        assert!(a.socket_rooms(s1).is_empty());
        assert!(!a.rooms().contains(&"r1".to_string()));
    }
}
