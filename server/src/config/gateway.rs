//! The schema and checks of the application integration: the engine paths
//! (`server.path`, one or a list), the event proxy (`[[proxy]]`,
//! `[proxy_limits]`), the connection proxy (`[proxy_connect]`) and the
//! relay (`[[relay]]`), with the event-name globs they match by.
//!
//! Pure: shapes, defaults and checks only; calling the backend is
//! [`crate::gateway`]'s.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::Config;

/// `server.path`: the Engine.IO request paths, one or several. All of them
/// serve the one Socket.IO server (the same namespaces, rooms and
/// sockets): several mount points of one server, not several servers.
/// Written as a string (one path) or a list of strings. Default
/// `/socket.io/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnginePaths(Vec<String>);

impl EnginePaths {
    /// These paths (at least one, as written).
    pub fn new(paths: Vec<String>) -> Self {
        EnginePaths(paths)
    }

    /// The paths, as written.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none (refused by validation).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The path a request for `path` is for (trailing slashes aside), if
    /// any.
    pub fn matching(&self, path: &str) -> Option<&str> {
        let p = path.trim_end_matches('/');
        self.iter().find(|c| c.trim_end_matches('/') == p)
    }
}

impl Default for EnginePaths {
    fn default() -> Self {
        EnginePaths(vec!["/socket.io/".into()])
    }
}

impl From<&str> for EnginePaths {
    fn from(p: &str) -> Self {
        EnginePaths(vec![p.to_owned()])
    }
}

impl fmt::Display for EnginePaths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

