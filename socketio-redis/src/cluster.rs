//! [`RedisCluster`]: what the Redis adapters of one server share: the
//! publishing and subscribing connections (which reconnect with backoff and
//! resubscribe by themselves), the router from channels to namespaces, and
//! the counters. It knows a namespace's adapter only as a [`Route`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use fred::clients::SubscriberClient;
use fred::prelude::{Client, ClientLike, Config, EventInterface, PubsubInterface, ReconnectPolicy};
use fred::types::Builder;
use socketio::AdapterError;

use crate::config::{AdapterKind, RedisAdapterConfig};
use crate::stats::Stats;

/// A future borrowing its adapter.
pub(crate) type Subscribing<'a> =
    Pin<Box<dyn Future<Output = Result<(), AdapterError>> + Send + 'a>>;

/// What the router hands a namespace's messages to.
pub(crate) trait Route: Send + Sync {
    /// Handles a message of one of the namespace's channels; false when it
    /// was not a message of the protocol.
    fn handle(&self, kind: Channel<'_>, payload: &[u8]) -> bool;
    /// Subscribes to every channel of the namespace it needs now (again,
    /// after a reconnect: subscribing twice is harmless).
    fn subscribe(&self) -> Subscribing<'_>;
    /// Handles an entry of the stream (Streams adapter), read at `offset`;
    /// false when it was not a message of the protocol.
    fn on_entry(&self, offset: &str, entry: crate::stream_wire::Entry) -> bool {
        let _ = (offset, entry);
        true
    }
}

/// Subscribes `route` until it holds, with backoff (Redis may be down, or
/// a cluster not ready yet); ends when the adapter is gone.
pub(crate) async fn keep_subscribing(
    route: Weak<dyn Route>,
    stats: Arc<Stats>,
) -> Result<(), AdapterError> {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(r) = route.upgrade() else {
            return Err(AdapterError::NamespaceGone);
        };
        if r.subscribe().await.is_ok() {
            return Ok(());
        }
        stats.errors.fetch_add(1, Ordering::Relaxed);
        drop(r);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// What the adapters of one server share: the publishing and subscribing
/// connections (reconnecting by themselves, resubscribing after), the
/// router from channels to namespaces, and the counters.
pub struct RedisCluster {
    pub(crate) config: RedisAdapterConfig,
    pub(crate) publisher: Client,
    pub(crate) subscriber: SubscriberClient,
    /// The Streams adapter's reading connections, one per stream, until
    /// their readers start.
    pub(crate) readers: std::sync::Mutex<Vec<(Client, String)>>,
    /// Set by [`RedisCluster::quit`]: the reader stops.
    pub(crate) closed: std::sync::atomic::AtomicBool,
    adapters: RwLock<HashMap<String, Weak<dyn Route>>>,
    pub(crate) stats: Arc<Stats>,
}

impl RedisCluster {
    /// Connects to the Redis at `url` (`redis://host:port/db`). A Redis
    /// that is down is not an error: the connections retry with backoff,
    /// and the adapters serve local sockets meanwhile.
    pub async fn connect(
        url: &str,
        config: RedisAdapterConfig,
    ) -> Result<Arc<Self>, fred::error::Error> {
        let mut redis = Config::from_url(url)?;
        // The backoff also applies to the first connection: a Redis that is
        // down at start is waited for, not an error.
        redis.fail_fast = false;
        let mut builder = Builder::from_config(redis);
        builder.set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2));
        let buffer = config.receive_buffer.max(16);
        let (queue, timeout) = (config.command_buffer.max(1), config.command_timeout);
        builder.with_performance_config(|p| {
            p.broadcast_channel_capacity = buffer;
            // A publish waiting for a Redis that is down gives up in time.
            p.default_command_timeout = timeout;
        });
        builder.with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(2);
            c.internal_command_timeout = Duration::from_secs(5);
            // Commands waiting for a connection are bounded; beyond, they
            // fail at once (counted in `errors`) instead of piling up.
            c.max_command_buffer_len = queue;
        });
        let publisher = builder.build()?;
        let subscriber = builder.build_subscriber_client()?;
        // The Streams adapter reads with a blocking XREAD: on a connection
        // of its own, whose commands may take that long.
        let mut readers = Vec::new();
        if config.kind == AdapterKind::Streams {
            let block = config.block_time;
            builder.with_performance_config(|p| p.default_command_timeout = timeout + block);
            let names = crate::stream_wire::stream_names(&config.stream_name, config.stream_count);
            for name in names {
                readers.push((builder.build()?, name));
            }
        }
        publisher.connect();
        subscriber.connect();
        for (r, _) in &readers {
            r.connect();
        }
        // Bounded: a Redis that is down does not hold the server's start.
        let wait = Duration::from_secs(2);
        let _ = tokio::time::timeout(
            wait,
            futures_util::future::join(publisher.wait_for_connect(), subscriber.wait_for_connect()),
        )
        .await;
        subscriber.manage_subscriptions();
        let cluster = Arc::new(RedisCluster {
            config,
            publisher,
            subscriber,
            readers: std::sync::Mutex::new(readers),
            closed: Default::default(),
            adapters: RwLock::new(HashMap::new()),
            stats: Arc::default(),
        });
        tokio::spawn(route(
            Arc::downgrade(&cluster),
            cluster.subscriber.message_rx(),
        ));

        // After a reconnect every adapter subscribes again, retrying until
        // it holds: the client's own resubscription is tried once, and a
        // cluster node that just came back may refuse it.
        let mut reconnects = cluster.subscriber.reconnect_rx();
        let weak = Arc::downgrade(&cluster);
        tokio::spawn(async move {
            while reconnects.recv().await.is_ok() {
                let Some(cluster) = weak.upgrade() else {
                    return;
                };
                cluster.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                let routes: Vec<Weak<dyn Route>> = match cluster.adapters.read() {
                    Ok(m) => m.values().cloned().collect(),
                    Err(_) => continue,
                };
                for route in routes {
                    tokio::spawn(keep_subscribing(route, cluster.stats.clone()));
                }
            }
        });
        Ok(cluster)
    }

    /// The counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Whether both connections to Redis are up.
    pub fn connected(&self) -> bool {
        self.publisher.is_connected() && self.subscriber.is_connected()
    }

    /// Closes the connections.
    pub async fn quit(&self) {
        self.closed.store(true, Ordering::Relaxed);
        let _ = self.subscriber.quit().await;
        let _ = self.publisher.quit().await;
    }

    pub(crate) fn lookup(&self, nsp: &str) -> Option<Arc<dyn Route>> {
        self.adapters.read().ok()?.get(nsp)?.upgrade()
    }

    /// Routes the messages of namespace `nsp` to `route`.
    pub(crate) fn register(&self, nsp: &str, route: Weak<dyn Route>) {
        if let Ok(mut m) = self.adapters.write() {
            m.insert(nsp.to_owned(), route);
        }
    }

    /// Stops routing namespace `nsp`.
    pub(crate) fn unregister(&self, nsp: &str) {
        if let Ok(mut m) = self.adapters.write() {
            m.remove(nsp);
        }
    }

    /// Publishes `payload` on `channel`.
    pub(crate) async fn publish(
        &self,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), AdapterError> {
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        let r: Result<i64, _> = self.publisher.publish(channel, Bytes::from(payload)).await;
        r.map(|_| ()).map_err(|e| {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            AdapterError::Remote(e.to_string())
        })
    }

    /// Publishes `payload` on `channel` the Streams adapter's way: SPUBLISH
    /// with [`RedisAdapterConfig::sharded_pub_sub`], PUBLISH otherwise.
    pub(crate) async fn send(&self, channel: String, payload: Vec<u8>) -> Result<(), AdapterError> {
        match self.config.sharded_pub_sub {
            true => self.spublish(channel, payload).await,
            false => self.publish(channel, payload).await,
        }
    }

    /// Publishes `payload` on the shard channel `channel` (SPUBLISH).
    pub(crate) async fn spublish(
        &self,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), AdapterError> {
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        let r: Result<i64, _> = self.publisher.spublish(channel, Bytes::from(payload)).await;
        r.map(|_| ()).map_err(|e| {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            AdapterError::Remote(e.to_string())
        })
    }

    /// How many servers listen on `channel`, this one included: `PUBSUB
    /// NUMSUB`, or `PUBSUB SHARDNUMSUB` for a shard channel.
    pub(crate) async fn numsub(&self, channel: &str, shard: bool) -> Result<usize, AdapterError> {
        let r: Result<Vec<fred::prelude::Value>, _> = match shard {
            true => self.publisher.pubsub_shardnumsub(channel.to_owned()).await,
            false => self.publisher.pubsub_numsub(channel.to_owned()).await,
        };
        let v = r.map_err(|e| {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            AdapterError::Remote(e.to_string())
        })?;
        let n = v.get(1).and_then(|n| n.as_i64()).unwrap_or(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

/// Routes every message the subscriber receives to its namespace's adapter.
async fn route(
    cluster: Weak<RedisCluster>,
    mut rx: tokio::sync::broadcast::Receiver<fred::types::Message>,
) {
    loop {
        let msg = match rx.recv().await {
            Ok(m) => m,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                if let Some(c) = cluster.upgrade() {
                    c.stats.dropped.fetch_add(n, Ordering::Relaxed);
                }
                continue;
            }
            Err(_) => return,
        };
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        cluster.stats.received.fetch_add(1, Ordering::Relaxed);
        let Some(payload) = msg.value.into_bytes() else {
            cluster.stats.malformed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let ok = match Channel::parse(&cluster.config.key, &msg.channel) {
            Some((nsp, kind)) => match cluster.lookup(nsp) {
                Some(adapter) => adapter.handle(kind, &payload),
                None => true,
            },
            None => false,
        };
        if !ok {
            cluster.stats.malformed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What a channel of the protocol carries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Channel<'a> {
    /// `K#N#` (everyone) or `K#N#R#` (one room).
    Broadcast(&'a str),
    /// `K-request#N#`.
    Request,
    /// `K-response#N#` or `K-response#N#uid#`.
    Response,
}

impl<'a> Channel<'a> {
    /// The namespace and kind of `channel`.
    pub(crate) fn parse(key: &str, channel: &'a str) -> Option<(&'a str, Channel<'a>)> {
        let rest = channel.strip_prefix(key)?;
        let (kind, rest) = if let Some(r) = rest.strip_prefix("-request#") {
            (0, r)
        } else if let Some(r) = rest.strip_prefix("-response#") {
            (1, r)
        } else {
            (2, rest.strip_prefix('#')?)
        };
        let (nsp, tail) = rest.split_once('#')?;
        let kind = match kind {
            0 => Channel::Request,
            1 => Channel::Response,
            _ => Channel::Broadcast(tail.strip_suffix('#').unwrap_or(tail)),
        };
        Some((nsp, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_name_their_namespace_and_kind() {
        let k = "socket.io";
        assert_eq!(
            Channel::parse(k, "socket.io#/#"),
            Some(("/", Channel::Broadcast("")))
        );
        assert_eq!(
            Channel::parse(k, "socket.io#/chat#room1#"),
            Some(("/chat", Channel::Broadcast("room1")))
        );
        assert_eq!(
            Channel::parse(k, "socket.io-request#/#"),
            Some(("/", Channel::Request))
        );
        assert_eq!(
            Channel::parse(k, "socket.io-response#/#"),
            Some(("/", Channel::Response))
        );
        assert_eq!(
            Channel::parse(k, "socket.io-response#/#AbCdEf#"),
            Some(("/", Channel::Response))
        );
        assert_eq!(Channel::parse(k, "other#/#"), None);
        assert_eq!(Channel::parse(k, "socket.io#nohash"), None);
    }
}
