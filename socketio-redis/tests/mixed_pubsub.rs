//! A mixed cluster on one Redis: a Node server (socket.io 4.8 with
//! `@socket.io/redis-adapter` 8.3, classic adapter) and one of ours, clients
//! on both; every cross-node operation started from each side reaches the
//! other side's clients, and `@socket.io/redis-emitter` reaches ours.
mod common;
#[path = "common/redis_ours.rs"]
mod redis_ours;

use std::time::Duration;

use common::ours::server_side_answers_cross;
use common::*;
use redis_ours::{ours, Ours};
use serde_json::{json, Value};
use socketio::Data;
use socketio_redis::Emitter;

/// Redis, a Node server and ours, both subscribed on "/" and "/chat".
async fn cluster() -> (Redis, NodeServer, Ours) {
    let redis = Redis::start().await;
    let node = NodeServer::start(&redis.url(), "pubsub", "socket.io").await;
    let ours = ours(&redis.url()).await;
    for channel in ["socket.io-request#/#", "socket.io-request#/chat#"] {
        eventually!(
            "both servers subscribed",
            redis.numsub(channel, false).await == 2
        );
    }
    (redis, node, ours)
}

#[tokio::test]
async fn broadcasts_cross_both_ways_with_rooms_except_binary_and_namespaces() {
    let (_redis, mut node, ours) = cluster().await;
    let (mut on_node, _) = Client::connect(node.port(), "/", json!({"rooms": ["r1"]})).await;
    let (mut on_ours, _) = Client::connect(ours.port, "/", json!({"rooms": ["r1", "r2"]})).await;
    let (mut chat_ours, _) = Client::connect(ours.port, "/chat", json!({"rooms": ["r1"]})).await;

    // Node -> ours: to a room, with except, and binary.
    node.cmd_ok(json!({"op": "emit", "nsp": "/", "rooms": ["r2"], "event": "e", "args": [1, "two", {"three": 3}]})).await;
    assert_eq!(
        on_ours.event().await,
        (
            "e".into(),
            vec![json!(1), json!("two"), json!({"three": 3})]
        )
    );
    on_node.silent(200).await;
    node.cmd_ok(
        json!({"op": "emit", "nsp": "/", "rooms": [], "except": ["r2"], "event": "ex", "args": []}),
    )
    .await;
    assert_eq!(on_node.event().await.0, "ex");
    on_ours.silent(200).await;
    node.cmd_ok(json!({"op": "emit", "nsp": "/", "event": "b", "args": ["xy", {"k": bin(&[0, 255])}], "binary": true})).await;
    for c in [&mut on_node, &mut on_ours] {
        assert_eq!(
            c.event().await,
            ("b".into(), vec![bin(b"xy"), json!({"k": bin(&[0, 255])})])
        );
    }
    chat_ours.silent(100).await;

    // ours -> Node: to a room, except, binary, and another namespace.
    ours.io
        .to("r1")
        .except("r2")
        .emit("f", json!({"x": 1}))
        .unwrap();
    assert_eq!(on_node.event().await, ("f".into(), vec![json!({"x": 1})]));
    on_ours.silent(200).await;
    let data = Data::new().arg("xy").binary(vec![1u8, 2, 3]);
    ours.io.emit("bin", data).unwrap();
    for c in [&mut on_node, &mut on_ours] {
        assert_eq!(
            c.event().await,
            ("bin".into(), vec![json!("xy"), bin(&[1, 2, 3])])
        );
    }
    let (mut chat_node, _) = Client::connect(node.port(), "/chat", json!({})).await;
    ours.io.of("/chat").emit("c", json!(5)).unwrap();
    assert_eq!(chat_node.event().await, ("c".into(), vec![json!(5)]));
    assert_eq!(chat_ours.event().await, ("c".into(), vec![json!(5)]));
    on_node.silent(200).await;

    // A local broadcast stays here.
    ours.io
        .of("/")
        .broadcast()
        .local()
        .emit("l", json!(0))
        .unwrap();
    assert_eq!(on_ours.event().await.0, "l");
    on_node.silent(200).await;
}

