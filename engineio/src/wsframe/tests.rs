use bytes::{BufMut, BytesMut};
use rand::{Rng, SeedableRng};

use super::*;

/// A client frame: masked with `mask`, header bits as given.
fn frame(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.put_u8(first);
    let n = payload.len();
    if n < 126 {
        out.put_u8(0x80 | n as u8);
    } else if n <= 0xFFFF {
        out.put_u8(0x80 | 126);
        out.put_u16(n as u16);
    } else {
        out.put_u8(0x80 | 127);
        out.put_u64(n as u64);
    }
    out.put_slice(&mask);
    let mut p = payload.to_vec();
    unmask(&mut p, mask, 0);
    out.put_slice(&p);
    out.to_vec()
}

const M: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

fn decode_all(d: &mut WsDecoder, bytes: &[u8]) -> Result<Vec<WsMessage>, WsError> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(m) = d.decode(&mut buf)? {
        out.push(m);
    }
    Ok(out)
}

fn text(s: &str) -> WsMessage {
    WsMessage::Text(Str::from(s.to_string()))
}

#[test]
fn decodes_text_binary_and_control_frames() {
    let mut bytes = frame(0x81, b"4hello", M);
    bytes.extend(frame(0x82, &[1, 2, 3], M));
    bytes.extend(frame(0x89, b"p", M));
    bytes.extend(frame(0x8A, b"", M));
    bytes.extend(frame(0x88, &[0x03, 0xE8, b'o', b'k'], M));
    bytes.extend(frame(0x88, b"", M));
    let got = decode_all(&mut WsDecoder::new(1000), &bytes).unwrap();
    assert_eq!(
        got,
        vec![
            text("4hello"),
            WsMessage::Binary(Bytes::from_static(&[1, 2, 3])),
            WsMessage::Ping(Bytes::from_static(b"p")),
            WsMessage::Pong,
            WsMessage::Close(Some(1000)),
            WsMessage::Close(None),
        ]
    );
}

#[test]
fn reassembles_fragments_with_control_frames_between() {
    // "é" split across the two fragments: UTF-8 is checked on the whole.
    let s = "4caf\u{e9}!";
    let (a, b) = s.as_bytes().split_at(5);
    let mut bytes = frame(0x01, a, M);
    bytes.extend(frame(0x89, b"x", M));
    bytes.extend(frame(0x00, b"", M));
    bytes.extend(frame(0x80, b, M));
    let mut d = WsDecoder::new(1000);
    let got = decode_all(&mut d, &bytes).unwrap();
    assert_eq!(
        got,
        vec![WsMessage::Ping(Bytes::from_static(b"x")), text(s)]
    );
    assert!(!d.in_message());
}

#[test]
fn byte_at_a_time_gives_the_same_messages() {
    let mut bytes = frame(0x81, &[b'a'; 300], M);
    bytes.extend(frame(0x82, &[7u8; 70_000], M));
    let mut d = WsDecoder::new(100_000);
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for b in &bytes {
        buf.put_u8(*b);
        if let Some(m) = d.decode(&mut buf).unwrap() {
            got.push(m);
        } else {
            assert!(d.missing(&buf) >= 1);
        }
    }
    assert_eq!(
        got,
        vec![
            text(&"a".repeat(300)),
            WsMessage::Binary(Bytes::from(vec![7u8; 70_000]))
        ]
    );
    assert!(buf.is_empty());
}

#[test]
fn missing_counts_the_rest_of_the_frame() {
    let bytes = frame(0x82, &[0u8; 1000], M);
    let d = WsDecoder::new(2000);
    assert_eq!(d.missing(&bytes[..1]), 13);
    assert_eq!(d.missing(&bytes[..8]), 1000);
    assert_eq!(d.missing(&bytes[..500]), 508);
}

