//! The dashboard's second way in: the `[admin_ui]` username and password
//! exchanged for a short-lived login token (`POST /api/dashboard/login`),
//! which the page then sends as `Authorization: Bearer`.
//!
//! Owns the password checker (`socketio::admin::Checker`: bcrypt on a
//! thread of its own, at most `socketio::admin::MAX_CHECKS` at once), the
//! tokens (random, 256 bits, in memory, each valid `dashboard.session_ttl_secs`,
//! at most `dashboard.max_sessions`) and the failed-login limit per client
//! address (`dashboard.login_failures_per_minute`). Time comes from the
//! caller; must not read the settings or the server state (the routes that
//! use it are the API's).

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use socketio::admin::{Checker, LoginError, Sessions};

use crate::config::{AdminUiSection, DashboardSection};
use crate::rate_limit::{limit_key, KeyedLimiter, Limit};

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Logins are off (`[admin_ui]` disabled or without credentials).
    Unavailable,
    /// Too many failed logins from this address: retry after this long.
    Limited(Duration),
    /// Too many password checks running: retry shortly.
    Busy,
    /// Wrong username or password.
    Invalid,
}

/// Dashboard logins with the `[admin_ui]` credentials.
pub struct Logins {
    checker: Option<Checker>,
    read_only: bool,
    tokens: Sessions,
    failures: Mutex<KeyedLimiter<IpAddr>>,
    failure_limit: Limit,
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logins")
            .field("available", &self.available())
            .finish_non_exhaustive()
    }
}

impl Logins {
    /// Logins for these sections (fixed at start: `[admin_ui]` and
    /// `[dashboard]` are not run-time settings), tracking failures of at
    /// most `max_addresses` client addresses.
    pub fn new(ui: &AdminUiSection, d: &DashboardSection, max_addresses: usize) -> Self {
        let checker = if ui.enabled && d.enabled {
            ui.credentials().ok().map(Checker::new)
        } else {
            None
        };
        Logins {
            checker,
            read_only: ui.read_only,
            tokens: Sessions::new(Duration::from_secs(d.session_ttl_secs), d.max_sessions),
            failures: Mutex::new(KeyedLimiter::new(max_addresses)),
            failure_limit: Limit::new(d.login_failures_per_minute, Duration::from_secs(60)),
        }
    }

    /// Whether logins are on (`[admin_ui]` enabled with credentials).
    pub fn available(&self) -> bool {
        self.checker.is_some()
    }

    /// Whether a token only reads (`admin_ui.read_only`): the dashboard's
    /// test actions are refused.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The failure counts (poisoning ignored: each update is one step).
    fn failures(&self) -> std::sync::MutexGuard<'_, KeyedLimiter<IpAddr>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long a token stays valid.
    pub fn ttl(&self) -> Duration {
        self.tokens.ttl()
    }

    /// A fresh token for `username` and `password` from `ip` at `now`.
    /// Only failures count against the address's limit; the check is
    /// refused before bcrypt runs once the limit is reached.
    pub async fn login(
        &self,
        ip: IpAddr,
        username: &str,
        password: String,
        now: Instant,
    ) -> Result<String, Refused> {
        let checker = self.checker.as_ref().ok_or(Refused::Unavailable)?;
        let key = limit_key(ip);
        self.failures()
            .allows(&key, self.failure_limit, now)
            .map_err(Refused::Limited)?;
        match checker.check(username, password).await {
            Ok(()) => {
                let token = token();
                self.tokens.insert(now, token.clone());
                Ok(token)
            }
            Err(LoginError::Busy) => Err(Refused::Busy),
            Err(_) => {
                // Counted after the check: the limit is in failures.
                let _ = self.failures().check(&key, self.failure_limit, now);
                Err(Refused::Invalid)
            }
        }
    }

    /// Whether `token` is a token still valid at `now`.
    pub fn valid(&self, now: Instant, token: &str) -> bool {
        self.available() && self.tokens.contains(now, token)
    }

    /// Revokes `token` (a logout); whether it was valid.
    pub fn logout(&self, token: &str) -> bool {
        self.tokens.remove(token)
    }
}

/// A fresh login token: 32 random bytes, hex.
fn token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // bcrypt of "secret" at cost 4.
    const HASH: &str = "$2a$04$02HPE/21Z1L2otbVBYk6.eSPDWraCLpJfiR3sI1DYNvs.DOHhGrC.";
    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn logins(enabled: bool) -> Logins {
        let ui = AdminUiSection {
            enabled,
            username: "admin".into(),
            password_hash: HASH.into(),
            ..AdminUiSection::default()
        };
        let d = DashboardSection {
            login_failures_per_minute: 2,
            ..DashboardSection::default()
        };
        Logins::new(&ui, &d, 10)
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_login_answers_a_token_that_expires_and_logs_out() {
        let l = logins(true);
        let t0 = Instant::now();
        let t = block(l.login(IP, "admin", "secret".into(), t0)).unwrap();
        assert_eq!(t.len(), 64);
        assert!(l.valid(t0 + Duration::from_secs(3599), &t));
        assert!(!l.valid(t0 + Duration::from_secs(3600), &t));
        assert!(!l.valid(t0, "other"));
        assert!(l.logout(&t));
        assert!(!l.valid(t0, &t));
    }

    #[test]
    fn failures_are_limited_per_address() {
        let l = logins(true);
        let t0 = Instant::now();
        for _ in 0..2 {
            let r = block(l.login(IP, "admin", "wrong".into(), t0));
            assert_eq!(r, Err(Refused::Invalid));
        }
        let r = block(l.login(IP, "admin", "secret".into(), t0));
        assert!(matches!(r, Err(Refused::Limited(_))), "{r:?}");
        let later = t0 + Duration::from_secs(121);
        assert!(block(l.login(IP, "admin", "secret".into(), later)).is_ok());
    }

    #[test]
    fn disabled_it_refuses_everything() {
        let l = logins(false);
        assert!(!l.available());
        let r = block(l.login(IP, "admin", "secret".into(), Instant::now()));
        assert_eq!(r, Err(Refused::Unavailable));
    }
}
