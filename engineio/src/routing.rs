//! What the engine decides from a request alone, for every runtime driver:
//! whether the path is the engine's, which route a request takes
//! ([`route`]), the reference server's error codes and
//! `{"code":N,"message":"..."}` answers, CORS and preflight headers, the
//! `io` cookie, and the WebSocket opening handshake's checks and `101`.
//!
//! Pure: it reads a request's method, path, query and headers (`http`
//! types) and builds `http::Response<Bytes>`s; a driver maps the body to
//! its own type and writes it. It must not touch sessions, sockets, the
//! registry or any I/O: the tokio transports and other drivers call it.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::config::{Cors, CorsOrigins, EngineConfig, TransportKind};
use crate::hooks::Refusal;
use crate::query::eio_params;
use crate::sid::Sid;

/// The reference server's error codes, sent in the JSON body of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 0: no such transport, or one that is disabled.
    UnknownTransport = 0,
    /// 1: the `sid` names no open session.
    UnknownSid = 1,
    /// 2: a handshake with a method other than GET.
    BadHandshakeMethod = 2,
    /// 3: anything else the engine refuses.
    BadRequest = 3,
    // 4, "Forbidden", is a `Refusal`'s (crate::hooks).
    /// 5: an `EIO` other than 4.
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    /// The message the reference server sends with this code.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The status it is answered with: 400.
    pub fn status(self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

/// A response with `status` and the JSON body `{"code":code,"message":message}`.
pub fn error_response(status: StatusCode, code: u16, message: &str) -> Response<Bytes> {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    let mut r = Response::new(Bytes::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The answer for `code`: its status, code and message.
pub fn error(code: ErrorCode) -> Response<Bytes> {
    error_response(code.status(), code as u16, code.message())
}

/// The answer to a request off the engine path: 404 `Not Found`.
pub fn not_found() -> Response<Bytes> {
    let mut r = Response::new(Bytes::from_static(b"Not Found"));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// A handshake that an `allow_request` hook ([`crate::Hooks::check`])
/// refused: the refusal's status, code and message.
pub fn refused(refusal: &Refusal) -> Response<Bytes> {
    error_response(refusal.status, refusal.code, &refusal.message)
}

/// A handshake beyond `max_sessions`: 503, code 3, "Server is at capacity".
pub fn at_capacity() -> Response<Bytes> {
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::BadRequest as u16,
        "Server is at capacity",
    )
}

/// A bodiless answer, as the reference server gives its transport errors.
pub fn empty(status: StatusCode) -> Response<Bytes> {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = status;
    r
}

/// A polling answer: `body` as `text/plain; charset=UTF-8`.
pub fn text(body: Bytes) -> Response<Bytes> {
    let mut r = Response::new(body);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    r
}

/// A polling answer carrying a payload: `text/plain; charset=UTF-8`, or
/// `application/octet-stream` for an Engine.IO 3 binary payload, which is
/// told apart by its first byte (0 or 1; every text payload starts with a
/// digit or `b`).
pub fn payload(body: Bytes) -> Response<Bytes> {
    let content_type = payload_type(&body);
    let mut r = Response::new(body);
    r.headers_mut().insert(header::CONTENT_TYPE, content_type);
    r
}

fn payload_type(body: &[u8]) -> HeaderValue {
    match body.first() {
        Some(0 | 1) => HeaderValue::from_static("application/octet-stream"),
        _ => HeaderValue::from_static("text/plain; charset=UTF-8"),
    }
}

/// A polling answer compressed with the best encoding the client accepts
/// (gzip, then deflate; a `q=0` refuses one), given its `Accept-Encoding`;
/// uncompressed if it accepts neither.
pub fn compressed(body: Bytes, accept_encoding: Option<&HeaderValue>) -> Response<Bytes> {
    use flate2::write::{DeflateEncoder, GzEncoder};
    use flate2::Compression;
    use std::io::Write;
    let accepts = |name: &str| {
        accept_encoding
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',').any(|e| {
                    let mut parts = e.split(';');
                    let coding = parts.next().unwrap_or("").trim();
                    let refused =
                        parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                    coding.eq_ignore_ascii_case(name) && !refused
                })
            })
    };
    let encoded = if accepts("gzip") {
        let mut e = GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::default());
        e.write_all(&body)
            .and_then(|_| e.finish())
            .ok()
            .map(|b| (b, "gzip"))
    } else if accepts("deflate") {
        let mut e = DeflateEncoder::new(Vec::with_capacity(body.len() / 2), Compression::default());
        e.write_all(&body)
            .and_then(|_| e.finish())
            .ok()
            .map(|b| (b, "deflate"))
    } else {
        None
    };
    let content_type = payload_type(&body);
    let Some((data, coding)) = encoded else {
        return payload(body);
    };
    let mut resp = Response::new(Bytes::from(data));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    resp.headers_mut()
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    resp.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    resp
}

