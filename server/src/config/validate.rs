//! Validation: ranges and cross-field rules of a parsed [`Config`], and the
//! check of the keys that take one of a few strings (done on a layer's raw
//! value, before it is parsed, so that such a value is reported as invalid
//! with the same message whatever layer it came from).
//!
//! Pure: reads nothing but the values it is given, changes nothing but the
//! refused strings of a raw value it checks.

use super::{
    ClientRoomJoins, Config, ConfigError, LogFormat, LogLevel, PacketParser, RedisAdapterKind,
    RedisSubscriptionMode, SlowClient, Transport,
};
use crate::identity::{ROLE_PREFIX, USER_PREFIX};
use crate::ipnet::IpList;
use crate::jwt::Algorithm;

/// A key that takes one of a few strings (a serde enum in the schema).
struct Choice {
    section: &'static str,
    key: &'static str,
    /// The strings it takes (the first stands in for a refused one).
    accepted: &'static [&'static str],
    /// The message for a refused `value`.
    message: fn(&str) -> String,
}

/// The choice keys, in the order their refusals are reported.
const CHOICES: &[Choice] = &[
    Choice {
        section: "events",
        key: "client_room_joins",
        accepted: ClientRoomJoins::NAMES,
        message: |v| format!("events.client_room_joins `{v}` must be all, authenticated or none"),
    },
    Choice {
        section: "connection",
        key: "slow_client",
        accepted: SlowClient::NAMES,
        message: |v| format!("connection.slow_client `{v}` must be `error` or `close`"),
    },
    Choice {
        section: "connection",
        key: "parser",
        accepted: PacketParser::NAMES,
        message: |v| format!("connection.parser `{v}` must be `json` or `msgpack`"),
    },
    Choice {
        section: "connection",
        key: "transports",
        accepted: Transport::NAMES,
        message: |_| "connection.transports takes `polling` and/or `websocket`".into(),
    },
    Choice {
        section: "auth",
        key: "jwt_algorithms",
        accepted: Algorithm::NAMES,
        message: |v| {
            format!(
                "auth.jwt_algorithms: unsupported `{v}` ({})",
                Algorithm::NAMES.join(", ")
            )
        },
    },
    Choice {
        section: "redis",
        key: "adapter",
        accepted: RedisAdapterKind::NAMES,
        message: |v| format!("redis.adapter `{v}` must be `pubsub`, `sharded` or `streams`"),
    },
    Choice {
        section: "redis",
        key: "subscription_mode",
        accepted: RedisSubscriptionMode::NAMES,
        message: |v| format!("redis.subscription_mode `{v}` must be `dynamic` or `static`"),
    },
    Choice {
        section: "log",
        key: "level",
        accepted: LogLevel::NAMES,
        message: |v| format!("log.level `{v}`: error, warn, info, debug or trace"),
    },
    Choice {
        section: "log",
        key: "format",
        accepted: LogFormat::NAMES,
        message: |v| format!("log.format `{v}`: human or json"),
    },
];

/// A layer's raw value (TOML or JSON), as far as the choice check needs it.
pub(super) trait Raw: Sized {
    /// The value under `section.key`, if any.
    fn field_mut(&mut self, section: &str, key: &str) -> Option<&mut Self>;
    /// The string this is, if it is one.
    fn string(&self) -> Option<&str>;
    /// The elements, if this is a list.
    fn items_mut(&mut self) -> Option<Vec<&mut Self>>;
    /// Replaces this with the string `s`.
    fn set_string(&mut self, s: &str);
}

/// TOML and JSON values have the same accessors.
macro_rules! raw {
    ($t:ty, $string:path) => {
        impl Raw for $t {
            fn field_mut(&mut self, section: &str, key: &str) -> Option<&mut Self> {
                self.get_mut(section)?.get_mut(key)
            }
            fn string(&self) -> Option<&str> {
                self.as_str()
            }
            fn items_mut(&mut self) -> Option<Vec<&mut Self>> {
                Some(self.as_array_mut()?.iter_mut().collect())
            }
            fn set_string(&mut self, s: &str) {
                *self = $string(s.into());
            }
        }
    };
}

