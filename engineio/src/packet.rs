//! Engine.IO v4 packets: the seven types, text and binary encodings.
//!
//! Pure codec: no I/O, no clock. Decoding works on raw bytes, never assumes
//! UTF-8 and never panics; every failure is a [`PacketError`].
//! See <https://github.com/socketio/engine.io-protocol#protocol>.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::PacketError;
use crate::str::Str;

/// The packet type, as its digit on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: handshake.
    Open = b'0',
    /// `1`: close the session.
    Close = b'1',
    /// `2`: heartbeat ping (or upgrade probe).
    Ping = b'2',
    /// `3`: heartbeat pong (or probe answer).
    Pong = b'3',
    /// `4`: application message.
    Message = b'4',
    /// `5`: complete an upgrade.
    Upgrade = b'5',
    /// `6`: no operation (releases a pending poll during upgrade).
    Noop = b'6',
}

impl PacketType {
    /// Parses a type digit.
    pub fn from_byte(b: u8) -> Result<Self, PacketError> {
        Ok(match b {
            b'0' => PacketType::Open,
            b'1' => PacketType::Close,
            b'2' => PacketType::Ping,
            b'3' => PacketType::Pong,
            b'4' => PacketType::Message,
            b'5' => PacketType::Upgrade,
            b'6' => PacketType::Noop,
            other => return Err(PacketError::UnknownType(other)),
        })
    }
}

/// One Engine.IO packet.
///
/// Payloads of `Close`, `Upgrade` and `Noop` are ignored on decode, as the
/// reference server does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Packet {
    /// Handshake with its JSON payload.
    Open(Str),
    /// Close.
    Close,
    /// Ping with optional payload (`probe` during upgrade).
    Ping(Str),
    /// Pong with optional payload (`probe` during upgrade).
    Pong(Str),
    /// Text message.
    Message(Str),
    /// Binary message (raw bytes on WebSocket, `b`+base64 in a polling payload).
    Binary(Bytes),
    /// Upgrade.
    Upgrade,
    /// No operation.
    Noop,
}

/// Standard alphabet; accepts input with or without padding.
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

pub(crate) fn decode_base64(data: &[u8]) -> Result<Bytes, PacketError> {
    use base64::Engine as _;
    LENIENT_BASE64
        .decode(data)
        .map(Bytes::from)
        .map_err(|_| PacketError::InvalidBase64)
}

/// One WebSocket frame's worth of encoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame.
    Text(Str),
    /// A binary frame.
    Binary(Bytes),
}

impl Packet {
    /// The packet's type; binary messages are `Message`.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// Decodes a text packet (a WebSocket text frame or one record of a
    /// polling payload) from raw bytes, checking UTF-8. Shares `data`.
    pub fn decode_text(data: Bytes) -> Result<Packet, PacketError> {
        let s = Str::from_utf8(data).map_err(|_| PacketError::InvalidUtf8)?;
        Packet::decode_str(s)
    }

    /// Decodes a text packet already known to be UTF-8. Shares `s`.
    ///
    /// `b` + base64 is a binary message, as the reference parser accepts on
    /// every transport (clients with `forceBase64` send it over WebSocket).
    pub fn decode_str(s: Str) -> Result<Packet, PacketError> {
        let first = *s.as_bytes().first().ok_or(PacketError::Empty)?;
        if first == b'b' {
            return decode_base64(&s.as_bytes()[1..]).map(Packet::Binary);
        }
        let ty = PacketType::from_byte(first)?;
        // The type byte is ASCII, so index 1 is a char boundary.
        let data = || s.without_first_byte();
        Ok(match ty {
            PacketType::Open => Packet::Open(data()),
            PacketType::Close => Packet::Close,
            PacketType::Ping => Packet::Ping(data()),
            PacketType::Pong => Packet::Pong(data()),
            PacketType::Message => Packet::Message(data()),
            PacketType::Upgrade => Packet::Upgrade,
            PacketType::Noop => Packet::Noop,
        })
    }

    /// Decodes a WebSocket binary frame: always a binary message in v4.
    pub fn decode_binary(data: Bytes) -> Packet {
        Packet::Binary(data)
    }

    fn text_payload(&self) -> Option<&Str> {
        match self {
            Packet::Open(s) | Packet::Ping(s) | Packet::Pong(s) | Packet::Message(s) => Some(s),
            _ => None,
        }
    }

    /// Encodes the packet as one WebSocket frame.
    pub fn encode_frame(&self) -> Frame {
        match self {
            Packet::Binary(b) => Frame::Binary(b.clone()),
            other => Frame::Text(Str::from(other.to_text())),
        }
    }

    /// The packet's text form (binary messages as `b` + base64), as a
    /// `String` so that callers can hand it on without re-validating.
    pub fn to_text(&self) -> String {
        use base64::Engine as _;
        let mut s = String::with_capacity(self.text_len());
        match self {
            Packet::Binary(b) => {
                s.push('b');
                base64::engine::general_purpose::STANDARD.encode_string(b, &mut s);
            }
            other => {
                s.push(char::from(other.packet_type() as u8));
                if let Some(p) = other.text_payload() {
                    s.push_str(p);
                }
            }
        }
        s
    }

