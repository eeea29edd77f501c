//! [`PostgresAdapterConfig`]: the adapter's options, with the reference's
//! defaults (`@socket.io/postgres-adapter` 0.5 and the heartbeat options of
//! socket.io-adapter's `ClusterAdapterWithHeartbeat`).

use std::time::Duration;

/// The adapter's options, with the reference's defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresAdapterConfig {
    /// Prefix of the notification channels: namespace `N` is `P#N`.
    /// Default `socket.io`.
    pub channel_prefix: String,
    /// The table holding payloads too big for a NOTIFY, or with binary
    /// (`id bigserial, created_at timestamptz, payload bytea`); created
    /// when missing. A plain or schema-qualified SQL identifier. Default
    /// `socket_io_attachments`.
    pub table_name: String,
    /// A JSON payload of this many bytes or more goes through the table
    /// (PostgreSQL refuses a NOTIFY payload of 8000 bytes or more). Default
    /// 8000.
    pub payload_threshold: usize,
    /// How often rows older than this are deleted from the table. Default
    /// 30 s.
    pub cleanup_interval: Duration,
    /// How often a node says it is alive. Default 5 s.
    pub heartbeat_interval: Duration,
    /// A node silent this long is taken as gone. Default 10 s.
    pub heartbeat_timeout: Duration,
    /// How long a request waits for the other servers. Default 5 s.
    pub requests_timeout: Duration,
    /// How long a message waits for the connections while they are down
    /// before it fails (and is counted in `errors`). Default 10 s.
    pub publish_timeout: Duration,
    /// Notifications received but not yet handled before new ones are
    /// dropped (and counted). Default 4096.
    pub receive_buffer: usize,
}

impl Default for PostgresAdapterConfig {
    fn default() -> Self {
        PostgresAdapterConfig {
            channel_prefix: "socket.io".into(),
            table_name: "socket_io_attachments".into(),
            payload_threshold: 8000,
            cleanup_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(10),
            requests_timeout: Duration::from_secs(5),
            publish_timeout: Duration::from_secs(10),
            receive_buffer: 4096,
        }
    }
}

impl PostgresAdapterConfig {
    /// Sets [`PostgresAdapterConfig::channel_prefix`].
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.channel_prefix = prefix.into();
        self
    }
    /// Sets [`PostgresAdapterConfig::table_name`].
    pub fn table_name(mut self, name: impl Into<String>) -> Self {
        self.table_name = name.into();
        self
    }
    /// Sets [`PostgresAdapterConfig::payload_threshold`].
    pub fn payload_threshold(mut self, bytes: usize) -> Self {
        self.payload_threshold = bytes;
        self
    }
    /// Sets [`PostgresAdapterConfig::cleanup_interval`].
    pub fn cleanup_interval(mut self, t: Duration) -> Self {
        self.cleanup_interval = t;
        self
    }
    /// Sets [`PostgresAdapterConfig::heartbeat_interval`] and
    /// [`PostgresAdapterConfig::heartbeat_timeout`].
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat_interval = interval;
        self.heartbeat_timeout = timeout;
        self
    }
    /// Sets [`PostgresAdapterConfig::publish_timeout`].
    pub fn publish_timeout(mut self, t: Duration) -> Self {
        self.publish_timeout = t;
        self
    }
    /// Sets [`PostgresAdapterConfig::requests_timeout`].
    pub fn requests_timeout(mut self, t: Duration) -> Self {
        self.requests_timeout = t;
        self
    }
}
