//! The msgpack parser, as `socket.io-msgpack-parser` 3.x (on notepack.io)
//! puts packets on the wire, and the msgpack form of JSON values with
//! binary parts that the Redis adapters share.
//!
//! A packet is one Engine.IO binary message: the msgpack map `{type, data,
//! nsp, id}` with the keys in the order the reference server writes them
//! (an ack starts with `id`), `nsp` always present (`"/"` too), `data` and
//! `id` only when the packet has them. There are no BINARY_EVENT or
//! BINARY_ACK types and no attachments: binary travels inline as msgpack
//! `bin`. Decoding turns each binary value into an attachment of the
//! [`Packet`] (a placeholder in its data, as the JSON parser leaves them),
//! so handlers see binary the same way whichever parser, and encoding
//! turns placeholders back into `bin`.
//!
//! What notepack.io writes besides plain msgpack is read as it reads it:
//! `ext` type 0 (an `ArrayBuffer` or typed array) is binary, `fixext 1`
//! type 0 is `undefined` (a missing key, `null` in an array), `fixext 8`
//! type 0 a `Date` (its milliseconds); any other extension is `[type,
//! bin]`. Map keys may be strings, integers, booleans or nil (JavaScript
//! makes strings of them). Strings that are not UTF-8 are read lossily.
//!
//! Validation follows the reference's `checkPacket`: `type` an integer 0
//! to 4, `nsp` a string, `id` absent or an integer, `data` of the shape
//! the type needs; and, as the JSON parser requires, an event's first
//! argument is a name that is not reserved, and an id fits a `u64`.
//! Stricter than the reference: trailing bytes, nesting deeper than the
//! JSON parser allows ([`MAX_DEPTH`]), more binary values than the
//! attachment cap, a repeated key of the packet, and a map shaped like a
//! JSON placeholder (`{"_placeholder": true, ...}`, which would be taken
//! for binary) are refused. Pure; never panics.

mod value;

use bytes::Bytes;
use serde_json::Value;

use crate::error::ParseError;
use crate::packet::{Packet, PacketType, Parts};

pub use value::{decode_value, encode_value};
use value::{put_len, put_str, put_uint, Reader};

/// Most arrays and maps a packet's data may nest: what the JSON parser
/// (serde_json's recursion limit) accepts, so that no client can send
/// deeper data with one parser than with the other.
pub const MAX_DEPTH: usize = 127;

/// Decodes one packet from a binary message. Binary values are slices
/// of `msg` (no copy); at most `max_attachments` of them.
pub fn decode_packet(msg: &Bytes, max_attachments: usize) -> Result<Packet, ParseError> {
    let mut rd = Reader::new(msg, Some(msg), max_attachments);
    let len = rd.map_len()?.ok_or(ParseError::UnknownType)?;
    let (mut ty, mut nsp, mut id, mut data) = (None, None, None, None);
    let mut attachments = Vec::new();
    let mut scratch = Vec::new();
    for _ in 0..len {
        let key = rd.key()?;
        let slot = match key.as_str() {
            "type" => &mut ty,
            "nsp" => &mut nsp,
            "id" => &mut id,
            "data" => {
                if data.is_some() {
                    return Err(ParseError::Malformed);
                }
                // `undefined` data is no data.
                data = Some(rd.value(MAX_DEPTH, &mut attachments)?);
                continue;
            }
            _ => {
                // Anything else (socket.io-client sends `options`) is read
                // under the same limits and dropped.
                rd.value(MAX_DEPTH, &mut scratch)?;
                scratch.clear();
                continue;
            }
        };
        if slot.is_some() {
            return Err(ParseError::Malformed);
        }
        *slot = Some(rd.value(MAX_DEPTH, &mut scratch)?);
    }
    if !rd.is_done() {
        return Err(ParseError::Malformed);
    }
    let binary = !attachments.is_empty();
    let ty = match ty.flatten().as_ref().and_then(Value::as_u64) {
        Some(0) => PacketType::Connect,
        Some(1) => PacketType::Disconnect,
        Some(2) => PacketType::event(binary),
        Some(3) => PacketType::ack(binary),
        Some(4) => PacketType::ConnectError,
        _ => return Err(ParseError::UnknownType),
    };
    let Some(Value::String(nsp)) = nsp.flatten() else {
        return Err(ParseError::InvalidNamespace);
    };
    let id = match id.flatten() {
        None => None,
        Some(v) => Some(v.as_u64().ok_or(ParseError::InvalidAckId)?),
    };
    Packet::checked(ty, nsp, id, data.flatten(), attachments)
}

