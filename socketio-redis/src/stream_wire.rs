//! What the Redis Streams adapter (`@socket.io/redis-streams-adapter` 0.3)
//! keeps in Redis, as bytes: the stream entries (`uid`, `nsp`, `type`,
//! `data` fields), the sessions kept for connection state recovery, and
//! the stream offsets. `PROTOCOL.md` describes them.
//!
//! Pure: no Redis, no runtime. Decoding never panics (fuzzed by
//! `fuzz/fuzz_targets/redis_stream_entry.rs`) and bounds nesting.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Value};
use socketio::parser::msgpack;

use crate::cluster_msg::may_carry_binary;
use crate::wire::{self, Decoded, WireError};

/// Most arrays and maps an entry's data may nest.
const MAX_DEPTH: usize = 64;

/// One stream entry: a `ClusterAdapter` message.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The sender's uid.
    pub uid: String,
    /// The namespace.
    pub nsp: String,
    /// The message type ([`crate::cluster_msg::ty`]).
    pub t: u64,
    /// Its data (`Null` when the entry has none), binary as placeholders.
    pub data: Decoded,
}

/// The fields of the entry for a message of type `t`, in the reference's
/// order: `uid, nsp, type, data`; `data` is JSON, unless a type that may
/// carry binary does: then base64 of its msgpack form.
pub fn encode_entry(
    t: u64,
    data: &Value,
    uid: &str,
    nsp: &str,
    attachments: &[Bytes],
) -> Vec<(&'static str, Vec<u8>)> {
    let mut fields = vec![
        ("uid", uid.as_bytes().to_vec()),
        ("nsp", nsp.as_bytes().to_vec()),
        ("type", t.to_string().into_bytes()),
    ];
    // The reader takes `data` as JSON only when it starts with `{` (the
    // reference's rule): anything but an object without binary goes as
    // base64 msgpack, and no data at all as no field.
    let data = match data {
        Value::Null if attachments.is_empty() => return fields,
        Value::Object(_) if !may_carry_binary(t) || attachments.is_empty() => {
            serde_json::to_vec(data).unwrap_or_default()
        }
        _ => B64.encode(wire::encode_mp(data, attachments)).into_bytes(),
    };
    fields.push(("data", data));
    fields
}

/// Decodes an entry from its fields (name, value), as XREAD or XRANGE
/// return them. Unknown fields are ignored; a missing `data` is `Null`.
pub fn decode_entry<F: AsRef<[u8]>, V: AsRef<[u8]>>(fields: &[(F, V)]) -> Result<Entry, WireError> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(f, _)| f.as_ref() == name.as_bytes())
            .map(|(_, v)| v.as_ref())
    };
    let text = |name: &'static str| -> Result<String, WireError> {
        let v = field(name).ok_or(WireError::Shape(name))?;
        String::from_utf8(v.to_vec()).map_err(|_| WireError::Shape(name))
    };
    let (uid, nsp) = (text("uid")?, text("nsp")?);
    let t = text("type")?
        .parse::<u64>()
        .map_err(|_| WireError::Shape("type is not a number"))?;
    let data = match field("data") {
        None | Some(b"") => Decoded {
            value: Value::Null,
            attachments: Vec::new(),
        },
        Some(d) => decode_data(d)?,
    };
    Ok(Entry { uid, nsp, t, data })
}

/// An entry's `data`: JSON when it starts with `{`, base64 msgpack
/// otherwise.
fn decode_data(d: &[u8]) -> Result<Decoded, WireError> {
    if d.first() == Some(&b'{') {
        let value = serde_json::from_slice(d).map_err(|_| WireError::Malformed)?;
        return Ok(Decoded {
            value,
            attachments: Vec::new(),
        });
    }
    from_base64_mp(d)
}

fn from_base64_mp(d: &[u8]) -> Result<Decoded, WireError> {
    let raw = B64.decode(d).map_err(|_| WireError::Malformed)?;
    let (value, attachments) =
        msgpack::decode_value(&raw, MAX_DEPTH, usize::MAX).map_err(|_| WireError::Malformed)?;
    Ok(Decoded { value, attachments })
}

/// A session as the reference keeps it (`SessionToPersist`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    /// The socket's id.
    pub sid: String,
    /// Its private id.
    pub pid: String,
    /// Its rooms (its own id included).
    pub rooms: Vec<String>,
    /// Its data (`socket.data`).
    pub data: Value,
}

/// A session's value under its key: base64 of msgpack `{sid, pid, rooms,
/// data}`.
pub fn encode_session(s: &StoredSession) -> String {
    let v = json!({ "sid": s.sid, "pid": s.pid, "rooms": s.rooms, "data": s.data });
    B64.encode(wire::encode_mp(&v, &[]))
}

/// Decodes a session's value. Binary inside its data is dropped (a socket's
/// data here is JSON).
pub fn decode_session(b: &[u8]) -> Result<StoredSession, WireError> {
    let Decoded { value, .. } = from_base64_mp(b)?;
    let s = |k: &'static str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(WireError::Shape(k))
    };
    Ok(StoredSession {
        sid: s("sid")?,
        pid: s("pid")?,
        rooms: wire::strings(value.get("rooms"))?,
        data: value.get("data").cloned().unwrap_or(Value::Null),
    })
}

