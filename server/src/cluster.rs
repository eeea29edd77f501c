//! [`Cluster`]: the cluster engine this node runs on, Redis or PostgreSQL,
//! behind one handle: what the rest of the server asks of a cluster
//! (whether its connection is up, its counters, its adapters' factory,
//! shutting it down) without naming the engine.

use std::sync::Arc;

use socketio::AdapterFactory;
use socketio_cluster::Stats;
use socketio_postgres::PostgresCluster;
use socketio_redis::RedisCluster;

/// One server's cluster engine (validation allows one at a time).
#[derive(Clone)]
#[non_exhaustive]
pub enum Cluster {
    /// `[redis] enabled`.
    Redis(Arc<RedisCluster>),
    /// `[postgres] enabled`.
    Postgres(Arc<PostgresCluster>),
}

impl Cluster {
    /// The engine's name (`redis`, `postgres`): the key of its connection
    /// state in the API's answers and the prefix of its metrics.
    pub fn engine(&self) -> &'static str {
        match self {
            Cluster::Redis(_) => "redis",
            Cluster::Postgres(_) => "postgres",
        }
    }

    /// Whether the engine's connections are up.
    pub fn connected(&self) -> bool {
        match self {
            Cluster::Redis(c) => c.connected(),
            Cluster::Postgres(c) => c.connected(),
        }
    }

    /// The adapters' counters.
    pub fn stats(&self) -> &Arc<Stats> {
        match self {
            Cluster::Redis(c) => c.stats(),
            Cluster::Postgres(c) => c.stats(),
        }
    }

    /// The factory of its adapters, one per namespace.
    pub fn factory(&self) -> AdapterFactory {
        match self {
            Cluster::Redis(c) => c.factory(),
            Cluster::Postgres(c) => c.factory(),
        }
    }

    /// The Redis engine, when this node runs on Redis (where the Admin UI's
    /// session ids are kept, as the reference's `RedisStore` keeps them).
    pub fn redis(&self) -> Option<&Arc<RedisCluster>> {
        match self {
            Cluster::Redis(c) => Some(c),
            Cluster::Postgres(_) => None,
        }
    }

    /// Closes the engine's connections (at shutdown).
    pub async fn quit(&self) {
        match self {
            Cluster::Redis(c) => c.quit().await,
            Cluster::Postgres(c) => c.close(),
        }
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Cluster").field(&self.engine()).finish()
    }
}
