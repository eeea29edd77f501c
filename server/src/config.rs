//! The server's configuration: the TOML schema with its defaults, layering
//! (embedded defaults < file < `SOCKETIO_SERVER_*` environment < CLI flags),
//! validation and the masked view printed by `check-config` and the
//! settings API.
//!
//! Owns parsing and checking only; nothing here opens sockets or files
//! other than the config file itself.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ipnet::IpList;

/// Prefix of the environment variables that override config keys:
/// `SOCKETIO_SERVER_<SECTION>__<KEY>`, e.g. `SOCKETIO_SERVER_SERVER__PORT=4000`.
pub const ENV_PREFIX: &str = "SOCKETIO_SERVER_";

/// The whole configuration. Every field has a default (see `gen-config`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listening, TLS, lifecycle.
    pub server: ServerSection,
    /// Engine.IO and Socket.IO connection options.
    pub connection: ConnectionSection,
    /// Cross-origin requests (run-time changeable).
    pub cors: CorsSection,
    /// JWT authentication.
    pub auth: AuthSection,
    /// Namespaces beyond the main one `/`, by name (`"/admin"`).
    pub namespaces: BTreeMap<String, NamespaceSection>,
    /// Role permissions by role name (run-time changeable).
    pub roles: BTreeMap<String, RolePermissions>,
    /// Rate limits (run-time changeable).
    pub rate_limits: RateLimitSection,
    /// IP allow/deny lists and trusted proxies (run-time changeable).
    pub security: SecuritySection,
    /// The HTTP API.
    pub api: ApiSection,
    /// Monitoring and the event log (run-time changeable).
    pub monitoring: MonitoringSection,
    /// The built-in product events (run-time changeable).
    pub events: EventsSection,
    /// Redis, for the cluster adapter.
    pub redis: RedisSection,
    /// Logging.
    pub log: LogSection,
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Listen address. Default `127.0.0.1`.
    pub host: String,
    /// Listen port. Default 3000.
    pub port: u16,
    /// Engine.IO request path. Default `/socket.io/`.
    pub path: String,
    /// PEM certificate chain; with `tls_key`, serve HTTPS/WSS. Default none.
    pub tls_cert: Option<String>,
    /// PEM private key for `tls_cert`. Default none.
    pub tls_key: Option<String>,
    /// On SIGTERM/SIGINT, how long clients get to leave before the rest are
    /// closed, in seconds. Default 10.
    pub drain_secs: u64,
    /// Hint sent in the shutdown notice: when clients should reconnect, in
    /// milliseconds. Default 5000.
    pub reconnect_hint_ms: u64,
    /// Environment name reported by `/api/status`. Default `production`.
    pub environment: String,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            host: "127.0.0.1".into(),
            port: 3000,
            path: "/socket.io/".into(),
            tls_cert: None,
            tls_key: None,
            drain_secs: 10,
            reconnect_hint_ms: 5000,
            environment: "production".into(),
        }
    }
}

/// `[connection]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionSection {
    /// Most Engine.IO connections at once; further handshakes get 503
    /// (run-time changeable). Default 10,000.
    pub max_connections: usize,
    /// Ping interval in milliseconds. Default 25,000.
    pub ping_interval_ms: u64,
    /// Pong timeout in milliseconds. Default 20,000.
    pub ping_timeout_ms: u64,
    /// Time a client has to join a namespace after the handshake, in
    /// milliseconds. Default 45,000.
    pub connect_timeout_ms: u64,
    /// Largest message or POST body in bytes, on both transports. Default
    /// 1,000,000 (1 MB).
    pub max_payload: usize,
    /// Polling responses from this many bytes on are compressed; 0 disables
    /// compression. Default 1024.
    pub compression_threshold: usize,
    /// Allowed transports. Default `["polling", "websocket"]`.
    pub transports: Vec<String>,
    /// Most binary attachments per Socket.IO packet. Default 10.
    pub max_attachments: usize,
    /// Packets queued for one connection before sends to it fail (a slow
    /// reader). Default 1024.
    pub send_buffer: usize,
    /// What a full send buffer does: `"error"` fails that send (a broadcast
    /// then closes that connection, so nothing is lost silently); `"close"`
    /// closes the connection at once, reason "slow client". Default
    /// `"error"`.
    pub slow_client: String,
    /// Time allowed to read a request's headers (also the TLS handshake, and
    /// the longest an idle keep-alive connection waits), in milliseconds.
    /// Default 10,000.
    pub header_read_timeout_ms: u64,
    /// Time allowed to read a polling POST body, in milliseconds. Default
    /// 10,000.
    pub body_read_timeout_ms: u64,
    /// Time a WebSocket upgrade may take, in milliseconds. Default 10,000.
    pub upgrade_timeout_ms: u64,
    /// Most Engine.IO packets in one polling POST. Default 1024.
    pub max_packets_per_post: usize,
    /// Most bytes one WebSocket read takes (64 to 16384); idle connections
    /// hold no read buffer whatever this is. Default 4096.
    pub ws_read_buffer: usize,
    /// Connection state recovery: a client that lost its connection and
    /// comes back within this many seconds gets its socket id, rooms and
    /// data back, with the packets it missed; 0 turns recovery off.
    /// Recovered sockets go through the connection middlewares again (their
    /// token is checked, before anything missed is delivered): a new role
    /// replaces the old one, and a token of another user is refused with
    /// `RECOVERY_REFUSED` (the client connects again, afresh). Default 0
    /// (off, as in the reference server).
    pub recovery_secs: u64,
    /// Most packets kept for recovery (oldest dropped first). Default 10,000.
    pub recovery_max_packets: usize,
    /// Most bytes of packets kept for recovery (oldest dropped first).
    /// Default 67,108,864 (64 MiB).
    pub recovery_max_bytes: usize,
}

