//! Two nodes of a cluster, whatever its engine (Redis, PostgreSQL): waiting
//! for them to see each other, users on them, and the private messages
//! and presence between them (`tests/cluster.rs`,
//! `tests/cluster_postgres.rs`).

use serde_json::json;

use super::{poll, token, Client, Server};

/// Waits until `s` counts `n` nodes in the cluster.
pub async fn until_nodes(s: &Server, n: u64) {
    poll(15, &format!("{n} nodes"), || async {
        let v = s.api("GET", "/api/status", None).await.json();
        (v["nodes"] == n).then_some(())
    })
    .await
}

/// A connected client of user `id` on `s`, and its sid.
pub async fn user(s: &Server, id: &str) -> (Client, String) {
    let mut c = s
        .client("/", json!({ "auth": { "token": token(id, None) } }))
        .await;
    let sid = c.connected().await;
    (c, sid)
}

/// Private messages and presence between a user on `a` and one on `b`.
pub async fn private_messages_and_presence(a: Server, b: Server) {
    let (mut bob, bob_sid) = user(&b, "bob").await;
    // Alice connects on A: Bob, on B, hears she is online.
    let (mut alice, alice_sid) = user(&a, "alice").await;
    let on = bob.event("user:online").await;
    assert_eq!(on[0], json!({ "userId": "alice", "status": "online" }));

    // A private message from A to B's socket, and a missing target.
    let r = alice
        .emit_ack(
            "private-message",
            json!([{ "to": bob_sid, "message": "hi" }]),
        )
        .await;
    assert_eq!(r[0]["success"], true, "{r:?}");
    let m = bob.event("private-message").await;
    assert_eq!(
        (
            m[0]["from"].clone(),
            m[0]["fromUser"].clone(),
            m[0]["message"].clone()
        ),
        (json!(alice_sid), json!("alice"), json!("hi"))
    );
    let r = alice
        .emit_ack(
            "private-message",
            json!([{ "to": "AAAAAAAAAAAAAAAAAAAA", "message": "x" }]),
        )
        .await;
    assert_eq!(r[0]["code"], "NOT_FOUND", "{r:?}");

    // Both nodes list both users.
    for c in [&mut alice, &mut bob] {
        let r = c.emit_ack("getOnlineUsers", json!([])).await;
        assert_eq!(r[0]["users"], json!(["alice", "bob"]), "{r:?}");
    }

    // A second device of Alice on B is no news; her first going is none
    // either (the second remains); her last going is. (The waits for no
    // news also let each node finish asking the other.)
    let (mut alice2, _) = user(&b, "alice").await;
    assert!(
        !bob.gets_within("user:online", 500).await,
        "a second user:online"
    );
    alice.disconnect().await;
    alice.close().await;
    assert!(
        !bob.gets_within("user:offline", 500).await,
        "offline while on B"
    );
    alice2.disconnect().await;
    alice2.close().await;
    let off = bob.event("user:offline").await;
    assert_eq!(off[0], json!({ "userId": "alice" }));
    assert!(
        !bob.gets_within("user:offline", 300).await,
        "a second user:offline"
    );
    bob.close().await;
}
