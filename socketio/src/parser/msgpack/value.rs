//! The msgpack form of JSON values with binary parts, as notepack.io
//! writes and reads it: what the packet codec ([`super`]) and the Redis
//! adapters' messages are made of. See the parent module for how
//! notepack's extensions are read. Pure; never panics; nothing is
//! allocated for a length the input does not hold.

use bytes::Bytes;
use serde_json::{Map, Number, Value};

use crate::error::ParseError;
use crate::packet::{placeholder, placeholder_index};

/// Integers that are exact as JavaScript numbers are below this.
const JS_SAFE: f64 = 9_007_199_254_740_992.0;

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

pub(super) fn put_uint(out: &mut Vec<u8>, n: u64) {
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

pub(super) fn put_str(out: &mut Vec<u8>, s: &str) {
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
pub(super) fn put_len(out: &mut Vec<u8>, n: usize, fix: u8, m16: u8) {
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
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    src: Option<&'a Bytes>,
    max_bins: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8], src: Option<&'a Bytes>, max_bins: usize) -> Self {
        Reader {
            buf,
            pos: 0,
            src,
            max_bins,
        }
    }

    pub(super) fn is_done(&self) -> bool {
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
    pub(super) fn map_len(&mut self) -> Result<Option<usize>, ParseError> {
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
    pub(super) fn key(&mut self) -> Result<String, ParseError> {
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
    pub(super) fn value(
        &mut self,
        depth: usize,
        bins: &mut Vec<Bytes>,
    ) -> Result<Option<Value>, ParseError> {
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
        // Keys seen, `undefined` members included: a repeated key (also two
        // that read alike once made strings) is ambiguous, and the value it
        // replaced could have carried binary that nothing refers to then.
        let mut seen = std::collections::HashSet::new();
        for _ in 0..n {
            let k = self.key()?;
            if n > 1 && !seen.insert(k.clone()) {
                return Err(ParseError::Malformed);
            }
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

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn bin(b: &'static [u8]) -> Bytes {
        Bytes::from_static(b)
    }

    /// Found by the `pg_attachment` fuzz target: a map that named a key
    /// twice kept the binary of the value it replaced as an attachment
    /// nothing referred to, so a re-encoded message lost it.
    #[test]
    fn a_repeated_map_key_is_malformed() {
        for bytes in [
            "82 a1 61 c4 01 ff a1 61 02",       // {"a": <bin>, "a": 2}
            "82 a1 61 c4 01 ff a1 61 d4 00 00", // {"a": <bin>, "a": undefined}
            "82 01 01 a1 31 02",                // {1: 1, "1": 2}: alike as strings
            "81 a1 61 82 a1 63 01 a1 63 02",    // {"a": {"c": 1, "c": 2}}
        ] {
            assert_eq!(
                decode_value(&hex(bytes), 32, 10),
                Err(ParseError::Malformed),
                "{bytes}"
            );
        }
        let (v, bins) = decode_value(&hex("82 a1 61 c4 01 ff a1 62 02"), 32, 10).unwrap();
        assert_eq!(v, json!({"a": {"_placeholder": true, "num": 0}, "b": 2}));
        assert_eq!(bins, vec![bin(&[0xff])]);
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
}
