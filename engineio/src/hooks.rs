//! What the application may ask of the HTTP requests an engine answers:
//! the [`Hooks`] bundle of `allow_request` (may refuse a handshake),
//! `initial_headers` (extra headers on a handshake's response), `headers`
//! (extra headers on every successful response) and whether each message
//! keeps the headers of the request that carried it.
//!
//! Pure: depends on `http`'s types only, no runtime. Every driver (the
//! tokio one in this crate, or another) reads the same bundle: it builds a
//! [`RequestInfo`] for [`Hooks::check`], a [`RequestHead`] for
//! [`Hooks::response_headers`], and appends what that returns to its
//! response. Nothing here touches a session or a transport.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use http::{HeaderMap, Method, StatusCode, Uri};

use crate::config::TransportKind;
use crate::sid::Sid;

/// Boxed future returned by an [`allow_request`](Hooks::allow_request) hook.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The `allow_request` hook, boxed.
pub type AllowRequestFn = dyn Fn(RequestInfo) -> BoxFuture<Result<(), Refusal>> + Send + Sync;

/// A response headers hook (`initial_headers` or `headers`), boxed: it
/// sees the request a response answers and adds headers to the response.
pub type HeadersFn = dyn Fn(&RequestHead<'_>, &mut HeaderMap) + Send + Sync;

/// What an `allow_request` hook sees of a handshake request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestInfo {
    /// HTTP method.
    pub method: Method,
    /// Request path.
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Peer address, when known.
    pub peer: Option<SocketAddr>,
    /// Requested transport.
    pub transport: TransportKind,
}

impl RequestInfo {
    /// The facts of a handshake request (drivers build one per handshake,
    /// only when an `allow_request` hook is installed).
    pub fn new(
        method: Method,
        uri: &Uri,
        headers: HeaderMap,
        peer: Option<SocketAddr>,
        transport: TransportKind,
    ) -> Self {
        RequestInfo {
            method,
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or("").to_owned(),
            headers,
            peer,
            transport,
        }
    }
}

/// A refusal from an `allow_request` hook: answered with its HTTP
/// `status` (403 unless chosen) and the body
/// `{"code":code,"message":message}`, CORS headers included.
///
/// The reference server answers a refused polling handshake 403 with code
/// 4 and the hook's message, and a refused WebSocket handshake 400 with the
/// message as plain text; here both transports get the refusal's status
/// and JSON body (a browser's WebSocket API shows neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Error code in the body; the reference server uses 4 ("Forbidden").
    pub code: u16,
    /// Error message in the body.
    pub message: String,
    /// HTTP status of the answer; 403 by default.
    pub status: StatusCode,
}

impl Refusal {
    /// Status 403, code 4, with `message`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Refusal {
            code: 4,
            message: message.into(),
            status: StatusCode::FORBIDDEN,
        }
    }

    /// This refusal answered with `status` instead (say 401 or 429).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// This refusal with body code `code` instead of 4.
    pub fn with_code(mut self, code: u16) -> Self {
        self.code = code;
        self
    }
}

/// What a response headers hook sees of the request a response answers.
/// Borrowed from the request: building one costs nothing.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestHead<'a> {
    /// HTTP method.
    pub method: &'a Method,
    /// Request URI.
    pub uri: &'a Uri,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The session the request belongs to (new, for a handshake).
    pub sid: Sid,
    /// The transport of the request.
    pub transport: TransportKind,
}

impl<'a> RequestHead<'a> {
    /// The head of a request of session `sid` on `transport`.
    pub fn new(
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        sid: Sid,
        transport: TransportKind,
    ) -> Self {
        RequestHead {
            method,
            uri,
            headers,
            sid,
            transport,
        }
    }
}

/// The application's request hooks of one engine. Cheap to clone (the
/// hooks are shared); the default installs none, which costs nothing on
/// any request.
///
/// Which responses get which headers, as in the reference server (its
/// `initial_headers` and `headers` events):
/// - `initial_headers`: the answer to a handshake (the polling handshake's
///   `200` with the open packet, or a WebSocket handshake's `101`);
/// - `headers`: every successful answer: the handshake's, every polling
///   `GET` payload and `POST` `ok`, and the `101` of every WebSocket
///   handshake or upgrade. Error answers get neither.
///
/// On a handshake both run, `initial_headers` first. The headers they add
/// are appended to the response: a name it already has (say `Set-Cookie`
/// with the `io` cookie) gets a second value. They run when the request
/// arrives (a poll's answer may come much later; nothing of the request is
/// kept meanwhile but what they added), and what they added is dropped if
/// the answer turns out to be an error.
#[derive(Clone, Default)]
pub struct Hooks {
    allow_request: Option<Arc<AllowRequestFn>>,
    initial_headers: Option<Arc<HeadersFn>>,
    headers: Option<Arc<HeadersFn>>,
    message_headers: bool,
}

