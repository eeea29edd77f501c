//! The configuration's schema: every section and key with its documented
//! default, and the enums of the keys that take one of a few strings.
//!
//! Owns the shape only: reading layers is [`super::layers`]'s, checking
//! values [`super::validate`]'s. Must not touch sockets, files or the
//! server state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::auth::AuthSection;
use super::gateway::{EnginePaths, ProxyConnectSection, ProxyLimitsSection, ProxyRule, RelayRule};

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
    /// The dashboard at `/dashboard` (fixed at start).
    pub dashboard: DashboardSection,
    /// Redis, for the cluster adapter.
    pub redis: RedisSection,
    /// PostgreSQL, for the cluster adapter (instead of Redis).
    pub postgres: PostgresSection,
    /// Logging.
    pub log: LogSection,
    /// The CMS bridge (run-time changeable).
    pub content: super::ContentSection,
    /// The event proxy's rules (`[[proxy]]`): client events POSTed to the
    /// application's backend. Default none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxy: Vec<ProxyRule>,
    /// The event proxy's limits.
    pub proxy_limits: ProxyLimitsSection,
    /// The connection proxy: the backend accepts or refuses connections.
    pub proxy_connect: ProxyConnectSection,
    /// The relay's rules (`[[relay]]`): client events passed on to the
    /// sender's rooms. Default none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relay: Vec<RelayRule>,
    /// The official Admin UI's namespace.
    pub admin_ui: super::AdminUiSection,
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Listen address. Default `127.0.0.1`.
    pub host: String,
    /// Listen port. Default 3000.
    pub port: u16,
    /// Engine.IO request path, or a list of them (`["/api/socket",
    /// "/api/socket-namespaces"]`), all serving the same Socket.IO server.
    /// A path under `/api/` works beside the HTTP API, whose routes keep
    /// answering. Default `/socket.io/`.
    pub path: EnginePaths,
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
            path: EnginePaths::default(),
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
    pub transports: Vec<Transport>,
    /// Most binary attachments per Socket.IO packet (with msgpack: binary
    /// values). Default 10.
    pub max_attachments: usize,
    /// The Socket.IO parser every client must use: `"json"` (the default
    /// `socket.io-parser`) or `"msgpack"` (`socket.io-msgpack-parser` 3.x:
    /// each packet one binary message). One for the whole server, as in the
    /// reference; a client with the other parser is closed at its first
    /// packet (parse error). Default `"json"`.
    pub parser: PacketParser,
    /// Packets queued for one connection before sends to it fail (a slow
    /// reader). Default 1024.
    pub send_buffer: usize,
    /// What a full send buffer does: `"error"` fails that send (a broadcast
    /// then closes that connection, so nothing is lost silently); `"close"`
    /// closes the connection at once, reason "slow client". Default
    /// `"error"`.
    pub slow_client: SlowClient,
    /// Time allowed to read a request's headers (also the TLS handshake, and
    /// the longest an idle keep-alive connection waits), in milliseconds.
    /// Default 10,000.
    pub header_read_timeout_ms: u64,
    /// Time allowed to read a polling POST body, in milliseconds. Default
    /// 10,000.
    pub body_read_timeout_ms: u64,
    /// Time a WebSocket upgrade may take, in milliseconds. Default 10,000.
    pub upgrade_timeout_ms: u64,
    /// Longest lingering close, in milliseconds: when the server answers a
    /// request before reading its body (a 413, say) and closes, it discards
    /// what the client still sends for this long so that the client reads
    /// the answer instead of a reset; 0 closes at once. Default 2,000.
    pub linger_timeout_ms: u64,
    /// Most bytes one lingering close discards before closing. Default
    /// 1,048,576 (1 MiB).
    pub linger_bytes: usize,
    /// Most Engine.IO packets in one polling POST. Default 1024.
    pub max_packets_per_post: usize,
    /// Most bytes one WebSocket read takes (64 to 16384); idle connections
    /// hold no read buffer whatever this is. Default 4096.
    pub ws_read_buffer: usize,
    /// permessage-deflate (RFC 7692) on WebSocket connections whose client
    /// offers it. Without context takeover: connections keep no codec
    /// state and a broadcast is compressed once. Default false (as the
    /// reference).
    pub per_message_deflate: bool,
    /// With `per_message_deflate`, WebSocket messages from this many bytes
    /// on are compressed. Default 1024.
    pub per_message_deflate_threshold: usize,
    /// With `per_message_deflate`, the compression level: 0 (stored) to 9
    /// (smallest, slowest). Default 6 (zlib's default, as the reference's
    /// `ws`).
    pub per_message_deflate_level: u32,
    /// With `per_message_deflate`, the window (2^bits bytes, 8 to 15)
    /// asked of clients whose offer carries `client_max_window_bits`; 0
    /// (default) asks nothing.
    pub per_message_deflate_client_max_window_bits: u8,
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
    /// Accept socket.io v2 clients (Engine.IO 3, `EIO=3`), as the
    /// reference's `allowEIO3`: they are connected to `/` at once, their
    /// namespace query is their auth (`io("/nsp?token=...")`), and they
    /// ping the server. Changes apply to new connections after a restart.
    /// Default false (their handshakes get 400, code 5).
    pub allow_eio3: bool,
    /// Serve JSONP polling (`j=<number>` in a polling request's query:
    /// answers are `___eio[j]("...");` scripts, POSTs form-encoded), as
    /// socket.io v2 clients use with `forceJSONP` or without cross-origin
    /// XHR. Default false: a JSONP answer is a script any page may load,
    /// so CORS does not guard it (the reference serves JSONP whenever `j`
    /// is present). Off, a `j` request is plain polling.
    pub allow_jsonp: bool,
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
            transports: vec![Transport::Polling, Transport::Websocket],
            max_attachments: 10,
            parser: PacketParser::Json,
            send_buffer: 1024,
            slow_client: SlowClient::Error,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            upgrade_timeout_ms: 10_000,
            linger_timeout_ms: 2_000,
            linger_bytes: 1 << 20,
            max_packets_per_post: 1024,
            ws_read_buffer: 4096,
            per_message_deflate: false,
            per_message_deflate_threshold: 1024,
            per_message_deflate_level: 6,
            per_message_deflate_client_max_window_bits: 0,
            recovery_secs: 0,
            recovery_max_packets: 10_000,
            recovery_max_bytes: 64 << 20,
            allow_eio3: false,
            allow_jsonp: false,
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
    /// Where the IP lists are enforced. Default the engine, the API and
    /// `/metrics`; not `/health` and `/ready`.
    pub ip_lists_apply_to: super::IpListSurfaces,
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
    /// Require request signing (`X-Signature` etc.) on every API request:
    /// `true` (or `"v1"`) takes `v1` and `v2`, `"v2"` only `v2` (which
    /// also covers the query string and the body). Default false.
    pub require_signature: super::RequireSignature,
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
            require_signature: super::RequireSignature::No,
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

