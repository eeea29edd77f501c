//! [`Socket`]: the application's handle to one session, and the
//! [`Handler`] trait through which the engine reports to the application.
//!
//! A socket talks to the session's driver task over two channels: a bounded
//! one for application packets (the send buffer) and a control channel for
//! transport requests and closes. No lock is shared with the driver.
//!
//! It must not touch the registry, the driver or the transports: they all
//! sit above it (the probe it carries is a bare upgraded connection, not a
//! WebSocket).

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hyper::upgrade::Upgraded;
use tokio::sync::{oneshot, Notify};

use crate::handshake::Handshake;
use crate::mailbox::{Mailbox, PushError};
use crate::outgoing::Outgoing;

use crate::config::{SlowClientPolicy, TransportKind};
use crate::error::{CloseReason, PacketError, SendError};
use crate::packet::Packet;
use crate::session::PollError;
use crate::sid::Sid;
use crate::str::Str;

/// Receives a session's lifecycle and messages. Called on the session's
/// driver task, in arrival order; implementations must not block (spawn
/// for slow work). `on_connect` comes first and `on_close` last, once.
pub trait Handler: Send + Sync + 'static {
    /// A session opened.
    fn on_connect(&self, socket: &Socket) {
        let _ = socket;
    }
    /// A text message arrived.
    fn on_message(&self, socket: &Socket, text: Str);
    /// A binary message arrived.
    fn on_binary(&self, socket: &Socket, data: Bytes);
    /// The session upgraded from polling to WebSocket.
    fn on_upgrade(&self, socket: &Socket) {
        let _ = socket;
    }
    /// The session closed.
    fn on_close(&self, socket: &Socket, reason: CloseReason) {
        let _ = (socket, reason);
    }
}

/// A decoded POST body and where to send the outcome.
pub(crate) type PostRequest = (
    Result<Vec<Packet>, PacketError>,
    oneshot::Sender<Result<(), Option<PollError>>>,
);

/// Control messages from transports and handles to the driver.
pub(crate) enum Ctl {
    /// A GET; answered with the payload and whether it may be compressed.
    Poll(oneshot::Sender<Result<(Bytes, bool), PollError>>),
    /// A decoded POST body and its reply; the reply's `Err(None)` means the
    /// payload was a protocol error. Boxed: every session's channel
    /// allocates room for 32 of these up front.
    Post(Box<PostRequest>),
    /// The HTTP connection of an accepted upgrade, for the probe: the
    /// driver makes it a WebSocket. Boxed, as `Post`.
    Probe(Box<Upgraded>),
    Close(CloseReason),
}

// `repr(C)`: the mailbox, which every send locks, first.
#[repr(C)]
pub(crate) struct Shared {
    /// Application packets and control messages for the driver task.
    pub(crate) mail: Mailbox<Outgoing, Ctl>,
    pub(crate) sid: Sid,
    pub(crate) handshake: Handshake,
    /// Signalled when the driver takes an application packet or closes
    /// (for [`Socket::send_async`]).
    pub(crate) space: Notify,
    pub(crate) slow_client: SlowClientPolicy,
    pub(crate) transport: AtomicU8,
    close_requested: AtomicBool,
    /// A POST is being served (overlap detection).
    pub(crate) post_active: AtomicBool,
    /// A WebSocket has been accepted for this session (probe or active).
    pub(crate) ws_claimed: AtomicBool,
    /// The application's per-session value.
    data: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
}

/// A cheap, clonable handle to one Engine.IO session.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<Shared>);

