//! Engine.IO protocol 3 (the socket.io v2 clients'): the protocol version a
//! session speaks, and the v3 encodings that differ from v4.
//!
//! Pure codec over [`crate::packet`]: no I/O, no session. What differs
//! from v4 on the wire (the reference keeps the v3 parser as
//! `engine.io/lib/parser-v3`):
//! - a polling payload is `<length>:<packet>` records, the length in UTF-16
//!   code units (JavaScript string length) of the packet's text; a binary
//!   message is `b4` + base64 in it;
//! - a client that takes binary (no `b64` in its query) gets, when a
//!   response holds a binary message, the binary payload form instead:
//!   per packet `0` (text) or `1` (binary), the decimal digits of its length
//!   as bytes 0..9, `255`, then the packet (text as UTF-8, binary as the
//!   type byte `4` and the data); it POSTs that form as
//!   `application/octet-stream`;
//! - on WebSocket a binary message is a binary frame starting with the
//!   type byte `4` (v4 frames carry the data alone), or `b4` + base64 text.
//!
//! Decoders never panic and bound their work by the input's length and
//! `max_packets`; every failure is a [`PacketError`].
//!
//! The rest of Engine.IO 3 is session state ([`crate::Session::with_wire`]:
//! the client pings, the server answers) and the transports' (`b64` is per
//! transport request, [`crate::query::binary_as_base64`]). JSONP polling
//! (`j=`), which the reference still serves to browsers without
//! cross-origin XHR, is [`crate::jsonp`], served for either revision only
//! with [`EngineConfig::allow_jsonp`](crate::EngineConfig::allow_jsonp);
//! otherwise such a request is answered as XHR polling.

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

use crate::error::PacketError;
use crate::packet::{decode_base64, Packet};
use crate::str::Str;

/// The Engine.IO protocol revision a session speaks, from the handshake's
/// `EIO` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// Revision 3 (socket.io v2 clients): the client pings.
    V3,
    /// Revision 4 (default): the server pings.
    #[default]
    V4,
}

impl Protocol {
    /// The revision of an `EIO` parameter, as the reference server reads
    /// it: `4` is v4, anything else (or none) v3. Whether v3 is accepted is
    /// [`EngineConfig::allow_eio3`](crate::EngineConfig::allow_eio3)'s call.
    pub fn from_eio(eio: Option<&str>) -> Protocol {
        match eio {
            Some("4") => Protocol::V4,
            _ => Protocol::V3,
        }
    }
}

/// How a session's packets go on the wire: its protocol revision, and
/// whether binary messages go as base64 text (`b64=1` in the handshake).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wire {
    /// The protocol revision.
    pub protocol: Protocol,
    /// Binary messages as base64 text.
    pub base64: bool,
}

/// Longest length prefix accepted, in digits (a payload is at most
/// `max_payload` bytes anyway; the reference allows 310 in binary form).
const MAX_DIGITS: usize = 10;

/// Byte ending a length in the binary payload form.
const LENGTH_END: u8 = 255;

/// Decodes one v3 text packet (a WebSocket text frame or one record of a
/// text payload): `b4` + base64 is a binary message, anything else is as
/// in v4. Other `b` types carry no meaning for an application and are
/// refused.
pub fn decode_text(s: Str) -> Result<Packet, PacketError> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'b') {
        return Packet::decode_str(s);
    }
    match bytes.get(1) {
        Some(&b'4') => decode_base64(&bytes[2..]).map(Packet::Binary),
        Some(&other) => Err(PacketError::UnknownType(other)),
        None => Err(PacketError::Empty),
    }
}

/// Decodes a v3 binary packet (a WebSocket binary frame, or a binary record
/// of a binary payload): the type byte `4`, then the message's bytes.
pub fn decode_binary(data: Bytes) -> Result<Packet, PacketError> {
    match data.first() {
        Some(&4) => Ok(Packet::Binary(data.slice(1..))),
        Some(&other) => Err(PacketError::UnknownType(other)),
        None => Err(PacketError::Empty),
    }
}

/// The v3 text form of a packet: binary messages as `b4` + base64.
pub fn encode_text(p: &Packet) -> String {
    match p {
        Packet::Binary(b) => {
            let mut s = String::with_capacity(2 + b.len().div_ceil(3) * 4);
            s.push_str("b4");
            base64::engine::general_purpose::STANDARD.encode_string(b, &mut s);
            s
        }
        other => other.to_text(),
    }
}

/// An upper bound of the bytes `p` takes in a v3 payload (length prefix
/// included), for batching up to `max_payload`.
pub fn encoded_len(p: &Packet) -> usize {
    p.text_len() + 1 + MAX_DIGITS + 2
}