/// `[dashboard]`: the server's own dashboard page at `/dashboard` and the
/// admin routes under `/api/dashboard/` it reads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardSection {
    /// Serve the page and record what it shows (the event log, the
    /// history). Default true. Its data needs an admin key either way.
    pub enabled: bool,
    /// Entries of the dashboard's event log: event name, direction,
    /// namespace, socket id and payload size, never the payload. Default
    /// 200, at most 10000; 0 records nothing.
    pub event_log: usize,
    /// Samples of the history (connections and events per second over
    /// time). Default 300 (ten minutes at the default interval), at most
    /// 10000.
    pub history: usize,
    /// Seconds between two history samples. Default 2, 1 to 3600.
    pub sample_secs: u64,
    /// Seconds a dashboard login token (`POST /api/dashboard/login` with
    /// the `[admin_ui]` credentials) stays valid. Default 3600, 60 to
    /// 86400.
    pub session_ttl_secs: u64,
    /// Login tokens kept at once; a login beyond evicts the oldest.
    /// Default 100, 1 to 10000.
    pub max_sessions: usize,
    /// Failed dashboard logins per client address (/64 for IPv6) per
    /// minute; more attempts are refused with 429 and `Retry-After`
    /// (whatever `rate_limits.enabled`). Default 5, 1 to 1000.
    pub login_failures_per_minute: u32,
    /// With a cluster adapter, how long the overview waits for the other
    /// nodes to answer its node-info request, in milliseconds; a node
    /// silent past it is listed as not answering. Default 1000, 50 to
    /// 60000.
    pub cluster_timeout_ms: u64,
    /// Other nodes the overview lists at most (answers from more are
    /// dropped). Default 64, 1 to 10000.
    pub cluster_max_nodes: usize,
    /// Seconds a node that stopped answering stays listed (as not
    /// answering) before it is forgotten. Default 600, 1 to 86400.
    pub cluster_forget_secs: u64,
}

