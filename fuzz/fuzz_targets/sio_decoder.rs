//! The stateful Socket.IO decoder fed a sequence of text and binary
//! messages: attachment reassembly, the attachment cap, placeholders.
//! Input format: repeated `[tag][len][len bytes]`; an even tag is a text
//! message, an odd one binary.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio::{Decoder, Packet, PacketType};

const MAX_ATTACHMENTS: usize = 4;

fuzz_target!(|data: &[u8]| {
    let mut d = Decoder::new(MAX_ATTACHMENTS);
    let mut rest = data;
    while let [tag, len, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        let (msg, next) = tail.split_at(n);
        rest = next;
        let r = if tag % 2 == 0 {
            match std::str::from_utf8(msg) {
                Ok(s) => d.decode_text(s),
                Err(_) => continue,
            }
        } else {
            d.decode_binary(Bytes::copy_from_slice(msg))
        };
        match r {
            Ok(Some(p)) => {
                assert!(p.attachments.len() <= MAX_ATTACHMENTS);
                // Every accepted ack id (up to u64::MAX) is encoded back exactly.
                let again = Packet::decode(&p.encode(), MAX_ATTACHMENTS);
                assert_eq!(again.map(|q| q.id), Ok(p.id));
                if !p.ty.is_binary() {
                    assert!(p.attachments.is_empty());
                }
                if p.ty == PacketType::Event || p.ty == PacketType::BinaryEvent {
                    assert!(p
                        .data
                        .as_ref()
                        .and_then(|v| v.get(0))
                        .is_some_and(|v| v.is_string()));
                }
            }
            Ok(None) => assert!(d.is_pending()),
            // A real connection closes here; start over like a new one.
            Err(_) => d = Decoder::new(MAX_ATTACHMENTS),
        }
    }
});