impl Default for ConnectionSection {
    fn default() -> Self {
        ConnectionSection {
            max_connections: 10_000,
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            connect_timeout_ms: 45_000,
            max_payload: 1_000_000,
            compression_threshold: 1024,
            transports: vec!["polling".into(), "websocket".into()],
            max_attachments: 10,
            send_buffer: 1024,
            slow_client: "error".into(),
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            upgrade_timeout_ms: 10_000,
            max_packets_per_post: 1024,
            ws_read_buffer: 4096,
            recovery_secs: 0,
            recovery_max_packets: 10_000,
            recovery_max_bytes: 64 << 20,
        }
    }
}

/// `[cors]`
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CorsSection {
    /// Allowed origins (`scheme://host[:port]`); `["*"]` allows any. Default
    /// none (no CORS headers: same-origin and non-browser clients only).
    pub origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true`. Default false.
    pub credentials: bool,
}

/// `[auth]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// Refuse sockets without a valid token on every namespace. Default false
    /// (a token, when sent, must still be valid).
    pub require_authentication: bool,
    /// HS* secrets; the first signs `gen-token` tokens, all verify (key
    /// rotation). Default none.
    pub jwt_secrets: Vec<String>,
    /// Accepted algorithms. Default `["HS256"]`.
    pub jwt_algorithms: Vec<String>,
    /// Clock skew allowed for `exp`, `iat` and `nbf`, in seconds. Default 30.
    pub leeway_secs: u64,
    /// Longest accepted token in bytes. Default 8192.
    pub max_token_len: usize,
    /// Refuse tokens without `exp`. Default true.
    pub require_exp: bool,
    /// Role of sockets without a token. Default `public`.
    pub anonymous_role: String,
    /// Role of tokens without a `role` claim. Default `authenticated`.
    pub default_role: String,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            require_authentication: false,
            jwt_secrets: Vec::new(),
            jwt_algorithms: vec!["HS256".into()],
            leeway_secs: 30,
            max_token_len: 8192,
            require_exp: true,
            anonymous_role: "public".into(),
            default_role: "authenticated".into(),
        }
    }
}

/// `[namespaces."/name"]`
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NamespaceSection {
    /// Refuse sockets without a valid token on this namespace. Default false.
    pub require_auth: bool,
}

/// `[roles.<name>]`: what sockets of a role may do. A role missing from the
/// table may connect everywhere and receives no content-type events.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RolePermissions {
    /// May connect at all. Default true.
    pub can_connect: bool,
    /// Namespaces it may join; `"*"` is every one. Default `["*"]`.
    pub namespaces: Vec<String>,
    /// Content-type events it receives, by content type: which of `create`,
    /// `update`, `delete`. Default none.
    pub content_types: BTreeMap<String, ContentTypeActions>,
}

impl Default for RolePermissions {
    fn default() -> Self {
        RolePermissions {
            can_connect: true,
            namespaces: vec!["*".into()],
            content_types: BTreeMap::new(),
        }
    }
}

/// Which content-type actions a role receives. Default none.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ContentTypeActions {
    /// `{type}:create`.
    pub create: bool,
    /// `{type}:update`.
    pub update: bool,
    /// `{type}:delete`.
    pub delete: bool,
}

impl RolePermissions {
    /// Whether this role may join `namespace`.
    pub fn allows_namespace(&self, namespace: &str) -> bool {
        self.namespaces.iter().any(|n| n == "*" || n == namespace)
    }

    /// Whether this role receives `action` (`create`/`update`/`delete`) of
    /// `content_type`.
    pub fn receives(&self, content_type: &str, action: &str) -> bool {
        self.content_types
            .get(content_type)
            .is_some_and(|a| match action {
                "create" => a.create,
                "update" => a.update,
                "delete" => a.delete,
                _ => false,
            })
    }
}

