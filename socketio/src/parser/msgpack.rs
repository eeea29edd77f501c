//! The msgpack parser, as `socket.io-msgpack-parser` 3.x (on notepack.io)
//! puts packets on the wire, and the msgpack form of JSON values with
//! binary parts that the Redis adapters share.
//!
//! A packet is one Engine.IO binary message: the msgpack map `{type, data,
//! nsp, id}` with the keys in the order the reference server writes them
//! (an ack starts with `id`), `nsp` always present (`"/"` too), `data` and
//! `id` only when the packet has them. There are no BINARY_EVENT or
//! BINARY_ACK types and no attachments: binary travels inline as msgpack
//! `bin`. Decoding turns each binary value into an attachment of the
//! [`Packet`] (a placeholder in its data, as the JSON parser leaves them),
//! so handlers see binary the same way whichever parser, and encoding
//! turns placeholders back into `bin`.
//!
//! What notepack.io writes besides plain msgpack is read as it reads it:
//! `ext` type 0 (an `ArrayBuffer` or typed array) is binary, `fixext 1`
//! type 0 is `undefined` (a missing key, `null` in an array), `fixext 8`
//! type 0 a `Date` (its milliseconds); any other extension is `[type,
//! bin]`. Map keys may be strings, integers, booleans or nil (JavaScript
//! makes strings of them). Strings that are not UTF-8 are read lossily.
//!
//! Validation follows the reference's `checkPacket`: `type` an integer 0
//! to 4, `nsp` a string, `id` absent or an integer, `data` of the shape
//! the type needs; and, as the JSON parser requires, an event's first
//! argument is a name that is not reserved, and an id fits a `u64`.
//! Stricter than the reference: trailing bytes, nesting deeper than the
//! JSON parser allows ([`MAX_DEPTH`]), more binary values than the
//! attachment cap, a repeated key of the packet, and a map shaped like a
//! JSON placeholder (`{"_placeholder": true, ...}`, which would be taken
//! for binary) are refused. Pure; never panics.

use bytes::Bytes;
use serde_json::{Map, Number, Value};

use crate::error::ParseError;
use crate::packet::{placeholder, placeholder_index, Packet, PacketType, Parts};

/// Most arrays and maps a packet's data may nest: what the JSON parser
/// (serde_json's recursion limit) accepts, so that no client can send
/// deeper data with one parser than with the other.
pub const MAX_DEPTH: usize = 127;

/// Integers that are exact as JavaScript numbers are below this.
const JS_SAFE: f64 = 9_007_199_254_740_992.0;

/// Decodes one packet from a binary message. Binary values are slices
/// of `msg` (no copy); at most `max_attachments` of them.
pub fn decode_packet(msg: &Bytes, max_attachments: usize) -> Result<Packet, ParseError> {
    let mut rd = Reader::new(msg, Some(msg), max_attachments);
    let len = rd.map_len()?.ok_or(ParseError::UnknownType)?;
    let (mut ty, mut nsp, mut id, mut data) = (None, None, None, None);
    let mut attachments = Vec::new();
    let mut scratch = Vec::new();
    for _ in 0..len {
        let key = rd.key()?;
        let slot = match key.as_str() {
            "type" => &mut ty,
            "nsp" => &mut nsp,
            "id" => &mut id,
            "data" => {
                if data.is_some() {
                    return Err(ParseError::Malformed);
                }
                // `undefined` data is no data.
                data = Some(rd.value(MAX_DEPTH, &mut attachments)?);
                continue;
            }
            _ => {
                // Anything else (socket.io-client sends `options`) is read
                // under the same limits and dropped.
                rd.value(MAX_DEPTH, &mut scratch)?;
                scratch.clear();
                continue;
            }
        };
        if slot.is_some() {
            return Err(ParseError::Malformed);
        }
        *slot = Some(rd.value(MAX_DEPTH, &mut scratch)?);
    }
    if !rd.is_done() {
        return Err(ParseError::Malformed);
    }
    let binary = !attachments.is_empty();
    let ty = match ty.flatten().as_ref().and_then(Value::as_u64) {
        Some(0) => PacketType::Connect,
        Some(1) => PacketType::Disconnect,
        Some(2) => PacketType::event(binary),
        Some(3) => PacketType::ack(binary),
        Some(4) => PacketType::ConnectError,
        _ => return Err(ParseError::UnknownType),
    };
    let Some(Value::String(nsp)) = nsp.flatten() else {
        return Err(ParseError::InvalidNamespace);
    };
    let id = match id.flatten() {
        None => None,
        Some(v) => Some(v.as_u64().ok_or(ParseError::InvalidAckId)?),
    };
    Packet::checked(ty, nsp, id, data.flatten(), attachments)
}

