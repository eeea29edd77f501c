//! Engine.IO 3 clients (socket.io v2) on the smol engine with `allow_eio3`:
//! refused by default; v3 text and binary payloads both ways, client pings
//! answered, the v3 deadline, and v3 binary WebSocket frames.

mod common;

use std::time::Duration;

use common::{request, Frame, Seen, Server, WsClient};
use engineio::{CloseReason, EngineConfig};

fn config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .allow_eio3(true)
}

fn url(sid: Option<&str>) -> String {
    match sid {
        Some(s) => format!("/engine.io/?EIO=3&transport=polling&sid={s}"),
        None => "/engine.io/?EIO=3&transport=polling".to_owned(),
    }
}

/// Opens a v3 polling session; checks the length-prefixed open packet.
fn open_v3(s: &Server, extra: &str) -> String {
    let a = request(s.addr, "GET", &(url(None) + extra), &[], b"");
    assert_eq!(a.status, 200, "{}", a.text());
    let text = a.text();
    let (len, packet) = text.split_once(':').expect("a length prefix");
    assert_eq!(len.parse::<usize>().unwrap(), packet.encode_utf16().count());
    let open: serde_json::Value = serde_json::from_str(&packet[1..]).unwrap();
    assert_eq!(s.next_seen(), Seen::Connect);
    open["sid"].as_str().unwrap().to_owned()
}

#[test]
fn eio3_is_refused_by_default() {
    let s = Server::start(EngineConfig::default());
    let a = request(s.addr, "GET", &url(None), &[], b"");
    assert_eq!((a.status, a.code()), (400, 5));
}

#[test]
fn text_payloads_and_client_pings() {
    let s = Server::start(config());
    let sid = open_v3(&s, "&b64=1");
    let body = "4:4é😀1:26:b4AQI=".as_bytes();
    let a = request(s.addr, "POST", &url(Some(&sid)), &[], body);
    assert_eq!(a.text(), "ok");
    assert_eq!(s.next_seen(), Seen::Message("é😀".into()));
    assert_eq!(s.next_seen(), Seen::Binary(vec![1, 2]));
    let mut got = String::new();
    while !got.contains("6:b4AQI=") {
        let a = request(s.addr, "GET", &url(Some(&sid)), &[], b"");
        assert_eq!(a.header("content-type"), Some("text/plain; charset=UTF-8"));
        got.push_str(&a.text());
    }
    assert!(got.starts_with("1:3") && got.contains("4:4é😀"), "{got}");
}

#[test]
fn binary_payloads_both_ways() {
    let s = Server::start(config());
    let sid = open_v3(&s, "");
    let body = [0, 3, 255, b'4', b'h', b'i', 1, 3, 255, 4, 7, 8];
    let ct = ["Content-Type: application/octet-stream"];
    let a = request(s.addr, "POST", &url(Some(&sid)), &ct, &body);
    assert_eq!((a.status, a.text().as_str()), (200, "ok"));
    assert_eq!(s.next_seen(), Seen::Message("hi".into()));
    assert_eq!(s.next_seen(), Seen::Binary(vec![7, 8]));
    loop {
        let a = request(s.addr, "GET", &url(Some(&sid)), &[], b"");
        if a.body.ends_with(&[1, 3, 255, 4, 7, 8]) {
            assert_eq!(a.header("content-type"), Some("application/octet-stream"));
            break;
        }
        assert_eq!(a.text(), "3:4hi");
    }
}

#[test]
fn a_silent_v3_client_times_out() {
    let s = Server::start(config());
    open_v3(&s, "");
    assert_eq!(s.next_seen(), Seen::Close(CloseReason::PingTimeout));
}

#[test]
fn v3_websocket_frames() {
    let s = Server::start(config());
    let mut ws = WsClient::connect(s.addr, "/engine.io/?EIO=3&transport=websocket");
    assert!(ws.read_text().starts_with("0{"));
    ws.send_frame(2, &[4, 9, 9]);
    assert_eq!(ws.read(), Frame::Binary(vec![4, 9, 9]));
    ws.send_text("b4AQI=");
    assert_eq!(ws.read(), Frame::Binary(vec![4, 1, 2]));
    ws.send_text("2");
    assert_eq!(ws.read(), Frame::Text("3".into()));
}

/// Each transport has its own `b64`: a v3 client whose polling asked for
/// base64 upgrades to a WebSocket that takes binary frames.
#[test]
fn the_websocket_has_its_own_base64_flag() {
    let s = Server::start(config());
    let sid = open_v3(&s, "&b64=1");
    let target = format!("/engine.io/?EIO=3&transport=websocket&sid={sid}");
    let mut ws = WsClient::connect(s.addr, &target);
    ws.send_text("2probe");
    assert_eq!(ws.read(), Frame::Text("3probe".into()));
    ws.send_text("5");
    ws.send_frame(2, &[4, 1]);
    loop {
        match ws.read() {
            Frame::Binary(b) => break assert_eq!(b, [4, 1]),
            Frame::Text(t) if t == "6" => continue,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }
}