/// `[rate_limits]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSection {
    /// Enforce the limits below. Default true.
    pub enabled: bool,
    /// New Engine.IO connections per client IP per minute. Default 100.
    pub connections_per_minute: u32,
    /// Events per Socket.IO connection per minute. Default 1000.
    pub events_per_minute: u32,
    /// Events per connection per second (burst limit); 0 disables. Default 10.
    pub events_per_second: u32,
    /// HTTP API requests per API key (per IP when no valid key) per minute.
    /// Default 100.
    pub api_requests_per_minute: u32,
    /// Most client IPs and API keys tracked at once; new ones beyond are
    /// refused until old ones expire. Default 100,000.
    pub max_tracked_keys: usize,
    /// Length of the window of the `*_per_minute` limits, in seconds.
    /// Default 60 (other values scale the window, not the counts).
    pub window_secs: u64,
}

impl Default for RateLimitSection {
    fn default() -> Self {
        RateLimitSection {
            enabled: true,
            connections_per_minute: 100,
            events_per_minute: 1000,
            events_per_second: 10,
            api_requests_per_minute: 100,
            max_tracked_keys: 100_000,
            window_secs: 60,
        }
    }
}

/// `[security]`
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySection {
    /// When not empty, only clients in these CIDRs may connect. Default empty.
    pub ip_allow: Vec<String>,
    /// Clients in these CIDRs may not connect (wins over `ip_allow`).
    /// Default empty.
    pub ip_deny: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed. Default none.
    pub trusted_proxies: Vec<String>,
}

/// `[api]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    /// Serve `/api/*`. Default true (every route still needs a key).
    pub enabled: bool,
    /// Keys for push/broadcast/room/status. Default none (the API refuses
    /// every request until a key is configured).
    pub keys: Vec<String>,
    /// Keys that may also read and change settings and monitoring. Default none.
    pub admin_keys: Vec<String>,
    /// Require request signing (`X-Signature` etc.) on every API request.
    /// Default false.
    pub require_signature: bool,
    /// Accepted age of `X-Request-Timestamp`, either way, in seconds.
    /// Default 300.
    pub signature_window_secs: u64,
    /// Nonces remembered for replay protection. Default 100,000.
    pub nonce_cache_size: usize,
    /// Largest request body in bytes; larger ones get 413. Default 1,048,576.
    pub max_body_bytes: usize,
    /// `/metrics` needs an API key too. Default false.
    pub metrics_require_key: bool,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            enabled: true,
            keys: Vec::new(),
            admin_keys: Vec::new(),
            require_signature: false,
            signature_window_secs: 300,
            nonce_cache_size: 100_000,
            max_body_bytes: 1_048_576,
            metrics_require_key: false,
        }
    }
}

/// `[monitoring]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringSection {
    /// Log connects and disconnects at info. Default true.
    pub connection_logging: bool,
    /// Keep a log of recent events (name, socket, user; never payloads).
    /// Default false.
    pub event_logging: bool,
    /// Entries the event log keeps. Default 100.
    pub max_event_log: usize,
    /// Distinct event names counted by `/api/monitoring/events`; further names
    /// are counted as `(other)`. Default 1000.
    pub max_event_types: usize,
}

impl Default for MonitoringSection {
    fn default() -> Self {
        MonitoringSection {
            connection_logging: true,
            event_logging: false,
            max_event_log: 100,
            max_event_types: 1000,
        }
    }
}

/// `[events]`: the built-in events of the product documents (rooms,
/// private messages, register/authenticate, chat, presence; see the
/// `events` module).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EventsSection {
    /// Answer the built-in events. Default true; when false they are
    /// ignored like any event without a handler.
    pub enabled: bool,
    /// Send `system:welcome` and `connected` to every new socket. Default true.
    pub welcome: bool,
    /// Rooms one socket may join itself (server rooms not counted).
    /// Default 100.
    pub max_rooms_per_socket: usize,
    /// Longest room (and conversation) name in bytes. Default 128.
    pub max_room_name: usize,
    /// Allow `private-message` between sockets of a namespace. Default true.
    pub private_messages: bool,
    /// Announce `user:online` / `user:offline` to the namespace when a
    /// user's first socket connects and last one leaves. Each announcement
    /// reaches every socket of the namespace. Default true.
    pub presence: bool,
    /// Largest message a client sends through these events, serialized, in
    /// bytes: the argument of `message:send`, `client:event`,
    /// `client:message` and `client:action`, and the `message` of
    /// `private-message`. Default 65536.
    pub max_message_len: usize,
    /// Who may join and leave rooms with `join-room`, `room:join` and
    /// `conversation:join`: `"all"`, `"authenticated"` (sockets with a
    /// token) or `"none"` (rooms are then joined by the application, with
    /// `POST /api/sockets/join`, after its own access check). Default
    /// `"all"`.
    pub client_room_joins: String,
    /// Chat messages remembered for read receipts (`message:read` reaches
    /// the sender of one of the last this many). Default 10000.
    pub message_cache: usize,
    /// Room (of the client's namespace) that receives `client:event`,
    /// `client:message` and `client:action`, e.g. `role_service` for a
    /// backend connected with a `service` token. It must be a server room
    /// (`user_…` or `role_…`) so clients cannot join it. Default empty: not
    /// forwarded.
    pub forward_room: String,
}

