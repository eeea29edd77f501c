//! Connection state recovery across servers on the Redis Streams adapter:
//! a socket.io-client connected to server A loses its transport, A goes on
//! broadcasting, the client reconnects to server B; it gets `recovered`,
//! its id, rooms and data back, and every event it missed once, in order.
//! A and B: Node's (`@socket.io/redis-streams-adapter` 0.3) and ours, in
//! each combination with one of ours.
mod common;
#[path = "common/redis_ours.rs"]
mod redis_ours;

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::ours::serve_config;
use common::*;
use redis_ours::Ours;
use serde_json::{json, Value};
use socketio::{RecoveryConfig, SocketIoConfig};
use socketio_redis::{RedisAdapterConfig, RedisCluster};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

async fn ours(redis: &Redis) -> Ours {
    ours_at(&redis.url()).await
}

async fn ours_at(url: &str) -> Ours {
    let config = RedisAdapterConfig::default()
        .streams("socket.io")
        .block_time(Duration::from_secs(1));
    let cluster = RedisCluster::connect(url, config).await.unwrap();
    let factory = cluster.factory();
    let mut sio = SocketIoConfig::default();
    sio.recovery = Some(RecoveryConfig::default());
    serve_config(cluster, factory, sio).await
}

async fn node(redis: &Redis) -> NodeServer {
    NodeServer::start_with(&redis.url(), "streams", "socket.io", &[("RECOVERY", "1")]).await
}

/// A server of either kind, as the test drives it.
enum Server {
    Node(Box<NodeServer>),
    Ours(Ours),
}

impl Server {
    fn port(&self) -> u16 {
        match self {
            Server::Node(n) => n.port(),
            Server::Ours(o) => o.port,
        }
    }

    /// Broadcasts `m(n)` to room `room`.
    async fn emit(&mut self, room: &str, n: u64) {
        match self {
            Server::Node(s) => {
                let cmd =
                    json!({"op": "emit", "nsp": "/", "rooms": [room], "event": "m", "args": [n]});
                s.cmd_ok(cmd).await;
            }
            Server::Ours(o) => o.io.to(room).emit("m", json!(n)).unwrap(),
        }
    }

    /// The ids of the sockets `room` holds on every server, seen from here.
    async fn fetch(&mut self, room: &str) -> Vec<Value> {
        match self {
            Server::Node(s) => {
                let r = s
                    .cmd_ok(json!({"op": "fetchSockets", "nsp": "/", "rooms": [room]}))
                    .await;
                r.as_array().cloned().unwrap_or_default()
            }
            Server::Ours(o) => {
                let sockets = o.io.to(room).fetch_sockets().await.unwrap();
                sockets
                    .iter()
                    .map(|s| json!({"id": s.id.to_string(), "data": s.data}))
                    .collect()
            }
        }
    }
}

/// recover-client.js, and its lines.
struct RecoveringClient {
    child: Child,
    lines: mpsc::UnboundedReceiver<Value>,
}

impl RecoveringClient {
    fn start(a: u16, b: u16, auth: Value) -> RecoveringClient {
        let mut child = Command::new("node")
            .arg(node_dir().join("recover-client.js"))
            .current_dir(node_dir())
            .env("A_URL", format!("http://127.0.0.1:{a}"))
            .env("B_URL", format!("http://127.0.0.1:{b}"))
            .env("AUTH", auth.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut out = BufReader::new(out).lines();
            while let Ok(Some(l)) = out.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&l) {
                    let _ = tx.send(v);
                }
            }
        });
        RecoveringClient { child, lines }
    }

    async fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// The next line.
    async fn any(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(20), self.lines.recv())
            .await
            .unwrap_or_else(|_| panic!("recover-client.js printed nothing within 20 s"))
            .expect("recover-client.js exited")
    }

    /// The next line, whose `event` must be `kind`.
    async fn next(&mut self, kind: &str) -> Value {
        let v = self.any().await;
        assert_eq!(v["event"], kind, "{v}");
        v
    }

    /// Nothing more arrives within `ms`.
    async fn quiet(&mut self, ms: u64) {
        let r = tokio::time::timeout(Duration::from_millis(ms), self.lines.recv()).await;
        assert!(r.is_err(), "unexpected {:?}", r);
    }
}

