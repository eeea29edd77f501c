//! Layering: the embedded defaults, then config files, then
//! `SOCKETIO_SERVER_*` environment variables, then command-line flags
//! (each a dotted key and a value), merged as TOML tables.
//!
//! Owns merging and naming the source of an error; the schema and the
//! checks are elsewhere. Reads no file or environment itself: callers pass
//! the text and the variables.

use super::{Config, ConfigError};

/// Prefix of the environment variables that override config keys:
/// `SOCKETIO_SERVER_<SECTION>__<KEY>`, e.g. `SOCKETIO_SERVER_SERVER__PORT=4000`.
pub const ENV_PREFIX: &str = "SOCKETIO_SERVER_";

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
        self.check(source)?;
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
            let source = format!(
                "environment variable {ENV_PREFIX}{}",
                key.to_ascii_uppercase().replace('.', "__")
            );
            self = self.set(&source, &key, &value).map_err(|e| match e {
                // No `__`: most likely another program's variable with
                // this prefix (a script's `SOCKETIO_SERVER_BIN`), not a
                // top-level key (`proxy`) with a typo.
                ConfigError::Parse(src, m) if !key.contains('.') => ConfigError::Parse(
                    src,
                    format!(
                        "{}; the server reads every {ENV_PREFIX}* variable as a config key \
                         ({ENV_PREFIX}<SECTION>__<KEY>): unset it if it is another program's",
                        m.trim_end()
                    ),
                ),
                e => e,
            })?;
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
        self.check(source)?;
        Ok(self)
    }

    /// Parses the layers so far: a parse error names `source`. Invalid
    /// values are reported by [`Layers::build`] (a later layer may still
    /// replace them).
    fn check(&self, source: &str) -> Result<(), ConfigError> {
        match Config::from_table(self.table.clone()) {
            Err(ConfigError::Parse(_, m)) => Err(ConfigError::Parse(source.into(), m)),
            _ => Ok(()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_variable_naming_no_key_says_how_variables_are_read() {
        // A script's own variable with the prefix is refused, and the
        // error says why rather than only listing the sections.
        let e = Layers::new()
            .env([(
                "SOCKETIO_SERVER_BIN".to_string(),
                "target/debug/socketio-server".to_string(),
            )])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("environment variable SOCKETIO_SERVER_BIN:"),
            "{e}"
        );
        assert!(e.contains("SOCKETIO_SERVER_<SECTION>__<KEY>"), "{e}");
        assert!(e.contains("another program's"), "{e}");
        // A section's key keeps the plain message.
        let e = Layers::new()
            .env([("SOCKETIO_SERVER_SERVER__PROT".to_string(), "1".to_string())])
            .unwrap_err()
            .to_string();
        assert!(!e.contains("another program's"), "{e}");
        // A top-level key with a value still works (`proxy` is an array).
        let c = Layers::new()
            .env([("SOCKETIO_SERVER_PROXY".to_string(), "[]".to_string())])
            .unwrap()
            .build()
            .unwrap();
        assert!(c.proxy.is_empty());
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
}
