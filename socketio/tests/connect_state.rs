//! Invalid connection states close the whole connection, as in the
//! reference client (`ondecoded`): a CONNECT for a namespace the client
//! knows it joined (it sent something there since), and a CONNECT_ERROR
//! from the client. A CONNECT repeated before anything else, as
//! socket.io-client sends after `io.socket(nsp)` and `connect()`, is not.
mod common;
use common::*;

use std::sync::{Arc, Mutex};

use socketio::SocketIo;

type Log = Arc<Mutex<Vec<String>>>;

/// Namespaces `/` and `/custom`, each logging `nsp:reason` on disconnect.
fn logging_server() -> (SocketIo, Log) {
    let io = SocketIo::new();
    let log: Log = Arc::default();
    for name in ["/", "/custom"] {
        let l = log.clone();
        io.of(name).on_connection(move |s| {
            let log = l.clone();
            async move {
                s.on_disconnect(move |s, r| {
                    log.lock().unwrap().push(format!("{}:{r}", s.nsp().name()));
                });
            }
        });
    }
    (io, log)
}

/// Sends `packet` on a connection joined to `/` and `/custom` that sent an
/// event on each; expects the connection to close (no Socket.IO
/// DISCONNECT packet first) and both sockets to end with `forced server
/// close`.
async fn closes_everything(packet: &str) {
    let (io, log) = logging_server();
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.join_nsp("/custom", None).await;
    c.send("42[\"hi\"]").await;
    c.send("42/custom,[\"hi\"]").await;
    c.send(packet).await;
    // Only the Engine.IO close may come first: no Socket.IO DISCONNECT.
    c.closed().await;
    eventually(|| log.lock().unwrap().len() == 2).await;
    let mut got = log.lock().unwrap().clone();
    got.sort();
    assert_eq!(
        got,
        ["/:forced server close", "/custom:forced server close"],
        "after {packet}"
    );
}

#[tokio::test]
async fn a_second_connect_to_the_main_namespace_closes_the_connection() {
    closes_everything("40").await;
}

#[tokio::test]
async fn a_second_connect_to_a_custom_namespace_closes_the_connection() {
    closes_everything("40/custom,{\"token\":1}").await;
}

#[tokio::test]
async fn a_connect_error_from_the_client_closes_the_connection() {
    closes_everything("44{\"message\":\"x\"}").await;
}

/// Connecting again to a namespace after leaving it is a fresh CONNECT,
/// not a second one: the connection and its other socket stay.
#[tokio::test]
async fn connecting_again_after_leaving_is_allowed() {
    let (io, log) = logging_server();
    let addr = serve(&io).await;
    let (mut c, main) = Client::connect(addr, "/").await;
    c.join_nsp("/custom", None).await;
    c.send("41/custom,").await;
    eventually(|| log.lock().unwrap().len() == 1).await;
    c.join_nsp("/custom", None).await;
    c.nothing_before_probe(&io, &main).await;
    assert_eq!(
        *log.lock().unwrap(),
        ["/custom:client namespace disconnect"]
    );
    assert_eq!(io.of("/").sockets().len(), 1);
    assert_eq!(io.of("/custom").sockets().len(), 1);
}

/// A CONNECT sent again before anything else on the namespace is a
/// duplicate (socket.io-client's `io.socket(nsp).connect()`): ignored,
/// answered once, the connection stays.
#[tokio::test]
async fn a_repeated_connect_before_anything_else_is_ignored() {
    let (io, log) = logging_server();
    let addr = serve(&io).await;
    let (mut c, main) = Client::connect(addr, "/").await;
    c.send("40/custom,").await;
    c.send("40/custom,").await;
    assert!(c.text().await.starts_with("40/custom,{"));
    c.nothing_before_probe(&io, &main).await;
    // Known now: the same CONNECT closes the connection.
    c.send("42/custom,[\"hi\"]").await;
    c.send("40/custom,").await;
    c.closed().await;
    eventually(|| log.lock().unwrap().len() == 2).await;
}
