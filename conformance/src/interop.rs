//! The server the real-client interop tests drive (`conformance sio-interop`).
//!
//! Path `/socket.io/`, `pingInterval` 500 ms, `pingTimeout` 400 ms, CORS
//! any origin, connection state recovery on (10 s). Handlers:
//! - middleware on `/`: `auth.token == "bad"` is refused with
//!   `connect_error` `{message: "unauthorized", data: {reason: "bad token"}}`;
//! - on connection `/`: emit `welcome` `{id, recovered}`;
//! - `echo` (any args, binary too): emit `echo` with the same args;
//! - `ack` (any args) with ack: ack with the same args;
//! - `ask`: emit `question` `{q: 42}` with ack (2 s); then emit `answer`
//!   with the client's ack args, or `answer-timeout`;
//! - `join` (room) with ack: join, ack with the socket's rooms (sorted);
//! - `leave` (room): leave;
//! - `to-room` (room, args...): emit `room-message` with the args after
//!   the room (binary too) to the room;
//! - `broadcast` (msg): emit `broadcast` msg to every other socket;
//! - `broadcast-ack` with ack: emit `ping-all` to every socket with ack
//!   (2 s), then ack with the number of answers;
//! - `volatile` (msg): volatile emit `volatile` msg to every socket;
//! - `disconnect-me`: server-side namespace disconnect;
//! - `drop-me`: broadcast `tick` 1, close the connection (the client
//!   reconnects), and 100 ms later broadcast `missed` 2 (recovery replays it);
//! - `/custom`: the same middleware as `/` (socket.io v2 clients give a
//!   namespace its auth as a query: `io("/custom", {query: {token}})`),
//!   emit `welcome-custom`; dynamic `/dyn-*`: emit `welcome-dyn` with the name.
//!
//! The same server speaks either parser ([`sio_interop_server_using`]):
//! the JSON one by default, msgpack for `socket.io-msgpack-parser` clients.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use socketio::{ConnectError, Data, Parser, RecoveryConfig, Runtime, SocketIo, SocketIoConfig};

/// The interop server, with connection state recovery.
pub fn sio_interop_server() -> SocketIo {
    sio_interop_server_with(true)
}

/// The interop server; without `recovery`, events carry no recovery offset
/// (clients that do not know about recovery, like python-socketio, would see
/// it as an extra argument, as with the reference server).
pub fn sio_interop_server_with(recovery: bool) -> SocketIo {
    sio_interop_server_using(recovery, Parser::Json)
}

/// The interop server with `parser` (`conformance sio-interop --parser
/// msgpack`), with or without recovery.
pub fn sio_interop_server_using(recovery: bool, parser: Parser) -> SocketIo {
    sio_interop_server_on(recovery, parser, Arc::new(socketio::TokioRuntime))
}

