//! Engine.IO 3 polling payload decoding (length-prefixed text records with
//! UTF-16 lengths, the binary form, `b4` + base64) from raw POST bodies, in
//! both forms (the first byte picks which). Never panics, never returns
//! more packets than allowed, and what decodes round-trips in both
//! encodings.
#![no_main]

use bytes::Bytes;
use engineio::eio3;
use libfuzzer_sys::fuzz_target;

const MAX_PACKETS: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Some((&form, body)) = data.split_first() else {
        return;
    };
    let binary = form & 1 == 1;
    if let Ok(packets) = eio3::decode_payload(Bytes::copy_from_slice(body), binary, MAX_PACKETS) {
        assert!(packets.len() <= MAX_PACKETS);
        if packets.is_empty() {
            return;
        }
        for base64 in [false, true] {
            let wire = eio3::encode_payload(&packets, base64);
            let as_binary = wire.first().is_some_and(|b| *b < 2);
            assert_eq!(
                eio3::decode_payload(wire, as_binary, MAX_PACKETS).as_ref(),
                Ok(&packets)
            );
        }
    }
});
