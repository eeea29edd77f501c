//! The application's request hooks on the wire: `allow_request` refusals
//! (status, body, CORS), `initial_headers` and `headers` on polling answers
//! and WebSocket 101s, and the headers each message came with.
mod common;
use common::*;

use std::sync::{Arc, Mutex};

use engineio::bytes::Bytes;
use engineio::{Cookie, Cors, CorsOrigins, Engine, Handler, Hooks, Refusal, Socket, Str};
use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, StatusCode};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response as WsResponse;

fn values<'a>(r: &'a Resp, name: &str) -> Vec<&'a str> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn ws_values<'a>(r: &'a WsResponse, name: &str) -> Vec<&'a str> {
    r.headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect()
}

/// A WebSocket handshake with extra request headers; the socket and the
/// server's answer, or the answer of a refusal.
async fn ws_with(
    addr: std::net::SocketAddr,
    target: &str,
    headers: &[(&'static str, &'static str)],
) -> Result<(Ws, WsResponse), WsResponse> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("ws://{addr}{target}")
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(*k, HeaderValue::from_static(v));
    }
    match tokio_tungstenite::client_async(req, stream).await {
        Ok(ok) => Ok(ok),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            Err(resp.map(|_| None::<Vec<u8>>))
        }
        Err(e) => panic!("websocket handshake failed: {e}"),
    }
}

/// Adds `first=<sid>` to handshakes and `x-answer: <method> <transport>`
/// to every successful answer.
fn hooked(config: engineio::EngineConfig) -> Engine {
    let hooks = Hooks::new()
        .initial_headers(|head, h| {
            let v = format!("first={}", head.sid);
            h.append(SET_COOKIE, HeaderValue::from_str(&v).unwrap());
        })
        .headers(|head, h| {
            let v = format!("{} {}", head.method, head.transport.as_str());
            h.insert("x-answer", HeaderValue::from_str(&v).unwrap());
        });
    Engine::builder(config)
        .hooks(hooks)
        .build(Recorder::default())
}

#[tokio::test]
async fn refusal_chooses_status_and_message_and_keeps_cors() {
    let cors = Cors {
        origins: CorsOrigins::List(vec!["http://app.test".into()]),
        ..Cors::default()
    };
    let engine = Engine::builder(fast_config().cors(cors))
        .allow_request(|info| async move {
            match info.headers.get("x-token") {
                Some(_) => {
                    Err(Refusal::forbidden("slow down").with_status(StatusCode::TOO_MANY_REQUESTS))
                }
                None => Err(Refusal::forbidden("who are you")),
            }
        })
        .build(Recorder::default());
    let srv = start_engine(engine, Recorder::default()).await;
    let origin = ("Origin", "http://app.test");
    let r = request(
        srv.addr,
        "GET",
        &eio(None, "polling"),
        &[origin, ("x-token", "t")],
        b"",
    )
    .await;
    r.assert_error(429, 4);
    assert_eq!(r.json()["message"], "slow down");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.test")
    );
    let r = request(srv.addr, "GET", &eio(None, "polling"), &[origin], b"").await;
    r.assert_error(403, 4);
    assert_eq!(r.json()["message"], "who are you");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.test")
    );
    // The same status over WebSocket.
    let refused = ws_with(srv.addr, &eio(None, "websocket"), &[("x-token", "t")]).await;
    let resp = refused.expect_err("refused");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(srv.engine.session_count(), 0);
}