impl Hooks {
    /// No hooks.
    pub fn new() -> Self {
        Hooks::default()
    }

    /// Installs an async hook that sees every handshake request (method,
    /// path, query, headers, peer) and may refuse it with a [`Refusal`].
    /// It runs after the request was found a valid handshake, before a
    /// session exists.
    pub fn allow_request<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(RequestInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Refusal>> + Send + 'static,
    {
        self.allow_request = Some(Arc::new(move |info| Box::pin(hook(info))));
        self
    }

    /// Installs a hook that adds headers to the answer of every handshake
    /// (the reference's `initial_headers` event), say a `Set-Cookie`.
    pub fn initial_headers<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RequestHead<'_>, &mut HeaderMap) + Send + Sync + 'static,
    {
        self.initial_headers = Some(Arc::new(hook));
        self
    }

    /// Installs a hook that adds headers to every successful answer (the
    /// reference's `headers` event); see [`Hooks`] for which ones.
    pub fn headers<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RequestHead<'_>, &mut HeaderMap) + Send + Sync + 'static,
    {
        self.headers = Some(Arc::new(hook));
        self
    }

    /// With `true`, each message the application receives comes with the
    /// headers of the request that carried it (default `false`): for
    /// polling the `POST` whose body held it; for WebSocket the request
    /// that opened the WebSocket: the handshake of a WebSocket session
    /// ([`Handshake::headers`](crate::Handshake), already kept), the upgrade
    /// request of a session that upgraded from polling. A `POST`'s or an
    /// upgrade's are copied once (one allocation) and shared by its
    /// messages; with `false`, nothing is kept or copied.
    pub fn message_headers(mut self, keep: bool) -> Self {
        self.message_headers = keep;
        self
    }

    /// The `allow_request` hook, if installed.
    pub fn allow_request_hook(&self) -> Option<&Arc<AllowRequestFn>> {
        self.allow_request.as_ref()
    }

    /// The `initial_headers` hook, if installed.
    pub fn initial_headers_hook(&self) -> Option<&Arc<HeadersFn>> {
        self.initial_headers.as_ref()
    }

    /// The `headers` hook, if installed.
    pub fn headers_hook(&self) -> Option<&Arc<HeadersFn>> {
        self.headers.as_ref()
    }

    /// Whether messages keep the headers of their request (see
    /// [`Hooks::message_headers`]).
    pub fn keeps_message_headers(&self) -> bool {
        self.message_headers
    }

    /// Runs the `allow_request` hook on a handshake: `None` when none is
    /// installed (accept at once), else the future of its verdict.
    pub fn check(
        &self,
        info: impl FnOnce() -> RequestInfo,
    ) -> Option<BoxFuture<Result<(), Refusal>>> {
        self.allow_request.as_ref().map(|hook| hook(info()))
    }

    /// The headers to add to a successful response to `head` (`initial`
    /// for the answer to a handshake): `None`, without running anything or
    /// allocating, when no hook applies; else what the hooks added.
    pub fn response_headers(&self, head: &RequestHead<'_>, initial: bool) -> Option<HeaderMap> {
        let initial = self.initial_headers.as_ref().filter(|_| initial);
        if initial.is_none() && self.headers.is_none() {
            return None;
        }
        let mut extra = HeaderMap::new();
        for hook in initial.into_iter().chain(self.headers.as_ref()) {
            hook(head, &mut extra);
        }
        Some(extra)
    }
}

/// Appends `extra` (from [`Hooks::response_headers`]) to `headers`, every
/// value kept, after the ones already there.
pub fn append_headers(headers: &mut HeaderMap, extra: HeaderMap) {
    let mut name = None;
    for (k, v) in extra {
        // `None` means: the same name as the previous value.
        if let Some(k) = k {
            name = Some(k);
        }
        if let Some(k) = &name {
            headers.append(k.clone(), v);
        }
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("allow_request", &self.allow_request.is_some())
            .field("initial_headers", &self.initial_headers.is_some())
            .field("headers", &self.headers.is_some())
            .field("message_headers", &self.message_headers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HeaderValue, SET_COOKIE};

    fn head<'a>(m: &'a Method, u: &'a Uri, h: &'a HeaderMap) -> RequestHead<'a> {
        RequestHead::new(m, u, h, Sid::random(), TransportKind::Polling)
    }

