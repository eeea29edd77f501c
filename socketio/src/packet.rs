//! Socket.IO v5 packets: the seven types, namespace prefix, ack id, JSON
//! payload and binary attachments.
//!
//! Pure codec: no I/O. Decoding validates like the reference parser after
//! its security fixes and never panics; every failure is a [`ParseError`].
//! See <https://github.com/socketio/socket.io-protocol#packet-encoding>.

use bytes::Bytes;
use serde_json::Value;

pub use crate::error::ParseError;

/// Largest accepted ack id: `u64::MAX`, which round-trips exactly.
///
/// The reference parser reads an id with `Number()`, so above 2^53 it
/// keeps a rounded float and answers a different id than the one asked
/// for; past 2^64 it still accepts one. Here every id up to `u64::MAX`
/// is kept and answered digit for digit (clients that count past 2^53,
/// such as python-socketio, get their own id back), and a longer one is
/// refused as [`ParseError::InvalidAckId`], which closes the connection
/// like any other malformed packet.
pub const MAX_ACK_ID: u64 = u64::MAX;

/// Event names a client may not emit.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The packet type, as its digit on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: connect to a namespace.
    Connect,
    /// `1`: disconnect from a namespace.
    Disconnect,
    /// `2`: event.
    Event,
    /// `3`: acknowledgement.
    Ack,
    /// `4`: namespace connection refused.
    ConnectError,
    /// `5`: event with binary attachments.
    BinaryEvent,
    /// `6`: acknowledgement with binary attachments.
    BinaryAck,
}

impl PacketType {
    fn digit(self) -> char {
        match self {
            PacketType::Connect => '0',
            PacketType::Disconnect => '1',
            PacketType::Event => '2',
            PacketType::Ack => '3',
            PacketType::ConnectError => '4',
            PacketType::BinaryEvent => '5',
            PacketType::BinaryAck => '6',
        }
    }

    fn from_digit(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// Whether binary attachments follow this packet.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }

    /// `Event`, or `BinaryEvent` when attachments follow.
    pub(crate) fn event(binary: bool) -> Self {
        match binary {
            true => PacketType::BinaryEvent,
            false => PacketType::Event,
        }
    }

    /// `Ack`, or `BinaryAck` when attachments follow.
    pub(crate) fn ack(binary: bool) -> Self {
        match binary {
            true => PacketType::BinaryAck,
            false => PacketType::Ack,
        }
    }
}

/// One Socket.IO packet. For binary types, `data` holds placeholders
/// (`{"_placeholder":true,"num":N}`) and `attachments` the buffers.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// Type.
    pub ty: PacketType,
    /// Namespace, `/` by default.
    pub nsp: String,
    /// Ack id.
    pub id: Option<u64>,
    /// JSON payload.
    pub data: Option<Value>,
    /// Binary attachments (binary types only).
    pub attachments: Vec<Bytes>,
    /// Attachments announced in the header (decoding only).
    pub(crate) expected: usize,
    /// Its place in the namespace's recovery store, once recorded (a
    /// broadcast with connection state recovery on); never on the wire.
    pub(crate) recorded: Option<u64>,
}

impl Packet {
    /// Marks a broadcast a cluster adapter stored with a recovery offset
    /// (see [`Adapter::restore_session`](crate::Adapter::restore_session)):
    /// `mark` grows with the offset, so that a recovering socket drops the
    /// live copy of a packet it also gets among its missed ones.
    pub fn set_recovery_mark(&mut self, mark: u64) {
        self.recorded = Some(mark);
    }

    /// A packet without ack id or attachments.
    pub fn new(ty: PacketType, nsp: impl Into<String>, data: Option<Value>) -> Self {
        Packet {
            ty,
            nsp: nsp.into(),
            id: None,
            data,
            attachments: Vec::new(),
            expected: 0,
            recorded: None,
        }
    }

    /// An event (`Event` or `BinaryEvent` depending on `attachments`).
    pub fn event(
        nsp: impl Into<String>,
        args: Value,
        id: Option<u64>,
        attachments: Vec<Bytes>,
    ) -> Self {
        Packet {
            ty: PacketType::event(!attachments.is_empty()),
            nsp: nsp.into(),
            id,
            data: Some(args),
            attachments,
            expected: 0,
            recorded: None,
        }
    }

    /// An ack (`Ack` or `BinaryAck` depending on `attachments`).
    pub fn ack(nsp: impl Into<String>, args: Value, id: u64, attachments: Vec<Bytes>) -> Self {
        Packet {
            ty: PacketType::ack(!attachments.is_empty()),
            nsp: nsp.into(),
            id: Some(id),
            data: Some(args),
            attachments,
            expected: 0,
            recorded: None,
        }
    }

