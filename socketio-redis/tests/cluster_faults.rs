//! Two of our servers on one Redis, and what happens when Redis is down:
//! a server starts without it and serves its own clients, joins the cluster
//! once Redis is up; a Redis restart mid-run is survived by ours and Node's
//! servers alike (reconnect, resubscribe), local delivery never stops.
mod common;
#[path = "common/redis_ours.rs"]
mod redis_ours;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use redis_ours::ours;
use serde_json::json;

#[tokio::test]
async fn two_of_ours_share_broadcasts_fetches_and_acks() {
    let redis = Redis::start().await;
    let a = ours(&redis.url()).await;
    let b = ours(&redis.url()).await;
    eventually!(
        "both subscribed",
        redis.numsub("socket.io-request#/#", false).await == 2
    );
    let (mut ca, sid_a) = Client::connect(a.port, "/", json!({"rooms": ["r"]})).await;
    let (mut cb, _) = Client::connect(b.port, "/", json!({"rooms": ["r"]})).await;
    a.io.to("r").emit("hi", json!(1)).unwrap();
    assert_eq!(ca.event().await, ("hi".into(), vec![json!(1)]));
    assert_eq!(cb.event().await, ("hi".into(), vec![json!(1)]));
    let infos = b.io.of("/").broadcast().fetch_sockets().await.unwrap();
    assert_eq!(infos.len(), 2);
    // Our servers say which node a socket is on.
    let uid_a = a.io.of("/").adapter().server_id().unwrap().to_owned();
    assert!(infos
        .iter()
        .any(|i| i.id.as_str() == sid_a && i.server.as_deref() == Some(uid_a.as_str())));
    let io = b.io.clone();
    let asking = tokio::spawn(async move {
        io.to("r")
            .emit_with_ack("q", json!(0), Duration::from_secs(3))
            .await
    });
    for c in [&mut ca, &mut cb] {
        let ev = c.next_event().await;
        c.ack(ev.ack_id.unwrap(), vec![json!("ok")]).await;
    }
    let acks = asking.await.unwrap().unwrap();
    assert_eq!(acks.len(), 2);
    assert!(acks
        .iter()
        .all(|a| a.as_ref().unwrap().args() == [json!("ok")]));
    assert_eq!(a.io.of("/").adapter().server_count().await.unwrap(), 2);
}

