//! Long-polling payload decoding (record separators, `b` + base64) from raw
//! POST bodies. Never panics, never returns more packets than allowed, and
//! what decodes round-trips.
#![no_main]

use bytes::Bytes;
use engineio::payload;
use libfuzzer_sys::fuzz_target;

const MAX_PACKETS: usize = 64;

fuzz_target!(|data: &[u8]| {
    if let Ok(packets) = payload::decode(Bytes::copy_from_slice(data), MAX_PACKETS) {
        assert!(!packets.is_empty() && packets.len() <= MAX_PACKETS);
        let wire = payload::encode(&packets);
        assert_eq!(payload::decode(wire, MAX_PACKETS).as_ref(), Ok(&packets));
    }
});
