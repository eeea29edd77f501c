//! The msgpack parser on one binary message, as the decoder of a server
//! with `Parser::Msgpack` gets it: never a panic, the attachment cap
//! holds, and an accepted packet re-encodes to a message that decodes to
//! the same packet (and encodes to the same bytes again).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio::parser::msgpack::{decode_packet, encode_packet};
use socketio::{Decoder, PacketType, Parser};

const MAX_ATTACHMENTS: usize = 4;

fuzz_target!(|data: &[u8]| {
    let mut d = Decoder::with_parser(Parser::Msgpack, MAX_ATTACHMENTS);
    // A text message is never a packet with this parser.
    if let Ok(s) = std::str::from_utf8(data) {
        assert!(d.decode_text(s).is_err());
    }
    let Ok(Some(p)) = d.decode_binary(Bytes::copy_from_slice(data)) else {
        return;
    };
    assert!(!d.is_pending());
    assert!(p.attachments.len() <= MAX_ATTACHMENTS);
    if matches!(p.ty, PacketType::Event | PacketType::Ack) {
        assert!(p.attachments.is_empty());
    }
    if p.ty.is_binary() {
        assert!(!p.attachments.is_empty());
    }
    let again = encode_packet(&p);
    let back = decode_packet(&again, MAX_ATTACHMENTS).expect("a re-encoded packet decodes");
    assert_eq!(back, p);
    assert_eq!(encode_packet(&back), again);
});
