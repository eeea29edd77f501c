//! [`SocketCore`]: what every runtime driver's socket handle shares with
//! the task that owns its session: the [`Mailbox`] (send buffer and
//! control messages of type `C`), the session's identity and handshake,
//! the transport in use, the flags the HTTP side checks (an active POST, a
//! claimed WebSocket) and the application's per-session value.
//!
//! Runtime-free: the tokio driver's `Socket` and other drivers' sockets
//! wrap one. It must not touch sessions, drivers or transports; the only
//! lock is the per-session value's, held to swap it, never across a call
//! out.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::{SlowClientPolicy, TransportKind};
use crate::error::{CloseReason, SendError};
use crate::handshake::Handshake;
use crate::mailbox::{Mailbox, PushError};
use crate::outgoing::Outgoing;
use crate::sid::Sid;

/// The state a socket handle shares with its session's task; `C` is the
/// driver's control message, which a close request becomes.
// `repr(C)`: the mailbox, which every send locks, first.
#[repr(C)]
pub struct SocketCore<C> {
    /// Application packets and control messages for the session's task.
    pub mail: Mailbox<Outgoing, C>,
    sid: Sid,
    handshake: Handshake,
    slow_client: SlowClientPolicy,
    transport: AtomicU8,
    close_requested: AtomicBool,
    /// A POST is being served (overlap detection).
    pub post_active: AtomicBool,
    /// A WebSocket has been accepted for this session (probe or active).
    pub ws_claimed: AtomicBool,
    data: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
}

impl<C: From<CloseReason>> SocketCore<C> {
    /// The handle state of a new session on `transport`, with a send
    /// buffer of `send_buffer` items.
    pub fn new(
        sid: Sid,
        handshake: Handshake,
        transport: TransportKind,
        send_buffer: usize,
        slow_client: SlowClientPolicy,
    ) -> Self {
        SocketCore {
            mail: Mailbox::new(send_buffer),
            sid,
            handshake,
            slow_client,
            transport: AtomicU8::new(transport as u8),
            close_requested: AtomicBool::new(false),
            post_active: AtomicBool::new(false),
            ws_claimed: AtomicBool::new(transport == TransportKind::WebSocket),
            data: Mutex::new(None),
        }
    }

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.sid
    }

    /// The handshake request.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The transport in use.
    pub fn transport(&self) -> TransportKind {
        match self.transport.load(Ordering::Relaxed) {
            t if t == TransportKind::WebSocket as u8 => TransportKind::WebSocket,
            _ => TransportKind::Polling,
        }
    }

    /// Records that the session upgraded (the task calls it on `Upgraded`).
    pub fn set_upgraded(&self) {
        let ws = TransportKind::WebSocket as u8;
        self.transport.store(ws, Ordering::Relaxed);
    }

    /// Queues an item of the send buffer without waiting. A full buffer is
    /// [`SendError::Full`] (and closes the session under
    /// [`SlowClientPolicy::Close`]); it never blocks or grows.
    pub fn send(&self, out: Outgoing) -> Result<(), SendError> {
        self.push(out).map_err(|e| match e {
            PushError::Full(_) => SendError::Full,
            PushError::Closed(_) => SendError::Closed,
        })
    }

    /// [`SocketCore::send`], giving the item back when it was refused.
    pub fn push(&self, out: Outgoing) -> Result<(), PushError<Outgoing>> {
        let pushed = self.mail.push_app(out);
        if matches!(pushed, Err(PushError::Full(_))) && self.slow_client == SlowClientPolicy::Close
        {
            self.close_with(CloseReason::SlowClient);
        }
        pushed
    }

    /// Asks the task to close the session with `reason`, once.
    pub fn close_with(&self, reason: CloseReason) {
        if !self.close_requested.swap(true, Ordering::AcqRel) {
            let _ = self.mail.push_ctl(C::from(reason));
        }
    }

    /// Whether the session's task stopped taking packets.
    pub fn is_closed(&self) -> bool {
        self.mail.is_closed()
    }

    /// Attaches the application's value, once; gives it back if one is set.
    pub fn set_data<T: Any + Send + Sync>(&self, value: T) -> Result<(), T> {
        let mut slot = self.data.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return Err(value);
        }
        *slot = Some(Arc::new(value));
        Ok(())
    }

    /// The application's value, if one of type `T` is set.
    pub fn data<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let value = self.data.lock().unwrap_or_else(|e| e.into_inner()).clone();
        value?.downcast().ok()
    }

    /// Drops the application's value outside the lock (its drop may run
    /// application code); the task calls it once the session closed.
    pub fn clear_data(&self) {
        let old = self.data.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(old);
    }
}

impl<C> std::fmt::Debug for SocketCore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("sid", &self.sid)
            .field("ws_claimed", &self.ws_claimed.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Packet;

    #[derive(Debug, PartialEq)]
    struct Close(CloseReason);

    impl From<CloseReason> for Close {
        fn from(r: CloseReason) -> Self {
            Close(r)
        }
    }

    fn core(policy: SlowClientPolicy) -> SocketCore<Close> {
        let uri: http::Uri = "/engine.io/?EIO=4".parse().unwrap();
        let handshake = Handshake::detached(&uri, &http::HeaderMap::new(), None);
        SocketCore::new(Sid::random(), handshake, TransportKind::Polling, 1, policy)
    }

    #[test]
    fn a_full_buffer_is_full_and_closes_slow_clients_once() {
        let c = core(SlowClientPolicy::Close);
        let one = || Outgoing::One(Packet::Noop, true);
        assert_eq!(c.send(one()), Ok(()));
        assert_eq!(c.send(one()), Err(SendError::Full));
        assert_eq!(c.send(one()), Err(SendError::Full));
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let ctl = c.mail.poll_ctl(&mut cx);
        assert_eq!(
            ctl,
            std::task::Poll::Ready(Some(Close(CloseReason::SlowClient)))
        );
        assert!(c.mail.poll_ctl(&mut cx).is_pending(), "one close request");
        let e = core(SlowClientPolicy::Error);
        assert_eq!(e.send(one()), Ok(()));
        assert_eq!(e.send(one()), Err(SendError::Full));
        assert!(e.mail.poll_ctl(&mut cx).is_pending());
        e.mail.close();
        assert_eq!(e.send(one()), Err(SendError::Closed));
        assert!(e.is_closed());
    }

    #[test]
    fn data_is_set_once_and_cleared() {
        let c = core(SlowClientPolicy::Error);
        assert_eq!(c.set_data(1u32), Ok(()));
        assert_eq!(c.set_data(2u32), Err(2));
        assert_eq!(c.data::<u32>().as_deref(), Some(&1));
        assert!(c.data::<String>().is_none());
        c.clear_data();
        assert!(c.data::<u32>().is_none());
        assert_eq!(c.transport(), TransportKind::Polling);
        c.set_upgraded();
        assert_eq!(c.transport(), TransportKind::WebSocket);
    }
}
