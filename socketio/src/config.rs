//! [`SocketIoConfig`] and [`RecoveryConfig`]: the server's options, each
//! with its documented default and a by-value setter.

use std::time::Duration;

use crate::parser::Parser;

/// Connection state recovery (socket.io 4.6+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a disconnected socket's id, rooms, data and missed packets
    /// are kept. Default 2 minutes.
    pub max_disconnection_duration: Duration,
    /// Skip connection middlewares for a recovered socket. Default true.
    /// When false they run with the restored data and rooms in place (data
    /// they store replaces the restored value of that type), and the missed
    /// packets sent are those the socket's rooms select after them: a
    /// middleware that finds the new credentials weaker can leave rooms, or
    /// refuse the socket, before anything missed is delivered.
    pub skip_middlewares: bool,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
        }
    }
}

/// Server options with documented defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SocketIoConfig {
    /// A connection that joins no namespace within this time is closed. Default 45 s.
    pub connect_timeout: Duration,
    /// Most binary attachments per packet. Default 10.
    pub max_attachments: usize,
    /// Events of one socket waiting for their handlers; beyond it the
    /// client is disconnected as overloaded. Default 1024.
    pub max_queued_events: usize,
    /// Connection state recovery. Default off.
    pub recovery: Option<RecoveryConfig>,
    /// Most packets each namespace keeps for recovery (oldest dropped
    /// first). Default 10,000.
    pub recovery_max_packets: usize,
    /// Most bytes of encoded packets each namespace keeps for recovery
    /// (oldest dropped first). A packet larger than this empties the buffer instead, so
    /// that no client recovers past it without it. Default 64 MiB.
    pub recovery_max_bytes: usize,
    /// Forget a dynamic namespace's child once its last socket leaves
    /// (the reference's `cleanupEmptyChildNamespaces`). Default true, unlike
    /// the reference: otherwise clients naming new children grow the server
    /// without bound.
    pub cleanup_empty_children: bool,
    /// Time between the CONNECT answer and the socket's next packets, so
    /// that the answer reaches the client in a read of its own before the
    /// connection handlers' first emits. Clients that handle one frame per
    /// read, such as the official protocol test suite, depend on it (the
    /// reference server gets the same gap from its write callbacks). The
    /// handlers themselves start at once (rooms they join are joined before
    /// anyone can react to the answer); only the socket's output waits, in
    /// order. Default zero (off): a client that reads its input as a
    /// stream, as every real client does, needs no gap; the official
    /// suite's one-frame-per-read client wants 1 ms (`conformance sio`
    /// sets it).
    pub connect_ack_gap: Duration,
    /// The wire format of every packet of this server, as the reference's
    /// `parser` option: [`Parser::Json`] (default, `socket.io-parser`) or
    /// `Parser::Msgpack` (feature `msgpack`; clients must use
    /// `socket.io-msgpack-parser` 3.x). One per server: a client with the
    /// other parser is closed at its first packet (a parse error). The
    /// limits are the same with both: `max_attachments` caps the binary
    /// values of a msgpack packet, nesting is bounded alike, and the
    /// engine's `max_payload` bounds each message.
    pub parser: Parser,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        SocketIoConfig {
            connect_timeout: Duration::from_secs(45),
            max_attachments: 10,
            max_queued_events: 1024,
            recovery: None,
            recovery_max_packets: 10_000,
            recovery_max_bytes: 64 << 20,
            cleanup_empty_children: true,
            connect_ack_gap: Duration::ZERO,
            parser: Parser::Json,
        }
    }
}

impl SocketIoConfig {
    /// Sets [`SocketIoConfig::connect_timeout`].
    pub fn connect_timeout(mut self, v: Duration) -> Self {
        self.connect_timeout = v;
        self
    }
    /// Sets [`SocketIoConfig::max_attachments`].
    pub fn max_attachments(mut self, v: usize) -> Self {
        self.max_attachments = v;
        self
    }
    /// Sets [`SocketIoConfig::max_queued_events`].
    pub fn max_queued_events(mut self, v: usize) -> Self {
        self.max_queued_events = v.max(1);
        self
    }
    /// Sets [`SocketIoConfig::recovery`].
    pub fn recovery(mut self, v: Option<RecoveryConfig>) -> Self {
        self.recovery = v;
        self
    }
    /// Sets [`SocketIoConfig::connect_ack_gap`].
    pub fn connect_ack_gap(mut self, v: Duration) -> Self {
        self.connect_ack_gap = v;
        self
    }
    /// Sets [`SocketIoConfig::parser`].
    pub fn parser(mut self, v: Parser) -> Self {
        self.parser = v;
        self
    }
    /// Sets [`SocketIoConfig::cleanup_empty_children`].
    pub fn cleanup_empty_children(mut self, v: bool) -> Self {
        self.cleanup_empty_children = v;
        self
    }
    /// Sets [`SocketIoConfig::recovery_max_packets`].
    pub fn recovery_max_packets(mut self, v: usize) -> Self {
        self.recovery_max_packets = v;
        self
    }
    /// Sets [`SocketIoConfig::recovery_max_bytes`].
    pub fn recovery_max_bytes(mut self, v: usize) -> Self {
        self.recovery_max_bytes = v;
        self
    }
}