#[test]
fn refuses_protocol_errors() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unmasked", vec![0x81, 0x01, b'4']),
        ("reserved bit", frame(0xC1, b"4", M)),
        ("reserved opcode", frame(0x83, b"", M)),
        ("reserved control opcode", frame(0x8B, b"", M)),
        ("fragmented ping", frame(0x09, b"", M)),
        ("long ping", frame(0x89, &[0; 126], M)),
        ("stray continuation", frame(0x80, b"x", M)),
        ("one-byte close", frame(0x88, &[3], M)),
        ("close code 1005", frame(0x88, &[0x03, 0xED], M)),
        ("close code 999", frame(0x88, &[0x03, 0xE7], M)),
        ("length with top bit", {
            let mut f = vec![0x82, 0xFF];
            f.extend(u64::MAX.to_be_bytes());
            f.extend(M);
            f
        }),
        ("data frame inside a message", {
            let mut f = frame(0x01, b"a", M);
            f.extend(frame(0x81, b"b", M));
            f
        }),
    ];
    for (name, bytes) in cases {
        let r = decode_all(&mut WsDecoder::new(1000), &bytes);
        assert_eq!(r, Err(WsError::Protocol), "{name}");
    }
    assert_eq!(WsError::Protocol.close_code(), 1002);
}

#[test]
fn refuses_invalid_utf8_text() {
    let r = decode_all(&mut WsDecoder::new(100), &frame(0x81, &[b'4', 0xC3], M));
    assert_eq!(r, Err(WsError::InvalidUtf8));
    assert_eq!(WsError::InvalidUtf8.close_code(), 1007);
    // A close reason is text too (section 5.5.1).
    let r = decode_all(
        &mut WsDecoder::new(100),
        &frame(0x88, &[0x03, 0xE8, 0xFF], M),
    );
    assert_eq!(r, Err(WsError::InvalidUtf8));
    // Cut off at the end of the last fragment.
    let mut bytes = frame(0x01, "é".as_bytes(), M);
    bytes.extend(frame(0x80, &[b'a', 0xE2, 0x82], M));
    let r = decode_all(&mut WsDecoder::new(100), &bytes);
    assert_eq!(r, Err(WsError::InvalidUtf8));
}

/// Autobahn 6.4.1/6.4.2: a fragment with invalid UTF-8 fails the
/// connection before the message's last fragment arrives.
#[test]
fn invalid_utf8_in_a_fragment_is_refused_before_the_message_ends() {
    // The second fragment holds U+110000 (past the Unicode range); no
    // final fragment follows.
    let mut bytes = frame(0x01, "\u{3ba}".as_bytes(), M);
    bytes.extend(frame(0x00, &[0xF4, 0x90, 0x80, 0x80], M));
    let mut d = WsDecoder::new(1000);
    let mut buf = BytesMut::from(&bytes[..]);
    assert_eq!(d.decode(&mut buf), Err(WsError::InvalidUtf8));
    // Valid fragments, one sequence split between them, are fine.
    let s = "\u{3ba}\u{1f79}\u{3c3}";
    let (a, b) = s.as_bytes().split_at(3);
    let mut bytes = frame(0x01, a, M);
    bytes.extend(frame(0x80, b, M));
    assert_eq!(
        decode_all(&mut WsDecoder::new(1000), &bytes).unwrap(),
        vec![text(s)]
    );
}

/// Autobahn 6.4.3/6.4.4: invalid UTF-8 in a frame still being received is
/// refused as soon as the bad byte is here, not when the frame completes.
#[test]
fn invalid_utf8_in_a_partial_frame_is_refused_at_once() {
    let mut payload = "\u{3ba}\u{1f79}".as_bytes().to_vec();
    payload.extend([0xF4, 0x90, 0x80, 0x80]);
    payload.extend([b'x'; 1000]);
    let bytes = frame(0x81, &payload, [1, 2, 3, 4]);
    let mut d = WsDecoder::new(2000);
    // Header (2 + 2 + 4 bytes) and the valid text: nothing yet, nothing refused.
    let mut buf = BytesMut::from(&bytes[..8 + 5]);
    assert_eq!(d.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&bytes[13..14]);
    assert_eq!(d.decode(&mut buf), Ok(None), "0xF4 may start a sequence");
    buf.extend_from_slice(&bytes[14..15]);
    assert_eq!(d.decode(&mut buf), Err(WsError::InvalidUtf8));
}

