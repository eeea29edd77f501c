//! The Redis adapters' message decoder, on whatever a channel carries:
//! JSON or msgpack, broadcasts, requests and answers. Never a panic, and a
//! broadcast that decodes re-encodes to one that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use socketio_redis::wire;

fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(Some(x), Some(y)))
        }
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            x.len() == y.len() && x.iter().all(|(k, v)| same(Some(v), y.get(k)))
        }
        (a, b) => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = wire::decode(data) {
        // The fields every request reads.
        let _ = wire::opts_from(d.value.get("opts"));
        let _ = wire::strings(d.value.get("rooms"));
        if let Some(p) = d.value.get("packet") {
            let _ = wire::packet_from(p, &d.attachments, "/");
        }
    }
    if let Ok(b) = wire::decode_broadcast(data, "/") {
        let again = wire::encode_broadcast(&b.uid, &b.packet, &b.opts);
        let back = wire::decode_broadcast(&again, "/").expect("a re-encoded broadcast decodes");
        assert_eq!(back.uid, b.uid);
        // Numbers compare as JavaScript sees them: 2.0 goes out as 2.
        assert!(same(back.packet.data.as_ref(), b.packet.data.as_ref()));
        assert_eq!(back.packet.attachments, b.packet.attachments);
        assert_eq!((back.opts.rooms, back.opts.except), (b.opts.rooms, b.opts.except));
        assert_eq!((back.opts.volatile, back.opts.compress), (b.opts.volatile, b.opts.compress));
    }
});
