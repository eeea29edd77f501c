//! HMAC-SHA256 signing of HTTP API requests, with replay protection.
//!
//! This module owns the request signature schemes (versions `v1` and `v2`), the order in
//! which a signed request's headers are checked, and the bounded cache of
//! recently seen nonces. It performs no I/O and reads no clock: the caller
//! passes the current time in Unix milliseconds and the header values.
//!
//! The signature is the lowercase hex HMAC-SHA256, keyed with the API key's
//! UTF-8 bytes, of `METHOD + PATH + TIMESTAMP + NONCE` concatenated without
//! separators: the method exactly as sent (HTTP methods are upper case), the
//! path without its query string, and the timestamp and nonce header values
//! exactly as sent.
//!
//! Version `v2` signs `METHOD \n PATH \n QUERY \n TIMESTAMP \n NONCE \n
//! BODY_SHA256` (newline-separated; `QUERY` the raw query string without
//! `?`, empty when none; `BODY_SHA256` the lowercase hex SHA-256 of the
//! body as sent, of nothing for a request without one), so that a signed
//! request cannot be replayed with another query or body.
//!
//! [`verify`] checks, in order: header presence (signature, version,
//! timestamp, nonce), version, timestamp syntax and window, nonce syntax,
//! signature (constant time), and only then nonce replay, so a request with a
//! forged signature can never insert a nonce into the cache.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Header carrying the request timestamp, decimal Unix milliseconds.
pub const HEADER_TIMESTAMP: &str = "x-request-timestamp";
/// Header carrying the single-use nonce.
pub const HEADER_NONCE: &str = "x-request-nonce";
/// Header carrying the signature scheme version (`v1`).
pub const HEADER_VERSION: &str = "x-signature-version";
/// Header carrying the hex signature.
pub const HEADER_SIGNATURE: &str = "x-signature";
/// The signature scheme over method, path, timestamp and nonce.
pub const VERSION_V1: &str = "v1";
/// The signature scheme that also covers the query string and the body.
pub const VERSION_V2: &str = "v2";

/// A signature scheme version; later ones cover more of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Version {
    /// [`VERSION_V1`].
    V1,
    /// [`VERSION_V2`].
    V2,
}

/// The parts of a request a signature covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestParts<'a> {
    /// The method as sent.
    pub method: &'a str,
    /// The path, without the query string.
    pub path: &'a str,
    /// The raw query string without `?` (`""` when none); `v2` only.
    pub query: &'a str,
    /// The body as sent; `v2` only.
    pub body: &'a [u8],
}

/// Longest accepted timestamp header value (`u64::MAX` has 20 digits).
const MAX_TIMESTAMP_LEN: usize = 20;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], method: &str, path: &str, timestamp: &str, nonce: &str) -> Option<HmacSha256> {
    // HMAC accepts keys of any length; `None` is unreachable in practice.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).ok()?;
    for part in [method, path, timestamp, nonce] {
        mac.update(part.as_bytes());
    }
    Some(mac)
}

fn mac_v2(key: &[u8], req: &RequestParts, timestamp: &str, nonce: &str) -> Option<HmacSha256> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).ok()?;
    let body = hex(&Sha256::digest(req.body));
    for part in [req.method, req.path, req.query, timestamp, nonce] {
        mac.update(part.as_bytes());
        mac.update(b"\n");
    }
    mac.update(body.as_bytes());
    Some(mac)
}

/// Lowercase hex HMAC-SHA256 under `key` of `parts`, concatenated without
/// separators (the signature the server puts on its own requests to an
/// application backend, see [`crate::gateway`]).
pub fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(key) else {
        return String::new();
    };
    for p in parts {
        mac.update(p);
    }
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Computes the `v2` signature of `req`: lowercase hex HMAC-SHA256 under
/// `key` (see the module docs for the signed string).
pub fn signature_v2(key: &[u8], req: &RequestParts, timestamp: &str, nonce: &str) -> String {
    mac_v2(key, req, timestamp, nonce).map_or_else(String::new, |m| hex(&m.finalize().into_bytes()))
}

/// Computes the `v1` signature: lowercase hex HMAC-SHA256 under `key` of
/// `method + path + timestamp + nonce`.
pub fn signature(key: &[u8], method: &str, path: &str, timestamp: &str, nonce: &str) -> String {
    let Some(mac) = mac(key, method, path, timestamp, nonce) else {
        return String::new();
    };
    hex(&mac.finalize().into_bytes())
}

