//! The run-time settings patch (`PATCH /api/settings`): a JSON partial
//! update (our names or the CMS plugin's, see [`super::plugin`]) merged
//! over the settings in force, validated, and refused when it touches
//! anything outside [`RUNTIME_SETTINGS`] or names a secret
//! ([`SECRET_SETTINGS`]).
//!
//! Pure: returns the next configuration; putting it in force is the
//! caller's.

use std::collections::BTreeMap;

use super::validate::check_choices;
use super::{
    Config, ConfigError, ContentSection, CorsSection, EventsSection, MonitoringSection,
    RateLimitSection, SecuritySection,
};

/// What the settings API may change at run time.
pub const RUNTIME_SETTINGS: &[&str] = &[
    "cors",
    "rate_limits (except max_tracked_keys)",
    "security",
    "roles",
    "monitoring",
    "events (except reserved_room_prefixes)",
    "content",
    "connection.max_connections",
    "auth.require_authentication",
    "namespaces.<existing>.require_auth",
];

/// Settings holding secrets: a patch naming one is refused whatever its
/// value (an answer that differs when the value is right would confirm a
/// guessed secret).
pub const SECRET_SETTINGS: &[(&str, &str)] = &[
    ("auth", "jwt_secrets"),
    ("api", "keys"),
    ("api", "admin_keys"),
    ("redis", "url"),
    ("postgres", "url"),
    ("proxy_connect", "secret"),
    ("admin_ui", "password_hash"),
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
    f.events = EventsSection {
        // Fixed at start: sockets joined their users' rooms by these.
        reserved_room_prefixes: c.events.reserved_room_prefixes.clone(),
        ..EventsSection::default()
    };
    f.content = ContentSection::default();
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
    let patch = super::plugin::from_plugin_names(patch).map_err(ConfigError::Invalid)?;
    if let Some((s, k)) = SECRET_SETTINGS
        .iter()
        .find(|(s, k)| patch.get(s).and_then(|x| x.get(k)).is_some())
    {
        return Err(ConfigError::Invalid(format!(
            "{s}.{k} holds a secret and cannot be changed or checked through the settings API"
        )));
    }
    if patch.get("proxy").is_some() {
        // Each `[[proxy]]` rule holds its backend's secret.
        return Err(ConfigError::Invalid(
            "proxy holds a secret in each rule and cannot be changed or checked through the settings API".into(),
        ));
    }
    let mut base =
        serde_json::to_value(current).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    merge_json(&mut base, &patch);
    let refused = check_choices(&mut base);
    let next: Config = serde_json::from_value(base)
        .map_err(|e| ConfigError::Parse("settings".into(), e.to_string()))?;
    if let Some(m) = refused {
        return Err(ConfigError::Invalid(m));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