impl Default for EventsSection {
    fn default() -> Self {
        EventsSection {
            enabled: true,
            welcome: true,
            max_rooms_per_socket: 100,
            max_room_name: 128,
            private_messages: true,
            presence: true,
            max_message_len: 65_536,
            client_room_joins: "all".into(),
            message_cache: 10_000,
            forward_room: String::new(),
        }
    }
}

/// `[redis]`: read and validated; used once the Redis adapter exists.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSection {
    /// Use Redis. Default false; `true` is refused until the adapter exists.
    pub enabled: bool,
    /// Server URL. Default `redis://127.0.0.1:6379`.
    pub url: String,
}

impl Default for RedisSection {
    fn default() -> Self {
        RedisSection {
            enabled: false,
            url: "redis://127.0.0.1:6379".into(),
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogSection {
    /// `error`, `warn`, `info`, `debug` or `trace`. Default `info`.
    pub level: String,
    /// `human` or `json`. Default `human`.
    pub format: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".into(),
            format: "human".into(),
        }
    }
}

/// A configuration that could not be read or is not valid.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    Io(String, std::io::Error),
    /// A layer is not valid TOML or has unknown keys or wrong types.
    Parse(String, String),
    /// A value is out of range or inconsistent.
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io(p, e) => write!(f, "cannot read {p}: {e}"),
            ConfigError::Parse(src, e) => write!(f, "{src}: {}", scrub(e).trim_end()),
            ConfigError::Invalid(e) => write!(f, "invalid config: {e}"),
        }
    }
}

/// A parser message without what could be a secret: source snippets
/// (TOML syntax errors quote the line) are dropped, and quoted values are
/// masked when the message is about a secret-holding key.
fn scrub(msg: &str) -> String {
    let secretish = ["jwt_secrets", "keys", "admin_keys", "redis", "url"]
        .iter()
        .any(|k| msg.contains(k));
    let mut out = Vec::new();
    for line in msg.lines() {
        let t = line.trim_start();
        let numbered = t
            .split_once(" |")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if t.starts_with('|') || numbered {
            continue;
        }
        out.push(if secretish {
            mask_quoted(line)
        } else {
            line.to_owned()
        });
    }
    out.join("\n")
}

fn mask_quoted(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut parts = line.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, p) in parts.enumerate() {
        out.push('"');
        out.push_str(if i % 2 == 0 { "***" } else { p });
    }
    out
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

/// Builds the effective configuration, one layer over the next.
#[derive(Debug, Default)]
pub struct Layers {
    table: toml::Table,
}

impl Layers {
    /// Starts from the embedded defaults (an empty table).
    pub fn new() -> Self {
        Layers::default()
    }

    /// Merges a TOML document (a config file's text); `source` names it in errors.
    pub fn file(mut self, source: &str, text: &str) -> Result<Self, ConfigError> {
        let t: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse(source.into(), e.to_string()))?;
        merge(&mut self.table, t);
        // Check this layer alone so an unknown key names its file.
        Config::from_table(self.table.clone()).map_err(|e| match e {
            ConfigError::Parse(_, m) => ConfigError::Parse(source.into(), m),
            e => e,
        })?;
        Ok(self)
    }

    /// Merges `SOCKETIO_SERVER_*` variables from `vars`.
    pub fn env(
        mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut pairs: Vec<(String, String)> = vars
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(ENV_PREFIX)?;
                Some((rest.to_ascii_lowercase().replace("__", "."), v))
            })
            .collect();
        pairs.sort();
        for (key, value) in pairs {
            self = self.set(
                &format!(
                    "environment variable {ENV_PREFIX}{}",
                    key.to_ascii_uppercase().replace('.', "__")
                ),
                &key,
                &value,
            )?;
        }
        Ok(self)
    }

    /// Sets one dotted key (`server.port`) to `value`, read as a TOML value
    /// when it parses as one (`4000`, `true`, `["a", "b"]`), else as a string.
    pub fn set(mut self, source: &str, key: &str, value: &str) -> Result<Self, ConfigError> {
        let parts: Vec<&str> = key.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(ConfigError::Parse(
                source.into(),
                format!("bad key `{key}`"),
            ));
        }
        let v = parse_value(value);
        let mut t = &mut self.table;
        for p in &parts[..parts.len() - 1] {
            let entry = t
                .entry((*p).to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            t = match entry {
                toml::Value::Table(t) => t,
                _ => {
                    return Err(ConfigError::Parse(
                        source.into(),
                        format!("`{p}` is not a section"),
                    ))
                }
            };
        }
        t.insert(parts[parts.len() - 1].to_owned(), v);
        Config::from_table(self.table.clone()).map_err(|e| match e {
            ConfigError::Parse(_, m) => ConfigError::Parse(source.into(), m),
            e => e,
        })?;
        Ok(self)
    }

    /// The effective configuration, validated.
    pub fn build(self) -> Result<Config, ConfigError> {
        let c = Config::from_table(self.table)?;
        c.validate()?;
        Ok(c)
    }
}