/// Whether `path` is the engine's `configured` path (a trailing `/` on
/// either side does not matter).
pub fn path_matches(configured: &str, path: &str) -> bool {
    configured.trim_end_matches('/') == path.trim_end_matches('/')
}

/// Where a request on the engine goes, decided from its request line and
/// headers alone.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route<'q> {
    /// Off the engine path: [`not_found`], no CORS headers.
    NotFound,
    /// A CORS preflight: answer [`preflight`].
    Preflight,
    /// Refused with this code (CORS headers added).
    Error(ErrorCode),
    /// A WebSocket handshake that RFC 6455 refuses (no CORS headers):
    /// answer [`BadHandshake::response`].
    BadWebSocket(BadHandshake),
    /// A handshake for a new session on this transport (a GET, and for a
    /// WebSocket a valid opening handshake).
    Open(TransportKind),
    /// A request for the session named `sid` (which may not exist), on
    /// this transport. For a WebSocket, call [`check_handshake`] once the
    /// session is found: an unknown sid is reported first.
    Session {
        /// The `sid` parameter, percent-decoded.
        sid: Cow<'q, str>,
        /// The requested transport.
        transport: TransportKind,
    },
}

/// Routes a request as the reference server does: the path, then a CORS
/// preflight (`OPTIONS` with CORS on), then the query: repeated `EIO`,
/// `transport` or `sid` (ambiguous: code 3), the transport (code 0), `EIO=4`
/// (code 5; any `EIO` with [`EngineConfig::allow_eio3`], which the session
/// then speaks: see [`crate::Handshake::wire`]), with
/// [`EngineConfig::allow_jsonp`] a polling `j` that is not a number (code
/// 3), and without a sid the handshake's method (code 2) and WebSocket
/// headers.
pub fn route<'q>(
    config: &EngineConfig,
    method: &Method,
    path: &str,
    query: &'q str,
    headers: &HeaderMap,
) -> Route<'q> {
    if !path_matches(&config.path, path) {
        return Route::NotFound;
    }
    if method == Method::OPTIONS && config.cors.origins != CorsOrigins::None {
        return Route::Preflight;
    }
    let params = eio_params(query);
    if params.repeated {
        // `transport`, `EIO` or `sid` twice: which one counts is
        // ambiguous, so no session is opened or reached with it.
        return Route::Error(ErrorCode::BadRequest);
    }
    let transports = config.transports;
    let transport = match params.transport.as_deref().and_then(TransportKind::parse) {
        Some(t @ TransportKind::Polling) if transports.polling => t,
        Some(t @ TransportKind::WebSocket) if transports.websocket => t,
        _ => return Route::Error(ErrorCode::UnknownTransport),
    };
    if params.eio.as_deref() != Some("4") && !config.allow_eio3 {
        return Route::Error(ErrorCode::UnsupportedProtocolVersion);
    }
    if transport == TransportKind::Polling
        && jsonp_param(config, query).is_some_and(|j| j.is_none())
    {
        // Its value goes into the script answered: a number or nothing.
        return Route::Error(ErrorCode::BadRequest);
    }
    if let Some(sid) = params.sid {
        return Route::Session { sid, transport };
    }
    if method != Method::GET {
        return Route::Error(ErrorCode::BadHandshakeMethod);
    }
    if transport == TransportKind::WebSocket {
        if let Err(bad) = check_handshake(method, headers) {
            return Route::BadWebSocket(bad);
        }
    }
    Route::Open(transport)
}

/// [`route`] for a request head parsed by [`crate::http1`].
pub fn route_head<'q>(config: &EngineConfig, head: &'q crate::http1::Head) -> Route<'q> {
    let uri = &head.uri;
    route(
        config,
        &head.method,
        uri.path(),
        uri.query().unwrap_or(""),
        &head.headers,
    )
}

