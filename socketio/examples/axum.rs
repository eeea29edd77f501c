//! A chat whose Socket.IO endpoint and REST API share one axum app, one
//! port and one state.
//!
//! `cargo run -p socketio --example axum [ADDR]` (default 127.0.0.1:3000),
//! then:
//! - from a socket.io-client: `socket.emit("chat", "hi", (count) => ...)`:
//!   every client gets `chat` `{from, text}`, the sender's ack the history's
//!   length;
//! - `curl http://ADDR/messages`: the history (JSON, the last 100 messages);
//! - `curl -H 'content-type: application/json' -d '{"text":"hi"}'
//!   http://ADDR/messages`: appended to the history and sent to every
//!   Socket.IO client as `chat` from `"rest"`.
//!
//! The Socket.IO side is `SocketIo::layer` (feature `tower`) on
//! `/socket.io/`; the peer address comes from axum's `ConnectInfo`, which
//! `into_make_service_with_connect_info` puts in each request.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use engineio::EngineConfig;
use serde::{Deserialize, Serialize};
use socketio::{Data, SocketIo};

/// How many messages the history keeps.
const HISTORY: usize = 100;

/// One chat message.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Message {
    from: String,
    text: String,
}

/// What a `POST /messages` carries.
#[derive(Deserialize)]
struct NewMessage {
    text: String,
}

/// The state the REST routes and the Socket.IO handlers share.
#[derive(Clone)]
struct App {
    io: SocketIo,
    history: Arc<Mutex<VecDeque<Message>>>,
}

impl App {
    /// Appends `msg` (dropping the oldest beyond [`HISTORY`]), sends it to
    /// every Socket.IO client, and returns the history's length.
    fn post(&self, msg: Message) -> usize {
        let len = {
            let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
            if history.len() == HISTORY {
                history.pop_front();
            }
            history.push_back(msg.clone());
            history.len()
        };
        // Outside the lock: an emit encodes and queues for every client.
        let _ = self.io.emit("chat", Data::new().arg(&msg));
        len
    }

    fn history(&self) -> Vec<Message> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.iter().cloned().collect()
    }
}

async fn list(State(app): State<App>) -> Json<Vec<Message>> {
    Json(app.history())
}

async fn create(State(app): State<App>, Json(new): Json<NewMessage>) -> StatusCode {
    app.post(Message {
        from: "rest".into(),
        text: new.text,
    });
    StatusCode::CREATED
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let io = SocketIo::new();
    let app = App {
        io: io.clone(),
        history: Arc::default(),
    };

    let state = app.clone();
    io.of("/").on_connection(move |socket| {
        let app = state.clone();
        async move {
            let peer = socket.handshake().address;
            println!("{} connected from {peer:?}", socket.id());
            socket.on("chat", move |socket, data: Data, ack| {
                let app = app.clone();
                async move {
                    let Ok(text) = data.get::<String>(0) else {
                        let _ = socket.emit("error", "chat takes a string");
                        return;
                    };
                    let from = socket.id().as_str().to_owned();
                    let count = app.post(Message { from, text });
                    if let Some(ack) = ack {
                        let _ = ack.send(Data::new().arg(count));
                    }
                }
            });
        }
    });

    let socket_io = io
        .layer(EngineConfig::default())
        .peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0));
    let router = Router::new()
        .route("/messages", get(list).post(create))
        .with_state(app)
        .layer(socket_io);

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("chat on http://{addr}/socket.io/ and http://{addr}/messages");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = tokio::signal::ctrl_c().await;
        // Long polls and WebSockets would hold the shutdown open: end them.
        io.close();
    })
    .await
}
