//! Engine options with documented defaults matching the reference server.
//!
//! Pure data: no I/O. The transports read it, and [`Session::new`](crate::Session::new)
//! extracts what the session state machine needs. It must not depend on
//! any other module of the crate: every layer reads it.

use std::time::Duration;

/// Which transports the engine accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transports {
    /// HTTP long-polling.
    pub polling: bool,
    /// WebSocket.
    pub websocket: bool,
}

impl Default for Transports {
    /// Both transports.
    fn default() -> Self {
        Transports {
            polling: true,
            websocket: true,
        }
    }
}

/// The transport a session currently uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }

    /// Parses a `transport` query parameter.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "polling" => Some(TransportKind::Polling),
            "websocket" => Some(TransportKind::WebSocket),
            _ => None,
        }
    }
}

/// What to do when a session's send buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SlowClientPolicy {
    /// Return [`SendError::Full`](crate::SendError::Full) to the sender (default).
    #[default]
    Error,
    /// Return the error and close the session with reason "slow client".
    Close,
}

/// Cross-origin resource sharing for the polling transport.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cors {
    /// Allowed origins. Empty: CORS headers are not sent (default).
    pub origins: CorsOrigins,
    /// Send `Access-Control-Allow-Credentials: true`. Default false.
    pub credentials: bool,
    /// Methods for preflight answers. Default `GET, POST, OPTIONS`.
    pub methods: Vec<String>,
    /// Allowed request headers. Empty (default): reflect the request's
    /// `Access-Control-Request-Headers`.
    pub allowed_headers: Vec<String>,
}

/// Which origins CORS allows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsOrigins {
    /// CORS disabled (default).
    #[default]
    None,
    /// Any origin (the request's origin is reflected).
    Any,
    /// Exactly these origins (`scheme://host[:port]`).
    List(Vec<String>),
}

impl Cors {
    /// CORS allowing any origin, reflecting it, without credentials.
    pub fn any() -> Self {
        Cors {
            origins: CorsOrigins::Any,
            ..Cors::default()
        }
    }

    /// The value for `Access-Control-Allow-Origin`, if `origin` is allowed.
    pub fn allow_origin<'a>(&self, origin: Option<&'a str>) -> Option<&'a str> {
        match (&self.origins, origin) {
            (CorsOrigins::None, _) => None,
            (CorsOrigins::Any, Some(o)) => Some(o),
            (CorsOrigins::Any, None) => Some("*"),
            (CorsOrigins::List(list), Some(o)) if list.iter().any(|a| a == o) => Some(o),
            (CorsOrigins::List(_), _) => None,
        }
    }

    /// Preflight methods, defaulted.
    pub fn methods_header(&self) -> String {
        if self.methods.is_empty() {
            "GET, POST, OPTIONS".to_owned()
        } else {
            self.methods.join(", ")
        }
    }
}

/// The optional `io` cookie set on the handshake response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// Cookie name. Default `io`.
    pub name: String,
    /// Path attribute. Default `/`.
    pub path: String,
    /// HttpOnly attribute. Default true.
    pub http_only: bool,
    /// SameSite attribute. Default `Lax`.
    pub same_site: String,
}

impl Default for Cookie {
    fn default() -> Self {
        Cookie {
            name: "io".into(),
            path: "/".into(),
            http_only: true,
            same_site: "Lax".into(),
        }
    }
}

/// permessage-deflate (RFC 7692) on the engine's WebSocket connections,
/// when [`EngineConfig::per_message_deflate`] turns it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PerMessageDeflate {
    /// Messages shorter than this many bytes (their WebSocket payload) go
    /// uncompressed. Default 1024, as the reference's
    /// `perMessageDeflate.threshold`.
    pub threshold: usize,
    /// Keep compression state between messages (context takeover) when
    /// the client allows it: better ratios, but each such connection holds
    /// its codecs (about 300 KiB) even while idle. Off (default), the
    /// answer asks for `server_no_context_takeover` and
    /// `client_no_context_takeover`, connections hold no codec state and a
    /// broadcast is compressed once for all its recipients.
    pub context_takeover: bool,
    /// The compression level, 0 (stored, no compression) to 9 (smallest,
    /// slowest). Default 6, zlib's default and the reference's `ws`.
    pub level: u32,
    /// The window (2^bits bytes, 8 to 15) asked of clients whose offer
    /// carries `client_max_window_bits` (RFC 7692 section 7.1.2.2: only
    /// those may be asked): a smaller one saves the client's memory, and
    /// the server's inflate state when context takeover is on. `None`
    /// (default) asks nothing: clients use up to 32 KiB.
    pub client_max_window_bits: Option<u8>,
}

impl Default for PerMessageDeflate {
    fn default() -> Self {
        PerMessageDeflate {
            threshold: 1024,
            context_takeover: false,
            level: 6,
            client_max_window_bits: None,
        }
    }
}

