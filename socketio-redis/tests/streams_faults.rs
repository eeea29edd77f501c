//! Faults on the Redis Streams adapter, with two of our servers: a Redis
//! restart mid-run loses nothing the stream holds (each reader goes on from
//! the last id it read, neither losing nor repeating entries), and
//! malformed entries are ignored and counted.
mod common;
#[path = "common/redis_ours.rs"]
mod redis_ours;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use redis_ours::{ours_with, Ours};
use serde_json::json;
use socketio_redis::RedisAdapterConfig;

async fn ours(redis: &Redis) -> Ours {
    let config = RedisAdapterConfig::default()
        .streams("socket.io")
        .block_time(Duration::from_secs(1));
    ours_with(&redis.url(), config).await
}

async fn pair(redis: &Redis) -> (Ours, Ours) {
    let (a, b) = (ours(redis).await, ours(redis).await);
    eventually!(
        "both subscribed",
        redis.numsub("socket.io#/#", false).await == 2
    );
    (a, b)
}

#[tokio::test]
async fn a_redis_restart_loses_nothing_the_stream_holds() {
    let mut redis = Redis::start().await;
    let (a, b) = pair(&redis).await;
    let (mut c, _) = Client::connect(a.port, "/", json!({})).await;
    for n in 1..=3 {
        b.io.emit("m", json!(n)).unwrap();
    }
    for n in 1..=3 {
        assert_eq!(c.event().await, ("m".into(), vec![json!(n)]));
    }
    redis.restart_keeping_data().await;
    // Appended while the readers may still be reconnecting: read from the
    // last id once they are back.
    for n in 4..=6 {
        let _ = b.io.emit("m", json!(n));
    }
    for n in 4..=6 {
        assert_eq!(c.event().await, ("m".into(), vec![json!(n)]));
    }
    // Not the entries it had read before the outage, again.
    c.silent(500).await;
    let reconnected = a.cluster.stats().reconnects.load(Ordering::Relaxed);
    assert!(reconnected > 0, "the subscriber saw the restart");
}

#[tokio::test]
async fn malformed_entries_are_ignored_and_counted() {
    let redis = Redis::start().await;
    let (a, b) = pair(&redis).await;
    let (mut c, _) = Client::connect(a.port, "/", json!({})).await;
    let garbage: [&[&str]; 5] = [
        &[
            "uid",
            "x",
            "nsp",
            "/",
            "type",
            "3",
            "data",
            "%%% not base64",
        ],
        &["uid", "x", "nsp", "/", "type", "3", "data", "{not json"],
        &["uid", "x", "nsp", "/", "type", "three"],
        &["nsp", "/", "type", "3"],
        &[
            "uid",
            "x",
            "nsp",
            "/",
            "type",
            "3",
            "data",
            "{\"packet\":7}",
        ],
    ];
    for fields in garbage {
        let mut cmd = vec!["XADD", "socket.io", "*"];
        cmd.extend_from_slice(fields);
        redis.cmd(&cmd).await;
    }
    let stats = a.cluster.stats().clone();
    eventually!(
        "all counted",
        stats.malformed.load(Ordering::Relaxed) == garbage.len() as u64
    );
    // The reader goes on.
    b.io.emit("still", json!(1)).unwrap();
    assert_eq!(c.event().await.0, "still");
}