#[tokio::test]
async fn join_leave_fetch_and_all_rooms_cross_both_ways() {
    let (_redis, mut node, ours) = cluster().await;
    let (_on_node, node_sid) = Client::connect(
        node.port(),
        "/",
        json!({"rooms": ["r1"], "data": {"who": "n"}}),
    )
    .await;
    let (_on_ours, ours_sid) = Client::connect(
        ours.port,
        "/",
        json!({"rooms": ["r1"], "data": {"who": "o"}}),
    )
    .await;
    let nsp = ours.io.of("/");

    // Node makes everyone in r1 join "joined": ours too.
    node.cmd_ok(json!({"op": "socketsJoin", "nsp": "/", "rooms": ["r1"], "join": ["joined"]}))
        .await;
    let socket = nsp.sockets().pop().unwrap();
    eventually!(
        "our socket joined",
        socket.rooms().contains(&"joined".to_string())
    );
    // ours makes them leave it: Node's socket too.
    nsp.to("joined").sockets_leave("joined").await.unwrap();
    eventually!("Node's socket left", {
        let r = node
            .cmd_ok(json!({"op": "fetchSockets", "nsp": "/", "rooms": ["joined"]}))
            .await;
        r.as_array().is_some_and(Vec::is_empty)
    });
    assert!(!socket.rooms().contains(&"joined".to_string()));
    nsp.broadcast().sockets_join("both").await.unwrap();
    eventually!("Node's socket in both", {
        let r = node
            .cmd_ok(json!({"op": "fetchSockets", "nsp": "/", "rooms": ["both"]}))
            .await;
        r.as_array().is_some_and(|v| v.len() == 2)
    });

    // ours fetches Node's socket, with its rooms, data and handshake.
    let infos = nsp.to("r1").fetch_sockets().await.unwrap();
    assert_eq!(infos.len(), 2);
    let remote = infos.iter().find(|i| i.id.as_str() == node_sid).unwrap();
    let mut rooms = remote.rooms.clone();
    rooms.sort();
    let mut want = vec![node_sid.clone(), "both".into(), "r1".into()];
    want.sort();
    assert_eq!(rooms, want);
    assert_eq!(remote.data, json!({"who": "n"}));
    assert_eq!(remote.handshake.auth["data"], json!({"who": "n"}));
    assert!(remote.server.is_some());
    assert!(infos
        .iter()
        .any(|i| i.id.as_str() == ours_sid && i.server.is_none()));

    // Node fetches ours.
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
    assert_eq!(theirs["local"], json!(false));
    assert_eq!(sorted(&theirs["rooms"]), {
        let mut w = vec![ours_sid.clone(), "both".into(), "r1".into()];
        w.sort();
        w
    });
    assert_eq!(
        theirs["handshake"]["auth"],
        json!({"rooms": ["r1"], "data": {"who": "o"}})
    );
    // Our socket's data, as Node's socket.data.
    assert_eq!(theirs["data"], json!({"who": "o"}));

    // All rooms, from each side.
    let rooms = node.cmd_ok(json!({"op": "allRooms", "nsp": "/"})).await;
    assert!(sorted(&rooms).contains(&ours_sid));
    let ours_rooms = nsp.adapter().all_rooms().await.unwrap();
    assert!(ours_rooms.contains(&node_sid) && ours_rooms.contains(&"both".to_string()));

    // Server count, from each side.
    assert_eq!(
        node.cmd_ok(json!({"op": "serverCount", "nsp": "/"})).await,
        json!(2)
    );
    assert_eq!(nsp.adapter().server_count().await.unwrap(), 2);
}

