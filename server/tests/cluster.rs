//! Two `socketio-server` processes on one throwaway Redis (`[redis]
//! enabled`): the HTTP API, private messages and presence reach the other
//! node's sockets; `/api/status`, `/ready` and `/metrics` report the
//! cluster; a Redis that is down at start is waited for.

mod common;

use common::pair::{private_messages_and_presence, until_nodes, user};
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

/// Two nodes on `redis`, once each sees the other.
async fn pair(redis: &Redis) -> (Server, Server) {
    let (a, b) = (node(redis).await, node(redis).await);
    until_nodes(&a, 2).await;
    until_nodes(&b, 2).await;
    (a, b)
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
    let (a, b) = pair(&redis).await;
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
    // B's adapter names itself in its answers: not this node, not unknown.
    let node = s["node"].as_str().unwrap_or_default();
    assert!(!["local", "remote", ""].contains(&node), "{s}");
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

#[tokio::test]
async fn private_messages_and_presence_cross_nodes() {
    let redis = Redis::start().await;
    let (a, b) = pair(&redis).await;
    private_messages_and_presence(a, b).await;
}

#[tokio::test]
async fn private_messages_and_presence_cross_nodes_on_the_streams_adapter() {
    let redis = Redis::start().await;
    let config = format!("{}adapter = \"streams\"\n", redis_config(&redis.url()));
    let (a, b) = (Server::start(&config).await, Server::start(&config).await);
    until_nodes(&a, 2).await;
    until_nodes(&b, 2).await;
    private_messages_and_presence(a, b).await;
}

#[tokio::test]
async fn redis_down_at_start_then_up() {
    let mut redis = Redis::stopped();
    let a = node(&redis).await;
    // It serves its own clients meanwhile, and says Redis is down.
    let (mut c, sid) = user(&a, "u1").await;
    post(&a, "/api/push", json!({ "userId": "u1", "event": "note" })).await;
    c.event("note").await;
    let ready = a.http("GET", "/ready", &[], b"").await;
    assert_eq!(
        (ready.status, ready.json()["redis"].clone()),
        (200, json!("disconnected"))
    );
    assert_eq!(metric(&a, "socketio_redis_connected").await, Some(0.0));
    let st = a.api("GET", "/api/status", None).await.json();
    assert_eq!(st["redis"], "disconnected", "{st}");
    let l = a.api("GET", "/api/sockets", None).await.json();
    assert_eq!(l["sockets"][0]["id"], sid.as_str(), "{l}");
    assert!(l["clusterError"].is_string(), "{l}");
    let r = post(
        &a,
        "/api/sockets/join",
        json!({ "socketId": sid, "room": "r" }),
    )
    .await;
    assert_eq!(r["sockets"], 1, "{r}");

    // Redis comes: the node joins a second one.
    redis.spawn().await;
    let b = node(&redis).await;
    until_nodes(&a, 2).await;
    until_nodes(&b, 2).await;
    poll(15, "redis connected on /ready", || async {
        let v = a.http("GET", "/ready", &[], b"").await.json();
        (v["redis"] == "connected").then_some(())
    })
    .await;
    post(&b, "/api/broadcast", json!({ "event": "news" })).await;
    c.event("news").await;
    let logs = a.stop_and_read_logs().await;
    assert!(logs.contains("redis connected"), "{logs}");
    c.close().await;
}

#[tokio::test]
async fn redis_restarted_mid_run() {
    let mut redis = Redis::start().await;
    let (a, b) = pair(&redis).await;
    let (mut c, _) = user(&b, "u1").await;
    redis.stop();
    // Local delivery goes on while Redis is gone.
    post(&b, "/api/push", json!({ "userId": "u1", "event": "local" })).await;
    c.event("local").await;
    redis.spawn().await;
    // Both reconnect and resubscribe: A's broadcast reaches B's client.
    until_nodes(&a, 2).await;
    until_nodes(&b, 2).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        post(&a, "/api/broadcast", json!({ "event": "again" })).await;
        if c.gets_within("again", 300).await {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no broadcast after the restart"
        );
    }
    assert!(
        metric(&b, "socketio_redis_reconnects_total")
            .await
            .unwrap_or(0.0)
            > 0.0
    );
    c.close().await;
}

/// Once `a` and `b` see each other: a user's client on `b`, in room
/// `lobby`, that a broadcast from `a` reached; and its socket id.
async fn lobby_user_on_b(a: &Server, b: &Server) -> (Client, String) {
    until_nodes(a, 2).await;
    until_nodes(b, 2).await;
    let (mut c, sid) = user(b, "u2").await;
    assert_eq!(
        c.emit_ack("join-room", json!(["lobby"])).await[0]["success"],
        true
    );
    post(
        a,
        "/api/broadcast",
        json!({ "event": "news", "data": "hi" }),
    )
    .await;
    assert_eq!(c.event("news").await, vec![json!("hi")]);
    (c, sid)
}

