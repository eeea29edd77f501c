//! The server's shared state: the live (run-time changeable) settings, the
//! limiters, metrics and monitoring. Locks here are held for a lookup or an
//! update, never across an await or a user callback.
//!
//! Holds data only: must not know the events, the API or the HTTP front
//! (the chat bookkeeping it holds is [`crate::chat`]'s type).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use std::future::Future;

use socketio::{AdapterError, SocketIo};

use crate::chat::Chat;
use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::dashboard::login::Logins;
use crate::dashboard::nodes::Nodes;
use crate::dashboard::recorder::{Record, Recorder};
use crate::identity::ServerRooms;
use crate::ipnet::IpList;
use crate::jwks::{Jwks, JwksSettings};
use crate::jwt::{Claims, JwtError, Verifier};
use crate::metrics::Metrics;
use crate::monitor::{unix_ms, Monitor};
use crate::rate_limit::{KeyedLimiter, Limit};
use crate::signing::NonceCache;

/// The settings in force, with the IP lists parsed.
#[derive(Debug)]
pub struct Live {
    /// The whole effective configuration.
    pub config: Config,
    /// Parsed `security.ip_allow`.
    pub allow: IpList,
    /// Parsed `security.ip_deny`.
    pub deny: IpList,
    /// Parsed `security.trusted_proxies`.
    pub trusted: IpList,
}

impl Live {
    /// Parses the lists of a validated config.
    pub fn new(config: Config) -> Result<Live, String> {
        let p = |l: &[String]| IpList::parse(l).map_err(|e| e.to_string());
        Ok(Live {
            allow: p(&config.security.ip_allow)?,
            deny: p(&config.security.ip_deny)?,
            trusted: p(&config.security.trusted_proxies)?,
            config,
        })
    }

    /// Whether every name shaped like a socket id is reserved (see
    /// [`crate::identity::sid_room_reserved`]): with recovery on (a
    /// disconnected socket may come back with its id) and with clustering
    /// on (the socket may be on another node, where this one cannot look).
    pub fn sid_rooms_reserved(&self) -> bool {
        self.config.connection.recovery_secs > 0 || self.config.redis.enabled
    }

    /// The rules of the server's own rooms under these settings.
    pub fn server_rooms(&self) -> ServerRooms<'_> {
        ServerRooms {
            user_prefixes: &self.config.events.reserved_room_prefixes,
            all_sids: self.sid_rooms_reserved(),
        }
    }

    /// Whether `ip` may connect under the allow and deny lists.
    pub fn ip_allowed(&self, ip: IpAddr) -> bool {
        !self.deny.contains(ip) && (self.allow.is_empty() || self.allow.contains(ip))
    }

    /// A per-minute limit of `max`, or `None` when limits are disabled.
    pub fn per_minute(&self, max: u32) -> Option<Limit> {
        self.config.rate_limits.enabled.then_some(Limit {
            max,
            per: Duration::from_secs(self.config.rate_limits.window_secs),
        })
    }
}

/// What [`State::bounded`] adds to `redis.requests_timeout_ms`: the
/// adapter's own steps before and after its wait.
pub const CLUSTER_SLACK: Duration = Duration::from_secs(1);

/// Everything the handlers share.
pub struct State {
    live: RwLock<Arc<Live>>,
    /// Token verification (the `auth` section; fixed at start).
    pub verifier: Verifier,
    /// The identity provider's keys, when `auth.jwks_url` is set.
    pub jwks: Option<Arc<Jwks>>,
    /// Metrics for `/metrics`.
    pub metrics: Metrics,
    /// Event statistics and log.
    pub monitor: Monitor,
    /// The dashboard's event log and history.
    pub dashboard: Recorder,
    /// The dashboard's logins with the `[admin_ui]` credentials.
    pub dashboard_logins: Logins,
    /// The other cluster nodes as the dashboard last heard of them.
    pub dashboard_nodes: Nodes,
    /// New connections per client IP.
    pub conn_limiter: Mutex<KeyedLimiter<IpAddr>>,
    /// API requests per valid key.
    pub api_limiter: Mutex<KeyedLimiter<String>>,
    /// API requests without a valid key, per client address (/64 for IPv6).
    pub api_ip_limiter: Mutex<KeyedLimiter<IpAddr>>,
    /// Nonces of signed API requests, one cache per key (a key's holder
    /// cannot burn another key's nonces).
    pub nonces: Mutex<HashMap<String, NonceCache>>,
    /// Presence and recent chat messages of the built-in events.
    pub chat: Mutex<Chat>,
    /// Serializes settings updates (read, patch, write).
    pub settings_update: Mutex<()>,
    /// The Socket.IO server.
    pub io: SocketIo,
    /// The cluster engine its adapters share, when `redis.enabled` or
    /// `postgres.enabled`.
    pub cluster: Option<Cluster>,
    /// The engines, one per engine path (`server.path`), once built; all
    /// feed [`State::io`].
    pub engines: OnceLock<Engines>,
    /// Started at (monotonic), for uptime.
    pub started: Instant,
    /// Started at (wall clock).
    pub started_at: SystemTime,
    /// The time the rate limiters read.
    pub clock: Clock,
    ready: AtomicBool,
    draining: AtomicBool,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

/// Locks a mutex, ignoring poisoning (the guarded data stays consistent:
/// every update is a single step).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    /// State for a validated `config` serving `io` (on `cluster`'s adapters
    /// when there is one).
    pub fn new(
        config: Config,
        io: SocketIo,
        cluster: Option<Cluster>,
    ) -> Result<Arc<State>, String> {
        State::with_clock(config, io, cluster, Clock::system())
    }

