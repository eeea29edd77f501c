//! The messages of `@socket.io/redis-adapter` 8.3 (classic pub/sub) and
//! `@socket.io/redis-emitter` 5, as bytes: broadcasts (msgpack), requests
//! and responses (JSON, msgpack for the broadcast-with-ack request and its
//! acks). `PROTOCOL.md` describes them with byte examples.
//!
//! The values they are made of (the codec, packets, options) are
//! socketio-cluster's, re-exported here.
//!
//! Pure: no Redis, no runtime. Decoding never panics and bounds nesting;
//! what is not a message of the protocol is a [`WireError`].

use bytes::Bytes;
use serde_json::{json, Map, Value};
use socketio::{BroadcastOptions, Packet, PacketType};

pub use socketio_cluster::wire::{
    decode, encode_mp, opts_from, opts_value, packet_from, packet_value, strings, Decoded,
    WireError,
};

/// The request types of the classic adapter (`RequestType` in the
/// reference), by their numbers on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestType {
    /// Socket ids in rooms (0; the reference no longer sends it).
    Sockets,
    /// Every room (1).
    AllRooms,
    /// Make sockets join rooms (2).
    RemoteJoin,
    /// Make sockets leave rooms (3).
    RemoteLeave,
    /// Disconnect sockets (4).
    RemoteDisconnect,
    /// Describe sockets (5).
    RemoteFetch,
    /// Run the server-side listeners (6; also its ack response).
    ServerSideEmit,
    /// A broadcast whose acks are collected (7).
    Broadcast,
    /// How many clients a broadcast-with-ack reached on one server (8).
    BroadcastClientCount,
    /// One client's ack to a broadcast-with-ack (9).
    BroadcastAck,
}

impl RequestType {
    /// The number on the wire.
    pub fn code(self) -> u64 {
        match self {
            RequestType::Sockets => 0,
            RequestType::AllRooms => 1,
            RequestType::RemoteJoin => 2,
            RequestType::RemoteLeave => 3,
            RequestType::RemoteDisconnect => 4,
            RequestType::RemoteFetch => 5,
            RequestType::ServerSideEmit => 6,
            RequestType::Broadcast => 7,
            RequestType::BroadcastClientCount => 8,
            RequestType::BroadcastAck => 9,
        }
    }

    /// The type numbered `code`.
    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            0 => RequestType::Sockets,
            1 => RequestType::AllRooms,
            2 => RequestType::RemoteJoin,
            3 => RequestType::RemoteLeave,
            4 => RequestType::RemoteDisconnect,
            5 => RequestType::RemoteFetch,
            6 => RequestType::ServerSideEmit,
            7 => RequestType::Broadcast,
            8 => RequestType::BroadcastClientCount,
            9 => RequestType::BroadcastAck,
            _ => return None,
        })
    }
}

/// A classic broadcast: `[uid, packet, opts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    /// The sender's uid (`emitter` for the emitter).
    pub uid: String,
    /// The event.
    pub packet: Packet,
    /// Rooms, except and flags.
    pub opts: BroadcastOptions,
}

/// Encodes a classic broadcast.
pub fn encode_broadcast(uid: &str, packet: &Packet, opts: &BroadcastOptions) -> Vec<u8> {
    let msg = json!([uid, packet_value(packet), opts_value(opts, true)]);
    encode_mp(&msg, &packet.attachments)
}

/// Decodes a classic broadcast of namespace `nsp`.
pub fn decode_broadcast(bytes: &[u8], nsp: &str) -> Result<Broadcast, WireError> {
    let Decoded { value, attachments } = decode(bytes)?;
    let Value::Array(parts) = value else {
        return Err(WireError::Shape("broadcast is not an array"));
    };
    let [uid, packet, opts] = parts.as_slice() else {
        return Err(WireError::Shape("broadcast is not [uid, packet, opts]"));
    };
    let uid = uid
        .as_str()
        .ok_or(WireError::Shape("uid is not a string"))?;
    let packet = packet_from(packet, &attachments, nsp)?;
    if packet.ty != PacketType::Event && packet.ty != PacketType::BinaryEvent {
        return Err(WireError::Shape("not an event"));
    }
    Ok(Broadcast {
        uid: uid.to_owned(),
        packet,
        opts: opts_from(Some(opts))?,
    })
}

