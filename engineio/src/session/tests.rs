use super::*;
use crate::packet::Packet;

/// A session plus a synthetic clock.
struct Harness {
    s: Session,
    now: Instant,
}

fn config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .upgrade_timeout(Duration::from_millis(1000))
        .send_buffer(4)
}

impl Harness {
    fn new(transport: TransportKind) -> Self {
        Self::with(config(), transport)
    }

    fn with(config: EngineConfig, transport: TransportKind) -> Self {
        let now = Instant::now();
        Harness {
            s: Session::new(Sid::random(), &config, transport, now),
            now,
        }
    }

    /// A polling session whose handshake poll was answered.
    fn polling() -> Self {
        let mut h = Self::new(TransportKind::Polling);
        h.s.handle_poll(h.now).unwrap();
        let t = h.transmits();
        assert!(matches!(&t[..], [Transmit::Poll(b)] if b.starts_with(b"0{")));
        h
    }

    fn transmits(&mut self) -> Vec<Transmit> {
        std::iter::from_fn(|| self.s.poll_transmit()).collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.s.poll_event()).collect()
    }

    /// Jumps to the next deadline and fires it.
    fn advance(&mut self) -> Duration {
        let at = self.s.poll_timeout().expect("a timer is armed");
        let waited = at - self.now;
        self.now = at;
        self.s.handle_timeout(self.now);
        waited
    }

    fn poll(&mut self) -> Vec<Transmit> {
        self.s.handle_poll(self.now).unwrap();
        self.transmits()
    }
}

fn poll_body(t: &[Transmit]) -> &[u8] {
    match t {
        [Transmit::Poll(b)] => b,
        other => panic!("expected one poll answer, got {other:?}"),
    }
}