/// Encodes `packet` as one binary message.
pub fn encode_packet(packet: &Packet) -> Bytes {
    let mut out = Vec::with_capacity(32 + packet.nsp.len());
    encode_parts_into(&mut out, packet.parts(), &packet.attachments);
    Bytes::from(out)
}

/// Appends the message of a packet given by its parts to `out`.
pub(crate) fn encode_parts_into(out: &mut Vec<u8>, parts: Parts<'_>, attachments: &[Bytes]) {
    let ty: u64 = match parts.ty {
        PacketType::Connect => 0,
        PacketType::Disconnect => 1,
        PacketType::Event | PacketType::BinaryEvent => 2,
        PacketType::Ack | PacketType::BinaryAck => 3,
        PacketType::ConnectError => 4,
    };
    let nsp = match parts.nsp {
        "" => "/",
        nsp => nsp,
    };
    let fields = 2 + usize::from(parts.data.is_some()) + usize::from(parts.id.is_some());
    put_len(out, fields, 0x80, 0xde);
    let ack = ty == 3;
    // The reference server's own orders: `{id, type, data}` for an ack,
    // `{type, data, id}` otherwise, `nsp` added last.
    if let (true, Some(id)) = (ack, parts.id) {
        put_str(out, "id");
        put_uint(out, id);
    }
    put_str(out, "type");
    put_uint(out, ty);
    if let Some(data) = parts.data {
        put_str(out, "data");
        encode_value(out, data, attachments);
    }
    if let (false, Some(id)) = (ack, parts.id) {
        put_str(out, "id");
        put_uint(out, id);
    }
    put_str(out, "nsp");
    put_str(out, nsp);
}

/// Decodes a msgpack value into JSON, its binary values becoming
/// placeholders numbered in order and returned beside it (copied out of
/// `bytes`). At most `max_depth` nested arrays and maps and
/// `max_binaries` binary values; the whole of `bytes` must be one value.
/// A top-level `undefined` is `null`.
pub fn decode_value(
    bytes: &[u8],
    max_depth: usize,
    max_binaries: usize,
) -> Result<(Value, Vec<Bytes>), ParseError> {
    let mut rd = Reader::new(bytes, None, max_binaries);
    let mut bins = Vec::new();
    let v = rd.value(max_depth, &mut bins)?.unwrap_or(Value::Null);
    if !rd.is_done() {
        return Err(ParseError::Malformed);
    }
    Ok((v, bins))
}

/// Appends `value` as msgpack to `out` the way notepack.io writes it: the
/// smallest forms, integral numbers as integers, other numbers as float
/// 64, and each placeholder that refers to one of `attachments` as `bin`.
pub fn encode_value(out: &mut Vec<u8>, value: &Value, attachments: &[Bytes]) {
    match value {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => put_number(out, n),
        Value::String(s) => put_str(out, s),
        Value::Array(a) => {
            put_len(out, a.len(), 0x90, 0xdc);
            for x in a {
                encode_value(out, x, attachments);
            }
        }
        Value::Object(o) => {
            if let Some(Ok(n)) = placeholder_index(value) {
                if let Some(b) = attachments.get(n) {
                    put_bin(out, b);
                    return;
                }
            }
            put_len(out, o.len(), 0x80, 0xde);
            for (k, x) in o {
                put_str(out, k);
                encode_value(out, x, attachments);
            }
        }
    }
}

