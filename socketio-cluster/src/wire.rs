//! The values every cluster adapter's messages are made of, as the Node
//! adapters write them: the JSON/msgpack codec (`notepack.io`'s forms,
//! binary as attachment placeholders), packets and broadcast options.
//! The Redis adapters (classic, sharded, streams) and the PostgreSQL one
//! build their messages from these.
//!
//! Pure: no broker, no runtime. Decoding never panics and bounds nesting;
//! what is not a message of the protocol is a [`WireError`].

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Map, Value};
use socketio::packet::{placeholder, placeholder_index};
use socketio::parser::msgpack;
use socketio::{BroadcastOptions, Packet};

/// Most arrays and maps a message may nest (the reference parser's own
/// bound on packets is far lower in practice).
const MAX_DEPTH: usize = 64;

/// Why bytes from a channel are not a message of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// Not JSON, not msgpack, or nested too deep.
    Malformed,
    /// Well-formed, but not the shape of any message.
    Shape(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Malformed => f.write_str("malformed message"),
            WireError::Shape(what) => write!(f, "unexpected message shape: {what}"),
        }
    }
}

impl std::error::Error for WireError {}

/// A message as a JSON value with the binary parts it carried: msgpack
/// `bin` values become attachment placeholders (`{"_placeholder":true,
/// "num":N}`), as in a decoded Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The message.
    pub value: Value,
    /// Its binary parts, in placeholder order.
    pub attachments: Vec<Bytes>,
}

/// Decodes a message of any channel: JSON when it starts with `{`, as the
/// reference tells them apart, msgpack otherwise (read by the socketio
/// msgpack parser's value codec, as notepack.io reads it).
pub fn decode(bytes: &[u8]) -> Result<Decoded, WireError> {
    if bytes.first() == Some(&b'{') {
        let value = serde_json::from_slice(bytes).map_err(|_| WireError::Malformed)?;
        return Ok(Decoded {
            value,
            attachments: Vec::new(),
        });
    }
    let (value, attachments) =
        msgpack::decode_value(bytes, MAX_DEPTH, usize::MAX).map_err(|_| WireError::Malformed)?;
    Ok(Decoded { value, attachments })
}

/// Encodes `value` as msgpack the way notepack.io writes it: the smallest
/// forms, integers for integral numbers, placeholders as `bin`.
pub fn encode_mp(value: &Value, attachments: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    msgpack::encode_value(&mut out, value, attachments);
    out
}

/// A Socket.IO packet as the adapters carry it: `{type, data, nsp}`, with
/// binary inline (never placeholders or attachment counts on the wire).
pub fn packet_value(packet: &Packet) -> Value {
    json!({
        "type": 2,
        "data": packet.data.clone().unwrap_or_else(|| json!([])),
        "nsp": packet.nsp,
    })
}

/// The packet a message carries, for namespace `nsp` when it names none.
pub fn packet_from(v: &Value, attachments: &[Bytes], nsp: &str) -> Result<Packet, WireError> {
    let data = v
        .get("data")
        .ok_or(WireError::Shape("packet without data"))?;
    if !data.is_array() {
        return Err(WireError::Shape("packet data is not an array"));
    }
    let ty = v.get("type").and_then(Value::as_u64);
    if !matches!(ty, Some(2) | Some(5)) {
        return Err(WireError::Shape("packet is not an event"));
    }
    let nsp = v.get("nsp").and_then(Value::as_str).unwrap_or(nsp);
    // Only the binary parts the packet's own data holds, numbered in its
    // order (a message may carry binary elsewhere too, say in its opts).
    let mut own = Vec::new();
    let data = renumber(data, attachments, &mut own);
    Ok(Packet::event(nsp, data, None, own))
}

/// `v` with each placeholder of `attachments` pointing into `own` instead,
/// where the attachment it names is pushed.
fn renumber(v: &Value, attachments: &[Bytes], own: &mut Vec<Bytes>) -> Value {
    if let Some(Ok(n)) = placeholder_index(v) {
        if let Some(b) = attachments.get(n) {
            own.push(b.clone());
            return placeholder(own.len() - 1);
        }
    }
    match v {
        Value::Array(a) => Value::Array(a.iter().map(|x| renumber(x, attachments, own)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), renumber(x, attachments, own)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The `opts` of a message: `{rooms, except, flags}`.
pub fn opts_value(opts: &BroadcastOptions, with_flags: bool) -> Value {
    let mut o = Map::new();
    o.insert("rooms".into(), json!(opts.rooms));
    o.insert("except".into(), json!(opts.except));
    if with_flags {
        let mut flags = Map::new();
        if opts.volatile {
            flags.insert("volatile".into(), json!(true));
        }
        if !opts.compress {
            flags.insert("compress".into(), json!(false));
        }
        if let Some(t) = opts.timeout {
            flags.insert("timeout".into(), json!(t.as_millis() as u64));
        }
        o.insert("flags".into(), Value::Object(flags));
    }
    Value::Object(o)
}

/// The options an `opts` value gives, by key name (the emitter writes them
/// in another order); unknown flags are ignored, missing ones default.
pub fn opts_from(v: Option<&Value>) -> Result<BroadcastOptions, WireError> {
    let mut opts = BroadcastOptions::default();
    let Some(v) = v else { return Ok(opts) };
    let o = v.as_object().ok_or(WireError::Shape("opts is not a map"))?;
    opts = opts
        .to(strings(o.get("rooms"))?)
        .except(strings(o.get("except"))?);
    if let Some(flags) = o.get("flags").and_then(Value::as_object) {
        opts.volatile = flags.get("volatile").and_then(Value::as_bool) == Some(true);
        opts.compress = flags.get("compress").and_then(Value::as_bool) != Some(false);
        opts.timeout = flags
            .get("timeout")
            .and_then(Value::as_u64)
            .map(Duration::from_millis);
    }
    Ok(opts)
}

/// A list of strings (a missing one is empty).
pub fn strings(v: Option<&Value>) -> Result<Vec<String>, WireError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or(WireError::Shape("room is not a string"))
            })
            .collect(),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(_) => Err(WireError::Shape("rooms are not a list")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_take_the_forms_notepack_writes() {
        assert_eq!(encode_mp(&json!(1.0), &[]), vec![0x01]);
        assert_eq!(encode_mp(&json!(-1), &[]), vec![0xff]);
        assert_eq!(encode_mp(&json!(1000), &[]), vec![0xcd, 0x03, 0xe8]);
        assert_eq!(encode_mp(&json!(0.5), &[])[0], 0xcb);
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed_into() {
        let deep = vec![0x91; 10_000];
        assert_eq!(decode(&deep), Err(WireError::Malformed));
        assert_eq!(decode(b"{"), Err(WireError::Malformed));
    }
}
