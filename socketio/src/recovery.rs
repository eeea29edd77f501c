//! Connection state recovery (socket.io 4.6+): what a namespace keeps of
//! its sockets after a recoverable disconnect, and of the packets it
//! broadcast meanwhile, so that a client reconnecting with its private id
//! and last offset gets its id, rooms, data and missed packets back.
//!
//! Owned by the namespace (one store each, as the reference keeps one per
//! adapter). Pure: callers pass the time; no runtime, no socket. User data
//! is always dropped outside the store's lock (its `Drop` may emit).

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use engineio::Sid;
use serde_json::Value;

use crate::adapter::{BroadcastOptions, ClusterSession, Missed, Room};
use crate::config::{RecoveryConfig, SocketIoConfig};
use crate::conn::Encoded;
use crate::packet::{Packet, PacketType};
use crate::parser::Parser;

/// A socket's typed data (one value per type). Its keys are the program's
/// own types, never a peer's choice, so a multiply hash does (see
/// [`engineio::BuildSidHasher`]); the map is 16 bytes smaller than with
/// SipHash's keys, on every socket.
pub(crate) type Extensions = HashMap<TypeId, Box<dyn Any + Send + Sync>, engineio::BuildSidHasher>;

/// The private session id of a socket, kept in its data.
#[derive(Clone)]
pub(crate) struct Pid(pub(crate) String);

/// What a socket leaves behind after a recoverable disconnect.
pub(crate) struct Session {
    /// Its id, given back on recovery.
    pub(crate) id: Sid,
    /// The rooms it was in.
    pub(crate) rooms: Vec<Room>,
    /// Its data.
    pub(crate) extensions: Extensions,
}

struct StoredSession {
    session: Session,
    at: Instant,
}

struct StoredPacket {
    /// Its place in the namespace's sequence of recorded packets.
    seq: u64,
    offset: String,
    opts: BroadcastOptions,
    encoded: Encoded,
    /// Bytes of `encoded` (text and attachments).
    size: usize,
    at: Instant,
}

#[derive(Default)]
struct Store {
    sessions: HashMap<String, StoredSession>,
    packets: VecDeque<StoredPacket>,
    /// Sum of the stored packets' sizes.
    bytes: usize,
    /// The `seq` of the next recorded packet.
    next_seq: u64,
}

/// One namespace's recovery store.
pub(crate) struct Recovery {
    config: RecoveryConfig,
    max_packets: usize,
    max_bytes: usize,
    /// The server's parser: packets are kept encoded.
    parser: Parser,
    store: Mutex<Store>,
}

/// What recovery gives back to a reconnecting socket.
pub(crate) struct Restored {
    /// The socket's id.
    pub(crate) id: Sid,
    /// Its data and rooms, until taken.
    state: Option<(Extensions, Vec<Room>, Option<Value>)>,
    /// The `seq` of the last packet the client had: it missed the later ones.
    after: u64,
    /// A session the adapter kept ([`Adapter::keeps_sessions`]): the offset
    /// the adapter read up to before the socket existed, from which it
    /// reads what came in until the socket was in its rooms.
    ///
    /// [`Adapter::keeps_sessions`]: crate::Adapter::keeps_sessions
    pub(crate) offset: Option<String>,
    /// A session the adapter kept: the packets the client missed, read
    /// before the socket existed.
    pub(crate) missed: Missed,
}

