//! One of our servers on a Redis cluster, for the cluster tests: its
//! sockets join the rooms their auth names and answer `echo`; server-side
//! `sse` events are recorded, and server-side `ask` is answered.

use std::sync::Arc;

use serde_json::Value;
use socketio::{AdapterFactory, Data, SocketIo, SocketIoConfig};
use tokio::sync::mpsc;

/// Our server on the cluster: sockets join the rooms their auth names and
/// answer `echo` with its argument; server-side `sse` events are recorded.
/// Generic over the cluster type (Redis's: `tests/redis_ours.rs`;
/// socketio-postgres's tests use theirs), so that this file names no
/// adapter crate.
pub struct Ours<C> {
    pub io: SocketIo,
    pub port: u16,
    pub cluster: Arc<C>,
    pub server_side: mpsc::UnboundedReceiver<Vec<Value>>,
}

/// Our server on `factory`'s adapters (of `cluster`).
pub async fn serve<C>(cluster: Arc<C>, factory: AdapterFactory) -> Ours<C> {
    serve_config(cluster, factory, SocketIoConfig::default()).await
}

/// Like [`serve`], with these server options (connection state recovery).
pub async fn serve_config<C>(
    cluster: Arc<C>,
    factory: AdapterFactory,
    config: SocketIoConfig,
) -> Ours<C> {
    let io = SocketIo::builder().config(config).adapter(factory).build();
    for nsp in ["/", "/chat"] {
        io.of(nsp).on_connection(|s| async move {
            if let Some(Value::Array(rooms)) = s.handshake().auth.get("rooms") {
                let rooms: Vec<String> = rooms
                    .iter()
                    .filter_map(|r| r.as_str().map(String::from))
                    .collect();
                s.join(rooms);
            }
            // As the Node test server: the socket's data from its auth.
            if let Some(data) = s.handshake().auth.get("data") {
                s.set_data(data.clone());
            }
            s.on("echo", |_, data: Data, ack| async move {
                if let Some(ack) = ack {
                    let _ = ack.send(data);
                }
            });
        });
    }
    io.on_server_side_with_ack("ask", |d| {
        Data::new().arg(serde_json::json!({ "from": "ours", "args": d.args() }))
    });
    let (tx, server_side) = mpsc::unbounded_channel();
    io.on_server_side("sse", move |d| {
        let _ = tx.send(d.args().to_vec());
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let engine = io.engine(engineio::EngineConfig::default());
    tokio::spawn(async move { engine.serve(listener).await });
    Ours {
        io,
        port,
        cluster,
        server_side,
    }
}

/// A server-side emit with answers from the Node server reaches our `ask`
/// listener and gets its answer, and ours gets the Node server's.
pub async fn server_side_answers_cross<C>(node: &mut super::NodeServer, ours: &Ours<C>) {
    let ask =
        serde_json::json!({"op": "serverSideEmitWithAck", "nsp": "/", "event": "ask", "args": [1]});
    let r = node.cmd_ok(ask).await;
    assert_eq!(r, serde_json::json!([{"from": "ours", "args": [1]}]));
    let answers = ours
        .io
        .server_side_emit_with_ack("ask", Data::new().arg(2))
        .await
        .unwrap();
    let answers: Vec<Value> = answers.iter().map(|a| a.args()[0].clone()).collect();
    let want = serde_json::json!({"port": node.port(), "name": "ask"});
    assert_eq!(answers, vec![want]);
}
