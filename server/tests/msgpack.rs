//! `connection.parser = "msgpack"`: the server speaks
//! socket.io-msgpack-parser to socket.io-client over both transports
//! (events, acks, a broadcast from the HTTP API, a private message between
//! two clients), and a client with the default parser is turned away.

mod common;

use common::{Client, Server};
use serde_json::{json, Value};

async fn connect(s: &Server, opts: Value) -> (Client, String) {
    let mut c = s.client("/", opts).await;
    let id = c.connected().await;
    (c, id)
}

#[tokio::test]
async fn msgpack_clients_are_served_and_json_ones_refused() {
    let s = Server::start("[connection]\nparser = \"msgpack\"\n").await;
    let (mut a, _) = connect(
        &s,
        json!({ "parser": "msgpack", "transports": ["websocket"] }),
    )
    .await;
    let (mut b, b_id) = connect(
        &s,
        json!({ "parser": "msgpack", "transports": ["polling"] }),
    )
    .await;

    // The server acks a client's emit.
    assert_eq!(
        a.emit_ack("join-room", json!(["lobby"])).await,
        vec![json!({ "success": true, "room": "lobby" })]
    );
    // A broadcast the HTTP API sends reaches the room's member.
    let r = s
        .api(
            "POST",
            "/api/room",
            Some(json!({ "room": "lobby", "event": "news", "data": { "n": 1.5, "s": "é" } })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["recipients"], 1);
    assert_eq!(a.event("news").await, vec![json!({ "n": 1.5, "s": "é" })]);
    // A private message from one client to the other.
    a.emit(
        "private-message",
        json!([{ "to": b_id, "message": { "text": "hi" } }]),
    )
    .await;
    assert_eq!(
        b.event("private-message").await[0]["message"],
        json!({ "text": "hi" })
    );

    // socket.io-client's default parser sends text: a parse error, the
    // connection is closed before any namespace is joined.
    let mut j = s.client("/", json!({ "transports": ["websocket"] })).await;
    let v = j
        .expect(10, "the connection closed", |v| {
            matches!(
                v["type"].as_str(),
                Some("connect" | "connect_error" | "disconnect")
            )
        })
        .await;
    assert_ne!(v["type"], "connect", "{v}");
    for c in [a, b, j] {
        c.close().await;
    }
}
