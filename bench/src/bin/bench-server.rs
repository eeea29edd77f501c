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
//! of a cluster: the Redis adapter (`socketio_redis`, classic pub/sub, as
//! Node's `@socket.io/redis-adapter` `createAdapter`) carries the
//! broadcasts to the other servers on that Redis. It subscribes in the
//! background once the main namespace exists; `run.py` waits until Redis
//! lists the subscriptions before it sends load.
//!
//! One thread (the benchmark pins the server to one core, as Node is).

use std::time::Duration;

use engineio::EngineConfig;
use serde_json::Value;
use socketio::{Data, SocketIo};
use socketio_redis::{RedisAdapterConfig, RedisCluster};

#[path = "../listen.rs"]
mod listen;

fn main() -> std::io::Result<()> {
    let port = listen::port();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let io = match std::env::var("REDIS_URL") {
            Ok(url) => {
                let cluster = RedisCluster::connect(&url, RedisAdapterConfig::default())
                    .await
                    .map_err(|e| std::io::Error::other(format!("REDIS_URL {url}: {e}")))?;
                eprintln!("bench-server: Redis adapter on {url}");
                SocketIo::builder().adapter(cluster.factory()).build()
            }
            Err(_) => SocketIo::new(),
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
            .max_sessions(1_000_000);
        let listener = listen::listen(port)?;
        eprintln!("bench-server listening on 127.0.0.1:{port}");
        io.serve(listener, config).await
    })
}
