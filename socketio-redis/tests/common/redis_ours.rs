//! Our server on a Redis cluster: `common::ours` on a [`RedisCluster`].
//! Not a child of `common` (which socketio-postgres's tests include too):
//! the Redis tests declare it themselves, each using part of it.
#![allow(dead_code)]

use socketio_redis::{RedisAdapterConfig, RedisCluster};

use crate::common::ours::serve;

/// Our server on a Redis cluster.
pub type Ours = crate::common::ours::Ours<RedisCluster>;

/// Our server with the default adapter options.
pub async fn ours(redis_url: &str) -> Ours {
    ours_with(redis_url, RedisAdapterConfig::default()).await
}

/// Our server with these adapter options.
pub async fn ours_with(redis_url: &str, config: RedisAdapterConfig) -> Ours {
    let cluster = RedisCluster::connect(redis_url, config).await.unwrap();
    let factory = cluster.factory();
    serve(cluster, factory).await
}