impl Serialize for EnginePaths {
    /// One path as a string (as the key was before it took lists), several
    /// as a list.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for EnginePaths {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EnginePaths;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path or a list of paths")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EnginePaths, E> {
                Ok(EnginePaths(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EnginePaths, A::Error> {
                let mut out = Vec::new();
                while let Some(p) = seq.next_element::<String>()? {
                    out.push(p);
                }
                Ok(EnginePaths(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One `[[proxy]]` rule: client events matching `events` are POSTed to
/// `url` and answered from the backend's answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyRule {
    /// Event names this rule takes: exact names or globs where `*` stands
    /// for any run of characters (`"order:*"`). Required.
    pub events: Vec<String>,
    /// The backend's `http://` or `https://` URL. Required.
    pub url: String,
    /// Key of the `X-Signature` HMAC (at least 16 bytes). Required.
    pub secret: String,
    /// How long an event may wait for its answer, from its arrival (its
    /// turn in the socket's queue and the request itself), in
    /// milliseconds, 1 to 60,000; past it the client gets
    /// `BACKEND_UNAVAILABLE`. Default 5000.
    pub timeout_ms: u64,
    /// Namespaces the rule applies in; empty is every one. Default empty.
    pub namespaces: Vec<String>,
}

impl Default for ProxyRule {
    fn default() -> Self {
        ProxyRule {
            events: Vec::new(),
            url: String::new(),
            secret: String::new(),
            timeout_ms: 5000,
            namespaces: Vec::new(),
        }
    }
}

/// `[proxy_limits]`: how much of the backend the event proxy may use.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyLimitsSection {
    /// Most backend requests in flight at once over every socket (the
    /// connection proxy's included); further ones wait their turn (within
    /// their `timeout_ms`). Default 256.
    pub max_concurrent: usize,
    /// Most requests of one socket in flight at once. With 1 the backend
    /// gets a socket's events one after another, in the order sent; with
    /// more they overlap, and their answers (acks, emits, joins) are still
    /// applied in the order the events were sent. Default 1.
    pub max_concurrent_per_socket: usize,
    /// Most events of one socket waiting for the backend (in flight
    /// included); further ones are answered at once with `BACKEND_BUSY`.
    /// Default 64.
    pub max_queued_per_socket: usize,
    /// Largest backend answer read, in bytes; a longer one counts as
    /// unavailable. Default 1,048,576.
    pub max_answer_bytes: usize,
    /// PEM file of extra trust anchors (say a private CA) for `https://`
    /// backends, beside Mozilla's roots; read at start. Default none.
    pub ca_file: Option<String>,
}

impl Default for ProxyLimitsSection {
    fn default() -> Self {
        ProxyLimitsSection {
            max_concurrent: 256,
            max_concurrent_per_socket: 1,
            max_queued_per_socket: 64,
            max_answer_bytes: 1_048_576,
            ca_file: None,
        }
    }
}

/// `[proxy_connect]`: the backend accepts or refuses each namespace
/// connection, and may attach data to the socket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyConnectSection {
    /// The backend's `http://` or `https://` URL; empty turns the connection
    /// proxy off.
    /// Default empty.
    pub url: String,
    /// Key of the `X-Signature` HMAC (at least 16 bytes); required with
    /// `url`. Default empty.
    pub secret: String,
    /// How long a connection waits for the answer, in milliseconds, 1 to
    /// 60,000; past it (or when the backend is unreachable or answers
    /// non-2xx) the connection is refused with `BACKEND_UNAVAILABLE`.
    /// Default 5000.
    pub timeout_ms: u64,
    /// Namespaces whose connections are checked; empty is every one.
    /// Default empty.
    pub namespaces: Vec<String>,
}

impl Default for ProxyConnectSection {
    fn default() -> Self {
        ProxyConnectSection {
            url: String::new(),
            secret: String::new(),
            timeout_ms: 5000,
            namespaces: Vec::new(),
        }
    }
}

/// One `[[relay]]` rule: client events matching `events` go to the other
/// sockets of the sender's rooms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RelayRule {
    /// Event names this rule takes (exact names or `*` globs). Required.
    pub events: Vec<String>,
    /// A field of the first argument that names the one room to relay to
    /// (the sender must be in it), e.g. `"roomId"`; empty relays to every
    /// room the sender joined. Default empty.
    pub room_field: String,
    /// Namespaces the rule applies in; empty is every one. Default empty.
    pub namespaces: Vec<String>,
}

/// Whether `name` matches `pattern`, where `*` in the pattern stands for
/// any run of characters (none included) and everything else for itself.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: an exact name.
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether a rule for `events` in `namespaces` takes `event` in `namespace`.
fn rule_takes(events: &[String], namespaces: &[String], namespace: &str, event: &str) -> bool {
    (namespaces.is_empty() || namespaces.iter().any(|n| n == namespace))
        && events.iter().any(|p| glob_matches(p, event))
}

impl ProxyRule {
    /// Whether this rule takes `event` in `namespace`.
    pub fn takes(&self, namespace: &str, event: &str) -> bool {
        rule_takes(&self.events, &self.namespaces, namespace, event)
    }
}

impl RelayRule {
    /// Whether this rule takes `event` in `namespace`.
    pub fn takes(&self, namespace: &str, event: &str) -> bool {
        rule_takes(&self.events, &self.namespaces, namespace, event)
    }
}

impl ProxyConnectSection {
    /// Whether connections to `namespace` are checked by the backend.
    pub fn checks(&self, namespace: &str) -> bool {
        !self.url.is_empty()
            && (self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == namespace))
    }
}

/// What an application rule does with an event: the first `[[proxy]]`
/// rule that takes it wins, then the first `[[relay]]` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppRoute {
    /// `proxy[i]`.
    Proxy(usize),
    /// `relay[i]`.
    Relay(usize),
}

impl Config {
    /// The rule that takes `event` in `namespace`, if any (such an event
    /// goes to its rule, not to a built-in handler of the same name).
    pub fn app_route(&self, namespace: &str, event: &str) -> Option<AppRoute> {
        if let Some(i) = self.proxy.iter().position(|r| r.takes(namespace, event)) {
            return Some(AppRoute::Proxy(i));
        }
        self.relay
            .iter()
            .position(|r| r.takes(namespace, event))
            .map(AppRoute::Relay)
    }

