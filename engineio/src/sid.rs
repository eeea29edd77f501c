//! Session ids: 20 URL-safe characters from 15 random bytes (120 bits).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;

/// An Engine.IO session id: random, unguessable, URL-safe, 20 characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sid([u8; 20]);

/// Hashes the first 8 characters only (48 random bits): ids are hashed on
/// every broadcast delivery, and only ids the server generated are ever
/// inserted in its maps, so a peer cannot pick colliding keys.
impl std::hash::Hash for Sid {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut head = [0u8; 8];
        head.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_ne_bytes(head));
    }
}

impl Sid {
    /// Length in characters.
    pub const LEN: usize = 20;

    /// A new random id from the thread-local CSPRNG.
    pub fn random() -> Self {
        let mut raw = [0u8; 15];
        rand::rng().fill_bytes(&mut raw);
        let mut out = [0u8; 20];
        // 15 bytes encode to exactly 20 base64 characters, no padding.
        let n = URL_SAFE_NO_PAD
            .encode_slice(raw, &mut out)
            .unwrap_or_default();
        debug_assert_eq!(n, 20);
        Sid(out)
    }

    /// Parses an id received from a client; `None` unless it has the exact shape.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != Self::LEN
            || !b
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        {
            return None;
        }
        let mut out = [0u8; 20];
        out.copy_from_slice(b);
        Some(Sid(out))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only URL-safe ASCII is ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_url_safe_and_distinct() {
        let a = Sid::random();
        let b = Sid::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 20);
        assert_eq!(Sid::parse(a.as_str()), Some(a));
    }

    #[test]
    fn parse_rejects_bad_shapes() {
        assert_eq!(Sid::parse(""), None);
        assert_eq!(Sid::parse("abc"), None);
        assert_eq!(Sid::parse("aaaaaaaaaaaaaaaaaaa/"), None);
        assert_eq!(Sid::parse("aaaaaaaaaaaaaaaaaaaaa"), None);
        assert!(Sid::parse("aaaaaaaaaa-_aaaaaaaa").is_some());
    }
}