/// A text frame read in pieces is unmasked piece by piece in place; the
/// message is the same as from the whole frame, whatever the cuts.
#[test]
fn partial_text_frames_unmask_and_check_in_pieces() {
    let s = "h\u{e9}llo w\u{f6}rld \u{20ac}\u{1d11e} ".repeat(20);
    let bytes = frame(0x81, s.as_bytes(), [0xA1, 0xB2, 0xC3, 0xD4]);
    for step in [1, 2, 3, 5, 7, 64] {
        let mut d = WsDecoder::new(10_000);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in bytes.chunks(step) {
            buf.extend_from_slice(piece);
            while let Some(m) = d.decode(&mut buf).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, vec![text(&s)], "step {step}");
    }
}

#[test]
fn close_codes_follow_the_registry() {
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4999,
    ] {
        let got = decode_all(
            &mut WsDecoder::new(100),
            &frame(0x88, &code.to_be_bytes(), M),
        );
        assert_eq!(got, Ok(vec![WsMessage::Close(Some(code))]), "{code}");
    }
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        let got = decode_all(
            &mut WsDecoder::new(100),
            &frame(0x88, &code.to_be_bytes(), M),
        );
        assert_eq!(got, Err(WsError::Protocol), "{code}");
    }
}

/// A reserved opcode is refused on the header alone, before its payload
/// arrives (found by eio_ws_diff: the payload was buffered first).
#[test]
fn refuses_reserved_opcodes_on_the_header_alone() {
    for first in [0x03, 0x87, 0x0B, 0x8F] {
        let full = frame(first, &[0u8; 116], M);
        let mut buf = BytesMut::from(&full[..6]);
        assert_eq!(
            WsDecoder::new(1000).decode(&mut buf),
            Err(WsError::Protocol),
            "{first:#x}"
        );
    }
}

#[test]
fn refuses_oversize_on_the_header_alone() {
    // Only the header of a 1 MB frame: refused before any payload arrives.
    let full = frame(0x82, &vec![0u8; 1 << 20], M);
    let mut buf = BytesMut::from(&full[..14]);
    assert_eq!(WsDecoder::new(1000).decode(&mut buf), Err(WsError::TooBig));
    // Fragments that add up to more than the limit.
    let mut bytes = frame(0x02, &[0; 600], M);
    bytes.extend(frame(0x80, &[0; 600], M));
    assert_eq!(
        decode_all(&mut WsDecoder::new(1000), &bytes),
        Err(WsError::TooBig)
    );
    // Exactly at the limit is fine.
    let at = frame(0x82, &[0; 1000], M);
    assert_eq!(decode_all(&mut WsDecoder::new(1000), &at).unwrap().len(), 1);
    assert_eq!(WsError::TooBig.close_code(), 1009);
}

#[test]
fn header_lengths_use_the_shortest_form() {
    for (n, len) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
        let mut out = BytesMut::new();
        encode_header(&mut out, FrameKind::Binary, n);
        assert_eq!(out.len(), len, "{n}");
        assert_eq!(out[0], 0x82);
    }
    let mut out = BytesMut::new();
    encode_close(&mut out, Some(1000));
    encode_close(&mut out, None);
    assert_eq!(&out[..], &[0x88, 2, 0x03, 0xE8, 0x88, 0]);
    let mut out = BytesMut::new();
    encode_header(&mut out, FrameKind::Pong, 1);
    assert_eq!(out[0], 0x8A);
}

