//! Long-polling on the smol engine: the handshake, messages both ways on
//! kept-alive connections, a GET that waits for the answer, binary as base64.

mod common;

use common::{handshake, open_polling, poll_url, request, Client, Seen, Server};
use engineio::EngineConfig;

#[test]
fn handshake_then_messages_both_ways() {
    let s = Server::start(EngineConfig::default());
    let a = handshake(s.addr);
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("text/plain; charset=UTF-8"));
    let open: serde_json::Value = serde_json::from_str(&a.text()[1..]).unwrap();
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["maxPayload"], 1_000_000);
    let sid = open["sid"].as_str().unwrap().to_owned();
    assert_eq!(s.next_seen(), Seen::Connect);

    // One kept-alive connection carries the POST and the GET.
    let mut c = Client::connect(s.addr);
    let a = c.request("POST", &poll_url(&sid), &[], b"4hello\x1ebAQID");
    assert_eq!((a.status, a.text().as_str()), (200, "ok"));
    assert_eq!(s.next_seen(), Seen::Message("hello".into()));
    assert_eq!(s.next_seen(), Seen::Binary(vec![1, 2, 3]));
    let a = c.request("GET", &poll_url(&sid), &[], b"");
    assert_eq!(a.status, 200);
    assert_eq!(a.text(), "4hello\x1ebAQID");
    assert_eq!(s.engine.session_count(), 1);
}

#[test]
fn a_waiting_get_is_answered_when_a_message_arrives() {
    let s = Server::start(EngineConfig::default());
    let sid = open_polling(s.addr);
    let mut get = Client::connect(s.addr);
    get.send("GET", &poll_url(&sid), &[], b"");
    // Nothing to send yet: the GET waits; a POST's echo answers it.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let a = request(s.addr, "POST", &poll_url(&sid), &[], b"4late");
    assert_eq!(a.status, 200);
    let a = get.read();
    assert_eq!((a.status, a.text().as_str()), (200, "4late"));
    // Regression: the watch for the client leaving, dropped mid-read when
    // the answer came, left no bytes behind on the kept-alive connection.
    let a = get.request("POST", &poll_url(&sid), &[], b"4next");
    assert_eq!((a.status, a.text().as_str()), (200, "ok"));
}

#[test]
fn a_second_get_while_one_waits_closes_the_session() {
    let s = Server::start(EngineConfig::default());
    let sid = open_polling(s.addr);
    let mut first = Client::connect(s.addr);
    first.send("GET", &poll_url(&sid), &[], b"");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let a = request(s.addr, "GET", &poll_url(&sid), &[], b"");
    assert_eq!(a.status, 400);
    assert_eq!(a.code(), 3);
    s.wait_empty();
}

#[test]
fn connection_close_is_honoured() {
    let s = Server::start(EngineConfig::default());
    let mut c = Client::connect(s.addr);
    let a = c.request(
        "GET",
        "/engine.io/?EIO=4&transport=polling",
        &["Connection: close"],
        b"",
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.header("connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn keep_alive_connections_stay_open() {
    // Without `Connection: close` the connection serves the next request;
    // `closed()` must not take the wait for the server's close for one.
    let s = Server::start(EngineConfig::default());
    let mut c = Client::connect(s.addr);
    let a = c.request("GET", "/engine.io/?EIO=4&transport=polling", &[], b"");
    assert_eq!(a.status, 200);
    c.stream()
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    assert!(!c.closed(), "a keep-alive connection was closed");
    let a = c.request("GET", "/engine.io/?EIO=4&transport=polling", &[], b"");
    assert_eq!(a.status, 200);
}

#[test]
fn large_answers_are_compressed_for_clients_that_accept_it() {
    let s = Server::start(EngineConfig::default().http_compression(Some(100)));
    let sid = open_polling(s.addr);
    let big = format!("4{}", "x".repeat(500));
    let mut c = Client::connect(s.addr);
    assert_eq!(
        c.request("POST", &poll_url(&sid), &[], big.as_bytes())
            .status,
        200
    );
    let a = c.request("GET", &poll_url(&sid), &["Accept-Encoding: gzip"], b"");
    assert_eq!(a.header("content-encoding"), Some("gzip"));
    assert_eq!(a.body[..2], [0x1f, 0x8b], "gzip magic");
    assert!(a.body.len() < big.len());
    // Small answers, or clients that do not ask, get plain text.
    assert_eq!(
        c.request("POST", &poll_url(&sid), &[], b"4small").status,
        200
    );
    let a = c.request("GET", &poll_url(&sid), &["Accept-Encoding: gzip"], b"");
    assert_eq!(
        (a.header("content-encoding"), a.text().as_str()),
        (None, "4small")
    );
}

#[test]
fn a_client_that_expects_100_continue_is_told_to_go_on() {
    let s = Server::start(EngineConfig::default());
    let sid = open_polling(s.addr);
    let mut c = Client::connect(s.addr);
    c.send_raw(
        format!(
            "POST {} HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
            poll_url(&sid)
        )
        .as_bytes(),
    );
    assert_eq!(c.read().status, 100);
    c.send_raw(b"4abc");
    let a = c.read();
    assert_eq!((a.status, a.text().as_str()), (200, "ok"));
}
