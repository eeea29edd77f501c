//! [`Socket`]: the application's handle to one session of the smol engine,
//! and the [`Handler`] through which the engine reports to the application
//! (the same contract as `engineio::Handler`, on this driver's socket).
//!
//! A socket is an [`engineio::handle::SocketCore`] (shared with the tokio
//! driver's socket): it reaches its session's task through the core's
//! mailbox, with application packets (bounded by the send buffer) and
//! control messages ([`Ctl`]: polls, POSTs, the probe WebSocket, close). No lock is shared with the task. It must not touch
//! the engine, the driver or the HTTP side, which sit above it.

use std::any::Any;
use std::sync::Arc;

use bytes::Bytes;
use engineio::handle::SocketCore;
use engineio::{
    CloseReason, Handshake, Outgoing, Packet, PacketError, PollError, SendError, Sid, Str,
    TransportKind,
};
use futures_channel::oneshot;
use http::HeaderMap;

use crate::ws::Ws;

/// Receives a session's lifecycle and messages. Called on the session's
/// task, in arrival order; implementations must not block (spawn slow
/// work). `on_connect` comes first and `on_close` last, once.
pub trait Handler: Send + Sync + 'static {
    /// A session opened.
    fn on_connect(&self, socket: &Socket) {
        let _ = socket;
    }
    /// A text message arrived.
    fn on_message(&self, socket: &Socket, text: Str);
    /// A binary message arrived.
    fn on_binary(&self, socket: &Socket, data: Bytes);
    /// A text message arrived, with the headers of the HTTP request that
    /// carried it: called instead of [`Handler::on_message`] when the
    /// engine's hooks keep message headers
    /// ([`Hooks::message_headers`](engineio::Hooks::message_headers)): a
    /// polling message's `POST`, a WebSocket message's upgrade request or
    /// (a WebSocket session) its handshake. Default: `on_message`.
    fn on_message_with(&self, socket: &Socket, text: Str, headers: &Arc<HeaderMap>) {
        let _ = headers;
        self.on_message(socket, text);
    }
    /// [`Handler::on_message_with`] for a binary message. Default: `on_binary`.
    fn on_binary_with(&self, socket: &Socket, data: Bytes, headers: &Arc<HeaderMap>) {
        let _ = headers;
        self.on_binary(socket, data);
    }
    /// The session upgraded from polling to WebSocket.
    fn on_upgrade(&self, socket: &Socket) {
        let _ = socket;
    }
    /// The session closed.
    fn on_close(&self, socket: &Socket, reason: CloseReason) {
        let _ = (socket, reason);
    }
}

/// A decoded POST body, where its outcome goes (`Err(None)`: the payload
/// was a protocol error), and the POST's headers when messages keep them.
pub(crate) type PostRequest = (
    Result<Vec<Packet>, PacketError>,
    oneshot::Sender<Result<(), Option<PollError>>>,
    Option<Arc<HeaderMap>>,
);

/// Control messages from the HTTP side and handles to the session task.
pub(crate) enum Ctl {
    /// A GET, answered with a payload and whether it may be compressed.
    Poll(oneshot::Sender<Result<(Bytes, bool), PollError>>),
    /// A POST body (boxed: the queue holds one item inline).
    Post(Box<PostRequest>),
    /// The WebSocket of an accepted upgrade, for the probe, with the
    /// upgrade request's headers when messages keep them, and whether it
    /// asked for binary as base64 text.
    Probe(Box<Ws>, Option<Arc<HeaderMap>>, bool),
    /// Close with this reason.
    Close(CloseReason),
}

impl From<CloseReason> for Ctl {
    fn from(reason: CloseReason) -> Self {
        Ctl::Close(reason)
    }
}

/// A cheap, clonable handle to one Engine.IO session.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketCore<Ctl>>);

impl Socket {
    pub(crate) fn new(
        sid: Sid,
        handshake: Handshake,
        transport: TransportKind,
        config: &engineio::EngineConfig,
    ) -> Socket {
        let (buffer, policy) = (config.send_buffer, config.slow_client);
        Socket(Arc::new(SocketCore::new(
            sid, handshake, transport, buffer, policy,
        )))
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
    /// [`SlowClientPolicy::Close`](engineio::SlowClientPolicy::Close)); it
    /// never blocks or grows.
    pub fn send(&self, packet: Packet) -> Result<(), SendError> {
        self.0.send(Outgoing::One(packet, true))
    }

    /// Like [`Socket::send`]; with `compress` false the packet does not ask
    /// for HTTP compression of the polling answer that carries it.
    pub fn send_with(&self, packet: Packet, compress: bool) -> Result<(), SendError> {
        self.0.send(Outgoing::One(packet, compress))
    }

    /// Queues packets that must reach the client back to back (a Socket.IO
    /// binary packet and its attachments), as one item of the send buffer;
    /// `compress` as in [`Socket::send_with`].
    pub fn send_group(&self, packets: Vec<Packet>, compress: bool) -> Result<(), SendError> {
        self.0.send(Outgoing::Group(packets, compress))
    }

    /// Attaches the application's value to this session, once; gives it
    /// back if one is set. Dropped once the session has closed (after
    /// `on_close`), so it may hold this socket.
    pub fn set_data<T: Any + Send + Sync>(&self, value: T) -> Result<(), T> {
        self.0.set_data(value)
    }

    /// The application's value, if one of type `T` is set.
    pub fn data<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.0.data()
    }

    /// Closes the session; the client gets a close packet.
    pub fn close(&self) {
        self.0.close_with(CloseReason::ForcedClose);
    }

    /// Whether the session's task has stopped taking packets.
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
