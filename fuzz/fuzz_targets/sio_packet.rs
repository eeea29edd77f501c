//! Socket.IO packet decoding of one text message (the engine hands the
//! Socket.IO layer validated UTF-8; other bytes never reach it). Never
//! panics; what decodes re-encodes to the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio::Packet;

const MAX_ATTACHMENTS: usize = 10;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Packet::decode(s, MAX_ATTACHMENTS) {
        let again =
            Packet::decode(&p.encode(), MAX_ATTACHMENTS).expect("re-encoded packet decodes");
        assert_eq!(again.ty, p.ty);
        assert_eq!(again.nsp, p.nsp);
        assert_eq!(again.id, p.id);
        assert_eq!(again.data, p.data);
    }
});