/// The scenario: connect to `a`, get m(1), lose the transport, `a` emits
/// m(2..=4) to the client's room, reconnect to `b`: recovered with the same
/// id, m(2), m(3), m(4) once each in order, then live m(5) from `b`.
async fn recovers(mut a: Server, mut b: Server) {
    let auth = json!({"rooms": ["r1"], "data": {"user": "u1"}});
    let mut c = RecoveringClient::start(a.port(), b.port(), auth);
    let first = c.next("connect").await;
    assert_eq!(first["recovered"], false);
    let id = first["id"].as_str().unwrap().to_owned();
    a.emit("r1", 1).await;
    let m1 = c.next("msg").await;
    assert_eq!(m1["args"][0], 1);
    assert!(
        m1["args"][1].is_string(),
        "an offset comes with the event: {m1}"
    );
    c.send("drop").await;
    c.next("disconnect").await;
    for n in 2..=4 {
        a.emit("r1", n).await;
    }
    // Not for this client: another room.
    a.emit("other", 99).await;
    // Let the entries reach the stream (ours appends in the background).
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.send("reconnect").await;
    // Node's server and ours write the missed packets before the CONNECT
    // answer: the client buffers them and emits them before `connect` (an
    // answer first would print `connect` first).
    let mut missed = Vec::new();
    for _ in 2..=4 {
        missed.push(c.next("msg").await["args"][0].clone());
    }
    let again = c.next("connect").await;
    assert_eq!(again["recovered"], true, "{again}");
    assert_eq!(again["id"], id.as_str());
    assert_eq!(missed, [json!(2), json!(3), json!(4)]);
    c.quiet(300).await;
    // Back in its room with its data, on the server it reconnected to.
    eventually!("the recovered socket is in r1 with its data", {
        let sockets = b.fetch("r1").await;
        sockets
            .iter()
            .any(|s| s["id"] == id.as_str() && s["data"] == json!({"user": "u1"}))
    });
    b.emit("r1", 5).await;
    assert_eq!(c.next("msg").await["args"][0], 5);
    c.quiet(200).await;
}

#[tokio::test]
async fn from_node_to_ours() {
    let redis = Redis::start().await;
    let a = Server::Node(Box::new(node(&redis).await));
    let b = Server::Ours(ours(&redis).await);
    recovers(a, b).await;
}

#[tokio::test]
async fn from_ours_to_node() {
    let redis = Redis::start().await;
    let a = Server::Ours(ours(&redis).await);
    let b = Server::Node(Box::new(node(&redis).await));
    recovers(a, b).await;
}

#[tokio::test]
async fn from_ours_to_ours() {
    let redis = Redis::start().await;
    let a = Server::Ours(ours(&redis).await);
    let b = Server::Ours(ours(&redis).await);
    recovers(a, b).await;
}

#[tokio::test]
async fn an_unknown_offset_connects_anew() {
    let redis = Redis::start().await;
    let mut a = Server::Ours(ours(&redis).await);
    let b = Server::Ours(ours(&redis).await);
    let mut c = RecoveringClient::start(a.port(), b.port(), json!({"rooms": ["r1"]}));
    let first = c.next("connect").await;
    a.emit("r1", 1).await;
    c.next("msg").await;
    // The stream is gone: the client's offset is no longer in it.
    redis.cmd(&["DEL", "socket.io"]).await;
    c.send("drop").await;
    c.next("disconnect").await;
    c.send("reconnect").await;
    let again = c.next("connect").await;
    assert_eq!(again["recovered"], false, "{again}");
    assert_ne!(again["id"], first["id"]);
}

/// A TCP proxy to `redis` that, while `armed`, cuts every connection
/// that sends the replay's XRANGE (to `+`; the offset check's XRANGE names
/// the offset twice); its URL.
async fn replay_cutter(redis: &Redis, armed: Arc<AtomicBool>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = format!("127.0.0.1:{}", redis.port());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                continue;
            };
            let armed = armed.clone();
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let down = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                });
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match tokio::io::AsyncReadExt::read(&mut cr, &mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let chunk = &buf[..n];
                    let has = |needle: &[u8]| chunk.windows(needle.len()).any(|w| w == needle);
                    if armed.load(Ordering::Relaxed) && has(b"XRANGE\r\n") && has(b"\r\n+\r\n") {
                        break;
                    }
                    if sw.write_all(chunk).await.is_err() {
                        break;
                    }
                }
                down.abort();
            });
        }
    });
    format!("redis://127.0.0.1:{port}")
}

/// The session is still kept and the client's offset still in the stream,
/// but reading what it missed fails (the connection to Redis drops at
/// each try): the client gets a fresh session, as the reference gives when
/// its `restoreSession` fails, not `recovered` without its missed packets.
#[tokio::test]
async fn a_failing_replay_connects_anew() {
    let redis = Redis::start().await;
    let mut a = Server::Ours(ours(&redis).await);
    let armed = Arc::new(AtomicBool::new(false));
    let url = replay_cutter(&redis, armed.clone()).await;
    let b = Server::Ours(ours_at(&url).await);
    let mut c = RecoveringClient::start(a.port(), b.port(), json!({"rooms": ["r1"]}));
    let first = c.next("connect").await;
    a.emit("r1", 1).await;
    c.next("msg").await;
    c.send("drop").await;
    c.next("disconnect").await;
    a.emit("r1", 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    armed.store(true, Ordering::Relaxed);
    c.send("reconnect").await;
    let again = c.next("connect").await;
    assert_eq!(again["recovered"], false, "{again}");
    assert_ne!(again["id"], first["id"]);
    c.quiet(300).await;
    // The session was taken: the same client cannot recover it later.
    let keys = redis.cmd(&["KEYS", "sio:session:*"]).await;
    assert!(
        matches!(&keys, Resp::Array(Some(k)) if k.is_empty()),
        "{keys:?}"
    );
}
