//! HTTP long-polling payloads: packets joined by the record separator
//! `\x1e`, binary packets as `b` + base64.
//!
//! Pure codec over [`crate::packet`]: it must not touch a session or do I/O.
//! See <https://github.com/socketio/engine.io-protocol#http-long-polling-1>.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::PacketError;
use crate::packet::Packet;
use crate::str::Str;

/// The record separator between packets of a payload.
pub const SEPARATOR: u8 = 0x1e;

/// Decodes a polling payload (a POST body). Text records share `body`.
///
/// Fails on the first bad record (invalid UTF-8 anywhere, an empty record,
/// an unknown type, invalid base64) and, before allocating anything, when
/// the payload holds more than `max_packets` packets.
pub fn decode(body: Bytes, max_packets: usize) -> Result<Vec<Packet>, PacketError> {
    let count = 1 + body.iter().filter(|&&c| c == SEPARATOR).count();
    if count > max_packets {
        return Err(PacketError::TooManyPackets { limit: max_packets });
    }
    let text = Str::from_utf8(body).map_err(|_| PacketError::InvalidUtf8)?;
    let bytes = text.as_bytes();
    let mut packets = Vec::with_capacity(count);
    let mut start = 0;
    loop {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == SEPARATOR)
            .map_or(bytes.len(), |i| start + i);
        let record = bytes.slice(start..end);
        packets.push(decode_record(record)?);
        if end == bytes.len() {
            return Ok(packets);
        }
        start = end + 1;
    }
}

/// Decodes a POST body for a session speaking `protocol`: an Engine.IO 3
/// body in its text or (`binary`: sent as `application/octet-stream`)
/// binary form ([`crate::eio3::decode_payload`]), else [`decode`]. A
/// binary Engine.IO 4 body is refused by the transports before this.
pub fn decode_for(
    protocol: crate::eio3::Protocol,
    binary: bool,
    body: Bytes,
    max_packets: usize,
) -> Result<Vec<Packet>, PacketError> {
    match protocol {
        crate::eio3::Protocol::V3 => crate::eio3::decode_payload(body, binary, max_packets),
        _ => decode(body, max_packets),
    }
}

fn decode_record(record: Bytes) -> Result<Packet, PacketError> {
    // A slice of valid UTF-8 split at an ASCII separator is valid UTF-8;
    // `decode_text` also handles `b` + base64 records.
    Packet::decode_text(record)
}

/// Encodes packets into one polling payload (a GET response body).
pub fn encode<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> Bytes {
    let mut out = BytesMut::new();
    for (i, p) in packets.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(SEPARATOR);
        }
        p.encode_text_into(&mut out);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::tests::random_batch;

    fn decode_all(body: Bytes) -> Result<Vec<Packet>, PacketError> {
        decode(body, usize::MAX)
    }

    #[test]
    fn packet_count_is_checked_before_allocating() {
        let body = Bytes::from(vec![SEPARATOR; 1_000_000]);
        assert_eq!(
            decode(body, 1024),
            Err(PacketError::TooManyPackets { limit: 1024 })
        );
        assert_eq!(decode(Bytes::from_static(b"4a\x1e4b"), 2).unwrap().len(), 2);
        assert!(decode(Bytes::from_static(b"4a\x1e4b\x1e4c"), 2).is_err());
    }

    #[test]
    fn spec_examples() {
        let p = decode_all(Bytes::from_static(b"4hello\x1e2\x1e4world")).unwrap();
        assert_eq!(
            p,
            vec![
                Packet::Message("hello".into()),
                Packet::Ping(Str::new()),
                Packet::Message("world".into())
            ]
        );
        let p = decode_all(Bytes::from_static(b"4hello\x1ebAQIDBA==")).unwrap();
        assert_eq!(p[1], Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])));
        assert_eq!(encode(&p), Bytes::from_static(b"4hello\x1ebAQIDBA=="));
    }

    #[test]
    fn base64_without_padding_is_accepted() {
        let p = decode_all(Bytes::from_static(b"bAQIDBA")).unwrap();
        assert_eq!(p, vec![Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))]);
        assert_eq!(
            decode_all(Bytes::from_static(b"b")).unwrap(),
            vec![Packet::Binary(Bytes::new())]
        );
    }

    #[test]
    fn malformed_payloads() {
        let bad: [(&[u8], PacketError); 7] = [
            (b"", PacketError::Empty),
            (b"4a\x1e", PacketError::Empty),
            (b"\x1e4a", PacketError::Empty),
            (b"abc", PacketError::UnknownType(b'a')),
            (b"4a\x1e9", PacketError::UnknownType(b'9')),
            (b"b!!!", PacketError::InvalidBase64),
            (b"4\xff", PacketError::InvalidUtf8),
        ];
        for (input, want) in bad {
            assert_eq!(
                decode_all(Bytes::copy_from_slice(input)),
                Err(want),
                "{input:?}"
            );
        }
    }

    #[test]
    fn round_trip_property() {
        let mut rng = rand::rng();
        for _ in 0..2000 {
            let packets = random_batch(&mut rng);
            let wire = encode(&packets);
            assert_eq!(decode_all(wire).unwrap(), packets);
        }
    }
}