/// Encodes `packet` as one binary message.
pub fn encode_packet(packet: &Packet) -> Bytes {
    let mut out = Vec::with_capacity(32 + packet.nsp.len());
    encode_parts_into(&mut out, packet.parts(), &packet.attachments);
    Bytes::from(out)
}

/// Appends the message of a packet given by its parts to `out`.
pub(crate) fn encode_parts_into(out: &mut Vec<u8>, parts: Parts<'_>, attachments: &[Bytes]) {
    let ty: u64 = match parts.ty {
        PacketType::Connect => 0,
        PacketType::Disconnect => 1,
        PacketType::Event | PacketType::BinaryEvent => 2,
        PacketType::Ack | PacketType::BinaryAck => 3,
        PacketType::ConnectError => 4,
    };
    let fields = 2 + usize::from(parts.data.is_some()) + usize::from(parts.id.is_some());
    put_len(out, fields, 0x80, 0xde);
    let ack = ty == 3;
    // The reference server's own orders: `{id, type, data}` for an ack,
    // `{type, data, id}` otherwise, `nsp` added last.
    if let (true, Some(id)) = (ack, parts.id) {
        put_str(out, "id");
        put_uint(out, id);
    }
    put_str(out, "type");
    put_uint(out, ty);
    if let Some(data) = parts.data {
        put_str(out, "data");
        encode_value(out, data, attachments);
    }
    if let (false, Some(id)) = (ack, parts.id) {
        put_str(out, "id");
        put_uint(out, id);
    }
    put_str(out, "nsp");
    put_str(out, parts.nsp);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::placeholder;
    use serde_json::json;

    fn hex(s: &str) -> Bytes {
        let s: String = s.split_whitespace().collect();
        let v: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        Bytes::from(v)
    }

    fn dec(b: &Bytes) -> Result<Packet, ParseError> {
        decode_packet(b, 10)
    }

    fn bin(b: &'static [u8]) -> Bytes {
        Bytes::from_static(b)
    }

    // Byte-exact vectors: computed once in node 20 with
    // socket.io-msgpack-parser 3.0.2 (notepack.io 2.2.0), `hex(new
    // Encoder().encode(p)[0])`, on packets built as the reference server
    // builds them (socket.ts: `{type, data, id?}` then `nsp`; an ack
    // `{id, type, data}` then `nsp`).

    /// `{type: 0, data: {sid: "s1", pid: "p1"}, nsp: "/admin"}`
    const CONNECT: &str =
        "83a47479706500a46461746182a3736964a27331a3706964a27031a36e7370a62f61646d696e";
    /// `{type: 2, data: ["hello", 1, Buffer.from([1, 2, 3])], nsp: "/"}`
    const EVENT_BIN: &str = "83a47479706502a46461746193a568656c6c6f01c403010203a36e7370a12f";
    /// `{type: 2, data: ["q", {a: 1.5, b: -200}], id: 7, nsp: "/"}`
    const EVENT_ACK: &str =
        "84a47479706502a46461746192a17182a161cb3ff8000000000000a162d1ff38a2696407a36e7370a12f";
    /// `{id: 7, type: 3, data: ["ok", Buffer.from([255])], nsp: "/chat"}`
    const ACK_BIN: &str = "84a2696407a47479706503a46461746192a26f6bc401ffa36e7370a52f63686174";
    /// `{type: 1, nsp: "/admin"}`
    const DISCONNECT: &str = "82a47479706501a36e7370a62f61646d696e";
    /// `{type: 4, data: {message: "unauthorized", data: {reason: "bad token"}}, nsp: "/"}`
    const CONNECT_ERROR: &str = "83a47479706504a46461746182a76d657373616765ac756e617574686f72697a6564a46461746181a6726561736f6ea962616420746f6b656ea36e7370a12f";
    /// What socket.io-client 4 sends for `emit("echo", null, undefined,
    /// new Uint8Array([4, 5]), {k: undefined}, cb)`: `{type: 2, data,
    /// options: {compress: true}, id: 3, nsp: "/"}`, the typed array as
    /// ext type 0 and `undefined` as fixext 1 type 0.
    const CLIENT_EVENT: &str = "85a47479706502a46461746195a46563686fc0d40000c70200040581a16bd40000a76f7074696f6e7381a8636f6d7072657373c3a2696403a36e7370a12f";
    /// `{type: 0, nsp: "/", data: {token: "t"}}`
    const CLIENT_CONNECT: &str = "83a47479706500a36e7370a12fa46461746181a5746f6b656ea174";

    #[test]
    fn the_reference_bytes_decode_and_ours_encode_to_them() {
        let cases = [
            (
                CONNECT,
                Packet::new(
                    PacketType::Connect,
                    "/admin",
                    Some(json!({"sid": "s1", "pid": "p1"})),
                ),
            ),
            (
                EVENT_BIN,
                Packet::event(
                    "/",
                    json!(["hello", 1, placeholder(0)]),
                    None,
                    vec![bin(&[1, 2, 3])],
                ),
            ),
            (
                EVENT_ACK,
                Packet::event("/", json!(["q", {"a": 1.5, "b": -200}]), Some(7), vec![]),
            ),
            (
                ACK_BIN,
                Packet::ack("/chat", json!(["ok", placeholder(0)]), 7, vec![bin(&[255])]),
            ),
            (
                DISCONNECT,
                Packet::new(PacketType::Disconnect, "/admin", None),
            ),
            (
                CONNECT_ERROR,
                Packet::new(
                    PacketType::ConnectError,
                    "/",
                    Some(json!({"message": "unauthorized", "data": {"reason": "bad token"}})),
                ),
            ),
        ];
        for (wire, packet) in cases {
            let wire = hex(wire);
            assert_eq!(dec(&wire).as_ref(), Ok(&packet), "{wire:02x?}");
            assert_eq!(encode_packet(&packet), wire, "{packet:?}");
        }
    }

    #[test]
    fn what_socket_io_client_sends_decodes() {
        let wire = hex(CLIENT_EVENT);
        let p = dec(&wire).unwrap();
        assert_eq!(p.ty, PacketType::BinaryEvent);
        assert_eq!(p.id, Some(3));
        assert_eq!(p.nsp, "/");
        // `undefined` is null in an array and no member in a map.
        assert_eq!(
            p.data,
            Some(json!(["echo", null, null, placeholder(0), {}]))
        );
        assert_eq!(p.attachments, vec![bin(&[4, 5])]);
        // The attachment is a slice of the message, not a copy.
        let at = wire.windows(3).position(|w| w == [0, 4, 5]).unwrap() + 1;
        assert_eq!(p.attachments[0].as_ptr(), wire[at..].as_ptr());
        let p = dec(&hex(CLIENT_CONNECT)).unwrap();
        assert_eq!(
            (p.ty, p.data),
            (PacketType::Connect, Some(json!({"token": "t"})))
        );
        // A CONNECT without auth: `data: undefined`.
        let p = dec(&hex("83a47479706500a46461746 1d40000a36e7370a12f"
            .replace(' ', "")
            .as_str()))
        .unwrap();
        assert_eq!((p.ty, p.data), (PacketType::Connect, None));
    }

    #[test]
    fn every_packet_type_round_trips_with_and_without_binary() {
        for nsp in ["/", "/admin"] {
            for id in [None, Some(0), Some(1 << 40), Some(u64::MAX)] {
                for n in 0..3usize {
                    let atts: Vec<Bytes> = (0..n)
                        .map(|i| Bytes::from(vec![i as u8; i * 300]))
                        .collect();
                    let mut args = vec![
                        json!("ev"),
                        json!(-1),
                        json!(0.25),
                        json!({"k": [true, null]}),
                    ];
                    args.extend((0..n).map(|i| json!({ "file": placeholder(i) })));
                    let packets = [
                        Packet::event(nsp, Value::Array(args.clone()), id, atts.clone()),
                        Packet::ack(
                            nsp,
                            Value::Array(args[1..].to_vec()),
                            id.unwrap_or(9),
                            atts.clone(),
                        ),
                        Packet::new(PacketType::Connect, nsp, None),
                        Packet::new(PacketType::Connect, nsp, Some(json!({"token": "x"}))),
                        Packet::new(PacketType::Disconnect, nsp, None),
                        Packet::new(PacketType::ConnectError, nsp, Some(json!("no"))),
                        Packet::new(
                            PacketType::ConnectError,
                            nsp,
                            Some(json!({"message": "no"})),
                        ),
                    ];
                    for p in packets {
                        assert_eq!(dec(&encode_packet(&p)).as_ref(), Ok(&p), "{p:?}");
                    }
                }
            }
        }
    }

    /// The data may nest as deep as the JSON parser lets it, not deeper.
    #[test]
    fn nesting_is_bounded_as_with_json() {
        for depth in 120..135 {
            let json = format!("2[\"e\",{}{}]", "[".repeat(depth), "]".repeat(depth));
            let json_ok = Packet::decode(&json, 10).is_ok();
            // The same data in msgpack: the event array and `depth` arrays.
            let mut data = vec![0x92, 0xa1, b'e'];
            data.extend(std::iter::repeat_n(0x91, depth - 1));
            data.push(0x90);
            let mut msg = hex("83a47479706502a36e7370a12fa464617461").to_vec();
            msg.extend(data);
            assert_eq!(dec(&Bytes::from(msg)).is_ok(), json_ok, "depth {depth}");
        }
        // The bound is inside the range tried.
        let nested = |d: usize| format!("2[\"e\",{}{}]", "[".repeat(d), "]".repeat(d));
        assert!(Packet::decode(&nested(120), 10).is_ok());
        assert!(Packet::decode(&nested(134), 10).is_err());
        let deep = vec![0x91; 100_000];
        assert_eq!(decode_value(&deep, 64, 0), Err(ParseError::Malformed));
    }

    #[test]
    fn invalid_packets_are_refused_as_the_reference_refuses_them() {
        let bad: &[(&str, ParseError)] = &[
            ("", ParseError::Malformed),
            ("c1", ParseError::UnknownType),
            ("02", ParseError::UnknownType),
            ("80", ParseError::UnknownType),
            // type 5 (BINARY_EVENT) does not exist here.
            (
                "83a47479706505a36e7370a12fa46461746191a161",
                ParseError::UnknownType,
            ),
            (
                "82a474797065cb4000000000000001a36e7370a12f",
                ParseError::UnknownType,
            ),
            // No namespace, or not a string.
            (
                "82a47479706502a46461746191a161",
                ParseError::InvalidNamespace,
            ),
            (
                "83a47479706502a36e737001a46461746191a161",
                ParseError::InvalidNamespace,
            ),
            // Data of the wrong shape.
            (
                "83a47479706502a36e7370a12fa46461746190",
                ParseError::InvalidPayload,
            ),
            (
                "83a47479706502a36e7370a12fa46461746191a7636f6e6e656374",
                ParseError::InvalidPayload,
            ),
            (
                "83a47479706502a36e7370a12fa46461746191c0",
                ParseError::InvalidPayload,
            ),
            ("82a47479706503a36e7370a12f", ParseError::InvalidPayload),
            (
                "83a47479706501a36e7370a12fa46461746190",
                ParseError::InvalidPayload,
            ),
            ("82a47479706504a36e7370a12f", ParseError::InvalidPayload),
            // Ids: negative, fractional, nil.
            (
                "84a47479706502a36e7370a12fa46461746191a161a269
              64ff",
                ParseError::InvalidAckId,
            ),
            (
                "84a47479706502a36e7370a12fa46461746191a161a2696
              4cb3ff8000000000000",
                ParseError::InvalidAckId,
            ),
            (
                "84a47479706502a36e7370a12fa46461746191a161a2696
              4c0",
                ParseError::InvalidAckId,
            ),
            // Truncated, trailing bytes, a repeated key.
            (
                "83a47479706502a36e7370a12fa46461746192a161",
                ParseError::Malformed,
            ),
            (
                "83a47479706502a36e7370a12fa46461746191a16100",
                ParseError::Malformed,
            ),
            (
                "83a47479706502a474797065 02a36e7370a12f",
                ParseError::Malformed,
            ),
            // A map that would be read as a placeholder.
            (
                "83a47479706502a36e7370a12fa46461746192a16181ac5f706c616365686f6c646572c3",
                ParseError::InvalidPlaceholder,
            ),
        ];
        for (wire, want) in bad {
            assert_eq!(dec(&hex(wire)).as_ref().err(), Some(want), "{wire}");
        }
        // The binary cap counts every binary value, wherever it is.
        let p = Packet::event(
            "/",
            json!(["e", [placeholder(0), {"x": placeholder(1)}]]),
            None,
            vec![bin(b"a"), bin(b"b")],
        );
        assert_eq!(
            decode_packet(&encode_packet(&p), 1),
            Err(ParseError::TooManyAttachments { limit: 1 })
        );
        assert_eq!(decode_packet(&encode_packet(&p), 2), Ok(p));
    }

    /// What the sio_msgpack fuzz target checks, on random mutations of the
    /// vectors: no panic, and what decodes re-encodes to the same packet.
    #[test]
    fn mutated_messages_never_panic_and_round_trip_when_accepted() {
        use rand::Rng;
        let mut rng = rand::rng();
        let seeds: Vec<Bytes> = [
            CONNECT,
            EVENT_BIN,
            EVENT_ACK,
            ACK_BIN,
            DISCONNECT,
            CONNECT_ERROR,
            CLIENT_EVENT,
            CLIENT_CONNECT,
        ]
        .iter()
        .map(|h| hex(h))
        .collect();
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut m = seeds[rng.random_range(0..seeds.len())].to_vec();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..m.len());
                match rng.random_range(0..3) {
                    0 => m[i] = rng.random(),
                    1 => {
                        m.remove(i);
                    }
                    _ => m.insert(i, rng.random()),
                }
                if m.is_empty() {
                    break;
                }
            }
            let Ok(p) = decode_packet(&Bytes::from(m), 4) else {
                continue;
            };
            accepted += 1;
            let again = encode_packet(&p);
            assert_eq!(decode_packet(&again, 4).as_ref(), Ok(&p));
            assert_eq!(encode_packet(&p), again);
        }
        assert!(accepted > 100, "{accepted}");
    }

    #[test]
    fn unknown_keys_are_read_and_dropped() {
        // `options` holds binary: it is not one of the packet's.
        let p = Packet::event("/", json!(["e", placeholder(0)]), None, vec![bin(b"d")]);
        let mut msg = encode_packet(&p).to_vec();
        msg[0] += 1;
        msg.extend(hex("a76f7074696f6e73c40178"));
        assert_eq!(dec(&Bytes::from(msg)), Ok(p));
    }
}