    /// Encodes the text part; the attachments follow as binary messages.
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(64 + self.nsp.len());
        self.encode_into(&mut out);
        // Everything written is UTF-8.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Appends the text part to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        self.parts().encode_into(out);
    }

    /// What the text part is made of, borrowed.
    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts {
            ty: self.ty,
            nsp: &self.nsp,
            id: self.id,
            data: self.data.as_ref(),
            attachments: self.attachments.len(),
        }
    }

    /// Decodes the text part of a packet. Binary types come back with
    /// `attachments` empty; [`crate::Decoder`] collects them.
    pub fn decode(s: &str, max_attachments: usize) -> Result<Packet, ParseError> {
        let b = s.as_bytes();
        let ty = PacketType::from_digit(*b.first().ok_or(ParseError::Empty)?)
            .ok_or(ParseError::UnknownType)?;
        let mut i = 1;
        let mut expected = 0;
        if ty.is_binary() {
            let dash = b[i..]
                .iter()
                .position(|&c| c == b'-')
                .ok_or(ParseError::IllegalAttachments)?;
            let digits = &s[i..i + dash];
            if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|c| c.is_ascii_digit())
            {
                return Err(ParseError::IllegalAttachments);
            }
            let n: usize = digits.parse().map_err(|_| ParseError::IllegalAttachments)?;
            if n > max_attachments {
                return Err(ParseError::TooManyAttachments {
                    limit: max_attachments,
                });
            }
            expected = n;
            i += dash + 1;
        }
        let (nsp, id, i) = nsp_and_id(s, i)?;
        let nsp = nsp.to_owned();
        let data = if i < b.len() {
            let v: Value = serde_json::from_str(&s[i..]).map_err(|_| ParseError::InvalidPayload)?;
            Some(v)
        } else {
            None
        };
        let mut p = Packet::checked(ty, nsp, id, data, Vec::new())?;
        p.expected = expected;
        Ok(p)
    }

    /// A decoded packet, once its data has the shape its type needs (both
    /// parsers).
    pub(crate) fn checked(
        ty: PacketType,
        nsp: String,
        id: Option<u64>,
        data: Option<Value>,
        attachments: Vec<Bytes>,
    ) -> Result<Packet, ParseError> {
        if !payload_valid(ty, data.as_ref()) {
            return Err(ParseError::InvalidPayload);
        }
        Ok(Packet {
            ty,
            nsp,
            id,
            data,
            attachments,
            expected: 0,
            recorded: None,
        })
    }

    /// Checks that every placeholder refers to one of `attachments`.
    pub(crate) fn check_placeholders(&self) -> Result<(), ParseError> {
        match &self.data {
            Some(v) => check_placeholders(v, self.attachments.len()),
            None => Ok(()),
        }
    }
}

/// The namespace (`/` when absent) and ack id that follow a packet's type
/// (and attachment count) from byte `i` of `s`, and where its data starts.
/// The namespace runs to the first comma, or to the end without one.
fn nsp_and_id(s: &str, mut i: usize) -> Result<(&str, Option<u64>, usize), ParseError> {
    let b = s.as_bytes();
    let mut nsp = "/";
    if b.get(i) == Some(&b'/') {
        let end = b[i..]
            .iter()
            .position(|&c| c == b',')
            .map_or(b.len(), |p| i + p);
        nsp = &s[i..end];
        i = (end + 1).min(b.len());
    }
    let mut id = None;
    let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 {
        // Parsed as an integer, never through a float: a decimal above
        // `MAX_ACK_ID` overflows and is refused.
        let v: u64 = s[i..i + digits]
            .parse()
            .map_err(|_| ParseError::InvalidAckId)?;
        id = Some(v);
        i += digits;
    }
    Ok((nsp, id, i))
}

/// A text EVENT read without building its JSON tree
/// ([`decode_event_raw`]).
#[derive(Debug, PartialEq)]
pub(crate) struct RawEvent<'a> {
    /// Namespace (borrowed from the text).
    pub(crate) nsp: &'a str,
    /// Ack id.
    pub(crate) id: Option<u64>,
    /// The event name (borrowed unless it has escapes).
    pub(crate) name: std::borrow::Cow<'a, str>,
    /// Where the payload array starts in the text.
    pub(crate) array_at: usize,
    /// Where its first argument starts, relative to the array; `None`
    /// without arguments.
    pub(crate) args_at: Option<usize>,
}