#[test]
fn handshake_has_exactly_the_spec_keys() {
    let mut h = Harness::new(TransportKind::Polling);
    h.s.handle_poll(h.now).unwrap();
    let t = h.transmits();
    let body = poll_body(&t);
    assert_eq!(body[0], b'0');
    let v: serde_json::Value = serde_json::from_slice(&body[1..]).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(obj["sid"], h.s.sid().as_str());
    assert_eq!(obj["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(obj["pingInterval"], 300);
    assert_eq!(obj["pingTimeout"], 200);
    assert_eq!(obj["maxPayload"], 1_000_000);

    let mut ws = Harness::new(TransportKind::WebSocket);
    match &ws.transmits()[..] {
        [Transmit::WebSocket(Packet::Open(json))] => {
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(v["upgrades"], serde_json::json!([]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn handshake_json_is_what_serde_writes() {
    let sid = Sid::random();
    for upgrades in [
        &[][..],
        &["websocket"][..],
        &["websocket", "webtransport"][..],
    ] {
        let ours = super::open_payload(
            sid,
            upgrades,
            Duration::from_millis(25_000),
            Duration::from_millis(20_000),
            1_000_000,
        );
        let theirs = serde_json::json!({
            "sid": sid.as_str(),
            "upgrades": upgrades,
            "pingInterval": 25_000,
            "pingTimeout": 20_000,
            "maxPayload": 1_000_000,
        });
        let parsed: serde_json::Value = serde_json::from_str(&ours).unwrap();
        assert_eq!(parsed, theirs, "{ours}");
    }
}

#[test]
fn first_ping_comes_after_ping_interval_not_at_once() {
    let mut h = Harness::new(TransportKind::WebSocket);
    h.transmits();
    assert_eq!(h.advance(), Duration::from_millis(300));
    assert_eq!(
        h.transmits(),
        [Transmit::WebSocket(Packet::Ping(Str::new()))]
    );
    // Pong resets: the next ping is a full interval after the pong.
    h.now += Duration::from_millis(50);
    h.s.handle_packet(h.now, Packet::Pong(Str::new()));
    assert_eq!(h.advance(), Duration::from_millis(300));
    assert_eq!(
        h.transmits(),
        [Transmit::WebSocket(Packet::Ping(Str::new()))]
    );
}

#[test]
fn ping_timeout_closes_websocket() {
    let mut h = Harness::new(TransportKind::WebSocket);
    h.transmits();
    h.advance();
    h.transmits();
    assert_eq!(h.advance(), Duration::from_millis(200));
    assert_eq!(
        h.transmits(),
        [Transmit::WebSocket(Packet::Close), Transmit::CloseWebSocket]
    );
    assert_eq!(h.events(), [Event::Closed(CloseReason::PingTimeout)]);
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn pong_after_timeout_is_ignored() {
    let mut h = Harness::new(TransportKind::WebSocket);
    h.advance();
    h.advance();
    h.transmits();
    h.events();
    h.s.handle_packet(h.now, Packet::Pong(Str::new()));
    assert!(h.transmits().is_empty());
    assert!(h.events().is_empty());
    assert!(h.s.is_closed());
}

#[test]
fn polling_heartbeat_answers_pending_poll() {
    let mut h = Harness::polling();
    for _ in 0..3 {
        assert!(h.poll().is_empty(), "poll waits");
        h.advance();
        assert_eq!(poll_body(&h.transmits()), b"2");
        h.s.handle_packet(h.now, Packet::Pong(Str::new()));
    }
}

#[test]
fn polling_ping_timeout_without_poll() {
    let mut h = Harness::polling();
    h.advance();
    h.advance();
    assert_eq!(h.events(), [Event::Closed(CloseReason::PingTimeout)]);
    assert_eq!(h.s.handle_poll(h.now), Err(PollError::Closed));
}

#[test]
fn messages_are_batched_in_order() {
    let mut h = Harness::polling();
    h.s.send(Packet::Message("a".into())).unwrap();
    h.s.send(Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])))
        .unwrap();
    h.s.send(Packet::Message("b".into())).unwrap();
    assert_eq!(poll_body(&h.poll()), b"4a\x1ebAQIDBA==\x1e4b");
}

#[test]
fn payload_is_split_at_max_payload() {
    let mut h = Harness::with(config().max_payload(10), TransportKind::Polling);
    h.poll();
    h.s.send(Packet::Message("12345".into())).unwrap();
    h.s.send(Packet::Message("67890".into())).unwrap();
    h.s.send(Packet::Message("0123456789abc".into())).unwrap();
    assert_eq!(poll_body(&h.poll()), b"412345");
    assert_eq!(poll_body(&h.poll()), b"467890");
    // A single oversized packet still goes out alone.
    assert_eq!(poll_body(&h.poll()), b"40123456789abc");
}

#[test]
fn send_buffer_is_bounded() {
    let mut h = Harness::polling();
    for i in 0..4 {
        h.s.send(Packet::Message(format!("{i}").into())).unwrap();
    }
    assert_eq!(h.s.send(Packet::Message("x".into())), Err(SendError::Full));
    // Full is not a heartbeat failure: the session is still open.
    assert!(!h.s.is_closed());
    assert!(h.events().is_empty());
    h.poll();
    h.s.send(Packet::Message("y".into())).unwrap();
}

#[test]
fn incoming_packets_keep_arrival_order() {
    let mut h = Harness::polling();
    for p in payload::decode(Bytes::from_static(b"4a\x1ebAQ==\x1e4c"), 16).unwrap() {
        h.s.handle_packet(h.now, p);
    }
    assert_eq!(
        h.events(),
        [
            Event::Message("a".into()),
            Event::Binary(Bytes::from_static(&[1])),
            Event::Message("c".into())
        ]
    );
}

#[test]
fn duplicate_poll_closes_with_close_packet() {
    let mut h = Harness::polling();
    assert!(h.poll().is_empty());
    assert_eq!(h.s.handle_poll(h.now), Err(PollError::Overlap));
    assert_eq!(poll_body(&h.transmits()), b"1");
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportError)]);
}

#[test]
fn client_close_answers_pending_poll_with_noop() {
    let mut h = Harness::polling();
    assert!(h.poll().is_empty());
    h.s.handle_packet(h.now, Packet::Close);
    assert_eq!(poll_body(&h.transmits()), b"6");
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportClose)]);
    assert_eq!(h.s.handle_poll(h.now), Err(PollError::Closed));
    assert_eq!(
        h.s.send(Packet::Message("x".into())),
        Err(SendError::Closed)
    );
}

