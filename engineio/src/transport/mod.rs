//! HTTP glue: the polling and WebSocket transports of open sessions, the
//! answer to a handshake, CORS, and every failure mapped to the reference
//! server's status and `{"code":N,"message":"..."}` body.
//!
//! The transports reach a session only through its [`Socket`](crate::Socket)
//! and answer requests; the engine, above them, routes requests, opens
//! sessions and spawns their drivers. They must not touch the driver or a
//! session's state beyond the handshake's first poll.

pub mod linger;
pub(crate) mod polling;
pub(crate) mod websocket;
pub(crate) mod wsconn;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Body;

use crate::config::TransportKind;
use crate::hooks::{append_headers, BoxFuture, Refusal, RequestHead};
use crate::registry::Inner;
use crate::sid::Sid;

/// The reference server's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    // 4, "Forbidden", is a `Refusal`'s (crate::hooks).
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    fn status(self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

pub(crate) type Resp = Response<Full<Bytes>>;

pub(crate) fn error_response(status: StatusCode, code: u16, message: &str) -> Resp {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub(crate) fn error(code: ErrorCode) -> Resp {
    error_response(code.status(), code as u16, code.message())
}

/// The answer to a request off the engine path.
pub(crate) fn not_found() -> Resp {
    let mut r = Response::new(Full::new(Bytes::from_static(b"Not Found")));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// A handshake that an `allow_request` hook refused: its status and body.
pub(crate) fn refused(refusal: &Refusal) -> Resp {
    error_response(refusal.status, refusal.code, &refusal.message)
}

/// The headers the application's hooks add to a successful answer to
/// `req` (`initial` for a handshake's): `None`, at no cost, without hooks.
pub(crate) fn hook_headers<B>(
    inner: &Inner,
    req: &Request<B>,
    sid: Sid,
    transport: TransportKind,
    initial: bool,
) -> Option<HeaderMap> {
    let head = RequestHead::new(req.method(), req.uri(), req.headers(), sid, transport);
    inner.hooks.response_headers(&head, initial)
}

/// Adds the hooks' headers for `req` to its successful answer `resp`.
pub(crate) fn with_hook_headers<B>(
    inner: &Inner,
    req: &Request<B>,
    sid: Sid,
    transport: TransportKind,
    initial: bool,
    mut resp: Resp,
) -> Resp {
    if let Some(extra) = hook_headers(inner, req, sid, transport, initial) {
        append_headers(resp.headers_mut(), extra);
    }
    resp
}

/// A handshake beyond `max_sessions`.
pub(crate) fn at_capacity() -> Resp {
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::BadRequest as u16,
        "Server is at capacity",
    )
}

/// Adds CORS headers to a polling response, when CORS is on and the origin is allowed.
pub(crate) fn cors<B>(inner: &Inner, req: &Request<B>, resp: Resp) -> Resp {
    cors_for(inner, req.headers().get(header::ORIGIN), resp)
}

/// [`cors`] for a request whose `Origin` header was kept aside.
pub(crate) fn cors_for(inner: &Inner, origin: Option<&HeaderValue>, mut resp: Resp) -> Resp {
    let origin = origin.and_then(|v| v.to_str().ok());
    let cfg = &inner.config.cors;
    if let Some(allowed) = cfg.allow_origin(origin) {
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
    resp
}

pub(crate) fn preflight<B>(inner: &Inner, req: &Request<B>) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let cfg = &inner.config.cors;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cfg.methods_header()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    let headers = if cfg.allowed_headers.is_empty() {
        req.headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
    } else {
        HeaderValue::from_str(&cfg.allowed_headers.join(", ")).ok()
    };
    if let Some(v) = headers {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    cors(inner, req, resp)
}

/// The answer to one request on the engine path, as [`EngineService`]
/// returns it.
///
/// Most requests are answered at once; only a poll or a POST waits, for the
/// session's driver, and only a handshake with an
/// [`allow_request`](crate::EngineBuilder::allow_request) hook needs a boxed
/// future. So the common requests cost no allocation here and no copy of a
/// large future state.
///
/// [`EngineService`]: crate::EngineService
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture<B>(Pending<B>);

enum Pending<B> {
    Ready(Resp),
    Poll(polling::PollWait),
    Post(polling::PostWait<B>),
    Boxed(BoxFuture<Resp>),
    /// Answered: whatever produced the answer is dropped.
    Done,
}

impl<B> ResponseFuture<B> {
    /// An answer decided from the request alone.
    pub(crate) fn ready(resp: Resp) -> Self {
        ResponseFuture(Pending::Ready(resp))
    }

    /// An answer that awaits an `allow_request` hook first.
    pub(crate) fn boxed(fut: BoxFuture<Resp>) -> Self {
        ResponseFuture(Pending::Boxed(fut))
    }
}

impl<B> std::fmt::Debug for ResponseFuture<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.0 {
            Pending::Ready(_) => "ready",
            Pending::Poll(_) => "poll",
            Pending::Post(_) => "post",
            Pending::Boxed(_) => "handshake",
            Pending::Done => "done",
        };
        f.debug_tuple("ResponseFuture").field(&state).finish()
    }
}

impl<B> Future for ResponseFuture<B>
where
    B: Body + Unpin,
{
    type Output = Result<Resp, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let resp = match &mut this.0 {
            Pending::Poll(w) => ready!(w.poll(cx)),
            Pending::Post(w) => ready!(w.poll(cx)),
            Pending::Boxed(f) => ready!(f.as_mut().poll(cx)),
            Pending::Ready(_) | Pending::Done => {
                match std::mem::replace(&mut this.0, Pending::Done) {
                    Pending::Ready(resp) => resp,
                    // Polled again after completion: a contract breach of the
                    // caller's, answered rather than panicked on.
                    _ => error_response(StatusCode::INTERNAL_SERVER_ERROR, 0, "Polled twice"),
                }
            }
        };
        // Dropped at once: a POST ends exactly when it is answered.
        this.0 = Pending::Done;
        Poll::Ready(Ok(resp))
    }
}

/// Sets the `io` cookie on a handshake response when configured.
pub(crate) fn set_cookie(inner: &Inner, sid: Sid, resp: &mut Resp) {
    if let Some(c) = &inner.config.cookie {
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
}

pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