fn parse_value(value: &str) -> toml::Value {
    let doc = format!("v = {value}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(value.into())),
        Err(_) => toml::Value::String(value.into()),
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

impl Config {
    fn from_table(t: toml::Table) -> Result<Config, ConfigError> {
        Config::deserialize(toml::Value::Table(t))
            .map_err(|e| ConfigError::Parse("config".into(), e.to_string()))
    }

    /// Parses one TOML document over the defaults, with validation.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Layers::new().file("config", text)?.build()
    }

    /// Checks ranges and cross-field rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        let p = self.server.path.trim_end_matches('/');
        let reserved = ["/api", "/health", "/ready", "/metrics"];
        if p.is_empty()
            || reserved
                .iter()
                .any(|r| p == *r || p.starts_with(&format!("{r}/")))
        {
            return bad(format!(
                "server.path `{}` would hide the HTTP API, /health, /ready or /metrics",
                self.server.path
            ));
        }
        let e = &self.events;
        if e.max_rooms_per_socket > 100_000 || e.message_cache > 1_000_000 {
            return bad("events.max_rooms_per_socket is at most 100000 and events.message_cache at most 1000000".into());
        }
        if !["all", "authenticated", "none"].contains(&e.client_room_joins.as_str()) {
            return bad(format!(
                "events.client_room_joins `{}` must be all, authenticated or none",
                e.client_room_joins
            ));
        }
        if e.max_room_name == 0 || e.max_room_name > 1024 {
            return bad("events.max_room_name must be 1 to 1024".into());
        }
        if !e.forward_room.is_empty()
            && !crate::identity::RESERVED_PREFIXES
                .iter()
                .any(|p| e.forward_room.len() > p.len() && e.forward_room.starts_with(p))
        {
            return bad(format!(
                "events.forward_room `{}` must be a server room (user_… or role_…) so clients cannot join it",
                e.forward_room
            ));
        }
        let m = &self.monitoring;
        if m.max_event_log > 100_000 || m.max_event_types > 100_000 {
            return bad("monitoring.max_event_log and max_event_types are at most 100000".into());
        }
        if !self.server.path.starts_with('/') {
            return bad(format!(
                "server.path `{}` must start with `/`",
                self.server.path
            ));
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return bad("server.tls_cert and server.tls_key go together".into());
        }
        let c = &self.connection;
        if c.ping_interval_ms == 0 || c.ping_timeout_ms == 0 || c.connect_timeout_ms == 0 {
            return bad("connection ping_interval_ms, ping_timeout_ms and connect_timeout_ms must be above 0".into());
        }
        if c.max_payload < 64 {
            return bad("connection.max_payload must be at least 64 bytes".into());
        }
        if c.header_read_timeout_ms == 0 || c.body_read_timeout_ms == 0 || c.upgrade_timeout_ms == 0
        {
            return bad("connection header_read_timeout_ms, body_read_timeout_ms and upgrade_timeout_ms must be above 0".into());
        }
        if c.send_buffer == 0 || c.max_packets_per_post == 0 {
            return bad("connection.send_buffer and max_packets_per_post must be above 0".into());
        }
        if c.slow_client != "error" && c.slow_client != "close" {
            return bad(format!(
                "connection.slow_client `{}` must be `error` or `close`",
                c.slow_client
            ));
        }
        if c.recovery_secs > 0 && c.recovery_max_bytes < c.max_payload.max(65_536) {
            return bad("connection.recovery_max_bytes must be at least 65536 and at least max_payload, or one message would empty the recovery buffer".into());
        }
        if c.recovery_secs > 86_400 || c.recovery_max_packets > 10_000_000 {
            return bad("connection.recovery_secs is at most 86400 and recovery_max_packets at most 10000000".into());
        }
        if !(64..=16384).contains(&c.ws_read_buffer) {
            return bad("connection.ws_read_buffer must be between 64 and 16384".into());
        }
        if c.transports.is_empty()
            || c.transports
                .iter()
                .any(|t| t != "polling" && t != "websocket")
        {
            return bad("connection.transports takes `polling` and/or `websocket`".into());
        }
        for o in &self.cors.origins {
            if o != "*" && !(o.starts_with("http://") || o.starts_with("https://")) {
                return bad(format!(
                    "cors origin `{o}` must be `*` or start with http:// or https://"
                ));
            }
        }
        if self.cors.credentials && self.cors.origins.iter().any(|o| o == "*") {
            // Browsers refuse credentials with a wildcard; the server reflects
            // the origin, which would make every site trusted.
            return bad("cors.credentials cannot be combined with origin `*`".into());
        }
        for a in &self.auth.jwt_algorithms {
            if crate::jwt::Algorithm::parse(a).is_none() {
                return bad(format!(
                    "auth.jwt_algorithms: unsupported `{a}` (HS256, HS384, HS512)"
                ));
            }
        }
        if self.auth.jwt_algorithms.is_empty() {
            return bad("auth.jwt_algorithms must not be empty".into());
        }
        if self.auth.jwt_secrets.iter().any(|s| s.len() < 16) {
            return bad("auth.jwt_secrets must be at least 16 bytes each".into());
        }
        let needs_auth =
            self.auth.require_authentication || self.namespaces.values().any(|n| n.require_auth);
        if needs_auth && self.auth.jwt_secrets.is_empty() {
            return bad("authentication is required but auth.jwt_secrets is empty".into());
        }
        for name in self.namespaces.keys() {
            if !name.starts_with('/') {
                return bad(format!("namespace `{name}` must start with `/`"));
            }
        }
        for (name, r) in &self.roles {
            for a in r.content_types.keys() {
                if a.is_empty() || a.contains(':') {
                    return bad(format!(
                        "roles.{name}.content_types: bad content type `{a}`"
                    ));
                }
            }
        }
        for (label, list) in [
            ("security.ip_allow", &self.security.ip_allow),
            ("security.ip_deny", &self.security.ip_deny),
            ("security.trusted_proxies", &self.security.trusted_proxies),
        ] {
            if let Err(e) = IpList::parse(list) {
                return bad(format!("{label}: {e}"));
            }
        }
        if self
            .api
            .keys
            .iter()
            .chain(&self.api.admin_keys)
            .any(|k| k.len() < 16)
        {
            return bad("api keys must be at least 16 bytes each".into());
        }
        if self.api.nonce_cache_size == 0 || self.api.signature_window_secs == 0 {
            return bad(
                "api.nonce_cache_size and api.signature_window_secs must be above 0".into(),
            );
        }
        if self.rate_limits.max_tracked_keys == 0 || self.rate_limits.window_secs == 0 {
            return bad("rate_limits.max_tracked_keys and window_secs must be above 0".into());
        }
        if self.redis.enabled {
            return bad("redis.enabled: the Redis adapter is not available yet".into());
        }
        if !["error", "warn", "info", "debug", "trace"].contains(&self.log.level.as_str()) {
            return bad(format!(
                "log.level `{}`: error, warn, info, debug or trace",
                self.log.level
            ));
        }
        if self.log.format != "human" && self.log.format != "json" {
            return bad(format!("log.format `{}`: human or json", self.log.format));
        }
        Ok(())
    }

    /// Permissions of `role` (an unlisted role gets the defaults).
    pub fn role(&self, role: &str) -> RolePermissions {
        self.roles.get(role).cloned().unwrap_or_default()
    }

    /// This configuration as TOML with secrets masked.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(&self.masked()).unwrap_or_default()
    }

    /// A copy with secrets (JWT secrets, API keys, credentials in the Redis
    /// URL) replaced by `***`.
    pub fn masked(&self) -> Config {
        let mut c = self.clone();
        let mask = |v: &mut Vec<String>| v.iter_mut().for_each(|s| *s = "***".into());
        mask(&mut c.auth.jwt_secrets);
        mask(&mut c.api.keys);
        mask(&mut c.api.admin_keys);
        if let Some((scheme, rest)) = c.redis.url.split_once("://") {
            if let Some((_, host)) = rest.rsplit_once('@') {
                c.redis.url = format!("{scheme}://***@{host}");
            }
        }
        c
    }
}

