//! Session ids: 20 URL-safe characters from 15 random bytes (120 bits),
//! and the maps and sets keyed by them. Pure: it must not depend on any
//! other module of the crate.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher};

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

/// Builds [`SidHasher`]s: the hasher for maps and sets keyed by [`Sid`].
///
/// A sid's hash input is already 48 random bits, so mixing them once
/// (a folded 64x64-bit multiply) spreads them well and costs a few
/// instructions where SipHash, std's default, costs about fifty. Keys must
/// be ids the server generated (every map of this workspace that uses it
/// only inserts those): keys a peer picks could collide on purpose.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuildSidHasher;

impl BuildHasher for BuildSidHasher {
    type Hasher = SidHasher;
    fn build_hasher(&self) -> SidHasher {
        SidHasher(0)
    }
}

/// The hasher of [`BuildSidHasher`].
#[derive(Clone, Copy, Debug)]
pub struct SidHasher(u64);

impl SidHasher {
    fn mix(&mut self, x: u64) {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let p = u128::from(self.0 ^ x) * u128::from(K);
        self.0 = (p as u64) ^ ((p >> 64) as u64);
    }
}

impl Hasher for SidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `Sid` (it writes one u64); correct for anything else.
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(b) ^ chunk.len() as u64);
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.mix(x);
    }
}

/// A map keyed by [`Sid`], hashed with [`BuildSidHasher`].
pub type SidMap<V> = HashMap<Sid, V, BuildSidHasher>;

/// Open sessions by id, at most `cap` of them, behind a short-lived std
/// lock (never held across an await or a handler call): the registry a
/// driver keeps of its sessions' handles. Runtime-free, so every driver
/// shares it.
#[derive(Debug)]
pub struct Sessions<T> {
    cap: usize,
    map: std::sync::Mutex<SidMap<T>>,
}

impl<T: Clone> Sessions<T> {
    /// An empty registry taking at most `cap` sessions.
    pub fn new(cap: usize) -> Self {
        Sessions {
            cap,
            map: std::sync::Mutex::new(SidMap::default()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, SidMap<T>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session with this id.
    pub fn lookup(&self, sid: &Sid) -> Option<T> {
        self.map().get(sid).cloned()
    }

    /// Every session.
    pub fn all(&self) -> Vec<T> {
        self.map().values().cloned().collect()
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }

    /// Registers `value` as `sid` unless the cap is reached (then `false`).
    pub fn register(&self, sid: Sid, value: T) -> bool {
        let mut map = self.map();
        if map.len() >= self.cap {
            return false;
        }
        map.insert(sid, value);
        true
    }

    /// Forgets `sid`.
    pub fn unregister(&self, sid: Sid) {
        self.map().remove(&sid);
    }
}

/// A set of [`Sid`]s, hashed with [`BuildSidHasher`].
pub type SidSet = HashSet<Sid, BuildSidHasher>;

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
    fn sessions_stop_at_their_cap() {
        let reg = Sessions::new(2);
        let (a, b, c) = (Sid::random(), Sid::random(), Sid::random());
        assert!(reg.register(a, 1) && reg.register(b, 2));
        assert!(!reg.register(c, 3), "over the cap");
        assert_eq!((reg.len(), reg.lookup(&c)), (2, None));
        reg.unregister(a);
        assert!(reg.register(c, 3));
        let mut all = reg.all();
        all.sort();
        assert_eq!((all, reg.lookup(&a)), (vec![2, 3], None));
    }

    #[test]
    fn sid_maps_find_every_key_and_spread_the_low_and_high_bits() {
        let ids: Vec<Sid> = (0..4096).map(|_| Sid::random()).collect();
        let mut map = SidMap::default();
        for (i, id) in ids.iter().enumerate() {
            map.insert(*id, i);
        }
        assert!(ids
            .iter()
            .enumerate()
            .all(|(i, id)| map.get(id) == Some(&i)));
        // hashbrown indexes buckets with the low bits and tags with the top
        // 7: both must spread (4096 keys over 64 values: 64 each on average).
        let hashes: Vec<u64> = ids.iter().map(|id| BuildSidHasher.hash_one(id)).collect();
        for shift in [0u32, 57] {
            let mut counts = [0u32; 64];
            for h in &hashes {
                counts[((h >> shift) & 63) as usize] += 1;
            }
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(*lo > 20 && *hi < 120, "shift {shift}: {counts:?}");
        }
        // Other inputs hash too (not used by Sid), length included.
        let h = |b: &[u8]| {
            let mut s = BuildSidHasher.build_hasher();
            s.write(b);
            s.finish()
        };
        assert_ne!(h(b"ab"), h(b"ab\0"));
    }

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