/// A request's fields in the order the reference writes them, `uid` first
/// when there is one (the emitter's join, leave and disconnect have none).
fn request(uid: Option<&str>, fields: Vec<(&str, Value)>) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(uid) = uid {
        m.insert("uid".into(), json!(uid));
    }
    m.extend(fields.into_iter().map(|(k, v)| (k.to_owned(), v)));
    m
}

fn to_json(m: Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
}

/// REMOTE_JOIN (`join`) or REMOTE_LEAVE: `{uid, type, opts, rooms}`.
pub fn rooms_request(
    uid: Option<&str>,
    join: bool,
    opts: &BroadcastOptions,
    rooms: &[String],
) -> Vec<u8> {
    let ty = match join {
        true => RequestType::RemoteJoin,
        false => RequestType::RemoteLeave,
    };
    to_json(request(
        uid,
        vec![
            ("type", json!(ty.code())),
            ("opts", opts_value(opts, false)),
            ("rooms", json!(rooms)),
        ],
    ))
}

/// REMOTE_DISCONNECT: `{uid, type, opts, close}`.
pub fn disconnect_request(uid: Option<&str>, opts: &BroadcastOptions, close: bool) -> Vec<u8> {
    let ty = RequestType::RemoteDisconnect.code();
    to_json(request(
        uid,
        vec![
            ("type", json!(ty)),
            ("opts", opts_value(opts, false)),
            ("close", json!(close)),
        ],
    ))
}

/// REMOTE_FETCH: `{uid, requestId, type, opts}`.
pub fn fetch_request(uid: &str, request_id: &str, opts: &BroadcastOptions) -> Vec<u8> {
    let ty = RequestType::RemoteFetch.code();
    to_json(request(
        Some(uid),
        vec![
            ("requestId", json!(request_id)),
            ("type", json!(ty)),
            ("opts", opts_value(opts, false)),
        ],
    ))
}

/// ALL_ROOMS: `{uid, requestId, type}`.
pub fn all_rooms_request(uid: &str, request_id: &str) -> Vec<u8> {
    let ty = RequestType::AllRooms.code();
    to_json(request(
        Some(uid),
        vec![("requestId", json!(request_id)), ("type", json!(ty))],
    ))
}

/// SERVER_SIDE_EMIT: `{uid, type, data: [event, ...args]}`, or `{uid,
/// requestId, type, data}` when it wants answers; JSON as the reference
/// sends it, msgpack when it holds binary (which JSON would lose).
pub fn server_side_request(
    uid: &str,
    request_id: Option<&str>,
    event: &str,
    args: &[Value],
    attachments: &[Bytes],
) -> Vec<u8> {
    let mut data = vec![json!(event)];
    data.extend(args.iter().cloned());
    let ty = RequestType::ServerSideEmit.code();
    let mut fields = vec![("type", json!(ty)), ("data", Value::Array(data))];
    if let Some(id) = request_id {
        fields.insert(0, ("requestId", json!(id)));
    }
    let m = request(Some(uid), fields);
    match attachments.is_empty() {
        true => to_json(m),
        false => encode_mp(&Value::Object(m), attachments),
    }
}

/// The answer to a SERVER_SIDE_EMIT with an id: `{type, requestId, data}`
/// (the answer's first argument).
pub fn server_side_answer(request_id: &str, answer: &Value) -> Vec<u8> {
    let ty = RequestType::ServerSideEmit.code();
    to_json(request(
        None,
        vec![
            ("type", json!(ty)),
            ("requestId", json!(request_id)),
            ("data", answer.clone()),
        ],
    ))
}

/// BROADCAST with acks (msgpack): `{uid, requestId, type, packet, opts}`.
pub fn ack_request(
    uid: &str,
    request_id: &str,
    packet: &Packet,
    opts: &BroadcastOptions,
) -> Vec<u8> {
    let ty = RequestType::Broadcast.code();
    let m = request(
        Some(uid),
        vec![
            ("requestId", json!(request_id)),
            ("type", json!(ty)),
            ("packet", packet_value(packet)),
            ("opts", opts_value(opts, true)),
        ],
    );
    encode_mp(&Value::Object(m), &packet.attachments)
}

