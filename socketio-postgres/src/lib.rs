//! Socket.IO cluster adapter over PostgreSQL, wire-compatible with Node's
//! `@socket.io/postgres-adapter` 0.5 and `@socket.io/postgres-emitter`:
//! Node servers and ours share one database, and every cross-node
//! operation (broadcasts with rooms, except and flags, broadcasts with
//! acks, remote join, leave, disconnect and fetch, server-side emit with
//! or without answers, server count) works in both directions.
//! Messages go by `NOTIFY` on one channel per namespace; those with binary
//! or too big for a NOTIFY go through the attachments table. `PROTOCOL.md`
//! in this crate describes them.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio_postgres::{PostgresAdapterConfig, PostgresCluster};
//!
//! let url = "postgres://postgres@127.0.0.1:5432/test";
//! let cluster = PostgresCluster::connect(url, PostgresAdapterConfig::default()).await?;
//! let io = socketio::SocketIo::builder().adapter(cluster.factory()).build();
//! io.of("/").on_connection(|socket| async move { socket.join("lobby") });
//! // io.to("lobby").emit(..) now reaches the lobby on every server.
//! # Ok(()) }
//! ```
//!
//! The adapter runs on tokio (the runtime of its client, tokio-postgres).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod adapter;
mod cluster;
mod config;
pub mod wire;

use std::sync::Arc;

use socketio::{AdapterFactory, WeakNamespace};

pub use adapter::PostgresAdapter;
pub use cluster::{PostgresCluster, SetupError};
pub use config::PostgresAdapterConfig;
pub use socketio_cluster::Stats;
pub use tokio_postgres;

impl PostgresCluster {
    /// The factory to give `SocketIo::builder().adapter(..)`: one
    /// [`PostgresAdapter`] per namespace.
    pub fn factory(self: &Arc<Self>) -> AdapterFactory {
        let cluster = self.clone();
        Arc::new(move |nsp: WeakNamespace| Arc::new(PostgresAdapter::new(&cluster, nsp)))
    }
}
