//! Error and close-reason types of the protocol core.
//!
//! [`PacketError`] is a peer fault (bad bytes), [`SendError`] a caller-visible
//! refusal to queue, [`CloseReason`] is data describing why a session ended.
//! HTTP status mapping lives in the transport glue, not here.

use std::fmt;

/// A packet or payload the peer sent could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketError {
    /// An empty packet (no type character).
    Empty,
    /// The first byte is not a packet type (`0`..`6`).
    UnknownType(u8),
    /// Text that is not valid UTF-8.
    InvalidUtf8,
    /// A `b`-prefixed payload packet whose base64 is invalid.
    InvalidBase64,
    /// An Engine.IO 3 payload whose length prefix is missing, malformed or
    /// does not match its record.
    BadLength,
    /// A polling payload with more packets than the configured limit.
    TooManyPackets {
        /// The configured limit.
        limit: usize,
    },
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Empty => f.write_str("empty packet"),
            PacketError::UnknownType(b) => write!(f, "unknown packet type byte 0x{b:02x}"),
            PacketError::InvalidUtf8 => f.write_str("text packet is not valid utf-8"),
            PacketError::InvalidBase64 => f.write_str("invalid base64 in binary packet"),
            PacketError::BadLength => f.write_str("bad length prefix in payload"),
            PacketError::TooManyPackets { limit } => {
                write!(f, "payload holds more than {limit} packets")
            }
        }
    }
}

impl std::error::Error for PacketError {}

/// Why a session closed. Strings match the reference server's reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent a close packet, or its transport closed cleanly.
    TransportClose,
    /// The transport failed (I/O error, overlapping requests, abandoned poll).
    TransportError,
    /// No pong within `pingTimeout` after a ping.
    PingTimeout,
    /// The peer sent bytes that are not valid Engine.IO.
    ParseError,
    /// The application closed the session.
    ForcedClose,
    /// The engine is shutting down.
    ServerShuttingDown,
    /// The send buffer was full and the slow-client policy is to close.
    SlowClient,
}

impl CloseReason {
    /// The reference server's reason string.
    pub fn as_str(&self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ServerShuttingDown => "server shutting down",
            CloseReason::SlowClient => "slow client",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A packet could not be queued for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The session's bounded send buffer is full: the client is not reading fast enough.
    Full,
    /// The session is closed.
    Closed,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Full => f.write_str("send buffer full"),
            SendError::Closed => f.write_str("session closed"),
        }
    }
}

impl std::error::Error for SendError {}
