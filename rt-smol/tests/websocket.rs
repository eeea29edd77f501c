//! WebSocket on the smol engine: a fresh WebSocket session, and an upgrade
//! from polling with the probe.

mod common;
#[cfg(target_os = "linux")]
#[path = "../../engineio/tests/support/tcp_info.rs"]
mod tcp_info;

use common::{open_polling, poll_url, request, Frame, Seen, Server, WsClient};
use engineio::EngineConfig;

#[test]
fn a_websocket_session_echoes_text_and_binary() {
    let s = Server::start(EngineConfig::default());
    let mut ws = WsClient::connect(s.addr, "/engine.io/?EIO=4&transport=websocket");
    let open = ws.read_text();
    assert!(open.starts_with("0{\"sid\""), "{open}");
    assert!(open.contains("\"upgrades\":[]"), "{open}");
    assert_eq!(s.next_seen(), Seen::Connect);
    ws.send_text("4héllo");
    assert_eq!(ws.read_text(), "4héllo");
    ws.send_frame(2, &[9, 8, 7]);
    assert_eq!(ws.read(), Frame::Binary(vec![9, 8, 7]));
    // A ping frame gets a pong (opcode 10) with the same bytes.
    ws.send_frame(9, b"p");
    assert_eq!(ws.read(), Frame::Other(10));
    ws.send_text("close-me");
    assert_eq!(ws.read_text(), "1");
    assert_eq!(ws.read(), Frame::Close);
    s.wait_empty();
}

/// The 101 waits for the open packet: both leave in one write, so the
/// client receives them in one TCP segment.
#[cfg(target_os = "linux")]
#[test]
fn the_101_and_the_open_packet_leave_in_one_write() {
    let s = Server::start(EngineConfig::default());
    let mut ws = WsClient::connect(s.addr, "/engine.io/?EIO=4&transport=websocket");
    assert!(ws.read_text().starts_with("0{"));
    assert_eq!(
        tcp_info::data_segments_in(ws.client().stream()),
        1,
        "segments with data received"
    );
}

#[test]
fn upgrade_from_polling_with_probe() {
    let s = Server::start(EngineConfig::default());
    let sid = open_polling(s.addr);
    assert_eq!(s.next_seen(), Seen::Connect);
    let target = format!("/engine.io/?EIO=4&transport=websocket&sid={sid}");
    let mut ws = WsClient::connect(s.addr, &target);
    ws.send_text("2probe");
    assert_eq!(ws.read_text(), "3probe");
    ws.send_text("5");
    assert_eq!(s.next_seen(), Seen::Upgrade);
    ws.send_text("4after");
    assert_eq!(ws.read_text(), "4after");
    // Polling is over for this session; a second WebSocket is refused by
    // closing it at once.
    let a = request(s.addr, "GET", &poll_url(&sid), &[], b"");
    assert_eq!(a.status, 400);
    let mut again = WsClient::connect(s.addr, &target);
    assert_eq!(again.read(), Frame::Close);
    ws.send_text("4still");
    assert_eq!(ws.read_text(), "4still");
}

#[test]
fn a_websocket_that_goes_away_closes_its_session() {
    let s = Server::start(EngineConfig::default());
    let mut ws = WsClient::connect(s.addr, "/engine.io/?EIO=4&transport=websocket");
    ws.read_text();
    assert_eq!(s.next_seen(), Seen::Connect);
    drop(ws);
    assert_eq!(
        s.next_seen(),
        Seen::Close(engineio::CloseReason::TransportClose)
    );
    s.wait_empty();
}
