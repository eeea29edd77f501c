//! [`RedisAdapterConfig`]: the adapters' options, with the reference's
//! defaults, and which adapter: the classic pub/sub one or the sharded one.

use std::time::Duration;

/// Which adapter of `@socket.io/redis-adapter` to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdapterKind {
    /// The classic adapter (`createAdapter`): PUBLISH / (P)SUBSCRIBE.
    PubSub,
    /// The sharded adapter (`createShardedAdapter`, Redis 7+): SPUBLISH /
    /// SSUBSCRIBE, with this subscription mode.
    Sharded(SubscriptionMode),
}

/// How the sharded adapter subscribes (`subscriptionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriptionMode {
    /// Only the namespace's channel and this server's response channel.
    Static,
    /// Also one channel per public room (not a socket's own), so that a
    /// broadcast to one room reaches only the servers that have it. The
    /// reference's default.
    Dynamic,
}

/// The adapters' options, with the reference's defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisAdapterConfig {
    /// Prefix of every channel (the reference's `key`). Default `socket.io`.
    pub key: String,
    /// How long a request waits for the other servers. Default 5 s.
    pub requests_timeout: Duration,
    /// Answer a request on the requester's own response channel instead
    /// of the shared one (`publishOnSpecificResponseChannel`). Default false.
    pub publish_on_specific_response_channel: bool,
    /// Messages received but not yet routed before the oldest are dropped
    /// (and counted). Default 4096.
    pub receive_buffer: usize,
    /// Which adapter. Default the classic one.
    pub kind: AdapterKind,
    /// Commands (publishes, counts) that may wait for a connection to Redis;
    /// beyond, they fail at once. Default 4096.
    pub command_buffer: usize,
    /// How long a command may wait for Redis before it fails (a publish
    /// during an outage). Default 10 s.
    pub command_timeout: Duration,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        RedisAdapterConfig {
            key: "socket.io".into(),
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
            receive_buffer: 4096,
            kind: AdapterKind::PubSub,
            command_buffer: 4096,
            command_timeout: Duration::from_secs(10),
        }
    }
}

impl RedisAdapterConfig {
    /// Sets [`RedisAdapterConfig::key`].
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }
    /// Sets [`RedisAdapterConfig::requests_timeout`].
    pub fn requests_timeout(mut self, t: Duration) -> Self {
        self.requests_timeout = t;
        self
    }
    /// The sharded adapter with subscription mode `mode`.
    pub fn sharded(mut self, mode: SubscriptionMode) -> Self {
        self.kind = AdapterKind::Sharded(mode);
        self
    }
    /// Sets [`RedisAdapterConfig::publish_on_specific_response_channel`].
    pub fn publish_on_specific_response_channel(mut self, v: bool) -> Self {
        self.publish_on_specific_response_channel = v;
        self
    }
}
