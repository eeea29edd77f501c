//! A mixed cluster on the sharded adapter (Redis 7 sharded pub/sub): a Node
//! server on `createShardedAdapter` and one of ours, in the `dynamic` and
//! the `static` subscription modes; every operation from each side reaches
//! the other side's clients.
mod common;

use std::time::Duration;

use common::ours::{ours_with, server_side_answers_cross, Ours};
use common::*;
use serde_json::{json, Value};
use socketio::Data;
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
    let (mut on_node, node_sid) = Client::connect(
        node.port(),
        "/",
        json!({"rooms": ["r1"], "data": {"who": "n"}}),
    )
    .await;
    let (mut on_ours, ours_sid) =
        Client::connect(ours.port, "/", json!({"rooms": ["r1", "r2"]})).await;
    // Dynamic mode subscribes room channels as rooms appear.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Broadcasts, both ways: one room, except, binary.
    node.cmd_ok(json!({"op": "emit", "nsp": "/", "rooms": ["r2"], "event": "e", "args": [1]}))
        .await;
    assert_eq!(on_ours.event().await, ("e".into(), vec![json!(1)]));
    on_node.silent(200).await;
    node.cmd_ok(json!({"op": "emit", "nsp": "/", "event": "b", "args": ["xy"], "binary": true}))
        .await;
    for c in [&mut on_node, &mut on_ours] {
        assert_eq!(c.event().await, ("b".into(), vec![bin(b"xy")]));
    }
    ours.io
        .to("r1")
        .except("r2")
        .emit("f", json!({"x": 1}))
        .unwrap();
    assert_eq!(on_node.event().await, ("f".into(), vec![json!({"x": 1})]));
    on_ours.silent(200).await;
    ours.io
        .emit("bin", Data::new().binary(vec![1u8, 2]))
        .unwrap();
    for c in [&mut on_node, &mut on_ours] {
        assert_eq!(c.event().await, ("bin".into(), vec![bin(&[1, 2])]));
    }
    ours.io
        .to(node_sid.as_str())
        .emit("direct", json!(0))
        .unwrap();
    assert_eq!(on_node.event().await.0, "direct");

    // Join, leave, fetch, both ways.
    node.cmd_ok(json!({"op": "socketsJoin", "nsp": "/", "rooms": ["r1"], "join": ["j"]}))
        .await;
    let socket = ours.io.of("/").sockets().pop().unwrap();
    eventually!(
        "our socket joined",
        socket.rooms().contains(&"j".to_string())
    );
    ours.io.of("/").to("j").sockets_leave("j").await.unwrap();
    eventually!("Node's socket left", {
        let r = node
            .cmd_ok(json!({"op": "fetchSockets", "nsp": "/", "rooms": ["j"]}))
            .await;
        r.as_array().is_some_and(Vec::is_empty)
    });
    let infos = ours.io.of("/").to("r1").fetch_sockets().await.unwrap();
    let remote = infos.iter().find(|i| i.id.as_str() == node_sid).unwrap();
    assert_eq!(remote.data, json!({"who": "n"}));
    assert_eq!(remote.server.as_deref(), Some(node.uid()));
    let r = node
        .cmd_ok(json!({"op": "fetchSockets", "nsp": "/", "rooms": ["r1"]}))
        .await;
    let theirs = r
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == json!(ours_sid))
        .cloned()
        .unwrap();
    assert_eq!(sorted(&theirs["rooms"]), {
        let mut w = vec![ours_sid.clone(), "r1".into(), "r2".into()];
        w.sort();
        w
    });

    // Server-side emits and counts.
    node.cmd_ok(json!({"op": "serverSideEmit", "nsp": "/", "event": "sse", "args": ["n"]}))
        .await;
    let got = tokio::time::timeout(Duration::from_secs(5), ours.server_side.recv())
        .await
        .unwrap();
    assert_eq!(got, Some(vec![json!("n")]));
    ours.io
        .server_side_emit("sse", Data::new().arg("o"))
        .await
        .unwrap();
    let seen = node.next_server_side().await;
    assert_eq!(seen["args"], json!(["o"]));
    assert_eq!(
        node.cmd_ok(json!({"op": "serverCount", "nsp": "/"})).await,
        json!(2)
    );
    assert_eq!(ours.io.of("/").adapter().server_count().await.unwrap(), 2);

    // Server-side emits with answers, both ways.
    server_side_answers_cross(&mut node, &ours).await;

    // Broadcasts with acks, both ways.
    let node_side = tokio::spawn(async move {
        let r = node.cmd(json!({"op": "emitWithAck", "nsp": "/", "event": "q", "args": [7], "timeout": 3000})).await;
        (node, r)
    });
    let ev = on_ours.next_event().await;
    on_ours
        .ack(ev.ack_id.unwrap(), vec![json!("from-ours")])
        .await;
    let ev = on_node.next_event().await;
    on_node
        .ack(ev.ack_id.unwrap(), vec![json!("from-node")])
        .await;
    let (mut node, r) = node_side.await.unwrap();
    assert_eq!(r["ok"], json!(true), "{r}");
    assert_eq!(
        sorted(&r["result"]),
        vec!["from-node".to_string(), "from-ours".into()]
    );
    let io = ours.io.clone();
    let asking = tokio::spawn(async move {
        io.to("r1")
            .emit_with_ack("q2", json!(1), Duration::from_secs(3))
            .await
    });
    for c in [&mut on_node, &mut on_ours] {
        let ev = c.next_event().await;
        c.ack(ev.ack_id.unwrap(), vec![Value::from(2)]).await;
    }
    let acks = asking.await.unwrap().unwrap();
    assert_eq!(acks.len(), 2);
    assert!(acks
        .iter()
        .all(|a| a.as_ref().unwrap().args() == [json!(2)]));

    // Disconnects, both ways.
    ours.io
        .to(node_sid.as_str())
        .disconnect_sockets(false)
        .await
        .unwrap();
    on_node.disconnected().await;
    node.cmd_ok(json!({"op": "disconnectSockets", "nsp": "/", "rooms": ["r2"], "close": false}))
        .await;
    on_ours.disconnected().await;
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
