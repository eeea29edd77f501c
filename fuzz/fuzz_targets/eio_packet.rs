//! Engine.IO packet decoding from raw bytes (a WebSocket text frame or one
//! payload record), as the transports call it. Never panics; whatever
//! decodes re-encodes to something that decodes to the same packet.
#![no_main]

use bytes::Bytes;
use engineio::{Frame, Packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(p) = Packet::decode_text(bytes.clone()) {
        let again = match p.encode_frame() {
            Frame::Text(s) => Packet::decode_text(s.into_bytes()),
            Frame::Binary(b) => Ok(Packet::decode_binary(b)),
        };
        assert_eq!(again.as_ref(), Ok(&p));
        assert_eq!(p.to_text().len(), p.text_len());
    }
    assert_eq!(Packet::decode_binary(bytes.clone()), Packet::Binary(bytes));
});
