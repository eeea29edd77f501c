//! What `@socket.io/postgres-adapter` 0.5 and `@socket.io/postgres-emitter`
//! put on PostgreSQL, as bytes and text: the NOTIFY payloads (a
//! `ClusterAdapter` message as JSON, or a header naming a row of the
//! attachments table), the rows' msgpack payloads, and the SQL around them.
//! `PROTOCOL.md` in this crate describes them.
//!
//! Pure: no PostgreSQL, no runtime. Decoding never panics and bounds
//! nesting; what is not a message of the protocol is a [`WireError`].

use bytes::Bytes;
use serde_json::{json, Value};
use socketio::parser::msgpack;
use socketio_cluster::cluster_msg::may_carry_binary;
use socketio_cluster::wire::{self as values, Decoded};

pub use socketio_cluster::wire::WireError;

/// Most arrays and maps a message may nest.
const MAX_DEPTH: usize = 64;

/// The notification channel of namespace `nsp`: `P#N`.
pub fn channel(prefix: &str, nsp: &str) -> String {
    format!("{prefix}#{nsp}")
}

/// The namespace a notification channel names, if it is one of `prefix`'s.
pub fn namespace_of<'a>(prefix: &str, channel: &'a str) -> Option<&'a str> {
    channel.strip_prefix(prefix)?.strip_prefix('#')
}

/// `name` as a quoted SQL identifier (for `LISTEN`, which takes no
/// parameter): in double quotes, a quote doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether `name` may name the attachments table: one or two (schema and
/// table) plain identifiers, as the reference pastes it unquoted into SQL.
pub fn valid_table_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2
        && parts.iter().all(|p| {
            let mut chars = p.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                && p.len() <= 63
        })
}

/// What a notification carries.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Notification {
    /// A whole message.
    Message(Decoded),
    /// A header: the message is the msgpack payload of row `id` of the
    /// attachments table, sent by `uid`.
    Attachment {
        /// The row.
        id: i64,
        /// The sender.
        uid: String,
        /// The message's type.
        ty: u64,
    },
}

/// Decodes a notification's payload (JSON, `{type, uid, ...}`).
pub fn decode_notification(payload: &[u8]) -> Result<Notification, WireError> {
    if payload.first() != Some(&b'{') {
        return Err(WireError::Malformed);
    }
    let d = values::decode(payload)?;
    let ty = message_type(&d.value)?;
    let Some(id) = d.value.get("attachmentId") else {
        return Ok(Notification::Message(d));
    };
    // The reference sends the row id as a string (node-postgres reads a
    // bigint so); a number is taken too.
    let id = match id {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .ok_or(WireError::Shape("attachmentId is not a row id"))?;
    let uid = d
        .value
        .get("uid")
        .and_then(Value::as_str)
        .ok_or(WireError::Shape("uid is not a string"))?;
    Ok(Notification::Attachment {
        id,
        uid: uid.to_owned(),
        ty,
    })
}

/// Decodes a row's payload (msgpack, `{type, data, uid, nsp}`; binary
/// values become attachments).
pub fn decode_attachment(payload: &[u8]) -> Result<Decoded, WireError> {
    let (value, attachments) =
        msgpack::decode_value(payload, MAX_DEPTH, usize::MAX).map_err(|_| WireError::Malformed)?;
    message_type(&value)?;
    Ok(Decoded { value, attachments })
}

/// The `type` of a message, which must be a map.
fn message_type(v: &Value) -> Result<u64, WireError> {
    if !v.is_object() {
        return Err(WireError::Shape("message is not a map"));
    }
    v.get("type")
        .and_then(Value::as_u64)
        .ok_or(WireError::Shape("type is not a number"))
}

/// How a message goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outgoing {
    /// As the NOTIFY payload itself (JSON).
    Notify(String),
    /// As a row of the attachments table (msgpack), then a header.
    Attachment(Vec<u8>),
}

/// How message `msg` of type `t` goes out, as the reference decides: a
/// type that may carry binary and does, or JSON of `threshold` bytes or
/// more, through the table; JSON on the NOTIFY otherwise.
pub fn encode(msg: &Value, t: u64, attachments: &[Bytes], threshold: usize) -> Outgoing {
    if may_carry_binary(t) && !attachments.is_empty() {
        return Outgoing::Attachment(values::encode_mp(msg, attachments));
    }
    let json = serde_json::to_string(msg).unwrap_or_default();
    match json.len() >= threshold {
        true => Outgoing::Attachment(values::encode_mp(msg, &[])),
        false => Outgoing::Notify(json),
    }
}

/// The header naming row `id`: `{uid, type, attachmentId}`.
pub fn header(uid: &str, t: u64, id: i64) -> String {
    json!({ "uid": uid, "type": t, "attachmentId": id.to_string() }).to_string()
}

