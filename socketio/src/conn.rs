//! [`Conn`]: what the Socket.IO core needs from an Engine.IO connection, and
//! [`Encoded`]: a packet encoded once by the server's parser, shareable
//! between recipients.

use std::sync::Arc;

use bytes::Bytes;
use engineio::{Packet as EioPacket, SendError, Str};

use crate::packet::{Packet, Parts};
use crate::parser::Parser;

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
    /// back, or its one binary message ([`Encoded::to_engine_packets`]).
    /// Must not block; a full buffer is `SendError::Full`.
    fn send(&self, packet: &Encoded) -> Result<(), SendError>;
    /// Closes the connection.
    fn close(&self);
    /// This connection as `Any`, so code that accepted connections with its
    /// own `Conn` type can reach it again from any of its sockets
    /// ([`Socket::conn`](crate::Socket::conn)). Default `None`.
    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        None
    }
    /// The transport the connection uses now (`"polling"`, `"websocket"`),
    /// for monitoring (the Admin UI's socket list). Default `None`: unknown.
    fn transport(&self) -> Option<&'static str> {
        None
    }
}

/// A Socket.IO packet encoded once by the server's [`Parser`]: a text
/// message and its attachments (JSON), or one binary message (msgpack);
/// and whether it may be compressed. Cloning shares the buffers, so a
/// broadcast encodes one packet for all.
#[derive(Debug, Clone)]
pub struct Encoded {
    message: Message,
    compress: bool,
    /// The packet's place in its namespace's recovery store, if recorded.
    recorded: Option<u64>,
}

#[derive(Debug, Clone)]
enum Message {
    /// The JSON parser's text, with its attachments (`None` when there are
    /// none, which is most packets).
    Text(Str, Option<Arc<[Bytes]>>),
    /// The msgpack parser's one binary message.
    #[cfg(feature = "msgpack")]
    Binary(Bytes),
}

impl Encoded {
    /// Encodes `packet` with the JSON parser (compressible).
    pub fn new(packet: &Packet) -> Self {
        Encoded::with_compress(packet, true)
    }

    /// Encodes `packet` with the JSON parser; `compress` false opts it out
    /// of transport compression.
    pub fn with_compress(packet: &Packet, compress: bool) -> Self {
        Encoded::with_parser(Parser::Json, packet, compress)
    }

    /// Encodes `packet` with `parser`.
    pub fn with_parser(parser: Parser, packet: &Packet, compress: bool) -> Self {
        let mut e = Encoded::from_parts(parser, packet.parts(), &packet.attachments, compress);
        e.recorded = packet.recorded;
        e
    }

    /// Encodes a packet given by its parts and attachments.
    pub(crate) fn from_parts(
        parser: Parser,
        parts: Parts<'_>,
        attachments: &[Bytes],
        compress: bool,
    ) -> Self {
        let message = match parser {
            Parser::Json => {
                let text = scratch_text(|buf| parts.encode_into(buf));
                Message::Text(
                    text,
                    (!attachments.is_empty()).then(|| Arc::from(attachments)),
                )
            }
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => Message::Binary(with_scratch(|buf| {
                crate::parser::msgpack::encode_parts_into(buf, parts, attachments);
                Bytes::copy_from_slice(buf)
            })),
        };
        Encoded {
            message,
            compress,
            recorded: None,
        }
    }

    /// A JSON parser text message written by `write` (no attachments):
    /// for the packets the server makes itself often enough to skip
    /// building a [`Packet`] and its JSON value (a CONNECT answer).
    pub(crate) fn json_text(write: impl FnOnce(&mut Vec<u8>), compress: bool) -> Self {
        Encoded {
            message: Message::Text(scratch_text(write), None),
            compress,
            recorded: None,
        }
    }

    /// The text message (JSON parser); `None` with the msgpack parser.
    pub fn text(&self) -> Option<&Str> {
        match &self.message {
            Message::Text(text, _) => Some(text),
            #[cfg(feature = "msgpack")]
            Message::Binary(_) => None,
        }
    }

    /// The binary attachments that follow the text (JSON parser).
    pub fn attachments(&self) -> &[Bytes] {
        match &self.message {
            Message::Text(_, atts) => atts.as_deref().unwrap_or_default(),
            #[cfg(feature = "msgpack")]
            Message::Binary(_) => &[],
        }
    }

    /// The one binary message (msgpack parser); `None` with the JSON parser.
    pub fn binary(&self) -> Option<&Bytes> {
        match &self.message {
            Message::Text(..) => None,
            #[cfg(feature = "msgpack")]
            Message::Binary(b) => Some(b),
        }
    }

    /// Bytes of payload it puts on the wire: text and attachments, or the
    /// binary message (before any transport framing).
    pub fn wire_len(&self) -> usize {
        match &self.message {
            Message::Text(text, atts) => {
                text.len()
                    + atts
                        .as_deref()
                        .map_or(0, |a| a.iter().map(Bytes::len).sum())
            }
            #[cfg(feature = "msgpack")]
            Message::Binary(b) => b.len(),
        }
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
        match &self.message {
            Message::Text(text, atts) => {
                let atts = atts.as_deref().unwrap_or_default();
                let mut v = Vec::with_capacity(1 + atts.len());
                v.push(EioPacket::Message(text.clone()));
                v.extend(atts.iter().cloned().map(EioPacket::Binary));
                v
            }
            #[cfg(feature = "msgpack")]
            Message::Binary(b) => vec![EioPacket::Binary(b.clone())],
        }
    }
}

/// The text `write` puts in this thread's scratch buffer.
#[inline(always)]
fn scratch_text(write: impl FnOnce(&mut Vec<u8>)) -> Str {
    with_scratch(|buf| {
        write(buf);
        match std::str::from_utf8(buf) {
            Ok(s) => Str::from(s),
            Err(_) => Str::from(String::from_utf8_lossy(buf).into_owned()),
        }
    })
}

/// Runs `f` on this thread's cleared encoding buffer, where packets are
/// encoded before their exact-size copy: one allocation per packet, owned
/// by its message alone.
fn with_scratch<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| {
        let mut own = Vec::new();
        // Not reentrant (serializing calls no user code); were it ever,
        // a fresh buffer keeps this correct.
        let mut borrowed = scratch.try_borrow_mut();
        let buf = match borrowed.as_deref_mut() {
            Ok(buf) => buf,
            Err(_) => &mut own,
        };
        buf.clear();
        let out = f(buf);
        if buf.capacity() > SCRATCH_KEEP {
            // A large packet does not pin its buffer to the thread.
            *buf = Vec::new();
        }
        out
    })
}

/// Queues `packet` on an Engine.IO session of the tokio driver: the body
/// of its [`Conn::send`], also called directly on the send path of a
/// socket that knows its connection is one (no trait object to follow).
/// Takes the packet by value, so that a text-only one moves its text into
/// the queue.
#[cfg(feature = "tokio")]
pub(crate) fn send_to_engine(socket: &engineio::Socket, packet: Encoded) -> Result<(), SendError> {
    match packet.message {
        Message::Text(text, None) => socket.send_with(EioPacket::Message(text), packet.compress),
        Message::Text(_, Some(_)) => {
            socket.send_group_with(packet.to_engine_packets(), packet.compress)
        }
        #[cfg(feature = "msgpack")]
        Message::Binary(b) => socket.send_with(EioPacket::Binary(b), packet.compress),
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

    fn transport(&self) -> Option<&'static str> {
        Some(engineio::Socket::transport(self).as_str())
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }
}