/// Encodes packets into one v3 polling payload (a GET response body): the
/// binary form when `base64` is false and a packet is binary, else the text
/// form. The binary form starts with byte 0 or 1, the text form with a
/// digit (see [`crate::routing::payload`]).
pub fn encode_payload<'a, I>(packets: I, base64: bool) -> Bytes
where
    I: IntoIterator<Item = &'a Packet>,
    I::IntoIter: Clone,
{
    let packets = packets.into_iter();
    let mut out = BytesMut::new();
    if !base64 && packets.clone().any(|p| matches!(p, Packet::Binary(_))) {
        for p in packets {
            encode_binary_record(p, &mut out);
        }
        return out.freeze();
    }
    for p in packets {
        let text = encode_text(p);
        let len = text.encode_utf16().count();
        out.extend_from_slice(len.to_string().as_bytes());
        out.put_u8(b':');
        out.extend_from_slice(text.as_bytes());
    }
    if out.is_empty() {
        out.extend_from_slice(b"0:");
    }
    out.freeze()
}

fn encode_binary_record(p: &Packet, out: &mut BytesMut) {
    let (kind, len) = match p {
        Packet::Binary(b) => (1, b.len() + 1),
        other => (0, other.text_len()),
    };
    out.put_u8(kind);
    out.extend(len.to_string().bytes().map(|d| d - b'0'));
    out.put_u8(LENGTH_END);
    match p {
        Packet::Binary(b) => {
            out.put_u8(4);
            out.extend_from_slice(b);
        }
        other => other.encode_text_into(out),
    }
}

/// Decodes a v3 polling payload (a POST body): the binary form when the
/// body was sent as `application/octet-stream` (`binary`), else the text
/// form. Fails on the first malformed record, and as soon as more than
/// `max_packets` records were read.
pub fn decode_payload(
    body: Bytes,
    binary: bool,
    max_packets: usize,
) -> Result<Vec<Packet>, PacketError> {
    if binary {
        decode_binary_payload(body, max_packets)
    } else {
        decode_text_payload(body, max_packets)
    }
}

fn too_many(count: usize, max_packets: usize) -> Result<(), PacketError> {
    if count >= max_packets {
        return Err(PacketError::TooManyPackets { limit: max_packets });
    }
    Ok(())
}

/// Reads a decimal length of at most [`MAX_DIGITS`] digits.
fn parse_len(digits: impl Iterator<Item = u8>) -> Result<usize, PacketError> {
    let mut n: usize = 0;
    let mut count = 0;
    for d in digits {
        count += 1;
        if count > MAX_DIGITS || d > 9 {
            return Err(PacketError::BadLength);
        }
        n = n * 10 + usize::from(d);
    }
    if count == 0 {
        return Err(PacketError::BadLength);
    }
    Ok(n)
}

fn decode_text_payload(body: Bytes, max_packets: usize) -> Result<Vec<Packet>, PacketError> {
    let text = Str::from_utf8(body).map_err(|_| PacketError::InvalidUtf8)?;
    if text.is_empty() {
        return Err(PacketError::Empty);
    }
    let s = text.as_str();
    let mut packets = Vec::new();
    let mut at = 0;
    while at < s.len() {
        let colon = s[at..]
            .find(':')
            .map(|i| at + i)
            .ok_or(PacketError::BadLength)?;
        let units = parse_len(s[at..colon].bytes().map(|b| b.wrapping_sub(b'0')))?;
        let start = colon + 1;
        let end = utf16_end(&s[start..], units).ok_or(PacketError::BadLength)? + start;
        if end > start {
            too_many(packets.len(), max_packets)?;
            let record = Str::from_utf8(text.as_bytes().slice(start..end))
                .map_err(|_| PacketError::InvalidUtf8)?;
            packets.push(decode_text(record)?);
        }
        at = end;
    }
    Ok(packets)
}

/// The byte offset in `s` after its first `units` UTF-16 code units, if
/// `s` has that many and they end on a character boundary.
fn utf16_end(s: &str, units: usize) -> Option<usize> {
    let mut seen = 0;
    for (i, c) in s.char_indices() {
        if seen == units {
            return Some(i);
        }
        seen += c.len_utf16();
        if seen > units {
            return None;
        }
    }
    (seen == units).then_some(s.len())
}

fn decode_binary_payload(body: Bytes, max_packets: usize) -> Result<Vec<Packet>, PacketError> {
    if body.is_empty() {
        return Err(PacketError::Empty);
    }
    let mut packets = Vec::new();
    let mut at = 0;
    while at < body.len() {
        too_many(packets.len(), max_packets)?;
        let is_text = match body[at] {
            0 => true,
            1 => false,
            _ => return Err(PacketError::BadLength),
        };
        let digits_end = body[at + 1..]
            .iter()
            .take(MAX_DIGITS + 1)
            .position(|&b| b == LENGTH_END)
            .map(|i| at + 1 + i)
            .ok_or(PacketError::BadLength)?;
        let len = parse_len(body[at + 1..digits_end].iter().copied())?;
        let start = digits_end + 1;
        let end = start.checked_add(len).filter(|&e| e <= body.len());
        let end = end.ok_or(PacketError::BadLength)?;
        let record = body.slice(start..end);
        packets.push(if is_text {
            decode_text(Str::from_utf8(record).map_err(|_| PacketError::InvalidUtf8)?)?
        } else {
            decode_binary(record)?
        });
        at = end;
    }
    Ok(packets)
}

#[cfg(test)]
mod tests;