impl Recovery {
    /// The store for a namespace of a server with `config`; `None` when
    /// recovery is off.
    pub(crate) fn new(config: &SocketIoConfig) -> Option<Recovery> {
        Some(Recovery {
            config: config.recovery.clone()?,
            max_packets: config.recovery_max_packets.max(1),
            max_bytes: config.recovery_max_bytes,
            parser: config.parser,
            store: Mutex::new(Store::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long a session may be recovered.
    pub(crate) fn max_disconnection_duration(&self) -> std::time::Duration {
        self.config.max_disconnection_duration
    }

    /// Whether a recovered socket skips the connection middlewares.
    pub(crate) fn skip_middlewares(&self) -> bool {
        self.config.skip_middlewares
    }

    /// Keeps the session of the socket whose private id is `pid`, and
    /// forgets the sessions that expired.
    pub(crate) fn store(&self, now: Instant, pid: String, session: Session) {
        let max_age = self.config.max_disconnection_duration;
        let expired: Vec<StoredSession> = {
            let mut st = self.lock();
            let keys: Vec<String> = st
                .sessions
                .iter()
                .filter(|(_, s)| now.duration_since(s.at) >= max_age)
                .map(|(k, _)| k.clone())
                .collect();
            let expired = keys.iter().filter_map(|k| st.sessions.remove(k)).collect();
            st.sessions.insert(pid, StoredSession { session, at: now });
            expired
        };
        drop(expired);
    }

    /// Appends the recovery offset to a broadcast event and records it.
    pub(crate) fn record(&self, now: Instant, packet: &mut Packet, opts: &BroadcastOptions) {
        if packet.ty != PacketType::Event && packet.ty != PacketType::BinaryEvent || opts.volatile {
            return;
        }
        let offset = Sid::random().to_string();
        if let Some(Value::Array(a)) = packet.data.as_mut() {
            a.push(Value::String(offset.clone()));
        }
        let encoded = Encoded::with_parser(self.parser, packet, opts.compress);
        let size = encoded.wire_len();
        let max_age = self.config.max_disconnection_duration;
        let mut st = self.lock();
        if size > self.max_bytes {
            // Unkept, and no older offset may be recovered past it.
            st.packets.clear();
            st.bytes = 0;
            return;
        }
        while st.packets.len() >= self.max_packets
            || st.bytes + size > self.max_bytes
            || st
                .packets
                .front()
                .is_some_and(|p| now.duration_since(p.at) > max_age)
        {
            let Some(old) = st.packets.pop_front() else {
                break;
            };
            st.bytes -= old.size;
        }
        st.bytes += size;
        let seq = st.next_seq;
        st.next_seq += 1;
        packet.recorded = Some(seq);
        st.packets.push_back(StoredPacket {
            seq,
            offset,
            opts: opts.clone(),
            encoded,
            size,
            at: now,
        });
    }

    /// Takes the session `auth` names (`pid` and `offset`), if still kept
    /// and its offset still known.
    pub(crate) fn take(&self, now: Instant, auth: &Value) -> Option<Restored> {
        let pid = auth.get("pid")?.as_str()?;
        let offset = auth.get("offset")?.as_str()?;
        let mut st = self.lock();
        let stored = st.sessions.remove(pid)?;
        let valid = now.duration_since(stored.at) < self.config.max_disconnection_duration;
        let index = st.packets.iter().position(|p| p.offset == offset);
        let (true, Some(index)) = (valid, index) else {
            drop(st);
            drop(stored);
            return None;
        };
        let Session {
            id,
            rooms,
            extensions,
        } = stored.session;
        let after = st.packets[index].seq;
        drop(st);
        Some(Restored {
            id,
            state: Some((extensions, rooms, None)),
            after,
            offset: None,
            missed: Missed::default(),
        })
    }

    /// The packets recorded after `restored`'s offset that a socket in
    /// `rooms` gets, oldest first: what it missed; and the `seq` every
    /// packet recorded so far is below.
    ///
    /// Called once the socket is in its rooms and output to it is held: a
    /// packet recorded before this call is here, one recorded after it is
    /// delivered live (a broadcast records before it delivers), so none is
    /// lost between the two. One recorded before but delivered after would
    /// come both ways: the socket drops live packets below the returned
    /// `seq` ([`Encoded::recorded`]). Packets evicted since
    /// [`Recovery::take`] (by `recovery_max_packets`, `recovery_max_bytes`
    /// or age) are not given back.
    pub(crate) fn missed(&self, restored: &Restored, rooms: &[Room]) -> (Vec<Encoded>, u64) {
        let st = self.lock();
        let from = st.packets.partition_point(|p| p.seq <= restored.after);
        let missed = st
            .packets
            .range(from..)
            .filter(|p| included(rooms, &p.opts))
            .map(|p| p.encoded.clone())
            .collect();
        (missed, st.next_seq)
    }
}

impl Restored {
    /// A session the adapter kept, for a client whose last offset was
    /// `offset`, with what it `missed` from there: its private id and JSON
    /// data come back (typed data stays on the node it was set on).
    pub(crate) fn from_cluster(
        session: ClusterSession,
        offset: String,
        missed: Missed,
    ) -> Restored {
        let mut extensions = Extensions::default();
        extensions.insert(TypeId::of::<Pid>(), Box::new(Pid(session.pid)));
        Restored {
            id: session.sid,
            state: Some((extensions, session.rooms, Some(session.data))),
            after: 0,
            offset: Some(missed.resume.clone().unwrap_or(offset)),
            missed,
        }
    }

    /// The socket's data (typed, then JSON from another node) and rooms;
    /// `None` once taken. Given back before the connection middlewares
    /// when they run for recovered sockets, so they see (and may change)
    /// what comes back.
    pub(crate) fn take_state(&mut self) -> Option<(Extensions, Vec<Room>, Option<Value>)> {
        self.state.take()
    }
}

/// Whether a broadcast with `opts` reached a socket in `rooms`.
fn included(rooms: &[Room], opts: &BroadcastOptions) -> bool {
    let targeted = opts.rooms.is_empty() || opts.rooms.iter().any(|r| rooms.contains(r));
    let excluded = opts.except.iter().any(|r| rooms.contains(r));
    targeted && !excluded
}