    /// Checks the engine paths against the paths served beside them:
    /// `/health`, `/ready`, `/metrics` (and below), `/api` itself (every
    /// API route is below it), and each of `api_routes` (the HTTP API's
    /// route paths): an engine path equal to one would hide it. A path
    /// below `/api/` that is no route (`/api/socket`) is fine: API routes
    /// are matched first, so they keep answering.
    pub fn check_engine_paths<'a>(
        &self,
        api_routes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), String> {
        let routes: Vec<&str> = api_routes.into_iter().collect();
        let paths = &self.server.path;
        if paths.is_empty() {
            return Err("server.path must name at least one path".into());
        }
        let mut seen: Vec<&str> = Vec::new();
        for raw in paths.iter() {
            if !raw.starts_with('/') {
                return Err(format!("server.path `{raw}` must start with `/`"));
            }
            if raw.contains(['?', '#']) || raw.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(format!(
                    "server.path `{raw}` must be a plain path (no query, fragment or spaces)"
                ));
            }
            let p = raw.trim_end_matches('/');
            if p.is_empty() || p == "/api" {
                return Err(format!(
                    "server.path `{raw}` would hide the whole HTTP API; use a path of its own, such as /socket.io/ or /api/socket"
                ));
            }
            let fixed = ["/health", "/ready", "/metrics", "/dashboard"];
            if let Some(f) = fixed
                .iter()
                .find(|f| p == **f || p.starts_with(&format!("{f}/")))
            {
                return Err(format!("server.path `{raw}` would hide {f}"));
            }
            if let Some(r) = routes.iter().find(|r| r.trim_end_matches('/') == p) {
                return Err(format!(
                    "server.path `{raw}` is the HTTP API route {r}; pick another path"
                ));
            }
            if seen.contains(&p) {
                return Err(format!("server.path lists `{raw}` twice"));
            }
            seen.push(p);
        }
        Ok(())
    }

    /// Checks `[[proxy]]`, `[proxy_limits]`, `[proxy_connect]` and
    /// `[[relay]]`.
    pub(super) fn check_gateway(&self) -> Result<(), String> {
        for (i, r) in self.proxy.iter().enumerate() {
            let at = format!("proxy[{i}]");
            check_events(&at, &r.events)?;
            check_url(&format!("{at}.url"), &r.url)?;
            check_secret(&format!("{at}.secret"), &r.secret)?;
            check_timeout(&format!("{at}.timeout_ms"), r.timeout_ms)?;
            check_namespaces(self, &at, &r.namespaces)?;
        }
        for (i, r) in self.relay.iter().enumerate() {
            let at = format!("relay[{i}]");
            check_events(&at, &r.events)?;
            check_namespaces(self, &at, &r.namespaces)?;
            if r.room_field.chars().any(char::is_control) {
                return Err(format!("{at}.room_field must be a plain field name"));
            }
        }
        let c = &self.proxy_connect;
        if !c.url.is_empty() {
            check_url("proxy_connect.url", &c.url)?;
            check_secret("proxy_connect.secret", &c.secret)?;
            check_timeout("proxy_connect.timeout_ms", c.timeout_ms)?;
            check_namespaces(self, "proxy_connect", &c.namespaces)?;
        }
        let l = &self.proxy_limits;
        if l.max_concurrent == 0 || l.max_concurrent > 100_000 {
            return Err("proxy_limits.max_concurrent must be 1 to 100000".into());
        }
        if l.max_concurrent_per_socket == 0 || l.max_concurrent_per_socket > 1000 {
            return Err("proxy_limits.max_concurrent_per_socket must be 1 to 1000".into());
        }
        if l.max_queued_per_socket < l.max_concurrent_per_socket
            || l.max_queued_per_socket > 100_000
        {
            return Err(
                "proxy_limits.max_queued_per_socket must be at least max_concurrent_per_socket and at most 100000"
                    .into(),
            );
        }
        if !(1024..=64 * 1024 * 1024).contains(&l.max_answer_bytes) {
            return Err("proxy_limits.max_answer_bytes must be 1024 to 67108864".into());
        }
        if let Some(path) = &l.ca_file {
            crate::tls_client::config(Some(path), "proxy_limits.ca_file")?;
        }
        Ok(())
    }
}

fn check_events(at: &str, events: &[String]) -> Result<(), String> {
    if events.is_empty() {
        return Err(format!("{at}.events must name at least one event"));
    }
    for e in events {
        if e.is_empty() || e == "*" {
            return Err(format!(
                "{at}.events: `{e}` would take every event; name them (`order:*`)"
            ));
        }
        if e.chars().any(char::is_control) {
            return Err(format!("{at}.events: bad event name `{e}`"));
        }
    }
    Ok(())
}

