//! A socket's handlers: what it registers (`on`, `on_any`, packet
//! middlewares, disconnect and error listeners) and how an arriving event
//! is resolved to them and dispatched.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{AckSender, Socket};
use crate::data::Data;
use crate::error::DisconnectReason;
use crate::runtime::BoxFuture;

/// An event handler: socket, arguments, and the ack sender if the client asked for one.
type EventHandler = Arc<dyn Fn(Socket, Data, Option<AckSender>) -> BoxFuture<()> + Send + Sync>;
type AnyHandler = Arc<dyn Fn(&Socket, &str, &Data) + Send + Sync>;
/// The handler of events without one of their own: socket, event name,
/// arguments, ack sender.
type FallbackHandler =
    Arc<dyn Fn(Socket, String, Data, Option<AckSender>) -> BoxFuture<()> + Send + Sync>;
pub(super) type DisconnectHandler = Arc<dyn Fn(&Socket, &DisconnectReason) + Send + Sync>;
type ErrorHandler = Arc<dyn Fn(&Socket, &Data) + Send + Sync>;
type RefusedAckHandler = Arc<dyn Fn(&Socket, &str, Option<&Data>, AckSender) + Send + Sync>;
/// What a packet middleware decides.
pub type PacketVerdict = Result<(), Option<Data>>;
type PacketMiddleware = Arc<dyn Fn(&Socket, &str, &Data) -> PacketVerdict + Send + Sync>;

/// An event's handler, and whether it may run concurrently with later events.
pub(super) struct EventEntry {
    handler: EventHandler,
    concurrent: bool,
}

/// An arriving event and what it runs.
pub(super) struct Event {
    pub(super) name: String,
    pub(super) data: Data,
    pub(super) ack: Option<AckSender>,
    pub(super) run: Dispatch,
    /// The generation of the handlers `run` was resolved at.
    pub(super) gen: u64,
}

/// What an arriving event runs: resolved once, under one read lock.
pub(super) struct Dispatch {
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

/// What a socket registered. What every event reads stays inline; the
/// listeners most sockets never register are boxed apart, allocated with
/// the first of them (104 bytes less per socket without any).
#[derive(Default)]
pub(super) struct Handlers {
    events: NameMap<EventEntry>,
    any_in: Vec<AnyHandler>,
    packet_mw: Vec<PacketMiddleware>,
    disconnect: Vec<DisconnectHandler>,
    rare: Option<Box<Rare>>,
}

/// The listeners few sockets register.
#[derive(Default)]
struct Rare {
    fallback: Option<FallbackHandler>,
    any_out: Vec<AnyHandler>,
    disconnecting: Vec<DisconnectHandler>,
    error: Vec<ErrorHandler>,
    refused_ack: Option<RefusedAckHandler>,
}

impl Handlers {
    /// The rare listeners, to add one.
    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    fn fallback(&self) -> Option<&FallbackHandler> {
        self.rare.as_ref()?.fallback.as_ref()
    }
}

impl Socket {
    /// The handlers, to change them (which bumps their generation).
    pub(super) fn handlers(&self) -> std::sync::RwLockWriteGuard<'_, Handlers> {
        let guard = self.0.handlers.write().unwrap_or_else(|e| e.into_inner());
        self.0.handlers_gen.fetch_add(1, Ordering::Release);
        guard
    }

