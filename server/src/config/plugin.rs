//! The CMS plugin's camelCase settings names (document 000's
//! `PluginSettings`: `connection.maxConnections`, `security.ipWhitelist`,
//! `rolePermissions`...) beside this server's own, through one mapping
//! table, [`PLUGIN_NAMES`]: [`from_plugin_names`] turns a settings patch
//! that uses them (alone or mixed with ours) into ours, [`plugin_view`]
//! shows settings under them.
//!
//! Pure JSON rewriting; the patch itself is [`super::patch`]'s.

use serde_json::{Map, Value};

/// The plugin's name of a setting and ours, as dotted paths; `*` stands
/// for any one name (a role, a namespace without its `/`).
pub const PLUGIN_NAMES: &[(&str, &str)] = &[
    ("cors.origins", "cors.origins"),
    ("connection.maxConnections", "connection.max_connections"),
    ("connection.pingTimeout", "connection.ping_timeout_ms"),
    ("connection.pingInterval", "connection.ping_interval_ms"),
    (
        "connection.connectionTimeout",
        "connection.connect_timeout_ms",
    ),
    (
        "security.requireAuthentication",
        "auth.require_authentication",
    ),
    ("security.rateLimiting.enabled", "rate_limits.enabled"),
    (
        "security.rateLimiting.maxEventsPerSecond",
        "rate_limits.events_per_second",
    ),
    ("security.ipWhitelist", "security.ip_allow"),
    ("security.ipBlacklist", "security.ip_deny"),
    ("events.customEventNames", "content.custom_event_names"),
    ("events.includeRelations", "content.include_relations"),
    ("events.excludeFields", "content.exclude_fields"),
    ("events.onlyPublished", "content.only_published"),
    ("rolePermissions.*.canConnect", "roles.*.can_connect"),
    ("rolePermissions.*.contentTypes", "roles.*.content_types"),
    (
        "namespaces.list.*.requireAuth",
        "namespaces./*.require_auth",
    ),
    ("redis.enabled", "redis.enabled"),
    ("redis.url", "redis.url"),
    (
        "monitoring.enableConnectionLogging",
        "monitoring.connection_logging",
    ),
    ("monitoring.enableEventLogging", "monitoring.event_logging"),
    ("monitoring.maxEventLogSize", "monitoring.max_event_log"),
];

/// Whether plugin path `pattern` matches `path` entirely (`full`) or
/// starts with it.
fn matches(pattern: &str, path: &[&str], full: bool) -> bool {
    let pat: Vec<&str> = pattern.split('.').collect();
    if (full && pat.len() != path.len()) || pat.len() < path.len() {
        return false;
    }
    pat.iter().zip(path).all(|(p, s)| *p == "*" || p == s)
}

/// Our path for plugin path `path` under `pattern` → `target`: the `*`
/// segments filled with `path`'s names in order (`/*` takes a leading `/`
/// unless the name has one).
fn fill(pattern: &str, target: &str, path: &[&str]) -> Vec<String> {
    let mut names = pattern
        .split('.')
        .zip(path)
        .filter(|(p, _)| *p == "*")
        .map(|(_, n)| *n);
    target
        .split('.')
        .map(|t| match t {
            "*" => names.next().unwrap_or_default().to_owned(),
            "/*" => {
                let n = names.next().unwrap_or_default();
                if n.starts_with('/') {
                    n.to_owned()
                } else {
                    format!("/{n}")
                }
            }
            t => t.to_owned(),
        })
        .collect()
}

/// A patch with the plugin's names replaced by ours. A name and its
/// counterpart may both be given only with equal values. Role content
/// types may be named by uid (`api::article.article`): the last part
/// names them here.
pub fn from_plugin_names(patch: &Value) -> Result<Value, String> {
    let mut out = Value::Object(Map::new());
    walk(patch, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn walk<'a>(v: &'a Value, path: &mut Vec<&'a str>, out: &mut Value) -> Result<(), String> {
    if !path.is_empty() {
        if let Some((pat, target)) = PLUGIN_NAMES.iter().find(|(p, _)| matches(p, path, true)) {
            let to = fill(pat, target, path);
            let v = if target.ends_with("content_types") {
                content_types_by_name(v)
            } else {
                v.clone()
            };
            return insert(out, &to, v, &path.join("."));
        }
    }
    let inner = PLUGIN_NAMES.iter().any(|(p, _)| matches(p, path, false));
    match v {
        Value::Object(m) if inner || path.is_empty() => {
            for (k, x) in m {
                path.push(k);
                walk(x, path, out)?;
                path.pop();
            }
            Ok(())
        }
        _ => {
            let to: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
            insert(out, &to, v.clone(), &path.join("."))
        }
    }
}

/// `{uid or name: actions}` keyed by name.
fn content_types_by_name(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, a)| {
                    let name = match k.split_once("::") {
                        Some((_, rest)) => rest.rsplit('.').next().unwrap_or(rest),
                        None => k,
                    };
                    (name.to_owned(), a.clone())
                })
                .collect(),
        ),
        v => v.clone(),
    }
}

/// Puts `v` at `path` in `out`, merging objects; refuses two different
/// values for one setting.
fn insert(out: &mut Value, path: &[String], v: Value, from: &str) -> Result<(), String> {
    let mut at = out;
    for seg in path {
        if at.is_null() {
            *at = Value::Object(Map::new());
        }
        let Value::Object(m) = at else {
            return Err(format!("`{from}` conflicts with another setting"));
        };
        at = m.entry(seg.clone()).or_insert(Value::Null);
    }
    merge(at, v, from)
}

