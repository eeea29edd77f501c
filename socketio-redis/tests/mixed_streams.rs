//! A mixed cluster on the Redis Streams adapter: a Node server on
//! `@socket.io/redis-streams-adapter` 0.3 and one of ours share a stream;
//! every operation from each side reaches the other side's clients.
mod common;
#[path = "common/redis_ours.rs"]
mod redis_ours;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::both_ways;
use common::*;
use redis_ours::{ours_with, Ours};
use socketio_redis::RedisAdapterConfig;

async fn cluster() -> (Redis, NodeServer, Ours) {
    let redis = Redis::start().await;
    let node = NodeServer::start(&redis.url(), "streams", "socket.io").await;
    let config = RedisAdapterConfig::default()
        .streams("socket.io")
        .block_time(Duration::from_secs(1));
    let ours = ours_with(&redis.url(), config).await;
    for channel in ["socket.io#/#", "socket.io#/chat#"] {
        eventually!(
            "both servers subscribed",
            redis.numsub(channel, false).await == 2
        );
    }
    (redis, node, ours)
}

#[tokio::test]
async fn every_operation_both_ways() {
    let (_redis, mut node, mut ours) = cluster().await;
    both_ways::every_operation_both_ways(&mut node, &mut ours, Duration::from_millis(200)).await;
    let stats = ours.cluster.stats();
    assert_eq!(stats.malformed.load(Ordering::Relaxed), 0);
    assert!(stats.received.load(Ordering::Relaxed) > 0);
}
