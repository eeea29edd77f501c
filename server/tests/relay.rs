//! The relay (`[[relay]]`) end to end: an event reaches the other sockets
//! of the sender's rooms only (not the sender, not other rooms, not the
//! server's own rooms), stamped with the sender; `room_field` targets one
//! room the sender must be in.

mod common;

use common::{token, Client, InProc};
use serde_json::{json, Value};

async fn member(s: &InProc, user: &str, rooms: &[&str]) -> (Client, String) {
    let mut c = s
        .client("/", json!({ "auth": { "token": token(user, None) } }))
        .await;
    let id = c.connected().await;
    for r in rooms {
        assert_eq!(
            c.emit_ack("join-room", json!([r])).await[0]["success"],
            true
        );
    }
    (c, id)
}

#[tokio::test]
async fn relayed_events_reach_the_senders_rooms_only() {
    let s = InProc::start(
        "[rate_limits]\nevents_per_second = 1000\n\
         [[relay]]\nevents = [\"chat:typing\", \"userTyping\", \"typing:start\"]\n\
         [[relay]]\nevents = [\"document:*\"]\nroom_field = \"roomId\"\n",
    )
    .await;
    let (mut a, a_id) = member(&s, "a", &["r1", "r2"]).await;
    let (mut a2, _) = member(&s, "a", &[]).await; // the sender's other device: user_a only
    let (mut b, _) = member(&s, "b", &["r1"]).await;
    let (mut c, _) = member(&s, "c", &["r2"]).await;
    let (mut d, _) = member(&s, "d", &["r3"]).await;

    let ack = a
        .emit_ack(
            "chat:typing",
            json!([{ "typing": true, "userId": "forged" }, 2]),
        )
        .await;
    assert_eq!(ack, vec![json!({ "success": true })]);
    let stamped = json!({ "typing": true, "userId": "a", "socketId": a_id });
    assert_eq!(
        b.event("chat:typing").await,
        vec![stamped.clone(), json!(2)]
    );
    assert_eq!(c.event("chat:typing").await, vec![stamped, json!(2)]);
    d.none_before_ping("chat:typing").await;
    a2.none_before_ping("chat:typing").await;
    a.none_before_ping("chat:typing").await;

    // Other arguments pass unchanged; a rule wins over the built-in
    // `typing:start` (which wants a conversationId).
    a.emit_ack("userTyping", json!(["plain"])).await;
    assert_eq!(b.event("userTyping").await, vec![json!("plain")]);
    a.emit_ack("typing:start", json!([{ "x": 1 }])).await;
    assert_eq!(
        b.event("typing:start").await,
        vec![json!({ "x": 1, "userId": "a", "socketId": a_id })]
    );

    // room_field: the named room only.
    let ack = a
        .emit_ack("document:change", json!([{ "roomId": "r1", "ops": [1] }]))
        .await;
    assert_eq!(ack, vec![json!({ "success": true })]);
    assert_eq!(
        b.event("document:change").await,
        vec![json!({ "roomId": "r1", "ops": [1], "userId": "a", "socketId": a_id })]
    );
    c.none_before_ping("document:change").await;

    // ...which the sender must be in, and which is never a server room.
    for room in [json!("r3"), json!("user_a"), json!(a_id), json!(5)] {
        let ack: Vec<Value> = a
            .emit_ack("document:change", json!([{ "roomId": room }]))
            .await;
        assert_eq!(ack[0]["success"], false, "{room}: {ack:?}");
        let code = ack[0]["code"].as_str().unwrap();
        assert!(code == "NOT_IN_ROOM" || code == "INVALID_ROOM", "{ack:?}");
    }
    d.none_before_ping("document:change").await;
    a2.none_before_ping("document:change").await;
    // Without an ack, the refusal is the `error` event.
    a.emit("document:change", json!(["not an object"])).await;
    let e = a.event("error").await;
    assert_eq!(e[0]["code"], "INVALID_ROOM");
    assert_eq!(e[0]["event"], "document:change");
    let m = s.http("GET", "/metrics", &[], b"").await.text();
    assert!(
        m.contains("socket_server_relayed_total{result=\"sent\"} 4\n"),
        "{m}"
    );
    assert!(
        m.contains("socket_server_relayed_total{result=\"refused\"} 5\n"),
        "{m}"
    );
}