/// What the settings API may change at run time.
pub const RUNTIME_SETTINGS: &[&str] = &[
    "cors",
    "rate_limits (except max_tracked_keys)",
    "security",
    "roles",
    "monitoring",
    "events",
    "connection.max_connections",
    "auth.require_authentication",
    "namespaces.<existing>.require_auth",
];

/// `c` with every run-time changeable setting reset: two configs that
/// differ only at run time have equal frozen parts.
fn frozen(c: &Config) -> Config {
    let mut f = c.clone();
    f.cors = CorsSection::default();
    f.rate_limits = RateLimitSection {
        max_tracked_keys: c.rate_limits.max_tracked_keys,
        ..RateLimitSection::default()
    };
    f.security = SecuritySection::default();
    f.roles = BTreeMap::new();
    f.monitoring = MonitoringSection::default();
    f.events = EventsSection::default();
    f.connection.max_connections = 0;
    f.auth.require_authentication = false;
    f.namespaces
        .values_mut()
        .for_each(|n| n.require_auth = false);
    f
}

/// Applies a JSON partial update (objects merge, other values replace) to
/// `current`; a change to anything outside [`RUNTIME_SETTINGS`] is refused.
pub fn apply_settings_patch(
    current: &Config,
    patch: &serde_json::Value,
) -> Result<Config, ConfigError> {
    if !patch.is_object() {
        return Err(ConfigError::Invalid(
            "settings patch must be a JSON object".into(),
        ));
    }
    let mut base =
        serde_json::to_value(current).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    merge_json(&mut base, patch);
    let next: Config = serde_json::from_value(base)
        .map_err(|e| ConfigError::Parse("settings".into(), e.to_string()))?;
    next.validate()?;
    if frozen(&next) != frozen(current) {
        return Err(ConfigError::Invalid(format!(
            "only these settings change at run time: {}",
            RUNTIME_SETTINGS.join(", ")
        )));
    }
    Ok(next)
}

