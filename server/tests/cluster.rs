//! Two `socketio-server` processes on one throwaway Redis (`[redis]
//! enabled`): the HTTP API, private messages and presence reach the other
//! node's sockets; `/api/status`, `/ready` and `/metrics` report the
//! cluster; a Redis that is down at start is waited for.

mod common;

use common::redis::Redis;
use common::{poll, token, Client, Server};
use serde_json::{json, Value};

/// The `[redis]` section of a node on `url`.
fn redis_config(url: &str) -> String {
    format!("[redis]\nenabled = true\nurl = \"{url}\"\nrequests_timeout_ms = 2000\n")
}

async fn node(redis: &Redis) -> Server {
    Server::start(&redis_config(&redis.url())).await
}

/// Waits until `s` counts `n` nodes in the cluster.
async fn until_nodes(s: &Server, n: u64) {
    poll(15, &format!("{n} nodes"), || async {
        let v = s.api("GET", "/api/status", None).await.json();
        (v["nodes"] == n).then_some(())
    })
    .await
}

async fn user(s: &Server, id: &str) -> (Client, String) {
    let mut c = s
        .client("/", json!({ "auth": { "token": token(id, None) } }))
        .await;
    let sid = c.connected().await;
    (c, sid)
}

async fn post(s: &Server, path: &str, body: Value) -> Value {
    let r = s.api("POST", path, Some(body.clone())).await;
    assert_eq!(r.status, 200, "{path} {body}: {}", r.text());
    r.json()
}

/// The ids `GET /api/sockets<query>` on `s` lists.
async fn listed(s: &Server, query: &str) -> Vec<Value> {
    let r = s.api("GET", &format!("/api/sockets{query}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["sockets"].as_array().unwrap().clone()
}

/// One series of `/metrics` (no labels).
async fn metric(s: &Server, name: &str) -> Option<f64> {
    let text = s.http("GET", "/metrics", &[], b"").await.text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn the_api_reaches_sockets_on_the_other_node() {
    let redis = Redis::start().await;
    let a = node(&redis).await;
    let b = node(&redis).await;
    until_nodes(&a, 2).await;
    until_nodes(&b, 2).await;
    let (mut c, sid) = user(&b, "u2").await;
    assert_eq!(
        c.emit_ack("join-room", json!(["lobby"])).await[0]["success"],
        true
    );

    post(
        &a,
        "/api/broadcast",
        json!({ "event": "news", "data": "hi" }),
    )
    .await;
    assert_eq!(c.event("news").await, vec![json!("hi")]);
    post(
        &a,
        "/api/room",
        json!({ "room": "lobby", "event": "r", "data": 1 }),
    )
    .await;
    assert_eq!(c.event("r").await, vec![json!(1)]);
    let r = post(
        &a,
        "/api/push",
        json!({ "userId": "u2", "event": "note", "data": 2 }),
    )
    .await;
    assert_eq!(c.event("note").await, vec![json!(2)]);
    assert_eq!(
        (
            r["delivered"].clone(),
            r["recipients"].clone(),
            r["counted"].clone()
        ),
        (json!(true), json!(1), json!("cluster")),
        "{r}"
    );
    post(
        &a,
        "/api/push",
        json!({ "socketId": sid, "event": "one", "data": 3 }),
    )
    .await;
    assert_eq!(c.event("one").await, vec![json!(3)]);
    let r = post(&a, "/api/push", json!({ "userId": "nobody", "event": "x" })).await;
    assert_eq!(r["delivered"], false, "{r}");

    // The list from A shows B's socket, with its user and node.
    let all = listed(&a, "").await;
    let s = all
        .iter()
        .find(|s| s["id"] == sid.as_str())
        .expect("B's socket listed on A");
    assert_eq!(s["node"], "remote", "{s}");
    assert_eq!(
        s["user"],
        json!({ "id": "u2", "role": "authenticated" }),
        "{s}"
    );
    assert_eq!(listed(&b, "").await[0]["node"], "local");

    // Join and leave from A act on B's socket.
    let r = post(
        &a,
        "/api/sockets/join",
        json!({ "socketId": sid, "room": "vip" }),
    )
    .await;
    assert_eq!(r["sockets"], 1, "{r}");
    poll(5, "the join", || async {
        (listed(&a, "?room=vip").await.len() == 1).then_some(())
    })
    .await;
    post(&a, "/api/room", json!({ "room": "vip", "event": "v" })).await;
    c.event("v").await;
    post(
        &a,
        "/api/sockets/leave",
        json!({ "userId": "u2", "room": "vip" }),
    )
    .await;
    poll(5, "the leave", || async {
        listed(&a, "?room=vip").await.is_empty().then_some(())
    })
    .await;
    let r = a
        .api(
            "POST",
            "/api/sockets/join",
            Some(json!({ "socketId": "AAAAAAAAAAAAAAAAAAAA", "room": "vip" })),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());

    // Disconnect from A: the notice first, then the disconnect.
    let r = post(
        &a,
        "/api/sockets/disconnect",
        json!({ "userId": "u2", "reason": "bye" }),
    )
    .await;
    assert_eq!(r["disconnected"], 1, "{r}");
    assert_eq!(c.event("force_logout").await[0]["reason"], "bye");
    assert_eq!(c.disconnected(10).await, "io server disconnect");

    // Status and metrics.
    let st = a.api("GET", "/api/status", None).await.json();
    assert_eq!(
        (st["nodes"].clone(), st["redis"].clone()),
        (json!(2), json!("connected")),
        "{st}"
    );
    assert_eq!(
        a.http("GET", "/ready", &[], b"").await.json()["redis"],
        "connected"
    );
    assert_eq!(metric(&a, "socketio_redis_connected").await, Some(1.0));
    for name in [
        "socketio_redis_messages_published_total",
        "socketio_redis_messages_received_total",
        "socketio_redis_requests_total",
        "socketio_redis_request_duration_seconds_sum",
    ] {
        assert!(metric(&a, name).await.unwrap_or(0.0) > 0.0, "{name}");
    }
    assert!(metric(&a, "socketio_redis_reconnects_total")
        .await
        .is_some());
    c.close().await;
}

#[tokio::test]
async fn without_redis_there_are_no_cluster_series() {
    let s = Server::start("").await;
    assert_eq!(metric(&s, "socketio_redis_connected").await, None);
    let st = s.api("GET", "/api/status", None).await.json();
    assert_eq!(st["nodes"], 1, "{st}");
    assert!(st.get("redis").is_none(), "{st}");
}
