//! The Admin UI's authentication: basic credentials checked against a
//! bcrypt hash, and the session ids handed out on success (which the UI
//! sends back instead of the password when it reconnects).
//!
//! Pure: time comes from the caller, bcrypt runs on a thread of its own
//! (a check costs tens to hundreds of milliseconds of CPU; a runtime's
//! worker must not spend them), at most [`MAX_CHECKS`] at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_channel::oneshot;

use super::AdminError;
use crate::error::AdapterError;
use crate::runtime::BoxFuture;

/// Password checks running at once; more login attempts are refused
/// ("too many login attempts") rather than queued.
pub const MAX_CHECKS: usize = 4;

/// The username and the bcrypt hash of the password the UI must send.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hash is a secret of sorts: never printed.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Credentials with this username and the bcrypt hash (`$2a$`, `$2b$`,
    /// `$2x$` or `$2y$`) of the password; a hash that is not one is
    /// [`AdminError::BadHash`], an empty username [`AdminError::NoUsername`].
    pub fn new(username: impl Into<String>, hash: impl Into<String>) -> Result<Self, AdminError> {
        let (username, hash) = (username.into(), hash.into());
        if username.is_empty() {
            return Err(AdminError::NoUsername);
        }
        hash.parse::<bcrypt::HashParts>()
            .map_err(|_| AdminError::BadHash)?;
        Ok(Credentials { username, hash })
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }
}

/// Checks passwords against one [`Credentials`], a bounded number at once
/// ([`MAX_CHECKS`]), each on a thread of its own: usable from any async
/// runtime without blocking its workers (the server's dashboard login
/// shares it with the Admin UI's).
pub struct Checker {
    creds: Credentials,
    running: Arc<AtomicUsize>,
}

/// Why a login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginError {
    /// Wrong username or password.
    Invalid,
    /// [`MAX_CHECKS`] checks are running.
    Busy,
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LoginError::Invalid => "invalid username or password",
            LoginError::Busy => "too many login attempts",
        })
    }
}

impl std::error::Error for LoginError {}