impl PerMessageDeflate {
    /// Sets [`PerMessageDeflate::threshold`].
    pub fn threshold(mut self, v: usize) -> Self {
        self.threshold = v;
        self
    }

    /// Sets [`PerMessageDeflate::context_takeover`].
    pub fn context_takeover(mut self, v: bool) -> Self {
        self.context_takeover = v;
        self
    }

    /// Sets [`PerMessageDeflate::level`] (above 9 taken as 9).
    pub fn level(mut self, v: u32) -> Self {
        self.level = v.min(9);
        self
    }

    /// Sets [`PerMessageDeflate::client_max_window_bits`] (clamped to 8
    /// to 15).
    pub fn client_max_window_bits(mut self, v: Option<u8>) -> Self {
        self.client_max_window_bits = v.map(|b| b.clamp(8, 15));
        self
    }
}

/// Engine options. Every field has a documented default; see [`Default`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Interval between server pings. Default 25 s.
    pub ping_interval: Duration,
    /// Time the client has to answer a ping. Default 20 s.
    pub ping_timeout: Duration,
    /// Time a WebSocket upgrade may take before it is abandoned. Default 10 s.
    pub upgrade_timeout: Duration,
    /// Largest accepted message, POST body and WebSocket message, in bytes;
    /// announced in the handshake. Default 1,000,000.
    pub max_payload: usize,
    /// Accepted transports. Default both.
    pub transports: Transports,
    /// Offer and allow upgrades from polling to WebSocket. Default true.
    pub allow_upgrades: bool,
    /// Request path. Default `/engine.io/`.
    pub path: String,
    /// CORS for polling. Default disabled.
    pub cors: Cors,
    /// The `io` cookie. Default none.
    pub cookie: Option<Cookie>,
    /// Time allowed to read a request's headers, also the longest an idle
    /// keep-alive connection waits for its next request (with
    /// `Engine::serve`, feature `tokio`, a first head longer than
    /// 4 KiB may take up to twice this: the accept path's read, then
    /// hyper's). Default 10 s.
    pub header_read_timeout: Duration,
    /// Time allowed to read a POST body. Default 10 s.
    pub body_read_timeout: Duration,
    /// Most sessions open at once; further handshakes get 503. Default 100,000.
    pub max_sessions: usize,
    /// Packets the application may queue for one session before sends fail
    /// with `SendError::Full`. Default 1024.
    pub send_buffer: usize,
    /// What a full send buffer does. Default [`SlowClientPolicy::Error`].
    pub slow_client: SlowClientPolicy,
    /// Most packets accepted in one polling POST. Default 1024.
    pub max_packets_per_post: usize,
    /// Compression of polling responses (gzip or deflate, as the client
    /// accepts) from this many bytes on; `None` disables it. Default 1024,
    /// as the reference's `httpCompression.threshold`.
    pub http_compression: Option<usize>,
    /// Most bytes one read takes from a WebSocket while no frame is partly
    /// received (64 to 16384). The read goes through the stack, so idle
    /// connections hold no read buffer whatever this is; only a partly
    /// received frame is kept, and read straight into. Default 4096.
    pub ws_read_buffer: usize,
    /// Longest lingering close: when the server closes an HTTP connection
    /// whose request it did not read to the end (a 413, an error answered
    /// on the headers), it shuts down writing and discards what the client
    /// still sends for at most this long, so that the client reads the
    /// answer instead of a reset. Zero closes at once. Applies to
    /// connections the engine serves (`Engine::serve`,
    /// `Engine::serve_connection`, feature `tokio`).
    /// Default 2 s.
    pub linger_timeout: Duration,
    /// Most bytes discarded by one lingering close (see
    /// [`linger_timeout`](Self::linger_timeout)); beyond them the
    /// connection closes. Default 1 MiB (1,048,576).
    pub linger_bytes: usize,
    /// Accept Engine.IO 3 clients (socket.io v2: `EIO=3`, or no `EIO`, as
    /// the reference's `allowEIO3`); they ping the server, which answers.
    /// Default false: their handshakes get 400, code 5.
    pub allow_eio3: bool,
    /// Serve JSONP polling: a polling request whose query has `j=<number>`
    /// gets its payloads wrapped as `___eio[<j>]("...");`
    /// (`text/javascript`) and sends them form-encoded (`d=<payload>`), as
    /// engine.io-client 3.x does in browsers without cross-origin XHR
    /// (`forceJSONP`). A `j` that is not a number is refused (400, code 3).
    /// Default false, a security choice: JSONP answers are scripts any
    /// page may load, so CORS does not protect them. The reference serves
    /// JSONP whenever `j` is present; with this off a `j` request is plain
    /// XHR polling.
    pub allow_jsonp: bool,
    /// permessage-deflate on WebSocket connections whose client offers it;
    /// `None` (default, as the reference) negotiates no extension.
    pub per_message_deflate: Option<PerMessageDeflate>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            transports: Transports::default(),
            allow_upgrades: true,
            path: "/engine.io/".into(),
            cors: Cors::default(),
            cookie: None,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_sessions: 100_000,
            send_buffer: 1024,
            slow_client: SlowClientPolicy::Error,
            max_packets_per_post: 1024,
            ws_read_buffer: 4096,
            http_compression: Some(1024),
            linger_timeout: Duration::from_secs(2),
            linger_bytes: 1 << 20,
            allow_eio3: false,
            allow_jsonp: false,
            per_message_deflate: None,
        }
    }
}