/// Reads `s` as a text EVENT (`2[/nsp,][id]["name",...]`) whose arguments
/// can stay JSON text: `Some` only for a packet that [`Packet::decode`]
/// accepts, and then the arguments parse into exactly the values that
/// [`Data`](crate::Data) would have held. Anything else (another type, a
/// placeholder key, a malformed or refused packet) is `None` and goes
/// through [`Packet::decode`], which gives its error.
///
/// The JSON is checked by the parser [`Packet::decode`] uses, with the same
/// limits (nesting, numbers in `f64` range), walking it without building
/// values.
pub(crate) fn decode_event_raw(s: &str) -> Option<RawEvent<'_>> {
    let b = s.as_bytes();
    if b.first() != Some(&b'2') {
        return None;
    }
    let (nsp, id, i) = nsp_and_id(s, 1).ok()?;
    let json = &b[i..];
    // `[`, the name's string, then `,` or `]`: where the arguments start.
    let ws = |j: usize| {
        j + json[j..]
            .iter()
            .take_while(|c| c.is_ascii_whitespace())
            .count()
    };
    let mut j = ws(0);
    if json.get(j) != Some(&b'[') {
        return None;
    }
    j = ws(j + 1);
    if json.get(j) != Some(&b'"') {
        return None;
    }
    j += 1;
    loop {
        match json.get(j)? {
            b'"' => break,
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    j = ws(j + 1);
    let args_at = match json.get(j) {
        Some(b',') => Some(j + 1),
        Some(b']') => None,
        _ => return None,
    };
    let name = match quick::event_name(&s[i..]) {
        Some(name) => std::borrow::Cow::Borrowed(name),
        None => {
            let mut de = serde_json::Deserializer::from_slice(json);
            let name = serde::Deserializer::deserialize_seq(&mut de, check::EventArray).ok()?;
            de.end().ok()?;
            name
        }
    };
    if RESERVED_EVENTS.contains(&&*name) {
        return None;
    }
    Some(RawEvent {
        nsp,
        id,
        name,
        array_at: i,
        args_at,
    })
}

/// The usual event text's check in one pass over its bytes, without the
/// JSON parser: the walk `check` makes, for the texts where it is sure to
/// agree with it, and `None` for everything else, which `check` then
/// decides (malformed text too: the general path gives its error). Sure
/// means: no escape in the name or in a key (their unescaped text is
/// what is compared), no `\u` escape of a surrogate, no exponent and at
/// most [`quick::MAX_DIGITS`] digits before a number's point (so no number
/// out of `f64` range), and at most [`quick::MAX_DEPTH`] levels of nesting
/// (under the parser's limit of 128).
mod quick {
    /// Most digits of a number's integer part taken here (`f64` ends past 309).
    pub(super) const MAX_DIGITS: usize = 300;
    /// Most levels of nesting taken here, the event's array included.
    pub(super) const MAX_DEPTH: u32 = 100;

    /// The name of the event array `json` (`["name",...]`, whitespace
    /// around), when it is sure to pass `check` with no `_placeholder`
    /// key; see the module.
    pub(super) fn event_name(json: &str) -> Option<&str> {
        let b = json.as_bytes();
        let mut i = ws(b, 0);
        if b.get(i) != Some(&b'[') {
            return None;
        }
        i = ws(b, i + 1);
        let (end, escaped) = string(b, i)?;
        if escaped {
            return None;
        }
        let name = json.get(i + 1..end - 1)?;
        // Bit `d` of `objects`: nesting level `d` is an object (level 0,
        // the event's array, is not).
        let (mut depth, mut objects) = (1u32, 0u128);
        i = end;
        let mut want_value = false;
        loop {
            i = ws(b, i);
            let c = *b.get(i)?;
            if want_value {
                want_value = false;
                match c {
                    b'[' | b'{' => {
                        if depth == MAX_DEPTH {
                            return None;
                        }
                        let object = c == b'{';
                        objects = (objects & !(1 << depth)) | (u128::from(object) << depth);
                        depth += 1;
                        i = ws(b, i + 1);
                        match (object, *b.get(i)?) {
                            (false, b']') | (true, b'}') => {
                                depth -= 1;
                                i += 1;
                            }
                            (false, _) => want_value = true,
                            (true, _) => {
                                i = key(b, i)?;
                                want_value = true;
                            }
                        }
                    }
                    b'"' => i = string(b, i)?.0,
                    b't' => i = literal(b, i, b"true")?,
                    b'f' => i = literal(b, i, b"false")?,
                    b'n' => i = literal(b, i, b"null")?,
                    b'-' | b'0'..=b'9' => i = number(b, i)?,
                    _ => return None,
                }
                continue;
            }
            let object = objects & (1 << (depth - 1)) != 0;
            match (c, object) {
                (b',', false) => {
                    i += 1;
                    want_value = true;
                }
                (b',', true) => {
                    i = key(b, ws(b, i + 1))?;
                    want_value = true;
                }
                (b']', false) | (b'}', true) => {
                    depth -= 1;
                    i += 1;
                    if depth == 0 {
                        return (ws(b, i) == b.len()).then_some(name);
                    }
                }
                _ => return None,
            }
        }
    }

    /// Past JSON whitespace from `i`.
    fn ws(b: &[u8], mut i: usize) -> usize {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = b.get(i) {
            i += 1;
        }
        i
    }

    /// An object key at `i` and its colon: past them. `None` for a key
    /// with an escape or `_placeholder`.
    fn key(b: &[u8], i: usize) -> Option<usize> {
        let (end, escaped) = string(b, i)?;
        if escaped || &b[i + 1..end - 1] == b"_placeholder" {
            return None;
        }
        let i = ws(b, end);
        (b.get(i) == Some(&b':')).then_some(i + 1)
    }

    /// A string at `i`: past its closing quote, and whether it has an
    /// escape. `None` for a control character, a bad escape, a `\u` of a
    /// surrogate or no closing quote.
    pub(super) fn string(b: &[u8], i: usize) -> Option<(usize, bool)> {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let mut j = i + 1;
        let mut escaped = false;
        loop {
            j = plain_run(b, j);
            match *b.get(j)? {
                b'"' => return Some((j + 1, escaped)),
                b'\\' => {
                    escaped = true;
                    j += match *b.get(j + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                        b'u' => {
                            let hex = std::str::from_utf8(b.get(j + 2..j + 6)?).ok()?;
                            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                                return None;
                            }
                            let unit = u16::from_str_radix(hex, 16).ok()?;
                            if (0xD800..=0xDFFF).contains(&unit) {
                                return None;
                            }
                            6
                        }
                        _ => return None,
                    };
                }
                0..=0x1F => return None,
                _ => j += 1,
            }
        }
    }

    /// Past the bytes from `j` on that need no look inside a string (not a
    /// quote, a backslash or a control character), eight at a time.
    fn plain_run(b: &[u8], mut j: usize) -> usize {
        const ONES: u64 = u64::from_ne_bytes([1; 8]);
        const HIGH: u64 = ONES << 7;
        // Whether a byte of `x` is zero / below `n` (`n` at most 0x80).
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
        let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
        while let Some(chunk) = b.get(j..j + 8) {
            let x = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
            if zero(x ^ (ONES * u64::from(b'"')))
                | zero(x ^ (ONES * u64::from(b'\\')))
                | below(x, 0x20)
                != 0
            {
                break;
            }
            j += 8;
        }
        j
    }

    /// `word` at `i`: past it.
    fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
        (b.get(i..i + word.len())? == word).then_some(i + word.len())
    }

    /// A number at `i` without an exponent: past it.
    fn number(b: &[u8], mut i: usize) -> Option<usize> {
        let digits = |b: &[u8], i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if b[i] == b'-' {
            i += 1;
        }
        match *b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                let n = digits(b, i);
                if n > MAX_DIGITS {
                    return None;
                }
                i += n;
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            let n = digits(b, i + 1);
            if n == 0 {
                return None;
            }
            i += 1 + n;
        }
        match b.get(i) {
            Some(b'e' | b'E') => None,
            _ => Some(i),
        }
    }
}

