//! A mixed cluster on PostgreSQL: a Node server on `@socket.io/postgres-adapter`
//! 0.5 and one of ours, each test on its own channel prefix and table; every
//! operation from each side reaches the other side's clients, large and
//! binary payloads go through the attachments table both ways, and what
//! `@socket.io/postgres-emitter` sends reaches our clients.
#[path = "../../socketio-redis/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::both_ways;
use common::ours::Ours;
use common::*;
use serde_json::{json, Value};
use socketio_postgres::PostgresCluster;
use support::Names;

async fn cluster() -> (Names, NodeServer, Ours<PostgresCluster>) {
    let n = support::names();
    let node = support::node(&n).await;
    let ours = support::ours(&n).await;
    eventually!(
        "both servers see each other",
        ours.io.of("/").adapter().server_count().await.unwrap() == 2
            && ours.io.of("/chat").adapter().server_count().await.unwrap() == 2
    );
    let mut node = node;
    eventually!(
        "Node's server sees ours",
        node.cmd_ok(json!({"op": "serverCount", "nsp": "/"})).await == json!(2)
    );
    (n, node, ours)
}

fn malformed(ours: &Ours<PostgresCluster>) -> u64 {
    ours.cluster.stats().malformed.load(Ordering::Relaxed)
}

#[tokio::test]
async fn every_operation_both_ways() {
    let (n, mut node, mut ours) = cluster().await;
    both_ways::every_operation_both_ways(&mut node, &mut ours, Duration::ZERO).await;
    assert_eq!(malformed(&ours), 0);

    // Node's server leaves: ours counts one server again.
    node.stop().await;
    eventually!(
        "Node's server forgotten",
        ours.io.of("/").adapter().server_count().await.unwrap() == 1
    );
    support::drop_table(&n).await;
}

#[tokio::test]
async fn payloads_over_the_notify_limit_go_through_the_table_both_ways() {
    let (n, mut node, ours) = cluster().await;
    let (mut on_node, _) = Client::connect(node.port(), "/chat", json!({})).await;
    let (mut on_ours, _) = Client::connect(ours.port, "/chat", json!({})).await;
    let big = "x".repeat(20_000);
    node.cmd_ok(json!({"op": "emit", "nsp": "/chat", "event": "big", "args": [big]}))
        .await;
    assert_eq!(on_ours.event().await, ("big".into(), vec![json!(big)]));
    on_node.event().await;
    let other = "y".repeat(9_000);
    ours.io.of("/chat").emit("big", json!(other)).unwrap();
    assert_eq!(on_node.event().await, ("big".into(), vec![json!(other)]));
    on_ours.event().await;
    // Binary answers to a broadcast with acks come back through the table.
    let io = ours.io.clone();
    let asking = tokio::spawn(async move {
        io.of("/chat")
            .broadcast()
            .emit_with_ack("q", json!(1), Duration::from_secs(3))
            .await
    });
    let ev = on_node.next_event().await;
    on_node.ack(ev.ack_id.unwrap(), vec![bin(&[9, 8])]).await;
    let ev = on_ours.next_event().await;
    on_ours.ack(ev.ack_id.unwrap(), vec![json!("plain")]).await;
    let acks = asking.await.unwrap().unwrap();
    let mut args: Vec<String> = acks
        .iter()
        .map(|a| {
            let d = a.as_ref().unwrap();
            match d.attachments().first() {
                Some(b) => format!("bin{:?}", b.as_ref()),
                None => d.args()[0].to_string(),
            }
        })
        .collect();
    args.sort();
    assert_eq!(args, vec!["\"plain\"".to_string(), "bin[9, 8]".into()]);
    let rows: i64 = support::sql()
        .await
        .query_one(&format!("SELECT count(*) FROM {}", n.table), &[])
        .await
        .unwrap()
        .get(0);
    assert!(rows >= 3, "only {rows} rows in the attachments table");
    assert_eq!(malformed(&ours), 0);
    support::drop_table(&n).await;
}

#[tokio::test]
async fn what_the_postgres_emitter_sends_reaches_our_clients() {
    let n = support::names();
    let mut ours = support::ours(&n).await;
    let (mut a, sid_a) = Client::connect(ours.port, "/", json!({"rooms": ["r1"]})).await;
    let (mut b, _) = Client::connect(ours.port, "/", json!({"rooms": ["r2"]})).await;
    let op = |o: Value| {
        let mut o = o;
        o["key"] = json!(n.prefix);
        o["table"] = json!(n.table);
        o
    };
    let url = support::url();
    emitter(
        &url,
        op(json!({"op": "emit", "rooms": ["r1"], "event": "e", "args": [1, "two"]})),
    )
    .await;
    assert_eq!(a.event().await, ("e".into(), vec![json!(1), json!("two")]));
    b.silent(200).await;
    // Binary: through the table.
    emitter(
        &url,
        op(json!({"op": "emit", "except": ["r1"], "event": "b", "args": ["hi"], "binary": true})),
    )
    .await;
    assert_eq!(b.event().await, ("b".into(), vec![bin(b"hi")]));
    a.silent(200).await;
    // Over the NOTIFY limit: through the table.
    let big = "z".repeat(10_000);
    emitter(
        &url,
        op(json!({"op": "emit", "event": "big", "args": [big]})),
    )
    .await;
    for c in [&mut a, &mut b] {
        assert_eq!(c.event().await, ("big".into(), vec![json!(big)]));
    }
    emitter(
        &url,
        op(json!({"op": "socketsJoin", "rooms": ["r2"], "join": ["j"]})),
    )
    .await;
    let socket_b = ours
        .io
        .of("/")
        .sockets()
        .into_iter()
        .find(|s| s.rooms().contains(&"r2".to_string()))
        .unwrap();
    eventually!(
        "the r2 socket joined j",
        socket_b.rooms().contains(&"j".to_string())
    );
    emitter(
        &url,
        op(json!({"op": "serverSideEmit", "event": "sse", "args": ["e"]})),
    )
    .await;
    let got = tokio::time::timeout(Duration::from_secs(5), ours.server_side.recv())
        .await
        .unwrap();
    assert_eq!(got, Some(vec![json!("e")]));
    emitter(
        &url,
        op(json!({"op": "disconnectSockets", "rooms": [sid_a]})),
    )
    .await;
    a.disconnected().await;
    // The emitter is not a node.
    assert_eq!(ours.io.of("/").adapter().server_count().await.unwrap(), 1);
    assert_eq!(malformed(&ours), 0);
    support::drop_table(&n).await;
}
