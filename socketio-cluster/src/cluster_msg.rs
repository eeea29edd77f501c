//! The messages of socket.io-adapter 2.5's `ClusterAdapter` (and
//! `ClusterAdapterWithHeartbeat`), which the sharded Redis adapter and the
//! PostgreSQL adapter both speak: `{type, data, uid, nsp}`, their type
//! numbers, and the ids the reference makes. Pure.

use bytes::Bytes;
use serde_json::{json, Value};

use crate::wire;

/// `MessageType` of the reference's `ClusterAdapter`, by number.
pub mod ty {
    /// A node that starts asks the others to announce themselves (heartbeat adapters).
    pub const INITIAL_HEARTBEAT: u64 = 1;
    /// A node is alive (heartbeat adapters).
    pub const HEARTBEAT: u64 = 2;
    /// A broadcast, with a `requestId` when it collects acks.
    pub const BROADCAST: u64 = 3;
    /// Make sockets join rooms.
    pub const SOCKETS_JOIN: u64 = 4;
    /// Make sockets leave rooms.
    pub const SOCKETS_LEAVE: u64 = 5;
    /// Disconnect sockets.
    pub const DISCONNECT_SOCKETS: u64 = 6;
    /// Describe sockets.
    pub const FETCH_SOCKETS: u64 = 7;
    /// The sockets one node described.
    pub const FETCH_SOCKETS_RESPONSE: u64 = 8;
    /// Run the server-side listeners.
    pub const SERVER_SIDE_EMIT: u64 = 9;
    /// One node's answer to a server-side emit.
    pub const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    /// How many clients a broadcast-with-ack reached on one node.
    pub const BROADCAST_CLIENT_COUNT: u64 = 11;
    /// One client's ack to a broadcast-with-ack.
    pub const BROADCAST_ACK: u64 = 12;
    /// A node's adapter closed (heartbeat adapters).
    pub const ADAPTER_CLOSE: u64 = 13;
}

/// Whether a message of type `t` may carry binary (the reference then
/// sends it as msgpack).
pub fn may_carry_binary(t: u64) -> bool {
    matches!(
        t,
        ty::BROADCAST
            | ty::BROADCAST_ACK
            | ty::FETCH_SOCKETS_RESPONSE
            | ty::SERVER_SIDE_EMIT
            | ty::SERVER_SIDE_EMIT_RESPONSE
    )
}

/// Whether a message of type `t` answers a request.
pub fn is_response(t: u64) -> bool {
    matches!(
        t,
        ty::FETCH_SOCKETS_RESPONSE
            | ty::SERVER_SIDE_EMIT_RESPONSE
            | ty::BROADCAST_CLIENT_COUNT
            | ty::BROADCAST_ACK
    )
}

/// The message `{type, data, uid, nsp}` as a value.
pub fn message(t: u64, data: Value, uid: &str, nsp: &str) -> Value {
    json!({ "type": t, "data": data, "uid": uid, "nsp": nsp })
}

/// `{type, data, uid, nsp}` as the sharded Redis adapter encodes it:
/// msgpack when a type that may carry binary does, JSON otherwise.
pub fn envelope(t: u64, data: Value, uid: &str, nsp: &str, attachments: &[Bytes]) -> Vec<u8> {
    let v = message(t, data, uid, nsp);
    match may_carry_binary(t) && !attachments.is_empty() {
        true => wire::encode_mp(&v, attachments),
        false => serde_json::to_vec(&v).unwrap_or_default(),
    }
}

/// A response's data as the requests bookkeeping wants it: the message's
/// `data` with its `type` and sender `uid` added; `None` when the data is
/// not a map.
pub fn answer_value(t: u64, uid: &str, data: Value) -> Option<Value> {
    let Value::Object(mut m) = data else {
        return None;
    };
    m.insert("type".into(), json!(t));
    m.insert("uid".into(), json!(uid));
    Some(Value::Object(m))
}

/// 16 lowercase hex digits, as the reference's `randomBytes(8)`.
pub fn hex_id() -> String {
    let n: u64 = rand::random();
    format!("{n:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_are_json_unless_binary_rides_along() {
        let j = envelope(ty::BROADCAST, json!({"x": 1}), "u", "/", &[]);
        assert_eq!(j[0], b'{');
        let m = envelope(
            ty::BROADCAST,
            json!({"x": 1}),
            "u",
            "/",
            &[Bytes::from_static(b"a")],
        );
        assert_eq!(m[0] & 0xf0, 0x80);
        // A join never carries binary: JSON whatever it is given.
        let j = envelope(
            ty::SOCKETS_JOIN,
            json!({}),
            "u",
            "/",
            &[Bytes::from_static(b"a")],
        );
        assert_eq!(j[0], b'{');
        assert_eq!(hex_id().len(), 16);
        assert!(answer_value(ty::BROADCAST_ACK, "u", json!(1)).is_none());
        assert_eq!(
            answer_value(ty::BROADCAST_ACK, "u", json!({"requestId": "r"})),
            Some(json!({"requestId": "r", "type": 12, "uid": "u"}))
        );
    }
}
