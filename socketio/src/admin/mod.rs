//! The server side of the official Admin UI (`@socket.io/admin-ui` 0.5,
//! <https://admin.socket.io>): [`instrument`] a server and point the UI at
//! it (`admin` feature).
//!
//! The UI connects to one namespace (`/admin` by default), authenticates
//! with `auth: {username, password}` (checked against a bcrypt hash) or
//! with the session id a previous login handed it, and then gets:
//! `config` (the features it may use), `all_sockets`, `server_stats`
//! every 2 s (with the aggregated counts of connections, packets and
//! bytes), and live `socket_connected`, `socket_updated` (an upgrade, or
//! new data through [`Socket::set_data`](crate::Socket::set_data)), `socket_disconnected`,
//! `room_joined`, `room_left`, `event_received` and `event_sent`. Unless
//! read-only, it may send `emit`, `join`, `leave` and `_disconnect`, each
//! aimed at a namespace and optionally a room (or socket id).
//!
//! With a cluster adapter everything goes through it: the admin
//! namespace's events reach UIs connected to any node, `all_sockets`
//! lists every node's sockets, commands apply cluster-wide, and session
//! ids are shared with the other nodes: sent to them (`server_side_emit`;
//! a node that starts later knows only the ids handed out after it
//! joined), or kept in a [`SessionStore`] they all read (the Redis one of
//! `socketio-redis`, which `@socket.io/admin-ui`'s `RedisStore` shares).
//!
//! This module owns the admin namespace's handlers and an [`Observer`](crate::Observer);
//! it reaches the rest of the server only through public operations
//! (namespaces, broadcast operators, the adapter). Runtime-free: its
//! timer runs on the server's [`Runtime`](crate::Runtime).

mod auth;
mod commands;
mod events;
mod serialize;
mod stats;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use auth::{Checker, Credentials, LoginError, SessionStore, Sessions, MAX_CHECKS};
pub use events::hostname;
pub use serialize::date as iso_date;

use crate::server::SocketIo;

/// The namespace the UI connects to by default.
pub const DEFAULT_NAMESPACE: &str = "/admin";
/// How often `server_stats` goes out by default (the reference's 2 s).
pub const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(2);
/// How long a session id stays valid by default (a day, as the
/// reference's Redis store).
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(86_400);
/// Most session ids kept at once by default (the oldest goes first).
pub const DEFAULT_MAX_SESSIONS: usize = 1_000;
/// Failed logins a client address may make per minute by default; then
/// its logins are refused ("too many failed logins") until the minute
/// ends.
pub const DEFAULT_LOGIN_FAILURES_PER_MINUTE: u32 = 5;
/// Client addresses whose failed logins are tracked at once.
pub const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// How the Admin UI is served. Start from [`AdminConfig::new`].
#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub(crate) namespace: String,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) read_only: bool,
    pub(crate) server_id: Option<String>,
    pub(crate) all_events: bool,
    pub(crate) stats_interval: Duration,
    pub(crate) session_ttl: Duration,
    pub(crate) max_sessions: usize,
    pub(crate) login_failures_per_minute: u32,
    pub(crate) session_store: Option<Store>,
    pub(crate) on_refused: Option<Refused>,
}

/// The callback told of each refused login.
#[derive(Clone)]
pub(crate) struct Refused(pub(crate) Arc<dyn Fn(&str) + Send + Sync>);

impl fmt::Debug for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("on_refused")
    }
}

/// The reasons [`AdminConfig::on_refused`] is called with.
pub mod refusal {
    /// Wrong username or password.
    pub const INVALID_CREDENTIALS: &str = "ADMIN_INVALID_CREDENTIALS";
    /// The address (its /64 for IPv6) used up its failed logins.
    pub const TOO_MANY_FAILURES: &str = "ADMIN_TOO_MANY_FAILURES";
    /// [`MAX_CHECKS`](super::MAX_CHECKS) password checks were running.
    pub const BUSY: &str = "ADMIN_BUSY";
}

/// A [`SessionStore`] in the config (printed as its presence only).
#[derive(Clone)]
pub(crate) struct Store(pub(crate) Arc<dyn SessionStore>);

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionStore")
    }
}

