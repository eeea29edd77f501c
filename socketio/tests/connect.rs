//! Namespace connection: main, custom, unknown, dynamic, middlewares,
//! handshake data, connect timeout.
mod common;
use common::*;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use socketio::{ConnectError, SocketIo, SocketIoConfig};

#[tokio::test]
async fn main_namespace_answers_with_sid_and_runs_handlers() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        let _ = s.emit("auth", s.handshake().auth.clone());
    });
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.send("40").await;
    let answer = c.text().await;
    let v: serde_json::Value = serde_json::from_str(&answer[2..]).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 1, "only sid: {answer}");
    let sid = v["sid"].as_str().unwrap();
    assert_eq!(sid.len(), 20);
    assert_ne!(
        sid, c.eio_sid,
        "socket id differs from the engine session id"
    );
    assert_eq!(c.text().await, r#"42["auth",{}]"#);
}

#[tokio::test]
async fn the_connection_of_a_socket_is_its_engine_session() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        let engine = s
            .conn()
            .as_any()
            .and_then(|c| c.downcast_ref::<engineio::Socket>())
            .map(|e| e.sid().to_string())
            .unwrap_or_default();
        let _ = s.emit("engine", engine);
    });
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.send("40").await;
    assert!(c.text().await.starts_with("40"));
    assert_eq!(c.text().await, format!(r#"42["engine","{}"]"#, c.eio_sid));
}

#[tokio::test]
async fn custom_namespace_with_auth_payload() {
    let io = SocketIo::new();
    io.of("/custom").on_connection(|s| async move {
        let _ = s.emit("auth", s.handshake().auth.clone());
    });
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.join_nsp("/custom", Some(r#"{"token":"abc"}"#)).await;
    assert_eq!(c.text().await, r#"42/custom,["auth",{"token":"abc"}]"#);
}

#[tokio::test]
async fn unknown_namespace_is_refused() {
    let io = SocketIo::new();
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.send("40/random,").await;
    assert_eq!(
        c.text().await,
        r#"44/random,{"message":"Invalid namespace"}"#
    );
    // The connection stays usable for other namespaces.
    c.join_nsp("/", None).await;
}

#[tokio::test]
async fn middleware_refusal_carries_message_and_data() {
    let io = SocketIo::new();
    io.of("/").use_middleware(|s| async move {
        match s.handshake().auth.get("token").and_then(|t| t.as_str()) {
            Some("ok") => Ok(()),
            _ => Err(ConnectError::new("unauthorized").with_data(json!({"reason": "bad token"}))),
        }
    });
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.send(r#"40{"token":"no"}"#).await;
    assert_eq!(
        c.text().await,
        r#"44{"message":"unauthorized","data":{"reason":"bad token"}}"#
    );
    c.join_nsp("/", Some(r#"{"token":"ok"}"#)).await;
}

#[tokio::test]
async fn middlewares_run_in_order_and_can_store_data() {
    let io = SocketIo::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let o1 = order.clone();
    let o2 = order.clone();
    io.of("/")
        .use_middleware(move |s| {
            let o = o1.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                o.lock().unwrap().push(1);
                s.insert(String::from("user-7"));
                Ok(())
            }
        })
        .use_middleware(move |_| {
            let o = o2.clone();
            async move {
                o.lock().unwrap().push(2);
                Ok(())
            }
        })
        .on_connection(|s| async move {
            let _ = s.emit("user", s.get::<String>().unwrap_or_default());
        });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    assert_eq!(c.text().await, r#"42["user","user-7"]"#);
    assert_eq!(*order.lock().unwrap(), [1, 2]);
}

#[tokio::test]
async fn dynamic_namespaces_are_created_on_demand() {
    let io = SocketIo::new();
    let parent = io.dynamic(|name| name.starts_with("/room-"));
    parent.use_middleware(|_| async { Ok(()) });
    parent.on_connection(|s| async move {
        let _ = s.emit("nsp", s.nsp().name());
    });
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.join_nsp("/room-1", None).await;
    assert_eq!(c.text().await, r#"42/room-1,["nsp","/room-1"]"#);
    c.join_nsp("/room-2", None).await;
    assert_eq!(c.text().await, r#"42/room-2,["nsp","/room-2"]"#);
    assert_eq!(parent.children().len(), 2);
    c.send("40/other,").await;
    assert_eq!(
        c.text().await,
        r#"44/other,{"message":"Invalid namespace"}"#
    );
    // The parent emits to every child.
    parent.emit("all", "x").unwrap();
    let mut got = vec![c.text().await, c.text().await];
    got.sort();
    assert_eq!(
        got,
        [r#"42/room-1,["all","x"]"#, r#"42/room-2,["all","x"]"#]
    );
    // An emptied child is forgotten; the name can be created again.
    c.send("41/room-1,").await;
    eventually(|| parent.children().len() == 1).await;
    assert_eq!(io.namespaces().len(), 2, "/ and /room-2");
    c.join_nsp("/room-1", None).await;
    assert_eq!(c.text().await, r#"42/room-1,["nsp","/room-1"]"#);
}

#[tokio::test]
async fn handshake_exposes_query_headers_address_and_time() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        let h = s.handshake();
        let _ = s.emit(
            "hs",
            json!({
                "q": h.query("room"),
                "url": h.url,
                "host": h.headers.contains_key("host"),
                "loopback": h.address.is_some_and(|a| a.ip().is_loopback()),
                "recent": h.issued.elapsed().map(|d| d.as_secs() < 10).unwrap_or(false),
            }),
        );
    });
    let addr = serve(&io).await;
    let mut c = Client::open_query(addr, "&room=a%20b").await;
    c.join_nsp("/", None).await;
    assert_eq!(
        c.text().await,
        r#"42["hs",{"q":"a b","url":"/socket.io/?EIO=4&transport=websocket&room=a%20b","host":true,"loopback":true,"recent":true}]"#
    );
}

/// The timeout on the real driver; its exact timing, the spared joined
/// connections and each connection's own deadline are in `connect_timeout.rs`
/// on virtual time.
#[tokio::test]
async fn no_connect_within_connect_timeout_closes() {
    let io = SocketIo::builder()
        .config(SocketIoConfig::default().connect_timeout(Duration::from_millis(100)))
        .build();
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.closed().await;
}

#[tokio::test]
async fn invalid_connect_payload_closes_with_parse_error() {
    let io = SocketIo::new();
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.send("40[]").await;
    c.closed().await;
}

#[tokio::test]
async fn refused_connects_do_not_keep_the_connection_alive() {
    let io = SocketIo::builder()
        .config(SocketIoConfig::default().connect_timeout(Duration::from_millis(150)))
        .build();
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.send("40/nope,").await;
    assert_eq!(c.text().await, r#"44/nope,{"message":"Invalid namespace"}"#);
    c.closed().await;
}

#[tokio::test]
async fn refused_dynamic_children_and_their_rooms_are_forgotten() {
    let io = SocketIo::new();
    let parent = io.dynamic(|n| n.starts_with("/d-"));
    parent.use_middleware(|s| async move {
        s.join("joined-in-middleware");
        Err(ConnectError::new("no"))
    });
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    for i in 0..20 {
        c.send(&format!("40/d-{i},")).await;
        assert_eq!(c.text().await, format!(r#"44/d-{i},{{"message":"no"}}"#));
    }
    eventually(|| parent.children().is_empty()).await;
    assert_eq!(io.namespaces().len(), 1, "only /");
}

#[tokio::test]
async fn a_panicking_middleware_refuses_the_connection() {
    let io = SocketIo::new();
    io.of("/").use_middleware(|_| async move {
        if true {
            panic!("middleware bug");
        }
        Ok(())
    });
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.send("40").await;
    assert_eq!(c.text().await, r#"44{"message":"middleware error"}"#);
    // The namespace can be tried again (nothing stuck in "connecting").
    c.send("40").await;
    assert_eq!(c.text().await, r#"44{"message":"middleware error"}"#);
}

#[tokio::test]
async fn one_connection_on_many_namespaces_routes_each_packet_to_its_own() {
    // Past eight namespaces a connection's sockets move from a list to a
    // map: packets must reach the right socket on both sides of that.
    let io = SocketIo::new();
    let names: Vec<String> = (0..12).map(|i| format!("/n{i}")).collect();
    for name in &names {
        io.of(name).on_connection(|s| async move {
            s.on("ping", |s, _, _| async move {
                let _ = s.emit("pong", s.nsp().name().to_owned());
            });
        });
    }
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    for name in &names {
        c.join_nsp(name, None).await;
    }
    for name in names.iter().rev() {
        c.send(&format!(r#"42{name},["ping"]"#)).await;
        assert_eq!(c.text().await, format!(r#"42{name},["pong","{name}"]"#));
    }
    // One namespace left by the client: the others still answer, and it can
    // be joined again.
    c.send("41/n3,").await;
    c.send(r#"42/n11,["ping"]"#).await;
    assert_eq!(c.text().await, r#"42/n11,["pong","/n11"]"#);
    let n3 = io.of("/n3");
    eventually(|| n3.sockets().is_empty()).await;
    c.join_nsp("/n3", None).await;
    c.send(r#"42/n3,["ping"]"#).await;
    assert_eq!(c.text().await, r#"42/n3,["pong","/n3"]"#);
    assert_eq!(n3.sockets().len(), 1);
}
