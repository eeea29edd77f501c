//! Per-user rooms of `events.reserved_room_prefixes` (`user_<id>` and
//! document 001's `user-<id>` notification rooms), end to end with
//! socket.io-client: every socket of a user is in them, a client may name
//! its own and no other's, and a numeric id keeps its type.

mod common;

use common::{now, Server, SECRET};
use serde_json::{json, Value};

fn numeric_token(id: u64) -> String {
    socketio_server::jwt::sign(
        &json!({ "userId": id, "exp": now() + 600 }),
        SECRET.as_bytes(),
        socketio_server::jwt::Algorithm::Hs256,
    )
}

async fn join(c: &mut common::Client, room: &str) -> Value {
    c.emit_ack("join-room", json!([room])).await[0].clone()
}

#[tokio::test]
async fn user_rooms_are_reserved_to_their_user() {
    let s = Server::start("").await;
    let mut a = s
        .client("/", json!({ "auth": { "token": numeric_token(42) } }))
        .await;
    a.connected().await;
    assert_eq!(a.event("connected").await[0]["userId"], json!(42));
    let mut a2 = s
        .client("/", json!({ "auth": { "token": numeric_token(42) } }))
        .await;
    a2.connected().await;
    let mut other = s
        .client("/", json!({ "auth": { "token": numeric_token(43) } }))
        .await;
    other.connected().await;
    let mut anon = s.client("/", json!({})).await;
    anon.connected().await;

    // Document 001's client joins its own notification room.
    let ok = join(&mut a, "user-42").await;
    assert_eq!(ok, json!({ "success": true, "room": "user-42" }));
    assert_eq!(join(&mut a, "user_42").await["success"], true);
    let refused = [
        (0, "user-43"),
        (0, "user_43"),
        (1, "user-42"),
        (2, "user-42"),
        (2, "role_authenticated"),
    ];
    for (who, room) in refused {
        let c = match who {
            0 => &mut a,
            1 => &mut other,
            _ => &mut anon,
        };
        let r = join(c, room).await;
        assert_eq!(r["success"], false, "{room}: {r}");
        assert_eq!(r["code"], "RESERVED_ROOM", "{room}: {r}");
    }
    let r = a
        .emit_ack("room:join", json!([{ "room": "user-43" }]))
        .await;
    assert_eq!(r[0]["code"], "RESERVED_ROOM", "{r:?}");
    // Own rooms can't be left, and are not listed as client rooms.
    let r = a.emit_ack("leave-room", json!(["user-42"])).await;
    assert_eq!(r[0]["code"], "RESERVED_ROOM", "{r:?}");
    let r = a.emit_ack("get-rooms", json!([])).await;
    assert_eq!(r[0]["rooms"], json!([]), "{r:?}");

    // Both of user 42's sockets are in user-42 (a2 never asked).
    let r = s
        .api(
            "POST",
            "/api/room",
            Some(json!({ "room": "user-42", "event": "notification", "data": { "n": 1 } })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["recipients"], 2);
    for c in [&mut a, &mut a2] {
        assert_eq!(c.event("notification").await, vec![json!({ "n": 1 })]);
    }
    other.none_before_ping("notification").await;

    // Presence and the API keep the numeric id a number.
    let r = s.api("GET", "/api/sockets?userId=42", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json().to_string();
    assert!(body.contains("\"id\":42"), "{body}");
}

#[tokio::test]
async fn the_prefixes_are_configurable() {
    let s = Server::start("[events]\nreserved_room_prefixes = [\"user_\", \"member:\"]\n").await;
    let mut a = s
        .client("/", json!({ "auth": { "token": numeric_token(1) } }))
        .await;
    a.connected().await;
    assert_eq!(join(&mut a, "member:1").await["success"], true);
    assert_eq!(join(&mut a, "member:2").await["code"], "RESERVED_ROOM");
    // `user-` is no longer the server's: an ordinary room.
    assert_eq!(join(&mut a, "user-2").await["success"], true);
    // Fixed at start: a settings patch cannot change them.
    let r = s
        .admin(
            "PATCH",
            "/api/settings",
            &json!({ "events": { "reserved_room_prefixes": ["user_"] } }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
}
