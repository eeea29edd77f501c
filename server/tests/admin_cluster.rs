//! The Admin UI protocol across a cluster: two `socketio-server` nodes on
//! one throwaway Redis, `[admin_ui]` on both. A UI logged in on one node
//! lists the other node's sockets, its commands reach them, both nodes'
//! stats reach it, and its session id logs in on the other node.

mod common;

use common::redis::Redis;
use common::{poll, token, Server};
use serde_json::json;

// bcrypt of "secret" at cost 4.
const HASH: &str = "$2a$04$02HPE/21Z1L2otbVBYk6.eSPDWraCLpJfiR3sI1DYNvs.DOHhGrC.";

async fn node(redis: &Redis) -> Server {
    Server::start(&format!(
        "[redis]\nenabled = true\nurl = \"{}\"\nrequests_timeout_ms = 2000\n\
         [admin_ui]\nenabled = true\nusername = \"admin\"\npassword_hash = \"{HASH}\"\n",
        redis.url()
    ))
    .await
}

async fn until_nodes(s: &Server, n: u64) {
    poll(15, &format!("{n} nodes"), || async {
        let v = s.api("GET", "/api/status", None).await.json();
        (v["nodes"] == n).then_some(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ui_on_one_node_sees_and_commands_the_other() {
    let redis = Redis::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    until_nodes(&a, 2).await;
    until_nodes(&b, 2).await;
    let mut user = b
        .client("/", json!({ "auth": { "token": token("u1", None) } }))
        .await;
    let sid = user.connected().await;

    let login = json!({ "auth": { "username": "admin", "password": "secret" } });
    let mut ui = a.client("/admin", login).await;
    ui.connected().await;
    let session = ui.event("session").await[0].as_str().unwrap().to_owned();
    let features = ui.event("config").await[0]["supportedFeatures"].clone();
    assert!(features.as_array().unwrap().contains(&json!("MDISCONNECT")));
    let sockets = ui.event("all_sockets").await[0].clone();
    let listed = sockets
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sid.as_str())
        .unwrap_or_else(|| panic!("{sid} from the other node in {sockets}"));
    assert_eq!(listed["nsp"], "/");

    // Both nodes report to the UI, each under its own server id.
    let mut servers = std::collections::HashSet::new();
    for _ in 0..20 {
        let stats = ui.event("server_stats").await[0].clone();
        servers.insert(stats["serverId"].as_str().unwrap().to_owned());
        if servers.len() == 2 {
            break;
        }
    }
    assert_eq!(servers.len(), 2, "{servers:?}");

    ui.emit("emit", json!(["/", sid, "hello", "from a"])).await;
    assert_eq!(user.event("hello").await, [json!("from a")]);

    // The session id handed out by a logs in on b.
    poll(15, "the session id on the other node", || async {
        session_accepted(&b, &session).await.then_some(())
    })
    .await;

    ui.emit("_disconnect", json!(["/", false, sid])).await;
    assert_eq!(user.disconnected(10).await, "io server disconnect");
}

/// Whether `s` lets the UI in with session id `id`.
async fn session_accepted(s: &Server, id: &str) -> bool {
    let mut c = s
        .client("/admin", json!({ "auth": { "sessionId": id } }))
        .await;
    let v = c
        .expect(10, "connect", |v| {
            v["type"] == "connect" || v["type"] == "connect_error"
        })
        .await;
    v["type"] == "connect"
}

/// Session ids live in Redis as `@socket.io/admin-ui`'s `RedisStore`
/// keeps them: a node started after the login accepts the id, and a key
/// written the reference's way (`SET socket.io-admin#<id> 1 EX <secs>`)
/// logs in on our nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_live_in_redis_under_the_reference_keys() {
    let redis = Redis::start().await;
    let a = node(&redis).await;
    let login = json!({ "auth": { "username": "admin", "password": "secret" } });
    let mut ui = a.client("/admin", login).await;
    ui.connected().await;
    let session = ui.event("session").await[0].as_str().unwrap().to_owned();
    let key = format!("socket.io-admin#{session}");
    assert_eq!(redis.cli(&["GET", &key]), "1");
    let ttl: u64 = redis.cli(&["TTL", &key]).parse().unwrap();
    assert!((86_000..=86_400).contains(&ttl), "TTL {ttl}");

    // b did not exist at login time: nothing was sent to it.
    let b = node(&redis).await;
    assert!(session_accepted(&b, &session).await, "the later node");
    assert!(
        !session_accepted(&b, "0123456789abcdef").await,
        "unknown id"
    );

    // What a Node server with RedisStore writes at its login.
    let theirs = "fedcba9876543210";
    let key = format!("socket.io-admin#{theirs}");
    assert_eq!(redis.cli(&["SET", &key, "1", "EX", "60"]), "OK");
    assert!(session_accepted(&a, theirs).await);
    assert!(session_accepted(&b, theirs).await);
    // Gone from Redis (expired, or deleted): refused.
    redis.cli(&["DEL", &key]);
    assert!(!session_accepted(&a, theirs).await, "a deleted key");
}