impl Socket {
    pub(crate) fn new(
        sid: Sid,
        handshake: Handshake,
        transport: TransportKind,
        send_buffer: usize,
        slow_client: SlowClientPolicy,
    ) -> Socket {
        let shared = Shared {
            mail: Mailbox::new(send_buffer),
            sid,
            handshake,
            space: Notify::new(),
            slow_client,
            transport: AtomicU8::new(transport as u8),
            close_requested: AtomicBool::new(false),
            post_active: AtomicBool::new(false),
            ws_claimed: AtomicBool::new(transport == TransportKind::WebSocket),
            data: Mutex::new(None),
        };
        Socket(Arc::new(shared))
    }

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.0.sid
    }

    /// The handshake request.
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// The transport in use.
    pub fn transport(&self) -> TransportKind {
        if self.0.transport.load(Ordering::Relaxed) == TransportKind::WebSocket as u8 {
            TransportKind::WebSocket
        } else {
            TransportKind::Polling
        }
    }

    /// Queues a text message.
    pub fn send_text(&self, text: impl Into<Str>) -> Result<(), SendError> {
        self.send(Packet::Message(text.into()))
    }

    /// Queues a binary message.
    pub fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Packet::Binary(data.into()))
    }

    /// Queues a packet without waiting. A full send buffer is
    /// [`SendError::Full`] (and closes the session under
    /// [`SlowClientPolicy::Close`]); it never blocks or grows.
    pub fn send(&self, packet: Packet) -> Result<(), SendError> {
        self.try_send(Outgoing::One(packet, true))
    }

    /// Like [`Socket::send`]; with `compress` false the packet does not ask
    /// for HTTP compression (a polling response is compressed when one of
    /// its packets asks for it, it reaches the threshold and the client
    /// accepts gzip or deflate).
    pub fn send_with(&self, packet: Packet, compress: bool) -> Result<(), SendError> {
        self.try_send(Outgoing::One(packet, compress))
    }

    /// Queues packets that must reach the client back to back, with nothing
    /// from other senders in between (a Socket.IO binary packet and its
    /// attachments). Counts as one item of the send buffer.
    pub fn send_group(&self, packets: Vec<Packet>) -> Result<(), SendError> {
        self.try_send(Outgoing::Group(packets, true))
    }

    /// [`Socket::send_group`] with the compression choice of [`Socket::send_with`].
    pub fn send_group_with(&self, packets: Vec<Packet>, compress: bool) -> Result<(), SendError> {
        self.try_send(Outgoing::Group(packets, compress))
    }

    fn try_send(&self, out: Outgoing) -> Result<(), SendError> {
        match self.0.mail.push_app(out) {
            Ok(()) => Ok(()),
            Err(PushError::Full(_)) => {
                if self.0.slow_client == SlowClientPolicy::Close {
                    self.close_with(CloseReason::SlowClient);
                }
                Err(SendError::Full)
            }
            Err(PushError::Closed(_)) => Err(SendError::Closed),
        }
    }

    /// Attaches the application's value to this session, once. Returns the
    /// value back if one is already set. The engine drops it once the
    /// session has closed (after `on_close`), so it may hold this socket.
    pub fn set_data<T: Any + Send + Sync>(&self, value: T) -> Result<(), T> {
        let mut slot = self.0.data.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return Err(value);
        }
        *slot = Some(Arc::new(value));
        Ok(())
    }

    /// The application's value, if one of type `T` is set.
    pub fn data<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let slot = self.0.data.lock().unwrap_or_else(|e| e.into_inner());
        slot.clone()?.downcast().ok()
    }

    /// Drops the application's value (the driver calls it after `on_close`).
    pub(crate) fn clear_data(&self) {
        let old = self.0.data.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(old);
    }

    /// Waits for room in the send buffer, then queues the packet.
    pub async fn send_async(&self, packet: Packet) -> Result<(), SendError> {
        let mut out = Outgoing::One(packet, true);
        loop {
            // Registered before the attempt, so a slot freed in between is not missed.
            let notified = self.0.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.0.mail.push_app(out) {
                Ok(()) => return Ok(()),
                Err(PushError::Closed(_)) => return Err(SendError::Closed),
                Err(PushError::Full(o)) => {
                    out = o;
                    notified.await;
                }
            }
        }
    }

    /// Closes the session; the client gets a close packet.
    pub fn close(&self) {
        self.close_with(CloseReason::ForcedClose);
    }

    pub(crate) fn close_with(&self, reason: CloseReason) {
        if !self.0.close_requested.swap(true, Ordering::AcqRel) {
            let _ = self.0.mail.push_ctl(Ctl::Close(reason));
        }
    }

    /// Whether the session's driver has stopped.
    pub fn is_closed(&self) -> bool {
        self.0.mail.is_closed()
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("sid", &self.0.sid)
            .field("transport", &self.transport())
            .finish()
    }
}