    /// What `event` runs now, whether its handler is concurrent, and the
    /// generation of the handlers this was read at.
    pub(super) fn resolve(&self, event: &str) -> (Dispatch, bool, u64) {
        let h = self.0.handlers.read().unwrap_or_else(|e| e.into_inner());
        let gen = self.0.handlers_gen.load(Ordering::Acquire);
        let entry = h.events.get(event);
        let handler = match (entry, h.fallback()) {
            (Some(e), _) => Some(e.handler.clone()),
            (None, Some(f)) => {
                let (f, name) = (f.clone(), event.to_owned());
                let h: EventHandler = Arc::new(move |s, d, a| f(s, name.clone(), d, a));
                Some(h)
            }
            (None, None) => None,
        };
        let run = Dispatch {
            mws: h.packet_mw.clone(),
            any_in: h.any_in.clone(),
            handler,
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

    /// Registers the handler of every event that has no handler of its own
    /// ([`on`](Socket::on)), called with the event's name (replacing a
    /// previous fallback): the reference's `onAny` with the ack callback,
    /// for a gateway that routes events by pattern. It runs in arrival
    /// order like an `on` handler.
    pub fn on_fallback<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, String, Data, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let handler: FallbackHandler = Arc::new(move |s, n, d, a| Box::pin(handler(s, n, d, a)));
        self.handlers().rare().fallback = Some(handler);
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
        self.handlers().rare().any_out.push(Arc::new(f));
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

    /// Called when a packet middleware refused an event that asked for an
    /// acknowledgement, with the event's name, the middleware's error (if
    /// it gave one) and the ack, so that the client's callback gets an
    /// answer instead of waiting for its timeout. Without it the ack of a
    /// refused event is never sent, as in the reference. Replaces a
    /// previous one.
    pub fn on_refused_ack(
        &self,
        f: impl Fn(&Socket, &str, Option<&Data>, AckSender) + Send + Sync + 'static,
    ) {
        self.handlers().rare().refused_ack = Some(Arc::new(f));
    }

    /// Called with the error of a packet middleware that refused an event.
    pub fn on_error(&self, f: impl Fn(&Socket, &Data) + Send + Sync + 'static) {
        self.handlers().rare().error.push(Arc::new(f));
    }

    /// Called when the socket is about to leave its rooms (rooms still readable).
    pub fn on_disconnecting(&self, f: impl Fn(&Socket, &DisconnectReason) + Send + Sync + 'static) {
        self.handlers().rare().disconnecting.push(Arc::new(f));
    }

    /// Called once the socket has disconnected.
    pub fn on_disconnect(&self, f: impl Fn(&Socket, &DisconnectReason) + Send + Sync + 'static) {
        self.handlers().disconnect.push(Arc::new(f));
    }

    /// The `disconnecting` and `disconnect` listeners, read once.
    pub(super) fn disconnect_handlers(&self) -> (Vec<DisconnectHandler>, Vec<DisconnectHandler>) {
        let h = self.0.handlers.read().unwrap_or_else(|e| e.into_inner());
        let disconnecting = h.rare.as_ref().map(|r| r.disconnecting.clone());
        (disconnecting.unwrap_or_default(), h.disconnect.clone())
    }

    pub(super) fn notify_outgoing(&self, event: &str, data: &Data) {
        let any_out = self
            .0
            .handlers
            .read()
            .ok()
            .and_then(|h| Some(h.rare.as_ref()?.any_out.clone()))
            .unwrap_or_default();
        for f in any_out {
            f(self, event, data);
        }
    }

    pub(super) async fn dispatch(&self, event: Event) {
        if let Some(job) = self.start_dispatch(event) {
            job.await;
        }
    }

    /// Runs `event`'s packet middlewares and `on_any` listeners, and calls
    /// its handler: what is left to run is the future it returned, if any.
    pub(super) fn start_dispatch(&self, event: Event) -> Option<BoxFuture<()>> {
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
                if let Some(err) = &err {
                    let listeners = self
                        .0
                        .handlers
                        .read()
                        .ok()
                        .and_then(|h| Some(h.rare.as_ref()?.error.clone()))
                        .unwrap_or_default();
                    for f in listeners {
                        f(self, err);
                    }
                }
                if let Some(ack) = ack {
                    let refused = self
                        .0
                        .handlers
                        .read()
                        .ok()
                        .and_then(|h| h.rare.as_ref()?.refused_ack.clone());
                    if let Some(f) = refused {
                        f(self, &event, err.as_ref(), ack);
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