impl Default for DashboardSection {
    fn default() -> Self {
        DashboardSection {
            enabled: true,
            event_log: 200,
            history: 300,
            sample_secs: 2,
            session_ttl_secs: 3600,
            max_sessions: 100,
            login_failures_per_minute: 5,
            cluster_timeout_ms: 1000,
            cluster_max_nodes: 64,
            cluster_forget_secs: 600,
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
    pub client_room_joins: ClientRoomJoins,
    /// Chat messages remembered for read receipts (`message:read` reaches
    /// the sender of one of the last this many). Default 10000.
    pub message_cache: usize,
    /// Room (of the client's namespace) that receives `client:event`,
    /// `client:message` and `client:action`, e.g. `role_service` for a
    /// backend connected with a `service` token. It must be a server room
    /// (`user_…` or `role_…`) so clients cannot join it. Default empty: not
    /// forwarded.
    pub forward_room: String,
    /// Prefixes of the per-user rooms: `<prefix><id>` is joined for every
    /// socket of user `id` and reserved to that user (another socket's
    /// client cannot join it; `user-<id>` is the notification room of
    /// document 001). Must include `user_`, the room the HTTP API pushes
    /// to. Default `["user_", "user-"]`.
    pub reserved_room_prefixes: Vec<String>,
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
            client_room_joins: ClientRoomJoins::All,
            message_cache: 10_000,
            forward_room: String::new(),
            reserved_room_prefixes: vec!["user_".into(), "user-".into()],
        }
    }
}