/// The signing-related header values of one request, as sent (`None` when a
/// header is absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignedHeaders<'a> {
    /// Value of [`HEADER_TIMESTAMP`].
    pub timestamp: Option<&'a str>,
    /// Value of [`HEADER_NONCE`].
    pub nonce: Option<&'a str>,
    /// Value of [`HEADER_VERSION`].
    pub version: Option<&'a str>,
    /// Value of [`HEADER_SIGNATURE`].
    pub signature: Option<&'a str>,
}

/// Limits applied to signed requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningPolicy {
    /// Largest accepted difference between the request timestamp and now, in
    /// either direction, in milliseconds (inclusive).
    pub window_ms: u64,
    /// Longest accepted nonce, in bytes.
    pub max_nonce_len: usize,
}

impl Default for SigningPolicy {
    /// A five-minute window and 128-byte nonces.
    fn default() -> Self {
        Self {
            window_ms: 300_000,
            max_nonce_len: 128,
        }
    }
}

/// Recently seen nonces, bounded to a fixed number of entries.
///
/// An entry lives until `timestamp + window` (the last instant at which the
/// same signed request would still pass the timestamp check) and is dropped
/// once `now` is past that. When the cache is full after dropping expired
/// entries, new nonces are refused (fail closed) rather than growing the
/// cache or evicting live entries.
#[derive(Debug)]
pub struct NonceCache {
    capacity: usize,
    seen: HashSet<Arc<str>>,
    by_expiry: BTreeSet<(u64, Arc<str>)>,
}

impl NonceCache {
    /// Creates an empty cache holding at most `capacity` nonces; a capacity
    /// of 0 refuses every nonce.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seen: HashSet::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// Records `nonce`, sent with `timestamp_ms`, at `now_ms`. Returns `false`
    /// when the nonce is still remembered (a replay) or when the cache is full
    /// of unexpired entries.
    pub fn check_and_insert(
        &mut self,
        nonce: &str,
        timestamp_ms: u64,
        now_ms: u64,
        window_ms: u64,
    ) -> bool {
        self.evict_expired(now_ms);
        if self.seen.contains(nonce) {
            return false;
        }
        let expiry = timestamp_ms.saturating_add(window_ms);
        if expiry < now_ms {
            // Already outside the window: nothing to remember.
            return true;
        }
        if self.seen.len() >= self.capacity {
            return false;
        }
        let key: Arc<str> = Arc::from(nonce);
        self.seen.insert(Arc::clone(&key));
        self.by_expiry.insert((expiry, key));
        true
    }

    fn evict_expired(&mut self, now_ms: u64) {
        while let Some((expiry, _)) = self.by_expiry.first() {
            if *expiry >= now_ms {
                break;
            }
            if let Some((_, key)) = self.by_expiry.pop_first() {
                self.seen.remove(&key);
            }
        }
    }

    /// Number of nonces currently remembered (expired ones may still be
    /// counted until the next insertion attempt).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// The maximum number of nonces remembered at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Why a signed request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// A required header is absent; carries its name.
    Missing(&'static str),
    /// The version header is neither `v1` nor `v2`.
    UnsupportedVersion,
    /// The version is older than the one required (`v1` where `v2` is).
    VersionTooOld,
    /// The timestamp is not a decimal number of milliseconds.
    BadTimestamp,
    /// The timestamp is outside the accepted window (past or future).
    Expired,
    /// The nonce is empty, too long, or not visible ASCII.
    BadNonce,
    /// The nonce was already used within the window (or the nonce cache is
    /// full).
    Replayed,
    /// The signature is malformed or does not match.
    BadSignature,
}

impl SignatureError {
    /// A stable machine-readable code for clients and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing(_) => "SIGNATURE_REQUIRED",
            Self::UnsupportedVersion => "UNSUPPORTED_SIGNATURE_VERSION",
            Self::VersionTooOld => "SIGNATURE_V2_REQUIRED",
            Self::BadTimestamp => "INVALID_TIMESTAMP",
            Self::Expired => "SIGNATURE_EXPIRED",
            Self::BadNonce => "INVALID_NONCE",
            Self::Replayed => "NONCE_REUSED",
            Self::BadSignature => "INVALID_SIGNATURE",
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(name) => write!(f, "missing {name} header"),
            Self::UnsupportedVersion => f.write_str("unsupported signature version"),
            Self::VersionTooOld => f.write_str("signature version v2 required"),
            Self::BadTimestamp => f.write_str("invalid signature timestamp"),
            Self::Expired => f.write_str("signature timestamp outside the accepted window"),
            Self::BadNonce => f.write_str("invalid nonce"),
            Self::Replayed => f.write_str("nonce already used"),
            Self::BadSignature => f.write_str("invalid signature"),
        }
    }
}

