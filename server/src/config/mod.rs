//! The server's configuration: the TOML schema with its defaults
//! (`schema`), layering (embedded defaults < file < `SOCKETIO_SERVER_*`
//! environment < CLI flags, `layers`), validation (`validate`), the
//! run-time settings patch (`patch`, which also takes the CMS plugin's
//! names, `plugin`) and the masked view printed by
//! `check-config` and the settings API.
//!
//! Owns parsing and checking only; nothing here opens sockets or files
//! other than the config file itself, and nothing here reads the server
//! state or the events.

mod admin_ui;
mod auth;
mod content;
mod gateway;
mod hardening;
mod layers;
mod patch;
mod plugin;
mod schema;
mod validate;

use std::fmt;

use serde::Deserialize;

pub use admin_ui::AdminUiSection;
pub use content::ContentSection;
pub use gateway::*;
pub use hardening::{BoolOrString, IpListSurfaces, RequireSignature};
pub use layers::{Layers, ENV_PREFIX};
pub use patch::{apply_settings_patch, RUNTIME_SETTINGS, SECRET_SETTINGS};
pub use plugin::{plugin_view, PLUGIN_NAMES};
pub use schema::*;

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
    let secretish = ["secret", "keys", "admin_keys", "redis", "url", "password"]
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

impl Config {
    /// Parses a merged table: a refused choice (see [`validate`]) is
    /// `Invalid`, unless the table does not parse for another reason.
    fn from_table(t: toml::Table) -> Result<Config, ConfigError> {
        let mut v = toml::Value::Table(t);
        let refused = validate::check_choices(&mut v);
        let c = Config::deserialize(v)
            .map_err(|e| ConfigError::Parse("config".into(), e.to_string()))?;
        match refused {
            Some(m) => Err(ConfigError::Invalid(m)),
            None => Ok(c),
        }
    }

    /// Parses one TOML document over the defaults, with validation.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Layers::new().file("config", text)?.build()
    }

    /// This configuration as TOML with secrets masked.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(&self.masked()).unwrap_or_default()
    }

    /// A copy with secrets (JWT secrets, API keys, credentials in the Redis
    /// URL, the proxies' HMAC secrets) replaced by `***`.
    pub fn masked(&self) -> Config {
        let mut c = self.clone();
        let mask = |v: &mut Vec<String>| v.iter_mut().for_each(|s| *s = "***".into());
        mask(&mut c.auth.jwt_secrets);
        mask(&mut c.api.keys);
        mask(&mut c.api.admin_keys);
        for r in &mut c.proxy {
            r.secret = "***".into();
        }
        if !c.admin_ui.password_hash.is_empty() {
            c.admin_ui.password_hash = "***".into();
        }
        if !c.proxy_connect.secret.is_empty() {
            c.proxy_connect.secret = "***".into();
        }
        for url in [&mut c.redis.url, &mut c.postgres.url] {
            if let Some((scheme, rest)) = url.split_once("://") {
                if let Some((_, host)) = rest.rsplit_once('@') {
                    *url = format!("{scheme}://***@{host}");
                }
            }
        }
        c
    }
}