/// `[redis]`: the Redis cluster adapter. With it on, the HTTP API, private
/// messages and presence reach the sockets of every server on the same
/// Redis (and of Node servers on `@socket.io/redis-adapter` 8.3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSection {
    /// Join the cluster through Redis. Default false (a single node).
    pub enabled: bool,
    /// Server URL, `redis://[user:password@]host:port[/db]`, or a Redis
    /// Cluster's `redis-cluster://host:port?node=host:port&node=...` (for the
    /// sharded adapter, and the streams adapter with `use_sharded_pub_sub`). Default `redis://127.0.0.1:6379`. A Redis that is down at start or later is
    /// retried with backoff (100 ms doubling to 5 s); local clients are
    /// served meanwhile.
    pub url: String,
    /// `"pubsub"` (the classic adapter, `createAdapter`), `"sharded"`
    /// (`createShardedAdapter`: Redis 7 sharded pub/sub) or `"streams"`
    /// (`@socket.io/redis-streams-adapter` 0.3: Redis Streams, with
    /// connection state recovery across servers when `connection.recovery_secs` is above 0).
    /// Default `"pubsub"`.
    pub adapter: RedisAdapterKind,
    /// The sharded adapter's `subscriptionMode`: `"dynamic"` (a channel
    /// per public room, so a room's broadcasts reach only the servers that
    /// have it) or `"static"`. Default `"dynamic"`, as in the reference.
    pub subscription_mode: RedisSubscriptionMode,
    /// Prefix of every channel (the reference's `key`); servers of one
    /// cluster must share it. Default `socket.io`.
    pub key_prefix: String,
    /// How long a request to the other servers (socket lists, presence
    /// checks, server count, online lists) waits for every answer, in
    /// milliseconds (1 to 60,000). Default 5000.
    pub requests_timeout_ms: u64,
    /// How old the other servers' part of a `getOnlineUsers` answer may
    /// be, in milliseconds: at most one cluster request per namespace per
    /// this interval, however many clients ask. Default 1000.
    pub online_users_refresh_ms: u64,
    /// The streams adapter's stream (`streamName`); servers of one cluster
    /// share it. Default `socket.io`.
    pub stream_name: String,
    /// The streams adapter trims its stream to about this many entries
    /// (`maxLen`, `XADD MAXLEN ~`): how far back a reconnecting client's
    /// missed packets can be found (1 to 100,000,000). Default 10,000.
    pub max_len: u64,
    /// Entries the streams adapter reads per XREAD (`readCount`, 1 to
    /// 100,000). Default 100.
    pub read_count: u64,
    /// How many streams the streams adapter spreads its namespaces over
    /// (`streamCount`, 1 to 1024): above 1, namespace `N` goes to
    /// `<stream_name>-<i>`, picked from its name as the reference picks it,
    /// and every server reads them all. Default 1.
    pub stream_count: u32,
    /// The streams adapter sends its requests and answers over sharded
    /// pub/sub (`useShardedPubSub`, Redis 7+). Default false.
    pub use_sharded_pub_sub: bool,
    /// How long one XREAD of the streams adapter blocks, in milliseconds
    /// (`blockTimeInMs`, 1 to 60,000). Default 5000.
    pub block_time_ms: u64,
    /// Prefix of the keys the streams adapter keeps disconnected sessions
    /// under for recovery (`sessionKeyPrefix`); servers of one cluster
    /// share it. Default `sio:session:`.
    pub session_key_prefix: String,
}

impl Default for RedisSection {
    fn default() -> Self {
        RedisSection {
            enabled: false,
            url: "redis://127.0.0.1:6379".into(),
            adapter: RedisAdapterKind::Pubsub,
            subscription_mode: RedisSubscriptionMode::Dynamic,
            key_prefix: "socket.io".into(),
            requests_timeout_ms: 5000,
            online_users_refresh_ms: 1000,
            stream_name: "socket.io".into(),
            max_len: 10_000,
            read_count: 100,
            stream_count: 1,
            use_sharded_pub_sub: false,
            block_time_ms: 5000,
            session_key_prefix: "sio:session:".into(),
        }
    }
}

/// `[postgres]`: the PostgreSQL cluster adapter, as Node's
/// `@socket.io/postgres-adapter` 0.5 (LISTEN/NOTIFY, an attachments table
/// for big or binary payloads). At most one of `[redis]` and `[postgres]`
/// is enabled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresSection {
    /// Join the cluster through PostgreSQL. Default false.
    pub enabled: bool,
    /// Connection URL, `postgres://[user[:password]@]host[:port]/database`
    /// (no TLS). Default `postgres://postgres@127.0.0.1:5432/postgres`. A
    /// database that is down at start or later is retried with backoff;
    /// local clients are served meanwhile.
    pub url: String,
    /// Prefix of the notification channels (`channelPrefix`); servers of
    /// one cluster must share it. Default `socket.io`.
    pub channel_prefix: String,
    /// The attachments table (`tableName`), created when missing. Default
    /// `socket_io_attachments`.
    pub table_name: String,
    /// Payloads of this many bytes or more go through the table
    /// (`payloadThreshold`, 1 to 8000: PostgreSQL refuses a NOTIFY of
    /// 8000). Default 8000.
    pub payload_threshold: usize,
}