    /// [`State::new`] with the rate limiters on `clock`.
    pub fn with_clock(
        config: Config,
        io: SocketIo,
        cluster: Option<Cluster>,
        clock: Clock,
    ) -> Result<Arc<State>, String> {
        let a = &config.auth;
        let verifier = Verifier {
            secrets: a
                .jwt_secrets
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect(),
            algorithms: a.jwt_algorithms.clone(),
            leeway_secs: a.leeway_secs,
            max_token_len: a.max_token_len,
            require_exp: a.require_exp,
            issuers: a.issuer.clone(),
            audiences: a.audience.clone(),
        };
        let jwks = match &a.jwks_url {
            None => None,
            Some(url) => Some(Jwks::new(JwksSettings {
                url: url
                    .parse()
                    .map_err(|e| format!("auth.jwks_url `{url}`: {e}"))?,
                refresh: Duration::from_secs(a.jwks_refresh_secs),
                min_refresh: Duration::from_millis(a.jwks_min_refresh_ms),
                timeout: Duration::from_millis(a.jwks_timeout_ms),
                max_bytes: a.jwks_max_bytes,
                ca_file: a.jwks_ca_file.clone(),
            })?),
        };
        let keys = config.rate_limits.max_tracked_keys;
        let dashboard_logins = Logins::new(&config.admin_ui, &config.dashboard, keys);
        Ok(Arc::new(State {
            live: RwLock::new(Arc::new(Live::new(config)?)),
            verifier,
            jwks,
            metrics: Metrics::default(),
            monitor: Monitor::default(),
            dashboard: Recorder::default(),
            dashboard_logins,
            dashboard_nodes: Nodes::default(),
            conn_limiter: Mutex::new(KeyedLimiter::new(keys)),
            api_limiter: Mutex::new(KeyedLimiter::new(keys)),
            api_ip_limiter: Mutex::new(KeyedLimiter::new(keys)),
            nonces: Mutex::new(HashMap::new()),
            chat: Mutex::new(Chat::default()),
            settings_update: Mutex::new(()),
            io,
            cluster,
            engines: OnceLock::new(),
            started: Instant::now(),
            started_at: SystemTime::now(),
            clock,
            ready: AtomicBool::new(false),
            draining: AtomicBool::new(false),
        }))
    }

    /// Verifies a client's token now: the `auth` secrets, and the JWKS
    /// (refreshed when the token names an unknown key, rate-limited).
    pub async fn verify_token(&self, token: &str) -> Result<Claims, JwtError> {
        let now = crate::identity::now_secs();
        crate::jwks::verify(&self.verifier, self.jwks.as_ref(), token, now).await
    }

    /// The settings in force now.
    pub fn live(&self) -> Arc<Live> {
        self.live.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the run-time settings.
    pub fn set_live(&self, live: Live) {
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(live);
    }

    /// Ready for traffic (false while starting and draining).
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && !self.draining()
    }

    /// Marks the server ready.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Shutting down: new connections are refused.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Starts draining.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Whether the cluster engine (Redis, PostgreSQL) is reachable: `None`
    /// without clustering.
    pub fn cluster_connected(&self) -> Option<bool> {
        self.cluster.as_ref().map(|c| c.connected())
    }

    /// The cluster engine's name and whether it is reachable: `None`
    /// without clustering.
    pub fn cluster_state(&self) -> Option<(&'static str, bool)> {
        self.cluster.as_ref().map(|c| (c.engine(), c.connected()))
    }

    /// Runs a cluster operation (a request to the other servers through the
    /// adapter), waiting at most `redis.requests_timeout_ms` plus
    /// [`CLUSTER_SLACK`]: the adapter bounds its wait for the answers, this
    /// also bounds a Redis that takes commands but never runs them.
    pub async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, AdapterError>>,
    ) -> Result<T, AdapterError> {
        let ms = self.live().config.redis.requests_timeout_ms;
        let limit = Duration::from_millis(ms) + CLUSTER_SLACK;
        tokio::time::timeout(limit, op)
            .await
            .unwrap_or_else(|_| Err(AdapterError::Remote("redis did not answer in time".into())))
    }

    /// Adds what `r` makes to the dashboard's event log (keeping
    /// `dashboard.event_log` entries), when the dashboard is on; `r` is
    /// not called otherwise.
    pub fn dashboard_record<'a>(&self, live: &Live, r: impl FnOnce() -> Record<'a>) {
        let d = &live.config.dashboard;
        if d.enabled && d.event_log > 0 {
            self.dashboard
                .record(r(), unix_ms(SystemTime::now()), d.event_log);
        }
    }

    /// Engine.IO connections open now, on every engine path.
    pub fn connection_count(&self) -> usize {
        self.engines.get().map_or(0, Engines::session_count)
    }
}

/// The engines of the engine paths, each with its path.
#[derive(Debug, Clone, Default)]
pub struct Engines(Vec<(String, engineio::Engine)>);

impl Engines {
    /// The engines, in `server.path` order.
    pub fn new(engines: Vec<(String, engineio::Engine)>) -> Self {
        Engines(engines)
    }

    /// The engine serving `path` (its path, trailing slashes aside).
    pub fn for_path(&self, path: &str) -> Option<&engineio::Engine> {
        let p = path.trim_end_matches('/');
        self.0
            .iter()
            .find(|(c, _)| c.trim_end_matches('/') == p)
            .map(|(_, e)| e)
    }

    /// Every engine.
    pub fn iter(&self) -> impl Iterator<Item = &engineio::Engine> {
        self.0.iter().map(|(_, e)| e)
    }

    /// Sessions open now over every engine.
    pub fn session_count(&self) -> usize {
        self.iter().map(engineio::Engine::session_count).sum()
    }
}