/// Creates the attachments table as the reference documents it, when missing.
pub fn create_table_sql(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (id bigserial UNIQUE, \
         created_at timestamptz DEFAULT NOW(), payload bytea)"
    )
}

/// Stores a payload (`$1`, bytea) and returns its row id.
pub fn insert_sql(table: &str) -> String {
    format!("INSERT INTO {table} (payload) VALUES ($1) RETURNING id")
}

/// Reads a row's payload (`$1`, its id).
pub fn select_sql(table: &str) -> String {
    format!("SELECT payload FROM {table} WHERE id = $1")
}

/// Deletes the rows older than `millis`.
pub fn cleanup_sql(table: &str, millis: u128) -> String {
    format!("DELETE FROM {table} WHERE created_at < now() - interval '{millis} milliseconds'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use socketio::packet::placeholder;
    use socketio_cluster::cluster_msg::{message, ty};

    #[test]
    fn channels_and_identifiers() {
        assert_eq!(channel("socket.io", "/chat"), "socket.io#/chat");
        assert_eq!(namespace_of("socket.io", "socket.io#/chat"), Some("/chat"));
        assert_eq!(namespace_of("socket.io", "other#/"), None);
        assert_eq!(namespace_of("socket.io", "socket.io/"), None);
        assert_eq!(quote_ident("a\"b#/"), "\"a\"\"b#/\"");
        assert!(valid_table_name("socket_io_attachments"));
        assert!(valid_table_name("public.t1"));
        for bad in ["", "1t", "t; DROP TABLE x", "a.b.c", "t-x", "\"t\""] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_node_notification_and_a_header_decode() {
        let n = br#"{"type":3,"data":{"packet":{"type":2,"data":["e",1]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}"#;
        let Notification::Message(d) = decode_notification(n).unwrap() else {
            panic!("not a message");
        };
        assert_eq!(d.value["uid"], "0123456789abcdef");
        let h = br#"{"uid":"emitter","type":3,"attachmentId":"42"}"#;
        assert_eq!(
            decode_notification(h).unwrap(),
            Notification::Attachment {
                id: 42,
                uid: "emitter".into(),
                ty: 3
            }
        );
        assert_eq!(
            decode_notification(header("u", 9, 7).as_bytes()).unwrap(),
            Notification::Attachment {
                id: 7,
                uid: "u".into(),
                ty: 9
            }
        );
    }

    #[test]
    fn binary_and_big_messages_go_through_the_table() {
        let atts = [Bytes::from_static(&[1, 2, 3])];
        let data = json!({"packet": {"type": 2, "data": ["e", placeholder(0)]}});
        let msg = message(ty::BROADCAST, data, "u", "/");
        let Outgoing::Attachment(row) = encode(&msg, ty::BROADCAST, &atts, 8000) else {
            panic!("binary went on the NOTIFY");
        };
        let back = decode_attachment(&row).unwrap();
        assert_eq!(back.value, msg);
        assert_eq!(back.attachments, atts.to_vec());
        let big = message(ty::BROADCAST, json!({"x": "y".repeat(8000)}), "u", "/");
        assert!(matches!(
            encode(&big, ty::BROADCAST, &[], 8000),
            Outgoing::Attachment(_)
        ));
        let small = message(ty::HEARTBEAT, Value::Null, "u", "/");
        let Outgoing::Notify(text) = encode(&small, ty::HEARTBEAT, &[], 8000) else {
            panic!("a heartbeat went through the table");
        };
        assert!(matches!(
            decode_notification(text.as_bytes()),
            Ok(Notification::Message(_))
        ));
        // Exactly at the threshold: the table, as the reference's `>=`.
        let len = serde_json::to_string(&small).unwrap().len();
        assert!(matches!(
            encode(&small, ty::HEARTBEAT, &[], len),
            Outgoing::Attachment(_)
        ));
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        for bad in [
            &b""[..],
            b"{",
            b"[1]",
            b"{\"type\":\"x\"}",
            b"{\"uid\":\"u\"}",
            b"{\"type\":3,\"attachmentId\":\"x\",\"uid\":\"u\"}",
            b"{\"type\":3,\"attachmentId\":\"1\"}",
            b"\x81\xa4type\x03",
        ] {
            assert!(decode_notification(bad).is_err(), "{bad:?}");
        }
        for bad in [
            &b""[..],
            b"\xc1",
            b"\x91\x01",
            b"{\"type\":3}",
            b"\x81\xa4type\xa1x",
        ] {
            assert!(decode_attachment(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            decode_attachment(&vec![0x91; 10_000]),
            Err(WireError::Malformed)
        );
    }
}
