//! The Admin UI's session ids in Redis (`admin` feature): the keys
//! `@socket.io/admin-ui`'s `RedisStore` reads and writes
//! (`<prefix>#<sessionId>` = `"1"`, `SET … EX <session duration>`, the
//! prefix `socket.io-admin` by default), so that every node of a cluster,
//! ours or Node's, accepts a session id handed out by any of them, a node
//! started after the login included.
//!
//! Owns the two commands only; the connection is the cluster's publishing
//! one.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fred::prelude::ClientLike;
use fred::types::{ClusterHash, CustomCommand, Value as RValue};
use socketio::admin::SessionStore;
use socketio::AdapterError;
use socketio::BoxFuture;

use crate::cluster::RedisCluster;

/// The reference's key prefix.
pub const DEFAULT_ADMIN_PREFIX: &str = "socket.io-admin";

/// Session ids kept in Redis as the reference's `RedisStore` keeps them.
pub struct RedisSessionStore {
    cluster: Arc<RedisCluster>,
    prefix: String,
}

impl RedisSessionStore {
    /// Keys `<prefix>#<id>` on `cluster`'s Redis.
    pub fn new(cluster: Arc<RedisCluster>, prefix: impl Into<String>) -> Self {
        RedisSessionStore {
            cluster,
            prefix: prefix.into(),
        }
    }

    /// The key of session `id` (the reference's `computeKey`).
    pub fn key(&self, id: &str) -> String {
        format!("{}#{id}", self.prefix)
    }
}

fn remote(cluster: &RedisCluster, e: fred::error::Error) -> AdapterError {
    cluster.stats.errors.fetch_add(1, Ordering::Relaxed);
    AdapterError::Remote(e.to_string())
}

impl SessionStore for RedisSessionStore {
    fn save(&self, _: Instant, id: String, ttl: Duration) -> BoxFuture<Result<(), AdapterError>> {
        let (cluster, key) = (self.cluster.clone(), self.key(&id));
        // Whole seconds, as the reference's `EX`; at least one.
        let secs = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
        Box::pin(async move {
            let args: Vec<RValue> = vec![key.into(), "1".into(), "EX".into(), secs.into()];
            let set = CustomCommand::new_static("SET", ClusterHash::FirstKey, false);
            let r: Result<RValue, _> = cluster.publisher.custom(set, args).await;
            r.map(drop).map_err(|e| remote(&cluster, e))
        })
    }

    fn exists(&self, _: Instant, id: String) -> BoxFuture<Result<bool, AdapterError>> {
        let (cluster, key) = (self.cluster.clone(), self.key(&id));
        Box::pin(async move {
            let exists = CustomCommand::new_static("EXISTS", ClusterHash::FirstKey, false);
            let r: Result<RValue, _> = cluster.publisher.custom(exists, vec![key]).await;
            match r.map_err(|e| remote(&cluster, e))? {
                RValue::Integer(n) => Ok(n == 1),
                other => Err(AdapterError::Remote(format!("EXISTS answered {other:?}"))),
            }
        })
    }

    fn shared(&self) -> bool {
        true
    }
}