#[tokio::test]
async fn a_request_nobody_answers_times_out_with_a_clear_error() {
    let redis = Redis::start().await;
    let a = ours(&redis.url()).await;
    eventually!(
        "subscribed",
        redis.numsub("socket.io-request#/#", false).await == 1
    );
    // A subscriber that counts as a server but never answers.
    let mut mute = tokio::net::TcpStream::connect(("127.0.0.1", redis.port()))
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut mute, b"SUBSCRIBE socket.io-request#/#\r\n")
        .await
        .unwrap();
    eventually!(
        "the mute server counted",
        redis.numsub("socket.io-request#/#", false).await == 2
    );
    let started = tokio::time::Instant::now();
    let err = a.io.of("/").broadcast().fetch_sockets().await.unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err.to_string(),
        "fetch_sockets timed out: 0 of 1 servers answered"
    );
    assert_eq!(a.cluster.stats().timeouts.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_server_starts_without_redis_and_joins_the_cluster_when_it_comes() {
    let mut redis = Redis::start().await;
    redis.stop();
    let a = ours(&redis.url()).await;
    assert!(!a.cluster.connected());
    // Its own clients are served meanwhile.
    let (mut ca, _) = Client::connect(a.port, "/", json!({"rooms": ["r"]})).await;
    a.io.to("r").emit("local", json!(1)).unwrap();
    assert_eq!(ca.event().await, ("local".into(), vec![json!(1)]));
    redis.restart().await;
    eventually!(
        "subscribed once Redis is up",
        redis.numsub("socket.io-request#/#", false).await == 1
    );
    let mut node = NodeServer::start(&redis.url(), "pubsub", "socket.io").await;
    node.cmd_ok(
        json!({"op": "emit", "nsp": "/", "rooms": ["r"], "event": "from-node", "args": []}),
    )
    .await;
    assert_eq!(ca.event().await.0, "from-node");
}

#[tokio::test]
async fn a_redis_restart_mid_run_is_survived_by_both_kinds_of_server() {
    let mut redis = Redis::start().await;
    let mut node = NodeServer::start(&redis.url(), "pubsub", "socket.io").await;
    let a = ours(&redis.url()).await;
    eventually!(
        "both subscribed",
        redis.numsub("socket.io-request#/#", false).await == 2
    );
    let (mut on_node, _) = Client::connect(node.port(), "/", json!({"rooms": ["r"]})).await;
    let (mut on_ours, _) = Client::connect(a.port, "/", json!({"rooms": ["r"]})).await;
    redis.restart().await;
    // Local delivery goes on whatever Redis does.
    a.io.to("r").emit("during", json!(0)).unwrap();
    assert_eq!(on_ours.event().await.0, "during");
    eventually!(
        "both resubscribed",
        redis.numsub("socket.io-request#/#", false).await == 2
    );
    eventually!(
        "Node's sub client back",
        redis.numsub("socket.io-request#/chat#", false).await == 2
    );
    a.io.to("r").emit("after", json!(1)).unwrap();
    assert_eq!(on_ours.event().await.0, "after");
    // What was published during the outage was held and sent on reconnect.
    let mut got = on_node.event().await;
    if got.0 == "during" {
        got = on_node.event().await;
    }
    assert_eq!(got, ("after".into(), vec![json!(1)]));
    node.cmd_ok(json!({"op": "emit", "nsp": "/", "rooms": ["r"], "event": "back", "args": []}))
        .await;
    assert_eq!(on_ours.event().await.0, "back");
    assert!(a.cluster.stats().reconnects.load(Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn a_dynamic_namespace_child_crosses_nodes() {
    use socketio::SocketIo;
    use socketio_redis::{RedisAdapterConfig, RedisCluster};
    let redis = Redis::start().await;
    let mut servers = Vec::new();
    for _ in 0..2 {
        let cluster = RedisCluster::connect(&redis.url(), RedisAdapterConfig::default())
            .await
            .unwrap();
        let io = SocketIo::builder().adapter(cluster.factory()).build();
        io.dynamic(|name| name.starts_with("/team-"))
            .on_connection(|s| async move { s.join("members") });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let engine = io.engine(engineio::EngineConfig::default());
        tokio::spawn(async move { engine.serve(listener).await });
        servers.push((io, port, cluster));
    }
    // A client on B makes B create the child; A names it too.
    let (mut on_b, sid) = Client::connect(servers[1].1, "/team-7", json!({})).await;
    let child_on_a = servers[0].0.of("/team-7");
    eventually!(
        "both subscribed to the child",
        redis.numsub("socket.io-request#/team-7#", false).await == 2
    );
    child_on_a.to("members").emit("hello", json!(1)).unwrap();
    assert_eq!(on_b.event().await, ("hello".into(), vec![json!(1)]));
    let infos = child_on_a.broadcast().fetch_sockets().await.unwrap();
    assert_eq!(
        infos.iter().map(|i| i.id.to_string()).collect::<Vec<_>>(),
        vec![sid]
    );
    // The child of "/team-8" on B is another namespace: it hears nothing.
    let (mut other, _) = Client::connect(servers[1].1, "/team-8", json!({})).await;
    child_on_a.emit("only-7", json!(2)).unwrap();
    assert_eq!(on_b.event().await.0, "only-7");
    other.silent(200).await;
    // B forgets the child when its last socket leaves, and its adapter
    // leaves the cluster with it: A's requests no longer wait for it.
    on_b.close().await;
    eventually!(
        "B's child unsubscribed",
        redis.numsub("socket.io-request#/team-7#", false).await == 1
    );
    assert!(child_on_a
        .broadcast()
        .fetch_sockets()
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn malformed_and_foreign_messages_are_ignored_and_counted() {
    let redis = Redis::start().await;
    let a = ours(&redis.url()).await;
    eventually!(
        "subscribed",
        redis.numsub("socket.io-request#/#", false).await == 1
    );
    let (mut c, _) = Client::connect(a.port, "/", json!({"rooms": ["r"]})).await;
    let garbage: [(&str, &[u8]); 6] = [
        ("socket.io#/#", b"\xc1\xc1"),
        ("socket.io#/#", b"\x93\xa1u\x80\x80"),
        ("socket.io#/#r#", b"{not json"),
        ("socket.io-request#/#", b"{\"type\":99}"),
        ("socket.io-request#/#", b"\xdd\xff\xff\xff\xff"),
        ("socket.io-response#/#", b"[1,2,3]"),
    ];
    for (channel, payload) in garbage {
        redis
            .cmd(&[&b"PUBLISH"[..], channel.as_bytes(), payload])
            .await;
    }
    let stats = a.cluster.stats().clone();
    eventually!(
        "all counted",
        stats.malformed.load(Ordering::Relaxed) == garbage.len() as u64
    );
    // The adapter goes on: a broadcast from an emitter still arrives.
    emitter(
        &redis.url(),
        json!({"op": "emit", "nsp": "/", "rooms": ["r"], "event": "still", "args": []}),
    )
    .await;
    assert_eq!(c.event().await.0, "still");
}
