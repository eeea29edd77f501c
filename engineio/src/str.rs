//! [`Str`]: cheaply clonable UTF-8 text backed by [`Bytes`].
//!
//! Owns the one invariant that text payloads are valid UTF-8, so the codec
//! can hand out slices of a received buffer without copying and a broadcast
//! can share one allocation between every recipient. It must not depend on
//! any other module of the crate.

use std::fmt;
use std::ops::Deref;

use bytes::{Buf, Bytes};
use bytestring::ByteString;

/// Longest text [`Str::without_first_byte`] checks again rather than share
/// its buffer: checking this much ASCII costs less than the allocation.
const RECHECK_MAX: usize = 1024;

/// Immutable UTF-8 text sharing its buffer on clone.
///
/// Validated once on construction (the safe `bytestring` crate keeps the
/// proof), so reading it as `&str` costs nothing.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Str(ByteString);

impl Str {
    /// An empty string (no allocation).
    pub fn new() -> Self {
        Str(ByteString::new())
    }

    /// A string referring to static text (no allocation).
    pub fn from_static(s: &'static str) -> Self {
        Str(ByteString::from_static(s))
    }

    /// Validates `bytes` as UTF-8 and wraps them without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        ByteString::try_from(bytes).map(Str)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying bytes (shares the buffer).
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// Converts into the underlying bytes (shares the buffer).
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// The text after its first byte, which must be ASCII (a packet type);
    /// otherwise the result is empty (never a panic). A short text keeps
    /// its own buffer, checked again as UTF-8, rather than share it: a
    /// buffer fresh from a read is not shared yet, and sharing it would
    /// allocate a header for it; a long one is shared (no copy, no
    /// second check).
    pub(crate) fn without_first_byte(self) -> Str {
        if self.len() > RECHECK_MAX || !self.as_bytes().first().is_some_and(u8::is_ascii) {
            return self.slice_from(1);
        }
        let mut bytes = self.into_bytes();
        bytes.advance(1);
        Str::from_utf8(bytes).unwrap_or_default()
    }

    /// The text from byte `start` on, sharing this buffer. `start` must be a
    /// char boundary; otherwise the result is empty (never a panic).
    pub(crate) fn slice_from(&self, start: usize) -> Str {
        match self.0.get(start..) {
            Some(tail) => Str(self.0.slice_ref(tail)),
            None => Str::new(),
        }
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str(ByteString::from(s))
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str(ByteString::from(s))
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_invalid_utf8() {
        assert!(Str::from_utf8(Bytes::from_static(&[0xff, 0xfe])).is_err());
        assert_eq!(
            Str::from_utf8(Bytes::from_static("é".as_bytes())).unwrap(),
            "é"
        );
    }

    #[test]
    fn slice_shares_buffer() {
        let s = Str::from("4hello");
        let t = s.slice_from(1);
        assert_eq!(t, "hello");
        assert_eq!(t.as_bytes().as_ptr(), s.as_bytes()[1..].as_ptr());
    }

    #[test]
    fn without_first_byte_keeps_the_buffer() {
        let s = Str::from("4héllo");
        let at = s.as_bytes()[1..].as_ptr();
        let t = s.without_first_byte();
        assert_eq!(t, "héllo");
        assert_eq!(t.as_bytes().as_ptr(), at);
        let long = format!("4{}", "é".repeat(RECHECK_MAX));
        assert_eq!(Str::from(long.as_str()).without_first_byte(), long[1..]);
        assert_eq!(Str::from("é").without_first_byte(), "");
        assert_eq!(Str::new().without_first_byte(), "");
    }
}
