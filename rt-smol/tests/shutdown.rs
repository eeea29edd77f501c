//! Stopping a server: after `block_on` returns and `SmolRuntime::shutdown`,
//! the executor's tasks are cancelled, so every connection (an idle
//! keep-alive one, a session's WebSocket) is closed, and the port can be
//! bound again. The executor's extra threads end with `block_on`.

mod common;

use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use engineio::bytes::Bytes;
use engineio::{EngineConfig, Str};
use socketio_smol::async_io::{Async, Timer};
use socketio_smol::{Engine, Handler, SmolRuntime, Socket};

use common::{open_polling, Client, WsClient};

struct Echo;
impl Handler for Echo {
    fn on_message(&self, socket: &Socket, text: Str) {
        let _ = socket.send_text(text);
    }
    fn on_binary(&self, socket: &Socket, data: Bytes) {
        let _ = socket.send_binary(data);
    }
}

/// Whether the server closed `s` within 30 s: end of stream or a reset,
/// whatever it sent before (pings) skipped. A read timeout is not a close.
fn closed_by_server(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn stopped_server_closes_its_connections_and_releases_the_port() {
    let rt = SmolRuntime::new();
    let engine = Engine::new(EngineConfig::default(), Echo, &rt);
    let listener = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let (stop, stopped) = mpsc::channel::<()>();
    let (e, r) = (engine.clone(), rt.clone());
    let thread = std::thread::spawn(move || {
        let serve = async move {
            let _ = e.serve(listener).await;
        };
        let watch = async move {
            while stopped.try_recv() == Err(mpsc::TryRecvError::Empty) {
                Timer::after(Duration::from_millis(10)).await;
            }
        };
        r.block_on(2, futures_lite::future::or(serve, watch));
        r.shutdown();
    });

    // An idle keep-alive connection, after one answered request.
    let sid = open_polling(addr);
    let mut idle = Client::connect(addr);
    let a = idle.request(
        "GET",
        "/engine.io/?EIO=4&transport=polling&sid=nope",
        &[],
        b"",
    );
    assert_eq!(a.status, 400);
    // A session on a WebSocket.
    let mut ws = WsClient::connect(addr, "/engine.io/?EIO=4&transport=websocket");
    assert!(ws.read_text().starts_with("0{"), "the open packet");
    ws.send_text("4hello");
    assert_eq!(ws.read_text(), "4hello");
    assert!(
        engine.session_count() >= 2,
        "polling {sid} and the WebSocket"
    );

    drop(stop);
    thread.join().expect("the server thread ends");

    assert!(
        closed_by_server(idle.stream()),
        "keep-alive connection left open"
    );
    assert!(
        closed_by_server(ws.client().stream()),
        "WebSocket left open"
    );
    TcpListener::bind(addr).expect("the port is free again");
    assert!(rt.executor().is_none());
    // A spawn after the shutdown is dropped, not run.
    let (tx, rx) = mpsc::channel::<()>();
    rt.spawn(async move {
        let _ = tx.send(());
    });
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
}
