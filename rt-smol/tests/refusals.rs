//! What the smol engine refuses, with the tokio engine's status codes and
//! bodies: bad parameters, unknown sids, bad WebSocket handshakes, binary
//! and overlapping POSTs, bodies over `max_payload`, chunked bodies,
//! malformed requests and the session cap.

mod common;

use common::{handshake, open_polling, poll_url, request, Client, Seen, Server, WS_HEADERS};
use engineio::{CloseReason, EngineConfig};

/// The session's next poll gets the close packet, and it ends with a
/// transport error.
fn closed_by_transport_error(s: &Server, sid: &str) {
    let a = request(s.addr, "GET", &poll_url(sid), &[], b"");
    assert_eq!((a.status, a.text().as_str()), (200, "1"));
    loop {
        match s.next_seen() {
            Seen::Close(reason) => break assert_eq!(reason, CloseReason::TransportError),
            _ => continue,
        }
    }
    s.wait_empty();
}

#[test]
fn bad_parameters() {
    let s = Server::start(EngineConfig::default());
    let get = |q: &str| request(s.addr, "GET", &format!("/engine.io/?{q}"), &[], b"");
    let a = get("EIO=4&transport=polling&EIO=4");
    assert_eq!((a.status, a.code()), (400, 3));
    let a = get("EIO=4&transport=carrier-pigeon");
    assert_eq!((a.status, a.code()), (400, 0));
    let a = get("EIO=3&transport=polling");
    assert_eq!((a.status, a.code()), (400, 5));
    let a = get("EIO=4&transport=polling&sid=nope");
    assert_eq!((a.status, a.code()), (400, 1));
    let a = request(
        s.addr,
        "PUT",
        "/engine.io/?EIO=4&transport=polling",
        &[],
        b"",
    );
    assert_eq!((a.status, a.code()), (400, 2));
    let a = request(s.addr, "GET", "/elsewhere/", &[], b"");
    assert_eq!((a.status, a.text().as_str()), (404, "Not Found"));
}

#[test]
fn bad_websocket_handshakes() {
    let s = Server::start(EngineConfig::default());
    let target = "/engine.io/?EIO=4&transport=websocket";
    let mut version = WS_HEADERS.to_vec();
    version[3] = "Sec-WebSocket-Version: 8";
    let a = request(s.addr, "GET", target, &version, b"");
    assert_eq!(a.status, 426);
    assert_eq!(a.header("sec-websocket-version"), Some("13"));
    let mut key = WS_HEADERS.to_vec();
    key[2] = "Sec-WebSocket-Key: short";
    let a = request(s.addr, "GET", target, &key, b"");
    assert_eq!((a.status, a.code()), (400, 3));
    assert_eq!(s.engine.session_count(), 0);
}

#[test]
fn binary_and_overlapping_posts_close_the_session() {
    let s = Server::start(EngineConfig::default());
    let sid = open_polling(s.addr);
    let bin = ["Content-Type: application/octet-stream"];
    let a = request(s.addr, "POST", &poll_url(&sid), &bin, b"\x04hi");
    assert_eq!((a.status, a.body.len()), (400, 0));
    closed_by_transport_error(&s, &sid);

    let sid = open_polling(s.addr);
    // A POST whose body is on its way holds the session's one POST slot.
    let mut slow = Client::connect(s.addr);
    slow.send_raw(
        format!(
            "POST {} HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n4",
            poll_url(&sid)
        )
        .as_bytes(),
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    let a = request(s.addr, "POST", &poll_url(&sid), &[], b"4x");
    assert_eq!((a.status, a.code()), (400, 3));
    closed_by_transport_error(&s, &sid);
}

#[test]
fn a_body_over_max_payload_is_413() {
    let s = Server::start(EngineConfig::default().max_payload(100));
    let sid = open_polling(s.addr);
    let mut c = Client::connect(s.addr);
    let a = c.request("POST", &poll_url(&sid), &[], &[b'4'; 101]);
    assert_eq!((a.status, a.body.len()), (413, 0));
    assert_eq!(a.header("connection"), Some("close"));
    assert!(c.closed());
    closed_by_transport_error(&s, &sid);
}

#[test]
fn chunked_bodies_and_malformed_requests_are_refused() {
    let s = Server::start(EngineConfig::default());
    let sid = open_polling(s.addr);
    let mut c = Client::connect(s.addr);
    c.send_raw(
        format!(
            "POST {} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n4x\r\n0\r\n\r\n",
            poll_url(&sid)
        )
        .as_bytes(),
    );
    assert_eq!(c.read().status, 411);
    assert!(c.closed());
    let mut c = Client::connect(s.addr);
    c.send_raw(b"NOT HTTP\r\n\r\n");
    assert_eq!(c.read().status, 400);
    let mut c = Client::connect(s.addr);
    c.send_raw(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    assert_eq!(c.read().status, 400);
    let mut c = Client::connect(s.addr);
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(70 * 1024));
    c.send_raw(huge.as_bytes());
    assert_eq!(c.read().status, 431);
    // The session is untouched by all of it.
    assert_eq!(s.engine.session_count(), 1);
}

#[test]
fn handshakes_beyond_max_sessions_get_503() {
    let s = Server::start(EngineConfig::default().max_sessions(1));
    open_polling(s.addr);
    let a = handshake(s.addr);
    assert_eq!((a.status, a.code()), (503, 3));
    assert_eq!(s.engine.session_count(), 1);
}
