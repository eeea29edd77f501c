//! Socket.IO cluster adapter over Redis, wire-compatible with Node's
//! `@socket.io/redis-adapter` 8.3 (the classic pub/sub adapter,
//! `createAdapter`, and the sharded one), `@socket.io/redis-streams-adapter`
//! 0.3 (Redis Streams, with connection state recovery across servers) and
//! `@socket.io/redis-emitter` 5: Node servers and ours
//! share one Redis, and every cross-node operation (broadcasts with rooms,
//! except and flags, broadcasts with acks, remote join, leave, disconnect
//! and fetch, all rooms, server-side emit, server count) works in both
//! directions. `PROTOCOL.md` in this crate describes the messages.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio_redis::{RedisAdapterConfig, RedisCluster};
//!
//! let cluster = RedisCluster::connect("redis://127.0.0.1:6379", RedisAdapterConfig::default()).await?;
//! let io = socketio::SocketIo::builder().adapter(cluster.factory()).build();
//! io.of("/").on_connection(|socket| async move { socket.join("lobby") });
//! // io.to("lobby").emit(..) now reaches the lobby on every server.
//! # Ok(()) }
//! ```
//!
//! The adapter runs on tokio (the runtime of its Redis client, fred). The
//! broker-neutral part (the `ClusterAdapter` operations, requests, message
//! values) is socketio-cluster's, re-exported here as [`cluster_msg`],
//! [`cluster_node`], [`requests`], [`remote`] and (in) [`wire`].
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod adapter;
#[cfg(feature = "admin")]
mod admin_store;
mod cluster;
mod config;
mod emitter;
mod factory;
mod sharded;
mod stream_reader;
mod stream_session;
pub mod stream_wire;
mod streams;
pub mod wire;

// The shared cluster core, under the paths this crate gave it before it
// became socketio-cluster.
#[doc(hidden)]
pub use socketio_cluster::cluster_node_operations;
pub use socketio_cluster::{cluster_msg, cluster_node, remote, requests};
/// [`Stats`] under its old module path, for this crate's files.
mod stats {
    pub(crate) use socketio_cluster::Stats;
}

pub use adapter::RedisAdapter;
#[cfg(feature = "admin")]
pub use admin_store::{RedisSessionStore, DEFAULT_ADMIN_PREFIX};
pub use cluster::RedisCluster;
pub use config::{AdapterKind, RedisAdapterConfig, SubscriptionMode};
pub use emitter::Emitter;
pub use fred;
pub use sharded::ShardedAdapter;
pub use socketio_cluster::Stats;
pub use streams::StreamsAdapter;
