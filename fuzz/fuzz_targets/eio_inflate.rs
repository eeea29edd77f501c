//! permessage-deflate's inflate path, as the WebSocket transport runs it:
//! arbitrary bytes as compressed messages (with and without context
//! takeover) never panic and never inflate past the cap; the decoder
//! given them as an RSV1 frame closes cleanly (1007 or 1009) or yields a
//! message within the limit; and what the server's deflater makes of the
//! same bytes inflates back to them.
#![no_main]

use bytes::BytesMut;
use engineio::deflate::negotiate;
use engineio::wsframe::{WsDecoder, WsError, WsMessage};
use engineio::PerMessageDeflate;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

/// One final masked (all-zero mask) client frame with RSV1.
fn frame(first: u8, payload: &[u8]) -> BytesMut {
    let mut f = BytesMut::new();
    f.extend_from_slice(&[first, 0x80 | 127]);
    f.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(payload);
    f
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, data)) = input.split_first() else {
        return;
    };
    let config = PerMessageDeflate::default()
        .threshold(0)
        .context_takeover(flags & 1 != 0);
    let Some(agreed) = negotiate(["permessage-deflate"], &config) else {
        return;
    };
    // Arbitrary data as a run of compressed messages.
    let mut inflater = agreed.inflater();
    for msg in data.split(|b| *b == 0xA5).take(8) {
        match inflater.inflate(msg, LIMIT) {
            Ok(out) => assert!(out.len() <= LIMIT),
            // With context, a failed message leaves the stream unusable:
            // the connection closes.
            Err(_) if inflater.keeps_context() => break,
            Err(_) => {}
        }
    }
    // Through the decoder, as a text or a binary message.
    let mut decoder = WsDecoder::new(LIMIT);
    decoder.set_inflater(agreed.inflater());
    let mut buf = frame(if flags & 2 != 0 { 0xC1 } else { 0xC2 }, data);
    match decoder.decode(&mut buf) {
        Ok(Some(WsMessage::Text(s))) => assert!(s.len() <= LIMIT),
        Ok(Some(WsMessage::Binary(b))) => assert!(b.len() <= LIMIT),
        Ok(other) => panic!("a whole frame gave {other:?}"),
        Err(e) => assert!(matches!(
            e,
            WsError::TooBig | WsError::BadCompression | WsError::InvalidUtf8
        )),
    }
    // The server's own output inflates back.
    let (mut d, mut i) = (agreed.deflater(), agreed.inflater());
    for msg in data.chunks(usize::from(flags >> 2).max(1) * 64) {
        let z = d.compress(&[msg], None).expect("compressed at threshold 0");
        assert_eq!(&i.inflate(&z, msg.len()).unwrap()[..], msg);
    }
});