#[test]
fn client_close_without_a_pending_poll_ends_the_session_at_once() {
    let mut h = Harness::polling();
    h.s.send(Packet::Message("unsent".into())).unwrap();
    h.s.handle_packet(h.now, Packet::Close);
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportClose)]);
    assert!(h.transmits().is_empty(), "no poll to answer, nothing sent");
    assert_eq!(h.s.poll_timeout(), None, "no grace timer");
    // The GET the client still had in flight finds the session closed.
    assert_eq!(h.s.handle_poll(h.now), Err(PollError::Closed));
    assert_eq!(
        h.s.send(Packet::Message("x".into())),
        Err(SendError::Closed)
    );
}

#[test]
fn close_during_pending_poll_delivers_close_packet() {
    let mut h = Harness::polling();
    assert!(h.poll().is_empty());
    h.s.send(Packet::Message("bye".into())).unwrap();
    h.s.close(h.now, CloseReason::ForcedClose);
    assert_eq!(poll_body(&h.transmits()), b"4bye");
    assert!(
        h.events().is_empty(),
        "the close packet has not gone out yet"
    );
    assert_eq!(poll_body(&h.poll()), b"1", "close in a response of its own");
    assert_eq!(h.events(), [Event::Closed(CloseReason::ForcedClose)]);
}

#[test]
fn server_close_waits_for_next_poll_then_gives_up() {
    let mut h = Harness::polling();
    h.s.close(h.now, CloseReason::ForcedClose);
    assert!(h.events().is_empty(), "close is pending delivery");
    assert_eq!(poll_body(&h.poll()), b"1");
    assert_eq!(h.events(), [Event::Closed(CloseReason::ForcedClose)]);

    let mut h = Harness::polling();
    h.s.close(h.now, CloseReason::ServerShuttingDown);
    assert_eq!(h.advance(), Duration::from_millis(200));
    assert_eq!(h.events(), [Event::Closed(CloseReason::ServerShuttingDown)]);
}

#[test]
fn abandoned_poll_closes_session() {
    let mut h = Harness::polling();
    h.poll();
    h.s.handle_poll_dropped(h.now);
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportError)]);
}

#[test]
fn parse_error_closes() {
    let mut h = Harness::polling();
    h.poll();
    h.s.handle_parse_error(h.now);
    assert_eq!(poll_body(&h.transmits()), b"1");
    assert_eq!(h.events(), [Event::Closed(CloseReason::ParseError)]);
}

#[test]
fn upgrade_happy_path() {
    let mut h = Harness::polling();
    assert!(h.poll().is_empty());
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Ping("probe".into()));
    let t = h.transmits();
    assert_eq!(t, [Transmit::Probe(Packet::Pong("probe".into()))]);
    // The pending poll gets its noop at the first check.
    assert_eq!(h.advance(), UPGRADE_CHECK_INTERVAL);
    assert_eq!(h.transmits(), [Transmit::Poll(Bytes::from_static(b"6"))]);
    // A packet queued while no poll waits is kept for the next transport.
    h.s.send(Packet::Message("during".into())).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Upgrade);
    assert_eq!(h.events(), [Event::Upgraded]);
    assert_eq!(h.s.transport(), TransportKind::WebSocket);
    assert_eq!(
        h.transmits(),
        [Transmit::WebSocket(Packet::Message("during".into()))]
    );
    assert_eq!(h.s.handle_poll(h.now), Err(PollError::WrongTransport));
    assert!(!h.s.is_closed());
    assert_eq!(
        h.s.handle_upgrade_start(h.now),
        Err(UpgradeError::NotAllowed)
    );
    // The check stopped with the upgrade; only the heartbeat is armed.
    assert_eq!(
        h.s.poll_timeout(),
        Some(h.s.timers.get(Timer::PingDue).unwrap())
    );
}

