//! The Engine.IO session state machine driven by a fuzzed sequence of
//! inputs with synthetic time. Invariants: no panic; the send buffer stays
//! bounded; `Closed` is emitted once and last; a poll answer only goes to a
//! pending poll; after `handle_timeout(now)` no deadline is in the past;
//! nothing is transmitted to a WebSocket while the session is on polling.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use engineio::session::{Event, Session, Transmit};
use engineio::{CloseReason, EngineConfig, Packet, Sid, Str, TransportKind};
use libfuzzer_sys::fuzz_target;

const SEND_BUFFER: usize = 8;

#[derive(Arbitrary, Debug)]
enum Op {
    Poll,
    PollDropped,
    Packet(u8, String),
    ParseError,
    TransportClosed(bool),
    UpgradeStart,
    Probe(u8),
    ProbeClosed,
    Send(String),
    Close,
    Advance(u16),
    Timeout,
}

fn packet(kind: u8, s: String) -> Packet {
    match kind % 8 {
        0 => Packet::Open(Str::from(s)),
        1 => Packet::Close,
        2 => Packet::Ping(Str::from(s)),
        3 => Packet::Pong(Str::from(s)),
        4 => Packet::Message(Str::from(s)),
        5 => Packet::Binary(s.into_bytes().into()),
        6 => Packet::Upgrade,
        _ => Packet::Noop,
    }
}

fuzz_target!(|input: (bool, Vec<Op>)| {
    let (websocket, ops) = input;
    let config = EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .upgrade_timeout(Duration::from_millis(500))
        .send_buffer(SEND_BUFFER);
    let transport = if websocket {
        TransportKind::WebSocket
    } else {
        TransportKind::Polling
    };
    let mut now = Instant::now();
    let mut s = Session::new(Sid::random(), &config, transport, now);
    let mut poll_pending = false;
    let mut closed = false;
    for op in ops.into_iter().take(256) {
        match op {
            Op::Poll => {
                if s.handle_poll(now).is_ok() {
                    poll_pending = true;
                }
            }
            Op::PollDropped => {
                s.handle_poll_dropped(now);
                poll_pending = false;
            }
            Op::Packet(k, t) => s.handle_packet(now, packet(k, t)),
            Op::ParseError => s.handle_parse_error(now),
            Op::TransportClosed(e) => s.handle_transport_closed(now, e),
            Op::UpgradeStart => {
                let _ = s.handle_upgrade_start(now);
            }
            Op::Probe(k) => {
                let p = if k % 2 == 0 {
                    Packet::Ping(Str::from("probe"))
                } else {
                    packet(k, String::new())
                };
                s.handle_probe_packet(now, p);
            }
            Op::ProbeClosed => s.handle_probe_closed(now),
            Op::Send(t) => {
                let _ = s.send(Packet::Message(Str::from(t)));
            }
            Op::Close => s.close(now, CloseReason::ForcedClose),
            Op::Advance(ms) => now += Duration::from_millis(u64::from(ms)),
            Op::Timeout => {
                s.handle_timeout(now);
                assert!(
                    s.poll_timeout().is_none_or(|t| t > now),
                    "a past deadline survived"
                );
            }
        }
        // Internal packets (open, ping, close) may add a few beyond the buffer.
        assert!(
            s.buffered() <= SEND_BUFFER + 4,
            "outbox grew to {}",
            s.buffered()
        );
        while let Some(t) = s.poll_transmit() {
            match t {
                Transmit::Poll(_) | Transmit::PollRefused => {
                    assert!(poll_pending, "poll answer without a pending poll");
                    poll_pending = false;
                }
                Transmit::WebSocket(_) => {
                    assert_eq!(
                        s.transport(),
                        TransportKind::WebSocket,
                        "websocket transmit while polling"
                    );
                }
                _ => {}
            }
        }
        // A pending poll is only ever released by an answer (or its drop):
        // a forgotten one would leave an HTTP request hanging.
        assert_eq!(poll_pending, s.is_poll_pending(), "pending poll lost");
        while let Some(e) = s.poll_event() {
            assert!(!closed, "event after Closed: {e:?}");
            if matches!(e, Event::Closed(_)) {
                closed = true;
            }
        }
        assert_eq!(closed, s.is_closed());
    }
});