/// The commented default config printed by `gen-config`.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../config.example.toml");

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
    fn validation_rules() {
        let bad = [
            "[server]\npath = \"x\"",
            "[server]\ntls_cert = \"a.pem\"",
            "[connection]\nping_interval_ms = 0",
            "[connection]\ntransports = [\"carrier-pigeon\"]",
            "[connection]\nslow_client = \"drop\"",
            "[connection]\nws_read_buffer = 16385",
            "[connection]\nper_message_deflate_level = 10",
            "[connection]\nper_message_deflate_client_max_window_bits = 7",
            "[connection]\nper_message_deflate_client_max_window_bits = 16",
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
            "[redis]\nadapter = \"cluster\"",
            "[redis]\nsubscription_mode = \"private\"",
            "[redis]\nurl = \"redis-cluster://h:7000\"",
            "[redis]\nurl = \"http://h:6379\"",
            "[redis]\nkey_prefix = \"\"",
            "[redis]\nrequests_timeout_ms = 0",
            "[postgres]\nurl = \"mysql://h/db\"",
            "[postgres]\nchannel_prefix = \"\"",
            "[postgres]\ntable_name = \"t; DROP TABLE x\"",
            "[postgres]\npayload_threshold = 8001",
            "[postgres]\npayload_threshold = 0",
            "[postgres]\nnotify = true",
            "[log]\nformat = \"xml\"",
            "[server]\npath = \"/\"",
            "[server]\npath = \"/api\"",
            "[server]\npath = [\"/a\", \"/a\"]",
            "[server]\npath = \"/metrics\"",
            "[monitoring]\nmax_event_log = 1000000",
            "[server]\npath = \"/dashboard\"",
            "[dashboard]\nevent_log = 10001",
            "[dashboard]\nhistory = 10001",
            "[dashboard]\nsample_secs = 0",
            "[dashboard]\nsession_ttl_secs = 59",
            "[dashboard]\nmax_sessions = 0",
            "[dashboard]\nlogin_failures_per_minute = 0",
            "[dashboard]\ncluster_timeout_ms = 49",
            "[dashboard]\ncluster_timeout_ms = 60001",
            "[dashboard]\ncluster_max_nodes = 0",
            "[dashboard]\ncluster_forget_secs = 0",
        ];
        for b in bad {
            assert!(Config::from_toml(b).is_err(), "accepted: {b}");
        }
    }

    #[test]
    fn the_postgres_section_and_one_engine_at_a_time() {
        let c = Config::from_toml("[postgres]\nenabled = true\n").unwrap();
        assert_eq!(
            c.postgres.url,
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(c.postgres.channel_prefix, "socket.io");
        assert_eq!(c.postgres.table_name, "socket_io_attachments");
        assert_eq!(c.postgres.payload_threshold, 8000);
        let c = Config::from_toml(
            "[postgres]\nurl = \"postgresql://u:pw@db:5433/app\"\ntable_name = \"io.att\"\npayload_threshold = 4000\n",
        )
        .unwrap();
        assert_eq!(c.postgres.table_name, "io.att");
        assert_eq!(c.masked().postgres.url, "postgresql://***@db:5433/app");
        let e =
            Config::from_toml("[redis]\nenabled = true\n[postgres]\nenabled = true\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid config: redis.enabled and postgres.enabled are both true: a server joins \
             one cluster, through Redis or through PostgreSQL; disable one of them"
        );
    }

    #[test]
    fn the_redis_section() {
        let c = Config::from_toml("[redis]\nenabled = true\n").unwrap();
        assert_eq!(c.redis.url, "redis://127.0.0.1:6379");
        assert_eq!(c.redis.adapter, RedisAdapterKind::Pubsub);
        assert_eq!(c.redis.key_prefix, "socket.io");
        assert_eq!(c.redis.requests_timeout_ms, 5000);
        assert_eq!(c.redis.subscription_mode, RedisSubscriptionMode::Dynamic);
        let c = Config::from_toml(
            "[redis]\nadapter = \"sharded\"\nsubscription_mode = \"static\"\nurl = \"redis-cluster://h:7000?node=h:7001\"\n",
        )
        .unwrap();
        assert_eq!(c.redis.adapter, RedisAdapterKind::Sharded);
        assert_eq!(c.redis.subscription_mode, RedisSubscriptionMode::Static);
        let e = Config::from_toml("[redis]\nurl = \"redis-cluster://h:7000\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid config: redis.url redis-cluster:// needs redis.adapter `sharded`, or \
             `streams` with redis.use_sharded_pub_sub"
        );
        let c = Config::from_toml(
            "[redis]\nurl = \"redis-cluster://127.0.0.1:7000\"\nadapter = \"streams\"\n\
             use_sharded_pub_sub = true\nstream_count = 3\nblock_time_ms = 250\n\
             session_key_prefix = \"app:s:\"\n",
        )
        .unwrap();
        assert_eq!(
            (
                c.redis.use_sharded_pub_sub,
                c.redis.stream_count,
                c.redis.block_time_ms,
                c.redis.session_key_prefix.as_str()
            ),
            (true, 3, 250, "app:s:")
        );
        let e = Config::from_toml("[redis]\nadapter = \"cluster\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid config: redis.adapter `cluster` must be `pubsub`, `sharded` or `streams`"
        );
        let c = Config::from_toml(
            "[redis]\nadapter = \"streams\"\nstream_name = \"s\"\nmax_len = 50\nread_count = 5\n",
        )
        .unwrap();
        assert_eq!(c.redis.adapter, RedisAdapterKind::Streams);
        assert_eq!(
            (
                c.redis.stream_name.as_str(),
                c.redis.max_len,
                c.redis.read_count
            ),
            ("s", 50, 5)
        );
        let d = Config::from_toml("[redis]\n").unwrap();
        assert_eq!(
            (
                d.redis.stream_name.as_str(),
                d.redis.max_len,
                d.redis.read_count
            ),
            ("socket.io", 10_000, 100)
        );
        assert_eq!(
            (
                d.redis.stream_count,
                d.redis.use_sharded_pub_sub,
                d.redis.block_time_ms,
                d.redis.session_key_prefix.as_str()
            ),
            (1, false, 5000, "sio:session:")
        );
        for (bad, msg) in [
            ("stream_name = \"\"", "redis.stream_name must not be empty"),
            ("max_len = 0", "redis.max_len must be 1 to 100000000"),
            ("read_count = 0", "redis.read_count must be 1 to 100000"),
            ("stream_count = 0", "redis.stream_count must be 1 to 1024"),
            (
                "stream_count = 1025",
                "redis.stream_count must be 1 to 1024",
            ),
            (
                "block_time_ms = 0",
                "redis.block_time_ms must be 1 to 60000",
            ),
            (
                "session_key_prefix = \"\"",
                "redis.session_key_prefix must not be empty",
            ),
        ] {
            let e =
                Config::from_toml(&format!("[redis]\nadapter = \"streams\"\n{bad}\n")).unwrap_err();
            assert_eq!(e.to_string(), format!("invalid config: {msg}"));
        }
        let c = Layers::new()
            .env([(
                "SOCKETIO_SERVER_REDIS__KEY_PREFIX".to_string(),
                "app".to_string(),
            )])
            .unwrap()
            .set("--set", "redis.enabled", "true")
            .unwrap()
            .build()
            .unwrap();
        assert!(c.redis.enabled);
        assert_eq!(c.redis.key_prefix, "app");
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
}
