//! The decoder and encoder against messages captured from Node: a raw
//! subscriber records what `@socket.io/redis-adapter` 8.3 and
//! `@socket.io/redis-emitter` 5 publish; each message decodes to what was
//! sent, and ours, given the same inputs (uid, request id), are the same
//! bytes.
mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use socketio::BroadcastOptions;
use socketio_redis::wire;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A connection that PSUBSCRIBEd to every channel of the prefix.
struct Capture(BufReader<TcpStream>);

impl Capture {
    async fn start(redis: &Redis) -> Capture {
        let mut s = TcpStream::connect(("127.0.0.1", redis.port()))
            .await
            .unwrap();
        s.write_all(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$10\r\nsocket.io*\r\n")
            .await
            .unwrap();
        let mut c = Capture(BufReader::new(s));
        let confirm = c.read().await;
        assert!(matches!(confirm, Resp::Array(Some(_))), "{confirm:?}");
        c
    }

    async fn read(&mut self) -> Resp {
        tokio::time::timeout(Duration::from_secs(10), read_resp(&mut self.0))
            .await
            .expect("a message in time")
            .expect("RESP")
    }

    /// The next message: its channel and payload.
    async fn next(&mut self) -> (String, Vec<u8>) {
        loop {
            let Resp::Array(Some(parts)) = self.read().await else {
                continue;
            };
            let bulk = |r: &Resp| match r {
                Resp::Bulk(Some(b)) => b.clone(),
                _ => Vec::new(),
            };
            if parts.len() == 4 && bulk(&parts[0]) == b"pmessage" {
                return (String::from_utf8(bulk(&parts[2])).unwrap(), bulk(&parts[3]));
            }
        }
    }

    /// The next message on `channel`.
    async fn on(&mut self, channel: &str) -> Vec<u8> {
        loop {
            let (c, p) = self.next().await;
            if c == channel {
                return p;
            }
        }
    }
}

fn rooms(opts: BroadcastOptions, r: &[&str]) -> BroadcastOptions {
    opts.to(r.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

#[tokio::test]
async fn node_broadcasts_decode_and_ours_encode_to_the_same_bytes() {
    let redis = Redis::start().await;
    let mut node = NodeServer::start(&redis.url(), "pubsub", "socket.io").await;
    let uid = node.uid().to_owned();
    let mut cap = Capture::start(&redis).await;

    // io.to("room1").emit("hello", "world")
    node.cmd_ok(
        json!({"op": "emit", "nsp": "/", "rooms": ["room1"], "event": "hello", "args": ["world"]}),
    )
    .await;
    let bytes = cap.on("socket.io#/#room1#").await;
    let b = wire::decode_broadcast(&bytes, "/").unwrap();
    assert_eq!(b.uid, uid);
    assert_eq!(b.packet.data, Some(json!(["hello", "world"])));
    assert_eq!(b.opts.rooms, vec!["room1".to_string()]);
    let ours = wire::encode_broadcast(
        &uid,
        &b.packet,
        &rooms(BroadcastOptions::default(), &["room1"]),
    );
    assert_eq!(ours, bytes, "ours {ours:02x?}\nnode {bytes:02x?}");

    // A volatile binary broadcast to everyone but a room, numbers and nesting.
    node.cmd_ok(
        json!({"op": "emit", "nsp": "/", "except": ["x"], "volatile": true, "event": "b",
        "args": [{"bin": [1, 2, 3]}, 1.5, -7, 70000, {"deep": [true, null, "s"]}]}),
    )
    .await;
    let bytes = cap.on("socket.io#/#").await;
    let b = wire::decode_broadcast(&bytes, "/").unwrap();
    assert!(b.opts.volatile);
    assert_eq!(b.opts.except, vec!["x".to_string()]);
    assert_eq!(
        b.packet.attachments,
        vec![bytes::Bytes::from_static(&[1, 2, 3])]
    );
    assert_eq!(b.packet.data.as_ref().unwrap()[2], json!(1.5));
    assert_eq!(wire::encode_broadcast(&uid, &b.packet, &b.opts), bytes);

    // The emitter's broadcast (its own key order) decodes the same.
    emitter(
        &redis.url(),
        json!({"op": "emit", "nsp": "/", "rooms": ["room1"], "event": "hello", "args": ["world"]}),
    )
    .await;
    let bytes = cap.on("socket.io#/#room1#").await;
    let b = wire::decode_broadcast(&bytes, "/").unwrap();
    assert_eq!(
        (b.uid.as_str(), b.packet.data.clone()),
        ("emitter", Some(json!(["hello", "world"])))
    );
}

#[tokio::test]
async fn node_requests_are_the_bytes_ours_write() {
    let redis = Redis::start().await;
    let mut node = NodeServer::start(&redis.url(), "pubsub", "socket.io").await;
    let uid = node.uid().to_owned();
    let mut cap = Capture::start(&redis).await;
    let opts = rooms(BroadcastOptions::default(), &["room1"]);
    let requests = "socket.io-request#/#";

    node.cmd_ok(json!({"op": "socketsJoin", "nsp": "/", "rooms": ["room1"], "join": ["room2"]}))
        .await;
    let bytes = cap.on(requests).await;
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(&wire::rooms_request(
            Some(&uid),
            true,
            &opts,
            &["room2".into()]
        ))
    );
    node.cmd_ok(json!({"op": "socketsLeave", "nsp": "/", "rooms": ["room1"], "leave": ["room2"]}))
        .await;
    let bytes = cap.on(requests).await;
    assert_eq!(
        bytes,
        wire::rooms_request(Some(&uid), false, &opts, &["room2".into()])
    );
    node.cmd_ok(json!({"op": "disconnectSockets", "nsp": "/", "rooms": ["room1"], "close": true}))
        .await;
    let bytes = cap.on(requests).await;
    assert_eq!(bytes, wire::disconnect_request(Some(&uid), &opts, true));
    node.cmd_ok(json!({"op": "serverSideEmit", "nsp": "/", "event": "sse", "args": [1, "a"]}))
        .await;
    let bytes = cap.on(requests).await;
    assert_eq!(
        bytes,
        wire::server_side_request(&uid, None, "sse", &[json!(1), json!("a")], &[])
    );

    // The emitter's requests carry no uid.
    emitter(
        &redis.url(),
        json!({"op": "socketsJoin", "nsp": "/", "rooms": ["room1"], "join": ["room2"]}),
    )
    .await;
    let bytes = cap.on(requests).await;
    assert_eq!(
        bytes,
        wire::rooms_request(None, true, &opts, &["room2".into()])
    );

    // Requests with an id: ours are the same bytes given that id. A second
    // server (ours would do) makes Node send them at all.
    let _other = NodeServer::start(&redis.url(), "pubsub", "socket.io").await;
    let r = node.cmd(json!({"op": "fetchSockets", "nsp": "/", "rooms": ["room1"]}));
    let (fetch, bytes) = tokio::join!(r, cap.on(requests));
    assert_eq!(fetch["ok"], json!(true));
    let d = wire::decode(&bytes).unwrap();
    let id = d.value["requestId"].as_str().unwrap();
    assert_eq!(bytes, wire::fetch_request(&uid, id, &opts));
    let r = node.cmd(json!({"op": "allRooms", "nsp": "/"}));
    let (_, bytes) = tokio::join!(r, cap.on(requests));
    let id = wire::decode(&bytes).unwrap().value["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(bytes, wire::all_rooms_request(&uid, &id));
    let r = node.cmd(json!({"op": "emitWithAck", "nsp": "/", "rooms": ["room1"], "event": "q", "args": [7], "timeout": 1000}));
    let (_, bytes) = tokio::join!(r, cap.on(requests));
    let d = wire::decode(&bytes).unwrap();
    let id = d.value["requestId"].as_str().unwrap().to_owned();
    let packet = wire::packet_from(&d.value["packet"], &d.attachments, "/").unwrap();
    let mut with_timeout = opts.clone();
    with_timeout.timeout = Some(Duration::from_millis(1000));
    assert_eq!(bytes, wire::ack_request(&uid, &id, &packet, &with_timeout));
    assert_eq!(d.value["type"], Value::from(7));
}