/// Issue #23, item 6: during the upgrade, packets keep flowing to a
/// pending GET; only a GET still pending at the check (every 100 ms from
/// the probe, as the reference's `check`) gets the noop.
#[test]
fn packets_flow_to_polls_until_the_upgrade_completes() {
    let mut h = Harness::with(
        config().ping_interval(Duration::from_secs(60)),
        TransportKind::Polling,
    );
    h.s.handle_poll(h.now).unwrap();
    h.transmits();
    let probe = h.now;
    assert!(h.poll().is_empty());
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Ping("probe".into()));
    assert_eq!(
        h.transmits(),
        [Transmit::Probe(Packet::Pong("probe".into()))]
    );
    assert_eq!(h.s.poll_timeout(), Some(probe + UPGRADE_CHECK_INTERVAL));
    // At +40 ms a message goes straight to the pending GET.
    h.now = probe + Duration::from_millis(40);
    assert!(h.s.wants_data());
    h.s.send(Packet::Message("a".into())).unwrap();
    assert_eq!(poll_body(&h.transmits()), b"4a");
    // The next GET, at +60 ms, waits for the check at +100 ms, not longer
    // and not less: one tick early nothing goes out.
    h.now = probe + Duration::from_millis(60);
    assert!(h.poll().is_empty());
    h.s.handle_timeout(probe + UPGRADE_CHECK_INTERVAL - Duration::from_millis(1));
    assert!(h.transmits().is_empty());
    assert_eq!(h.advance(), Duration::from_millis(40));
    assert_eq!(poll_body(&h.transmits()), b"6");
    // With no GET pending the check finds nothing to release, and keeps
    // running; a GET at +150 ms gets its noop at +200 ms.
    assert_eq!(h.advance(), UPGRADE_CHECK_INTERVAL);
    assert!(h.transmits().is_empty());
    h.now = probe + Duration::from_millis(250);
    assert!(h.poll().is_empty());
    h.s.send(Packet::Message("b".into())).unwrap();
    assert_eq!(poll_body(&h.transmits()), b"4b", "data, not a noop");
    h.now = probe + Duration::from_millis(260);
    assert!(h.poll().is_empty());
    assert_eq!(h.advance(), Duration::from_millis(40));
    assert_eq!(poll_body(&h.transmits()), b"6");
    // A late timer call does not make a burst of checks.
    h.now = probe + Duration::from_millis(1000) - Duration::from_millis(1);
    h.s.handle_timeout(h.now);
    assert_eq!(
        h.s.timers.get(Timer::UpgradeCheck),
        Some(h.now + UPGRADE_CHECK_INTERVAL)
    );
    // The upgrade's deadline stops the check with the upgrade.
    assert_eq!(h.advance(), Duration::from_millis(1));
    assert_eq!(h.transmits(), [Transmit::AbortProbe]);
    assert_eq!(h.s.timers.get(Timer::UpgradeCheck), None);
}

