//! `[admin_ui]`: the official Admin UI (`@socket.io/admin-ui`) served on
//! a namespace of this server (see `socketio::admin`), and its checks.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[admin_ui]`: the official Admin UI's namespace. The UI runs in a
/// browser on another origin (<https://admin.socket.io>, or a copy served
/// elsewhere) and connects with credentials: list that origin in
/// `[cors] origins` with `credentials = true`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AdminUiSection {
    /// Serve the Admin UI's namespace. Default false.
    pub enabled: bool,
    /// The username the UI logs in with; required when enabled. Default empty.
    pub username: String,
    /// The bcrypt hash (`$2a$`/`$2b$`/`$2y$`) of the UI's password;
    /// required when enabled. A secret: masked in every view, refused by
    /// the settings API. Default empty.
    pub password_hash: String,
    /// The UI only watches: no emit, join, leave or disconnect. Default false.
    pub read_only: bool,
    /// The namespace the UI connects to, not `/` nor one of
    /// `[namespaces]`. Default `"/admin"`.
    pub namespace: String,
    /// The UI's failed logins per client address per minute; beyond, its
    /// logins are refused ("too many failed logins") until the minute
    /// ends. Default 5; 0 disables the limit. (The dashboard's own login
    /// has `dashboard.login_failures_per_minute`.)
    pub login_failures_per_minute: u32,
    /// How long a session id the UI got at login stays valid, in seconds.
    /// Default 86400 (the reference's), 60 to 2592000.
    pub session_ttl_secs: u64,
    /// With `[redis]` enabled, session ids are kept in Redis under
    /// `<session_prefix>#<id>`, as `@socket.io/admin-ui`'s `RedisStore`
    /// keeps them (its default prefix is this default), so every node, a
    /// later one or a Node server with that store included, accepts them.
    /// Default `"socket.io-admin"`, 1 to 128 bytes.
    pub session_prefix: String,
}

impl Default for AdminUiSection {
    fn default() -> Self {
        AdminUiSection {
            enabled: false,
            username: String::new(),
            password_hash: String::new(),
            read_only: false,
            namespace: "/admin".to_owned(),
            login_failures_per_minute: socketio::admin::DEFAULT_LOGIN_FAILURES_PER_MINUTE,
            session_ttl_secs: socketio::admin::DEFAULT_SESSION_TTL.as_secs(),
            session_prefix: "socket.io-admin".to_owned(),
        }
    }
}

impl AdminUiSection {
    /// The UI's credentials, as the Socket.IO layer checks them.
    pub fn credentials(&self) -> Result<socketio::admin::Credentials, ConfigError> {
        socketio::admin::Credentials::new(&self.username, &self.password_hash).map_err(|e| {
            ConfigError::Invalid(match e {
                socketio::admin::AdminError::NoUsername => {
                    "admin_ui.username is required when admin_ui.enabled".to_owned()
                }
                _ => "admin_ui.password_hash must be a bcrypt hash ($2b$...)".to_owned(),
            })
        })
    }

    /// When enabled: credentials that work, and a namespace of its own.
    pub(super) fn check<'a>(
        &self,
        mut namespaces: impl Iterator<Item = &'a String>,
    ) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        self.credentials()?;
        if !(60..=2_592_000).contains(&self.session_ttl_secs) {
            return Err(ConfigError::Invalid(
                "admin_ui.session_ttl_secs must be 60 to 2592000".to_owned(),
            ));
        }
        if self.session_prefix.is_empty() || self.session_prefix.len() > 128 {
            return Err(ConfigError::Invalid(
                "admin_ui.session_prefix must be 1 to 128 bytes".to_owned(),
            ));
        }
        let n = &self.namespace;
        if !n.starts_with('/') || n == "/" || namespaces.any(|k| k == n) {
            return Err(ConfigError::Invalid(format!(
                "admin_ui.namespace `{n}` must start with `/` and be neither `/` nor one of [namespaces]"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const HASH: &str = "$2a$04$02HPE/21Z1L2otbVBYk6.eSPDWraCLpJfiR3sI1DYNvs.DOHhGrC.";

    fn cfg(body: &str) -> Result<Config, String> {
        Config::from_toml(&format!("[admin_ui]\n{body}")).map_err(|e| e.to_string())
    }

    #[test]
    fn an_enabled_section_needs_a_username_a_bcrypt_hash_and_its_own_namespace() {
        let ok = cfg(&format!(
            "enabled = true\nusername = \"admin\"\npassword_hash = \"{HASH}\""
        ))
        .unwrap();
        assert_eq!(ok.admin_ui.namespace, "/admin");
        let no_user = cfg(&format!("enabled = true\npassword_hash = \"{HASH}\"")).unwrap_err();
        assert!(
            no_user.contains("admin_ui.username is required"),
            "{no_user}"
        );
        let bad_hash =
            cfg("enabled = true\nusername = \"admin\"\npassword_hash = \"hunter2\"").unwrap_err();
        assert!(bad_hash.contains("bcrypt"), "{bad_hash}");
        assert!(!bad_hash.contains("hunter2"), "{bad_hash}");
        let main = cfg(&format!(
            "enabled = true\nusername = \"a\"\npassword_hash = \"{HASH}\"\nnamespace = \"/\""
        ))
        .unwrap_err();
        assert!(main.contains("admin_ui.namespace"), "{main}");
        // Disabled, nothing is required.
        assert!(cfg("username = \"\"").is_ok());
        let on = format!("enabled = true\nusername = \"a\"\npassword_hash = \"{HASH}\"\n");
        assert_eq!(cfg(&on).unwrap().admin_ui.session_prefix, "socket.io-admin");
        assert_eq!(cfg(&on).unwrap().admin_ui.session_ttl_secs, 86_400);
        for (bad, name) in [
            ("session_ttl_secs = 59", "session_ttl_secs"),
            ("session_ttl_secs = 2592001", "session_ttl_secs"),
            ("session_prefix = \"\"", "session_prefix"),
        ] {
            let e = cfg(&format!("{on}{bad}")).unwrap_err();
            assert!(e.contains(name), "{bad}: {e}");
        }
        assert!(cfg(&format!(
            "{on}session_ttl_secs = 60\nsession_prefix = \"x\""
        ))
        .is_ok());
    }

    #[test]
    fn the_hash_is_masked_and_the_settings_api_refuses_it() {
        let c = cfg(&format!(
            "enabled = true\nusername = \"admin\"\npassword_hash = \"{HASH}\""
        ))
        .unwrap();
        assert_eq!(c.masked().admin_ui.password_hash, "***");
        assert!(!c.to_masked_toml().contains(HASH));
        let patch = serde_json::json!({"admin_ui": {"password_hash": HASH}});
        let err = crate::config::apply_settings_patch(&c, &patch)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("admin_ui.password_hash holds a secret"),
            "{err}"
        );
        let patch = serde_json::json!({"admin_ui": {"read_only": true}});
        assert!(
            crate::config::apply_settings_patch(&c, &patch).is_err(),
            "not a run-time setting"
        );
    }
}