/// A random id of `len` letters and digits, as uid2 makes them.
pub fn random_id(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use socketio::packet::placeholder;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    /// `io.to("room1").emit("hello", "world")` as a Node server with uid
    /// `AbCdEf` publishes it (PROTOCOL.md, example 1).
    const BROADCAST: &str =
        "93 a6 41 62 43 64 45 66 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65
        6c 6c 6f a5 77 6f 72 6c 64 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31 a6
        65 78 63 65 70 74 90 a5 66 6c 61 67 73 80";

    /// The same from `@socket.io/redis-emitter` (opts in another order).
    const EMITTER: &str = "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68
        65 6c 6c 6f a5 77 6f 72 6c 64 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31
        a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90";

    #[test]
    fn a_node_broadcast_decodes_and_ours_encodes_to_the_same_bytes() {
        let b = decode_broadcast(&hex(BROADCAST), "/").unwrap();
        assert_eq!(b.uid, "AbCdEf");
        assert_eq!(b.packet.nsp, "/");
        assert_eq!(b.packet.data, Some(json!(["hello", "world"])));
        assert_eq!(b.opts.rooms, vec!["room1".to_string()]);
        assert!(b.opts.except.is_empty() && !b.opts.volatile && b.opts.compress);
        assert_eq!(
            encode_broadcast("AbCdEf", &b.packet, &b.opts),
            hex(BROADCAST)
        );
    }

    #[test]
    fn an_emitter_broadcast_decodes_whatever_the_key_order() {
        let b = decode_broadcast(&hex(EMITTER), "/").unwrap();
        assert_eq!(b.uid, "emitter");
        assert_eq!(b.opts.rooms, vec!["room1".to_string()]);
        assert_eq!(b.packet.data, Some(json!(["hello", "world"])));
    }

    #[test]
    fn binary_arguments_travel_as_msgpack_bin_and_come_back_as_attachments() {
        let packet = Packet::event(
            "/",
            json!(["bin", placeholder(0)]),
            None,
            vec![Bytes::from_static(&[1, 2, 3])],
        );
        let mut opts = BroadcastOptions::default();
        opts.volatile = true;
        let bytes = encode_broadcast("u", &packet, &opts);
        // data: ["bin", <bin 1 2 3>]
        let data = hex("a4 64 61 74 61 92 a3 62 69 6e c4 03 01 02 03");
        assert!(bytes.windows(data.len()).any(|w| w == data), "{bytes:02x?}");
        let b = decode_broadcast(&bytes, "/").unwrap();
        assert_eq!(b.packet.ty, PacketType::BinaryEvent);
        assert_eq!(b.packet.attachments, vec![Bytes::from_static(&[1, 2, 3])]);
        assert!(b.opts.volatile);
    }

    #[test]
    fn a_packet_keeps_only_the_binary_its_data_holds() {
        // Found by the redis_wire fuzz target: binary in the opts (here
        // under an unknown key) was taken for one of the packet's, and lost
        // on the way back out.
        let msg = json!(["u", {"type": 2, "data": ["e", placeholder(1)]}, {"x": placeholder(0), "rooms": []}]);
        let bytes = encode_mp(
            &msg,
            &[Bytes::from_static(b"opts"), Bytes::from_static(b"data")],
        );
        let b = decode_broadcast(&bytes, "/").unwrap();
        assert_eq!(b.packet.data, Some(json!(["e", placeholder(0)])));
        assert_eq!(b.packet.attachments, vec![Bytes::from_static(b"data")]);
        let again = decode_broadcast(&encode_broadcast(&b.uid, &b.packet, &b.opts), "/").unwrap();
        assert_eq!(again.packet, b.packet);
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        for bad in [
            &b""[..],
            b"{",
            b"\xc1",
            b"\x93\xa1",
            b"\x91\x01\x02",
            b"\xdd\xff\xff\xff\xff",
        ] {
            assert!(decode_broadcast(bad, "/").is_err(), "{bad:?}");
        }
        // Deep nesting is refused, not recursed into.
        let deep = vec![0x91; 10_000];
        assert_eq!(decode(&deep), Err(WireError::Malformed));
        // A broadcast whose packet is not an event.
        let msg = encode_mp(&json!(["u", {"type": 1, "data": []}, {}]), &[]);
        assert!(decode_broadcast(&msg, "/").is_err());
    }
}