fn merge(at: &mut Value, v: Value, from: &str) -> Result<(), String> {
    match (at, v) {
        (at @ Value::Null, v) => {
            *at = v;
            Ok(())
        }
        (Value::Object(a), Value::Object(b)) => {
            for (k, x) in b {
                merge(a.entry(k).or_insert(Value::Null), x, from)?;
            }
            Ok(())
        }
        (a, b) if *a == b => Ok(()),
        _ => Err(format!(
            "`{from}` and the same setting under its other name disagree"
        )),
    }
}

/// `settings` (ours, as JSON) under the plugin's names: every entry of
/// [`PLUGIN_NAMES`] that `settings` has a value for.
pub fn plugin_view(settings: &Value) -> Value {
    let mut out = Value::Object(Map::new());
    for (pat, target) in PLUGIN_NAMES {
        for (ours, names) in expand(settings, target) {
            let mut names = names.into_iter();
            let path: Vec<String> = pat
                .split('.')
                .map(|p| match p {
                    "*" => names.next().unwrap_or_default(),
                    p => p.to_owned(),
                })
                .collect();
            let _ = insert(&mut out, &path, ours, pat);
        }
    }
    out
}

/// The values at `target` in `settings`, each with the names its `*`
/// segments took (a namespace's without its `/`).
fn expand(settings: &Value, target: &str) -> Vec<(Value, Vec<String>)> {
    let mut found = vec![(settings, Vec::new())];
    for seg in target.split('.') {
        let mut next = Vec::new();
        for (v, names) in found {
            match (seg, v) {
                ("*" | "/*", Value::Object(m)) => {
                    for (k, x) in m {
                        let mut n = names.clone();
                        n.push(k.strip_prefix('/').unwrap_or(k).to_owned());
                        next.push((x, n));
                    }
                }
                (seg, v) => {
                    if let Some(x) = v.get(seg) {
                        next.push((x, names));
                    }
                }
            }
        }
        found = next;
    }
    found.into_iter().map(|(v, n)| (v.clone(), n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plugin_names_become_ours() {
        let p = json!({
            "connection": { "maxConnections": 2000, "pingTimeout": 30000 },
            "cors": { "origins": ["https://app.example.com"] },
            "security": { "ipWhitelist": ["10.0.0.0/8"], "rateLimiting": { "maxEventsPerSecond": 5 },
                          "requireAuthentication": false, "trusted_proxies": [] },
            "events": { "excludeFields": ["secret"], "presence": false },
            "rolePermissions": { "public": { "canConnect": true,
                "contentTypes": { "api::article.article": { "create": true } } } },
            "namespaces": { "list": { "admin": { "requireAuth": true } } },
            "monitoring": { "maxEventLogSize": 10 }
        });
        let ours = from_plugin_names(&p).unwrap();
        assert_eq!(
            ours,
            json!({
                "connection": { "max_connections": 2000, "ping_timeout_ms": 30000 },
                "cors": { "origins": ["https://app.example.com"] },
                "security": { "ip_allow": ["10.0.0.0/8"], "trusted_proxies": [] },
                "rate_limits": { "events_per_second": 5 },
                "auth": { "require_authentication": false },
                "content": { "exclude_fields": ["secret"] },
                "events": { "presence": false },
                "roles": { "public": { "can_connect": true, "content_types": { "article": { "create": true } } } },
                "namespaces": { "/admin": { "require_auth": true } },
                "monitoring": { "max_event_log": 10 }
            })
        );
        // Our names pass unchanged.
        let same = json!({ "connection": { "max_connections": 5 }, "roles": { "a": { "can_connect": false } } });
        assert_eq!(from_plugin_names(&same).unwrap(), same);
    }

    #[test]
    fn both_names_must_agree() {
        let p = json!({ "connection": { "maxConnections": 5, "max_connections": 5 } });
        assert_eq!(
            from_plugin_names(&p).unwrap(),
            json!({ "connection": { "max_connections": 5 } })
        );
        let p = json!({ "connection": { "maxConnections": 5, "max_connections": 6 } });
        assert!(from_plugin_names(&p).unwrap_err().contains("disagree"));
    }

    #[test]
    fn the_view_shows_every_mapped_setting() {
        let c = serde_json::to_value(crate::config::Config::from_toml(
            "[namespaces.\"/admin\"]\nrequire_auth = false\n[roles.public.content_types.article]\ncreate = true\n",
        ).unwrap())
        .unwrap();
        let v = plugin_view(&c);
        assert_eq!(v["connection"]["maxConnections"], 10_000);
        assert_eq!(v["security"]["rateLimiting"]["maxEventsPerSecond"], 10);
        assert_eq!(v["events"]["excludeFields"][0], "password");
        assert_eq!(
            v["rolePermissions"]["public"]["contentTypes"]["article"]["create"],
            true
        );
        assert_eq!(v["namespaces"]["list"]["admin"]["requireAuth"], false);
        // The view reads back as the same settings.
        let back = from_plugin_names(&v).unwrap();
        for (_, ours) in PLUGIN_NAMES.iter().filter(|(p, _)| !p.contains('*')) {
            let path: Vec<&str> = ours.split('.').collect();
            let get = |v: &Value| path.iter().fold(v.clone(), |v, s| v[s].clone());
            assert_eq!(get(&back), get(&c), "{ours}");
        }
    }
}
