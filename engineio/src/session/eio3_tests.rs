//! Engine.IO 3 sessions: the client pings, the server answers; v3 payloads.

use super::*;

fn config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(100)
}

fn v3(base64: bool) -> Wire {
    Wire {
        protocol: Protocol::V3,
        base64,
    }
}

/// A v3 session whose handshake poll was answered, and its clock.
fn polling(base64: bool) -> (Session, Instant) {
    let now = Instant::now();
    let mut s = Session::with_wire(
        Sid::random(),
        &config(),
        TransportKind::Polling,
        now,
        v3(base64),
    );
    s.handle_poll(now).unwrap();
    let body = poll(&mut s);
    let len_end = body.iter().position(|b| *b == b':').unwrap();
    assert_eq!(body[len_end + 1], b'0', "{body:?}");
    let open = std::str::from_utf8(&body[len_end + 1..]).unwrap();
    let want: usize = std::str::from_utf8(&body[..len_end])
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(open.encode_utf16().count(), want);
    (s, now)
}

fn poll(s: &mut Session) -> Bytes {
    match s.poll_transmit() {
        Some(Transmit::Poll(b)) => b,
        other => panic!("expected a poll answer, got {other:?}"),
    }
}

#[test]
fn the_server_never_pings_and_answers_client_pings() {
    let (mut s, now) = polling(true);
    // No ping is scheduled: the only deadline is the client's ping's.
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_millis(500)));
    let t1 = now + Duration::from_millis(400);
    s.handle_timeout(t1);
    s.handle_poll(t1).unwrap();
    assert_eq!(s.poll_transmit(), None, "no server ping in v3");
    s.handle_packet(t1, Packet::Ping(Str::new()));
    assert_eq!(&poll(&mut s)[..], b"1:3");
    // Each ping restarts the whole interval + timeout.
    assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_millis(500)));
    s.handle_timeout(t1 + Duration::from_millis(499));
    assert!(!s.is_closed());
    s.handle_timeout(t1 + Duration::from_millis(500));
    assert_eq!(s.close_reason(), Some(&CloseReason::PingTimeout));
}

#[test]
fn a_client_pong_is_an_error_in_v3() {
    let (mut s, now) = polling(true);
    s.handle_packet(now, Packet::Pong(Str::new()));
    assert_eq!(s.close_reason(), Some(&CloseReason::TransportError));
}

#[test]
fn pings_without_polls_queue_one_pong() {
    let (mut s, now) = polling(true);
    for _ in 0..10_000 {
        s.handle_packet(now, Packet::Ping(Str::new()));
    }
    assert_eq!(s.buffered(), 1);
    s.handle_poll(now).unwrap();
    assert_eq!(&poll(&mut s)[..], b"1:3");
    s.handle_packet(now, Packet::Ping(Str::new()));
    assert_eq!(s.buffered(), 1, "a pong is queued again once sent");
}

#[test]
fn payloads_use_the_v3_encoding() {
    let (mut s, now) = polling(false);
    s.send(Packet::Message("é".into())).unwrap();
    s.send(Packet::Binary(Bytes::from_static(&[7, 8]))).unwrap();
    s.handle_poll(now).unwrap();
    let body = poll(&mut s);
    let want: &[u8] = &[0, 3, 255, b'4', 0xc3, 0xa9, 1, 3, 255, 4, 7, 8];
    assert_eq!(&body[..], want);
    let (mut s, now) = polling(true);
    s.send(Packet::Binary(Bytes::from_static(&[7, 8]))).unwrap();
    s.handle_poll(now).unwrap();
    assert_eq!(&poll(&mut s)[..], b"6:b4Bwg=");
}

#[test]
fn payloads_stay_within_max_payload() {
    let (mut s, now) = polling(true);
    for _ in 0..4 {
        s.send(Packet::Message(Str::from("x".repeat(40)))).unwrap();
    }
    let mut answers = 0;
    while s.buffered() > 0 {
        s.handle_poll(now).unwrap();
        let body = poll(&mut s);
        assert!(body.len() <= 100, "{}", body.len());
        let packets = crate::eio3::decode_payload(body, false, 16).unwrap();
        assert!(!packets.is_empty());
        answers += 1;
    }
    assert_eq!(answers, 4);
}

#[test]
fn close_and_noop_are_v3_payloads() {
    let (mut s, now) = polling(true);
    s.handle_poll(now).unwrap();
    s.close(now, CloseReason::ForcedClose);
    assert_eq!(&poll(&mut s)[..], b"1:1");
    let (mut s, now) = polling(true);
    s.handle_poll(now).unwrap();
    s.handle_packet(now, Packet::Close);
    assert_eq!(&poll(&mut s)[..], b"1:6");
}

#[test]
fn a_v3_websocket_session_answers_pings_on_the_socket() {
    let now = Instant::now();
    let cfg = config();
    let mut s = Session::with_wire(
        Sid::random(),
        &cfg,
        TransportKind::WebSocket,
        now,
        v3(false),
    );
    assert!(matches!(
        s.poll_transmit(),
        Some(Transmit::WebSocket(Packet::Open(_)))
    ));
    s.handle_packet(now, Packet::Ping("x".into()));
    assert_eq!(
        s.poll_transmit(),
        Some(Transmit::WebSocket(Packet::Pong(Str::new())))
    );
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_millis(500)));
}

#[test]
fn a_client_ping_during_the_upgrade_is_answered_on_polling() {
    let (mut s, now) = polling(true);
    s.handle_upgrade_start(now).unwrap();
    s.handle_probe_packet(now, Packet::Ping("probe".into()));
    assert_eq!(
        s.poll_transmit(),
        Some(Transmit::Probe(Packet::Pong("probe".into())))
    );
    s.handle_packet(now, Packet::Ping(Str::new()));
    s.handle_poll(now).unwrap();
    assert_eq!(&poll(&mut s)[..], b"1:3");
    s.handle_probe_packet(now, Packet::Upgrade);
    assert_eq!(s.transport(), TransportKind::WebSocket);
    s.handle_packet(now, Packet::Ping(Str::new()));
    assert_eq!(
        s.poll_transmit(),
        Some(Transmit::WebSocket(Packet::Pong(Str::new())))
    );
    let later = now + Duration::from_millis(499);
    s.handle_timeout(later);
    assert!(!s.is_closed(), "the ping on polling restarted the deadline");
}
