//! Structured Engine.IO packets: encode then decode gives the same packet,
//! as a WebSocket frame and inside a polling payload.
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use engineio::{payload, Frame, Packet, Str};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Input {
    Open(String),
    Close,
    Ping(String),
    Pong(String),
    Message(String),
    Binary(Vec<u8>),
    Upgrade,
    Noop,
}

impl Input {
    fn packet(self) -> Packet {
        // Payloads assume the record separator never occurs in text.
        let t = |s: String| Str::from(s.replace('\u{1e}', ""));
        match self {
            Input::Open(s) => Packet::Open(t(s)),
            Input::Close => Packet::Close,
            Input::Ping(s) => Packet::Ping(t(s)),
            Input::Pong(s) => Packet::Pong(t(s)),
            Input::Message(s) => Packet::Message(t(s)),
            Input::Binary(b) => Packet::Binary(Bytes::from(b)),
            Input::Upgrade => Packet::Upgrade,
            Input::Noop => Packet::Noop,
        }
    }
}

fuzz_target!(|inputs: Vec<Input>| {
    let packets: Vec<Packet> = inputs.into_iter().take(32).map(Input::packet).collect();
    for p in &packets {
        let back = match p.encode_frame() {
            Frame::Text(s) => Packet::decode_text(s.into_bytes()).unwrap(),
            Frame::Binary(b) => Packet::decode_binary(b),
        };
        assert_eq!(&back, p);
    }
    if !packets.is_empty() {
        let wire = payload::encode(&packets);
        assert_eq!(payload::decode(wire, 32).unwrap(), packets);
    }
});