/// `j` when JSONP applies (on, and present): `Some(None)` when it is not
/// a callback index ([`crate::jsonp::parse_index`]).
fn jsonp_param(config: &EngineConfig, query: &str) -> Option<Option<u32>> {
    if !config.allow_jsonp {
        return None;
    }
    crate::query::param_cow(query, "j").map(|j| crate::jsonp::parse_index(&j))
}

/// The JSONP callback index of a polling request that [`route`] let
/// through: `Some` when [`EngineConfig::allow_jsonp`] is on and the query
/// has a numeric `j`; its GETs are answered with [`jsonp_payload`] and its
/// POST bodies read with [`crate::jsonp::decode_form`]. `None`: XHR polling.
pub fn jsonp(config: &EngineConfig, query: &str) -> Option<u32> {
    jsonp_param(config, query).flatten()
}

/// A JSONP poll's answer: `payload` wrapped for callback `index`
/// ([`crate::jsonp::wrap`]) as `text/javascript; charset=UTF-8`. Never
/// compressed.
pub fn jsonp_payload(index: u32, payload: &[u8]) -> Response<Bytes> {
    let mut r = Response::new(crate::jsonp::wrap(index, payload));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=UTF-8"),
    );
    r
}

/// Adds CORS headers to a polling answer, when CORS is on and `origin`
/// (the request's `Origin` header) is allowed.
pub fn add_cors<B>(cfg: &Cors, origin: Option<&HeaderValue>, resp: &mut Response<B>) {
    let origin = origin.and_then(|v| v.to_str().ok());
    let Some(allowed) = cfg.allow_origin(origin) else {
        return;
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(allowed) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    if allowed != "*" {
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if cfg.credentials {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// The answer to a CORS preflight with request headers `req`: 204 with the
/// allowed methods and headers, and the CORS headers.
pub fn preflight(cfg: &Cors, req: &HeaderMap) -> Response<Bytes> {
    let mut resp = empty(StatusCode::NO_CONTENT);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cfg.methods_header()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    let headers = if cfg.allowed_headers.is_empty() {
        req.get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned()
    } else {
        HeaderValue::from_str(&cfg.allowed_headers.join(", ")).ok()
    };
    if let Some(v) = headers {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    add_cors(cfg, req.get(header::ORIGIN), &mut resp);
    resp
}

/// Sets the `io` cookie on a handshake answer, when configured.
pub fn set_cookie<B>(config: &EngineConfig, sid: Sid, resp: &mut Response<B>) {
    let Some(c) = &config.cookie else { return };
    let mut v = format!("{}={}; Path={}", c.name, sid, c.path);
    if c.http_only {
        v.push_str("; HttpOnly");
    }
    if !c.same_site.is_empty() {
        v.push_str("; SameSite=");
        v.push_str(&c.same_site);
    }
    if let Ok(v) = HeaderValue::from_str(&v) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Whether a POST declares an `application/octet-stream` body, which
/// only EIO=3 clients send (compared without parameters, ignoring case).
pub fn is_binary_post(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or("").trim();
            essence.eq_ignore_ascii_case("application/octet-stream")
        })
}

/// Why a WebSocket opening handshake is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BadHandshake {
    /// Not a valid opening handshake: 400.
    Malformed,
    /// A `Sec-WebSocket-Version` other than 13: 426 (RFC 6455 4.4).
    Version,
}

impl BadHandshake {
    /// The answer: 400, or 426 with `Sec-WebSocket-Version: 13`.
    pub fn response(self) -> Response<Bytes> {
        match self {
            BadHandshake::Malformed => error(ErrorCode::BadRequest),
            BadHandshake::Version => {
                let mut resp = error_response(
                    StatusCode::UPGRADE_REQUIRED,
                    ErrorCode::BadRequest as u16,
                    "Unsupported WebSocket version",
                );
                resp.headers_mut().insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
                resp
            }
        }
    }
}

fn header_has_token(h: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    h.get_all(name).iter().any(|v| {
        v.to_str()
            .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            .unwrap_or(false)
    })
}

/// Checks a WebSocket opening handshake (RFC 6455 section 4.2.1): `GET`,
/// `Connection: upgrade`, `Upgrade: websocket` (case-insensitive), a
/// `Sec-WebSocket-Key` that is the base64 of 16 bytes and
/// `Sec-WebSocket-Version: 13`.
pub fn check_handshake(method: &Method, h: &HeaderMap) -> Result<(), BadHandshake> {
    let upgrade_ok = h
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    let key_ok = h
        .get(header::SEC_WEBSOCKET_KEY)
        .is_some_and(|k| is_websocket_key(k.as_bytes()));
    if method != Method::GET
        || !header_has_token(h, header::CONNECTION, "upgrade")
        || !upgrade_ok
        || !key_ok
    {
        return Err(BadHandshake::Malformed);
    }
    match h.get(header::SEC_WEBSOCKET_VERSION) {
        Some(v) if v == "13" => Ok(()),
        Some(_) => Err(BadHandshake::Version),
        None => Err(BadHandshake::Malformed),
    }
}

/// Whether `key` is the base64 of exactly 16 bytes (RFC 6455 4.1, item 7):
/// 22 characters of the standard alphabet and `==`.
fn is_websocket_key(key: &[u8]) -> bool {
    use base64::Engine as _;
    let key = key.trim_ascii();
    // Decoded on the stack: 24 characters are at most 18 bytes.
    let mut raw = [0u8; 18];
    key.len() == 24
        && base64::engine::general_purpose::STANDARD
            .decode_slice(key, &mut raw)
            .is_ok_and(|n| n == 16)
}

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455
/// 4.2.2, item 5.4): base64 of the SHA-1 of the key and the protocol's GUID.
pub fn accept_key(key: &[u8]) -> String {
    use base64::Engine as _;
    use sha1::{Digest, Sha1};
    const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// The `101 Switching Protocols` answer to a checked opening handshake
/// with request headers `req`.
pub fn switching_protocols(req: &HeaderMap) -> Response<Bytes> {
    let key = req
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| accept_key(k.as_bytes()))
        .unwrap_or_default();
    let mut resp = empty(StatusCode::SWITCHING_PROTOCOLS);
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&key) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    resp
}

/// The `101 Switching Protocols` answer that opens a WebSocket-only
/// session `sid` on a checked handshake (`method`, `uri`, `headers`): the
/// accept key, the permessage-deflate parameters `config` agrees to
/// ([`crate::deflate::answer`], returned), the session cookie and the
/// `hooks`' headers for an initial answer. For drivers that answer the
/// handshake themselves.
pub fn websocket_open(
    config: &EngineConfig,
    hooks: &crate::hooks::Hooks,
    head: &crate::hooks::RequestHead<'_>,
) -> (Response<Bytes>, Option<crate::deflate::Negotiated>) {
    let mut resp = switching_protocols(head.headers);
    let deflate = config.per_message_deflate.as_ref();
    let agreed = crate::deflate::answer(head.headers, deflate, resp.headers_mut());
    set_cookie(config, head.sid, &mut resp);
    if let Some(extra) = hooks.response_headers(head, true) {
        crate::hooks::append_headers(resp.headers_mut(), extra);
    }
    (resp, agreed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(path_matches("/engine.io/", "/engine.io/"));
        assert!(path_matches("/engine.io/", "/engine.io"));
        assert!(!path_matches("/engine.io/", "/other/"));
    }

    #[test]
    fn websocket_keys() {
        assert!(is_websocket_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_websocket_key(b" dGhlIHNhbXBsZSBub25jZQ== "));
        // 15 and 17 bytes, not base64, the URL-safe alphabet, no padding.
        assert!(!is_websocket_key(b"dGhlIHNhbXBsZSBub25j"));
        assert!(!is_websocket_key(b"dGhlIHNhbXBsZSBub25jZQ==AA=="));
        assert!(!is_websocket_key(b"dGhlIHNhbXBsZSBub25jZ!=="));
        assert!(!is_websocket_key(b"-_hlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_websocket_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_websocket_key(b""));
    }

    #[test]
    fn accept_key_of_the_rfc_example() {
        // RFC 6455 section 1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn eio3_is_refused_unless_allowed() {
        let h = HeaderMap::new();
        let get = &Method::GET;
        let off = EngineConfig::default();
        let on = EngineConfig::default().allow_eio3(true);
        for q in ["EIO=3&transport=polling", "transport=polling"] {
            assert_eq!(
                route(&off, get, "/engine.io/", q, &h),
                Route::Error(ErrorCode::UnsupportedProtocolVersion)
            );
            assert_eq!(
                route(&on, get, "/engine.io/", q, &h),
                Route::Open(TransportKind::Polling)
            );
        }
    }

    #[test]
    fn jsonp_needs_the_knob_and_a_numeric_j() {
        let h = HeaderMap::new();
        let get = &Method::GET;
        let off = EngineConfig::default();
        let on = EngineConfig::default().allow_jsonp(true);
        let open = Route::Open(TransportKind::Polling);
        let q = "EIO=4&transport=polling&j=7";
        assert_eq!(route(&off, get, "/engine.io/", q, &h), open);
        assert_eq!(jsonp(&off, q), None);
        assert_eq!(route(&on, get, "/engine.io/", q, &h), open);
        assert_eq!(jsonp(&on, q), Some(7));
        assert_eq!(jsonp(&on, "EIO=4&transport=polling"), None);
        for bad in ["j=", "j=x", "j=1%29%3Balert(1)", "j=-1"] {
            let q = format!("EIO=4&transport=polling&{bad}");
            // Off: handled as today, `j` ignored.
            assert_eq!(route(&off, get, "/engine.io/", &q, &h), open, "{bad}");
            assert_eq!(
                route(&on, get, "/engine.io/", &q, &h),
                Route::Error(ErrorCode::BadRequest),
                "{bad}"
            );
            assert_eq!(jsonp(&on, &q), None);
        }
        let r = jsonp_payload(2, b"1:6");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=UTF-8"
        );
        assert_eq!(&r.body()[..], b"___eio[2](\"1:6\");");
    }

    #[test]
    fn payload_answers_are_typed_by_their_first_byte() {
        let ct = |b: &'static [u8]| {
            payload(Bytes::from_static(b)).headers()[header::CONTENT_TYPE].clone()
        };
        assert_eq!(ct(b"4hi"), "text/plain; charset=UTF-8");
        assert_eq!(ct(b"3:4hi"), "text/plain; charset=UTF-8");
        assert_eq!(
            ct(&[0, 3, 255, b'4', b'h', b'i']),
            "application/octet-stream"
        );
        assert_eq!(ct(&[1, 2, 255, 4, 9]), "application/octet-stream");
    }

    #[test]
    fn routes() {
        let c = EngineConfig::default();
        let h = HeaderMap::new();
        let get = &Method::GET;
        assert_eq!(route(&c, get, "/x/", "", &h), Route::NotFound);
        let r = |m: &Method, q: &'static str| route(&c, m, "/engine.io/", q, &h);
        assert_eq!(
            r(get, "EIO=4&transport=polling"),
            Route::Open(TransportKind::Polling)
        );
        assert_eq!(
            r(get, "EIO=4&transport=polling&EIO=4"),
            Route::Error(ErrorCode::BadRequest)
        );
        assert_eq!(
            r(get, "EIO=4&transport=x"),
            Route::Error(ErrorCode::UnknownTransport)
        );
        assert_eq!(
            r(get, "EIO=3&transport=polling"),
            Route::Error(ErrorCode::UnsupportedProtocolVersion)
        );
        assert_eq!(
            r(&Method::POST, "EIO=4&transport=polling"),
            Route::Error(ErrorCode::BadHandshakeMethod)
        );
        assert_eq!(
            r(get, "EIO=4&transport=websocket"),
            Route::BadWebSocket(BadHandshake::Malformed)
        );
        assert_eq!(
            r(&Method::POST, "EIO=4&transport=polling&sid=a%62"),
            Route::Session {
                sid: Cow::Borrowed("ab"),
                transport: TransportKind::Polling
            }
        );
        // OPTIONS is a preflight only with CORS on.
        assert_eq!(
            r(&Method::OPTIONS, "EIO=4&transport=polling"),
            Route::Error(ErrorCode::BadHandshakeMethod)
        );
        let c = EngineConfig::default().cors(Cors::any());
        assert_eq!(
            route(&c, &Method::OPTIONS, "/engine.io", "", &h),
            Route::Preflight
        );
    }
}
