//! [`Conn`]: what the Socket.IO core needs from an Engine.IO connection, and
//! [`Encoded`]: a packet encoded once, shareable between recipients.

use std::sync::Arc;

use bytes::Bytes;
use engineio::{Packet as EioPacket, SendError, Str};

use crate::packet::{Packet, Parts};

/// Capacity of the encoding scratch buffer a thread keeps between packets.
const SCRATCH_KEEP: usize = 64 * 1024;

/// An Engine.IO connection as the Socket.IO layer uses it. The tokio driver
/// implements it for `engineio::Socket`; other runtimes implement it on
/// their own transport.
///
/// The core calls `send` and `close` with no lock of its own held: either
/// may call back into the connection, say a failed `send` that reports the
/// connection closed at once with
/// [`Connection::handle_close`](crate::Connection::handle_close).
pub trait Conn: Send + Sync + 'static {
    /// Queues an encoded packet: its text and then its attachments, back to
    /// back. Must not block; a full buffer is `SendError::Full`.
    fn send(&self, packet: &Encoded) -> Result<(), SendError>;
    /// Closes the connection.
    fn close(&self);
    /// This connection as `Any`, so code that accepted connections with its
    /// own `Conn` type can reach it again from any of its sockets
    /// ([`Socket::conn`](crate::Socket::conn)). Default `None`.
    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        None
    }
}

/// A Socket.IO packet encoded once: the text message, its attachments and
/// whether it may be compressed. Cloning shares the buffers, so a broadcast
/// encodes one packet for all.
#[derive(Debug, Clone)]
pub struct Encoded {
    text: Str,
    /// `None` when there are none, which is most packets.
    attachments: Option<Arc<[Bytes]>>,
    compress: bool,
    /// The packet's place in its namespace's recovery store, if recorded.
    recorded: Option<u64>,
}

impl Encoded {
    /// Encodes `packet` (compressible).
    pub fn new(packet: &Packet) -> Self {
        Encoded::with_compress(packet, true)
    }

    /// Encodes `packet`; `compress` false opts it out of transport compression.
    pub fn with_compress(packet: &Packet, compress: bool) -> Self {
        let mut e = Encoded::from_parts(packet.parts(), &packet.attachments, compress);
        e.recorded = packet.recorded;
        e
    }

    /// Encodes a packet given by its parts and attachments.
    pub(crate) fn from_parts(parts: Parts<'_>, attachments: &[Bytes], compress: bool) -> Self {
        thread_local! {
            /// Where packets are encoded before their exact-size copy:
            /// one allocation per packet, owned by its text alone.
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let text = SCRATCH.with(|scratch| {
            let mut own = Vec::new();
            // Not reentrant (serializing calls no user code); were it ever,
            // a fresh buffer keeps this correct.
            let mut borrowed = scratch.try_borrow_mut();
            let buf = match borrowed.as_deref_mut() {
                Ok(buf) => buf,
                Err(_) => &mut own,
            };
            buf.clear();
            parts.encode_into(buf);
            let text = match std::str::from_utf8(buf) {
                Ok(s) => Str::from(s),
                Err(_) => Str::from(String::from_utf8_lossy(buf).into_owned()),
            };
            if buf.capacity() > SCRATCH_KEEP {
                // A large packet does not pin its buffer to the thread.
                *buf = Vec::new();
            }
            text
        });
        Encoded {
            text,
            attachments: (!attachments.is_empty()).then(|| Arc::from(attachments)),
            compress,
            recorded: None,
        }
    }

    /// The text message.
    pub fn text(&self) -> &Str {
        &self.text
    }

    /// The binary attachments.
    pub fn attachments(&self) -> &[Bytes] {
        self.attachments.as_deref().unwrap_or_default()
    }

    /// Its place in its namespace's recovery store, if it is a recorded
    /// broadcast.
    pub(crate) fn recorded(&self) -> Option<u64> {
        self.recorded
    }

    /// Whether the transport may compress it.
    pub fn compress(&self) -> bool {
        self.compress
    }

    /// The Engine.IO packets to send, in order.
    pub fn to_engine_packets(&self) -> Vec<EioPacket> {
        let mut v = Vec::with_capacity(1 + self.attachments().len());
        v.push(EioPacket::Message(self.text().clone()));
        v.extend(self.attachments().iter().cloned().map(EioPacket::Binary));
        v
    }
}

/// Queues `packet` on an Engine.IO session of the tokio driver: the body
/// of its [`Conn::send`], also called directly on the send path of a
/// socket that knows its connection is one (no trait object to follow).
/// Takes the packet by value, so that a text-only one moves its text into
/// the queue.
#[cfg(feature = "tokio")]
pub(crate) fn send_to_engine(socket: &engineio::Socket, packet: Encoded) -> Result<(), SendError> {
    match packet.attachments {
        None => socket.send_with(EioPacket::Message(packet.text), packet.compress),
        Some(_) => socket.send_group_with(packet.to_engine_packets(), packet.compress),
    }
}

#[cfg(feature = "tokio")]
impl Conn for engineio::Socket {
    fn send(&self, packet: &Encoded) -> Result<(), SendError> {
        send_to_engine(self, packet.clone())
    }

    fn close(&self) {
        engineio::Socket::close(self)
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }
}
