//! [`Str`]: cheaply clonable UTF-8 text backed by [`Bytes`].
//!
//! Owns the one invariant that text payloads are valid UTF-8, so the codec
//! can hand out slices of a received buffer without copying and a broadcast
//! can share one allocation between every recipient.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// Immutable UTF-8 text sharing its buffer on clone.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Str(Bytes);

impl Str {
    /// An empty string (no allocation).
    pub const fn new() -> Self {
        Str(Bytes::new())
    }

    /// A string referring to static text (no allocation).
    pub const fn from_static(s: &'static str) -> Self {
        Str(Bytes::from_static(s.as_bytes()))
    }

    /// Validates `bytes` as UTF-8 and wraps them without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Str(bytes))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // The constructor checked the bytes; the fallback never runs.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes (shares the buffer).
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Converts into the underlying bytes (shares the buffer).
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A sub-string sharing this buffer; `range` must fall on char boundaries.
    pub(crate) fn slice_from(&self, start: usize) -> Str {
        debug_assert!(self.as_str().is_char_boundary(start));
        Str(self.0.slice(start..))
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
        Str(Bytes::from(s))
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str(Bytes::copy_from_slice(s.as_bytes()))
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
}
