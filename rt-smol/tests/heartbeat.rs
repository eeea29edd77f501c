//! Heartbeat on the smol engine: pings at `ping_interval`, and a client
//! that does not answer is closed after `ping_timeout`.

mod common;

use std::time::{Duration, Instant};

use common::{open_polling, poll_url, request, Seen, Server, WsClient};
use engineio::{CloseReason, EngineConfig};

fn config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(100))
}

#[test]
fn a_client_that_answers_pings_stays() {
    let s = Server::start(config());
    let mut ws = WsClient::connect(s.addr, "/engine.io/?EIO=4&transport=websocket");
    ws.read_text();
    let start = Instant::now();
    // read_text answers every ping it skips; an echo comes after several.
    while start.elapsed() < Duration::from_millis(500) {
        ws.send_text("4tick");
        assert_eq!(ws.read_text(), "4tick");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(s.engine.session_count(), 1);
}

#[test]
fn ping_timeout_closes_a_silent_polling_session() {
    let s = Server::start(config());
    let sid = open_polling(s.addr);
    assert_eq!(s.next_seen(), Seen::Connect);
    let a = request(s.addr, "GET", &poll_url(&sid), &[], b"");
    assert_eq!(a.text(), "2");
    let started = Instant::now();
    assert_eq!(s.next_seen(), Seen::Close(CloseReason::PingTimeout));
    assert!(started.elapsed() < Duration::from_secs(2));
    s.wait_empty();
    let a = request(s.addr, "GET", &poll_url(&sid), &[], b"");
    assert_eq!((a.status, a.code()), (400, 1));
}
