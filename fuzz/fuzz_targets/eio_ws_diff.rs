//! Differential: the same client bytes go to our server-side WebSocket
//! decoder (`engineio::wsframe::WsDecoder`, fed in chunks as the transport
//! feeds it) and to tungstenite's (`WebSocket` in the server role, both
//! with a limit of `LIMIT` bytes per frame and message). They must give
//! the same messages, then both refuse or both wait for more bytes.
//!
//! Where the two legitimately differ, the target normalises:
//! - When a frame is refused. We check a frame's header (mask, reserved
//!   bits and opcodes, control frame rules, size limits) as soon as it is
//!   read, and text UTF-8 as it arrives; tungstenite checks only once the
//!   whole frame is in. So on the input cut to its complete frames (by a
//!   framing-only walk, `complete_prefix`) the outcome must be identical;
//!   on the whole input, which may end inside a frame, the messages must be
//!   the same and tungstenite refusing implies we refuse (we may refuse
//!   earlier, inside the incomplete last frame).
//! - Close codes. tungstenite does not refuse a close frame whose code may
//!   not appear on the wire: it reports it as code 1002 with the reason
//!   "Protocol violation" (and answers 1002); we refuse it (close 1002). We
//!   also accept 1014 (IANA "Bad Gateway", accepted by the reference
//!   server's `ws`), which tungstenite 0.28 counts as invalid. So that
//!   report matches our refusal, our close 1014, or a close 1002 sent as such.
//! - Pong payloads (we drop them) and close reasons (we keep only the code)
//!   are not compared. Both stop at the first close frame, as the transport
//!   stops reading there.
#![no_main]

use std::io::{self, Read, Write};

use bytes::BytesMut;
use engineio::wsframe::{WsDecoder, WsMessage};
use libfuzzer_sys::fuzz_target;
use tungstenite::protocol::{frame::coding::CloseCode, Role, WebSocket, WebSocketConfig};
use tungstenite::{Error, Message};

/// Small, so that complete frames over the limit fit in fuzz inputs.
const LIMIT: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Msg {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong,
    Close(Option<u16>),
    /// tungstenite's report of a close code it does not allow.
    CloseReplaced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The bytes broke the protocol or a limit.
    Refused,
    /// Everything was read; more bytes are needed (or none are).
    Waiting,
    /// A close frame ended the stream.
    Closed,
}

fn ours(data: &[u8], chunk: usize) -> (Vec<Msg>, End) {
    let mut d = WsDecoder::new(LIMIT);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(m)) => {
                    let close = matches!(m, WsMessage::Close(_));
                    out.push(match m {
                        WsMessage::Text(s) => Msg::Text(s.as_bytes().to_vec()),
                        WsMessage::Binary(b) => Msg::Binary(b.to_vec()),
                        WsMessage::Ping(b) => Msg::Ping(b.to_vec()),
                        WsMessage::Pong => Msg::Pong,
                        WsMessage::Close(code) => Msg::Close(code),
                        other => panic!("unexpected message {other:?}"),
                    });
                    if close {
                        return (out, End::Closed);
                    }
                }
                Ok(None) => break,
                Err(_) => return (out, End::Refused),
            }
        }
    }
    (out, End::Waiting)
}

/// The client's bytes, then "would block"; writes (pongs, the close
/// answer) go nowhere.
struct Input<'a>(&'a [u8]);

impl Read for Input<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

impl Write for Input<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn theirs(data: &[u8]) -> (Vec<Msg>, End) {
    // A small read buffer: the default (128 KiB) is allocated per input.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(LIMIT))
        .max_frame_size(Some(LIMIT));
    let mut ws = WebSocket::from_raw_socket(Input(data), Role::Server, Some(config));
    let mut out = Vec::new();
    loop {
        let m = match ws.read() {
            Ok(m) => m,
            Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                return (out, End::Waiting)
            }
            Err(_) => return (out, End::Refused),
        };
        out.push(match m {
            Message::Text(s) => Msg::Text(s.as_bytes().to_vec()),
            Message::Binary(b) => Msg::Binary(b.to_vec()),
            Message::Ping(b) => Msg::Ping(b.to_vec()),
            Message::Pong(_) => Msg::Pong,
            Message::Close(None) => Msg::Close(None),
            Message::Close(Some(f))
                if f.code == CloseCode::Protocol && f.reason == "Protocol violation" =>
            {
                Msg::CloseReplaced
            }
            Message::Close(Some(f)) => Msg::Close(Some(f.code.into())),
            Message::Frame(_) => panic!("tungstenite returned a raw frame"),
        });
        if matches!(out.last(), Some(Msg::Close(_) | Msg::CloseReplaced)) {
            return (out, End::Closed);
        }
    }
}

/// The length of the complete frames `data` starts with, by framing alone
/// (header fields, not their validity).
fn complete_prefix(data: &[u8]) -> usize {
    let mut at = 0;
    loop {
        let rest = &data[at..];
        let [_, b1, ext @ ..] = rest else {
            return at;
        };
        let (len, ext_len) = match b1 & 0x7F {
            126 if ext.len() >= 2 => (u64::from(u16::from_be_bytes([ext[0], ext[1]])), 2),
            127 if ext.len() >= 8 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(&ext[..8]);
                (u64::from_be_bytes(a), 8)
            }
            126 | 127 => return at,
            n => (u64::from(n), 0),
        };
        let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
        let total = len.saturating_add((2 + ext_len + mask) as u64);
        if total > rest.len() as u64 {
            return at;
        }
        at += total as usize;
    }
}

/// Our outcome matches theirs once tungstenite's replaced close code is
/// resolved (see the module docs).
fn same(ours: &(Vec<Msg>, End), theirs: &(Vec<Msg>, End)) -> bool {
    if let (Some(Msg::CloseReplaced), n) = (theirs.0.last(), theirs.0.len()) {
        let before = ours.0.len() >= n - 1 && ours.0[..n - 1] == theirs.0[..n - 1];
        return before
            && match (ours.0.get(n - 1), ours.1) {
                (None, End::Refused) => ours.0.len() == n - 1,
                (Some(Msg::Close(Some(1002 | 1014))), End::Closed) => ours.0.len() == n,
                _ => false,
            };
    }
    ours == theirs
}

fuzz_target!(|input: &[u8]| {
    let Some((&chunk, data)) = input.split_first() else {
        return;
    };
    let chunk = usize::from(chunk);
    // Complete frames only: the same outcome.
    let prefix = &data[..complete_prefix(data)];
    let (o, t) = (ours(prefix, chunk), theirs(prefix));
    assert!(
        same(&o, &t),
        "complete frames {prefix:x?}:\nours   {o:?}\ntheirs {t:?}"
    );
    // The whole input: we may refuse the incomplete last frame early.
    let (o, t) = (ours(data, chunk), theirs(data));
    if o.1 == End::Refused && t.1 == End::Waiting {
        assert_eq!(o.0, t.0, "messages before an early refusal");
    } else {
        assert!(same(&o, &t), "whole input:\nours   {o:?}\ntheirs {t:?}");
    }
});
