//! Faults: the adapter's connections killed mid-run (`pg_terminate_backend`,
//! as the shared server is not ours to restart) are re-established and the
//! cluster works again both ways; malformed notifications and rows are
//! ignored and counted; a server that cannot reach PostgreSQL still serves
//! its own clients; a node gone silent is forgotten after the heartbeat
//! timeout, and a node forgotten mid-request (closed or silent) ends the
//! requests waiting for it with the answers they have.
#[path = "../../socketio-redis/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use serde_json::json;
use socketio_postgres::tokio_postgres::Client as PgClient;
use socketio_postgres::{PostgresAdapterConfig, PostgresCluster};

/// Ends every connection of ours (by application name); how many.
async fn kill_ours(app: &str) -> i64 {
    let sql =
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1";
    support::sql()
        .await
        .query_one(sql, &[&app])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn killed_connections_come_back_and_the_cluster_works_again() {
    let n = support::names();
    let mut node = support::node(&n).await;
    let ours = support::ours(&n).await;
    let (mut on_node, _) = Client::connect(node.port(), "/", json!({"rooms": ["r"]})).await;
    let (mut on_ours, _) = Client::connect(ours.port, "/", json!({"rooms": ["r"]})).await;
    eventually!(
        "both servers see each other",
        ours.io.of("/").adapter().server_count().await.unwrap() == 2
    );
    assert_eq!(kill_ours(&n.app).await, 2);
    eventually!(
        "reconnected",
        ours.cluster.stats().reconnects.load(Ordering::Relaxed) >= 1 && ours.cluster.connected()
    );
    // Local delivery never stopped; the LISTEN is back: Node's broadcasts
    // arrive, and ours reach Node's clients.
    ours.io
        .of("/")
        .broadcast()
        .local()
        .emit("local", json!(1))
        .unwrap();
    assert_eq!(on_ours.event().await, ("local".into(), vec![json!(1)]));
    eventually!("Node's broadcast arrives again", {
        node.cmd_ok(json!({"op": "emit", "nsp": "/", "rooms": ["r"], "event": "n", "args": []}))
            .await;
        let got = tokio::time::timeout(Duration::from_millis(300), on_ours.next_event()).await;
        on_node.event().await;
        got.is_ok()
    });
    ours.io.to("r").emit("o", json!(2)).unwrap();
    assert_eq!(on_node.event().await, ("o".into(), vec![json!(2)]));
    on_ours.event().await;
    let infos = ours.io.of("/").broadcast().fetch_sockets().await.unwrap();
    assert_eq!(infos.len(), 2);
    support::drop_table(&n).await;
}

#[tokio::test]
async fn malformed_notifications_and_rows_are_ignored_and_counted() {
    let n = support::names();
    let ours = support::ours(&n).await;
    let (mut client, _) = Client::connect(ours.port, "/", json!({})).await;
    let sql = support::sql().await;
    let channel = format!("{}#/", n.prefix);
    let bad_row: i64 = sql
        .query_one(
            &format!("INSERT INTO {} (payload) VALUES ($1) RETURNING id", n.table),
            &[&vec![0xc1u8, 0x00]],
        )
        .await
        .unwrap()
        .get(0);
    let bad = [
        "garbage".to_string(),
        "{".into(),
        r#"{"type":3}"#.into(),
        r#"{"type":"3","uid":"x","nsp":"/"}"#.into(),
        r#"{"type":3,"uid":"x","nsp":"/","data":{"packet":{"type":2,"data":"notarray"}}}"#.into(),
        format!(r#"{{"uid":"x","type":3,"attachmentId":"{bad_row}"}}"#),
        r#"{"uid":"x","type":3,"attachmentId":"999999999"}"#.into(),
    ];
    for payload in &bad {
        sql.execute("SELECT pg_notify($1, $2)", &[&channel, payload])
            .await
            .unwrap();
    }
    // Then a good one, as Node's adapter sends it: delivered.
    let good = r#"{"type":3,"data":{"packet":{"type":2,"data":["ok",1],"nsp":"/"},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}"#;
    sql.execute("SELECT pg_notify($1, $2)", &[&channel, &good])
        .await
        .unwrap();
    assert_eq!(client.event().await, ("ok".into(), vec![json!(1)]));
    let malformed = ours.cluster.stats().malformed.load(Ordering::Relaxed);
    assert_eq!(malformed, bad.len() as u64);
    support::drop_table(&n).await;
}

#[tokio::test]
async fn without_postgres_a_server_serves_its_own_clients() {
    let n = support::names();
    // Nothing listens on port 1.
    let url = "postgres://postgres@127.0.0.1:1/test?connect_timeout=1";
    let config = PostgresAdapterConfig::default()
        .table_name(n.table.clone())
        .publish_timeout(Duration::from_millis(200));
    let cluster = PostgresCluster::connect(url, config).await.unwrap();
    assert!(!cluster.connected());
    let factory = cluster.factory();
    let ours = common::ours::serve(cluster, factory).await;
    let (mut client, _) = Client::connect(ours.port, "/", json!({"rooms": ["r"]})).await;
    ours.io.to("r").emit("e", json!(1)).unwrap();
    assert_eq!(client.event().await, ("e".into(), vec![json!(1)]));
    assert_eq!(ours.io.of("/").adapter().server_count().await.unwrap(), 1);
    assert!(
        ours.io
            .of("/")
            .broadcast()
            .fetch_sockets()
            .await
            .unwrap()
            .len()
            == 1
    );
    // The broadcast's remote part waited, then failed and was counted.
    let errors = || ours.cluster.stats().errors.load(Ordering::Relaxed);
    let before = errors();
    ours.io.to("r").emit("e2", json!(2)).unwrap();
    assert_eq!(client.event().await, ("e2".into(), vec![json!(2)]));
    eventually!("the publish counted as failed", errors() > before);
}

#[tokio::test]
async fn bad_urls_and_table_names_are_refused() {
    let config = PostgresAdapterConfig::default();
    assert!(PostgresCluster::connect("postgres://[bad", config.clone())
        .await
        .is_err());
    let e = PostgresCluster::connect(&support::url(), config.table_name("t; DROP TABLE x"))
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("table name"), "{e}");
}

#[tokio::test]
async fn a_silent_node_is_forgotten_after_the_heartbeat_timeout() {
    let n = support::names();
    let a = support::ours(&n).await;
    let b = support::ours(&n).await;
    async fn count(o: &common::ours::Ours<PostgresCluster>) -> usize {
        o.io.of("/").adapter().server_count().await.unwrap()
    }
    // B's initial heartbeat is answered by A: both know both at once.
    eventually!(
        "both know both",
        count(&a).await == 2 && count(&b).await == 2
    );
    // A goes silent without saying goodbye (no ADAPTER_CLOSE).
    a.cluster.close();
    let silent = tokio::time::Instant::now();
    eventually!("A forgotten", count(&b).await == 1);
    // Not before the timeout (3 s in these tests), give or take a heartbeat.
    assert!(
        silent.elapsed() >= Duration::from_secs(2),
        "{:?}",
        silent.elapsed()
    );
    support::drop_table(&n).await;
}

/// A node that only ever heartbeats (`uid`), as raw NOTIFYs on `n`'s "/"
/// channel.
async fn fake_node(sql: &PgClient, n: &support::Names, t: u64, uid: &str) {
    let channel = format!("{}#/", n.prefix);
    let msg = format!(r#"{{"type":{t},"uid":"{uid}","nsp":"/"}}"#);
    sql.execute("SELECT pg_notify($1, $2)", &[&channel, &msg])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_node_forgotten_mid_request_ends_the_wait_with_the_answers_there_are() {
    let n = support::names();
    // Requests would wait 20 s for a node that never answers.
    let config = support::config(&n).requests_timeout(Duration::from_secs(20));
    let ours = support::ours_with(&n, config).await;
    let (_client, _) = Client::connect(ours.port, "/", json!({})).await;
    let sql = support::sql().await;
    let nsp = ours.io.of("/");
    fake_node(&sql, &n, 2, "closing").await;
    eventually!(
        "the fake node counted",
        nsp.adapter().server_count().await.unwrap() == 2
    );
    // ADAPTER_CLOSE mid-fetch: the fetch ends with this node's socket.
    let started = tokio::time::Instant::now();
    let fetch = tokio::spawn({
        let io = ours.io.clone();
        async move { io.of("/").broadcast().fetch_sockets().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!fetch.is_finished());
    fake_node(&sql, &n, 13, "closing").await;
    let sockets = fetch.await.unwrap().unwrap();
    assert_eq!(sockets.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Silence mid-emit: forgotten after the heartbeat timeout (3 s), and
    // the server-side emit ends then, with no answers, not at 20 s.
    fake_node(&sql, &n, 2, "silent").await;
    eventually!(
        "the silent node counted",
        nsp.adapter().server_count().await.unwrap() == 2
    );
    let started = tokio::time::Instant::now();
    let answers = nsp
        .adapter()
        .server_side_emit_with_ack("ask".into(), socketio::Data::new())
        .await
        .unwrap();
    assert!(answers.is_empty());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(ours.cluster.stats().timeouts.load(Ordering::Relaxed), 0);
    support::drop_table(&n).await;
}
