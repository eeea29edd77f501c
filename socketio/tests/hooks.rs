//! The builder's request hooks on the wire (`allow_request`,
//! `initial_headers`, `headers`) and the request headers each received
//! event carries (`message_headers`), over polling and WebSocket.
mod common;
#[path = "common/http.rs"]
mod http_client;
use common::*;
use http_client::{request_with, sid_after, Reply};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use engineio::{Refusal, RequestHead};
use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, StatusCode};
use socketio::{Data, SocketIo};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response as WsResponse;
use tokio_tungstenite::WebSocketStream;

/// One polling request with these `headers`.
async fn polling(
    addr: SocketAddr,
    method: &str,
    sid: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    request_with(addr, method, &http_client::polling(sid), headers, body).await
}

/// Opens a polling session and connects it to `/`; returns its sid.
async fn polling_connect(addr: SocketAddr, headers: &[(&str, &str)]) -> String {
    let open = polling(addr, "GET", None, headers, "").await;
    assert_eq!(open.status, 200, "{}", open.body);
    let sid = sid_after("0", &open.body);
    assert_eq!(
        polling(addr, "POST", Some(&sid), headers, "40").await.body,
        "ok"
    );
    let answer = polling(addr, "GET", Some(&sid), headers, "").await;
    assert!(answer.body.starts_with("40{"), "{}", answer.body);
    sid
}

/// A WebSocket handshake with one extra request header.
async fn ws_with(
    addr: SocketAddr,
    name: &'static str,
    value: &'static str,
) -> (WebSocketStream<TcpStream>, WsResponse) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert(name, HeaderValue::from_static(value));
    tokio_tungstenite::client_async(req, stream).await.unwrap()
}

fn all<'a>(h: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    h.get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect()
}

/// Refuses handshakes without `x-token` (401), adds `first=<sid>` to
/// handshakes and `x-answer: <method>` to every successful answer.
fn hooked() -> SocketIo {
    SocketIo::builder()
        .allow_request(|info| async move {
            match info.headers.contains_key("x-token") {
                true => Ok(()),
                false => {
                    Err(Refusal::forbidden("token please").with_status(StatusCode::UNAUTHORIZED))
                }
            }
        })
        .initial_headers(|head: &RequestHead<'_>, h: &mut HeaderMap| {
            let v = format!("first={}", head.sid);
            h.append(SET_COOKIE, HeaderValue::from_str(&v).unwrap());
        })
        .headers(|head: &RequestHead<'_>, h: &mut HeaderMap| {
            h.insert(
                "x-answer",
                HeaderValue::from_str(head.method.as_str()).unwrap(),
            );
        })
        .build()
}

#[tokio::test]
async fn builder_hooks_reach_the_wire() {
    let io = hooked();
    assert!(io.hooks().allow_request_hook().is_some());
    assert!(!io.hooks().keeps_message_headers());
    let addr = serve(&io).await;
    let refused = polling(addr, "GET", None, &[], "").await;
    assert_eq!(refused.status, 401);
    let body: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"code": 4, "message": "token please"})
    );
    assert!(refused.headers.get("x-answer").is_none());

    let token = [("x-token", "t")];
    let open = polling(addr, "GET", None, &token, "").await;
    let sid = &sid_after("0", &open.body);
    assert_eq!(all(&open.headers, "set-cookie"), [format!("first={sid}")]);
    assert_eq!(all(&open.headers, "x-answer"), ["GET"]);
    let post = polling(addr, "POST", Some(sid), &token, "40").await;
    assert_eq!(post.body, "ok");
    assert_eq!(all(&post.headers, "x-answer"), ["POST"]);
    assert!(post.headers.get(SET_COOKIE).is_none());
    let get = polling(addr, "GET", Some(sid), &token, "").await;
    assert!(get.body.starts_with("40{"), "{}", get.body);
    assert_eq!(all(&get.headers, "x-answer"), ["GET"]);

    // The WebSocket handshake's 101.
    let (_ws, resp) = ws_with(addr, "x-token", "t").await;
    assert_eq!(all(resp.headers(), "x-answer"), ["GET"]);
    assert!(all(resp.headers(), "set-cookie")[0].starts_with("first="));
    // Refused over WebSocket too.
    let stream = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    match tokio_tungstenite::client_async(url, stream).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED)
        }
        other => panic!("not refused: {:?}", other.map(|(_, r)| r)),
    }
}

