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
use std::sync::Arc;

use bytes::Bytes;
use hyper::upgrade::Upgraded;
use tokio::sync::{oneshot, Notify};

use crate::handle::SocketCore;
use crate::handshake::Handshake;
use crate::mailbox::PushError;
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
    /// A text message arrived, with the headers of the HTTP request that
    /// carried it: called instead of [`Handler::on_message`] when the
    /// engine keeps message headers ([`Hooks::message_headers`](crate::Hooks::message_headers)).
    /// For polling they are the `POST`'s (shared by the messages of one
    /// `POST`); for WebSocket those of the request that opened it: the
    /// handshake's ([`Handshake::headers`]), or the upgrade request's for a
    /// session that upgraded from polling. Default: `on_message`.
    fn on_message_with(&self, socket: &Socket, text: Str, headers: &Arc<http::HeaderMap>) {
        let _ = headers;
        self.on_message(socket, text);
    }
    /// [`Handler::on_message_with`] for a binary message. Default: `on_binary`.
    fn on_binary_with(&self, socket: &Socket, data: Bytes, headers: &Arc<http::HeaderMap>) {
        let _ = headers;
        self.on_binary(socket, data);
    }
}

/// A decoded POST body, where to send the outcome, and the POST's headers
/// when its messages keep them (see [`Hooks::message_headers`](crate::Hooks::message_headers)).
pub(crate) type PostRequest = (
    Result<Vec<Packet>, PacketError>,
    oneshot::Sender<Result<(), Option<PollError>>>,
    Option<Arc<http::HeaderMap>>,
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
    /// driver makes it a WebSocket; with the upgrade request's headers when
    /// messages keep them, the permessage-deflate parameters its 101
    /// agreed, and whether it asked for binary as base64 text. Boxed, as
    /// `Post`.
    Probe(Box<ProbeRequest>),
    Close(CloseReason),
}

/// An accepted upgrade for the probe: the connection, the upgrade
/// request's headers (when messages keep them), the permessage-deflate
/// parameters agreed, and whether the client asked for binary as base64
/// (Engine.IO 3's `b64`, per transport).
pub(crate) type ProbeRequest = (
    Upgraded,
    Option<Arc<http::HeaderMap>>,
    Option<crate::deflate::Negotiated>,
    bool,
);

/// A socket's shared state: the runtime-free [`SocketCore`] (reached
/// through `Deref`) and the signal `send_async` waits on.
// `repr(C)`: the core, whose mailbox every send locks, first.
#[repr(C)]
pub(crate) struct Shared {
    core: SocketCore<Ctl>,
    /// Signalled when the driver takes an application packet or closes
    /// (for [`Socket::send_async`]).
    pub(crate) space: Notify,
}

impl std::ops::Deref for Shared {
    type Target = SocketCore<Ctl>;

    fn deref(&self) -> &SocketCore<Ctl> {
        &self.core
    }
}

impl From<CloseReason> for Ctl {
    fn from(reason: CloseReason) -> Self {
        Ctl::Close(reason)
    }
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
        let core = SocketCore::new(sid, handshake, transport, send_buffer, slow_client);
        Socket(Arc::new(Shared {
            core,
            space: Notify::new(),
        }))
    }

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.0.sid()
    }

    /// The handshake request.
    pub fn handshake(&self) -> &Handshake {
        self.0.handshake()
    }

    /// The transport in use.
    pub fn transport(&self) -> TransportKind {
        self.0.transport()
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
        self.0.send(Outgoing::One(packet, true))
    }

    /// Like [`Socket::send`]; with `compress` false the packet does not ask
    /// for HTTP compression (a polling response is compressed when one of
    /// its packets asks for it, it reaches the threshold and the client
    /// accepts gzip or deflate).
    pub fn send_with(&self, packet: Packet, compress: bool) -> Result<(), SendError> {
        self.0.send(Outgoing::One(packet, compress))
    }

    /// Queues packets that must reach the client back to back, with nothing
    /// from other senders in between (a Socket.IO binary packet and its
    /// attachments). Counts as one item of the send buffer.
    pub fn send_group(&self, packets: Vec<Packet>) -> Result<(), SendError> {
        self.0.send(Outgoing::Group(packets, true))
    }

    /// [`Socket::send_group`] with the compression choice of [`Socket::send_with`].
    pub fn send_group_with(&self, packets: Vec<Packet>, compress: bool) -> Result<(), SendError> {
        self.0.send(Outgoing::Group(packets, compress))
    }

    /// Attaches the application's value to this session, once. Returns the
    /// value back if one is already set. The engine drops it once the
    /// session has closed (after `on_close`), so it may hold this socket.
    pub fn set_data<T: Any + Send + Sync>(&self, value: T) -> Result<(), T> {
        self.0.set_data(value)
    }

    /// The application's value, if one of type `T` is set.
    pub fn data<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.0.data()
    }

    /// Drops the application's value (the driver calls it after `on_close`).
    pub(crate) fn clear_data(&self) {
        self.0.clear_data();
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
        self.0.close_with(reason);
    }

    /// Whether the session's driver has stopped.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("sid", &self.sid())
            .field("transport", &self.transport())
            .finish()
    }
}