fn merge_json(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge_json(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// The commented default config printed by `gen-config`.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../config.example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_example_file() {
        let d = Config::default();
        d.validate().unwrap();
        assert_eq!(Config::from_toml(DEFAULT_CONFIG_TOML).unwrap(), d);
        assert_eq!(d.server.port, 3000);
        assert_eq!(d.server.host, "127.0.0.1");
        assert_eq!(d.connection.max_payload, 1_000_000);
    }

    #[test]
    fn unknown_keys_are_reported_with_their_source() {
        let e = Layers::new()
            .file("a.toml", "[server]\nprot = 1\n")
            .unwrap_err();
        let m = e.to_string();
        assert!(m.starts_with("a.toml:") && m.contains("prot"), "{m}");
        let e = Layers::new().file("b.toml", "[nope]\n").unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        let e = Layers::new()
            .env([("SOCKETIO_SERVER_SERVER__PROT".to_string(), "1".to_string())])
            .unwrap_err();
        assert!(
            e.to_string().contains("SOCKETIO_SERVER_SERVER__PROT"),
            "{e}"
        );
    }

    #[test]
    fn layers_apply_in_order() {
        let c = Layers::new()
            .file("f", "[server]\nport = 1000\nhost = \"0.0.0.0\"\n[cors]\norigins = [\"https://a.example\"]\n")
            .unwrap()
            .env([
                ("SOCKETIO_SERVER_SERVER__PORT".to_string(), "2000".to_string()),
                ("OTHER_SERVER__PORT".to_string(), "9".to_string()),
                ("SOCKETIO_SERVER_RATE_LIMITS__EVENTS_PER_SECOND".to_string(), "10".to_string()),
            ])
            .unwrap()
            .set("--port", "server.port", "3001")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(c.server.port, 3001);
        assert_eq!(c.server.host, "0.0.0.0");
        assert_eq!(c.cors.origins, vec!["https://a.example".to_string()]);
        assert_eq!(c.rate_limits.events_per_second, 10);
    }

    #[test]
    fn values_are_toml_or_strings() {
        let c = Layers::new()
            .set("t", "cors.origins", "[\"http://x.example\"]")
            .unwrap()
            .set("t", "server.environment", "staging")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(c.cors.origins, vec!["http://x.example".to_string()]);
        assert_eq!(c.server.environment, "staging");
        let e = Layers::new().set("t", "server.port", "lots").unwrap_err();
        assert!(
            e.to_string().contains("server.port") || e.to_string().contains("port"),
            "{e}"
        );
        assert!(Layers::new().set("t", "server..port", "1").is_err());
        assert!(Layers::new().set("t", "server.port.x", "1").is_err());
    }

    #[test]
    fn validation_rules() {
        let bad = [
            "[server]\npath = \"x\"",
            "[server]\ntls_cert = \"a.pem\"",
            "[connection]\nping_interval_ms = 0",
            "[connection]\ntransports = [\"carrier-pigeon\"]",
            "[connection]\nslow_client = \"drop\"",
            "[connection]\nws_read_buffer = 16385",
            "[connection]\nsend_buffer = 0",
            "[connection]\nheader_read_timeout_ms = 0",
            "[cors]\norigins = [\"example.com\"]",
            "[cors]\norigins = [\"*\"]\ncredentials = true",
            "[auth]\njwt_algorithms = [\"none\"]",
            "[auth]\njwt_secrets = [\"short\"]",
            "[auth]\nrequire_authentication = true",
            "[namespaces.\"/a\"]\nrequire_auth = true",
            "[namespaces.chat]",
            "[security]\nip_deny = [\"10.0.0.0/33\"]",
            "[api]\nkeys = [\"short\"]",
            "[redis]\nenabled = true",
            "[log]\nformat = \"xml\"",
            "[server]\npath = \"/\"",
            "[server]\npath = \"/api/x\"",
            "[server]\npath = \"/metrics\"",
            "[monitoring]\nmax_event_log = 1000000",
        ];
        for b in bad {
            assert!(Config::from_toml(b).is_err(), "accepted: {b}");
        }
    }

    #[test]
    fn errors_never_echo_secrets() {
        let e = Layers::new()
            .set("env", "auth.jwt_secrets", "my-long-secret-value")
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("my-long-secret-value") && e.contains("jwt_secrets"),
            "{e}"
        );
        let e = Layers::new()
            .file("f.toml", "[api]\nkeys = [\"abcdefabcdefabcdef-key\"\n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("abcdefabcdefabcdef"), "{e}");
        assert!(e.starts_with("f.toml:"), "{e}");
        let e = Layers::new()
            .set("t", "server.port", "lots")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lots"),
            "non-secret values stay in the message: {e}"
        );
    }

    #[test]
    fn masking_hides_secrets() {
        let c = Config::from_toml(
            "[auth]\njwt_secrets = [\"0123456789abcdef-secret\"]\n[api]\nkeys = [\"0123456789abcdef-key\"]\n[redis]\nurl = \"redis://user:pw@h:6379\"\n",
        )
        .unwrap();
        let t = c.to_masked_toml();
        assert!(
            !t.contains("secret") || !t.contains("0123456789abcdef"),
            "{t}"
        );
        assert!(!t.contains("0123456789abcdef"), "{t}");
        assert!(!t.contains("pw@"), "{t}");
        assert!(t.contains("***@h:6379"), "{t}");
    }

    #[test]
    fn events_limits_and_forward_room_are_checked() {
        let c = Config::default();
        let n = apply_settings_patch(
            &c,
            &serde_json::json!({"events": {"presence": false, "forward_room": "role_service"}}),
        )
        .unwrap();
        assert!(!n.events.presence);
        assert_eq!(n.events.forward_room, "role_service");
        // A room clients could join, or a bare prefix, is refused.
        for room in ["backend", "role_", "user"] {
            let e = Config::from_toml(&format!("[events]\nforward_room = \"{room}\"\n"));
            assert!(e.is_err(), "{room}");
        }
        assert!(Config::from_toml("[events]\nmax_room_name = 0\n").is_err());
        assert!(Config::from_toml("[events]\nmax_room_name = 2000\n").is_err());
        assert!(Config::from_toml("[events]\nmessage_cache = 2000000\n").is_err());
        assert!(Config::from_toml("[events]\nmax_rooms_per_socket = 200000\n").is_err());
        assert!(Config::from_toml("[events]\nwelcome = false\nbogus = 1\n").is_err());
    }

    #[test]
    fn settings_patch_changes_only_runtime_sections() {
        let c = Config::default();
        let n = apply_settings_patch(
            &c,
            &serde_json::json!({"rate_limits": {"events_per_second": 5}, "connection": {"max_connections": 7}}),
        )
        .unwrap();
        assert_eq!(n.rate_limits.events_per_second, 5);
        assert_eq!(n.rate_limits.events_per_minute, 1000);
        assert_eq!(n.connection.max_connections, 7);
        assert!(apply_settings_patch(&c, &serde_json::json!({"server": {"port": 1}})).is_err());
        assert!(apply_settings_patch(
            &c,
            &serde_json::json!({"rate_limits": {"max_tracked_keys": 5}})
        )
        .is_err());
        assert!(
            apply_settings_patch(&c, &serde_json::json!({"namespaces": {"/new": {}}})).is_err()
        );
        assert!(apply_settings_patch(
            &c,
            &serde_json::json!({"auth": {"jwt_secrets": ["0123456789abcdef-x"]}})
        )
        .is_err());
        // Requiring authentication needs a secret, which cannot be added at run time.
        assert!(apply_settings_patch(
            &c,
            &serde_json::json!({"auth": {"require_authentication": true}})
        )
        .is_err());
        let with_secret = Config::from_toml(
            "[auth]\njwt_secrets = [\"0123456789abcdef-x\"]\n[namespaces.\"/a\"]\n",
        )
        .unwrap();
        let n = apply_settings_patch(
            &with_secret,
            &serde_json::json!({"auth": {"require_authentication": true}, "namespaces": {"/a": {"require_auth": true}}}),
        )
        .unwrap();
        assert!(n.auth.require_authentication && n.namespaces["/a"].require_auth);
        assert!(
            apply_settings_patch(&c, &serde_json::json!({"connection": {"max_payload": 1}}))
                .is_err()
        );
        assert!(apply_settings_patch(&c, &serde_json::json!({"cors": {"bogus": 1}})).is_err());
        assert!(apply_settings_patch(&c, &serde_json::json!({"cors": {"origins": "x"}})).is_err());
        assert!(apply_settings_patch(&c, &serde_json::json!([1])).is_err());
        let r = apply_settings_patch(
            &c,
            &serde_json::json!({"roles": {"public": {"content_types": {"article": {"create": true}}}}}),
        )
        .unwrap();
        assert!(r.role("public").receives("article", "create"));
        assert!(!r.role("public").receives("article", "delete"));
        assert!(r.role("public").allows_namespace("/anything"));
    }
}
