//! [`RedisAdapterConfig`]: the adapters' options, with the reference's
//! defaults, and which adapter: the classic pub/sub one, the sharded one,
//! or the Redis Streams one.

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
    /// The Redis Streams adapter (`@socket.io/redis-streams-adapter` 0.3):
    /// broadcasts, joins, leaves and disconnects in one stream (XADD /
    /// XREAD), requests and answers over PUBLISH / SUBSCRIBE, sessions kept
    /// in Redis for connection state recovery on any node.
    Streams,
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
    /// Streams adapter: the stream's name (`streamName`). Default `socket.io`.
    pub stream_name: String,
    /// Streams adapter: the stream is trimmed to about this many entries
    /// (`XADD MAXLEN ~`, `maxLen`). Default 10 000.
    pub max_len: u64,
    /// Streams adapter: how many streams (`streamCount`). With 1 the
    /// stream is [`RedisAdapterConfig::stream_name`]; with more, each
    /// namespace goes to `<stream_name>-<i>`, `i` picked from its name as
    /// the reference picks it ([`crate::stream_wire::stream_for`]), so that
    /// a namespace's entries stay in order; every server reads them all,
    /// each on a connection of its own. Default 1.
    pub stream_count: u32,
    /// Streams adapter: requests and answers over sharded pub/sub
    /// (SPUBLISH / SSUBSCRIBE, Redis 7+; the server count is `PUBSUB
    /// SHARDNUMSUB`) instead of PUBLISH / SUBSCRIBE (`useShardedPubSub`).
    /// Default false.
    pub sharded_pub_sub: bool,
    /// Streams adapter: entries read per XREAD (`readCount`). Default 100.
    pub read_count: u64,
    /// Streams adapter: how long one XREAD blocks (`blockTimeInMs`).
    /// Default 5 s.
    pub block_time: Duration,
    /// Streams adapter: prefix of the keys sessions are kept under for
    /// connection state recovery (`sessionKeyPrefix`). Default
    /// `sio:session:`.
    pub session_key_prefix: String,
    /// Streams adapter: most entries read while restoring one session (the
    /// packets its client missed); a longer backlog is not recovered.
    /// Default 100 000 (the reference reads up to 100 ranges).
    pub max_replay: usize,
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
            stream_name: "socket.io".into(),
            max_len: 10_000,
            stream_count: 1,
            sharded_pub_sub: false,
            read_count: 100,
            block_time: Duration::from_secs(5),
            session_key_prefix: "sio:session:".into(),
            max_replay: 100_000,
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
    /// The Redis Streams adapter, on stream `name`.
    pub fn streams(mut self, name: impl Into<String>) -> Self {
        self.kind = AdapterKind::Streams;
        self.stream_name = name.into();
        self
    }
    /// Sets [`RedisAdapterConfig::max_len`].
    pub fn max_len(mut self, n: u64) -> Self {
        self.max_len = n;
        self
    }
    /// Sets [`RedisAdapterConfig::read_count`].
    pub fn read_count(mut self, n: u64) -> Self {
        self.read_count = n;
        self
    }
    /// Sets [`RedisAdapterConfig::block_time`].
    pub fn block_time(mut self, t: Duration) -> Self {
        self.block_time = t;
        self
    }
    /// Sets [`RedisAdapterConfig::stream_count`] (0 counts as 1).
    pub fn stream_count(mut self, n: u32) -> Self {
        self.stream_count = n.max(1);
        self
    }
    /// Sets [`RedisAdapterConfig::sharded_pub_sub`].
    pub fn sharded_pub_sub(mut self, v: bool) -> Self {
        self.sharded_pub_sub = v;
        self
    }
    /// Sets [`RedisAdapterConfig::session_key_prefix`].
    pub fn session_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.session_key_prefix = prefix.into();
        self
    }
    /// Sets [`RedisAdapterConfig::publish_on_specific_response_channel`].
    pub fn publish_on_specific_response_channel(mut self, v: bool) -> Self {
        self.publish_on_specific_response_channel = v;
        self
    }
}