macro_rules! setters {
    ($($(#[$m:meta])* $name:ident: $ty:ty;)*) => {
        impl EngineConfig {
            $($(#[$m])* pub fn $name(mut self, v: $ty) -> Self { self.$name = v; self })*
        }
    };
}

setters! {
    /// Sets [`EngineConfig::ping_interval`].
    ping_interval: Duration;
    /// Sets [`EngineConfig::ping_timeout`].
    ping_timeout: Duration;
    /// Sets [`EngineConfig::upgrade_timeout`].
    upgrade_timeout: Duration;
    /// Sets [`EngineConfig::max_payload`].
    max_payload: usize;
    /// Sets [`EngineConfig::transports`].
    transports: Transports;
    /// Sets [`EngineConfig::allow_upgrades`].
    allow_upgrades: bool;
    /// Sets [`EngineConfig::path`].
    path: String;
    /// Sets [`EngineConfig::cors`].
    cors: Cors;
    /// Sets [`EngineConfig::cookie`].
    cookie: Option<Cookie>;
    /// Sets [`EngineConfig::header_read_timeout`].
    header_read_timeout: Duration;
    /// Sets [`EngineConfig::body_read_timeout`].
    body_read_timeout: Duration;
    /// Sets [`EngineConfig::max_sessions`].
    max_sessions: usize;
    /// Sets [`EngineConfig::send_buffer`].
    send_buffer: usize;
    /// Sets [`EngineConfig::slow_client`].
    slow_client: SlowClientPolicy;
    /// Sets [`EngineConfig::max_packets_per_post`].
    max_packets_per_post: usize;
    /// Sets [`EngineConfig::ws_read_buffer`].
    ws_read_buffer: usize;
    /// Sets [`EngineConfig::http_compression`].
    http_compression: Option<usize>;
    /// Sets [`EngineConfig::linger_timeout`].
    linger_timeout: Duration;
    /// Sets [`EngineConfig::linger_bytes`].
    linger_bytes: usize;
    /// Sets [`EngineConfig::allow_eio3`].
    allow_eio3: bool;
    /// Sets [`EngineConfig::allow_jsonp`].
    allow_jsonp: bool;
    /// Sets [`EngineConfig::per_message_deflate`].
    per_message_deflate: Option<PerMessageDeflate>;
}

impl EngineConfig {
    /// The upgrades offered to a session on `transport`.
    pub fn upgrades_for(&self, transport: TransportKind) -> &'static [&'static str] {
        if transport == TransportKind::Polling && self.allow_upgrades && self.transports.websocket {
            &["websocket"]
        } else {
            &[]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_reference_server() {
        let c = EngineConfig::default();
        assert_eq!(c.ping_interval, Duration::from_millis(25_000));
        assert_eq!(c.ping_timeout, Duration::from_millis(20_000));
        assert_eq!(c.upgrade_timeout, Duration::from_millis(10_000));
        assert_eq!(c.max_payload, 1_000_000);
        assert_eq!(c.path, "/engine.io/");
        assert!(c.allow_upgrades);
        assert_eq!(c.linger_timeout, Duration::from_secs(2));
        assert_eq!(c.linger_bytes, 1_048_576);
        assert!(!c.allow_eio3);
        assert!(!c.allow_jsonp);
        assert_eq!(c.per_message_deflate, None);
        assert_eq!(PerMessageDeflate::default().threshold, 1024);
        assert_eq!(c.upgrades_for(TransportKind::Polling), &["websocket"]);
        assert!(c.upgrades_for(TransportKind::WebSocket).is_empty());
    }

    #[test]
    fn cors_origin_matching() {
        let any = Cors::any();
        assert_eq!(any.allow_origin(Some("http://a")), Some("http://a"));
        assert_eq!(any.allow_origin(None), Some("*"));
        let list = Cors {
            origins: CorsOrigins::List(vec!["http://a".into()]),
            ..Cors::default()
        };
        assert_eq!(list.allow_origin(Some("http://a")), Some("http://a"));
        assert_eq!(list.allow_origin(Some("http://b")), None);
        assert_eq!(Cors::default().allow_origin(Some("http://a")), None);
    }
}
