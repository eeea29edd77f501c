//! Two `socketio-server` processes on the PostgreSQL at 127.0.0.1:5432
//! (database `test`, `[postgres] enabled`, their own channel prefix and
//! table): the HTTP API's broadcasts and room emits reach the other node's
//! sockets, and `/api/status` counts both nodes. Needs that server
//! (scripts/postgres.sh starts one where none answers).

mod common;

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
    use socketio_postgres::tokio_postgres;
    let (db, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let drop = format!("DROP TABLE IF EXISTS {prefix}_att");
    db.batch_execute(&drop).await.unwrap();
}
