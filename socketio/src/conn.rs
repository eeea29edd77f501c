//! [`Conn`]: what the Socket.IO core needs from an Engine.IO connection, and
//! [`Encoded`]: a packet encoded once, shareable between recipients.

use std::sync::Arc;

use bytes::Bytes;
use engineio::{Packet as EioPacket, SendError, Str};

use crate::packet::Packet;

/// An Engine.IO connection as the Socket.IO layer uses it. The tokio driver
/// implements it for `engineio::Socket`; other runtimes implement it on
/// their own transport.
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
pub struct Encoded(Arc<(Str, Vec<Bytes>)>, bool);

impl Encoded {
    /// Encodes `packet` (compressible).
    pub fn new(packet: &Packet) -> Self {
        Encoded::with_compress(packet, true)
    }

    /// Encodes `packet`; `compress` false opts it out of transport compression.
    pub fn with_compress(packet: &Packet, compress: bool) -> Self {
        Encoded(
            Arc::new((Str::from(packet.encode()), packet.attachments.clone())),
            compress,
        )
    }

    /// The text message.
    pub fn text(&self) -> &Str {
        &self.0 .0
    }

    /// The binary attachments.
    pub fn attachments(&self) -> &[Bytes] {
        &self.0 .1
    }

    /// Whether the transport may compress it.
    pub fn compress(&self) -> bool {
        self.1
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
#[cfg(feature = "tokio")]
pub(crate) fn send_to_engine(socket: &engineio::Socket, packet: &Encoded) -> Result<(), SendError> {
    if packet.attachments().is_empty() {
        socket.send_with(EioPacket::Message(packet.text().clone()), packet.compress())
    } else {
        socket.send_group_with(packet.to_engine_packets(), packet.compress())
    }
}

#[cfg(feature = "tokio")]
impl Conn for engineio::Socket {
    fn send(&self, packet: &Encoded) -> Result<(), SendError> {
        send_to_engine(self, packet)
    }

    fn close(&self) {
        engineio::Socket::close(self)
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }
}
