//! The Redis Streams adapter's decoders, on whatever a stream entry or a
//! session key may hold: the input is an entry's fields, names and values
//! separated by NUL bytes (`uid\0u\0nsp\0/\0type\03\0data\0{...}`), and the
//! whole input is also tried as a session value and as an offset. Never a
//! panic, and an entry that decodes re-encodes to one that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use socketio_redis::stream_wire;

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (a, b) => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = data.split(|b| *b == 0).collect();
    let fields: Vec<(&[u8], &[u8])> = parts.chunks_exact(2).map(|c| (c[0], c[1])).collect();
    if let Ok(e) = stream_wire::decode_entry(&fields) {
        let again =
            stream_wire::encode_entry(e.t, &e.data.value, &e.uid, &e.nsp, &e.data.attachments);
        let back = stream_wire::decode_entry(&again).expect("a re-encoded entry decodes");
        assert_eq!((back.uid.as_str(), back.nsp.as_str(), back.t), (e.uid.as_str(), e.nsp.as_str(), e.t));
        assert!(same(&back.data.value, &e.data.value));
    }
    if let Ok(s) = stream_wire::decode_session(data) {
        let back = stream_wire::decode_session(stream_wire::encode_session(&s).as_bytes())
            .expect("a re-encoded session decodes");
        assert_eq!((back.sid, back.pid, back.rooms), (s.sid, s.pid, s.rooms));
    }
    if let Some(o) = std::str::from_utf8(data).ok().and_then(stream_wire::parse_offset) {
        let next = stream_wire::next_offset(o);
        let n = stream_wire::parse_offset(&next).expect("the next offset parses");
        assert!(stream_wire::offset_mark(n) >= stream_wire::offset_mark(o));
    }
});
