//! Two `socketio-server` processes on the PostgreSQL at 127.0.0.1:5432
//! (database `test`, `[postgres] enabled`, their own channel prefix and
//! table): the HTTP API's broadcasts, room emits and pushes reach the
//! other node's sockets and count them on every node; `/api/status`
//! counts both nodes; `/ready`, `/api/status` and `/metrics` report the
//! database connection (`postgres`); private messages and presence cross
//! nodes as on Redis. Needs that server (scripts/postgres.sh starts one
//! where none answers).

mod common;

use common::pair::{private_messages_and_presence, until_nodes};
use common::{poll, token, Server};
use serde_json::json;

fn url() -> String {
    std::env::var("SOCKETIO_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn node(prefix: &str) -> Server {
    let url = url();
    let config = format!(
        "[postgres]\nenabled = true\nurl = \"{url}\"\nchannel_prefix = \"{prefix}\"\ntable_name = \"{prefix}_att\"\n"
    );
    Server::start(&config).await
}

#[tokio::test]
async fn the_api_reaches_sockets_on_the_other_node() {
    let prefix = format!("srv_{}", std::process::id());
    let (a, b) = (node(&prefix).await, node(&prefix).await);
    for s in [&a, &b] {
        poll(15, "2 nodes", || async {
            let v = s.api("GET", "/api/status", None).await.json();
            (v["nodes"] == 2).then_some(())
        })
        .await;
    }
    let mut c = b
        .client("/", json!({ "auth": { "token": token("u2", None) } }))
        .await;
    c.connected().await;
    assert_eq!(
        c.emit_ack("join-room", json!(["lobby"])).await[0]["success"],
        true
    );
    let r = a
        .api(
            "POST",
            "/api/broadcast",
            Some(json!({ "event": "news", "data": "hi" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.event("news").await, vec![json!("hi")]);
    let room = json!({ "room": "lobby", "event": "r", "data": "x".repeat(9000) });
    let r = a.api("POST", "/api/room", Some(room)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.event("r").await, vec![json!("x".repeat(9000))]);
    // A push from A counts B's socket: every node was asked.
    let push = json!({ "userId": "u2", "event": "note", "data": 2 });
    let r = a.api("POST", "/api/push", Some(push)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.event("note").await, vec![json!(2)]);
    let r = r.json();
    assert_eq!(
        (r["recipients"].clone(), r["counted"].clone()),
        (json!(1), json!("cluster")),
        "{r}"
    );
    // The database connection, where Redis's would be.
    let ready = a.http("GET", "/ready", &[], b"").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["postgres"], "connected");
    let st = a.api("GET", "/api/status", None).await.json();
    assert_eq!(st["postgres"], "connected", "{st}");
    assert!(st.get("redis").is_none(), "{st}");
    let metrics = a.http("GET", "/metrics", &[], b"").await.text();
    let metric = |name: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .map(|v| v.parse::<f64>().unwrap())
    };
    assert_eq!(
        metric("socketio_postgres_connected"),
        Some(1.0),
        "{metrics}"
    );
    for name in [
        "socketio_postgres_messages_published_total",
        "socketio_postgres_messages_received_total",
        "socketio_postgres_requests_total",
    ] {
        assert!(metric(name).unwrap_or(0.0) > 0.0, "{name}: {metrics}");
    }
    assert_eq!(metric("socketio_redis_connected"), None);
    use socketio_postgres::tokio_postgres;
    let (db, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let drop = format!("DROP TABLE IF EXISTS {prefix}_att");
    db.batch_execute(&drop).await.unwrap();
}

#[tokio::test]
async fn private_messages_and_presence_cross_nodes() {
    let prefix = format!("srv_pm_{}", std::process::id());
    let (a, b) = (node(&prefix).await, node(&prefix).await);
    until_nodes(&a, 2).await;
    until_nodes(&b, 2).await;
    private_messages_and_presence(a, b).await;
}

#[tokio::test]
async fn without_the_database_a_node_stays_ready_and_says_so() {
    // Nothing listens on port 1.
    let config = "[postgres]\nenabled = true\nurl = \"postgres://postgres@127.0.0.1:1/test?connect_timeout=1\"\n";
    let s = Server::start(config).await;
    let ready = s.http("GET", "/ready", &[], b"").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["postgres"], "disconnected");
    let st = s.api("GET", "/api/status", None).await.json();
    assert_eq!(st["postgres"], "disconnected", "{st}");
    let metrics = s.http("GET", "/metrics", &[], b"").await.text();
    assert!(
        metrics.contains("\nsocketio_postgres_connected 0\n"),
        "{metrics}"
    );
}
