//! The socket operations of the HTTP API (the CMS plugin's helpers):
//! list sockets, make them join and leave rooms, message or skip one
//! socket, and disconnect a socket or every socket of a user.

mod common;

use common::{token, Server};
use serde_json::{json, Value};

async fn post(s: &Server, path: &str, body: Value) -> (u16, Value) {
    let r = s.api("POST", path, Some(body)).await;
    (r.status, r.json())
}

async fn get(s: &Server, query: &str) -> (u16, Value) {
    let r = s.api("GET", &format!("/api/sockets{query}"), None).await;
    (r.status, r.json())
}

fn ids(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<&str>) -> Vec<String> {
    v.sort();
    v.into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn sockets_are_listed_moved_messaged_and_disconnected() {
    let s = Server::start("[events]\nwelcome = false\npresence = false\n").await;
    let t = token("u1", None);
    let mut a1 = s
        .client(
            "/",
            json!({ "auth": { "token": t }, "transports": ["websocket"] }),
        )
        .await;
    let a1_id = a1.connected().await;
    let mut a2 = s
        .client(
            "/",
            json!({ "auth": { "token": t }, "transports": ["polling"] }),
        )
        .await;
    let a2_id = a2.connected().await;
    let mut b = s.client("/", json!({})).await;
    let b_id = b.connected().await;

    // Listing: everyone, one user, with the user and rooms shown.
    let (st, all) = get(&s, "").await;
    assert_eq!(st, 200, "{all}");
    assert_eq!(all["count"], 3);
    assert_eq!(ids(&all), sorted(vec![&a1_id, &a2_id, &b_id]));
    let (_, mine) = get(&s, "?userId=u1").await;
    assert_eq!(ids(&mine), sorted(vec![&a1_id, &a2_id]));
    let first = &mine["sockets"][0];
    assert_eq!(first["user"]["id"], "u1");
    assert_eq!(first["namespace"], "/");
    assert!(first["rooms"]
        .as_array()
        .unwrap()
        .contains(&json!("user_u1")));
    // The client's address is for admin keys only.
    assert!(first.get("handshake").is_none(), "{first}");
    let r = s
        .http(
            "GET",
            "/api/sockets?userId=u1",
            &[("x-api-key", common::ADMIN_KEY)],
            b"",
        )
        .await;
    assert_eq!(r.json()["sockets"][0]["handshake"]["address"], "127.0.0.1");
    let (_, one) = get(&s, "?limit=1").await;
    assert_eq!(one["count"], 3);
    assert_eq!(one["sockets"].as_array().unwrap().len(), 1);

    // Join: every socket of a user, then one socket.
    let (st, r) = post(
        &s,
        "/api/sockets/join",
        json!({ "userId": "u1", "room": "vip" }),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["sockets"], 2);
    let (_, r) = post(
        &s,
        "/api/sockets/join",
        json!({ "socketId": b_id, "room": "vip" }),
    )
    .await;
    assert_eq!(r["sockets"], 1);
    assert_eq!(get(&s, "?room=vip").await.1["count"], 3);
    // Room and user together: the sockets in both.
    assert_eq!(
        ids(&get(&s, "?room=vip&userId=u1").await.1),
        sorted(vec![&a1_id, &a2_id])
    );
    let (_, r) = post(
        &s,
        "/api/room",
        json!({ "room": "vip", "event": "v", "data": 1 }),
    )
    .await;
    assert_eq!(r["recipients"], 3);
    for c in [&mut a1, &mut a2, &mut b] {
        assert_eq!(c.event("v").await, vec![json!(1)]);
    }
    // A name shaped like a socket id that is no socket's is an ordinary room.
    let (st, r) = post(
        &s,
        "/api/sockets/join",
        json!({ "socketId": b_id, "room": "AAAAAAAAAAAAAAAAAAAA" }),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    // Leave: one socket.
    let (_, r) = post(
        &s,
        "/api/sockets/leave",
        json!({ "socketId": a1_id, "room": "vip" }),
    )
    .await;
    assert_eq!(r["sockets"], 1);
    assert_eq!(
        ids(&get(&s, "?room=vip").await.1),
        sorted(vec![&a2_id, &b_id])
    );

    // One socket only (sendPrivateMessage), everyone but one (broadcast
    // from a socket).
    let (_, r) = post(
        &s,
        "/api/push",
        json!({ "socketId": b_id, "event": "dm", "data": "x" }),
    )
    .await;
    assert_eq!(r["recipients"], 1);
    assert_eq!(b.event("dm").await, vec![json!("x")]);
    let (_, r) = post(
        &s,
        "/api/broadcast",
        json!({ "event": "all", "exceptSocketId": b_id }),
    )
    .await;
    assert_eq!(r["recipients"], 2);
    assert!(a1.gets_within("all", 2000).await);
    assert!(a2.gets_within("all", 2000).await);
    assert!(!a1.gets_within("dm", 0).await);
    b.none_before_ping("all").await;

    // Refusals.
    let gone = "AAAAAAAAAAAAAAAAAAAA";
    for (path, body, status) in [
        (
            "/api/sockets/join",
            json!({ "socketId": gone, "room": "r" }),
            404,
        ),
        (
            "/api/sockets/join",
            json!({ "userId": "nobody", "room": "r" }),
            404,
        ),
        (
            "/api/sockets/join",
            json!({ "socketId": "short", "room": "r" }),
            400,
        ),
        (
            "/api/sockets/join",
            json!({ "socketId": b_id, "userId": "u1", "room": "r" }),
            400,
        ),
        ("/api/sockets/join", json!({ "socketId": b_id }), 400),
        ("/api/sockets/leave", json!({ "room": "r" }), 400),
        (
            "/api/sockets/join",
            json!({ "socketId": b_id, "room": "r", "namespace": "/nope" }),
            404,
        ),
        (
            "/api/sockets/disconnect",
            json!({ "socketId": b_id, "reason": 5 }),
            400,
        ),
        (
            "/api/push",
            json!({ "socketId": b_id, "userId": "u1", "event": "e" }),
            400,
        ),
        (
            "/api/broadcast",
            json!({ "event": "e", "exceptSocketId": 1 }),
            400,
        ),
        // The server's own rooms follow the token, not the API.
        (
            "/api/sockets/join",
            json!({ "socketId": b_id, "room": "user_u1" }),
            400,
        ),
        (
            "/api/sockets/join",
            json!({ "socketId": b_id, "room": "role_admin" }),
            400,
        ),
        (
            "/api/sockets/join",
            json!({ "socketId": b_id, "room": a1_id }),
            400,
        ),
        (
            "/api/sockets/leave",
            json!({ "socketId": a1_id, "room": "user_u1" }),
            400,
        ),
        // A malformed id is a 400 even in an unknown namespace.
        (
            "/api/sockets/join",
            json!({ "socketId": "short", "room": "r", "namespace": "/nope" }),
            400,
        ),
    ] {
        let (st, r) = post(&s, path, body.clone()).await;
        assert_eq!(st, status, "{path} {body}: {r}");
        let code = if status == 404 {
            "NOT_FOUND"
        } else {
            "INVALID_REQUEST"
        };
        assert_eq!(r["code"], code, "{path} {body}: {r}");
    }
    for q in ["?limit=0", "?limit=10001", "?limit=x"] {
        assert_eq!(get(&s, q).await.0, 400, "{q}");
    }
    assert_eq!(get(&s, "?namespace=/nope").await.0, 404);

    // Force logout: every device of u1 is told why, then disconnected.
    let (st, r) = post(
        &s,
        "/api/sockets/disconnect",
        json!({ "userId": "u1", "reason": "policy violation" }),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["disconnected"], 2);
    for c in [&mut a1, &mut a2] {
        let notice = c.event("force_logout").await;
        assert_eq!(notice[0]["reason"], "policy violation");
        assert_eq!(c.disconnected(5).await, "io server disconnect");
    }
    b.none_before_ping("force_logout").await;
    let (_, left) = get(&s, "").await;
    assert_eq!(ids(&left), vec![b_id.clone()]);
    let (_, r) = post(&s, "/api/sockets/disconnect", json!({ "socketId": b_id })).await;
    assert_eq!(r["disconnected"], 1);
    assert_eq!(b.event("force_logout").await[0]["reason"], Value::Null);
    assert_eq!(b.disconnected(5).await, "io server disconnect");
    for c in [a1, a2, b] {
        c.close().await;
    }
}