#[tokio::test]
async fn two_nodes_on_the_sharded_adapter() {
    let redis = Redis::start().await;
    let config = format!(
        "{}adapter = \"sharded\"\nsubscription_mode = \"dynamic\"\n",
        redis_config(&redis.url())
    );
    let (a, b) = (Server::start(&config).await, Server::start(&config).await);
    let (mut c, sid) = lobby_user_on_b(&a, &b).await;
    // A one-room broadcast goes to the room's own channel (dynamic mode).
    // B subscribes to the room's channel once its socket joined: retried
    // until that happened (bounded).
    let mut routed = false;
    for _ in 0..20 {
        post(
            &a,
            "/api/room",
            json!({ "room": "lobby", "event": "r", "data": 1 }),
        )
        .await;
        if c.gets_within("r", 300).await {
            routed = true;
            break;
        }
    }
    assert!(routed, "a room broadcast from A never reached B");
    // Listed on A as a socket of another node (the sharded protocol names it).
    let all = listed(&a, "").await;
    assert!(
        all.iter()
            .any(|s| s["id"] == sid.as_str() && s["node"] != "local"),
        "{all:?}"
    );
}

#[tokio::test]
async fn two_nodes_on_the_streams_adapter() {
    let redis = Redis::start().await;
    let config = format!(
        "{}adapter = \"streams\"\nstream_name = \"sio-test\"\nmax_len = 500\nread_count = 50\n",
        redis_config(&redis.url())
    );
    let (a, b) = (Server::start(&config).await, Server::start(&config).await);
    let (mut c, sid) = lobby_user_on_b(&a, &b).await;
    post(
        &a,
        "/api/room",
        json!({ "room": "lobby", "event": "r", "data": 1 }),
    )
    .await;
    assert_eq!(c.event("r").await, vec![json!(1)]);
    // Both went through the configured stream.
    let port = redis.url().rsplit(':').next().unwrap().to_owned();
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port, "XLEN", "sio-test"])
        .output()
        .expect("redis-cli");
    let len: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(len >= 2, "the stream holds {len} entries");
    let all = listed(&a, "").await;
    assert!(
        all.iter()
            .any(|s| s["id"] == sid.as_str() && s["node"] != "local"),
        "{all:?}"
    );
}

/// Two nodes on the streams adapter with connection state recovery on.
async fn recovering_pair(redis: &Redis) -> (Server, Server) {
    let config = format!(
        "[connection]\nrecovery_secs = 30\n[events]\nwelcome = false\n{}adapter = \"streams\"\n",
        redis_config(&redis.url())
    );
    let (a, b) = (Server::start(&config).await, Server::start(&config).await);
    until_nodes(&a, 2).await;
    until_nodes(&b, 2).await;
    (a, b)
}

/// A client of `user` on `s` that reconnects by itself after a drop.
async fn reconnecting(s: &Server, user: &str) -> Client {
    let opts = json!({
        "auth": { "token": token(user, None) },
        "transports": ["websocket"],
        "reconnection": true,
        "reconnectionDelay": 1000,
        "randomizationFactor": 0,
    });
    s.client("/", opts).await
}

#[tokio::test]
async fn a_session_recovers_on_the_other_node_with_the_streams_adapter() {
    let redis = Redis::start().await;
    let (a, b) = recovering_pair(&redis).await;
    let mut c = reconnecting(&a, "rita").await;
    let id = c.connected().await;
    assert_eq!(
        c.emit_ack("join-room", json!(["lobby"])).await[0]["success"],
        true
    );
    let room = |n: u32| json!({ "room": "lobby", "event": "news", "data": { "n": n } });
    post(&a, "/api/room", room(6)).await;
    assert_eq!(c.event("news").await[0], json!({ "n": 6 }));
    // The connection is lost; the client comes back to the other node.
    c.send_raw(json!({ "op": "retarget", "url": b.url() }))
        .await;
    c.send_raw(json!({ "op": "drop" })).await;
    assert_eq!(c.disconnected(5).await, "forced close");
    poll(15, "rita gone from the cluster", || async {
        listed(&a, "?userId=rita").await.is_empty().then_some(())
    })
    .await;
    post(&a, "/api/room", room(7)).await;
    let v = c.expect(15, "reconnect", |v| v["type"] == "connect").await;
    assert_eq!(v["id"], id, "same socket id");
    assert_eq!(v["recovered"], true);
    assert_eq!(c.event("system:state_recovered").await[0]["userId"], "rita");
    assert_eq!(c.event("news").await[0], json!({ "n": 7 }));
    // Its rooms came back with it, on B.
    post(&a, "/api/room", room(8)).await;
    assert_eq!(c.event("news").await[0], json!({ "n": 8 }));
    c.close().await;

    // Another user's token on a session from the other node: refused.
    let mut c = reconnecting(&a, "sam").await;
    c.connected().await;
    // An event first: its offset is what the client recovers from.
    let push = json!({ "userId": "sam", "event": "secret", "data": 1 });
    post(&a, "/api/push", push).await;
    assert_eq!(c.event("secret").await[0], json!(1));
    c.send_raw(json!({ "op": "auth", "auth": { "token": token("eve", None) } }))
        .await;
    c.send_raw(json!({ "op": "retarget", "url": b.url() }))
        .await;
    c.send_raw(json!({ "op": "drop" })).await;
    assert_eq!(c.disconnected(5).await, "forced close");
    let refused = c.refused().await;
    assert_eq!(refused["data"]["code"], "RECOVERY_REFUSED", "{refused}");
    c.close().await;
}
