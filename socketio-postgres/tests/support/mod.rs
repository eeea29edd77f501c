//! The PostgreSQL side of this crate's tests, beside the mixed-cluster
//! support they include from socketio-redis (`common`): the database (the
//! one on 127.0.0.1:5432, database `test`, or `$SOCKETIO_PG_URL`), a fresh
//! channel prefix and table per test, our server on it, Node's server on it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use socketio_postgres::tokio_postgres::{Client, NoTls};
use socketio_postgres::{PostgresAdapterConfig, PostgresCluster};

use crate::common::ours::{serve, Ours};
use crate::common::NodeServer;

/// The database of the tests.
pub fn url() -> String {
    std::env::var("SOCKETIO_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A test's own channel prefix and table (and application name, to find
/// its connections).
#[derive(Clone, Debug)]
pub struct Names {
    pub prefix: String,
    pub table: String,
    pub app: String,
}

/// Fresh names, never used by another test of any run.
pub fn names() -> Names {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tag = format!(
        "{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    Names {
        prefix: format!("sio_{tag}"),
        table: format!("sio_att_{tag}"),
        app: format!("sio-ours-{tag}"),
    }
}

/// A plain client of the database, for the tests' own queries.
pub async fn sql() -> Client {
    let (client, conn) = socketio_postgres::tokio_postgres::connect(&url(), NoTls)
        .await
        .unwrap_or_else(|e| panic!("no PostgreSQL at {} ({e}): start one", url()));
    tokio::spawn(conn);
    client
}

/// Our config for `n`, with fast heartbeats.
pub fn config(n: &Names) -> PostgresAdapterConfig {
    PostgresAdapterConfig::default()
        .channel_prefix(n.prefix.clone())
        .table_name(n.table.clone())
        .heartbeat(Duration::from_millis(500), Duration::from_secs(3))
}

/// One of our servers on `n`'s channels and table.
pub async fn ours(n: &Names) -> Ours<PostgresCluster> {
    ours_with(n, config(n)).await
}

/// One of our servers with `config`.
pub async fn ours_with(n: &Names, config: PostgresAdapterConfig) -> Ours<PostgresCluster> {
    let url = format!("{}?application_name={}", url(), n.app);
    let cluster: Arc<PostgresCluster> = PostgresCluster::connect(&url, config).await.unwrap();
    assert!(cluster.connected(), "not connected to {url}");
    let factory = cluster.factory();
    serve(cluster, factory).await
}

/// Node's server (tests/node/server.js) on `n`'s channels and table.
pub async fn node(n: &Names) -> NodeServer {
    let env = [
        ("TABLE", n.table.as_str()),
        ("HEARTBEAT_INTERVAL", "500"),
        ("HEARTBEAT_TIMEOUT", "3000"),
    ];
    NodeServer::start_with(&url(), "postgres", &n.prefix, &env).await
}

/// Drops `n`'s table.
pub async fn drop_table(n: &Names) {
    let _ = sql()
        .await
        .batch_execute(&format!("DROP TABLE IF EXISTS {}", n.table))
        .await;
}
