//! [`Stats`]: the counters of one server's cluster adapters (socketio-redis's
//! and socketio-postgres's).

use std::sync::atomic::AtomicU64;

/// Counters of one server's adapters (for `/metrics`).
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages published.
    pub published: AtomicU64,
    /// Messages received on the adapters' channels.
    pub received: AtomicU64,
    /// Received messages that were not messages of the protocol (ignored).
    pub malformed: AtomicU64,
    /// Publishes or counts that the broker (Redis, PostgreSQL) refused or
    /// could not take (PostgreSQL: also failed connection attempts).
    pub errors: AtomicU64,
    /// Received messages dropped because routing fell behind.
    pub dropped: AtomicU64,
    /// Requests that timed out.
    pub timeouts: AtomicU64,
    /// Reconnections to the broker.
    pub reconnects: AtomicU64,
    /// Requests to the other servers that got every answer.
    pub requests: AtomicU64,
    /// Sum of those requests' durations, in microseconds (with `requests`,
    /// the mean request latency).
    pub request_micros: AtomicU64,
}