fn put_number(out: &mut Vec<u8>, n: &Number) {
    if let Some(u) = n.as_u64() {
        return put_uint(out, u);
    }
    if let Some(i) = n.as_i64() {
        return put_int(out, i);
    }
    let f = n.as_f64().unwrap_or(0.0);
    // A JavaScript number that is an integer goes out as one.
    match f.fract() == 0.0 && f.abs() < JS_SAFE {
        true if f >= 0.0 => put_uint(out, f as u64),
        true => put_int(out, f as i64),
        false => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_be_bytes());
        }
    }
}

fn put_uint(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0x7f => out.push(n as u8),
        0x80..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(0xcf);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// A negative integer (others go through [`put_uint`]).
fn put_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        return put_uint(out, n as u64);
    }
    match n {
        -0x20..=-1 => out.push(n as u8),
        -0x80..=-0x21 => out.extend_from_slice(&[0xd0, n as u8]),
        -0x8000..=-0x81 => {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -0x8000_0000..=-0x8001 => {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let n = s.len();
    match n {
        0..=0x1f => out.push(0xa0 | n as u8),
        0x20..=0xff => out.extend_from_slice(&[0xd9, n as u8]),
        _ => put_size(out, n, 0xda),
    }
    out.extend_from_slice(s.as_bytes());
}

fn put_bin(out: &mut Vec<u8>, b: &[u8]) {
    match b.len() {
        n @ 0..=0xff => out.extend_from_slice(&[0xc4, n as u8]),
        n => put_size(out, n, 0xc5),
    }
    out.extend_from_slice(b);
}

/// An array (`fix` 0x90, `m16` 0xdc) or map (0x80, 0xde) header.
fn put_len(out: &mut Vec<u8>, n: usize, fix: u8, m16: u8) {
    match n {
        0..=0x0f => out.push(fix | n as u8),
        _ => put_size(out, n, m16),
    }
}

/// A 16-bit length after marker `m16`, or a 32-bit one after `m16 + 1`.
/// Longer is impossible on the wire (Engine.IO messages are far smaller)
/// and clamped.
fn put_size(out: &mut Vec<u8>, n: usize, m16: u8) {
    match u16::try_from(n) {
        Ok(n) => {
            out.push(m16);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Err(_) => {
            out.push(m16 + 1);
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// Reads msgpack from a buffer, binary values as slices of `src` when the
/// buffer is one (else copies).
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    src: Option<&'a Bytes>,
    max_bins: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], src: Option<&'a Bytes>, max_bins: usize) -> Self {
        Reader {
            buf,
            pos: 0,
            src,
            max_bins,
        }
    }

    fn is_done(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn byte(&mut self) -> Result<u8, ParseError> {
        let b = *self.buf.get(self.pos).ok_or(ParseError::Malformed)?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.buf.len() - self.pos < n {
            return Err(ParseError::Malformed);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A big-endian unsigned integer of `n` (1 to 8) bytes.
    fn uint(&mut self, n: usize) -> Result<u64, ParseError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A length of `n` bytes.
    fn len(&mut self, n: usize) -> Result<usize, ParseError> {
        usize::try_from(self.uint(n)?).map_err(|_| ParseError::Malformed)
    }

    /// The length of the map that comes next, `None` if something else does
    /// (nothing is consumed then).
    fn map_len(&mut self) -> Result<Option<usize>, ParseError> {
        let m = *self.buf.get(self.pos).ok_or(ParseError::Malformed)?;
        let n = match m {
            0x80..=0x8f => usize::from(m & 0x0f),
            0xde | 0xdf => {
                self.pos += 1;
                return self.len(if m == 0xde { 2 } else { 4 }).map(Some);
            }
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(n))
    }

    /// A binary value: a slice of the source, or a copy.
    fn bin(&mut self, n: usize, bins: &mut Vec<Bytes>) -> Result<Value, ParseError> {
        if bins.len() >= self.max_bins {
            return Err(ParseError::TooManyAttachments {
                limit: self.max_bins,
            });
        }
        let start = self.pos;
        let s = self.take(n)?;
        bins.push(match self.src {
            Some(src) => src.slice(start..start + n),
            None => Bytes::copy_from_slice(s),
        });
        Ok(placeholder(bins.len() - 1))
    }

    fn str(&mut self, n: usize) -> Result<String, ParseError> {
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }

    /// A map key, made a string as JavaScript does.
    fn key(&mut self) -> Result<String, ParseError> {
        let m = self.byte()?;
        Ok(match m {
            0xa0..=0xbf => self.str(usize::from(m & 0x1f))?,
            0xd9 => {
                let n = self.len(1)?;
                self.str(n)?
            }
            0xda | 0xdb => {
                let n = self.len(if m == 0xda { 2 } else { 4 })?;
                self.str(n)?
            }
            _ => {
                self.pos -= 1;
                match self.scalar()? {
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::Bool(b)) => b.to_string(),
                    Some(Value::Null) => "null".to_owned(),
                    _ => return Err(ParseError::Malformed),
                }
            }
        })
    }

    /// A number, boolean or nil (`None` for anything else; nothing is
    /// consumed then).
    fn scalar(&mut self) -> Result<Option<Value>, ParseError> {
        let m = *self.buf.get(self.pos).ok_or(ParseError::Malformed)?;
        let n = match m {
            0x00..=0x7f => Value::from(m),
            0xe0..=0xff => Value::from(m as i8),
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xca..=0xd3 => {
                self.pos += 1;
                return self.number(m).map(Some);
            }
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(n))
    }

    /// The number after marker `m` (0xca to 0xd3).
    fn number(&mut self, m: u8) -> Result<Value, ParseError> {
        Ok(match m {
            0xca => float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => float(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => Value::from(self.uint(1 << (m - 0xcc))?),
            _ => {
                let n = 1usize << (m - 0xd0);
                let u = self.uint(n)?;
                // Sign-extend from `n` bytes.
                let shift = 64 - 8 * n as u32;
                Value::from(((u << shift) as i64) >> shift)
            }
        })
    }

    /// The next value; `None` for notepack's `undefined`. Nesting below
    /// `depth` more arrays or maps is refused.
    fn value(&mut self, depth: usize, bins: &mut Vec<Bytes>) -> Result<Option<Value>, ParseError> {
        if let Some(v) = self.scalar()? {
            return Ok(Some(v));
        }
        let m = self.byte()?;
        let v = match m {
            0xa0..=0xbf => Value::String(self.str(usize::from(m & 0x1f))?),
            0xd9..=0xdb => {
                let n = self.len(1 << (m - 0xd9))?;
                Value::String(self.str(n)?)
            }
            0xc4..=0xc6 => {
                let n = self.len(1 << (m - 0xc4))?;
                self.bin(n, bins)?
            }
            0x90..=0x9f => self.array(usize::from(m & 0x0f), depth, bins)?,
            0xdc | 0xdd => {
                let n = self.len(if m == 0xdc { 2 } else { 4 })?;
                self.array(n, depth, bins)?
            }
            0x80..=0x8f => self.map(usize::from(m & 0x0f), depth, bins)?,
            0xde | 0xdf => {
                let n = self.len(if m == 0xde { 2 } else { 4 })?;
                self.map(n, depth, bins)?
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (m - 0xc7))?;
                return self.ext(n, bins).map(Some);
            }
            0xd4..=0xd8 => {
                let n = 1 << (m - 0xd4);
                if n == 1 && self.buf.get(self.pos) == Some(&0) {
                    self.take(2)?;
                    return Ok(None);
                }
                if n == 8 && self.buf.get(self.pos) == Some(&0) {
                    self.pos += 1;
                    // A Date: its milliseconds, high half signed.
                    let hi = self.uint(4)? as u32 as i32;
                    let lo = self.uint(4)?;
                    return Ok(Some(Value::from(i64::from(hi) * (1 << 32) + lo as i64)));
                }
                return self.ext(n, bins).map(Some);
            }
            // 0xc1 is never used.
            _ => return Err(ParseError::Malformed),
        };
        Ok(Some(v))
    }

    /// An extension of `n` bytes: type 0 is binary, any other `[type, bin]`.
    fn ext(&mut self, n: usize, bins: &mut Vec<Bytes>) -> Result<Value, ParseError> {
        let ty = self.byte()? as i8;
        let bin = self.bin(n, bins)?;
        Ok(match ty {
            0 => bin,
            _ => Value::Array(vec![Value::from(ty), bin]),
        })
    }

    fn array(
        &mut self,
        n: usize,
        depth: usize,
        bins: &mut Vec<Bytes>,
    ) -> Result<Value, ParseError> {
        let depth = depth.checked_sub(1).ok_or(ParseError::Malformed)?;
        // Every element takes a byte at least: no allocation past the input.
        let mut a = Vec::with_capacity(n.min(self.buf.len() - self.pos));
        for _ in 0..n {
            a.push(self.value(depth, bins)?.unwrap_or(Value::Null));
        }
        Ok(Value::Array(a))
    }

    fn map(&mut self, n: usize, depth: usize, bins: &mut Vec<Bytes>) -> Result<Value, ParseError> {
        let depth = depth.checked_sub(1).ok_or(ParseError::Malformed)?;
        let mut o = Map::new();
        for _ in 0..n {
            let k = self.key()?;
            // An `undefined` member is no member, as in JSON.
            match self.value(depth, bins)? {
                Some(v) => o.insert(k, v),
                None => o.remove(&k),
            };
        }
        let v = Value::Object(o);
        if placeholder_index(&v).is_some() {
            // It would be taken for binary by whoever reads the data.
            return Err(ParseError::InvalidPlaceholder);
        }
        Ok(v)
    }
}

/// A float as a JSON number; integral ones as integers, as JavaScript
/// sees no difference (and notepack.io writes them so); NaN and infinities
/// as null, as JSON has them.
fn float(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < JS_SAFE {
        return match f >= 0.0 {
            true => Value::from(f as u64),
            false => Value::from(f as i64),
        };
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hex(s: &str) -> Bytes {
        let s: String = s.split_whitespace().collect();
        let v: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        Bytes::from(v)
    }

    fn dec(b: &Bytes) -> Result<Packet, ParseError> {
        decode_packet(b, 10)
    }

    fn bin(b: &'static [u8]) -> Bytes {
        Bytes::from_static(b)
    }

    // Byte-exact vectors: computed once in node 20 with
    // socket.io-msgpack-parser 3.0.2 (notepack.io 2.2.0), `hex(new
    // Encoder().encode(p)[0])`, on packets built as the reference server
    // builds them (socket.ts: `{type, data, id?}` then `nsp`; an ack
    // `{id, type, data}` then `nsp`).

    /// `{type: 0, data: {sid: "s1", pid: "p1"}, nsp: "/admin"}`
    const CONNECT: &str =
        "83a47479706500a46461746182a3736964a27331a3706964a27031a36e7370a62f61646d696e";
    /// `{type: 2, data: ["hello", 1, Buffer.from([1, 2, 3])], nsp: "/"}`
    const EVENT_BIN: &str = "83a47479706502a46461746193a568656c6c6f01c403010203a36e7370a12f";
    /// `{type: 2, data: ["q", {a: 1.5, b: -200}], id: 7, nsp: "/"}`
    const EVENT_ACK: &str =
        "84a47479706502a46461746192a17182a161cb3ff8000000000000a162d1ff38a2696407a36e7370a12f";
    /// `{id: 7, type: 3, data: ["ok", Buffer.from([255])], nsp: "/chat"}`
    const ACK_BIN: &str = "84a2696407a47479706503a46461746192a26f6bc401ffa36e7370a52f63686174";
    /// `{type: 1, nsp: "/admin"}`
    const DISCONNECT: &str = "82a47479706501a36e7370a62f61646d696e";
    /// `{type: 4, data: {message: "unauthorized", data: {reason: "bad token"}}, nsp: "/"}`
    const CONNECT_ERROR: &str = "83a47479706504a46461746182a76d657373616765ac756e617574686f72697a6564a46461746181a6726561736f6ea962616420746f6b656ea36e7370a12f";
    /// What socket.io-client 4 sends for `emit("echo", null, undefined,
    /// new Uint8Array([4, 5]), {k: undefined}, cb)`: `{type: 2, data,
    /// options: {compress: true}, id: 3, nsp: "/"}`, the typed array as
    /// ext type 0 and `undefined` as fixext 1 type 0.
    const CLIENT_EVENT: &str = "85a47479706502a46461746195a46563686fc0d40000c70200040581a16bd40000a76f7074696f6e7381a8636f6d7072657373c3a2696403a36e7370a12f";
    /// `{type: 0, nsp: "/", data: {token: "t"}}`
    const CLIENT_CONNECT: &str = "83a47479706500a36e7370a12fa46461746181a5746f6b656ea174";

    #[test]
    fn the_reference_bytes_decode_and_ours_encode_to_them() {
        let cases = [
            (
                CONNECT,
                Packet::new(
                    PacketType::Connect,
                    "/admin",
                    Some(json!({"sid": "s1", "pid": "p1"})),
                ),
            ),
            (
                EVENT_BIN,
                Packet::event(
                    "/",
                    json!(["hello", 1, placeholder(0)]),
                    None,
                    vec![bin(&[1, 2, 3])],
                ),
            ),
            (
                EVENT_ACK,
                Packet::event("/", json!(["q", {"a": 1.5, "b": -200}]), Some(7), vec![]),
            ),
            (
                ACK_BIN,
                Packet::ack("/chat", json!(["ok", placeholder(0)]), 7, vec![bin(&[255])]),
            ),
            (
                DISCONNECT,
                Packet::new(PacketType::Disconnect, "/admin", None),
            ),
            (
                CONNECT_ERROR,
                Packet::new(
                    PacketType::ConnectError,
                    "/",
                    Some(json!({"message": "unauthorized", "data": {"reason": "bad token"}})),
                ),
            ),
        ];
        for (wire, packet) in cases {
            let wire = hex(wire);
            assert_eq!(dec(&wire).as_ref(), Ok(&packet), "{wire:02x?}");
            assert_eq!(encode_packet(&packet), wire, "{packet:?}");
        }
    }

    #[test]
    fn what_socket_io_client_sends_decodes() {
        let wire = hex(CLIENT_EVENT);
        let p = dec(&wire).unwrap();
        assert_eq!(p.ty, PacketType::BinaryEvent);
        assert_eq!(p.id, Some(3));
        assert_eq!(p.nsp, "/");
        // `undefined` is null in an array and no member in a map.
        assert_eq!(
            p.data,
            Some(json!(["echo", null, null, placeholder(0), {}]))
        );
        assert_eq!(p.attachments, vec![bin(&[4, 5])]);
        // The attachment is a slice of the message, not a copy.
        let at = wire.windows(3).position(|w| w == [0, 4, 5]).unwrap() + 1;
        assert_eq!(p.attachments[0].as_ptr(), wire[at..].as_ptr());
        let p = dec(&hex(CLIENT_CONNECT)).unwrap();
        assert_eq!(
            (p.ty, p.data),
            (PacketType::Connect, Some(json!({"token": "t"})))
        );
        // A CONNECT without auth: `data: undefined`.
        let p = dec(&hex("83a47479706500a46461746 1d40000a36e7370a12f"
            .replace(' ', "")
            .as_str()))
        .unwrap();
        assert_eq!((p.ty, p.data), (PacketType::Connect, None));
    }

    #[test]
    fn every_packet_type_round_trips_with_and_without_binary() {
        for nsp in ["/", "/admin"] {
            for id in [None, Some(0), Some(1 << 40), Some(u64::MAX)] {
                for n in 0..3usize {
                    let atts: Vec<Bytes> = (0..n)
                        .map(|i| Bytes::from(vec![i as u8; i * 300]))
                        .collect();
                    let mut args = vec![
                        json!("ev"),
                        json!(-1),
                        json!(0.25),
                        json!({"k": [true, null]}),
                    ];
                    args.extend((0..n).map(|i| json!({ "file": placeholder(i) })));
                    let packets = [
                        Packet::event(nsp, Value::Array(args.clone()), id, atts.clone()),
                        Packet::ack(
                            nsp,
                            Value::Array(args[1..].to_vec()),
                            id.unwrap_or(9),
                            atts.clone(),
                        ),
                        Packet::new(PacketType::Connect, nsp, None),
                        Packet::new(PacketType::Connect, nsp, Some(json!({"token": "x"}))),
                        Packet::new(PacketType::Disconnect, nsp, None),
                        Packet::new(PacketType::ConnectError, nsp, Some(json!("no"))),
                        Packet::new(
                            PacketType::ConnectError,
                            nsp,
                            Some(json!({"message": "no"})),
                        ),
                    ];
                    for p in packets {
                        assert_eq!(dec(&encode_packet(&p)).as_ref(), Ok(&p), "{p:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn numbers_and_lengths_take_notepack_forms() {
        let enc = |v: Value| {
            let mut out = Vec::new();
            encode_value(&mut out, &v, &[]);
            out
        };
        assert_eq!(enc(json!(1.0)), [0x01]);
        assert_eq!(enc(json!(-1)), [0xff]);
        assert_eq!(enc(json!(-33)), [0xd0, 0xdf]);
        assert_eq!(enc(json!(200)), [0xcc, 200]);
        assert_eq!(enc(json!(1000)), [0xcd, 0x03, 0xe8]);
        assert_eq!(enc(json!(-1000.0)), [0xd1, 0xfc, 0x18]);
        assert_eq!(enc(json!(1u64 << 32)), [0xcf, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(enc(json!(0.5))[0], 0xcb);
        assert_eq!(enc(json!("x".repeat(31)))[0], 0xbf);
        assert_eq!(enc(json!("x".repeat(32)))[..2], [0xd9, 32]);
        assert_eq!(enc(json!("x".repeat(256)))[..3], [0xda, 1, 0]);
        assert_eq!(enc(json!(vec![0; 16]))[..3], [0xdc, 0, 16]);
        for v in [
            json!(-1),
            json!(-33),
            json!(-40000),
            json!(-(1i64 << 40)),
            json!(u64::MAX),
            json!(0.1),
        ] {
            let (back, _) = decode_value(&enc(v.clone()), 4, 0).unwrap();
            assert_eq!(back, v);
        }
        // Floats that are integers read as integers; NaN as null.
        assert_eq!(
            decode_value(&[0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0], 1, 0)
                .unwrap()
                .0,
            json!(2)
        );
        assert_eq!(
            decode_value(&[0xca, 0x7f, 0xc0, 0, 0], 1, 0).unwrap().0,
            Value::Null
        );
    }

    #[test]
    fn notepack_extensions_read_as_notepack_reads_them() {
        // A Date (fixext 8 type 0): its milliseconds.
        let date = [0xd7, 0, 0, 0, 0x01, 0x6f, 0x5e, 0x66, 0xe8, 0x00];
        assert_eq!(
            decode_value(&date, 1, 0).unwrap().0,
            json!(1_577_836_800_000u64)
        );
        // Another extension: `[type, bin]`.
        let (v, bins) = decode_value(&[0xd5, 0x05, 0xaa, 0xbb], 2, 1).unwrap();
        assert_eq!(
            (v, bins),
            (json!([5, placeholder(0)]), vec![bin(&[0xaa, 0xbb])])
        );
        // Integer and other scalar map keys become strings.
        let (v, _) = decode_value(&[0x83, 0x01, 0xc3, 0xc0, 0xc2, 0xc3, 0x01], 2, 0).unwrap();
        assert_eq!(v, json!({"1": true, "null": false, "true": 1}));
    }

    /// The data may nest as deep as the JSON parser lets it, not deeper.
    #[test]
    fn nesting_is_bounded_as_with_json() {
        for depth in 120..135 {
            let json = format!("2[\"e\",{}{}]", "[".repeat(depth), "]".repeat(depth));
            let json_ok = Packet::decode(&json, 10).is_ok();
            // The same data in msgpack: the event array and `depth` arrays.
            let mut data = vec![0x92, 0xa1, b'e'];
            data.extend(std::iter::repeat_n(0x91, depth - 1));
            data.push(0x90);
            let mut msg = hex("83a47479706502a36e7370a12fa464617461").to_vec();
            msg.extend(data);
            assert_eq!(dec(&Bytes::from(msg)).is_ok(), json_ok, "depth {depth}");
        }
        // The bound is inside the range tried.
        let nested = |d: usize| format!("2[\"e\",{}{}]", "[".repeat(d), "]".repeat(d));
        assert!(Packet::decode(&nested(120), 10).is_ok());
        assert!(Packet::decode(&nested(134), 10).is_err());
        let deep = vec![0x91; 100_000];
        assert_eq!(decode_value(&deep, 64, 0), Err(ParseError::Malformed));
    }

    #[test]
    fn invalid_packets_are_refused_as_the_reference_refuses_them() {
        let bad: &[(&str, ParseError)] = &[
            ("", ParseError::Malformed),
            ("c1", ParseError::UnknownType),
            ("02", ParseError::UnknownType),
            ("80", ParseError::UnknownType),
            // type 5 (BINARY_EVENT) does not exist here.
            (
                "83a47479706505a36e7370a12fa46461746191a161",
                ParseError::UnknownType,
            ),
            (
                "82a474797065cb4000000000000001a36e7370a12f",
                ParseError::UnknownType,
            ),
            // No namespace, or not a string.
            (
                "82a47479706502a46461746191a161",
                ParseError::InvalidNamespace,
            ),
            (
                "83a47479706502a36e737001a46461746191a161",
                ParseError::InvalidNamespace,
            ),
            // Data of the wrong shape.
            (
                "83a47479706502a36e7370a12fa46461746190",
                ParseError::InvalidPayload,
            ),
            (
                "83a47479706502a36e7370a12fa46461746191a7636f6e6e656374",
                ParseError::InvalidPayload,
            ),
            (
                "83a47479706502a36e7370a12fa46461746191c0",
                ParseError::InvalidPayload,
            ),
            ("82a47479706503a36e7370a12f", ParseError::InvalidPayload),
            (
                "83a47479706501a36e7370a12fa46461746190",
                ParseError::InvalidPayload,
            ),
            ("82a47479706504a36e7370a12f", ParseError::InvalidPayload),
            // Ids: negative, fractional, nil.
            (
                "84a47479706502a36e7370a12fa46461746191a161a269
              64ff",
                ParseError::InvalidAckId,
            ),
            (
                "84a47479706502a36e7370a12fa46461746191a161a2696
              4cb3ff8000000000000",
                ParseError::InvalidAckId,
            ),
            (
                "84a47479706502a36e7370a12fa46461746191a161a2696
              4c0",
                ParseError::InvalidAckId,
            ),
            // Truncated, trailing bytes, a repeated key.
            (
                "83a47479706502a36e7370a12fa46461746192a161",
                ParseError::Malformed,
            ),
            (
                "83a47479706502a36e7370a12fa46461746191a16100",
                ParseError::Malformed,
            ),
            (
                "83a47479706502a474797065 02a36e7370a12f",
                ParseError::Malformed,
            ),
            // A map that would be read as a placeholder.
            (
                "83a47479706502a36e7370a12fa46461746192a16181ac5f706c616365686f6c646572c3",
                ParseError::InvalidPlaceholder,
            ),
        ];
        for (wire, want) in bad {
            assert_eq!(dec(&hex(wire)).as_ref().err(), Some(want), "{wire}");
        }
        // The binary cap counts every binary value, wherever it is.
        let p = Packet::event(
            "/",
            json!(["e", [placeholder(0), {"x": placeholder(1)}]]),
            None,
            vec![bin(b"a"), bin(b"b")],
        );
        assert_eq!(
            decode_packet(&encode_packet(&p), 1),
            Err(ParseError::TooManyAttachments { limit: 1 })
        );
        assert_eq!(decode_packet(&encode_packet(&p), 2), Ok(p));
    }

    #[test]
    fn claimed_lengths_past_the_input_allocate_nothing_and_fail() {
        for wire in [
            "dd ffffffff",
            "df ffffffff",
            "c6 ffffffff 00",
            "db ffffffff 61",
            "c9 ffffffff 00",
        ] {
            assert_eq!(
                decode_value(&hex(wire), 8, 10).map(|_| ()),
                Err(ParseError::Malformed),
                "{wire}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_read_and_dropped() {
        // `options` holds binary: it is not one of the packet's.
        let p = Packet::event("/", json!(["e", placeholder(0)]), None, vec![bin(b"d")]);
        let mut msg = encode_packet(&p).to_vec();
        msg[0] += 1;
        msg.extend(hex("a76f7074696f6e73c40178"));
        assert_eq!(dec(&Bytes::from(msg)), Ok(p));
    }
}
