//! The signing algorithms of JWS `alg` headers (RFC 7518): their names,
//! and the HMAC ones' tags. Public-key signatures are [`crate::jwk`]'s.
//! Pure: no I/O, no clock.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};

/// A signing algorithm accepted in the JWS `alg` header.
/// Its serde form (`auth.jwt_algorithms`) is the `alg` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Algorithm {
    /// HMAC with SHA-256 (`"HS256"`).
    Hs256,
    /// HMAC with SHA-384 (`"HS384"`).
    Hs384,
    /// HMAC with SHA-512 (`"HS512"`).
    Hs512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`"RS256"`).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (`"RS384"`).
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (`"RS512"`).
    Rs512,
    /// ECDSA on P-256 with SHA-256 (`"ES256"`).
    Es256,
    /// ECDSA on P-384 with SHA-384 (`"ES384"`).
    Es384,
    /// Ed25519 (`"EdDSA"`, RFC 8037).
    EdDsa,
}

impl Algorithm {
    /// Every `alg` value accepted, in order.
    pub const NAMES: &'static [&'static str] = &[
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA",
    ];

    const ALL: [Algorithm; 9] = [
        Self::Hs256,
        Self::Hs384,
        Self::Hs512,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Es256,
        Self::Es384,
        Self::EdDsa,
    ];

    /// Parses a JWS `alg` value; the match is exact and case-sensitive
    /// (one of [`Self::NAMES`]), as RFC 7515 requires.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The JWS `alg` value of this algorithm, e.g. `"HS256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Whether this is an HMAC algorithm (a shared secret, not a key pair).
    pub fn is_hmac(self) -> bool {
        matches!(self, Self::Hs256 | Self::Hs384 | Self::Hs512)
    }

    /// The HMAC tag; empty (never verifying) for public-key algorithms.
    pub(crate) fn mac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Self::Hs256 => mac_bytes::<Hmac<Sha256>>(key, data),
            Self::Hs384 => mac_bytes::<Hmac<Sha384>>(key, data),
            Self::Hs512 => mac_bytes::<Hmac<Sha512>>(key, data),
            _ => Vec::new(),
        }
    }

    pub(crate) fn verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        match self {
            Self::Hs256 => mac_verify::<Hmac<Sha256>>(key, data, tag),
            Self::Hs384 => mac_verify::<Hmac<Sha384>>(key, data, tag),
            Self::Hs512 => mac_verify::<Hmac<Sha512>>(key, data, tag),
            _ => false,
        }
    }
}

fn mac_bytes<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so the error arm is unreachable in
    // practice; it yields an empty (never verifying) tag rather than a panic.
    match <M as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn mac_verify<M: Mac + KeyInit>(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    match <M as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.verify_slice(tag).is_ok()
        }
        Err(_) => false,
    }
}

impl TryFrom<String> for Algorithm {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Algorithm::parse(&s).ok_or_else(|| format!("unsupported algorithm `{s}`"))
    }
}

impl From<Algorithm> for &'static str {
    fn from(a: Algorithm) -> &'static str {
        a.as_str()
    }
}