#[test]
fn ping_during_upgrade_goes_to_the_pending_poll_or_the_websocket() {
    // No poll pending: the ping waits, then goes out on the WebSocket.
    let mut h = Harness::polling();
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Ping("probe".into()));
    h.transmits();
    let t = h.s.timers.get(Timer::PingDue).unwrap();
    h.now = t;
    h.s.handle_timeout(h.now);
    assert!(h.transmits().is_empty());
    h.s.handle_probe_packet(h.now, Packet::Upgrade);
    assert_eq!(
        h.transmits(),
        [Transmit::WebSocket(Packet::Ping(Str::new()))]
    );
    h.s.handle_packet(h.now, Packet::Pong(Str::new()));
    assert_eq!(h.advance(), Duration::from_millis(300));
    assert!(!h.s.is_closed());
    // A poll pending: the ping goes to it, as in the reference server.
    let mut h = Harness::polling();
    assert!(h.poll().is_empty());
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Ping("probe".into()));
    h.transmits();
    h.now = h.s.timers.get(Timer::PingDue).unwrap();
    h.s.handle_timeout(h.now);
    assert_eq!(poll_body(&h.transmits()), b"2");
    h.s.handle_packet(h.now, Packet::Pong(Str::new()));
    assert_eq!(h.s.timers.get(Timer::PongDeadline), None, "the pong counts");
}

#[test]
fn upgrade_timeout_aborts_probe_and_keeps_polling() {
    let mut h = Harness::with(
        config().ping_interval(Duration::from_secs(60)),
        TransportKind::Polling,
    );
    h.poll();
    h.s.handle_upgrade_start(h.now).unwrap();
    assert_eq!(
        h.s.handle_upgrade_start(h.now),
        Err(UpgradeError::InProgress)
    );
    assert_eq!(h.advance(), Duration::from_millis(1000));
    assert_eq!(h.transmits(), [Transmit::AbortProbe]);
    h.s.send(Packet::Message("still here".into())).unwrap();
    assert_eq!(poll_body(&h.poll()), b"4still here");
    assert_eq!(h.s.transport(), TransportKind::Polling);
}

#[test]
fn unexpected_probe_packet_aborts_upgrade() {
    let mut h = Harness::polling();
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Message("early".into()));
    assert_eq!(h.transmits(), [Transmit::AbortProbe]);
    assert!(!h.s.is_upgrading());
    // Upgrade without probe also aborts.
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Upgrade);
    assert_eq!(h.transmits(), [Transmit::AbortProbe]);
}

#[test]
fn probe_closed_allows_new_upgrade() {
    let mut h = Harness::polling();
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_closed(h.now);
    assert!(h.transmits().is_empty());
    h.s.handle_upgrade_start(h.now).unwrap();
}

#[test]
fn close_while_upgrading_aborts_probe() {
    let mut h = Harness::polling();
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.close(h.now, CloseReason::ForcedClose);
    assert_eq!(h.transmits(), [Transmit::AbortProbe]);
}

#[test]
fn websocket_transport_close_and_error() {
    let mut h = Harness::new(TransportKind::WebSocket);
    h.transmits();
    h.s.handle_transport_closed(h.now, false);
    assert_eq!(h.transmits(), [Transmit::CloseWebSocket]);
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportClose)]);
    let mut h = Harness::new(TransportKind::WebSocket);
    h.s.handle_transport_closed(h.now, true);
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportError)]);
}

#[test]
fn closed_emitted_once_and_inputs_after_close_are_inert() {
    let mut h = Harness::new(TransportKind::WebSocket);
    h.s.close(h.now, CloseReason::ForcedClose);
    h.s.close(h.now, CloseReason::ForcedClose);
    h.s.handle_parse_error(h.now);
    h.s.handle_packet(h.now, Packet::Message("x".into()));
    h.s.handle_timeout(h.now + Duration::from_secs(100));
    assert_eq!(h.events(), [Event::Closed(CloseReason::ForcedClose)]);
}

#[test]
fn spurious_timeouts_are_no_ops() {
    let mut h = Harness::polling();
    h.s.handle_timeout(h.now);
    h.s.handle_timeout(h.now + Duration::from_millis(299));
    assert!(h.transmits().is_empty());
    assert!(h.events().is_empty());
}

#[test]
fn client_ping_is_a_heartbeat_direction_error() {
    let mut h = Harness::new(TransportKind::WebSocket);
    h.transmits();
    h.s.handle_packet(h.now, Packet::Ping("x".into()));
    assert_eq!(
        h.transmits(),
        [Transmit::WebSocket(Packet::Close), Transmit::CloseWebSocket]
    );
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportError)]);
}