/// Random messages, randomly fragmented and masked and cut into random
/// reads, decode to the same messages.
#[test]
fn random_fragmentation_round_trip() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(6455);
    for _ in 0..200 {
        let mut wire = Vec::new();
        let mut want = Vec::new();
        for _ in 0..rng.random_range(1..6) {
            let len = [0, 1, 125, 126, 300, 70_000][rng.random_range(0..6)];
            let is_text = rng.random_bool(0.5);
            let data: Vec<u8> = if is_text {
                (0..len).map(|_| rng.random_range(b'a'..=b'z')).collect()
            } else {
                (0..len).map(|_| rng.random()).collect()
            };
            let parts = rng.random_range(1..4).min(len.max(1));
            let mut start = 0;
            for i in 0..parts {
                let end = if i + 1 == parts {
                    len
                } else {
                    rng.random_range(start..=len)
                };
                let opcode = if i == 0 {
                    if is_text {
                        1
                    } else {
                        2
                    }
                } else {
                    0
                };
                let fin = if i + 1 == parts { 0x80 } else { 0 };
                wire.extend(frame(fin | opcode, &data[start..end], rng.random()));
                start = end;
            }
            want.push(if is_text {
                text(std::str::from_utf8(&data).unwrap())
            } else {
                WsMessage::Binary(Bytes::from(data))
            });
        }
        let mut d = WsDecoder::new(100_000);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut rest = &wire[..];
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len().min(5000));
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(m) = d.decode(&mut buf).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, want);
        assert!(buf.is_empty() && !d.in_message());
    }
}

fn deflating(max: usize) -> WsDecoder {
    let agreed = crate::deflate::negotiate(["permessage-deflate"], &Default::default()).unwrap();
    let mut d = WsDecoder::new(max);
    d.set_inflater(agreed.inflater());
    d
}

/// RFC 7692 section 7.2.3.1: "Hello", compressed.
const HELLO_Z: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

#[test]
fn inflates_compressed_messages_whole_and_fragmented() {
    let mut bytes = frame(0xC1, &HELLO_Z, M);
    // Section 7.2.3.1's fragmented form: RSV1 on the first frame only.
    bytes.extend(frame(0x41, &HELLO_Z[..3], M));
    bytes.extend(frame(0x89, b"x", M));
    bytes.extend(frame(0x80, &HELLO_Z[3..], M));
    bytes.extend(frame(0xC2, &HELLO_Z, M));
    bytes.extend(frame(0x81, b"plain", M));
    let got = decode_all(&mut deflating(100), &bytes).unwrap();
    assert_eq!(
        got,
        vec![
            text("Hello"),
            WsMessage::Ping(Bytes::from_static(b"x")),
            text("Hello"),
            WsMessage::Binary(Bytes::from_static(b"Hello")),
            text("plain"),
        ]
    );
}

#[test]
fn rsv1_is_refused_where_no_compression_applies() {
    for (name, bytes) in [
        ("on a ping", frame(0xC9, b"", M)),
        ("on a close", frame(0xC8, b"", M)),
        ("on a continuation", {
            let mut f = frame(0x01, b"a", M);
            f.extend(frame(0xC0, b"b", M));
            f
        }),
        ("rsv2", frame(0xA1, b"a", M)),
        ("rsv3", frame(0x91, b"a", M)),
    ] {
        let r = decode_all(&mut deflating(100), &bytes);
        assert_eq!(r, Err(WsError::Protocol), "{name}");
    }
    // Not negotiated: RSV1 is a protocol error (1002).
    let r = decode_all(&mut WsDecoder::new(100), &frame(0xC1, &HELLO_Z, M));
    assert_eq!(r, Err(WsError::Protocol));
}

#[test]
fn bad_compressed_messages_close_with_their_codes() {
    let r = decode_all(&mut deflating(100), &frame(0xC1, &[0xff, 0x00], M));
    assert_eq!(r, Err(WsError::BadCompression));
    assert_eq!(WsError::BadCompression.close_code(), 1007);
    // Inflates to more than the limit: 1009, however small the frame.
    let r = decode_all(&mut deflating(4), &frame(0xC2, &HELLO_Z, M));
    assert_eq!(r, Err(WsError::TooBig));
    // Inflates to invalid UTF-8 in a text message: 1007.
    let agreed = crate::deflate::negotiate(["permessage-deflate"], &Default::default()).unwrap();
    let mut d = agreed.deflater();
    let z = d.compress(&[&[0xC3u8; 2000]], None).unwrap();
    let r = decode_all(&mut deflating(5000), &frame(0xC1, &z, M));
    assert_eq!(r, Err(WsError::InvalidUtf8));
}