impl AdminConfig {
    /// The UI logs in with `credentials`; `None` lets anyone in (the
    /// reference's `auth: false`: only behind other protection).
    /// Defaults: namespace [`DEFAULT_NAMESPACE`], not read-only, server id
    /// the host name, every event shown, stats every
    /// [`DEFAULT_STATS_INTERVAL`], sessions valid [`DEFAULT_SESSION_TTL`],
    /// at most [`DEFAULT_MAX_SESSIONS`].
    pub fn new(credentials: Option<Credentials>) -> Self {
        AdminConfig {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            credentials,
            read_only: false,
            server_id: None,
            all_events: true,
            stats_interval: DEFAULT_STATS_INTERVAL,
            session_ttl: DEFAULT_SESSION_TTL,
            max_sessions: DEFAULT_MAX_SESSIONS,
            login_failures_per_minute: DEFAULT_LOGIN_FAILURES_PER_MINUTE,
            session_store: None,
            on_refused: None,
        }
    }

    /// The admin namespace (a leading `/` is added if missing).
    pub fn namespace(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.namespace = if name.starts_with('/') {
            name
        } else {
            format!("/{name}")
        };
        self
    }

    /// Failed logins per client address per minute (default
    /// [`DEFAULT_LOGIN_FAILURES_PER_MINUTE`]; 0: no limit); IPv6
    /// addresses count by /64 (one host usually holds a whole /64), IPv4
    /// ones exactly. Beyond, the
    /// address's logins are refused before the password is checked until
    /// the minute ends; a login without an address (another runtime's
    /// connection) is not limited.
    pub fn login_failures_per_minute(mut self, max: u32) -> Self {
        self.login_failures_per_minute = max;
        self
    }

    /// With `true`, the UI only watches: no `emit`, `join`, `leave` or
    /// `_disconnect`.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The id this node shows in the UI's server list (default the host
    /// name; give each node of a cluster on one host its own).
    pub fn server_id(mut self, id: impl Into<String>) -> Self {
        self.server_id = Some(id.into());
        self
    }

    /// With `false` (the reference's production mode), the UI gets only
    /// the aggregated counts, no socket list nor live events: cheaper on
    /// a busy server.
    pub fn all_events(mut self, all: bool) -> Self {
        self.all_events = all;
        self
    }

    /// How often `server_stats` goes out.
    pub fn stats_interval(mut self, every: Duration) -> Self {
        self.stats_interval = every.max(Duration::from_millis(10));
        self
    }

    /// How long a session id stays valid.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// Keeps session ids in `store` instead of this node's memory (a
    /// [`Sessions`] of [`AdminConfig::session_ttl`] and
    /// [`AdminConfig::max_sessions`] by default). With a
    /// [shared](SessionStore::shared) store, a node started after a login
    /// accepts its session id.
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.session_store = Some(Store(store));
        self
    }

    /// Calls `f` with a [`refusal`] code each time a login is refused
    /// (for metrics); called with no lock held, it must be quick.
    pub fn on_refused(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.on_refused = Some(Refused(Arc::new(f)));
        self
    }

    /// Most session ids kept at once.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max;
        self
    }
}

/// Why the Admin UI cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdminError {
    /// The password hash is not a bcrypt hash.
    BadHash,
    /// The credentials have an empty username.
    NoUsername,
    /// The server has an [`Observer`](crate::Observer) already (one per
    /// server: it was instrumented before).
    AlreadyObserved,
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AdminError::BadHash => "the admin password hash is not a valid bcrypt hash",
            AdminError::NoUsername => "the admin username is empty",
            AdminError::AlreadyObserved => "the server already has an observer",
        })
    }
}

impl std::error::Error for AdminError {}

/// A server serving the Admin UI. Dropping it changes nothing: the UI is
/// served as long as the server runs.
#[derive(Clone)]
pub struct Admin(Arc<events::Inner>);

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("namespace", &self.namespace())
            .finish()
    }
}

impl Admin {
    /// The admin namespace's name.
    pub fn namespace(&self) -> &str {
        &self.0.config.namespace
    }
}

/// Serves the Admin UI on `io`: sets up the admin namespace (its
/// authentication and handlers), attaches the server's
/// [`Observer`](crate::Observer) and starts the stats timer.
pub fn instrument(io: &SocketIo, config: AdminConfig) -> Result<Admin, AdminError> {
    let inner = events::Inner::new(io, config);
    io.observe(Arc::new(events::Watch(inner.clone())))
        .map_err(|_| AdminError::AlreadyObserved)?;
    events::install(io, &inner);
    Ok(Admin(inner))
}