impl std::error::Error for SignatureError {}

/// [`verify_request`] of a request without query string or body, taking
/// any version.
///
/// `method` is the request method as sent and `path` the request path
/// without its query string.
pub fn verify(
    key: &[u8],
    method: &str,
    path: &str,
    h: &SignedHeaders,
    policy: &SigningPolicy,
    now_ms: u64,
    nonces: &mut NonceCache,
) -> Result<(), SignatureError> {
    let req = RequestParts {
        method,
        path,
        query: "",
        body: b"",
    };
    verify_request(key, &req, h, policy, Version::V1, now_ms, nonces).map(|_| ())
}

/// Verifies a signed request at `now_ms` (Unix milliseconds), signed with
/// version `min` or later, and, only when everything else passed, records
/// its nonce in `nonces`. Returns the version it was signed with.
pub fn verify_request(
    key: &[u8],
    req: &RequestParts,
    h: &SignedHeaders,
    policy: &SigningPolicy,
    min: Version,
    now_ms: u64,
    nonces: &mut NonceCache,
) -> Result<Version, SignatureError> {
    let sig = h
        .signature
        .ok_or(SignatureError::Missing(HEADER_SIGNATURE))?;
    let version = h.version.ok_or(SignatureError::Missing(HEADER_VERSION))?;
    let timestamp = h
        .timestamp
        .ok_or(SignatureError::Missing(HEADER_TIMESTAMP))?;
    let nonce = h.nonce.ok_or(SignatureError::Missing(HEADER_NONCE))?;

    let version = match version {
        VERSION_V1 => Version::V1,
        VERSION_V2 => Version::V2,
        _ => return Err(SignatureError::UnsupportedVersion),
    };
    if version < min {
        return Err(SignatureError::VersionTooOld);
    }
    let ts = parse_timestamp(timestamp).ok_or(SignatureError::BadTimestamp)?;
    if ts.abs_diff(now_ms) > policy.window_ms {
        return Err(SignatureError::Expired);
    }
    let nonce_ok = !nonce.is_empty()
        && nonce.len() <= policy.max_nonce_len
        && nonce.bytes().all(|b| b.is_ascii_graphic());
    if !nonce_ok {
        return Err(SignatureError::BadNonce);
    }
    let tag = decode_hex(sig).ok_or(SignatureError::BadSignature)?;
    let mac = match version {
        Version::V1 => mac(key, req.method, req.path, timestamp, nonce),
        Version::V2 => mac_v2(key, req, timestamp, nonce),
    }
    .ok_or(SignatureError::BadSignature)?;
    if mac.verify_slice(&tag).is_err() {
        return Err(SignatureError::BadSignature);
    }
    if !nonces.check_and_insert(nonce, ts, now_ms, policy.window_ms) {
        return Err(SignatureError::Replayed);
    }
    Ok(version)
}

