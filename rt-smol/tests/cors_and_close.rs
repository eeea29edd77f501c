//! CORS, preflight and the cookie on the smol engine, and closes from
//! either side.

mod common;

use common::{open_polling, poll_url, request, Seen, Server};
use engineio::{CloseReason, Cookie, Cors, EngineConfig};

#[test]
fn cors_preflight_and_cookie() {
    let config = EngineConfig::default()
        .cors(Cors::any())
        .cookie(Some(Cookie::default()));
    let s = Server::start(config);
    let origin = ["Origin: https://example.com"];
    let a = request(
        s.addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling",
        &origin,
        b"",
    );
    assert_eq!(a.status, 200);
    // Dated, as the tokio server's (hyper's) answers are.
    assert!(a.header("date").is_some_and(|d| d.ends_with(" GMT")));
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://example.com")
    );
    assert_eq!(a.header("vary"), Some("Origin"));
    let cookie = a.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("io=") && cookie.contains("Path=/"),
        "{cookie}"
    );

    let pre = [
        "Origin: https://example.com",
        "Access-Control-Request-Headers: x-a",
    ];
    let a = request(s.addr, "OPTIONS", "/engine.io/", &pre, b"");
    assert_eq!(a.status, 204);
    assert_eq!(
        a.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
    assert_eq!(a.header("access-control-allow-headers"), Some("x-a"));
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://example.com")
    );

    // Errors carry CORS headers too, so a browser can read them.
    let a = request(
        s.addr,
        "GET",
        "/engine.io/?EIO=3&transport=polling",
        &origin,
        b"",
    );
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://example.com")
    );
}

#[test]
fn a_server_close_reaches_the_waiting_poll() {
    let s = Server::start(EngineConfig::default());
    let sid = open_polling(s.addr);
    assert_eq!(s.next_seen(), Seen::Connect);
    let a = request(s.addr, "POST", &poll_url(&sid), &[], b"4close-me");
    assert_eq!(a.status, 200);
    let a = request(s.addr, "GET", &poll_url(&sid), &[], b"");
    assert_eq!(a.text(), "1");
    assert_eq!(s.next_seen(), Seen::Message("close-me".into()));
    assert_eq!(s.next_seen(), Seen::Close(CloseReason::ForcedClose));
    s.wait_empty();
}

#[test]
fn a_client_close_packet_ends_the_session() {
    let s = Server::start(EngineConfig::default());
    let sid = open_polling(s.addr);
    assert_eq!(s.next_seen(), Seen::Connect);
    let a = request(s.addr, "POST", &poll_url(&sid), &[], b"1");
    assert_eq!(a.status, 200);
    assert_eq!(s.next_seen(), Seen::Close(CloseReason::TransportClose));
    s.wait_empty();
    s.engine.close_all();
}