    #[test]
    fn no_hook_adds_nothing() {
        let (m, u, h) = (Method::GET, Uri::from_static("/e/"), HeaderMap::new());
        let hooks = Hooks::new();
        assert!(hooks.response_headers(&head(&m, &u, &h), true).is_none());
        assert!(hooks.check(|| unreachable!()).is_none());
        // An initial_headers hook alone does nothing on other responses.
        let hooks = hooks.initial_headers(|_, h| {
            h.insert("x-init", HeaderValue::from_static("1"));
        });
        assert!(hooks.response_headers(&head(&m, &u, &h), false).is_none());
        let extra = hooks.response_headers(&head(&m, &u, &h), true).unwrap();
        assert_eq!(extra["x-init"], "1");
    }

    #[test]
    fn initial_headers_run_before_headers_and_see_the_request() {
        let mut req = HeaderMap::new();
        req.insert("x-user", HeaderValue::from_static("ann"));
        let (m, u) = (Method::GET, Uri::from_static("/e/?EIO=4"));
        let hooks = Hooks::new()
            .headers(|head, h| {
                let user = head.headers["x-user"].clone();
                // Sees what initial_headers added, when both run.
                let n = h.len().to_string();
                h.insert("x-seen", HeaderValue::from_str(&n).unwrap());
                h.append(SET_COOKIE, HeaderValue::from_static("b=2"));
                h.insert("x-user-echo", user);
            })
            .initial_headers(|head, h| {
                assert_eq!(head.uri.query(), Some("EIO=4"));
                h.append(SET_COOKIE, HeaderValue::from_static("a=1"));
            });
        let initial = hooks.response_headers(&head(&m, &u, &req), true).unwrap();
        let cookies: Vec<_> = initial.get_all(SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(initial["x-seen"], "1");
        assert_eq!(initial["x-user-echo"], "ann");
        let later = hooks.response_headers(&head(&m, &u, &req), false).unwrap();
        assert_eq!(later.get_all(SET_COOKIE).iter().count(), 1);
        assert_eq!(later["x-seen"], "0");
    }

    #[test]
    fn appended_headers_keep_existing_and_repeated_values() {
        let mut resp = HeaderMap::new();
        resp.insert(SET_COOKIE, HeaderValue::from_static("io=x"));
        resp.insert("content-type", HeaderValue::from_static("text/plain"));
        let mut extra = HeaderMap::new();
        extra.append(SET_COOKIE, HeaderValue::from_static("a=1"));
        extra.append("x-one", HeaderValue::from_static("1"));
        extra.append(SET_COOKIE, HeaderValue::from_static("b=2"));
        append_headers(&mut resp, extra);
        let cookies: Vec<_> = resp.get_all(SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["io=x", "a=1", "b=2"]);
        assert_eq!(resp["x-one"], "1");
        assert_eq!(resp.len(), 5);
    }

    #[test]
    fn check_runs_the_hook_on_the_request() {
        let hooks = Hooks::new().allow_request(|info| async move {
            match info.headers.contains_key("x-token") {
                true => Ok(()),
                false => Err(Refusal::forbidden("no token")),
            }
        });
        let verdict = |headers: HeaderMap| {
            let u = Uri::from_static("/e/?EIO=4");
            let info = || RequestInfo::new(Method::GET, &u, headers, None, TransportKind::Polling);
            let mut fut = hooks.check(info).expect("a hook");
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match fut.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(v) => v,
                std::task::Poll::Pending => panic!("the hook does not wait"),
            }
        };
        assert_eq!(
            verdict(HeaderMap::new()),
            Err(Refusal::forbidden("no token"))
        );
        let mut h = HeaderMap::new();
        h.insert("x-token", HeaderValue::from_static("t"));
        assert_eq!(verdict(h), Ok(()));
    }

    #[test]
    fn refusals_default_to_403_and_take_a_status() {
        let r = Refusal::forbidden("no");
        assert_eq!(
            (r.status, r.code, r.message.as_str()),
            (StatusCode::FORBIDDEN, 4, "no")
        );
        let r = r.with_status(StatusCode::UNAUTHORIZED).with_code(9);
        assert_eq!((r.status, r.code), (StatusCode::UNAUTHORIZED, 9));
    }

    #[test]
    fn request_info_splits_path_and_query() {
        let u = Uri::from_static("/e/?EIO=4&transport=polling");
        let info = RequestInfo::new(
            Method::GET,
            &u,
            HeaderMap::new(),
            None,
            TransportKind::Polling,
        );
        assert_eq!(
            (info.path.as_str(), info.query.as_str()),
            ("/e/", "EIO=4&transport=polling")
        );
        assert!(
            format!("{:?}", Hooks::new().message_headers(true)).contains("message_headers: true")
        );
    }
}