#[test]
fn wants_data_respects_buffer_and_upgrade() {
    let mut h = Harness::polling();
    assert!(!h.s.wants_data(), "no poll pending");
    h.poll();
    assert!(h.s.wants_data());
    for i in 0..4 {
        h.s.send(Packet::Message(format!("{i}").into())).unwrap();
    }
    assert!(!h.s.wants_data(), "buffer at send_buffer");
    h.transmits();
    h.poll();
    h.s.handle_upgrade_start(h.now).unwrap();
    assert!(
        h.s.wants_data(),
        "before the probe, polling still carries data"
    );
    h.s.handle_probe_packet(h.now, Packet::Ping("probe".into()));
    assert!(h.s.wants_data(), "after the probe too, until `5`");
}

#[test]
fn undeliverable_poll_answer_closes() {
    let mut h = Harness::polling();
    h.s.send(Packet::Message("a".into())).unwrap();
    h.poll();
    h.s.handle_poll_dropped(h.now);
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportError)]);
}

#[test]
fn client_open_packet_is_a_protocol_error() {
    let mut h = Harness::new(TransportKind::WebSocket);
    h.s.handle_packet(h.now, Packet::Open("{}".into()));
    assert_eq!(h.events(), [Event::Closed(CloseReason::ParseError)]);
}

/// Random inputs: never panics, buffers stay bounded, `Closed` comes once and last.
#[test]
fn random_input_sequences_keep_invariants() {
    use rand::Rng;
    let mut rng = rand::rng();
    for _ in 0..300 {
        let transport = if rng.random() {
            TransportKind::Polling
        } else {
            TransportKind::WebSocket
        };
        let mut h = Harness::new(transport);
        let mut closed = 0;
        for _ in 0..60 {
            match rng.random_range(0..10) {
                0 => {
                    let _ = h.s.handle_poll(h.now);
                }
                1 => {
                    h.s.handle_packet(h.now, crate::packet::tests::random_packet(&mut rng))
                }
                2 => {
                    let _ = h.s.handle_upgrade_start(h.now);
                }
                3 => h.s.handle_probe_packet(
                    h.now,
                    if rng.random() {
                        Packet::Ping("probe".into())
                    } else {
                        Packet::Upgrade
                    },
                ),
                4 => {
                    let _ = h.s.send(Packet::Message("m".into()));
                }
                5 => h.now += Duration::from_millis(rng.random_range(0..400)),
                6 => {
                    h.s.handle_timeout(h.now);
                    // Everything due has fired: nothing left in the past.
                    assert!(h.s.poll_timeout().is_none_or(|t| t > h.now));
                }
                7 => h.s.handle_poll_dropped(h.now),
                8 => h.s.handle_probe_closed(h.now),
                _ => {
                    if rng.random_range(0..5) == 0 {
                        h.s.close(h.now, CloseReason::ForcedClose);
                    }
                }
            }
            assert!(h.s.buffered() <= 4 + 3, "outbox bounded");
            h.transmits();
            for e in h.events() {
                assert_eq!(closed, 0, "no event after Closed");
                if matches!(e, Event::Closed(_)) {
                    closed += 1;
                }
            }
        }
    }
}

/// Fuzz regression (eio_session): a polling client that never polls but
/// keeps POSTing pongs kept the session alive while every ping piled up
/// unsent in the outbox, without bound. A pong now only counts once its
/// ping went out; otherwise the session times out.
#[test]
fn blind_pongs_do_not_keep_a_session_that_never_polls() {
    let mut h = Harness::polling();
    let mut closed = false;
    for _ in 0..10 {
        h.advance(); // ping due (queued, never polled) or pong deadline
        h.s.handle_packet(h.now, Packet::Pong(Str::new()));
        assert!(h.s.buffered() <= 2, "outbox grew to {}", h.s.buffered());
        if h.events()
            .contains(&Event::Closed(CloseReason::PingTimeout))
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "the session must time out");
}