/// Walks JSON as a `Value` parse would, building nothing: refuses what it
/// refuses, and also any object with a `_placeholder` key (such a text
/// event is the general path's to judge).
mod check {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};

    /// An event's array: its name, then arguments that are checked.
    pub(super) struct EventArray;

    impl<'de> Visitor<'de> for EventArray {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an event array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let name = seq
                .next_element::<Name<'de>>()?
                .ok_or_else(|| A::Error::custom("no event name"))?;
            while seq.next_element::<Checked>()?.is_some() {}
            Ok(name.0)
        }
    }

    /// The event name: a string, borrowed when it has no escapes.
    struct Name<'a>(Cow<'a, str>);

    impl<'de> Deserialize<'de> for Name<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Name<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<Self::Value, E> {
                    Ok(Name(Cow::Borrowed(v)))
                }
                fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
                    Ok(Name(Cow::Owned(v.to_owned())))
                }
            }
            d.deserialize_str(V)
        }
    }

    /// Any JSON value, walked.
    struct Checked;

    impl<'de> Deserialize<'de> for Checked {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Checked)
        }
    }

    /// An object key, refused when it is `_placeholder`.
    struct Key;

    impl<'de> Deserialize<'de> for Key {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_str(Key)
        }
    }

    impl<'de> Visitor<'de> for Key {
        type Value = Key;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Key, E> {
            match v {
                "_placeholder" => Err(E::custom("placeholder key")),
                _ => Ok(Key),
            }
        }
    }

    impl<'de> Visitor<'de> for Checked {
        type Value = Checked;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E: Error>(self, _: bool) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_i64<E: Error>(self, _: i64) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_u64<E: Error>(self, _: u64) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_f64<E: Error>(self, _: f64) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_str<E: Error>(self, _: &str) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_unit<E: Error>(self) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
            while seq.next_element::<Checked>()?.is_some() {}
            Ok(Checked)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
            while map.next_key::<Key>()?.is_some() {
                map.next_value::<Checked>()?;
            }
            Ok(Checked)
        }
    }
}

fn payload_valid(ty: PacketType, data: Option<&Value>) -> bool {
    match ty {
        PacketType::Connect => data.is_none_or(Value::is_object),
        PacketType::Disconnect => data.is_none(),
        PacketType::ConnectError => data.is_some_and(|d| d.is_object() || d.is_string()),
        PacketType::Event | PacketType::BinaryEvent => match data {
            Some(Value::Array(a)) => match a.first() {
                Some(Value::String(name)) => !RESERVED_EVENTS.contains(&name.as_str()),
                _ => false,
            },
            _ => false,
        },
        PacketType::Ack | PacketType::BinaryAck => data.is_some_and(Value::is_array),
    }
}

/// Whether `v` is a placeholder object, and its index if well formed.
pub fn placeholder_index(v: &Value) -> Option<Result<usize, ParseError>> {
    let obj = v.as_object()?;
    if obj.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    Some(
        obj.get("num")
            .and_then(Value::as_u64)
            .filter(|_| obj.len() == 2)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(ParseError::InvalidPlaceholder),
    )
}

fn check_placeholders(v: &Value, count: usize) -> Result<(), ParseError> {
    if let Some(idx) = placeholder_index(v) {
        return match idx? {
            n if n < count => Ok(()),
            _ => Err(ParseError::InvalidPlaceholder),
        };
    }
    match v {
        Value::Array(a) => a.iter().try_for_each(|x| check_placeholders(x, count)),
        Value::Object(o) => o.values().try_for_each(|x| check_placeholders(x, count)),
        _ => Ok(()),
    }
}

/// A placeholder for attachment `num`.
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({ "_placeholder": true, "num": num })
}

/// A packet's text part, borrowed: what an answer or an emit encodes
/// without building a [`Packet`] (whose namespace is an owned `String`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    pub(crate) ty: PacketType,
    pub(crate) nsp: &'a str,
    pub(crate) id: Option<u64>,
    pub(crate) data: Option<&'a Value>,
    /// How many attachments follow (binary types only).
    pub(crate) attachments: usize,
}

impl Parts<'_> {
    /// Appends the text part to `out` (numbers and JSON included, with no
    /// formatting machinery in between).
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.ty.digit() as u8);
        if self.ty.is_binary() {
            push_decimal(out, self.attachments as u64);
            out.push(b'-');
        }
        encode_nsp_into(out, self.nsp);
        if let Some(id) = self.id {
            push_decimal(out, id);
        }
        if let Some(data) = self.data {
            // Serializing a Value into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, data);
        }
    }
}