/// A stream entry id, `<ms>-<seq>`, as a pair; `None` when it is not one
/// (the reference refuses such an offset too).
pub fn parse_offset(offset: &str) -> Option<(u64, u64)> {
    let (ms, seq) = offset.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(seq) {
        return None;
    }
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The id right after `offset` (XRANGE's start, exclusive of `offset`,
/// on Redis before 6.2 too).
pub fn next_offset((ms, seq): (u64, u64)) -> String {
    match seq.checked_add(1) {
        Some(s) => format!("{ms}-{s}"),
        None => format!("{}-0", ms.saturating_add(1)),
    }
}

/// A stream id as one increasing number, for the recovery bookkeeping of
/// the sockets (which drops live copies of replayed packets): the
/// milliseconds above 20 bits of sequence. Ids of one millisecond beyond a
/// million entries compare equal (harmless: the copies then come twice).
pub fn offset_mark((ms, seq): (u64, u64)) -> u64 {
    ms.saturating_mul(1 << 20)
        .saturating_add(seq.min((1 << 20) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_msg::ty;

    /// Fuzz find (redis_stream_entry): an entry without `data` decoded as
    /// `null`, re-encoded as the JSON `null`, which the reader (JSON only
    /// when it starts with `{`) took for base64 msgpack and refused.
    #[test]
    fn data_that_is_not_an_object_round_trips() {
        let f = encode_entry(4, &Value::Null, "u1", "/", &[]);
        assert!(f.iter().all(|(n, _)| *n != "data"), "no data, no field");
        assert_eq!(decode_entry(&f).unwrap().data.value, Value::Null);
        for v in [json!([1, "a"]), json!("text"), json!(7), json!(true)] {
            let f = encode_entry(4, &v, "u1", "/", &[]);
            assert_eq!(decode_entry(&f).unwrap().data.value, v);
        }
    }

    #[test]
    fn entries_are_json_unless_binary_rides_along() {
        let data = json!({"packet": {"type": 2, "data": ["a"]}, "opts": {}});
        let f = encode_entry(ty::BROADCAST, &data, "u1", "/", &[]);
        let names: Vec<&str> = f.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["uid", "nsp", "type", "data"]);
        assert_eq!(f[2].1, b"3");
        assert_eq!(f[3].1, br#"{"packet":{"type":2,"data":["a"]},"opts":{}}"#);
        let e = decode_entry(&f).unwrap();
        assert_eq!((e.uid.as_str(), e.nsp.as_str(), e.t), ("u1", "/", 3));
        assert_eq!(e.data.value, data);

        let bin = json!({"packet": {"type": 2, "data": ["b", {"_placeholder": true, "num": 0}]}});
        let f = encode_entry(
            ty::BROADCAST,
            &bin,
            "u1",
            "/",
            &[Bytes::from_static(&[1, 2])],
        );
        assert_ne!(f[3].1[0], b'{');
        let e = decode_entry(&f).unwrap();
        assert_eq!(e.data.value, bin);
        assert_eq!(e.data.attachments, vec![Bytes::from_static(&[1, 2])]);
        // A join never carries binary.
        let f = encode_entry(ty::SOCKETS_JOIN, &json!({}), "u", "/", &[Bytes::new()]);
        assert_eq!(f[3].1, b"{}");
    }

    #[test]
    fn malformed_entries_are_errors() {
        let ok = [("uid", "u"), ("nsp", "/"), ("type", "3")];
        assert!(decode_entry(&ok).is_ok());
        assert!(decode_entry(&[("uid", "u"), ("nsp", "/")]).is_err());
        assert!(decode_entry(&[("uid", "u"), ("nsp", "/"), ("type", "x")]).is_err());
        let bad = [("uid", "u"), ("nsp", "/"), ("type", "3"), ("data", "{nope")];
        assert!(decode_entry(&bad).is_err());
        let bad = [("uid", "u"), ("nsp", "/"), ("type", "3"), ("data", "%%%")];
        assert!(decode_entry(&bad).is_err());
        let bad: [(&[u8], &[u8]); 3] = [(b"uid", b"\xff"), (b"nsp", b"/"), (b"type", b"3")];
        assert!(decode_entry(&bad).is_err());
    }

    #[test]
    fn sessions_and_offsets() {
        let s = StoredSession {
            sid: "s".repeat(20),
            pid: "p".repeat(20),
            rooms: vec!["s".repeat(20), "lobby".into()],
            data: json!({"user": 1}),
        };
        assert_eq!(decode_session(encode_session(&s).as_bytes()).unwrap(), s);
        assert!(decode_session(b"not base64!").is_err());
        assert_eq!(parse_offset("1700000000000-3"), Some((1700000000000, 3)));
        for bad in ["", "1-", "-1", "1-2-3", "a-1", "1"] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
        assert_eq!(next_offset((5, 1)), "5-2");
        assert_eq!(next_offset((5, u64::MAX)), "6-0");
        assert!(offset_mark((5, 1)) < offset_mark((5, 2)));
        assert!(offset_mark((5, 9)) < offset_mark((6, 0)));
    }
}
