//! The crate's error types, and [`DisconnectReason`] as data: why bytes
//! are not a packet, why a connection was refused, why an emit, an ack or
//! an adapter operation failed, and why a socket ended.
//!
//! Pure: no runtime, no I/O. Each enum is `#[non_exhaustive]` with a
//! hand-written lowercase `Display`.

use std::fmt;

use engineio::SendError;
use serde_json::{json, Value};

/// Why bytes from a client are not a valid Socket.IO packet. Any of these
/// closes the connection with reason "parse error".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Empty packet.
    Empty,
    /// Unknown packet type.
    UnknownType,
    /// The attachment count is missing, malformed or not followed by `-`.
    IllegalAttachments,
    /// More attachments than allowed.
    TooManyAttachments {
        /// The configured cap.
        limit: usize,
    },
    /// The ack id is malformed or too large.
    InvalidAckId,
    /// The payload is not JSON, or not the shape this packet type requires.
    InvalidPayload,
    /// A placeholder is malformed or refers to a missing attachment.
    InvalidPlaceholder,
    /// A binary frame arrived when no attachment was expected.
    UnexpectedBinary,
    /// A text packet arrived while attachments were still expected.
    UnexpectedText,
    /// Msgpack parser: not msgpack (truncated, trailing bytes, a reserved
    /// marker), nested deeper than the JSON parser allows, or a key of the
    /// packet given twice.
    Malformed,
    /// Msgpack parser: a text message (every packet is a binary one).
    TextMessage,
    /// Msgpack parser: the namespace is missing or not a string.
    InvalidNamespace,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ParseError::Empty => "empty packet",
            ParseError::UnknownType => "unknown packet type",
            ParseError::IllegalAttachments => "illegal attachments",
            ParseError::TooManyAttachments { limit } => {
                return write!(f, "more than {limit} attachments")
            }
            ParseError::InvalidAckId => "invalid ack id",
            ParseError::InvalidPayload => "invalid payload",
            ParseError::InvalidPlaceholder => "invalid placeholder",
            ParseError::UnexpectedBinary => "got binary data when not reconstructing a packet",
            ParseError::UnexpectedText => "got plaintext data when reconstructing a packet",
            ParseError::Malformed => "malformed msgpack",
            ParseError::TextMessage => "text message with the msgpack parser",
            ParseError::InvalidNamespace => "invalid namespace",
        };
        f.write_str(s)
    }
}

impl std::error::Error for ParseError {}

/// A connection middleware's refusal: sent to the client as CONNECT_ERROR
/// `{"message": message, "data": data}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// Error message.
    pub message: String,
    /// Optional extra data.
    pub data: Option<Value>,
}

impl ConnectError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The CONNECT_ERROR data for a socket.io v2 client (Engine.IO 3),
    /// as the reference sends it: the error's data, else its message.
    pub(crate) fn v2_payload(&self) -> Value {
        self.data
            .clone()
            .unwrap_or_else(|| Value::String(self.message.clone()))
    }

    pub(crate) fn payload(&self) -> Value {
        match &self.data {
            Some(d) => json!({ "message": self.message, "data": d }),
            None => json!({ "message": self.message }),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

/// Why a socket disconnected; strings match the reference server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server called `disconnect()`.
    ServerNamespaceDisconnect,
    /// The client sent a DISCONNECT packet.
    ClientNamespaceDisconnect,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The connection closed.
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client sent an invalid packet.
    ParseError,
    /// The connection was closed by the server.
    ForcedServerClose,
}

impl DisconnectReason {
    /// The reference server's reason string.
    pub fn as_str(&self) -> &'static str {
        match self {
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedServerClose => "forced server close",
        }
    }

    /// Whether connection state recovery keeps the session after this
    /// disconnect (the reference server's recoverable reasons: all but
    /// namespace disconnects and parse errors).
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            DisconnectReason::PingTimeout
                | DisconnectReason::TransportClose
                | DisconnectReason::TransportError
                | DisconnectReason::ServerShuttingDown
                | DisconnectReason::ForcedServerClose
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an emit failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmitError {
    /// The socket is disconnected.
    Disconnected,
    /// The connection's send buffer is full.
    Full,
    /// The event name is reserved.
    Reserved,
    /// The adapter could not broadcast.
    Adapter,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EmitError::Disconnected => "socket disconnected",
            EmitError::Full => "send buffer full",
            EmitError::Reserved => "reserved event name",
            EmitError::Adapter => "adapter failed to broadcast",
        })
    }
}

impl std::error::Error for EmitError {}

impl From<SendError> for EmitError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Full => EmitError::Full,
            _ => EmitError::Disconnected,
        }
    }
}

/// Why waiting for an ack failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckError {
    /// No ack within the timeout.
    Timeout,
    /// The socket disconnected first.
    Disconnected,
    /// The packet could not be sent.
    Emit(EmitError),
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckError::Timeout => f.write_str("ack timed out"),
            AckError::Disconnected => f.write_str("socket disconnected before the ack"),
            AckError::Emit(e) => write!(f, "emit failed: {e}"),
        }
    }
}

impl std::error::Error for AckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AckError::Emit(e) => Some(e),
            _ => None,
        }
    }
}

/// An adapter operation failed (a distributed adapter lost its peers...).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdapterError {
    /// The namespace no longer exists.
    NamespaceGone,
    /// A distributed adapter could not reach its peers.
    Remote(String),
    /// The operation was refused before it reached the adapter.
    Emit(EmitError),
    /// Peers did not all answer within the adapter's request timeout.
    Timeout {
        /// What was asked (`fetch_sockets`, `all_rooms`...).
        operation: &'static str,
        /// Answers received.
        received: usize,
        /// Answers expected.
        expected: usize,
    },
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterError::NamespaceGone => f.write_str("namespace no longer exists"),
            AdapterError::Remote(e) => write!(f, "adapter peer error: {e}"),
            AdapterError::Emit(e) => write!(f, "emit failed: {e}"),
            AdapterError::Timeout {
                operation,
                received,
                expected,
            } => write!(
                f,
                "{operation} timed out: {received} of {expected} servers answered"
            ),
        }
    }
}

impl std::error::Error for AdapterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AdapterError::Emit(e) => Some(e),
            _ => None,
        }
    }
}

impl From<&engineio::CloseReason> for DisconnectReason {
    /// The Socket.IO reason for an engine close reason.
    fn from(r: &engineio::CloseReason) -> Self {
        match r {
            engineio::CloseReason::PingTimeout => DisconnectReason::PingTimeout,
            engineio::CloseReason::TransportError | engineio::CloseReason::SlowClient => {
                DisconnectReason::TransportError
            }
            engineio::CloseReason::ParseError => DisconnectReason::ParseError,
            engineio::CloseReason::ServerShuttingDown => DisconnectReason::ServerShuttingDown,
            engineio::CloseReason::ForcedClose => DisconnectReason::ForcedServerClose,
            _ => DisconnectReason::TransportClose,
        }
    }
}
