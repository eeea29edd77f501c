//! The benchmark's server on our stack; `bench/node/server.js` is the same
//! on Node's socket.io, so any load generator can drive either.
//!
//! Listens on 127.0.0.1:`$PORT` (default 3000), path `/socket.io/`,
//! `pingInterval` 25000, `pingTimeout` 20000; the main namespace is open to
//! all. Handlers:
//! - `echo` (one argument): with an ack, answer the ack with the argument
//!   and emit nothing; without, emit `echo` with it back to the sender;
//! - `broadcast` (one argument): emit `broadcast` with it to every socket of
//!   the main namespace, the sender included;
//! - `broadcast-room` (room, argument): emit `broadcast` with the argument to
//!   every socket in the room;
//! - a client whose handshake query has `room=NAME` joins room NAME.
//!
//! With `REDIS_URL` set (`redis://127.0.0.1:PORT`), the server is one node
//! of a cluster: a `socketio_redis` adapter carries the broadcasts to the
//! other servers on that Redis, chosen by `ADAPTER`: `pubsub` (the default:
//! classic pub/sub, as Node's `@socket.io/redis-adapter` `createAdapter`),
//! `sharded` (SPUBLISH / SSUBSCRIBE, as `createShardedAdapter`, dynamic
//! subscriptions, Redis 7) or `streams` (as
//! `@socket.io/redis-streams-adapter`, stream `socket.io`). With
//! `POSTGRES_URL` set instead (`postgres://user@127.0.0.1:5432/db`), the
//! `socketio_postgres` adapter (as `@socket.io/postgres-adapter`) does,
//! on channel prefix `PG_PREFIX` (default `socket.io`) and attachments table
//! `PG_TABLE` (default `socket_io_attachments`). Adapters subscribe in the
//! background once the main namespace exists; `run.py` waits until Redis or
//! PostgreSQL lists the subscriptions before it sends load.
//!
//! With `DEFLATE=1`, WebSocket connections that offer permessage-deflate get
//! it, without context takeover, for messages of 1024 bytes or more (the
//! engine's defaults, and Node's `perMessageDeflate: { threshold: 1024 }`).
//!
//! One thread (the benchmark pins the server to one core, as Node is).

use std::time::Duration;

use engineio::{EngineConfig, PerMessageDeflate};
use serde_json::Value;
use socketio::{AdapterFactory, Data, SocketIo};
use socketio_postgres::{PostgresAdapterConfig, PostgresCluster};
use socketio_redis::{RedisAdapterConfig, RedisCluster, SubscriptionMode};

#[path = "../listen.rs"]
mod listen;

fn main() -> std::io::Result<()> {
    let port = listen::port();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let io = match cluster_adapter().await? {
            Some(factory) => SocketIo::builder().adapter(factory).build(),
            None => SocketIo::new(),
        };
        // Joined before the CONNECT answer, so a broadcast sent once the
        // client is connected reaches it (as in Node, where the connection
        // handler runs synchronously with the answer).
        io.of("/").use_middleware(|socket| async move {
            if let Some(room) = socket.handshake().query("room") {
                socket.join(room);
            }
            Ok(())
        });
        io.of("/").on_connection(|socket| async move {
            socket.on("echo", |socket, data: Data, ack| async move {
                match ack {
                    Some(ack) => {
                        let _ = ack.send(data);
                    }
                    None => {
                        let _ = socket.emit("echo", data);
                    }
                }
            });
            socket.on("broadcast", |socket, data: Data, _| async move {
                let _ = socket.nsp().emit("broadcast", data);
            });
            socket.on("broadcast-room", |socket, data: Data, _| async move {
                let (args, bins) = data.into_parts();
                let mut it = args.into_iter();
                let Some(Value::String(room)) = it.next() else {
                    return;
                };
                let rest = Data::from_parts(it.collect(), bins);
                let _ = socket.nsp().to(room).emit("broadcast", rest);
            });
        });
        let config = EngineConfig::default()
            .path("/socket.io/".into())
            .ping_interval(Duration::from_millis(25_000))
            .ping_timeout(Duration::from_millis(20_000))
            .max_sessions(1_000_000)
            .per_message_deflate(
                (std::env::var("DEFLATE").as_deref() == Ok("1")).then(PerMessageDeflate::default),
            );
        let listener = listen::listen(port)?;
        eprintln!("bench-server listening on 127.0.0.1:{port}");
        io.serve(listener, config).await
    })
}

/// The cluster adapter `REDIS_URL` + `ADAPTER` or `POSTGRES_URL` ask for
/// (see the module docs); `None` for a server on its own.
async fn cluster_adapter() -> std::io::Result<Option<AdapterFactory>> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(url) = var("POSTGRES_URL") {
        let config = PostgresAdapterConfig::default()
            .channel_prefix(var("PG_PREFIX").unwrap_or_else(|| "socket.io".into()))
            .table_name(var("PG_TABLE").unwrap_or_else(|| "socket_io_attachments".into()));
        let cluster = PostgresCluster::connect(&url, config)
            .await
            .map_err(|e| std::io::Error::other(format!("POSTGRES_URL {url}: {e}")))?;
        eprintln!("bench-server: PostgreSQL adapter on {url}");
        return Ok(Some(cluster.factory()));
    }
    let Some(url) = var("REDIS_URL") else {
        return Ok(None);
    };
    let kind = var("ADAPTER").unwrap_or_else(|| "pubsub".into());
    let config = match kind.as_str() {
        "pubsub" => RedisAdapterConfig::default(),
        "sharded" => RedisAdapterConfig::default().sharded(SubscriptionMode::Dynamic),
        "streams" => RedisAdapterConfig::default().streams("socket.io"),
        other => {
            return Err(std::io::Error::other(format!(
                "ADAPTER {other:?}: pubsub, sharded or streams"
            )))
        }
    };
    let cluster = RedisCluster::connect(&url, config)
        .await
        .map_err(|e| std::io::Error::other(format!("REDIS_URL {url}: {e}")))?;
    eprintln!("bench-server: Redis {kind} adapter on {url}");
    Ok(Some(cluster.factory()))
}
