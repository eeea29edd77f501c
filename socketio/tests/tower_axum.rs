//! Socket.IO mounted in an axum `Router` (feature `tower`): beside the
//! app's own routes on one port, sharing the app's state both ways, over
//! polling and WebSocket, with the peer address from axum's `ConnectInfo`.
mod common;
#[path = "common/http.rs"]
mod http_client;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, State};
use axum::routing::get;
use axum::{Json, Router};
use common::{engine_config, Client};
use http_client::Polling;
use socketio::{Data, SocketIo};

/// What the REST routes and the socket handlers share.
#[derive(Clone, Default)]
struct Shared {
    notes: Arc<Mutex<Vec<String>>>,
    /// Each connection's peer address, as its handshake saw it.
    peers: Arc<Mutex<Vec<Option<SocketAddr>>>>,
}

#[derive(Clone)]
struct App {
    io: SocketIo,
    shared: Shared,
}

async fn notes(State(app): State<App>) -> Json<Vec<String>> {
    Json(app.shared.notes.lock().unwrap().clone())
}

/// Appends a note and tells every Socket.IO client.
async fn add_note(State(app): State<App>, text: String) -> &'static str {
    app.shared.notes.lock().unwrap().push(text.clone());
    app.io.emit("note", text).unwrap();
    "added"
}

/// The Socket.IO server: `add` appends a note and acks with the count;
/// `echo` answers `echo` with its arguments.
fn socket_io(shared: &Shared) -> SocketIo {
    let io = SocketIo::new();
    let shared = shared.clone();
    io.of("/").on_connection(move |socket| {
        let shared = shared.clone();
        shared
            .peers
            .lock()
            .unwrap()
            .push(socket.handshake().address);
        async move {
            socket.on("add", move |_, data: Data, ack| {
                let shared = shared.clone();
                async move {
                    let text: String = data.get(0).unwrap_or_default();
                    let count = {
                        let mut notes = shared.notes.lock().unwrap();
                        notes.push(text);
                        notes.len()
                    };
                    if let Some(ack) = ack {
                        ack.send(Data::new().arg(count)).unwrap();
                    }
                }
            });
            socket.on("echo", |socket, data, _| async move {
                socket.emit("echo", data).unwrap();
            });
        }
    });
    io
}

/// Serves `router` as axum does, with `ConnectInfo`, on 127.0.0.1:0.
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let make = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, make).await });
    addr
}

/// The app: `/hello`, `/notes` (GET lists, POST adds) and the layer.
async fn start() -> (SocketAddr, Shared) {
    let shared = Shared::default();
    let io = socket_io(&shared);
    let layer = io
        .layer(engine_config())
        .peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0));
    let app = App {
        io,
        shared: shared.clone(),
    };
    let router = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/notes", get(notes).post(add_note))
        .with_state(app)
        .layer(layer);
    (serve(router).await, shared)
}

#[tokio::test]
async fn own_routes_answer_beside_the_engine() {
    let (addr, _) = start().await;
    let hello = http_client::get(addr, "/hello").await;
    assert_eq!((hello.status, hello.body.as_str()), (200, "hello"));
    // Not the engine's path, no route: axum's own 404, not the engine's.
    let other = http_client::get(addr, "/socket.io.old/?EIO=4&transport=polling").await;
    assert_eq!((other.status, other.body.as_str()), (404, ""));
    // The engine's path: the engine answers, even its errors.
    let bad = http_client::get(addr, "/socket.io/?EIO=3&transport=polling").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.content_type.as_deref(), Some("application/json"));
    assert!(
        bad.body.contains("Unsupported protocol version"),
        "{}",
        bad.body
    );
}

#[tokio::test]
async fn polling_client_shares_state_with_rest_routes() {
    let (addr, shared) = start().await;
    let mut c = Polling::connect(addr).await;
    assert_eq!(
        shared.peers.lock().unwrap().as_slice(),
        &[Some(c.local)],
        "the handshake saw the client's address"
    );
    // Socket -> state -> REST.
    c.send(r#"421["add","from a socket"]"#).await;
    assert_eq!(c.next().await, "431[1]");
    let listed = http_client::get(addr, "/notes").await;
    assert_eq!(listed.body, r#"["from a socket"]"#);
    // REST -> state and the SocketIo in it -> socket.
    let added = http_client::post(addr, "/notes", "from REST").await;
    assert_eq!((added.status, added.body.as_str()), (200, "added"));
    assert_eq!(c.next().await, r#"42["note","from REST"]"#);
    assert_eq!(
        *shared.notes.lock().unwrap(),
        ["from a socket", "from REST"]
    );
}

#[tokio::test]
async fn websocket_client_round_trips_through_axum() {
    let (addr, shared) = start().await;
    let (mut c, _) = Client::connect(addr, "/").await;
    let local = c.ws.get_ref().local_addr().unwrap();
    assert_eq!(shared.peers.lock().unwrap().as_slice(), &[Some(local)]);
    c.send(r#"42["echo","hi",{"n":1}]"#).await;
    assert_eq!(c.text().await, r#"42["echo","hi",{"n":1}]"#);
    c.send(r#"425["add","over ws"]"#).await;
    assert_eq!(c.text().await, "435[1]");
    assert_eq!(
        http_client::get(addr, "/notes").await.body,
        r#"["over ws"]"#
    );
    http_client::post(addr, "/notes", "to ws").await;
    assert_eq!(c.text().await, r#"42["note","to ws"]"#);
}

#[tokio::test]
async fn polling_session_upgrades_to_websocket_through_axum() {
    let (addr, _) = start().await;
    let c = Polling::connect(addr).await;
    let mut ws = Client::upgrade(addr, &c.eio_sid).await;
    ws.send(r#"42["echo","upgraded"]"#).await;
    assert_eq!(ws.text().await, r#"42["echo","upgraded"]"#);
}

#[tokio::test]
async fn the_service_mounts_on_a_route_of_its_own() {
    let shared = Shared::default();
    let io = socket_io(&shared);
    let router = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route_service("/socket.io/", io.service(engine_config()));
    let addr = serve(router).await;
    assert_eq!(http_client::get(addr, "/hello").await.body, "hello");
    let mut c = Polling::connect(addr).await;
    // No peer finder: axum's ConnectInfo is not a PeerAddr.
    assert_eq!(shared.peers.lock().unwrap().as_slice(), &[None]);
    c.send(r#"42["echo",1]"#).await;
    assert_eq!(c.next().await, r#"42["echo",1]"#);
}
