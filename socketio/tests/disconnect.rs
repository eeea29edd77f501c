//! Disconnection: reasons, `disconnecting` with rooms readable, server-side disconnect.
mod common;
use common::*;

use std::sync::{Arc, Mutex};

use socketio::SocketIo;

type Log = Arc<Mutex<Vec<String>>>;

fn logging_server() -> (SocketIo, Log) {
    let io = SocketIo::new();
    let log: Log = Arc::default();
    let l = log.clone();
    io.of("/").on_connection(move |s| {
        let log = l.clone();
        async move {
            s.join("room-x");
            let l1 = log.clone();
            s.on_disconnecting(move |s, r| {
                let has = s.rooms().contains(&"room-x".to_string());
                l1.lock().unwrap().push(format!("disconnecting:{r}:{has}"));
            });
            let l2 = log.clone();
            s.on_disconnect(move |s, r| {
                l2.lock()
                    .unwrap()
                    .push(format!("disconnect:{r}:{}", s.rooms().len()));
            });
            s.on("bye", |s, _, _| async move { s.disconnect(false) });
        }
    });
    (io, log)
}

#[tokio::test]
async fn client_namespace_disconnect() {
    let (io, log) = logging_server();
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send("41").await;
    eventually(|| log.lock().unwrap().len() == 2).await;
    assert_eq!(
        *log.lock().unwrap(),
        [
            "disconnecting:client namespace disconnect:true",
            "disconnect:client namespace disconnect:0"
        ]
    );
    assert!(io.of("/").sockets().is_empty());
    // The connection itself stays open: pings keep coming, the namespace can be rejoined.
    c.join_nsp("/", None).await;
}

#[tokio::test]
async fn server_disconnect_sends_disconnect_packet() {
    let (io, log) = logging_server();
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"42["bye"]"#).await;
    assert_eq!(c.text().await, "41");
    eventually(|| log.lock().unwrap().len() == 2).await;
    assert_eq!(
        log.lock().unwrap()[0],
        "disconnecting:server namespace disconnect:true"
    );
}

#[tokio::test]
async fn transport_close_disconnects_every_namespace() {
    let (io, log) = logging_server();
    io.of("/other").on_connection(|_| async {});
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.join_nsp("/other", None).await;
    drop(c);
    eventually(|| log.lock().unwrap().len() == 2).await;
    assert!(
        log.lock().unwrap()[0].starts_with("disconnecting:transport"),
        "{:?}",
        log.lock().unwrap()
    );
    eventually(|| io.of("/other").sockets().is_empty()).await;
}

#[tokio::test]
async fn server_close_shuts_down_without_disconnect_packets() {
    let (io, log) = logging_server();
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    io.close();
    // No "41": clients treat that as final and would not reconnect.
    c.closed().await;
    eventually(|| log.lock().unwrap().len() == 2).await;
    assert_eq!(
        log.lock().unwrap()[0],
        "disconnecting:server shutting down:true"
    );
}

#[tokio::test]
async fn disconnect_with_close_covers_every_namespace() {
    let (io, _) = logging_server();
    io.of("/other").on_connection(|s| async move {
        s.on("bye-all", |s, _, _| async move { s.disconnect(true) });
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.join_nsp("/other", None).await;
    c.send(r#"42/other,["bye-all"]"#).await;
    let mut got = vec![c.text().await, c.text().await];
    got.sort();
    assert_eq!(got, ["41", "41/other,"]);
    c.closed().await;
}