raw!(toml::Value, toml::Value::String);
raw!(serde_json::Value, serde_json::Value::String);

/// Checks the choice keys of `raw`: the message for the first string that
/// is not one of its key's choices. Refused strings are replaced by an
/// accepted one, so that parsing `raw` still reports what else is wrong
/// (unknown keys, wrong types) first; values that are not strings are left
/// to the parser.
pub(super) fn check_choices<V: Raw>(raw: &mut V) -> Option<String> {
    let mut first = None;
    for c in CHOICES {
        let Some(v) = raw.field_mut(c.section, c.key) else {
            continue;
        };
        let values = match v.items_mut() {
            Some(items) => items,
            None => vec![v],
        };
        for v in values {
            let Some(s) = v.string() else { continue };
            if !c.accepted.contains(&s) {
                first.get_or_insert_with(|| (c.message)(s));
                v.set_string(c.accepted[0]);
            }
        }
    }
    first
}

type Checked = Result<(), ConfigError>;

fn bad(m: impl Into<String>) -> Checked {
    Err(ConfigError::Invalid(m.into()))
}

impl Config {
    /// Checks ranges and cross-field rules (the choice keys are checked
    /// when a layer is parsed).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_path()?;
        self.check_events()?;
        self.check_server()?;
        self.check_connection()?;
        self.check_cors()?;
        self.check_auth()?;
        self.check_names_and_lists()?;
        self.check_api_and_limits()?;
        self.content.check(self.namespaces.keys())?;
        self.admin_ui.check(self.namespaces.keys())?;
        self.check_redis()?;
        self.check_postgres()
    }

    /// The engine paths against the fixed routes (the API's own routes are
    /// checked by the caller that knows them, see
    /// [`Config::check_engine_paths`]), and the application rules.
    fn check_path(&self) -> Checked {
        self.check_engine_paths(std::iter::empty())
            .map_err(ConfigError::Invalid)?;
        self.check_gateway().map_err(ConfigError::Invalid)
    }

    fn check_reserved_prefixes(&self) -> Checked {
        let list = &self.events.reserved_room_prefixes;
        if !list.iter().any(|p| p == USER_PREFIX) {
            return bad("events.reserved_room_prefixes must include `user_` (the room the HTTP API pushes to)");
        }
        if list.len() > 16 {
            return bad("events.reserved_room_prefixes takes at most 16 prefixes");
        }
        for p in list {
            if p.is_empty() || p.len() > 64 || p.chars().any(char::is_control) {
                return bad(format!("events.reserved_room_prefixes: `{p}` must be 1 to 64 characters, none a control character"));
            }
            if ROLE_PREFIX.starts_with(p.as_str()) || p.starts_with(ROLE_PREFIX) {
                return bad(format!(
                    "events.reserved_room_prefixes: `{p}` overlaps the role rooms (`role_…`)"
                ));
            }
        }
        for (i, p) in list.iter().enumerate() {
            // One prefix inside another would give a room two owners.
            if let Some(q) = list
                .iter()
                .skip(i + 1)
                .find(|q| q.starts_with(p.as_str()) || p.starts_with(q.as_str()))
            {
                return bad(format!(
                    "events.reserved_room_prefixes: `{p}` and `{q}` overlap"
                ));
            }
        }
        Ok(())
    }

    fn check_events(&self) -> Checked {
        let e = &self.events;
        if e.max_rooms_per_socket > 100_000 || e.message_cache > 1_000_000 {
            return bad("events.max_rooms_per_socket is at most 100000 and events.message_cache at most 1000000");
        }
        if e.max_room_name == 0 || e.max_room_name > 1024 {
            return bad("events.max_room_name must be 1 to 1024");
        }
        self.check_reserved_prefixes()?;
        let mut prefixes =
            std::iter::once(ROLE_PREFIX).chain(e.reserved_room_prefixes.iter().map(String::as_str));
        if !e.forward_room.is_empty()
            && !prefixes.any(|p| e.forward_room.len() > p.len() && e.forward_room.starts_with(p))
        {
            return bad(format!(
                "events.forward_room `{}` must be a server room (user_… or role_…) so clients cannot join it",
                e.forward_room
            ));
        }
        let m = &self.monitoring;
        if m.max_event_log > 100_000 || m.max_event_types > 100_000 {
            return bad("monitoring.max_event_log and max_event_types are at most 100000");
        }
        let d = &self.dashboard;
        if d.event_log > 10_000 || d.history > 10_000 {
            return bad("dashboard.event_log and dashboard.history are at most 10000");
        }
        if d.sample_secs == 0 || d.sample_secs > 3600 {
            return bad("dashboard.sample_secs must be 1 to 3600");
        }
        if !(60..=86_400).contains(&d.session_ttl_secs) {
            return bad("dashboard.session_ttl_secs must be 60 to 86400");
        }
        if !(1..=10_000).contains(&d.max_sessions) {
            return bad("dashboard.max_sessions must be 1 to 10000");
        }
        if !(1..=1000).contains(&d.login_failures_per_minute) {
            return bad("dashboard.login_failures_per_minute must be 1 to 1000");
        }
        if !(50..=60_000).contains(&d.cluster_timeout_ms) {
            return bad("dashboard.cluster_timeout_ms must be 50 to 60000");
        }
        if !(1..=10_000).contains(&d.cluster_max_nodes) {
            return bad("dashboard.cluster_max_nodes must be 1 to 10000");
        }
        if !(1..=86_400).contains(&d.cluster_forget_secs) {
            return bad("dashboard.cluster_forget_secs must be 1 to 86400");
        }
        Ok(())
    }

    fn check_server(&self) -> Checked {
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return bad("server.tls_cert and server.tls_key go together");
        }
        Ok(())
    }

    fn check_connection(&self) -> Checked {
        let c = &self.connection;
        if c.ping_interval_ms == 0 || c.ping_timeout_ms == 0 || c.connect_timeout_ms == 0 {
            return bad("connection ping_interval_ms, ping_timeout_ms and connect_timeout_ms must be above 0");
        }
        if c.max_payload < 64 {
            return bad("connection.max_payload must be at least 64 bytes");
        }
        if c.header_read_timeout_ms == 0 || c.body_read_timeout_ms == 0 || c.upgrade_timeout_ms == 0
        {
            return bad("connection header_read_timeout_ms, body_read_timeout_ms and upgrade_timeout_ms must be above 0");
        }
        if c.send_buffer == 0 || c.max_packets_per_post == 0 {
            return bad("connection.send_buffer and max_packets_per_post must be above 0");
        }
        if c.recovery_secs > 0 && c.recovery_max_bytes < c.max_payload.max(65_536) {
            return bad("connection.recovery_max_bytes must be at least 65536 and at least max_payload, or one message would empty the recovery buffer");
        }
        if c.recovery_secs > 86_400 || c.recovery_max_packets > 10_000_000 {
            return bad("connection.recovery_secs is at most 86400 and recovery_max_packets at most 10000000");
        }
        if c.per_message_deflate_level > 9 {
            return bad("connection.per_message_deflate_level must be between 0 and 9");
        }
        if !matches!(c.per_message_deflate_client_max_window_bits, 0 | 8..=15) {
            return bad("connection.per_message_deflate_client_max_window_bits must be 0 (not asked) or between 8 and 15");
        }
        if !(64..=16384).contains(&c.ws_read_buffer) {
            return bad("connection.ws_read_buffer must be between 64 and 16384");
        }
        if c.transports.is_empty() {
            return bad("connection.transports takes `polling` and/or `websocket`");
        }
        Ok(())
    }

    fn check_cors(&self) -> Checked {
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
            return bad("cors.credentials cannot be combined with origin `*`");
        }
        Ok(())
    }

    fn check_auth(&self) -> Checked {
        if self.auth.jwt_algorithms.is_empty() {
            return bad("auth.jwt_algorithms must not be empty");
        }
        if self.auth.jwt_secrets.iter().any(|s| s.len() < 16) {
            return bad("auth.jwt_secrets must be at least 16 bytes each");
        }
        let needs_auth =
            self.auth.require_authentication || self.namespaces.values().any(|n| n.require_auth);
        if needs_auth && self.auth.jwt_secrets.is_empty() && self.auth.jwks_url.is_none() {
            return bad(
                "authentication is required but neither auth.jwt_secrets nor auth.jwks_url is set",
            );
        }
        self.check_jwks()?;
        for (key, list) in [
            ("issuer", &self.auth.issuer),
            ("audience", &self.auth.audience),
        ] {
            if list.iter().any(|v| v.is_empty()) {
                return bad(format!("auth.{key} entries must not be empty"));
            }
        }
        Ok(())
    }

    fn check_jwks(&self) -> Checked {
        let a = &self.auth;
        let Some(url) = &a.jwks_url else {
            if a.uses_keys() {
                return bad("auth.jwt_algorithms names a public-key algorithm (RS*, ES*, EdDSA) but auth.jwks_url is not set");
            }
            if a.jwks_ca_file.is_some() {
                return bad("auth.jwks_ca_file is set but auth.jwks_url is not");
            }
            return Ok(());
        };
        if !a.uses_keys() {
            return bad("auth.jwks_url is set but auth.jwt_algorithms names no public-key algorithm (RS256, RS384, RS512, ES256, ES384, EdDSA)");
        }
        match url.parse::<http::Uri>() {
            Ok(u)
                if matches!(u.scheme_str(), Some("http" | "https"))
                    && u.host().is_some_and(|h| !h.is_empty()) => {}
            _ => {
                return bad(format!(
                    "auth.jwks_url `{url}` must be an http:// or https:// URL with a host"
                ))
            }
        }
        if a.jwks_refresh_secs == 0 {
            return bad("auth.jwks_refresh_secs must be at least 1");
        }
        if a.jwks_timeout_ms == 0 || a.jwks_timeout_ms > 60_000 {
            return bad("auth.jwks_timeout_ms must be between 1 and 60000");
        }
        if a.jwks_max_bytes < 64 || a.jwks_max_bytes > 16 * 1024 * 1024 {
            return bad("auth.jwks_max_bytes must be between 64 and 16777216");
        }
        Ok(())
    }

    fn check_names_and_lists(&self) -> Checked {
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
        Ok(())
    }

    fn check_api_and_limits(&self) -> Checked {
        if self
            .api
            .keys
            .iter()
            .chain(&self.api.admin_keys)
            .any(|k| k.len() < 16)
        {
            return bad("api keys must be at least 16 bytes each");
        }
        if self.api.nonce_cache_size == 0 || self.api.signature_window_secs == 0 {
            return bad("api.nonce_cache_size and api.signature_window_secs must be above 0");
        }
        if self.rate_limits.max_tracked_keys == 0 || self.rate_limits.window_secs == 0 {
            return bad("rate_limits.max_tracked_keys and window_secs must be above 0");
        }
        Ok(())
    }

    fn check_redis(&self) -> Checked {
        let r = &self.redis;
        let cluster_url = r.url.starts_with("redis-cluster://");
        if !r.url.starts_with("redis://") && !cluster_url {
            // The Redis client is built without TLS: rediss:// would fail later.
            return bad(
                "redis.url must start with redis:// (redis://host:port[/db]) or redis-cluster://",
            );
        }
        let sharded = r.adapter == RedisAdapterKind::Sharded
            || (r.adapter == RedisAdapterKind::Streams && r.use_sharded_pub_sub);
        if cluster_url && !sharded {
            // The classic adapter counts servers with NUMSUB, per node.
            return bad(
                "redis.url redis-cluster:// needs redis.adapter `sharded`, or `streams` with \
                 redis.use_sharded_pub_sub",
            );
        }
        if r.key_prefix.is_empty() {
            return bad("redis.key_prefix must not be empty");
        }
        if !(1..=60_000).contains(&r.requests_timeout_ms) {
            return bad("redis.requests_timeout_ms must be 1 to 60000");
        }
        if r.online_users_refresh_ms > 3_600_000 {
            return bad("redis.online_users_refresh_ms is at most 3600000");
        }
        if r.stream_name.is_empty() {
            return bad("redis.stream_name must not be empty");
        }
        if !(1..=100_000_000).contains(&r.max_len) {
            return bad("redis.max_len must be 1 to 100000000");
        }
        if !(1..=100_000).contains(&r.read_count) {
            return bad("redis.read_count must be 1 to 100000");
        }
        if !(1..=1024).contains(&r.stream_count) {
            return bad("redis.stream_count must be 1 to 1024");
        }
        if !(1..=60_000).contains(&r.block_time_ms) {
            return bad("redis.block_time_ms must be 1 to 60000");
        }
        if r.session_key_prefix.is_empty() {
            return bad("redis.session_key_prefix must not be empty");
        }
        Ok(())
    }

    fn check_postgres(&self) -> Checked {
        let p = &self.postgres;
        if p.enabled && self.redis.enabled {
            return bad(
                "redis.enabled and postgres.enabled are both true: a server joins one cluster, \
                 through Redis or through PostgreSQL; disable one of them",
            );
        }
        if !p.url.starts_with("postgres://") && !p.url.starts_with("postgresql://") {
            return bad("postgres.url must start with postgres:// or postgresql://");
        }
        if p.channel_prefix.is_empty() {
            return bad("postgres.channel_prefix must not be empty");
        }
        if !socketio_postgres::wire::valid_table_name(&p.table_name) {
            return bad(
                "postgres.table_name must be an SQL identifier (letters, digits, _; schema.table allowed)",
            );
        }
        if !(1..=8000).contains(&p.payload_threshold) {
            return bad("postgres.payload_threshold must be 1 to 8000");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_choices_keep_their_messages() {
        let mut v = serde_json::json!({
            "connection": { "slow_client": "drop", "transports": ["polling", "pigeon"], "parser": "bson" },
            "log": { "level": "loud" },
        });
        assert_eq!(
            check_choices(&mut v).as_deref(),
            Some("connection.slow_client `drop` must be `error` or `close`")
        );
        assert_eq!(v["connection"]["slow_client"], "error");
        assert_eq!(v["connection"]["transports"][1], "polling");
        assert_eq!(v["connection"]["parser"], "json");
        assert_eq!(v["log"]["level"], "error");
        assert_eq!(check_choices(&mut v), None);
        let e = Config::from_toml("[connection]\nparser = \"bson\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid config: connection.parser `bson` must be `json` or `msgpack`"
        );
        let c = Config::from_toml("[connection]\nparser = \"msgpack\"\n").unwrap();
        assert_eq!(c.connection.parser, PacketParser::Msgpack);
        assert_eq!(Config::default().connection.parser, PacketParser::Json);
        let e = Config::from_toml("[auth]\njwt_algorithms = [\"none\"]\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid config: auth.jwt_algorithms: unsupported `none` (HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, EdDSA)"
        );
    }

    #[test]
    fn reserved_room_prefixes_are_checked() {
        let c = Config::default();
        assert_eq!(c.events.reserved_room_prefixes, ["user_", "user-"]);
        let ok = Config::from_toml("[events]\nreserved_room_prefixes = [\"user_\", \"member:\"]\n");
        assert!(ok.is_ok());
        let cases = [
            ("[\"user-\"]", "must include `user_`"),
            ("[]", "must include `user_`"),
            ("[\"user_\", \"\"]", "must be 1 to 64 characters"),
            ("[\"user_\", \"a\\nb\"]", "must be 1 to 64 characters"),
            ("[\"user_\", \"role\"]", "overlaps the role rooms"),
            ("[\"user_\", \"role_x\"]", "overlaps the role rooms"),
            ("[\"user\", \"user_\"]", "`user` and `user_` overlap"),
            ("[\"user_\", \"user_\"]", "overlap"),
            ("\"user_\"", "invalid"),
        ];
        for (list, want) in cases {
            let toml = format!("[events]\nreserved_room_prefixes = {list}\n");
            let e = Config::from_toml(&toml).unwrap_err().to_string();
            assert!(e.contains(want), "{list}: {e}");
        }
        let many: Vec<String> = (0..17).map(|i| format!("\"p{i}:\"")).collect();
        let toml = format!(
            "[events]\nreserved_room_prefixes = [\"user_\", {}]\n",
            many.join(", ")
        );
        assert!(Config::from_toml(&toml)
            .unwrap_err()
            .to_string()
            .contains("at most 16"));
    }
}
