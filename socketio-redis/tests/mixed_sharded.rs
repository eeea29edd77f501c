//! A mixed cluster on the sharded adapter (Redis 7 sharded pub/sub): a Node
//! server on `createShardedAdapter` and one of ours, in the `dynamic` and
//! the `static` subscription modes; every operation from each side reaches
//! the other side's clients.
mod common;
#[path = "common/redis_ours.rs"]
mod redis_ours;

use std::time::Duration;

use common::both_ways;
use common::*;
use redis_ours::{ours_with, Ours};
use serde_json::json;
use socketio_redis::{RedisAdapterConfig, SubscriptionMode};

async fn cluster(mode: SubscriptionMode) -> (Redis, NodeServer, Ours) {
    let redis = Redis::start().await;
    let env = match mode {
        SubscriptionMode::Static => "static",
        _ => "dynamic",
    };
    let node = NodeServer::start_with(
        &redis.url(),
        "sharded",
        "socket.io",
        &[("SUBSCRIPTION_MODE", env)],
    )
    .await;
    let ours = ours_with(&redis.url(), RedisAdapterConfig::default().sharded(mode)).await;
    for channel in ["socket.io#/#", "socket.io#/chat#"] {
        eventually!(
            "both servers subscribed",
            redis.numsub(channel, true).await == 2
        );
    }
    (redis, node, ours)
}

async fn every_operation_both_ways(mode: SubscriptionMode) {
    let (_redis, mut node, mut ours) = cluster(mode).await;
    // Dynamic mode subscribes room channels as rooms appear.
    let settle = Duration::from_millis(200);
    both_ways::every_operation_both_ways(&mut node, &mut ours, settle).await;
    assert_eq!(
        ours.cluster
            .stats()
            .malformed
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test]
async fn dynamic_mode_every_operation_both_ways() {
    every_operation_both_ways(SubscriptionMode::Dynamic).await;
}

#[tokio::test]
async fn static_mode_every_operation_both_ways() {
    every_operation_both_ways(SubscriptionMode::Static).await;
}

#[tokio::test]
async fn dynamic_mode_subscribes_a_room_channel_while_the_room_has_members() {
    let (redis, _node, ours) = cluster(SubscriptionMode::Dynamic).await;
    let (c, _) = Client::connect(ours.port, "/", json!({"rooms": ["lobby"]})).await;
    eventually!(
        "room channel subscribed",
        redis.numsub("socket.io#/#lobby#", true).await >= 1
    );
    c.close().await;
    eventually!(
        "room channel released",
        redis.numsub("socket.io#/#lobby#", true).await == 0
    );
}
