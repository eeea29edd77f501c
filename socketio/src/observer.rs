//! [`Observer`]: a server-wide listener of what happens on every namespace
//! (sockets connecting, rooms joined and left, packets in and out), for
//! monitoring such as the Admin UI (`admin` feature).
//!
//! One observer per server, attached once ([`SocketIo::observe`](crate::SocketIo::observe)).
//! The namespaces and sockets reach it through an [`ObserverSlot`] they
//! share: with none attached, each hook point costs one atomic load.
//! Observers are called with no lock held, on the thread doing the work
//! (a broadcast calls [`Observer::broadcast_sent`] once per local
//! recipient): they must be quick and must not block.

use std::sync::{Arc, OnceLock};

use engineio::Sid;
use serde_json::Value;

use crate::adapter::Room;
use crate::scope::{Tap, TapSlot};
use crate::socket::Socket;

/// What a server-wide observer hears. Every method has an empty default.
pub trait Observer: Send + Sync + 'static {
    /// A socket connected to a namespace (after joining its own room,
    /// before its connection handlers run).
    fn connected(&self, socket: &Socket) {
        let _ = socket;
    }
    /// The socket `sid` of namespace `nsp` joined `rooms` (each call lists
    /// the rooms of one join; some may have been joined already).
    fn joined(&self, nsp: &str, sid: Sid, rooms: &[String]) {
        let _ = (nsp, sid, rooms);
    }
    /// The socket `sid` of namespace `nsp` left `room`.
    fn left(&self, nsp: &str, sid: Sid, room: &str) {
        let _ = (nsp, sid, room);
    }
    /// A broadcast delivered an event to the local `socket`; `payload` is
    /// the event's JSON array, name first (binary arguments appear as
    /// placeholders). Direct emits reach the socket's own
    /// [`on_any_outgoing`](Socket::on_any_outgoing) listeners instead.
    fn broadcast_sent(&self, socket: &Socket, payload: &Value) {
        let _ = (socket, payload);
    }
    /// The socket `sid` of namespace `nsp` got new data
    /// ([`Socket::set_data`]); called before the socket holds it.
    fn data_set(&self, nsp: &str, sid: Sid, data: &Value) {
        let _ = (nsp, sid, data);
    }
    /// An Engine.IO connection started its Socket.IO life.
    fn connection_opened(&self) {}
    /// An Engine.IO connection closed, for `reason`.
    fn connection_closed(&self, reason: &str) {
        let _ = reason;
    }
    /// A message of `len` bytes arrived on a connection.
    fn message_in(&self, len: usize) {
        let _ = len;
    }
    /// A packet of `len` bytes (text, or binary message with attachments)
    /// was handed to a connection.
    fn message_out(&self, len: usize) {
        let _ = len;
    }
}

/// Where a server's observer lives, shared by its namespaces; their
/// sockets reach it as a [`Tap`] (which names no socket type).
#[derive(Default)]
pub(crate) struct ObserverSlot {
    observer: OnceLock<Arc<dyn Observer>>,
    tap: Arc<TapSlot>,
}

impl ObserverSlot {
    /// The observer, if one is attached.
    #[inline]
    pub(crate) fn get(&self) -> Option<&Arc<dyn Observer>> {
        self.observer.get()
    }

    /// The slot the sockets' scopes share.
    pub(crate) fn tap(&self) -> Arc<TapSlot> {
        self.tap.clone()
    }

    /// Attaches `observer`; gives it back if one is attached already.
    pub(crate) fn set(&self, observer: Arc<dyn Observer>) -> Result<(), Arc<dyn Observer>> {
        self.observer.set(observer.clone())?;
        let _ = self.tap.set(Arc::new(AsTap(observer)));
        Ok(())
    }
}

/// An observer, as sockets see it.
struct AsTap(Arc<dyn Observer>);

impl Tap for AsTap {
    fn joined(&self, nsp: &str, sid: Sid, rooms: &[Room]) {
        self.0.joined(nsp, sid, rooms);
    }

    fn left(&self, nsp: &str, sid: Sid, room: &str) {
        self.0.left(nsp, sid, room);
    }

    fn message_out(&self, len: usize) {
        self.0.message_out(len);
    }

    fn data_set(&self, nsp: &str, sid: Sid, data: &Value) {
        self.0.data_set(nsp, sid, data);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Count(AtomicUsize);

    impl Observer for Count {
        fn message_in(&self, len: usize) {
            self.0.fetch_add(len, Ordering::Relaxed);
        }
        fn message_out(&self, len: usize) {
            self.0.fetch_add(len, Ordering::Relaxed);
        }
    }

    #[test]
    fn one_observer_per_slot() {
        let slot = ObserverSlot::default();
        assert!(slot.get().is_none());
        let first = Arc::new(Count(AtomicUsize::new(0)));
        assert!(slot.set(first.clone()).is_ok());
        assert!(slot.set(Arc::new(Count(AtomicUsize::new(0)))).is_err());
        if let Some(o) = slot.get() {
            o.message_in(3);
        }
        if let Some(t) = slot.tap().get() {
            t.message_out(4);
        }
        assert_eq!(first.0.load(Ordering::Relaxed), 7);
    }
}