/// What the handlers saw: `(who, x-request-id)`.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

fn note(seen: &Seen, who: &str, data: &Data) {
    let id = data
        .request_headers()
        .map_or("none".to_owned(), |h| match h.get("x-request-id") {
            Some(v) => v.to_str().unwrap().to_owned(),
            None => "-".to_owned(),
        });
    seen.lock().unwrap().push((who.to_owned(), id));
}

/// A server whose `/` sockets note every `id` event (in a packet
/// middleware and in the handler) and run `slow` concurrently, behind
/// `gate`.
fn noting(keep: bool, seen: &Seen, gate: &Arc<Gate>) -> SocketIo {
    let io = SocketIo::builder().message_headers(keep).build();
    let (seen, gate) = (seen.clone(), gate.clone());
    io.of("/").on_connection(move |s| {
        let (seen, gate) = (seen.clone(), gate.clone());
        async move {
            let mw = seen.clone();
            s.use_packet(move |_, event, data| {
                note(&mw, &format!("use_packet {event}"), data);
                Ok(())
            });
            let on = seen.clone();
            s.on("id", move |_, data: Data, _| {
                note(&on, "id", &data);
                async {}
            });
            s.on_concurrent("slow", move |_, data: Data, _| {
                let (seen, gate) = (seen.clone(), gate.clone());
                async move {
                    gate.wait().await;
                    note(&seen, "slow", &data);
                }
            });
        }
    });
    io
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn handlers_see_the_headers_of_the_post_that_carried_each_event() {
    let (seen, gate) = (Seen::default(), Arc::new(Gate::default()));
    let io = noting(true, &seen, &gate);
    assert!(io.hooks().keeps_message_headers());
    let addr = serve(&io).await;
    let sid = polling_connect(addr, &[]).await;
    let post = |id: &'static str, body: &'static str| {
        let sid = sid.clone();
        async move {
            let r = polling(addr, "POST", Some(&sid), &[("x-request-id", id)], body).await;
            assert_eq!(r.body, "ok");
        }
    };
    // A concurrent handler still waiting when the next POST's event runs
    // keeps its own request's headers.
    post("a", r#"42["slow"]"#).await;
    eventually(|| seen.lock().unwrap().len() == 1).await;
    post("b", r#"42["id"]"#).await;
    eventually(|| seen.lock().unwrap().len() == 3).await;
    gate.open();
    // A binary event keeps the headers of the POST with its first part.
    post("c", "451-[\"id\",{\"_placeholder\":true,\"num\":0}]").await;
    post("d", "bAQI=").await;
    eventually(|| seen.lock().unwrap().len() == 6).await;
    assert_eq!(
        *seen.lock().unwrap(),
        pairs(&[
            ("use_packet slow", "a"),
            ("use_packet id", "b"),
            ("id", "b"),
            ("slow", "a"),
            ("use_packet id", "c"),
            ("id", "c"),
        ])
    );
}

#[tokio::test]
async fn over_websocket_handlers_see_the_handshake_headers() {
    let (seen, gate) = (Seen::default(), Arc::new(Gate::default()));
    let addr = serve(&noting(true, &seen, &gate)).await;
    let (ws, _) = ws_with(addr, "x-request-id", "handshake").await;
    let mut c = Client {
        ws,
        eio_sid: String::new(),
    };
    c.text().await;
    c.join_nsp("/", None).await;
    c.send(r#"42["id"]"#).await;
    eventually(|| seen.lock().unwrap().len() == 2).await;
    assert_eq!(
        *seen.lock().unwrap(),
        pairs(&[("use_packet id", "handshake"), ("id", "handshake")])
    );
}

#[tokio::test]
async fn without_message_headers_events_carry_none() {
    let (seen, gate) = (Seen::default(), Arc::new(Gate::default()));
    let addr = serve(&noting(false, &seen, &gate)).await;
    let sid = polling_connect(addr, &[]).await;
    let r = polling(
        addr,
        "POST",
        Some(&sid),
        &[("x-request-id", "a")],
        r#"42["id"]"#,
    )
    .await;
    assert_eq!(r.body, "ok");
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"42["id"]"#).await;
    eventually(|| seen.lock().unwrap().len() == 4).await;
    assert!(seen.lock().unwrap().iter().all(|(_, id)| id == "none"));
}