/// Official suite flake ("ignores HTTP requests with same sid after
/// upgrade"): the client sends `2probe`, `5`, then a GET. If the GET was
/// read before `5`, it got a noop (200) instead of 400. A GET that arrives
/// after the probe waits for the check (100 ms); `5` arriving meanwhile refuses it.
#[test]
fn poll_after_probe_is_refused_when_the_upgrade_follows() {
    let mut h = Harness::polling();
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Ping("probe".into()));
    h.transmits();
    assert!(h.poll().is_empty(), "held");
    h.s.handle_probe_packet(h.now, Packet::Upgrade);
    assert_eq!(h.transmits(), [Transmit::PollRefused]);
    assert!(!h.s.is_poll_pending());
    assert!(!h.s.is_closed());
    // Also when the GET was read before the probe itself.
    let mut h = Harness::polling();
    assert!(h.poll().is_empty());
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Ping("probe".into()));
    h.s.handle_probe_packet(h.now, Packet::Upgrade);
    assert_eq!(
        h.transmits(),
        [
            Transmit::Probe(Packet::Pong("probe".into())),
            Transmit::PollRefused
        ]
    );
    // A failed upgrade leaves a waiting poll an ordinary one.
    let mut h = Harness::polling();
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Ping("probe".into()));
    h.transmits();
    assert!(h.poll().is_empty());
    h.s.handle_probe_closed(h.now);
    h.s.send(Packet::Message("x".into())).unwrap();
    assert_eq!(poll_body(&h.transmits()), b"4x");
}

/// Official suite flake ("closes the session upon ping timeout"): the
/// client polls just after pingInterval + pingTimeout; a late timer let
/// that poll wait and get "1" (200) instead of finding the session gone.
/// Deadlines now count from when the ping was due and take effect before
/// any input.
#[test]
fn deadlines_apply_before_inputs_and_do_not_drift() {
    let mut h = Harness::polling();
    let start = h.now;
    // The timer fires 30 ms late.
    h.now = start + Duration::from_millis(330);
    h.s.handle_timeout(h.now);
    assert_eq!(h.s.poll_timeout(), Some(start + Duration::from_millis(500)));
    // Polling at +501 ms, before any timer call, finds the session closed.
    h.now = start + Duration::from_millis(501);
    assert_eq!(h.s.handle_poll(h.now), Err(PollError::Closed));
    assert_eq!(h.events(), [Event::Closed(CloseReason::PingTimeout)]);
    // A pong past the deadline does not revive a session either.
    let mut h = Harness::new(TransportKind::WebSocket);
    let start = h.now;
    h.s.handle_timeout(start + Duration::from_millis(300));
    assert!(h
        .transmits()
        .contains(&Transmit::WebSocket(Packet::Ping(Str::new()))));
    h.s.handle_packet(start + Duration::from_millis(501), Packet::Pong(Str::new()));
    assert!(h.s.is_closed());
}

/// Fuzz regression (eio_session): a poll arriving when a held poll's
/// release was due released the old poll and accepted the new one in the
/// same call, so the driver would have given the old poll's noop to the new
/// request. Now the second GET is an overlap, as any second GET is.
#[test]
fn a_second_poll_while_one_is_held_is_an_overlap() {
    let mut h = Harness::polling();
    h.s.handle_upgrade_start(h.now).unwrap();
    h.s.handle_probe_packet(h.now, Packet::Ping("probe".into()));
    h.transmits();
    assert!(h.poll().is_empty(), "held");
    h.now += UPGRADE_CHECK_INTERVAL * 2;
    assert_eq!(h.s.handle_poll(h.now), Err(PollError::Overlap));
    assert_eq!(
        h.transmits(),
        [
            Transmit::AbortProbe,
            Transmit::Poll(Bytes::from_static(b"1"))
        ]
    );
}