/// [`sio_interop_server_using`] on `runtime`.
pub fn sio_interop_server_on(
    recovery: bool,
    parser: Parser,
    runtime: Arc<dyn Runtime>,
) -> SocketIo {
    let config = SocketIoConfig::default()
        .parser(parser)
        .recovery(recovery.then_some(RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(10),
            skip_middlewares: true,
        }));
    let io = SocketIo::builder()
        .config(config)
        .runtime(runtime.clone())
        .build();
    let main = io.of("/");
    main.use_middleware(|socket| async move { refuse_bad_token(&socket) });
    let io2 = io.clone();
    main.on_connection(move |socket| {
        let io = io2.clone();
        let runtime = runtime.clone();
        async move {
            let _ = socket.emit(
                "welcome",
                json!({ "id": socket.public_id(), "recovered": socket.recovered() }),
            );
            socket.on("echo", |s, data, _| async move {
                let _ = s.emit("echo", data);
            });
            socket.on("ack", |_, data, ack| async move {
                if let Some(ack) = ack {
                    let _ = ack.send(data);
                }
            });
            socket.on("ask", |s, _, _| async move {
                match s
                    .emit_with_ack("question", json!({ "q": 42 }), Duration::from_secs(2))
                    .await
                {
                    Ok(answer) => {
                        let _ = s.emit("answer", answer);
                    }
                    Err(e) => {
                        let _ = s.emit("answer-timeout", e.to_string());
                    }
                }
            });
            socket.on("join", |s, data, ack| async move {
                if let Ok(room) = data.get::<String>(0) {
                    s.join(room);
                }
                let mut rooms = s.rooms();
                rooms.sort();
                if let Some(ack) = ack {
                    let _ = ack.send(json!(rooms));
                }
            });
            socket.on("leave", |s, data, _| async move {
                if let Ok(room) = data.get::<String>(0) {
                    s.leave(&room);
                }
            });
            socket.on("to-room", |s, data, _| async move {
                if let Ok(room) = data.get::<String>(0) {
                    // The room is a string: every attachment belongs to
                    // the args after it.
                    let (mut args, attachments) = data.into_parts();
                    args.remove(0);
                    let msg = Data::from_parts(args, attachments);
                    let _ = s.nsp().to(room).emit("room-message", msg);
                }
            });
            socket.on("uncompressed", |s, data, _| async move {
                // `compress(false)`: to this socket's own room, then to
                // the whole namespace, then the same to everyone again
                // compressible (the control).
                let nsp = s.nsp();
                let own = s.public_id().to_owned();
                let _ = nsp.to(own).compress(false).emit("plain-own", data.clone());
                let _ = nsp
                    .broadcast()
                    .compress(false)
                    .emit("plain-all", data.clone());
                let _ = nsp.broadcast().emit("deflated-all", data);
            });
            socket.on("broadcast", |s, data, _| async move {
                let _ = s.broadcast().emit("broadcast", data);
            });
            socket.on("broadcast-ack", |s, _, ack| async move {
                let answers = s
                    .nsp()
                    .broadcast()
                    .emit_with_ack("ping-all", Data::new(), Duration::from_secs(2))
                    .await;
                let n = answers
                    .map(|v| v.iter().filter(|r| r.is_ok()).count())
                    .unwrap_or(0);
                if let Some(ack) = ack {
                    let _ = ack.send(json!(n));
                }
            });
            socket.on("volatile", |s, data, _| async move {
                let _ = s.nsp().broadcast().volatile().emit("volatile", data);
            });
            socket.on("disconnect-me", |s, _, _| async move {
                s.disconnect(false);
            });
            let io = io.clone();
            socket.on("drop-me", move |s, _, _| {
                let io = io.clone();
                let runtime = runtime.clone();
                async move {
                    let _ = io.emit("tick", json!(1));
                    s.close_connection();
                    runtime.sleep(Duration::from_millis(100)).await;
                    let _ = io.emit("missed", json!(2));
                }
            });
        }
    });
    let custom = io.of("/custom");
    custom.use_middleware(|socket| async move { refuse_bad_token(&socket) });
    custom.on_connection(|socket| async move {
        let _ = socket.emit("welcome-custom", json!({ "id": socket.public_id() }));
    });
    io.dynamic(|name| name.starts_with("/dyn-"))
        .on_connection(|socket| async move {
            let _ = socket.emit("welcome-dyn", socket.nsp().name());
        });
    io
}

/// The middleware of `/` and `/custom`: `auth.token == "bad"` is refused.
fn refuse_bad_token(socket: &socketio::Socket) -> Result<(), ConnectError> {
    let token = socket
        .handshake()
        .auth
        .get("token")
        .and_then(|t| t.as_str());
    if token == Some("bad") {
        return Err(ConnectError::new("unauthorized").with_data(json!({ "reason": "bad token" })));
    }
    Ok(())
}

/// The interop engine configuration.
pub fn sio_interop_config() -> engineio::EngineConfig {
    engineio::EngineConfig::default()
        .ping_interval(Duration::from_millis(500))
        .ping_timeout(Duration::from_millis(400))
        .cors(engineio::Cors::any())
        // socket.io v2 clients (Engine.IO 3) too.
        .allow_eio3(true)
        // Their JSONP polling (`forceJSONP`) too.
        .allow_jsonp(true)
        .per_message_deflate(Some(engineio::PerMessageDeflate::default()))
}
