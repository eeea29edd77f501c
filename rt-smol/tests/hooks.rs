//! The application's request hooks on the smol engine, as on tokio's:
//! `allow_request` refuses a handshake with its refusal's status, code and
//! message before any session exists (and admits the others);
//! `initial_headers` goes on handshake answers only, `headers` on every
//! successful answer (a payload, a POST's `ok`, an upgrade's 101) and on
//! no error answer. With `message_headers`, each message comes with its
//! request's headers: the POST's, the upgrade's, a WebSocket handshake's.

mod common;

use common::{poll_url, request, Client, Seen, Server, WsClient, WS_HEADERS};
use engineio::http::{HeaderValue, StatusCode};
use engineio::{EngineConfig, Hooks, Refusal};

fn hooks() -> Hooks {
    Hooks::new()
        .allow_request(|info| async move {
            match info.query.contains("token=bad") {
                true => Err(Refusal::forbidden("bad token")
                    .with_status(StatusCode::UNAUTHORIZED)
                    .with_code(42)),
                false => Ok(()),
            }
        })
        .initial_headers(|_, h| {
            h.insert("x-initial", HeaderValue::from_static("yes"));
        })
        .headers(|head, h| {
            if let Ok(v) = HeaderValue::from_str(head.transport.as_str()) {
                h.append("x-every", v);
            }
        })
}

#[test]
fn a_refused_handshake_gets_the_refusals_status_and_body_and_no_session() {
    let s = Server::start_with_hooks(EngineConfig::default(), hooks());
    let target = "/engine.io/?EIO=4&transport=polling&token=bad";
    let a = request(s.addr, "GET", target, &[], b"");
    assert_eq!(a.status, 401);
    assert_eq!(a.code(), 42);
    let body: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(body["message"], "bad token");
    assert_eq!(a.header("x-initial"), None);
    assert_eq!(s.engine.session_count(), 0);
    // A refused WebSocket handshake is answered the same way, not upgraded.
    let target = "/engine.io/?EIO=4&transport=websocket&token=bad";
    let a = request(s.addr, "GET", target, &WS_HEADERS, b"");
    assert_eq!((a.status, a.code()), (401, 42));
    assert_eq!(s.engine.session_count(), 0);
}

#[test]
fn header_hooks_go_on_successful_answers_only() {
    let s = Server::start_with_hooks(EngineConfig::default(), hooks());
    let mut c = Client::connect(s.addr);
    let a = c.request(
        "GET",
        "/engine.io/?EIO=4&transport=polling&token=ok",
        &[],
        b"",
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("x-initial"), Some("yes"));
    assert_eq!(a.header("x-every"), Some("polling"));
    assert_eq!(s.next_seen(), Seen::Connect);
    let open: serde_json::Value = serde_json::from_str(&a.text()[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    // A POST's `ok` and a payload: `headers` only.
    let a = c.request("POST", &poll_url(&sid), &[], b"4hello");
    assert_eq!((a.status, a.text().as_str()), (200, "ok"));
    assert_eq!(a.header("x-every"), Some("polling"));
    assert_eq!(a.header("x-initial"), None);
    assert_eq!(s.next_seen(), Seen::Message("hello".into()));
    let a = c.request("GET", &poll_url(&sid), &[], b"");
    assert_eq!((a.status, a.text().as_str()), (200, "4hello"));
    assert_eq!(a.header("x-every"), Some("polling"));
    // An error answer gets none.
    let a = c.request("GET", &poll_url("nope"), &[], b"");
    assert_eq!(a.status, 400);
    assert_eq!(a.header("x-every"), None);
    // The upgrade's 101.
    let target = format!("/engine.io/?EIO=4&transport=websocket&sid={sid}");
    let mut ws = Client::connect(s.addr);
    ws.send("GET", &target, &WS_HEADERS, b"");
    let a = ws.read();
    assert_eq!(a.status, 101);
    assert_eq!(a.header("x-every"), Some("websocket"));
    assert_eq!(a.header("x-initial"), None);
}

#[test]
fn a_websocket_handshake_gets_both_header_hooks() {
    let s = Server::start_with_hooks(EngineConfig::default(), hooks());
    let mut ws = Client::connect(s.addr);
    ws.send(
        "GET",
        "/engine.io/?EIO=4&transport=websocket",
        &WS_HEADERS,
        b"",
    );
    let a = ws.read();
    assert_eq!(a.status, 101);
    assert_eq!(a.header("x-initial"), Some("yes"));
    assert_eq!(a.header("x-every"), Some("websocket"));
    assert_eq!(s.next_seen(), Seen::Connect);
}

/// The next `Seen::Headers`, skipping lifecycle events.
fn next_headers(s: &Server) -> Option<String> {
    loop {
        if let Seen::Headers(h) = s.next_seen() {
            return h;
        }
    }
}

#[test]
fn messages_keep_their_requests_headers() {
    let keep = Hooks::new().message_headers(true);
    let s = Server::start_with_hooks(EngineConfig::default(), keep);
    let mut c = Client::connect(s.addr);
    let open = "/engine.io/?EIO=4&transport=polling";
    let a = c.request("GET", open, &["X-Req: handshake"], b"");
    let open: serde_json::Value = serde_json::from_str(&a.text()[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    // A polling message: its POST's headers, not the handshake's.
    let a = c.request("POST", &poll_url(&sid), &["X-Req: post"], b"4one");
    assert_eq!(a.text(), "ok");
    assert_eq!(next_headers(&s).as_deref(), Some("post"));
    assert_eq!(s.next_seen(), Seen::Message("one".into()));
    // After the upgrade: the upgrade request's.
    let target = format!("/engine.io/?EIO=4&transport=websocket&sid={sid}");
    let mut ws = WsClient::connect_with(s.addr, &target, &["X-Req: upgrade"]);
    ws.send_text("2probe");
    assert_eq!(ws.read_text(), "3probe");
    ws.send_text("5");
    ws.send_text("4two");
    assert_eq!(next_headers(&s).as_deref(), Some("upgrade"));
    assert_eq!(s.next_seen(), Seen::Message("two".into()));
    // A WebSocket session: its handshake's.
    let target = "/engine.io/?EIO=4&transport=websocket";
    let mut ws = WsClient::connect_with(s.addr, target, &["X-Req: ws-handshake"]);
    let _open = ws.read_text();
    ws.send_text("4three");
    assert_eq!(next_headers(&s).as_deref(), Some("ws-handshake"));
    assert_eq!(s.next_seen(), Seen::Message("three".into()));
}

#[test]
fn without_message_headers_messages_come_bare() {
    let s = Server::start_with_hooks(EngineConfig::default(), hooks());
    let mut c = Client::connect(s.addr);
    let a = c.request("GET", "/engine.io/?EIO=4&transport=polling", &[], b"");
    let open: serde_json::Value = serde_json::from_str(&a.text()[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    assert_eq!(s.next_seen(), Seen::Connect);
    c.request("POST", &poll_url(&sid), &["X-Req: post"], b"4bare");
    assert_eq!(s.next_seen(), Seen::Message("bare".into()));
}
