//! WebSocket frame decoding (the server side of RFC 6455), as the
//! WebSocket transport calls it. Never panics, never returns a message over
//! the limit, and gives the same messages (and the same first error)
//! whether the bytes arrive at once or in chunks of any size.
#![no_main]

use bytes::BytesMut;
use engineio::wsframe::{WsDecoder, WsError, WsMessage};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

fn decode(data: &[u8], chunk: usize) -> (Vec<WsMessage>, Option<WsError>) {
    let mut d = WsDecoder::new(LIMIT);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => {
                    assert!(d.missing(&buf) >= 1);
                    break;
                }
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else {
        return;
    };
    let whole = decode(data, data.len().max(1));
    for m in &whole.0 {
        let len = match m {
            WsMessage::Text(s) => s.len(),
            WsMessage::Binary(b) | WsMessage::Ping(b) => b.len(),
            _ => 0,
        };
        assert!(len <= LIMIT);
    }
    let chunked = decode(data, usize::from(first).max(1));
    assert_eq!(whole, chunked);
});
