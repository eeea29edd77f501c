//! The mixed-cluster scenario every adapter passes: a Node server and one
//! of ours on the same cluster, a client on each; every operation started
//! from each side reaches the other side's clients.

use std::time::Duration;

use serde_json::{json, Value};
use socketio::Data;

use super::ours::{server_side_answers_cross, Ours};
use super::{bin, sorted, Client, NodeServer};

/// Broadcasts (rooms, except, binary, to one socket), join, leave, fetch,
/// server-side emits with and without answers, server counts, broadcasts
/// with acks and disconnects, from each side; `settle` is waited after the
/// clients connect.
pub async fn every_operation_both_ways<C>(
    node: &mut NodeServer,
    ours: &mut Ours<C>,
    settle: Duration,
) {
    let (mut on_node, node_sid) = Client::connect(
        node.port(),
        "/",
        json!({"rooms": ["r1"], "data": {"who": "n"}}),
    )
    .await;
    let (mut on_ours, ours_sid) =
        Client::connect(ours.port, "/", json!({"rooms": ["r1", "r2"]})).await;
    // Time for what the adapters do when a room appears (room channels).
    tokio::time::sleep(settle).await;

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
    crate::eventually!(
        "our socket joined",
        socket.rooms().contains(&"j".to_string())
    );
    // Node's cluster adapter publishes a join before it joins its own
    // sockets: a leave sent before that would be undone by it.
    crate::eventually!("Node's socket joined", {
        let r = node
            .cmd_ok(json!({"op": "fetchSockets", "nsp": "/", "rooms": ["j"]}))
            .await;
        r.as_array()
            .is_some_and(|s| s.iter().any(|s| s["id"] == json!(node_sid)))
    });
    ours.io.of("/").to("j").sockets_leave("j").await.unwrap();
    crate::eventually!("Node's socket left", {
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

    // Server-side emits, with and without answers, both ways.
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
    server_side_answers_cross(node, ours).await;
    assert_eq!(
        node.cmd_ok(json!({"op": "serverCount", "nsp": "/"})).await,
        json!(2)
    );
    assert_eq!(ours.io.of("/").adapter().server_count().await.unwrap(), 2);

    // Broadcasts with acks, both ways.
    let ask = json!({"op": "emitWithAck", "nsp": "/", "event": "q", "args": [7], "timeout": 3000});
    let acking = async {
        let ev = on_ours.next_event().await;
        on_ours
            .ack(ev.ack_id.unwrap(), vec![json!("from-ours")])
            .await;
        let ev = on_node.next_event().await;
        on_node
            .ack(ev.ack_id.unwrap(), vec![json!("from-node")])
            .await;
    };
    let (r, ()) = tokio::join!(node.cmd(ask), acking);
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
}