/// Parses 1 to 20 ASCII digits (no sign, no spaces) as a `u64`.
fn parse_timestamp(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > MAX_TIMESTAMP_LEN || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Decodes exactly 64 hex digits (either case) into 32 bytes.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    const LEN: usize = 32;
    if s.len() != LEN * 2 {
        return None;
    }
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    s.as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some((nibble(*hi)? << 4) | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::SignatureError::*;
    use super::*;

    const KEY: &[u8] = b"api-key-123";
    const NOW: u64 = 1_700_000_000_000;
    const WINDOW: u64 = 300_000;

    /// One request's header values, signed for `POST /api/emit`.
    struct Req {
        ts: String,
        nonce: String,
        version: String,
        sig: String,
    }

    impl Req {
        fn new(ts: u64, nonce: &str) -> Self {
            let (ts, nonce) = (ts.to_string(), nonce.to_string());
            let sig = signature(KEY, "POST", "/api/emit", &ts, &nonce);
            let version = VERSION_V1.to_string();
            Self {
                ts,
                nonce,
                version,
                sig,
            }
        }

        fn headers(&self) -> SignedHeaders<'_> {
            SignedHeaders {
                timestamp: Some(&self.ts),
                nonce: Some(&self.nonce),
                version: Some(&self.version),
                signature: Some(&self.sig),
            }
        }

        fn check(&self, now: u64, cache: &mut NonceCache) -> Result<(), SignatureError> {
            let p = SigningPolicy::default();
            verify(KEY, "POST", "/api/emit", &self.headers(), &p, now, cache)
        }
    }

    #[test]
    fn known_vector() {
        // HMAC-SHA256 test case 2 of RFC 4231, split across the four fields.
        let sig = signature(b"Jefe", "what do ya w", "ant ", "for ", "nothing?");
        let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(sig, want);
        // No separators: moving characters between fields keeps the MAC.
        assert_eq!(
            signature(b"Jefe", "what do ya want ", "", "for", " nothing?"),
            want
        );
    }

    #[test]
    fn v2_covers_query_and_body() {
        let req = RequestParts {
            method: "POST",
            path: "/api/push",
            query: "a=1",
            body: b"{\"x\":1}",
        };
        // The signed string, built by hand.
        let body_hash = hex(&Sha256::digest(req.body));
        let text = format!("POST\n/api/push\na=1\n{NOW}\nn-1\n{body_hash}");
        let mut m = <HmacSha256 as Mac>::new_from_slice(KEY).unwrap();
        m.update(text.as_bytes());
        let want = hex(&m.finalize().into_bytes());
        let ts = NOW.to_string();
        let sig = signature_v2(KEY, &req, &ts, "n-1");
        assert_eq!(sig, want);
        fn heads<'a>(ts: &'a str, nonce: &'a str, sig: &'a str) -> SignedHeaders<'a> {
            SignedHeaders {
                timestamp: Some(ts),
                nonce: Some(nonce),
                version: Some(VERSION_V2),
                signature: Some(sig),
            }
        }
        let h = |nonce, sig| heads(&ts, nonce, sig);
        let p = SigningPolicy::default();
        let mut cache = NonceCache::new(16);
        let other_body = RequestParts {
            body: b"{\"x\":2}",
            ..req
        };
        let other_query = RequestParts {
            query: "a=2",
            ..req
        };
        for r in [other_body, other_query] {
            let e = verify_request(KEY, &r, &h("n-1", &sig), &p, Version::V1, NOW, &mut cache);
            assert_eq!(e, Err(BadSignature));
        }
        assert!(cache.is_empty());
        let ok = verify_request(KEY, &req, &h("n-1", &sig), &p, Version::V2, NOW, &mut cache);
        assert_eq!(ok, Ok(Version::V2));
        // v1 where v2 is required, even correctly signed.
        let v1 = signature(KEY, "POST", "/api/push", &ts, "n-2");
        let mut h1 = h("n-2", &v1);
        h1.version = Some(VERSION_V1);
        let e = verify_request(KEY, &req, &h1, &p, Version::V2, NOW, &mut cache);
        assert_eq!(e, Err(VersionTooOld));
        assert_eq!(VersionTooOld.code(), "SIGNATURE_V2_REQUIRED");
        assert_eq!(
            verify_request(KEY, &req, &h1, &p, Version::V1, NOW, &mut cache),
            Ok(Version::V1)
        );
    }

    #[test]
    fn valid_request_and_case_insensitive_hex() {
        let mut cache = NonceCache::new(16);
        assert_eq!(Req::new(NOW, "n-1").check(NOW, &mut cache), Ok(()));
        assert_eq!(cache.len(), 1);
        let mut upper = Req::new(NOW, "n-2");
        upper.sig = upper.sig.to_uppercase();
        assert_eq!(upper.check(NOW, &mut cache), Ok(()));
    }

    #[test]
    fn missing_headers() {
        let mut cache = NonceCache::new(16);
        let (r, p) = (Req::new(NOW, "n"), SigningPolicy::default());
        type Remove = fn(&mut SignedHeaders);
        let cases: [(Remove, &str); 4] = [
            (|h| h.signature = None, HEADER_SIGNATURE),
            (|h| h.version = None, HEADER_VERSION),
            (|h| h.timestamp = None, HEADER_TIMESTAMP),
            (|h| h.nonce = None, HEADER_NONCE),
        ];
        for (remove, name) in cases {
            let mut h = r.headers();
            remove(&mut h);
            let e = verify(KEY, "POST", "/api/emit", &h, &p, NOW, &mut cache);
            assert_eq!(e, Err(Missing(name)));
            assert!(Missing(name).to_string().contains(name));
        }
        let none = SignedHeaders::default();
        let e = verify(KEY, "POST", "/", &none, &p, NOW, &mut cache);
        assert_eq!(e, Err(Missing(HEADER_SIGNATURE)));
        assert!(cache.is_empty());
    }

    #[test]
    fn version_must_be_v1_or_v2() {
        let mut cache = NonceCache::new(16);
        for v in ["v3", "V1", "V2", "", "v1 "] {
            let mut r = Req::new(NOW, "n");
            r.version = v.into();
            assert_eq!(r.check(NOW, &mut cache), Err(UnsupportedVersion), "{v:?}");
        }
        // A v1 signature sent as v2 does not verify.
        let mut r = Req::new(NOW, "n");
        r.version = "v2".into();
        assert_eq!(r.check(NOW, &mut cache), Err(BadSignature));
    }

    #[test]
    fn timestamp_syntax() {
        let mut cache = NonceCache::new(16);
        let bad = ["", "abc", "+1700000000000", "-1", " 1700000000000", "1.5"];
        let overflow = ["99999999999999999999", "123456789012345678901"];
        for ts in bad.into_iter().chain(overflow) {
            let mut r = Req::new(NOW, "n");
            r.ts = ts.into();
            r.sig = signature(KEY, "POST", "/api/emit", &r.ts, &r.nonce);
            assert_eq!(r.check(NOW, &mut cache), Err(BadTimestamp), "{ts:?}");
        }
        // Leading zeros are fine: the exact string is signed.
        let mut r = Req::new(NOW, "n0");
        r.ts = format!("0{NOW}");
        r.sig = signature(KEY, "POST", "/api/emit", &r.ts, &r.nonce);
        assert_eq!(r.check(NOW, &mut cache), Ok(()));
    }

    #[test]
    fn window_edges_both_directions() {
        let mut cache = NonceCache::new(16);
        assert_eq!(Req::new(NOW - WINDOW, "a").check(NOW, &mut cache), Ok(()));
        assert_eq!(Req::new(NOW + WINDOW, "b").check(NOW, &mut cache), Ok(()));
        assert_eq!(
            Req::new(NOW - WINDOW - 1, "c").check(NOW, &mut cache),
            Err(Expired)
        );
        assert_eq!(
            Req::new(NOW + WINDOW + 1, "d").check(NOW, &mut cache),
            Err(Expired)
        );
        // Extreme values do not overflow.
        assert_eq!(Req::new(0, "e").check(u64::MAX, &mut cache), Err(Expired));
        assert_eq!(Req::new(u64::MAX, "f").check(0, &mut cache), Err(Expired));
    }

    #[test]
    fn nonce_syntax() {
        let mut cache = NonceCache::new(16);
        let long = "x".repeat(129);
        for n in [
            "",
            "has space",
            "tab\t",
            "caf\u{e9}",
            "nl\n",
            "\u{7f}",
            &long,
        ] {
            assert_eq!(
                Req::new(NOW, n).check(NOW, &mut cache),
                Err(BadNonce),
                "{n:?}"
            );
        }
        assert_eq!(
            Req::new(NOW, &"x".repeat(128)).check(NOW, &mut cache),
            Ok(())
        );
        assert_eq!(Req::new(NOW, "!~{}").check(NOW, &mut cache), Ok(()));
    }

    #[test]
    fn bad_signatures() {
        let mut cache = NonceCache::new(16);
        let good = Req::new(NOW, "n").sig;
        let flipped = if good.starts_with('0') { "1" } else { "0" }.to_string() + &good[1..];
        let cases = [
            flipped,
            good[..62].to_string(),
            format!("{good}00"),
            format!("{}zz", &good[..62]),
            String::new(),
            "\u{e9}".repeat(32),
        ];
        for sig in cases {
            let mut r = Req::new(NOW, "n");
            r.sig = sig.clone();
            assert_eq!(r.check(NOW, &mut cache), Err(BadSignature), "{sig:?}");
        }
        // Any change to the signed fields or the key breaks the signature.
        let (r, p) = (Req::new(NOW, "n"), SigningPolicy::default());
        let h = r.headers();
        for (key, m, path) in [
            (KEY, "GET", "/api/emit"),
            (KEY, "post", "/api/emit"),
            (KEY, "POST", "/api/emit2"),
            (b"other".as_slice(), "POST", "/api/emit"),
        ] {
            let e = verify(key, m, path, &h, &p, NOW, &mut cache);
            assert_eq!(e, Err(BadSignature));
        }
        // Forged requests never touch the nonce cache.
        assert!(cache.is_empty());
        assert_eq!(r.check(NOW, &mut cache), Ok(()));
    }

    #[test]
    fn replay_refused_until_window_passes() {
        let mut cache = NonceCache::new(16);
        let r = Req::new(NOW, "once");
        assert_eq!(r.check(NOW, &mut cache), Ok(()));
        assert_eq!(r.check(NOW + 1, &mut cache), Err(Replayed));
        assert_eq!(r.check(NOW + WINDOW, &mut cache), Err(Replayed));
        // Past the window the old request fails on its timestamp instead.
        assert_eq!(r.check(NOW + WINDOW + 1, &mut cache), Err(Expired));
        // A fresh request may reuse the nonce once the old entry expired.
        let later = NOW + WINDOW + 1;
        assert_eq!(Req::new(later, "once").check(later, &mut cache), Ok(()));
    }

    #[test]
    fn cache_expiry_and_fail_closed() {
        let mut c = NonceCache::new(2);
        assert_eq!(c.capacity(), 2);
        assert!(c.check_and_insert("a", 100, 100, 10)); // expires at 110
        assert!(c.check_and_insert("b", 105, 105, 10)); // expires at 115
        assert!(!c.check_and_insert("a", 100, 106, 10)); // replay
        assert!(!c.check_and_insert("c", 106, 106, 10)); // full, nothing expired
        assert!(!c.check_and_insert("c", 106, 110, 10)); // "a" lives through 110
        assert!(c.check_and_insert("c", 106, 111, 10)); // "a" evicted
        assert!(!c.check_and_insert("a", 111, 111, 10)); // full again
        assert!(c.check_and_insert("a", 111, 116, 10)); // "b" evicted, "a" forgotten
        assert!(!c.check_and_insert("d", 111, 111, 10));
        assert_eq!(c.len(), 2);
        assert!(c.check_and_insert("e", 1000, 1000, 10)); // everything expired
        assert_eq!(c.len(), 1);
        // Out-of-order timestamps are evicted by expiry, not insertion order.
        let mut c = NonceCache::new(3);
        assert!(c.check_and_insert("late", 200, 150, 100)); // 300
        assert!(c.check_and_insert("early", 100, 150, 100)); // 200
        assert!(c.check_and_insert("x", 150, 201, 100)); // evicts "early"
        assert!(!c.check_and_insert("late", 200, 201, 100));
        // Already outside its window on arrival: accepted, not stored.
        assert!(c.check_and_insert("early", 100, 201, 100));
        assert_eq!(c.len(), 2);
        // Zero capacity refuses everything.
        let mut z = NonceCache::new(0);
        assert!(!z.check_and_insert("a", 0, 0, 10));
        assert!(!z.check_and_insert("a", 5, 5, 10));
        assert!(z.is_empty());
    }

    #[test]
    fn full_cache_refuses_signed_request() {
        let mut cache = NonceCache::new(1);
        assert_eq!(Req::new(NOW, "a").check(NOW, &mut cache), Ok(()));
        assert_eq!(Req::new(NOW, "b").check(NOW, &mut cache), Err(Replayed));
        let later = NOW + WINDOW + 1;
        assert_eq!(Req::new(later, "b").check(later, &mut cache), Ok(()));
    }

    #[test]
    fn errors_display_and_codes() {
        let all = [
            (Missing(HEADER_NONCE), "SIGNATURE_REQUIRED"),
            (UnsupportedVersion, "UNSUPPORTED_SIGNATURE_VERSION"),
            (BadTimestamp, "INVALID_TIMESTAMP"),
            (Expired, "SIGNATURE_EXPIRED"),
            (BadNonce, "INVALID_NONCE"),
            (Replayed, "NONCE_REUSED"),
            (BadSignature, "INVALID_SIGNATURE"),
        ];
        for (e, code) in all {
            let s = e.to_string();
            assert!(
                !s.is_empty() && !s.ends_with('.') && s == s.to_lowercase(),
                "{s}"
            );
            assert_eq!(e.code(), code);
        }
    }
}