impl Parts<'_> {
    /// Appends the text part of a JSON packet whose payload array is
    /// `[`, then `name` as a JSON string and a comma when given, then
    /// `rest`: the elements and closing bracket of a valid array, as
    /// [`Data`](crate::Data) keeps received arguments. `self.data` is not
    /// written.
    pub(crate) fn encode_array_into(&self, out: &mut Vec<u8>, name: Option<&str>, rest: &[u8]) {
        Parts {
            data: None,
            ..*self
        }
        .encode_into(out);
        out.push(b'[');
        if let Some(name) = name {
            // Serializing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, name);
            out.push(b',');
        }
        out.extend_from_slice(rest);
    }
}

/// A packet's namespace as it goes on the wire: nothing for `/`, else the
/// name and a comma.
pub(crate) fn encode_nsp_into(out: &mut Vec<u8>, nsp: &str) {
    if nsp != "/" && !nsp.is_empty() {
        out.extend_from_slice(nsp.as_bytes());
        out.push(b',');
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::Decoder;
    use serde_json::json;

    fn dec(s: &str) -> Result<Packet, ParseError> {
        Packet::decode(s, 10)
    }

    #[test]
    fn spec_examples() {
        let p = dec("0").unwrap();
        assert_eq!(
            (p.ty, p.nsp.as_str(), p.data),
            (PacketType::Connect, "/", None)
        );
        let p = dec("0/admin,{\"token\":\"123\"}").unwrap();
        assert_eq!(p.nsp, "/admin");
        assert_eq!(p.data, Some(json!({"token": "123"})));
        let p = dec("2[\"hello\",1]").unwrap();
        assert_eq!(p.data, Some(json!(["hello", 1])));
        let p = dec("2/admin,456[\"project:delete\",123]").unwrap();
        assert_eq!((p.nsp.as_str(), p.id), ("/admin", Some(456)));
        let p = dec("3/admin,456[]").unwrap();
        assert_eq!((p.ty, p.id), (PacketType::Ack, Some(456)));
        let p = dec("51-[\"hello\",{\"_placeholder\":true,\"num\":0}]").unwrap();
        assert_eq!((p.ty, p.expected), (PacketType::BinaryEvent, 1));
        let p = dec("61-/admin,456[{\"_placeholder\":true,\"num\":0}]").unwrap();
        assert_eq!(
            (p.ty, p.nsp.as_str(), p.id, p.expected),
            (PacketType::BinaryAck, "/admin", Some(456), 1)
        );
        let p = dec("1/admin,").unwrap();
        assert_eq!((p.ty, p.nsp.as_str()), (PacketType::Disconnect, "/admin"));
        // A CONNECT_ERROR with ack id 0 followed by non-JSON.
        assert_eq!(dec("40/custom").unwrap_err(), ParseError::InvalidPayload);
        assert_eq!(dec("0/custom").unwrap().nsp, "/custom");
    }

    #[test]
    fn rejection_rules() {
        let bad: &[(&str, ParseError)] = &[
            ("", ParseError::Empty),
            ("7", ParseError::UnknownType),
            ("abc", ParseError::UnknownType),
            ("0[]", ParseError::InvalidPayload),
            ("0\"x\"", ParseError::InvalidPayload),
            ("1{}", ParseError::InvalidPayload),
            ("2{}", ParseError::InvalidPayload),
            ("2[]", ParseError::InvalidPayload),
            ("2[1]", ParseError::InvalidPayload),
            ("2[\"connect\"]", ParseError::InvalidPayload),
            ("2[\"disconnecting\",1]", ParseError::InvalidPayload),
            ("2", ParseError::InvalidPayload),
            ("2abc[\"a\"]", ParseError::InvalidPayload),
            ("2[\"a\"", ParseError::InvalidPayload),
            ("3{}", ParseError::InvalidPayload),
            ("3", ParseError::InvalidPayload),
            ("299999999999999999999[\"a\"]", ParseError::InvalidAckId),
            // u64::MAX + 1, and far past it.
            ("218446744073709551616[\"a\"]", ParseError::InvalidAckId),
            ("3/a,18446744073709551616[]", ParseError::InvalidAckId),
            ("2100000000000000000000000[\"a\"]", ParseError::InvalidAckId),
            ("5[\"a\"]", ParseError::IllegalAttachments),
            ("5-[\"a\"]", ParseError::IllegalAttachments),
            ("5x-[\"a\"]", ParseError::IllegalAttachments),
            ("511-[\"a\"]", ParseError::TooManyAttachments { limit: 10 }),
            (
                "599999999999999999999-[\"a\"]",
                ParseError::IllegalAttachments,
            ),
        ];
        for (s, want) in bad {
            assert_eq!(dec(s).as_ref().err(), Some(want), "{s:?}");
        }
    }

    /// Ids past 2^53 (where a float loses digits) up to `u64::MAX` are
    /// kept exactly and encoded back digit for digit.
    #[test]
    fn large_ack_ids_round_trip_exactly() {
        for id in [
            (1u64 << 53) - 1,
            1 << 53,
            (1 << 53) + 1,
            (1 << 63) + 7,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let wire = format!("2{id}[\"a\"]");
            let p = dec(&wire).unwrap();
            assert_eq!(p.id, Some(id), "{wire}");
            assert_eq!(p.encode(), wire);
            let ack = Packet::ack("/admin", json!([1]), id, vec![]);
            assert_eq!(ack.encode(), format!("3/admin,{id}[1]"));
            assert_eq!(dec(&ack.encode()).unwrap().id, Some(id));
        }
        // Leading zeros are the same number, as in the reference.
        assert_eq!(
            dec("2018446744073709551615[\"a\"]").unwrap().id,
            Some(u64::MAX)
        );
    }

    #[test]
    fn non_ascii_never_panics() {
        for s in [
            "é",
            "2é",
            "5é-",
            "5-/é",
            "0/é",
            "2/a,é",
            "5\u{0}-[\"a\"]",
            "2/,",
        ] {
            let _ = dec(s);
        }
    }

    /// Fuzz regression (sio_packet): a float did not survive decode then
    /// encode (serde_json parsed it off by one ulp without `float_roundtrip`),
    /// so an echoed number differed from the client's.
    #[test]
    fn floats_survive_a_round_trip() {
        let wire = format!("4{{\"sage\":900712541094{}49}}", "4".repeat(78));
        let p = dec(&wire).unwrap();
        assert_eq!(dec(&p.encode()).unwrap().data, p.data);
        let p =
            dec("2[\"n\",0.1,1e-300,1.7976931348623157e308,5e-324,123456789.123456789]").unwrap();
        assert_eq!(dec(&p.encode()).unwrap().data, p.data);
    }

    #[test]
    fn placeholders_are_checked() {
        let mut p = Packet::event(
            "/",
            json!(["a", placeholder(0), {"x": [placeholder(1)]}]),
            None,
            vec![],
        );
        p.attachments = vec![Bytes::new(), Bytes::new()];
        assert!(p.check_placeholders().is_ok());
        p.attachments.pop();
        assert_eq!(p.check_placeholders(), Err(ParseError::InvalidPlaceholder));
        let p = Packet::event(
            "/",
            json!(["a", {"_placeholder": true, "num": "0"}]),
            None,
            vec![Bytes::new()],
        );
        assert_eq!(p.check_placeholders(), Err(ParseError::InvalidPlaceholder));
        let p = Packet::event(
            "/",
            json!(["a", {"_placeholder": true, "num": -1}]),
            None,
            vec![Bytes::new()],
        );
        assert_eq!(p.check_placeholders(), Err(ParseError::InvalidPlaceholder));
    }

    #[test]
    fn decimals_are_written_digit_by_digit() {
        for n in [0, 7, 10, 456, 1_000_000, u64::MAX] {
            let mut out = Vec::new();
            super::push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    #[test]
    fn encodes() {
        assert_eq!(
            Packet::new(PacketType::Connect, "/", Some(json!({"sid": "x"}))).encode(),
            "0{\"sid\":\"x\"}"
        );
        assert_eq!(
            Packet::new(
                PacketType::ConnectError,
                "/random",
                Some(json!({"message": "Invalid namespace"}))
            )
            .encode(),
            "4/random,{\"message\":\"Invalid namespace\"}"
        );
        assert_eq!(
            Packet::ack("/", json!([1]), 456, vec![]).encode(),
            "3456[1]"
        );
        let p = Packet::event(
            "/a",
            json!(["m", placeholder(0)]),
            Some(7),
            vec![Bytes::from_static(b"x")],
        );
        assert_eq!(
            p.encode(),
            "51-/a,7[\"m\",{\"_placeholder\":true,\"num\":0}]"
        );
        assert_eq!(Packet::new(PacketType::Disconnect, "/", None).encode(), "1");
    }

    #[test]
    fn round_trip_property() {
        use rand::Rng;
        let mut rng = rand::rng();
        let names = ["/", "/admin", "/a-b_c", "/é"];
        for _ in 0..3000 {
            let nsp = names[rng.random_range(0..names.len())];
            // Half small ids, half anywhere in u64 (mostly past 2^53).
            let id = rng.random_bool(0.5).then(|| match rng.random_bool(0.5) {
                true => rng.random_range(0..1000),
                false => rng.random::<u64>(),
            });
            let n = rng.random_range(0..4usize);
            let bins: Vec<Bytes> = (0..n).map(|i| Bytes::from(vec![i as u8; i])).collect();
            let mut args = vec![
                json!("ev"),
                json!(rng.random::<i32>()),
                json!({"k": [true, null, "s\u{1e}"]}),
            ];
            args.extend((0..n).map(placeholder));
            let p = match rng.random_range(0..5) {
                0 => Packet::event(nsp, Value::Array(args), id, bins),
                1 => Packet::ack(nsp, Value::Array(args), id.unwrap_or(1), bins),
                2 => Packet::new(
                    PacketType::Connect,
                    nsp,
                    rng.random_bool(0.5).then(|| json!({"t": 1})),
                ),
                3 => Packet::new(PacketType::Disconnect, nsp, None),
                _ => Packet::new(
                    PacketType::ConnectError,
                    nsp,
                    Some(json!({"message": "no"})),
                ),
            };
            let mut back = Packet::decode(&p.encode(), 10).unwrap();
            assert_eq!(back.expected, p.attachments.len());
            back.attachments = p.attachments.clone();
            back.expected = 0;
            assert_eq!(back, p);
        }
    }

    /// What the general path makes of an event text: name, id, namespace
    /// and arguments.
    fn general(s: &str) -> Option<(String, Option<u64>, String, Vec<Value>)> {
        let p = Decoder::default().decode_text(s).ok()??;
        let (name, data) = crate::data::Data::from_event(p.data, p.attachments)?;
        Some((name, p.id, p.nsp, data.args().to_vec()))
    }

    /// What `decode_event_raw` and the lazy `Data` make of it.
    fn raw(s: &str) -> Option<(String, Option<u64>, String, Vec<Value>)> {
        let ev = decode_event_raw(s)?;
        let array = Bytes::copy_from_slice(&s.as_bytes()[ev.array_at..]);
        let data = crate::data::Data::from_event_text(array, ev.args_at);
        Some((
            ev.name.into_owned(),
            ev.id,
            ev.nsp.to_owned(),
            data.args().to_vec(),
        ))
    }

    #[test]
    fn raw_events_read_as_the_general_path_does() {
        let kept = [
            r#"2["echo","abc"]"#,
            r#"2["e"]"#,
            r#"212["e",1,2.5,-3,true,false,null]"#,
            r#"2/chat,7["msg",{"a":[1,{"b":"c"}],"d":{}},[]]"#,
            "2 [ \"e\" , \"x\" ,\t{ \"k\" : [ ] } ] \n",
            r#"2["ünï","€",{"😀":"x"}]"#,
            r#"2["e","1e5"]"#,
            r#"2["e",{"placeholder":true,"num":0}]"#,
            r#"2["e","a\"b\\"]"#,
            r#"2["e\u0041\n"]"#,
            r#"2["e",1E5,1.5e-3,-0.0,1e-400]"#,
            "2[\"e\",[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
            "2[\"e\",1000000000000000000000000000000000000000000000000000000000000000000000]",
            r#"2["e",18446744073709551615,18446744073709551616,-9223372036854775808]"#,
        ];
        for s in kept {
            let s = s.replacen("2 [", "2[", 1);
            assert!(decode_event_raw(&s).is_some(), "not kept as text: {s}");
            assert_eq!(raw(&s), general(&s), "{s}");
        }
        let general_only = [
            r#"2["e",{"_placeholder":true,"num":0}]"#,
            r#"2["e",{"_placeholder":false}]"#,
            r#"2["e",[{"\u005fplaceholder":true,"num":0}]]"#,
            r#"2["e",1e400]"#,
            r#"2["e",-1e400]"#,
            r#"2["e\x"]"#,
            r#"2["e\"]"#,
            r#"2["e","\ud800"]"#,
            r#"2/chat["e"]"#,
            r#"2["connect"]"#,
            r#"2["disconnecting",1]"#,
            r#"2[1,"e"]"#,
            r#"2[]"#,
            r#"2"#,
            r#"2{"e":1}"#,
            r#"2["e",]"#,
            r#"2["e" "x"]"#,
            r#"2["e",1]x"#,
            r#"2["e",01]"#,
            "2[\"e\u{1}\"]",
            r#"299999999999999999999999["e"]"#,
            r#"3["e"]"#,
            r#"51-["e",{"_placeholder":true,"num":0}]"#,
        ];
        for s in general_only {
            assert_eq!(decode_event_raw(s), None, "kept as text: {s}");
        }
        // Where the general path accepts them, its arguments stand.
        assert_eq!(
            general(r#"2["e",{"_placeholder":false}]"#).unwrap().3,
            vec![json!({"_placeholder": false})]
        );
        assert_eq!(general("2[\"e\",1e400]"), None);
        let deep = format!("2[\"e\",{}1{}]", "[".repeat(200), "]".repeat(200));
        assert_eq!((decode_event_raw(&deep), general(&deep)), (None, None));
        let nested = format!("2[\"e\",{}1{}]", "[".repeat(100), "]".repeat(100));
        assert_eq!(raw(&nested), general(&nested));
        assert!(raw(&nested).is_some());
    }

    /// The serde walk's verdict on an event array: its name, or `None`.
    fn walked(json: &str) -> Option<String> {
        let mut de = serde_json::Deserializer::from_slice(json.as_bytes());
        let name = serde::Deserializer::deserialize_seq(&mut de, check::EventArray).ok()?;
        de.end().ok()?;
        Some(name.into_owned())
    }

    /// The one-pass walk never takes a text the serde walk refuses, and
    /// names what it takes as that walk does.
    fn agrees(json: &str) -> bool {
        let quick = quick::event_name(json);
        if let Some(name) = quick {
            assert_eq!(walked(json).as_deref(), Some(name), "{json:?}");
        }
        quick.is_some()
    }

    #[test]
    fn the_one_pass_walk_takes_the_usual_texts_and_agrees_with_the_parser() {
        let taken = [
            r#"["echo","abc"]"#,
            r#"["e"]"#,
            r#" [ "e" , 1 , -2.50 , 0 , -0 , true , false , null ] "#,
            r#"["msg",{"a":[1,{"b":"c"}],"d":{},"e":[]},[],"a\"b\\\/\b\f\n\r\t\u00e9"]"#,
            "[\"ünï\",\"€\",{\"😀\":\"x\"}]\n",
        ];
        for json in taken {
            assert!(agrees(json), "not taken: {json}");
        }
        let nested = format!("[\"e\",{}1{}]", "[".repeat(98), "]".repeat(98));
        assert!(agrees(&nested));
        let big = format!("[\"e\",{}.5]", "9".repeat(quick::MAX_DIGITS));
        assert!(agrees(&big));
        // Left to the parser: escapes in the name or a key, surrogate
        // escapes, exponents, long numbers, deep nesting, placeholders and
        // everything malformed.
        let left = [
            r#"["e\u0041"]"#,
            r#"["e",{"\u0041":1}]"#,
            r#"["e","\ud83d\ude00"]"#,
            r#"["e","\udc00"]"#,
            r#"["e",1e5]"#,
            r#"["e",1.5E-3]"#,
            r#"["e",{"_placeholder":true,"num":0}]"#,
            r#"["e",[{"a":{"_placeholder":false}}]]"#,
            r#"["e",01]"#,
            r#"["e",1.]"#,
            r#"["e",-]"#,
            r#"["e",.5]"#,
            r#"["e",+1]"#,
            r#"["e",tru]"#,
            r#"["e",nul]"#,
            r#"["e","\x"]"#,
            r#"["e","\u12"]"#,
            r#"["e","\u12G4"]"#,
            "[\"e\",\"a\u{1f}\"]",
            r#"["e",]"#,
            r#"["e",{"a"}]"#,
            r#"["e",{"a":}]"#,
            r#"["e",{,}]"#,
            r#"["e",{"a":1,}]"#,
            r#"["e",[1,]]"#,
            r#"["e",[1}]"#,
            r#"["e",{"a":1]]"#,
            r#"["e"]]"#,
            r#"["e"] x"#,
            r#"["e""#,
            r#"["e",1"#,
            "[\"e\"]\u{a0}",
            r#"[1,"e"]"#,
            r#"{"e":1}"#,
        ];
        for json in left {
            assert!(!agrees(json), "taken: {json}");
        }
        let long = format!("[\"e\",{}]", "9".repeat(quick::MAX_DIGITS + 1));
        let deep = format!("[\"e\",{}1{}]", "[".repeat(100), "]".repeat(100));
        assert!(!agrees(&long) && !agrees(&deep));
    }

    /// A string's quote, backslash or control character is found wherever
    /// it falls in the eight-byte steps, past any other byte.
    #[test]
    fn the_one_pass_walk_finds_a_strings_special_byte_at_every_offset() {
        for filler in ["a", " ", "\u{7f}", "é", "😀", "~"] {
            for before in 0..20 {
                let head = format!("\"{}", filler.repeat(before));
                let quoted = format!("{head}\"{}\"", filler.repeat(9));
                assert_eq!(quick_string(&quoted), Some((head.len() + 1, false)));
                let escaped = format!("{head}\\n{}\"", filler.repeat(9));
                assert_eq!(quick_string(&escaped), Some((escaped.len(), true)));
                for control in ["\u{0}", "\u{1}", "\u{1f}"] {
                    let bad = format!("{head}{control}{}\"", filler.repeat(9));
                    assert_eq!(quick_string(&bad), None, "{bad:?}");
                }
                assert_eq!(quick_string(&format!("{head}{}", filler.repeat(9))), None);
            }
        }
    }

    fn quick_string(s: &str) -> Option<(usize, bool)> {
        quick::string(s.as_bytes(), 0)
    }

    /// Texts of random tokens (a tenth of them well formed by chance or
    /// close to it): whatever the one-pass walk takes, the parser takes
    /// with the same name.
    #[test]
    fn the_one_pass_walk_agrees_with_the_parser_on_random_texts() {
        const TOKENS: &[&str] = &[
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            " ",
            "\t",
            "\"a\"",
            "\"_placeholder\"",
            "\"\\u0041\"",
            "\"\\ud800\"",
            "\"\\n\"",
            "\"\u{1}\"",
            "\"é\"",
            "\"",
            "\\",
            "1",
            "-0",
            "01",
            "1.5",
            "1.",
            "1e5",
            "-",
            "true",
            "tru",
            "null",
            "false",
            "\"e\"",
            "x",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut taken = 0;
        for _ in 0..50_000 {
            let mut json = String::from(["[\"e\",", "[\"e\"", "["][next() as usize % 3]);
            for _ in 0..next() % 12 {
                json.push_str(TOKENS[next() as usize % TOKENS.len()]);
            }
            if next() % 2 == 0 {
                json.push(']');
            }
            taken += usize::from(agrees(&json));
        }
        assert!(
            taken > 500,
            "only {taken} texts taken: the generator misses the fast path"
        );
    }

    #[test]
    fn raw_event_text_is_written_back_as_it_came() {
        let s = r#"2/chat,7["msg", {"a":[1,{"b":"c"}]} ,"x"]"#;
        let ev = decode_event_raw(s).unwrap();
        let array = Bytes::copy_from_slice(&s.as_bytes()[ev.array_at..]);
        let data = crate::data::Data::from_event_text(array, ev.args_at);
        let rest = data.args_text().unwrap();
        let parts = Parts {
            ty: PacketType::Ack,
            nsp: "/chat",
            id: Some(7),
            data: None,
            attachments: 0,
        };
        let mut out = Vec::new();
        parts.encode_array_into(&mut out, None, rest);
        assert_eq!(out, br#"3/chat,7[ {"a":[1,{"b":"c"}]} ,"x"]"#);
        let back = Packet::decode(std::str::from_utf8(&out).unwrap(), 10).unwrap();
        assert_eq!(back.data.unwrap(), json!([{"a":[1,{"b":"c"}]}, "x"]));
        out.clear();
        Parts {
            id: None,
            ty: PacketType::Event,
            ..parts
        }
        .encode_array_into(&mut out, Some("re\"ply"), rest);
        assert_eq!(out, br#"2/chat,["re\"ply", {"a":[1,{"b":"c"}]} ,"x"]"#);
        // With an attachment added, they go out as a binary packet.
        let mut attached = data.clone();
        let _ = attached.attach(Bytes::from_static(b"x"));
        assert_eq!(attached.args_text(), None);
        // Once changed, the arguments are values again.
        let mut changed = data.clone();
        changed.push(json!(3));
        assert_eq!(changed.args_text(), None);
        assert_eq!(changed.len(), 3);
        assert_eq!(data.len(), 2);
        assert_eq!(
            data,
            crate::data::Data::from(vec![json!({"a":[1,{"b":"c"}]}), json!("x")])
        );
    }
}
