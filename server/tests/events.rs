//! The built-in product events (rooms, private messages, register and
//! authenticate, ping, client requests, chat, presence), end to end with
//! socket.io-client.

mod common;

use common::{token, Client, Server};
use serde_json::{json, Value};

async fn connect(s: &Server, opts: Value) -> (Client, String) {
    let mut c = s.client("/", opts).await;
    let id = c.connected().await;
    (c, id)
}

async fn user(s: &Server, id: &str, role: Option<&str>) -> (Client, String) {
    connect(s, json!({ "auth": { "token": token(id, role) } })).await
}

async fn patch_settings(s: &Server, patch: Value) {
    let r = s.admin("PATCH", "/api/settings", &patch).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn get_sockets(s: &Server, query: &str) -> (u16, Value) {
    let r = s.api("GET", &format!("/api/sockets{query}"), None).await;
    (r.status, r.json())
}

/// Waits until `GET /api/sockets{query}` counts `n` sockets.
async fn wait_for_count(s: &Server, query: &str, n: u64) {
    for _ in 0..100 {
        if get_sockets(s, query).await.1["count"] == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "{query} never counted {n}: {}",
        get_sockets(s, query).await.1
    );
}

async fn room_push(s: &Server, room: &str, n: u32) -> Value {
    let r = s
        .api(
            "POST",
            "/api/room",
            Some(json!({ "room": room, "event": "news", "data": { "n": n } })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn rooms_are_joined_left_and_listed_and_server_rooms_are_refused() {
    // More than the default 10 events/s from one client.
    let s = Server::start(
        "[events]\nmax_rooms_per_socket = 3\n[rate_limits]\nevents_per_second = 1000\n",
    )
    .await;
    let (mut a, _) = connect(&s, json!({ "transports": ["websocket"] })).await;
    let (mut b, b_id) = connect(&s, json!({ "transports": ["polling"] })).await;

    // Strapi style: the answer is the ack.
    assert_eq!(
        a.emit_ack("join-room", json!(["premium-users"])).await,
        vec![json!({ "success": true, "room": "premium-users" })]
    );
    // Standalone-server style: the answer is `room:join:ack` (and the ack).
    a.emit("room:join", json!([{ "room": "lobby" }])).await;
    assert_eq!(
        a.event("room:join:ack").await,
        vec![json!({ "success": true, "room": "lobby" })]
    );
    // Chat style: a bare conversation id.
    a.emit("conversation:join", json!(["conv-1"])).await;
    assert_eq!(
        a.emit_ack("get-rooms", json!([])).await,
        vec![json!({ "success": true, "rooms": ["conv-1", "lobby", "premium-users"] })]
    );
    // The rooms are real: the HTTP API reaches a member, not b.
    assert_eq!(room_push(&s, "lobby", 1).await["recipients"], 1);
    assert_eq!(a.event("news").await, vec![json!({ "n": 1 })]);
    b.none_before_ping("news").await;

    // Joining again is not counted twice; a fourth room is one too many.
    assert_eq!(
        a.emit_ack("join-room", json!(["lobby"])).await[0]["success"],
        true
    );
    let r = a.emit_ack("join-room", json!(["fourth"])).await;
    assert_eq!(r[0]["success"], false);
    assert_eq!(r[0]["code"], "TOO_MANY_ROOMS");

    // Leaving frees a place.
    assert_eq!(
        a.emit_ack("leave-room", json!(["premium-users"])).await,
        vec![json!({ "success": true, "room": "premium-users" })]
    );
    a.emit("room:leave", json!([{ "room": "lobby" }])).await;
    assert_eq!(a.event("room:leave:ack").await[0]["room"], "lobby");
    assert_eq!(room_push(&s, "lobby", 2).await["recipients"], 0);
    assert_eq!(
        a.emit_ack("join-room", json!(["fourth"])).await[0]["success"],
        true
    );

    // Server rooms: per-user and per-role rooms and socket ids.
    for name in ["user_alice", "role_admin", b_id.as_str()] {
        let r = a.emit_ack("join-room", json!([name])).await;
        assert_eq!(r[0]["success"], false, "{name}");
        assert_eq!(r[0]["code"], "RESERVED_ROOM", "{name}");
    }
    let r = a.emit_ack("leave-room", json!(["role_anonymous"])).await;
    assert_eq!(r[0]["code"], "RESERVED_ROOM");
    // A name shaped like a socket id that is no socket's (a database id,
    // say) is an ordinary room while recovery is off.
    let r = a.emit_ack("leave-room", json!(["fourth"])).await;
    assert_eq!(r[0]["success"], true);
    let r = a
        .emit_ack("join-room", json!(["AAAAAAAAAAAAAAAAAAAA"]))
        .await;
    assert_eq!(r[0]["success"], true, "{r:?}");
    // Bad names; without an ack the refusal comes as `error`.
    let r = a.emit_ack("join-room", json!([42])).await;
    assert_eq!(r[0]["code"], "INVALID_ROOM");
    let long = "x".repeat(129);
    assert_eq!(
        a.emit_ack("join-room", json!([long])).await[0]["code"],
        "INVALID_ROOM"
    );
    a.emit("join-room", json!([""])).await;
    let e = a.event("error").await;
    assert_eq!(e[0]["event"], "join-room");
    assert_eq!(e[0]["code"], "INVALID_ROOM");
    // A private message to b still reaches b only (a is not in b's room).
    a.emit("private-message", json!([{ "to": b_id, "message": "hi" }]))
        .await;
    assert_eq!(b.event("private-message").await[0]["message"], "hi");
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn private_messages_reach_the_target_socket_only() {
    let s = Server::start("").await;
    let (mut a, a_id) = user(&s, "alice", None).await;
    let (mut b, b_id) = connect(&s, json!({})).await;
    let (mut c, _) = connect(&s, json!({})).await;

    let r = a
        .emit_ack(
            "private-message",
            json!([{ "to": b_id, "message": { "text": "hello" } }]),
        )
        .await;
    assert_eq!(r, vec![json!({ "success": true, "to": b_id })]);
    let got = b.event("private-message").await;
    assert_eq!(got[0]["from"], a_id);
    assert_eq!(got[0]["fromUser"], "alice");
    assert_eq!(got[0]["message"], json!({ "text": "hello" }));
    assert!(got[0]["timestamp"].as_str().unwrap().ends_with('Z'));
    c.none_before_ping("private-message").await;
    assert!(!a.gets_within("private-message", 0).await);

    // An anonymous sender has no user.
    b.emit("private-message", json!([{ "to": a_id, "message": "yo" }]))
        .await;
    assert_eq!(a.event("private-message").await[0]["fromUser"], Value::Null);

    let r = a
        .emit_ack(
            "private-message",
            json!([{ "to": "AAAAAAAAAAAAAAAAAAAA", "message": "?" }]),
        )
        .await;
    assert_eq!(r[0]["code"], "NOT_FOUND");
    let r = a
        .emit_ack("private-message", json!([{ "message": "no target" }]))
        .await;
    assert_eq!(r[0]["code"], "INVALID_MESSAGE_DATA");
    // events.max_message_len (64 KiB) bounds the message, whatever its shape.
    let big = json!({ "parts": vec!["x".repeat(1000); 70] });
    let r = a
        .emit_ack("private-message", json!([{ "to": b_id, "message": big }]))
        .await;
    assert_eq!(r[0]["code"], "MESSAGE_TOO_LARGE");
    b.none_before_ping("private-message").await;

    // Turned off at run time through the settings API.
    patch_settings(&s, json!({ "events": { "private_messages": false } })).await;
    let r = a
        .emit_ack("private-message", json!([{ "to": b_id, "message": "x" }]))
        .await;
    assert_eq!(r[0]["code"], "FEATURE_DISABLED");
    for cl in [a, b, c] {
        cl.close().await;
    }
}

#[tokio::test]
async fn register_and_authenticate_bind_a_socket_to_its_user() {
    let s = Server::start("").await;
    // register: only the token's own user id.
    let (mut anon, anon_id) = connect(&s, json!({})).await;
    anon.emit("register", json!([{ "userId": "bob" }])).await;
    let r = anon.event("register:ack").await;
    assert_eq!(r[0]["success"], false);
    assert_eq!(r[0]["code"], "AUTH_REQUIRED");
    let (mut bob, _) = user(&s, "bob", None).await;
    bob.emit("register", json!([{ "userId": "bob" }])).await;
    assert_eq!(
        bob.event("register:ack").await,
        vec![json!({ "success": true, "userId": "bob" })]
    );
    bob.emit("register", json!([{ "userId": "carol" }])).await;
    assert_eq!(bob.event("register:ack").await[0]["code"], "FORBIDDEN");

    // authenticate: a bad token is refused and changes nothing.
    anon.emit("authenticate", json!([{ "token": "not.a.jwt" }]))
        .await;
    let e = anon.event("authError").await;
    assert_eq!(e[0]["success"], false);
    assert_eq!(e[0]["code"], "INVALID_TOKEN");
    // A good one makes the socket the user's: the user's pushes reach it.
    anon.emit("authenticate", json!([{ "token": token("carol", None) }]))
        .await;
    let ok = anon.event("authenticated").await;
    assert_eq!(ok[0]["userId"], "carol");
    assert_eq!(ok[0]["socketId"], anon_id);
    let r = s
        .api(
            "POST",
            "/api/push",
            Some(json!({ "userId": "carol", "event": "note", "data": 1 })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 1, "{}", r.text());
    assert_eq!(anon.event("note").await, vec![json!(1)]);
    anon.emit("register", json!([{ "userId": "carol" }])).await;
    assert_eq!(anon.event("register:ack").await[0]["success"], true);
    // Another user's token on an authenticated socket is refused.
    let r = anon
        .emit_ack("authenticate", json!([{ "token": token("mallory", None) }]))
        .await;
    assert_eq!(r[0]["code"], "FORBIDDEN");
    anon.close().await;
    bob.close().await;
}

#[tokio::test]
async fn welcome_ping_and_presence() {
    let s = Server::start("").await;
    let (mut watcher, w_id) = user(&s, "watcher", None).await;
    let welcome = watcher.event("system:welcome").await;
    assert_eq!(welcome[0]["socketId"], w_id);
    assert!(welcome[0]["serverInfo"]["version"].is_string());
    assert_eq!(
        watcher.event("connected").await,
        vec![json!({ "userId": "watcher", "socketId": w_id })]
    );

    // ping: an empty ack when asked, and `pong`.
    assert_eq!(
        watcher
            .emit_ack("ping", json!([{ "timestamp": 1625097600000u64 }]))
            .await,
        Vec::<Value>::new()
    );
    let p = watcher.event("pong").await;
    assert_eq!(p[0]["timestamp"], 1625097600000u64);
    assert!(p[0]["serverTime"].as_u64().unwrap() > 1625097600000);
    // Only a number comes back: the answer never carries client data.
    watcher
        .emit("ping", json!([{ "timestamp": "x".repeat(1000) }]))
        .await;
    assert_eq!(watcher.event("pong").await[0]["timestamp"], Value::Null);

    // Presence: the first device announces the user, the second does not,
    // the last one to leave announces the departure.
    let (d1, _) = user(&s, "dana", None).await;
    assert_eq!(
        watcher.event("user:online").await,
        vec![json!({ "userId": "dana", "status": "online" })]
    );
    let (d2, _) = user(&s, "dana", None).await;
    watcher.none_before_ping("user:online").await;
    let online = watcher.emit_ack("getOnlineUsers", json!([])).await;
    assert_eq!(
        online,
        vec![json!({ "success": true, "users": ["dana", "watcher"] })]
    );
    d1.close().await;
    // Once the server has seen d1 go, dana is still online (d2).
    wait_for_count(&s, "?userId=dana", 1).await;
    let online = watcher.emit_ack("getOnlineUsers", json!([])).await;
    assert_eq!(online[0]["users"], json!(["dana", "watcher"]));
    assert!(!watcher.gets_within("user:offline", 0).await);
    d2.close().await;
    assert_eq!(
        watcher.event("user:offline").await,
        vec![json!({ "userId": "dana" })]
    );
    watcher.emit("getOnlineUsers", json!([])).await;
    assert_eq!(
        watcher.event("getOnlineUsers").await,
        vec![json!(["watcher"])]
    );

    // user:status from an authenticated user reaches the others, once per
    // change; appearing offline hides the user from the list.
    let (mut e, _) = user(&s, "erin", None).await;
    assert_eq!(
        watcher.event("user:online").await,
        vec![json!({ "userId": "erin", "status": "online" })]
    );
    e.emit("user:status", json!(["away"])).await;
    assert_eq!(
        watcher.event("user:online").await,
        vec![json!({ "userId": "erin", "status": "away" })]
    );
    assert_eq!(
        e.emit_ack("user:status", json!(["away"])).await[0]["success"],
        true
    );
    e.emit("user:status", json!(["offline"])).await;
    assert_eq!(
        watcher.event("user:offline").await,
        vec![json!({ "userId": "erin" })]
    );
    // The repeated `away` was not announced.
    watcher.none_before_ping("user:online").await;
    let online = watcher.emit_ack("getOnlineUsers", json!([])).await;
    assert_eq!(online[0]["users"], json!(["watcher"]));
    e.emit("user:status", json!(["sleeping"])).await;
    assert_eq!(e.event("error").await[0]["code"], "INVALID_MESSAGE_DATA");
    watcher.close().await;
    e.close().await;
}

/// A token whose `userId` is the JSON value `id` (a number or a string).
fn typed_token(id: Value) -> String {
    let now = common::now();
    let claims = json!({ "userId": id, "iat": now, "exp": now + 3600 });
    socketio_server::jwt::sign(
        &claims,
        common::SECRET.as_bytes(),
        socketio_server::jwt::Algorithm::Hs256,
    )
}

#[tokio::test]
async fn online_user_lists_keep_the_type_of_token_ids() {
    let s = Server::start("").await;
    let (mut n, _) = connect(&s, json!({ "auth": { "token": typed_token(json!(42)) } })).await;
    let (_t, _) = connect(&s, json!({ "auth": { "token": typed_token(json!("7")) } })).await;
    let online = n.emit_ack("getOnlineUsers", json!([])).await;
    assert_eq!(online[0]["users"], json!([42, "7"]), "{online:?}");
    n.emit("getOnlineUsers", json!([])).await;
    assert_eq!(n.event("getOnlineUsers").await, vec![json!([42, "7"])]);
    // The HTTP test action sends the same list.
    let r = s
        .admin(
            "POST",
            "/api/socket-test",
            &json!({ "action": "emitOnlineUsers" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["users"], json!([42, "7"]));
    assert_eq!(n.event("getOnlineUsers").await, vec![json!([42, "7"])]);
    n.close().await;
}

#[tokio::test]
async fn chat_messages_typing_and_read_receipts() {
    let s = Server::start("").await;
    let (mut a1, _) = user(&s, "ann", None).await;
    let (mut a2, _) = user(&s, "ann", None).await; // ann's second device
    let (mut b, _) = user(&s, "ben", None).await;
    let (mut out, _) = user(&s, "olga", None).await; // not in the conversation

    // Not in the conversation yet.
    let r = a1
        .emit_ack(
            "message:send",
            json!([{ "conversationId": "c1", "content": "hi" }]),
        )
        .await;
    assert_eq!(r[0]["code"], "NOT_IN_ROOM");
    for c in [&mut a1, &mut a2, &mut b] {
        c.emit("conversation:join", json!(["c1"])).await;
        // Wait until the join is in place (an ack round trip).
        c.emit_ack("get-rooms", json!([])).await;
    }

    a1.emit("typing:start", json!([{ "conversationId": "c1" }]))
        .await;
    assert_eq!(
        b.event("typing:start").await,
        vec![json!({ "userId": "ann", "conversationId": "c1" })]
    );
    assert_eq!(a2.event("typing:start").await[0]["userId"], "ann");
    a1.none_before_ping("typing:start").await;
    out.none_before_ping("typing:start").await;

    let r = a1
        .emit_ack(
            "message:send",
            json!([{ "conversationId": "c1", "content": "Hello, world!", "type": "text" }]),
        )
        .await;
    assert_eq!(r[0]["success"], true);
    let id = r[0]["messageId"].as_str().unwrap().to_owned();
    assert_eq!(
        a1.event("message:delivered").await,
        vec![json!({ "messageId": id, "conversationId": "c1" })]
    );
    let m = b.event("message:new").await;
    assert_eq!(m[0]["id"], id);
    assert_eq!(m[0]["senderId"], "ann");
    assert_eq!(m[0]["content"], "Hello, world!");
    assert_eq!(m[0]["type"], "text");
    assert_eq!(a2.event("message:new").await[0]["id"], id);
    out.none_before_ping("message:new").await;

    // ben reads it: every device of ann is told, nobody else.
    b.emit("message:read", json!([{ "messageId": id }])).await;
    for a in [&mut a1, &mut a2] {
        let r = a.event("message:read").await;
        assert_eq!(r[0]["messageId"], id);
        assert_eq!(r[0]["userId"], "ben");
        assert_eq!(r[0]["conversationId"], "c1");
    }
    b.none_before_ping("message:read").await;
    // Someone outside the conversation cannot send receipts for it.
    let r = out
        .emit_ack("message:read", json!([{ "messageId": id }]))
        .await;
    assert_eq!(r[0]["code"], "NOT_IN_ROOM");
    let r = b
        .emit_ack("message:read", json!([{ "messageId": "msg_unknown" }]))
        .await;
    assert_eq!(r[0]["code"], "NOT_FOUND");
    let big = "x".repeat(65_537);
    let r = a1
        .emit_ack(
            "message:send",
            json!([{ "conversationId": "c1", "content": big }]),
        )
        .await;
    assert_eq!(r[0]["code"], "MESSAGE_TOO_LARGE");
    for c in [a1, a2, b, out] {
        c.close().await;
    }
}

#[tokio::test]
async fn client_requests_are_answered_and_forwarded_to_the_backend_room() {
    let s = Server::start("[events]\nforward_room = \"role_service\"\nwelcome = false\n").await;
    let (mut backend, _) = user(&s, "svc", Some("service")).await;
    let (mut c, c_id) = user(&s, "u7", None).await;

    c.emit(
        "client:event",
        json!([{ "type": "cart:update", "data": { "items": 3 } }]),
    )
    .await;
    let r = c.event("server:response").await;
    assert_eq!(r[0]["success"], true);
    assert_eq!(
        r[0]["data"],
        json!({ "type": "cart:update", "forwarded": true })
    );
    let req = r[0]["requestId"].as_str().unwrap().to_owned();
    let f = backend.event("client:event").await;
    assert_eq!(f[0]["requestId"], req);
    assert_eq!(f[0]["type"], "cart:update");
    assert_eq!(f[0]["data"], json!({ "items": 3 }));
    assert_eq!(f[0]["socketId"], c_id);
    assert_eq!(f[0]["userId"], "u7");
    assert_eq!(f[0]["namespace"], "/");

    c.emit(
        "client:message",
        json!([{ "content": "hi", "type": "text", "metadata": { "k": 1 } }]),
    )
    .await;
    let r = c.event("message:ack").await;
    assert_eq!(r[0]["success"], true);
    let mid = r[0]["messageId"].as_str().unwrap().to_owned();
    let f = backend.event("client:message").await;
    assert_eq!(f[0]["messageId"], mid);
    assert_eq!(f[0]["metadata"], json!({ "k": 1 }));

    let r = c
        .emit_ack(
            "client:action",
            json!([{ "action": "refresh", "params": { "a": 1 } }]),
        )
        .await;
    assert_eq!(
        r[0]["result"],
        json!({ "action": "refresh", "forwarded": true })
    );
    assert_eq!(c.event("action:result").await[0]["success"], true);
    assert_eq!(
        backend.event("client:action").await[0]["params"],
        json!({ "a": 1 })
    );

    // Too large (events.max_message_len, 64 KiB): refused, not forwarded.
    let big = vec!["x".repeat(1000); 70];
    c.emit("client:event", json!([{ "type": "t", "data": big }]))
        .await;
    let r = c.event("server:response").await;
    assert_eq!(r[0]["code"], "MESSAGE_TOO_LARGE");
    // Forwarded before the reply, if at all: the backend's ping answer
    // comes after anything sent to it before.
    backend.none_before_ping("client:event").await;
    // Malformed requests: refused in the reply event, not forwarded.
    c.emit("client:event", json!([{ "data": 1 }])).await;
    let r = c.event("server:response").await;
    assert_eq!(r[0]["success"], false);
    assert_eq!(r[0]["code"], "INVALID_MESSAGE_DATA");
    assert!(r[0]["requestId"].is_string());
    // Forwarded before the reply, if at all: the backend's ping answer
    // comes after anything sent to it before.
    backend.none_before_ping("client:event").await;
    // Clients cannot join the backend's room.
    let r = c.emit_ack("join-room", json!(["role_service"])).await;
    assert_eq!(r[0]["code"], "RESERVED_ROOM");
    backend.close().await;
    c.close().await;
}

#[tokio::test]
async fn events_can_be_turned_off() {
    let s = Server::start("[events]\nenabled = false\n").await;
    let (mut c, _) = connect(&s, json!({})).await;
    // A broadcast now reaches the client after anything sent at connect.
    s.api("POST", "/api/broadcast", Some(json!({ "event": "probe" })))
        .await;
    c.event("probe").await;
    assert!(!c.has_pending("system:welcome"));
    c.emit("room:join", json!([{ "room": "lobby" }])).await;
    assert!(!c.gets_within("room:join:ack", 300).await);
    // Nothing answers, so give the event the time it would have needed.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(room_push(&s, "lobby", 1).await["recipients"], 0);
    c.close().await;
}

#[tokio::test]
async fn connection_state_recovery_is_announced() {
    let s = Server::start("[connection]\nrecovery_secs = 30\n[events]\nwelcome = false\n").await;
    let opts = json!({
        "auth": { "token": token("rita", None) },
        "transports": ["websocket"],
        "reconnection": true,
        "reconnectionDelay": 1000,
        "randomizationFactor": 0,
    });
    let mut c = s.client("/", opts).await;
    let id = c.connected().await;
    assert_eq!(
        c.emit_ack("join-room", json!(["lobby"])).await[0]["success"],
        true
    );
    // Recovery resumes from the last event the client got: with recovery
    // on, every event carries its offset as a last argument (as with the
    // reference server), which the client keeps.
    assert_eq!(room_push(&s, "lobby", 6).await["recipients"], 1);
    assert_eq!(c.event("news").await[0], json!({ "n": 6 }));
    // A network loss: the socket is gone until the client comes back, and
    // what the room got meanwhile waits for it.
    // The next CONNECT carries a token with another role: the recovered
    // socket is what the new token says, not what the old one said.
    let viewer = token("rita", Some("viewer"));
    c.send_raw(json!({ "op": "auth", "auth": { "token": viewer } }))
        .await;
    c.send_raw(json!({ "op": "drop" })).await;
    // The client reports a close it made itself; the server sees the
    // transport go away.
    assert_eq!(c.disconnected(5).await, "forced close");
    wait_for_count(&s, "?room=lobby", 0).await;
    assert_eq!(room_push(&s, "lobby", 7).await["recipients"], 0);
    let v = c.expect(10, "reconnect", |v| v["type"] == "connect").await;
    assert_eq!(v["id"], id, "same socket id");
    assert_eq!(v["recovered"], true);
    let r = c.event("system:state_recovered").await;
    assert_eq!(r[0]["userId"], "rita");
    assert_eq!(c.event("news").await[0], json!({ "n": 7 }));
    // Its rooms came back with it, its role is the new token's.
    assert_eq!(room_push(&s, "lobby", 8).await["recipients"], 1);
    assert_eq!(c.event("news").await[0], json!({ "n": 8 }));
    let (_, mine) = get_sockets(&s, "?userId=rita").await;
    assert_eq!(mine["sockets"][0]["user"]["role"], "viewer", "{mine}");
    let rooms = mine["sockets"][0]["rooms"].as_array().unwrap().clone();
    assert!(rooms.contains(&json!("role_viewer")), "{rooms:?}");
    assert!(!rooms.contains(&json!("role_authenticated")), "{rooms:?}");
    c.close().await;

    // Another user's token on the same session: no recovery, and nothing
    // the first user missed is delivered.
    let opts = json!({
        "auth": { "token": token("sam", None) },
        "transports": ["websocket"],
        "reconnection": true,
        "reconnectionDelay": 500,
        "randomizationFactor": 0,
    });
    let mut c = s.client("/", opts).await;
    let id = c.connected().await;
    let push = |user: &str, n: u32| json!({ "userId": user, "event": "secret", "data": n });
    let r = s.api("POST", "/api/push", Some(push("sam", 1))).await;
    assert_eq!(r.json()["recipients"], 1);
    assert_eq!(c.event("secret").await[0], json!(1));
    let other = token("eve", None);
    c.send_raw(json!({ "op": "auth", "auth": { "token": other } }))
        .await;
    c.send_raw(json!({ "op": "drop" })).await;
    assert_eq!(c.disconnected(5).await, "forced close");
    wait_for_count(&s, "?userId=sam", 0).await;
    s.api("POST", "/api/push", Some(push("sam", 2))).await;
    let refused = c.refused().await;
    assert_eq!(refused["data"]["code"], "RECOVERY_REFUSED", "{refused}");
    c.send_raw(json!({ "op": "connect" })).await;
    let v = c.expect(10, "connect", |v| v["type"] == "connect").await;
    assert_ne!(v["id"], id);
    assert_eq!(v["recovered"], false);
    // Sam's push did not reach eve.
    c.none_before_ping("secret").await;
    c.close().await;

    // Back too late: a new socket, told that recovery failed.
    let s = Server::start("[connection]\nrecovery_secs = 1\n[events]\nwelcome = false\n").await;
    let opts = json!({
        "transports": ["websocket"],
        "reconnection": true,
        "reconnectionDelay": 2500,
        "randomizationFactor": 0,
    });
    let mut c = s.client("/", opts).await;
    let id = c.connected().await;
    // An event first, so that the client has an offset to resume from.
    let r = s
        .api(
            "POST",
            "/api/push",
            Some(json!({ "socketId": id, "event": "news", "data": 1 })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 1);
    assert_eq!(c.event("news").await[0], json!(1));
    c.send_raw(json!({ "op": "drop" })).await;
    assert_eq!(c.disconnected(5).await, "forced close");
    let v = c.expect(10, "reconnect", |v| v["type"] == "connect").await;
    assert_ne!(v["id"], id);
    assert_eq!(v["recovered"], false);
    let f = c.event("system:state_recovery_failed").await;
    assert_eq!(f[0]["message"], "Failed to recover connection state");
    c.close().await;
}

#[tokio::test]
async fn who_may_join_rooms_is_a_setting() {
    let s =
        Server::start("[events]\nclient_room_joins = \"authenticated\"\nwelcome = false\n").await;
    let (mut anon, anon_id) = connect(&s, json!({})).await;
    let r = anon.emit_ack("join-room", json!(["lobby"])).await;
    assert_eq!(r[0]["code"], "FORBIDDEN");
    let (mut u, _) = user(&s, "uma", None).await;
    assert_eq!(
        u.emit_ack("join-room", json!(["lobby"])).await[0]["success"],
        true
    );
    // "none": only the application joins sockets to rooms.
    patch_settings(&s, json!({ "events": { "client_room_joins": "none" } })).await;
    let r = u.emit_ack("join-room", json!(["other"])).await;
    assert_eq!(r[0]["code"], "FORBIDDEN");
    // Leaving stays allowed.
    assert_eq!(
        u.emit_ack("leave-room", json!(["lobby"])).await[0]["success"],
        true
    );
    assert_eq!(room_push(&s, "lobby", 0).await["recipients"], 0);
    let r = s
        .api(
            "POST",
            "/api/sockets/join",
            Some(json!({ "socketId": anon_id, "room": "lobby" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The anonymous socket, joined by the application (uma left).
    assert_eq!(room_push(&s, "lobby", 1).await["recipients"], 1);
    assert_eq!(anon.event("news").await, vec![json!({ "n": 1 })]);
    anon.close().await;
    u.close().await;
}
