//! [`Socket`]: the application's handle to one session of the smol engine,
//! and the [`Handler`] through which the engine reports to the application
//! (the same contract as `engineio::Handler`, on this driver's socket).
//!
//! A socket reaches its session's task through an
//! [`engineio::mailbox::Mailbox`]: application packets (bounded by the send
//! buffer) and control messages ([`Ctl`]: polls, POSTs, the probe
//! WebSocket, close). No lock is shared with the task. It must not touch
//! the engine, the driver or the HTTP side, which sit above it.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use engineio::mailbox::{Mailbox, PushError};
use engineio::{
    CloseReason, Handshake, Outgoing, Packet, PacketError, PollError, SendError, Sid,
    SlowClientPolicy, Str, TransportKind,
};
use futures_channel::oneshot;

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
    /// The session upgraded from polling to WebSocket.
    fn on_upgrade(&self, socket: &Socket) {
        let _ = socket;
    }
    /// The session closed.
    fn on_close(&self, socket: &Socket, reason: CloseReason) {
        let _ = (socket, reason);
    }
}

/// A decoded POST body and where its outcome goes (`Err(None)`: the
/// payload was a protocol error).
pub(crate) type PostRequest = (
    Result<Vec<Packet>, PacketError>,
    oneshot::Sender<Result<(), Option<PollError>>>,
);

/// Control messages from the HTTP side and handles to the session task.
pub(crate) enum Ctl {
    /// A GET, answered with a payload and whether it may be compressed.
    Poll(oneshot::Sender<Result<(Bytes, bool), PollError>>),
    /// A POST body (boxed: the queue holds one item inline).
    Post(Box<PostRequest>),
    /// The WebSocket of an accepted upgrade, for the probe.
    Probe(Box<Ws>),
    /// Close with this reason.
    Close(CloseReason),
}

pub(crate) struct Shared {
    pub(crate) mail: Mailbox<Outgoing, Ctl>,
    sid: Sid,
    handshake: Handshake,
    slow_client: SlowClientPolicy,
    pub(crate) transport: AtomicU8,
    close_requested: AtomicBool,
    /// A POST is being served (overlap detection).
    pub(crate) post_active: AtomicBool,
    /// A WebSocket has been accepted for this session (probe or active).
    pub(crate) ws_claimed: AtomicBool,
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
        config: &engineio::EngineConfig,
    ) -> Socket {
        Socket(Arc::new(Shared {
            mail: Mailbox::new(config.send_buffer),
            sid,
            handshake,
            slow_client: config.slow_client,
            transport: AtomicU8::new(transport as u8),
            close_requested: AtomicBool::new(false),
            post_active: AtomicBool::new(false),
            ws_claimed: AtomicBool::new(transport == TransportKind::WebSocket),
            data: Mutex::new(None),
        }))
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
        match self.0.transport.load(Ordering::Relaxed) {
            t if t == TransportKind::WebSocket as u8 => TransportKind::WebSocket,
            _ => TransportKind::Polling,
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
        self.push(Outgoing::One(packet, true))
    }

    /// Like [`Socket::send`]; with `compress` false the packet does not ask
    /// for HTTP compression of the polling answer that carries it.
    pub fn send_with(&self, packet: Packet, compress: bool) -> Result<(), SendError> {
        self.push(Outgoing::One(packet, compress))
    }

    /// Queues packets that must reach the client back to back (a Socket.IO
    /// binary packet and its attachments), as one item of the send buffer;
    /// `compress` as in [`Socket::send_with`].
    pub fn send_group(&self, packets: Vec<Packet>, compress: bool) -> Result<(), SendError> {
        self.push(Outgoing::Group(packets, compress))
    }

    fn push(&self, out: Outgoing) -> Result<(), SendError> {
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

    /// Attaches the application's value to this session, once; gives it
    /// back if one is set. Dropped once the session has closed (after
    /// `on_close`), so it may hold this socket.
    pub fn set_data<T: Any + Send + Sync>(&self, value: T) -> Result<(), T> {
        let mut slot = self.0.data.lock().unwrap_or_else(|e| e.into_inner());
        match *slot {
            Some(_) => Err(value),
            None => {
                *slot = Some(Arc::new(value));
                Ok(())
            }
        }
    }

    /// The application's value, if one of type `T` is set.
    pub fn data<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let value = self
            .0
            .data
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        value?.downcast().ok()
    }

    /// Drops the application's value, outside the lock (its drop may run
    /// application code).
    pub(crate) fn clear_data(&self) {
        let old = self.0.data.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(old);
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

    /// Whether the session's task has stopped taking packets.
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
