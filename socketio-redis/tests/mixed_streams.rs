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
use serde_json::json;
use socketio_redis::RedisAdapterConfig;

async fn cluster(count: u32, sharded: bool) -> (Redis, NodeServer, Ours) {
    let redis = Redis::start().await;
    let count_env = count.to_string();
    let env = [
        ("STREAM_COUNT", count_env.as_str()),
        ("SHARDED_PUBSUB", if sharded { "1" } else { "0" }),
    ];
    let node = NodeServer::start_with(&redis.url(), "streams", "socket.io", &env).await;
    let config = RedisAdapterConfig::default()
        .streams("socket.io")
        .stream_count(count)
        .sharded_pub_sub(sharded)
        .block_time(Duration::from_secs(1));
    let ours = ours_with(&redis.url(), config).await;
    for channel in ["socket.io#/#", "socket.io#/chat#"] {
        eventually!(
            "both servers subscribed",
            redis.numsub(channel, sharded).await == 2
        );
    }
    (redis, node, ours)
}

async fn xlen(redis: &Redis, stream: &str) -> i64 {
    redis.cmd(&["XLEN", stream]).await.as_int().unwrap_or(-1)
}

async fn every_operation_both_ways(count: u32, sharded: bool) -> Redis {
    let (redis, mut node, mut ours) = cluster(count, sharded).await;
    both_ways::every_operation_both_ways(&mut node, &mut ours, Duration::from_millis(200)).await;
    let stats = ours.cluster.stats();
    assert_eq!(stats.malformed.load(Ordering::Relaxed), 0);
    assert!(stats.received.load(Ordering::Relaxed) > 0);
    redis
}

#[tokio::test]
async fn every_operation_both_ways_on_one_stream() {
    let redis = every_operation_both_ways(1, false).await;
    assert!(xlen(&redis, "socket.io").await > 0);
}

/// `streamCount` 3: "/" (hash 47) goes to `socket.io-2`, "/chat" (hash
/// 46457863) to `socket.io-1`, on both sides; the plain stream stays empty.
#[tokio::test]
async fn every_operation_both_ways_on_three_streams() {
    let (redis, mut node, mut ours) = cluster(3, false).await;
    both_ways::every_operation_both_ways(&mut node, &mut ours, Duration::from_millis(200)).await;
    assert!(xlen(&redis, "socket.io-2").await > 0);
    assert_eq!(xlen(&redis, "socket.io-1").await, 0);
    // "/chat", both ways, through its own stream.
    let (mut on_node, _) = Client::connect(node.port(), "/chat", json!({})).await;
    let (mut on_ours, _) = Client::connect(ours.port, "/chat", json!({})).await;
    node.cmd_ok(json!({"op": "emit", "nsp": "/chat", "event": "n", "args": [1]}))
        .await;
    ours.io.of("/chat").emit("o", json!(2)).unwrap();
    for c in [&mut on_node, &mut on_ours] {
        let mut got = vec![c.event().await, c.event().await];
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            [("n".into(), vec![json!(1)]), ("o".into(), vec![json!(2)])]
        );
    }
    assert_eq!(xlen(&redis, "socket.io-1").await, 2);
    assert_eq!(xlen(&redis, "socket.io-0").await, 0);
    assert_eq!(xlen(&redis, "socket.io").await, 0);
    assert_eq!(ours.cluster.stats().malformed.load(Ordering::Relaxed), 0);
}

/// `useShardedPubSub`: requests and answers over SPUBLISH / SSUBSCRIBE
/// (the subscriptions counted by SHARDNUMSUB, in `cluster`), the server
/// count too.
#[tokio::test]
async fn every_operation_both_ways_over_sharded_pub_sub() {
    let redis = every_operation_both_ways(2, true).await;
    assert_eq!(redis.numsub("socket.io#/#", false).await, 0);
}