    /// Length of this packet's text form (binary: `b` + base64).
    pub fn text_len(&self) -> usize {
        match self {
            Packet::Binary(b) => 1 + b.len().div_ceil(3) * 4,
            other => 1 + other.text_payload().map_or(0, |s| s.len()),
        }
    }

    /// Appends the packet's text form, as used in a polling payload:
    /// binary messages become `b` + standard base64.
    pub fn encode_text_into(&self, out: &mut BytesMut) {
        use base64::Engine as _;
        match self {
            Packet::Binary(b) => {
                out.reserve(self.text_len());
                out.put_u8(b'b');
                let start = out.len();
                out.resize(start + b.len().div_ceil(3) * 4, 0);
                let n = base64::engine::general_purpose::STANDARD
                    .encode_slice(b, &mut out[start..])
                    .unwrap_or(0);
                out.truncate(start + n);
            }
            other => {
                out.put_u8(other.packet_type() as u8);
                if let Some(s) = other.text_payload() {
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::Rng;

    pub(crate) fn random_text(rng: &mut impl Rng) -> Str {
        let len = rng.random_range(0..12);
        let s: String = (0..len)
            .map(|_| match rng.random_range(0..4) {
                0 => 'é',
                1 => '✓',
                2 => char::from(rng.random_range(0x20u8..0x7f)),
                _ => char::from_u32(rng.random_range(0x20..0xd7ff)).unwrap_or('x'),
            })
            .filter(|c| *c != '\u{1e}')
            .collect();
        Str::from(s)
    }

    /// One to five random packets, as a payload carries them.
    pub(crate) fn random_batch(rng: &mut impl Rng) -> Vec<Packet> {
        let n = rng.random_range(1..6);
        (0..n).map(|_| random_packet(rng)).collect()
    }

    pub(crate) fn random_packet(rng: &mut impl Rng) -> Packet {
        match rng.random_range(0..8) {
            0 => Packet::Open(random_text(rng)),
            1 => Packet::Close,
            2 => Packet::Ping(random_text(rng)),
            3 => Packet::Pong(random_text(rng)),
            4 => Packet::Message(random_text(rng)),
            5 => {
                let len = rng.random_range(0..20);
                Packet::Binary((0..len).map(|_| rng.random()).collect::<Vec<u8>>().into())
            }
            6 => Packet::Upgrade,
            _ => Packet::Noop,
        }
    }

    #[test]
    fn decodes_every_type() {
        let cases: [(&str, Packet); 9] = [
            ("0{}", Packet::Open("{}".into())),
            ("1", Packet::Close),
            ("2", Packet::Ping(Str::new())),
            ("2probe", Packet::Ping("probe".into())),
            ("3probe", Packet::Pong("probe".into())),
            ("4hello é", Packet::Message("hello é".into())),
            ("4", Packet::Message(Str::new())),
            ("5", Packet::Upgrade),
            ("6", Packet::Noop),
        ];
        for (wire, want) in cases {
            assert_eq!(
                Packet::decode_text(Bytes::from(wire)).unwrap(),
                want,
                "{wire}"
            );
        }
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!(Packet::decode_text(Bytes::new()), Err(PacketError::Empty));
        assert_eq!(
            Packet::decode_text(Bytes::from_static(b"abc")),
            Err(PacketError::UnknownType(b'a'))
        );
        assert_eq!(
            Packet::decode_text(Bytes::from_static(b"7")),
            Err(PacketError::UnknownType(b'7'))
        );
        assert_eq!(
            Packet::decode_text(Bytes::from_static(b"4\xff\xfe")),
            Err(PacketError::InvalidUtf8)
        );
        // A multi-byte character as the type must not panic when sliced.
        assert!(Packet::decode_text(Bytes::from_static(b"\xc3\xa9")).is_err());
        assert_eq!(
            Packet::decode_text(Bytes::from_static(b"b!!")),
            Err(PacketError::InvalidBase64)
        );
    }

    #[test]
    fn base64_text_packet_is_binary() {
        assert_eq!(
            Packet::decode_text(Bytes::from_static(b"bAQIDBA==")).unwrap(),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))
        );
    }

    #[test]
    fn encodes_frames() {
        assert_eq!(
            Packet::Message("hi".into()).encode_frame(),
            Frame::Text("4hi".into())
        );
        assert_eq!(
            Packet::Binary(Bytes::from_static(&[1, 2])).encode_frame(),
            Frame::Binary(Bytes::from_static(&[1, 2]))
        );
        let mut out = BytesMut::new();
        Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])).encode_text_into(&mut out);
        assert_eq!(&out[..], b"bAQIDBA==");
    }

    #[test]
    fn frame_round_trip_property() {
        let mut rng = rand::rng();
        for _ in 0..5000 {
            let p = random_packet(&mut rng);
            let back = match p.encode_frame() {
                Frame::Text(s) => Packet::decode_text(s.into_bytes()).unwrap(),
                Frame::Binary(b) => Packet::decode_binary(b),
            };
            assert_eq!(back, p);
            let mut out = BytesMut::new();
            p.encode_text_into(&mut out);
            assert_eq!(out.len(), p.text_len(), "{p:?}");
            assert_eq!(p.to_text().as_bytes(), &out[..]);
        }
    }
}