fn check_url(at: &str, url: &str) -> Result<(), String> {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return Err(format!("{at} must be an http:// or https:// URL"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') || url.parse::<http::Uri>().is_err() {
        return Err(format!(
            "{at} must be http(s)://host[:port]/path (no credentials)"
        ));
    }
    Ok(())
}

fn check_secret(at: &str, secret: &str) -> Result<(), String> {
    if secret.len() < 16 {
        return Err(format!("{at} must be at least 16 bytes"));
    }
    Ok(())
}

fn check_timeout(at: &str, ms: u64) -> Result<(), String> {
    if !(1..=60_000).contains(&ms) {
        return Err(format!("{at} must be 1 to 60000"));
    }
    Ok(())
}

fn check_namespaces(c: &Config, at: &str, names: &[String]) -> Result<(), String> {
    for n in names {
        if n != "/" && !c.namespaces.contains_key(n) {
            return Err(format!(
                "{at}.namespaces: `{n}` is not a configured namespace"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commented_rules_of_the_example_file_are_valid() {
        let mut blocks = Vec::new();
        let mut cur: Option<String> = None;
        for line in super::super::DEFAULT_CONFIG_TOML.lines() {
            match (&mut cur, line.strip_prefix("# ")) {
                (None, Some(l)) if l.starts_with("[[") => cur = Some(format!("{l}\n")),
                (Some(b), Some(l)) => {
                    b.push_str(l);
                    b.push('\n');
                }
                (Some(_), None) => blocks.extend(cur.take()),
                _ => {}
            }
        }
        blocks.extend(cur);
        assert_eq!(blocks.len(), 2, "{blocks:?}");
        for b in blocks {
            let with_events = b.replace("events = []", "events = [\"e\"]");
            Config::from_toml(&with_events).unwrap_or_else(|e| panic!("{b}: {e}"));
        }
    }

    #[test]
    fn globs() {
        assert!(glob_matches("order:*", "order:create"));
        assert!(glob_matches("order:*", "order:"));
        assert!(!glob_matches("order:*", "orders:create"));
        assert!(glob_matches("chat:typing", "chat:typing"));
        assert!(!glob_matches("chat:typing", "chat:typing2"));
        assert!(glob_matches("*:change", "document:change"));
        assert!(!glob_matches("*:change", "document:changed"));
        assert!(glob_matches("a*b*c", "abc"));
        assert!(glob_matches("a*b*c", "a-b-b-c"));
        assert!(!glob_matches("a*b*c", "a-c"));
        assert!(!glob_matches("ab*ba", "aba"));
        assert!(glob_matches("x**", "xyz"));
    }

    #[test]
    fn engine_paths_take_a_string_or_a_list() {
        let c = Config::from_toml("[server]\npath = \"/api/socket\"\n").unwrap();
        assert_eq!(c.server.path, EnginePaths::from("/api/socket"));
        let c =
            Config::from_toml("[server]\npath = [\"/api/socket\", \"/api/socket-namespaces\"]\n")
                .unwrap();
        assert_eq!(c.server.path.len(), 2);
        assert_eq!(
            c.server.path.matching("/api/socket-namespaces/"),
            Some("/api/socket-namespaces")
        );
        assert_eq!(c.server.path.matching("/api/socket/x"), None);
        // One path stays a string when written back.
        assert!(Config::default()
            .to_masked_toml()
            .contains("path = \"/socket.io/\""));
        let e = Config::from_toml("[server]\npath = 3\n").unwrap_err();
        assert!(e.to_string().contains("a path or a list of paths"), "{e}");
    }

    #[test]
    fn engine_paths_beside_the_api() {
        let routes = ["/api/status", "/api/socket/health"];
        // Config validation checks the fixed paths; the routes come from
        // the API at start.
        let check = |p: &str| {
            Config::from_toml(&format!("[server]\npath = {p}\n"))
                .map_err(|e| e.to_string())?
                .check_engine_paths(routes)
        };
        assert!(check("\"/api/socket\"").is_ok());
        assert!(check("[\"/api/socket\", \"/api/socket-namespaces\"]").is_ok());
        assert!(check("\"/api/status/\"")
            .unwrap_err()
            .contains("is the HTTP API route /api/status"));
        assert!(check("\"/api/socket/health\"").is_err());
        for bad in [
            "\"/api\"",
            "\"/api/\"",
            "\"/\"",
            "\"/health\"",
            "\"/metrics/x\"",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        assert!(check("[\"/a\", \"/a/\"]").unwrap_err().contains("twice"));
        assert!(check("[]").unwrap_err().contains("at least one"));
        assert!(check("\"/a?b\"").is_err());
    }

    #[test]
    fn proxy_and_relay_rules() {
        let ok = "[[proxy]]\nevents = [\"order:*\"]\nurl = \"http://127.0.0.1:9/ev\"\nsecret = \"0123456789abcdef\"\n\
                  [[relay]]\nevents = [\"chat:typing\", \"order:typing\"]\nroom_field = \"roomId\"\n";
        let c = Config::from_toml(ok).unwrap();
        assert_eq!(c.proxy[0].timeout_ms, 5000);
        assert_eq!(c.app_route("/", "order:create"), Some(AppRoute::Proxy(0)));
        // The proxy rule comes first.
        assert_eq!(c.app_route("/", "order:typing"), Some(AppRoute::Proxy(0)));
        assert_eq!(c.app_route("/", "chat:typing"), Some(AppRoute::Relay(0)));
        assert_eq!(c.app_route("/", "chat:other"), None);
        let bad = [
            ("[[proxy]]\nurl = \"http://h/\"\nsecret = \"0123456789abcdef\"\n", "proxy[0].events must name"),
            ("[[proxy]]\nevents = [\"*\"]\nurl = \"http://h/\"\nsecret = \"0123456789abcdef\"\n", "every event"),
            ("[[proxy]]\nevents = [\"a\"]\nurl = \"ftp://h/\"\nsecret = \"0123456789abcdef\"\n", "proxy[0].url must be an http:// or https:// URL"),
            ("[proxy_limits]\nca_file = \"/nonexistent/ca.pem\"\n", "proxy_limits.ca_file /nonexistent/ca.pem"),
            ("[[proxy]]\nevents = [\"a\"]\nurl = \"http://u:p@h/\"\nsecret = \"0123456789abcdef\"\n", "no credentials"),
            ("[[proxy]]\nevents = [\"a\"]\nurl = \"http://h/\"\nsecret = \"short\"\n", "proxy[0].secret must be at least 16 bytes"),
            ("[[proxy]]\nevents = [\"a\"]\nurl = \"http://h/\"\nsecret = \"0123456789abcdef\"\ntimeout_ms = 0\n", "proxy[0].timeout_ms must be 1 to 60000"),
            ("[[proxy]]\nevents = [\"a\"]\nurl = \"http://h/\"\nsecret = \"0123456789abcdef\"\nnamespaces = [\"/nope\"]\n", "not a configured namespace"),
            ("[[proxy]]\nevents = [\"a\"]\nurl = \"http://h/\"\nsecret = \"0123456789abcdef\"\nbogus = 1\n", "bogus"),
            ("[[relay]]\nroom_field = \"roomId\"\n", "relay[0].events must name"),
            ("[proxy_connect]\nurl = \"http://h/\"\n", "proxy_connect.secret must be"),
            ("[proxy_connect]\nurl = \"ftp://h/\"\nsecret = \"0123456789abcdef\"\n", "proxy_connect.url"),
            ("[proxy_limits]\nmax_concurrent = 0\n", "proxy_limits.max_concurrent must be"),
            ("[proxy_limits]\nmax_concurrent_per_socket = 8\nmax_queued_per_socket = 4\n", "max_queued_per_socket"),
            ("[proxy_limits]\nmax_answer_bytes = 10\n", "max_answer_bytes"),
        ];
        for (toml, msg) in bad {
            let e = Config::from_toml(toml).unwrap_err().to_string();
            assert!(e.contains(msg), "{toml}: {e}");
        }
        // Secrets never show in messages or the masked view.
        let e = Config::from_toml(
            "[[proxy]]\nevents = \"a\"\nurl = \"http://h/\"\nsecret = \"s3cr3t-s3cr3t-s3cr3t\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("s3cr3t"), "{e}");
        let c = Config::from_toml(&format!(
            "{ok}[proxy_connect]\nurl = \"http://h/c\"\nsecret = \"fedcba9876543210x\"\n"
        ))
        .unwrap();
        let t = c.to_masked_toml();
        assert!(
            !t.contains("0123456789abcdef") && !t.contains("fedcba9876543210x"),
            "{t}"
        );
    }
}