#[tokio::test]
async fn polling_answers_get_the_hooks_headers() {
    let srv = start_engine(
        hooked(fast_config().cookie(Some(Cookie::default()))),
        Recorder::default(),
    )
    .await;
    let r = get(srv.addr, &eio(None, "polling")).await;
    assert_eq!(r.status, 200);
    let sid = serde_json::from_str::<serde_json::Value>(&r.text()[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    // The io cookie first, then the hook's: both kept.
    assert_eq!(
        values(&r, "set-cookie"),
        [
            format!("io={sid}; Path=/; HttpOnly; SameSite=Lax"),
            format!("first={sid}")
        ]
    );
    assert_eq!(values(&r, "x-answer"), ["GET polling"]);
    // A POST's ok and a GET's payload: `headers` only.
    let p = post(srv.addr, &eio(Some(&sid), "polling"), b"4hi").await;
    assert_eq!(p.text(), "ok");
    assert_eq!(values(&p, "x-answer"), ["POST polling"]);
    assert!(values(&p, "set-cookie").is_empty());
    let g = get(srv.addr, &eio(Some(&sid), "polling")).await;
    assert_eq!(g.text(), "4hi");
    assert_eq!(values(&g, "x-answer"), ["GET polling"]);
    assert!(values(&g, "set-cookie").is_empty());
    // Error answers get neither.
    let bad = get(srv.addr, &eio(Some("AAAAAAAAAAAAAAAAAAAA"), "polling")).await;
    bad.assert_error(400, 1);
    assert!(values(&bad, "x-answer").is_empty());
    let bad = get(srv.addr, "/engine.io/?EIO=3&transport=polling").await;
    assert!(values(&bad, "x-answer").is_empty() && values(&bad, "set-cookie").is_empty());
}

#[tokio::test]
async fn websocket_101s_get_the_hooks_headers() {
    let srv = start_engine(hooked(fast_config()), Recorder::default()).await;
    // A WebSocket handshake: both hooks.
    let (mut ws, resp) = ws_with(srv.addr, &eio(None, "websocket"), &[])
        .await
        .unwrap();
    let open = ws_text(&mut ws).await;
    let sid = serde_json::from_str::<serde_json::Value>(&open[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(ws_values(&resp, "set-cookie"), [format!("first={sid}")]);
    assert_eq!(ws_values(&resp, "x-answer"), ["GET websocket"]);
    // An upgrade of a polling session: `headers` only.
    let (sid, _) = open_polling(srv.addr).await;
    let (_probe, resp) = ws_with(srv.addr, &eio(Some(&sid), "websocket"), &[])
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(ws_values(&resp, "x-answer"), ["GET websocket"]);
    assert!(ws_values(&resp, "set-cookie").is_empty());
}

/// Records each message with the `x-request-id` it came with (`None`:
/// through `on_message`, without headers).
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<Noted>>>);

/// A message's text and the `x-request-id` it came with.
type Noted = (String, Option<String>);

impl Heard {
    fn push(&self, text: &str, headers: Option<&HeaderMap>) {
        let id = headers.map(|h| {
            h.get("x-request-id")
                .map_or("-", |v| v.to_str().unwrap())
                .to_owned()
        });
        self.0.lock().unwrap().push((text.to_owned(), id));
    }

    async fn wait(&self, n: usize) -> Vec<Noted> {
        for _ in 0..300 {
            let seen = self.0.lock().unwrap().clone();
            if seen.len() >= n {
                return seen;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("only {:?}", self.0.lock().unwrap());
    }
}

impl Handler for Heard {
    fn on_message(&self, _: &Socket, text: Str) {
        self.push(&text, None);
    }
    fn on_binary(&self, _: &Socket, _: Bytes) {
        self.push("binary", None);
    }
    fn on_message_with(&self, _: &Socket, text: Str, headers: &Arc<HeaderMap>) {
        self.push(&text, Some(headers));
    }
    fn on_binary_with(&self, _: &Socket, _: Bytes, headers: &Arc<HeaderMap>) {
        self.push("binary", Some(headers));
    }
}

async fn post_with(srv: &Server, sid: &str, id: &str, body: &[u8]) {
    let r = request(
        srv.addr,
        "POST",
        &eio(Some(sid), "polling"),
        &[("x-request-id", id)],
        body,
    )
    .await;
    assert_eq!(r.text(), "ok");
}

#[tokio::test]
async fn messages_come_with_the_headers_of_their_post_or_handshake() {
    let heard = Heard::default();
    let hooks = Hooks::new().message_headers(true);
    let engine = Engine::builder(fast_config())
        .hooks(hooks)
        .build(heard.clone());
    let srv = start_engine(engine, Recorder::default()).await;
    let (sid, _) = open_polling(srv.addr).await;
    post_with(&srv, &sid, "one", b"4a\x1e4b").await;
    post_with(&srv, &sid, "two", b"4c\x1ebAQI=").await;
    let (mut ws, _) = ws_with(srv.addr, &eio(None, "websocket"), &[("x-request-id", "ws")])
        .await
        .unwrap();
    ws_text(&mut ws).await;
    ws_send(&mut ws, "4d").await;
    heard.wait(5).await;
    // An upgraded session: the upgrade request's, not the handshake's.
    let hs = [("x-request-id", "handshake")];
    let r = request(srv.addr, "GET", &eio(None, "polling"), &hs, b"").await;
    let sid = serde_json::from_str::<serde_json::Value>(&r.text()[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut up, _) = ws_with(
        srv.addr,
        &eio(Some(&sid), "websocket"),
        &[("x-request-id", "up")],
    )
    .await
    .unwrap();
    ws_send(&mut up, "2probe").await;
    assert_eq!(ws_text(&mut up).await, "3probe");
    ws_send(&mut up, "5").await;
    ws_send(&mut up, "4e").await;
    let seen = heard.wait(6).await;
    let s = |t: &str, id: &str| (t.to_owned(), Some(id.to_owned()));
    assert_eq!(
        seen,
        [
            s("a", "one"),
            s("b", "one"),
            s("c", "two"),
            s("binary", "two"),
            s("d", "ws"),
            s("e", "up")
        ]
    );
}

#[tokio::test]
async fn without_message_headers_messages_come_bare() {
    let heard = Heard::default();
    let srv = start_engine(
        Engine::new(fast_config(), heard.clone()),
        Recorder::default(),
    )
    .await;
    let (sid, _) = open_polling(srv.addr).await;
    post_with(&srv, &sid, "one", b"4a").await;
    let (mut ws, _) = open_ws(srv.addr).await;
    ws_send(&mut ws, "4b").await;
    let seen = heard.wait(2).await;
    assert_eq!(seen, [("a".to_owned(), None), ("b".to_owned(), None)]);
}
