//! Process lifecycle: logging, joining the Redis or PostgreSQL cluster (when
//! enabled),
//! binding, serving, and the graceful shutdown on SIGTERM/SIGINT (refuse
//! new connections, mark not ready, notify clients, drain, close, leave
//! Redis).
//!
//! Owns the process's order of steps; must not answer requests or events.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use socketio_postgres::{PostgresAdapterConfig, PostgresCluster};
use socketio_redis::{RedisAdapterConfig, RedisCluster, SubscriptionMode};

use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::config::{Config, LogFormat, LogLevel, RedisAdapterKind, RedisSubscriptionMode};
use crate::state::State;

/// Installs the tracing subscriber for `config.log` (stderr).
pub fn init_logging(config: &Config) {
    let level = match config.log.level {
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Trace => tracing::Level::TRACE,
    };
    let b = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if config.log.format == LogFormat::Json {
        b.json().try_init()
    } else {
        b.with_ansi(false)
            .fmt_fields(crate::logfmt::PlainFields)
            .try_init()
    };
}

/// A bound, ready-to-run server.
pub struct Server {
    /// Shared state (settings, metrics, the Socket.IO server).
    pub state: Arc<State>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Server {
    /// Builds the Socket.IO server and binds the listener.
    pub async fn bind(config: Config) -> Result<Server, String> {
        Server::bind_with_clock(config, Clock::system()).await
    }

    /// [`Server::bind`] with the rate limiters on `clock` (tests pass a
    /// manual one).
    pub async fn bind_with_clock(config: Config, clock: Clock) -> Result<Server, String> {
        check(&config)?;
        let tls = match (&config.server.tls_cert, &config.server.tls_key) {
            (Some(c), Some(k)) => Some(crate::http::tls_acceptor(c, k)?),
            _ => None,
        };
        let addr = format!("{}:{}", config.server.host, config.server.port);
        let listener = listen(&addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        // Validation lets at most one engine be enabled.
        let cluster = match connect_redis(&config).await? {
            Some(c) => Some(c),
            None => connect_postgres(&config).await?,
        };
        let io = crate::app::socketio(&config, cluster.as_ref().map(Cluster::factory));
        let state = State::with_clock(config, io, cluster, clock)?;
        crate::app::install(&state);
        crate::api::serve_node_info(&state);
        if let Some(jwks) = &state.jwks {
            jwks.spawn();
        }
        Ok(Server {
            state,
            listener,
            tls,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` resolves, then shuts down gracefully.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        let Server {
            state,
            listener,
            tls,
        } = self;
        let live = state.live();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let addr = listener.local_addr();
        let (tx, rx) = watch::channel(false);
        let serving = tokio::spawn(crate::http::serve(state.clone(), listener, tls, rx));
        let sampler = tokio::spawn(sample_dashboard(state.clone()));
        // Ready before the "listening" line: whoever waits for that line may
        // probe /ready at once.
        state.set_ready();
        if let Ok(a) = addr {
            let paths: Vec<&str> = live.config.server.path.iter().collect();
            tracing::info!(
                "listening on {scheme}://{a}{} (health: /health, metrics: /metrics, API: /api/)",
                paths.join(&format!(", {scheme}://{a}"))
            );
        }
        for line in startup_summary(&live.config) {
            tracing::info!("{line}");
        }
        stop.await;
        // Stop accepting first: the listening port is free at once for the
        // next process, while the connections already open drain.
        let _ = tx.send(true);
        let _ = serving.await;
        sampler.abort();
        shutdown(&state).await;
    }
}

/// What is live, one line each: API keys, JWT secrets, CORS origins, the
/// cluster, the dashboard (counts and names only, never a secret).
pub fn startup_summary(c: &Config) -> Vec<String> {
    let api = &c.api;
    let keys = match (api.keys.len(), api.admin_keys.len()) {
        _ if !api.enabled => "HTTP API: off (api.enabled = false)".to_owned(),
        (0, 0) => "API keys: none, so every /api request is refused; set api.keys (e.g. SOCKETIO_SERVER_API__KEYS='[\"<16+ chars>\"]')".to_owned(),
        (k, a) => format!("API keys: {k} key(s), {a} admin key(s); signatures {}", match api.require_signature {
            crate::config::RequireSignature::No => "checked when sent",
            crate::config::RequireSignature::V2 => "required (v2)",
            _ => "required",
        }),
    };
    let auth = &c.auth;
    let algs: Vec<&str> = auth.jwt_algorithms.iter().map(|a| a.as_str()).collect();
    let jwt = match auth.jwt_secrets.len() {
        0 if auth.jwks_url.is_some() => format!(
            "JWT: keys of the JWKS at {} ({}); authentication {}",
            auth.jwks_url.as_deref().unwrap_or_default(),
            algs.join(", "),
            if auth.require_authentication { "required" } else { "optional" }
        ),
        0 => "JWT secrets: none, so tokens are refused and sockets connect anonymously; set auth.jwt_secrets to accept tokens (and sign them with gen-token)".to_owned(),
        n => format!(
            "JWT secrets: {n} ({}){}; authentication {}",
            algs.join(", "),
            auth.jwks_url.as_deref().map_or(String::new(), |u| format!(", and the JWKS at {u}")),
            if auth.require_authentication { "required" } else { "optional" }
        ),
    };
    let origins = match c.cors.origins.as_slice() {
        [] => "CORS origins: none (pages of this host and non-browser clients only)".to_owned(),
        o if o.iter().any(|x| x == "*") => "CORS origins: any (*)".to_owned(),
        o => format!("CORS origins: {}", o.join(", ")),
    };
    let cluster = if c.redis.enabled {
        format!(
            "cluster: Redis {} adapter at {} (key prefix {})",
            c.redis.adapter.as_str(),
            c.masked().redis.url,
            c.redis.key_prefix
        )
    } else if c.postgres.enabled {
        format!(
            "cluster: PostgreSQL at {} (channel prefix {}, table {})",
            c.masked().postgres.url,
            c.postgres.channel_prefix,
            c.postgres.table_name
        )
    } else {
        "cluster: off (a single node)".to_owned()
    };
    let dashboard = match (c.dashboard.enabled, c.api.enabled, c.api.admin_keys.len()) {
        (false, _, _) => "dashboard: off (dashboard.enabled = false)".to_owned(),
        (true, false, _) => "dashboard: /dashboard, but its data needs the HTTP API (api.enabled)".to_owned(),
        (true, true, 0) => "dashboard: /dashboard, but no admin key can sign in (set api.admin_keys)".to_owned(),
        (true, true, _) => format!(
            "dashboard: /dashboard (sign in with an admin key; event log {} entries, history {} samples every {} s)",
            c.dashboard.event_log, c.dashboard.history, c.dashboard.sample_secs
        ),
    };
    vec![keys, jwt, origins, cluster, dashboard]
}

/// The checks of a validated config that need the HTTP API's routes: an
/// engine path must not be one of them.
pub fn check(config: &Config) -> Result<(), String> {
    config
        .check_engine_paths(crate::api::route_paths())
        .map_err(|e| format!("invalid config: {e}"))
}

/// Joins the Redis cluster when `redis.enabled`. A Redis that is down is
/// not an error (the connections retry with backoff and local clients are
/// served meanwhile); a URL the client cannot use is. Logs which it is, and
/// spawns the task that logs each change of the connection's state.
async fn connect_redis(config: &Config) -> Result<Option<Cluster>, String> {
    let r = &config.redis;
    if !r.enabled {
        return Ok(None);
    }
    let masked = config.masked().redis.url;
    let mut adapter = RedisAdapterConfig::default()
        .key(r.key_prefix.clone())
        .requests_timeout(Duration::from_millis(r.requests_timeout_ms));
    match r.adapter {
        RedisAdapterKind::Sharded => {
            adapter = adapter.sharded(match r.subscription_mode {
                RedisSubscriptionMode::Static => SubscriptionMode::Static,
                _ => SubscriptionMode::Dynamic,
            });
        }
        RedisAdapterKind::Streams => {
            adapter = adapter
                .streams(r.stream_name.clone())
                .max_len(r.max_len)
                .read_count(r.read_count)
                .stream_count(r.stream_count)
                .sharded_pub_sub(r.use_sharded_pub_sub)
                .block_time(Duration::from_millis(r.block_time_ms))
                .session_key_prefix(r.session_key_prefix.clone());
        }
        _ => {}
    }
    let cluster = RedisCluster::connect(&r.url, adapter)
        .await
        .map_err(|e| format!("redis.url {masked}: {e}"))?;
    if cluster.connected() {
        tracing::info!(url = %masked, key_prefix = %r.key_prefix, "redis connected: clustering on");
    } else {
        tracing::warn!(url = %masked, "redis unreachable: serving local clients only, retrying with backoff");
    }
    let weak = Arc::downgrade(&cluster);
    tokio::spawn(watch_engine("redis", masked, move || {
        weak.upgrade().map(|c| c.connected())
    }));
    Ok(Some(Cluster::Redis(cluster)))
}

/// Joins the PostgreSQL cluster when `postgres.enabled`. As for Redis, a
/// database that is down is not an error; a URL or table name that cannot
/// be used is.
async fn connect_postgres(config: &Config) -> Result<Option<Cluster>, String> {
    let p = &config.postgres;
    if !p.enabled {
        return Ok(None);
    }
    let masked = config.masked().postgres.url;
    let adapter = PostgresAdapterConfig::default()
        .channel_prefix(p.channel_prefix.clone())
        .table_name(p.table_name.clone())
        .payload_threshold(p.payload_threshold);
    let cluster = PostgresCluster::connect(&p.url, adapter)
        .await
        .map_err(|e| format!("postgres.url {masked}: {e}"))?;
    if cluster.connected() {
        tracing::info!(url = %masked, channel_prefix = %p.channel_prefix, "postgres connected: clustering on");
    } else {
        tracing::warn!(url = %masked, "postgres unreachable: serving local clients only, retrying with backoff");
    }
    let weak = Arc::downgrade(&cluster);
    tokio::spawn(watch_engine("postgres", masked, move || {
        weak.upgrade().map(|c| c.connected())
    }));
    Ok(Some(Cluster::Postgres(cluster)))
}

/// Logs each change of a cluster engine's connection state (`connected`,
/// `None` once the cluster is dropped), checked every
/// [`REDIS_WATCH_INTERVAL`].
async fn watch_engine(
    engine: &'static str,
    url: String,
    connected: impl Fn() -> Option<bool> + Send + 'static,
) {
    let mut was = connected().unwrap_or(false);
    loop {
        tokio::time::sleep(REDIS_WATCH_INTERVAL).await;
        let Some(now) = connected() else { return };
        if now != was {
            if now {
                tracing::info!(url = %url, "{engine} connected: clustering on");
            } else {
                tracing::warn!(url = %url, "{engine} disconnected: serving local clients only, retrying with backoff");
            }
            was = now;
        }
    }
}

/// How often [`watch_engine`] looks at the connection.
const REDIS_WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// Takes a dashboard history sample every `dashboard.sample_secs` (the
/// first at once) until aborted.
async fn sample_dashboard(state: Arc<State>) {
    let secs = state.live().config.dashboard.sample_secs.max(1);
    let mut every = tokio::time::interval(Duration::from_secs(secs));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        crate::api::sample_dashboard(&state);
    }
}

/// Binds `addr` with a listen backlog of 1024 (the std default of 128 drops
/// SYNs when many clients connect at once, and they retry only after 1 s).
async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let sa = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let sock = if sa.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(sa)?;
    sock.listen(1024)
}

/// Refuses new connections, marks not ready, tells every client
/// (`server:shutdown` and `server_shutdown` with `reconnectIn`), waits up to
/// `server.drain_secs` for them to leave, then closes the rest.
pub async fn shutdown(state: &State) {
    state.start_draining();
    let cfg = state.live().config.clone();
    let notice = json!({
        "message": "Server is shutting down",
        "reconnectIn": cfg.server.reconnect_hint_ms,
        "timestamp": crate::monitor::iso8601(SystemTime::now()),
    });
    let n = state.connection_count();
    tracing::info!(
        connections = n,
        drain_secs = cfg.server.drain_secs,
        "shutting down: draining"
    );
    for nsp in state.io.namespaces() {
        let _ = nsp.emit("server:shutdown", notice.clone());
        let _ = nsp.emit("server_shutdown", notice.clone());
    }
    let deadline = Instant::now() + Duration::from_secs(cfg.server.drain_secs);
    while state.connection_count() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = state.connection_count();
    state.io.close();
    for e in state.engines.get().into_iter().flat_map(|e| e.iter()) {
        e.close_all();
    }
    // Let the close packets reach the clients.
    tokio::time::sleep(Duration::from_millis(200)).await;
    if let Some(c) = &state.cluster {
        c.quit().await;
    }
    tracing::info!(closed = left, "shutdown complete");
}

/// Installs the SIGTERM and SIGINT handlers now (call it before binding, so
/// a signal during startup is not fatal) and returns a future that resolves
/// on the first of them. Must run inside the tokio runtime.
pub fn signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let streams = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        );
        async move {
            match streams {
                (Ok(mut t), Ok(mut i)) => {
                    tokio::select! {
                        _ = t.recv() => tracing::info!("SIGTERM received"),
                        _ = i.recv() => tracing::info!("SIGINT received"),
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