impl Checker {
    /// A checker of passwords against `creds`.
    pub fn new(creds: Credentials) -> Self {
        Checker {
            creds,
            running: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Whether `username` and `password` match, checked on a thread of
    /// its own: [`LoginError::Invalid`] when not, [`LoginError::Busy`]
    /// (at once, nothing checked) while [`MAX_CHECKS`] checks are running.
    pub async fn check(&self, username: &str, password: String) -> Result<(), LoginError> {
        if username != self.creds.username {
            return Err(LoginError::Invalid);
        }
        if self.running.fetch_add(1, Ordering::AcqRel) >= MAX_CHECKS {
            self.running.fetch_sub(1, Ordering::AcqRel);
            return Err(LoginError::Busy);
        }
        let (tx, rx) = oneshot::channel();
        let hash = self.creds.hash.clone();
        let running = self.running.clone();
        let spawned = std::thread::Builder::new()
            .name("admin-bcrypt".into())
            .spawn(move || {
                let ok = bcrypt::verify(password, &hash).unwrap_or(false);
                running.fetch_sub(1, Ordering::AcqRel);
                let _ = tx.send(ok);
            });
        if spawned.is_err() {
            self.running.fetch_sub(1, Ordering::AcqRel);
            return Err(LoginError::Busy);
        }
        match rx.await {
            Ok(true) => Ok(()),
            _ => Err(LoginError::Invalid),
        }
    }
}

/// Session ids (or any secret tokens) handed out on login, each valid for
/// a time; at most `max` at once (the oldest goes first). Time comes from
/// the caller.
pub struct Sessions {
    ttl: Duration,
    max: usize,
    ids: Mutex<HashMap<String, Instant>>,
}

impl Sessions {
    /// Ids valid for `ttl` after their insertion, at most `max` (at least 1).
    pub fn new(ttl: Duration, max: usize) -> Self {
        Sessions {
            ttl,
            max: max.max(1),
            ids: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `id` until `now + ttl`.
    pub fn insert(&self, now: Instant, id: String) {
        let mut ids = self.lock();
        ids.retain(|_, until| *until > now);
        if ids.len() >= self.max {
            let oldest = ids.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                ids.remove(&k);
            }
        }
        ids.insert(id, now + self.ttl);
    }

    /// Whether `id` is a session id still valid at `now`.
    pub fn contains(&self, now: Instant, id: &str) -> bool {
        self.lock().get(id).is_some_and(|until| *until > now)
    }

    /// Forgets `id` (a logout); whether it was kept.
    pub fn remove(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    /// How long an id stays valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// Where the Admin UI's session ids are kept: the in-memory [`Sessions`]
/// by default, or one the nodes of a cluster share (the Redis store of
/// `socketio-redis`, keyed as `@socket.io/admin-ui`'s `RedisStore`), set
/// with [`AdminConfig::session_store`](super::AdminConfig::session_store).
/// `now` is the server runtime's time, for stores that keep time
/// themselves.
pub trait SessionStore: Send + Sync + 'static {
    /// Keeps `id` valid for `ttl` from `now`.
    fn save(&self, now: Instant, id: String, ttl: Duration) -> BoxFuture<Result<(), AdapterError>>;
    /// Whether `id` is valid at `now`.
    fn exists(&self, now: Instant, id: String) -> BoxFuture<Result<bool, AdapterError>>;
    /// Whether every node of the cluster reads the same store (then a new
    /// id is not sent to the other nodes). Default false.
    fn shared(&self) -> bool {
        false
    }
}

impl SessionStore for Sessions {
    fn save(
        &self,
        now: Instant,
        id: String,
        _ttl: Duration,
    ) -> BoxFuture<Result<(), AdapterError>> {
        self.insert(now, id);
        Box::pin(std::future::ready(Ok(())))
    }

    fn exists(&self, now: Instant, id: String) -> BoxFuture<Result<bool, AdapterError>> {
        Box::pin(std::future::ready(Ok(self.contains(now, &id))))
    }
}

/// Failed logins per client address in fixed windows: an address with
/// `max` failures in the current window is refused until the window ends.
/// At most `cap` addresses are tracked (expired ones go first, then the
/// oldest window).
pub(crate) struct Failures {
    max: u32,
    per: Duration,
    cap: usize,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Failures {
    /// `max` failures per `per` (0: no limit), at most `cap` addresses.
    pub(crate) fn new(max: u32, per: Duration, cap: usize) -> Self {
        Failures {
            max,
            per,
            cap: cap.max(1),
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `ip` has used up its failures at `now`.
    pub(crate) fn blocked(&self, now: Instant, ip: IpAddr) -> bool {
        let ip = key(ip);
        self.max > 0
            && self
                .lock()
                .get(&ip)
                .is_some_and(|(start, n)| now < *start + self.per && *n >= self.max)
    }

    /// Counts a failure of `ip` at `now`.
    pub(crate) fn fail(&self, now: Instant, ip: IpAddr) {
        if self.max == 0 {
            return;
        }
        let (per, ip) = (self.per, key(ip));
        let mut seen = self.lock();
        if !seen.contains_key(&ip) && seen.len() >= self.cap {
            seen.retain(|_, (start, _)| now < *start + per);
            if seen.len() >= self.cap {
                let oldest = seen.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| *k);
                if let Some(k) = oldest {
                    seen.remove(&k);
                }
            }
        }
        let e = seen.entry(ip).or_insert((now, 0));
        if now >= e.0 + per {
            *e = (now, 0);
        }
        e.1 = e.1.saturating_add(1);
    }
}

/// The address failures are counted under: an IPv4 address (also mapped
/// in IPv6) as is, an IPv6 one by its /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// A fresh session id: 16 hex digits, as the reference's.
pub(crate) fn session_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // bcrypt of "secret" at cost 4 (the lowest: fast tests).
    const HASH: &str = "$2a$04$02HPE/21Z1L2otbVBYk6.eSPDWraCLpJfiR3sI1DYNvs.DOHhGrC.";

    #[test]
    fn credentials_need_a_username_and_a_bcrypt_hash() {
        assert!(Credentials::new("admin", HASH).is_ok());
        assert_eq!(
            Credentials::new("", HASH).err(),
            Some(AdminError::NoUsername)
        );
        for bad in ["", "secret", "$2b$04$short", "$1$abc$def"] {
            assert_eq!(
                Credentials::new("admin", bad).err(),
                Some(AdminError::BadHash),
                "{bad}"
            );
        }
    }

    #[test]
    fn checks_the_password_off_thread() {
        let checker = Checker::new(Credentials::new("admin", HASH).unwrap());
        let run = |u: &str, p: &str| futures_executor(checker.check(u, p.to_owned()));
        assert_eq!(run("admin", "secret"), Ok(()));
        assert_eq!(run("admin", "wrong"), Err(LoginError::Invalid));
        assert_eq!(run("root", "secret"), Err(LoginError::Invalid));
    }

    /// Runs `f` on this thread, parking while it waits (the check's
    /// thread answers through a channel).
    fn futures_executor<F: std::future::Future>(f: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = std::task::Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }

    #[test]
    fn failures_block_an_address_for_the_window() {
        let t0 = Instant::now();
        let (a, b) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
        let f = Failures::new(2, Duration::from_secs(60), 1);
        f.fail(t0, a);
        assert!(!f.blocked(t0, a));
        f.fail(t0, a);
        assert!(f.blocked(t0 + Duration::from_secs(59), a));
        assert!(!f.blocked(t0, b));
        assert!(!f.blocked(t0 + Duration::from_secs(60), a));
        // Capped: b's failure evicts a.
        f.fail(t0, b);
        f.fail(t0, b);
        assert!(f.blocked(t0, b));
        assert!(!f.blocked(t0, a));
        let off = Failures::new(0, Duration::from_secs(60), 1);
        off.fail(t0, a);
        assert!(!off.blocked(t0, a));
    }

    #[test]
    fn ipv6_counts_by_64_and_ipv4_exactly() {
        let t0 = Instant::now();
        let f = Failures::new(2, Duration::from_secs(60), 100);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        f.fail(t0, ip("2001:db8:1:2::1"));
        f.fail(t0, ip("2001:db8:1:2:ffff::9"));
        assert!(f.blocked(t0, ip("2001:db8:1:2::abcd")), "same /64");
        assert!(!f.blocked(t0, ip("2001:db8:1:3::1")), "next /64");
        f.fail(t0, ip("10.0.0.1"));
        f.fail(t0, ip("10.0.0.2"));
        assert!(!f.blocked(t0, ip("10.0.0.1")), "IPv4 exactly");
        f.fail(t0, ip("::ffff:10.0.0.1"));
        assert!(f.blocked(t0, ip("10.0.0.1")), "mapped is the IPv4 address");
    }

    #[test]
    fn sessions_expire_and_are_capped() {
        let t0 = Instant::now();
        let s = Sessions::new(Duration::from_secs(10), 2);
        s.insert(t0, "a".into());
        assert!(s.contains(t0 + Duration::from_secs(9), "a"));
        assert!(!s.contains(t0 + Duration::from_secs(10), "a"));
        assert!(!s.contains(t0, "b"));
        s.insert(t0 + Duration::from_secs(1), "b".into());
        s.insert(t0 + Duration::from_secs(2), "c".into());
        assert!(
            !s.contains(t0 + Duration::from_secs(2), "a"),
            "oldest evicted"
        );
        assert!(s.contains(t0 + Duration::from_secs(2), "b"));
        assert!(s.contains(t0 + Duration::from_secs(2), "c"));
        assert!(s.remove("c"));
        assert!(!s.remove("c"));
        assert!(!s.contains(t0 + Duration::from_secs(2), "c"));
        assert_eq!(session_id().len(), 16);
    }
}