#[tokio::test]
async fn disconnects_server_side_emits_and_acks_cross_both_ways() {
    let (_redis, mut node, mut ours) = cluster().await;
    let (mut on_node, _) = Client::connect(node.port(), "/", json!({"rooms": ["n"]})).await;
    let (mut on_ours, _) = Client::connect(ours.port, "/", json!({"rooms": ["o"]})).await;

    // Server-side emits.
    node.cmd_ok(json!({"op": "serverSideEmit", "nsp": "/", "event": "sse", "args": [1, "a"]}))
        .await;
    let got = tokio::time::timeout(Duration::from_secs(5), ours.server_side.recv())
        .await
        .unwrap();
    assert_eq!(got, Some(vec![json!(1), json!("a")]));
    ours.io
        .server_side_emit("sse", Data::new().arg(2))
        .await
        .unwrap();
    let seen = node.next_server_side().await;
    assert_eq!(
        (seen["name"].clone(), seen["args"].clone()),
        (json!("sse"), json!([2]))
    );

    // Server-side emits with answers, both ways.
    server_side_answers_cross(&mut node, &ours).await;

    // Broadcast with acks from Node: our client answers.
    let node_side = tokio::spawn(async move {
        let r = node.cmd(json!({"op": "emitWithAck", "nsp": "/", "event": "q", "args": [7], "timeout": 3000})).await;
        (node, r)
    });
    let ev = on_ours.next_event().await;
    assert_eq!((ev.name.as_str(), ev.args.clone()), ("q", vec![json!(7)]));
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

    // Broadcast with acks from ours: Node's client answers.
    let io = ours.io.clone();
    let asking = tokio::spawn(async move {
        io.of("/")
            .broadcast()
            .emit_with_ack("q2", json!(8), Duration::from_secs(3))
            .await
    });
    for c in [&mut on_node, &mut on_ours] {
        let ev = c.next_event().await;
        assert_eq!(ev.name, "q2");
        c.ack(
            ev.ack_id.unwrap(),
            vec![json!(ev.args[0].as_i64().unwrap() + 1)],
        )
        .await;
    }
    let acks = asking.await.unwrap().unwrap();
    let acks: Vec<Value> = acks
        .into_iter()
        .map(|a| a.unwrap().args()[0].clone())
        .collect();
    assert_eq!(acks, vec![json!(9), json!(9)]);

    // Disconnects: ours disconnects Node's client, Node disconnects ours.
    ours.io.to("n").disconnect_sockets(false).await.unwrap();
    on_node.disconnected().await;
    node.cmd_ok(json!({"op": "disconnectSockets", "nsp": "/", "rooms": ["o"], "close": false}))
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
async fn the_node_emitter_reaches_our_clients_and_ours_reaches_node_clients() {
    let (redis, node, ours) = cluster().await;
    let (mut on_node, _) = Client::connect(node.port(), "/", json!({"rooms": ["r"]})).await;
    let (mut on_ours, _) = Client::connect(ours.port, "/", json!({"rooms": ["r"]})).await;

    emitter(
        &redis.url(),
        json!({"op": "emit", "nsp": "/", "rooms": ["r"], "event": "from-emitter", "args": [1]}),
    )
    .await;
    assert_eq!(
        on_ours.event().await,
        ("from-emitter".into(), vec![json!(1)])
    );
    assert_eq!(
        on_node.event().await,
        ("from-emitter".into(), vec![json!(1)])
    );
    emitter(
        &redis.url(),
        json!({"op": "socketsJoin", "nsp": "/", "rooms": ["r"], "join": ["e"]}),
    )
    .await;
    let socket = ours.io.of("/").sockets().pop().unwrap();
    eventually!(
        "joined by the emitter",
        socket.rooms().contains(&"e".to_string())
    );

    // Our emitter, to Node's clients and ours.
    let client = socketio_redis::fred::prelude::Builder::from_config(
        socketio_redis::fred::prelude::Config::from_url(&redis.url()).unwrap(),
    )
    .build()
    .unwrap();
    socketio_redis::fred::prelude::ClientLike::init(&client)
        .await
        .unwrap();
    let emitter = Emitter::new(client, "socket.io");
    // The Node emitter made both sockets join "e".
    emitter
        .to("e")
        .emit("rust-emitter", json!("hi"))
        .await
        .unwrap();
    assert_eq!(
        on_ours.event().await,
        ("rust-emitter".into(), vec![json!("hi")])
    );
    assert_eq!(
        on_node.event().await,
        ("rust-emitter".into(), vec![json!("hi")])
    );
    emitter.sockets_leave("e").await.unwrap();
    eventually!(
        "left through our emitter",
        !socket.rooms().contains(&"e".to_string())
    );
    emitter.to("e").emit("nobody", json!(0)).await.unwrap();
    on_node.silent(200).await;
    on_ours.silent(0).await;
    emitter
        .to("r")
        .emit("rust-emitter", Data::new().binary(vec![9u8]))
        .await
        .unwrap();
    assert_eq!(
        on_node.event().await,
        ("rust-emitter".into(), vec![bin(&[9])])
    );
    assert_eq!(
        on_ours.event().await,
        ("rust-emitter".into(), vec![bin(&[9])])
    );
    emitter.to("r").disconnect_sockets(false).await.unwrap();
    on_node.disconnected().await;
    on_ours.disconnected().await;
}

#[tokio::test]
async fn answers_on_the_requesters_own_channel_work_both_ways() {
    use redis_ours::ours_with;
    use socketio_redis::RedisAdapterConfig;
    let redis = Redis::start().await;
    let env = [("SPECIFIC_RESPONSE", "1")];
    let mut node = NodeServer::start_with(&redis.url(), "pubsub", "socket.io", &env).await;
    let config = RedisAdapterConfig::default().publish_on_specific_response_channel(true);
    let ours = ours_with(&redis.url(), config).await;
    eventually!(
        "both subscribed",
        redis.numsub("socket.io-request#/#", false).await == 2
    );
    let (_a, node_sid) = Client::connect(node.port(), "/", json!({})).await;
    let (_b, ours_sid) = Client::connect(ours.port, "/", json!({})).await;
    // Each side's fetch is answered on its own response channel.
    let infos = ours.io.of("/").broadcast().fetch_sockets().await.unwrap();
    assert!(infos.iter().any(|i| i.id.as_str() == node_sid));
    let r = node.cmd_ok(json!({"op": "fetchSockets", "nsp": "/"})).await;
    assert!(r
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == json!(ours_sid)));
    let own = format!("socket.io-response#/#{}#", node.uid());
    assert_eq!(redis.numsub(&own, false).await, 1);
}