impl Default for PostgresSection {
    fn default() -> Self {
        PostgresSection {
            enabled: false,
            url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
            channel_prefix: "socket.io".into(),
            table_name: "socket_io_attachments".into(),
            payload_threshold: 8000,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogSection {
    /// `error`, `warn`, `info`, `debug` or `trace`. Default `info`.
    pub level: LogLevel,
    /// `human` or `json`. Default `human`.
    pub format: LogFormat,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: LogLevel::Info,
            format: LogFormat::Human,
        }
    }
}

impl Config {
    /// Permissions of `role` (an unlisted role gets the defaults).
    pub fn role(&self, role: &str) -> RolePermissions {
        self.roles.get(role).cloned().unwrap_or_default()
    }
}

/// Declares an enum of a key that takes one of a few strings: its strings
/// ([`NAMES`](SlowClient::NAMES)), `parse`, `as_str`, and serde through
/// them (a value of another type is refused as "expected a string", as for
/// the string keys these replaced).
macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name {
            $($(#[$vm])* $v,)+
        }

        impl $name {
            /// Every accepted string, in order.
            pub const NAMES: &'static [&'static str] = &[$($s),+];

            /// The variant named `s`.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($s => Some(Self::$v),)+
                    _ => None,
                }
            }

            /// The string of this variant.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$v => $s,)+
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s).ok_or_else(|| format!("unknown value `{s}`"))
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }
    };
}

choice! {
    /// `connection.slow_client`: what a full send buffer does.
    SlowClient {
        /// `"error"`: that send fails (a broadcast then closes that connection).
        Error = "error",
        /// `"close"`: the connection is closed at once, reason "slow client".
        Close = "close",
    }
}

choice! {
    /// `connection.parser`: the Socket.IO parser clients use.
    PacketParser {
        /// `"json"`: socket.io-parser, the reference's default.
        Json = "json",
        /// `"msgpack"`: socket.io-msgpack-parser 3.x.
        Msgpack = "msgpack",
    }
}

choice! {
    /// One of `connection.transports`.
    Transport {
        /// `"polling"`: HTTP long-polling.
        Polling = "polling",
        /// `"websocket"`.
        Websocket = "websocket",
    }
}

choice! {
    /// `events.client_room_joins`: who may join rooms with the room events.
    ClientRoomJoins {
        /// `"all"`: every socket.
        All = "all",
        /// `"authenticated"`: sockets with a token.
        Authenticated = "authenticated",
        /// `"none"`: rooms are joined by the application only.
        None = "none",
    }
}

choice! {
    /// `redis.adapter`: which Redis adapter.
    RedisAdapterKind {
        /// `"pubsub"`: the classic pub/sub adapter.
        Pubsub = "pubsub",
        /// `"sharded"`: the sharded adapter (Redis 7 sharded pub/sub).
        Sharded = "sharded",
        /// `"streams"`: the Redis Streams adapter.
        Streams = "streams",
    }
}

choice! {
    /// `redis.subscription_mode`: how the sharded adapter subscribes.
    RedisSubscriptionMode {
        /// `"dynamic"`: also one channel per public room.
        Dynamic = "dynamic",
        /// `"static"`: the namespace's channel and the server's own only.
        Static = "static",
    }
}

choice! {
    /// `log.level`.
    LogLevel {
        /// `"error"`.
        Error = "error",
        /// `"warn"`.
        Warn = "warn",
        /// `"info"`.
        Info = "info",
        /// `"debug"`.
        Debug = "debug",
        /// `"trace"`.
        Trace = "trace",
    }
}

choice! {
    /// `log.format`.
    LogFormat {
        /// `"human"`: plain text lines.
        Human = "human",
        /// `"json"`: one JSON object per line.
        Json = "json",
    }
}
