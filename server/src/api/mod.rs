//! The HTTP API: `/api/push`, `/api/broadcast`, `/api/room`, `/api/status`,
//! the socket operations (`/api/sockets`, `/api/sockets/{join,leave,
//! disconnect}`), the CMS webhooks (`/api/webhooks/{strapi,content}`), the admin routes (`/api/settings`, `/api/monitoring/*`), `/health`,
//! the documents' test and health routes (`/api/socket-test`, `/api/socket/health`,
//! `/api/monitoring/test`), the dashboard's (`/api/dashboard/{overview,
//! history,events,login,logout}`, and its page `/dashboard`, see
//! [`crate::dashboard`]),
//! `/ready`, `/metrics` and the OpenAPI description. Requests authenticate
//! with `X-API-Key` (and optionally a signature, see [`crate::signing`]),
//! are rate limited per key, and every error has the documents' shape
//! `{"success":false,"error","code","requestId"}`.
//!
//! This module holds the route table (`ROUTES`: path, method, access,
//! handler) and the router; authentication is `auth`'s, the request
//! helpers the handlers share (body, fields) are `args`'s; each route is
//! one handler function in `emit`,
//! `sockets`, `admin`, `status`, `testing`, `dashboard`, `login` or
//! `webhooks`. It answers requests the HTTP front
//! ([`crate::http`]) hands it and must not reach back into the front.

mod admin;
mod args;
mod auth;
mod dashboard;
mod emit;
mod login;
mod sockets;
mod status;
mod testing;
mod webhooks;

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::Value;

use crate::monitor::iso8601;
use crate::reply::{self, failure, get_or_head_only, is_get_or_head, json, too_many};
use crate::signing;
use crate::state::{Live, State};

use args::{
    count_rooms, named_rooms, namespace, namespace_of, not_found, parse_json, present, read_body,
    room_of, socket_id, user_id,
};
use auth::{authenticate, check_signature, key_id, metrics_access};
pub use dashboard::{sample as sample_dashboard, serve_node_info, MAX_LISTED_ROOMS};
pub use sockets::MAX_LISTED_SOCKETS;
pub use status::OPENAPI;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    Key,
    Admin,
    /// A key, also as `Authorization: Bearer` (a CMS sends fixed headers);
    /// unsigned when `content.allow_unsigned_webhooks`.
    Webhook,
    /// Public like `/health`, unless `api.metrics_require_key` (it tells
    /// as much as `/metrics`).
    Health,
}

/// A JSON response, or what refused the request.
type Answer = Result<Response<Full<Bytes>>, ApiError>;

/// What an asynchronous handler returns (cluster-wide operations wait
/// for the adapter).
type Pending<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Answer> + Send + 'a>>;

/// What answers one route: at once, or after asking the cluster.
#[derive(Clone, Copy)]
enum Handler {
    Now(fn(&Call) -> Answer),
    Later(for<'a> fn(&'a Call<'a>) -> Pending<'a>),
}

/// An `async fn(&Call) -> Answer` as a [`Handler::Later`].
macro_rules! later {
    ($f:path) => {{
        fn boxed<'a>(c: &'a Call<'a>) -> Pending<'a> {
            Box::pin($f(c))
        }
        Handler::Later(boxed)
    }};
}

/// One row of the route table.
struct Route {
    path: &'static str,
    method: Method,
    access: Access,
    handler: Handler,
}

const fn route(path: &'static str, method: Method, access: Access, handler: Handler) -> Route {
    Route {
        path,
        method,
        access,
        handler,
    }
}

/// A route answered at once.
const fn now(path: &'static str, method: Method, access: Access, f: fn(&Call) -> Answer) -> Route {
    route(path, method, access, Handler::Now(f))
}

/// The routes under `/api/`: path, method, access, handler.
const ROUTES: &[Route] = &[
    route("/api/push", Method::POST, Access::Key, later!(emit::push)),
    route(
        "/api/broadcast",
        Method::POST,
        Access::Key,
        later!(emit::broadcast),
    ),
    route("/api/room", Method::POST, Access::Key, later!(emit::room)),
    route(
        "/api/status",
        Method::GET,
        Access::Key,
        later!(status::status),
    ),
    route(
        "/api/sockets",
        Method::GET,
        Access::Key,
        later!(sockets::list),
    ),
    route(
        "/api/sockets/join",
        Method::POST,
        Access::Key,
        later!(sockets::join),
    ),
    route(
        "/api/sockets/leave",
        Method::POST,
        Access::Key,
        later!(sockets::leave),
    ),
    route(
        "/api/sockets/disconnect",
        Method::POST,
        Access::Key,
        later!(sockets::disconnect),
    ),
    now("/api/settings", Method::GET, Access::Admin, admin::settings),
    now(
        "/api/settings",
        Method::PATCH,
        Access::Admin,
        admin::patch_settings,
    ),
    now(
        "/api/monitoring/stats",
        Method::GET,
        Access::Admin,
        admin::stats,
    ),
    now(
        "/api/monitoring/events",
        Method::GET,
        Access::Admin,
        admin::events,
    ),
    now(
        "/api/monitoring/log",
        Method::GET,
        Access::Admin,
        admin::log,
    ),
    now(
        "/api/monitoring/reset",
        Method::POST,
        Access::Admin,
        admin::reset,
    ),
    now(
        "/api/settings/defaults",
        Method::GET,
        Access::Admin,
        admin::defaults,
    ),
    now(
        "/api/monitoring/log",
        Method::POST,
        Access::Admin,
        admin::log_event,
    ),
    route(
        "/api/monitoring/test",
        Method::POST,
        Access::Admin,
        later!(testing::monitoring_test),
    ),
    route(
        "/api/dashboard/overview",
        Method::GET,
        Access::Admin,
        later!(dashboard::overview),
    ),
    now(
        "/api/dashboard/history",
        Method::GET,
        Access::Admin,
        dashboard::history,
    ),
    now(
        "/api/dashboard/events",
        Method::GET,
        Access::Admin,
        dashboard::events,
    ),
    now(
        "/api/dashboard/login",
        Method::GET,
        Access::Public,
        login::info,
    ),
    route(
        "/api/dashboard/login",
        Method::POST,
        Access::Public,
        later!(login::login),
    ),
    now(
        "/api/dashboard/logout",
        Method::POST,
        Access::Admin,
        login::logout,
    ),
    now(
        "/api/socket/health",
        Method::GET,
        Access::Health,
        status::socket_health,
    ),
    now("/api/socket-test", Method::GET, Access::Key, testing::info),
    route(
        "/api/socket-test",
        Method::POST,
        Access::Key,
        later!(testing::act),
    ),
    now(
        "/api/webhooks/strapi",
        Method::POST,
        Access::Webhook,
        webhooks::strapi,
    ),
    now(
        "/api/webhooks/content",
        Method::POST,
        Access::Webhook,
        webhooks::generic,
    ),
    now(
        "/api/openapi.json",
        Method::GET,
        Access::Public,
        status::openapi,
    ),
];

/// The paths of the HTTP API's routes (under `/api/`), for the engine
/// paths' check ([`Config::check_engine_paths`](crate::config::Config::check_engine_paths)).
pub fn route_paths() -> impl Iterator<Item = &'static str> {
    ROUTES.iter().map(|r| r.path)
}

/// Whether `path` is one of the API's own routes (or `/health`, `/ready`,
/// `/metrics`, the dashboard's pages when on), which win over an engine
/// path around them.
pub fn is_route(live: &Live, path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics")
        || (live.config.dashboard.enabled && crate::dashboard::PATHS.contains(&path))
        || (live.config.api.enabled && ROUTES.iter().any(|r| r.path == path))
}

/// An authenticated request, as a handler sees it.
struct Call<'a> {
    st: &'a State,
    live: &'a Live,
    /// The client's address.
    ip: IpAddr,
    /// The query string (`""` when none).
    query: String,
    /// Whether the key is an admin key (or a dashboard login token, see
    /// [`login`]).
    admin: bool,
    /// The dashboard login token the request carries, if it came with one.
    session: Option<String>,
    /// The request's time, ISO 8601.
    ts: String,
    /// The JSON object of a POST or PATCH; `null` for a GET.
    body: Value,
}

/// A 200 with `body`.
fn ok(body: Value) -> Answer {
    Ok(json(StatusCode::OK, &body))
}

/// An API error: status, code, message.
struct ApiError(StatusCode, &'static str, String, Option<Duration>);

impl ApiError {
    fn new(status: StatusCode, code: &'static str, msg: impl Into<String>) -> Self {
        ApiError(status, code, msg.into(), None)
    }

    fn bad(msg: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", msg)
    }

    /// Over a rate limit; `retry` is when to try again.
    fn limited(retry: Duration) -> Self {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "Rate limit exceeded",
        );
        e.3 = Some(retry);
        e
    }
}

fn request_id() -> String {
    let b: [u8; 8] = rand::random();
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn error_response(e: &ApiError, id: &str) -> Response<Full<Bytes>> {
    json(e.0, &{
        let mut b = failure(e.1, &e.2);
        b["requestId"] = id.into();
        b
    })
}

/// The response for `e`: rate-limit refusals carry `Retry-After` and
/// `retryAfter`.
fn api_error(e: &ApiError, id: &str) -> Response<Full<Bytes>> {
    match e.3 {
        Some(retry) => too_many(retry, Some(id)),
        None => error_response(e, id),
    }
}

/// Answers a request outside the engine path.
pub async fn handle(
    st: &State,
    live: &Live,
    ip: IpAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let id = request_id();
    let route_label = match path.as_str() {
        "/health" | "/ready" | "/metrics" => path.clone(),
        p if live.config.api.enabled && ROUTES.iter().any(|r| r.path == p) => p.to_owned(),
        p if crate::dashboard::PATHS.contains(&p) => "/dashboard".to_owned(),
        _ => "other".to_owned(),
    };
    let surfaces = live.config.security.ip_lists_apply_to;
    let guarded = match path.as_str() {
        "/health" | "/ready" => surfaces.health,
        "/metrics" => surfaces.metrics,
        _ => surfaces.api,
    };
    let mut resp = match path.as_str() {
        _ if guarded && !live.ip_allowed(ip) => {
            st.metrics
                .ip_refused_total
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(address = %ip, path = %path, "HTTP request refused by the IP lists");
            error_response(
                &ApiError::new(
                    StatusCode::FORBIDDEN,
                    "FORBIDDEN",
                    "Forbidden: address not allowed",
                ),
                &id,
            )
        }
        _ if req.method() == Method::OPTIONS => match methods(live, &path) {
            Some(m) => reply::options(&m),
            None => error_response(
                &ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found"),
                &id,
            ),
        },
        "/health" | "/ready" | "/metrics" if !is_get_or_head(req.method()) => {
            get_or_head_only(req.method(), &path, &id)
        }
        "/health" => status::health(),
        "/ready" => status::ready(st),
        "/metrics" => match metrics_access(st, live, ip, &req) {
            Ok(()) => status::metrics(st),
            Err(e) => api_error(&e, &id),
        },
        p if live.config.dashboard.enabled && crate::dashboard::PATHS.contains(&p) => {
            crate::dashboard::page(req.method(), p, &id)
        }
        p if p.starts_with("/api/") && live.config.api.enabled => {
            match api(st, live, ip, req).await {
                Ok(r) => r,
                Err(e) => api_error(&e, &id),
            }
        }
        _ => error_response(
            &ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found"),
            &id,
        ),
    };
    if route_label != "/health" && route_label != "/ready" {
        st.metrics
            .http_requests_total
            .inc(&[&route_label, resp.status().as_str()]);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && !resp.headers().contains_key(header::ALLOW)
    {
        // RFC 9110 section 15.5.6: a 405 lists the methods the target takes.
        if let Ok(v) = HeaderValue::from_str(&allowed_methods(&path)) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
    }
    resp
}

/// The methods `path` takes, as `Allow` lists them: GET and HEAD for
/// `/health`, `/ready`, `/metrics` and the dashboard's pages (when on),
/// the methods of its routes for an API path (when the API is on); `None`
/// for a path that is none of these (the engine paths are the front's).
pub fn methods(live: &Live, path: &str) -> Option<String> {
    let page = live.config.dashboard.enabled && crate::dashboard::PATHS.contains(&path);
    if matches!(path, "/health" | "/ready" | "/metrics") || page {
        return Some("GET, HEAD".to_owned());
    }
    let on_path = allowed_methods(path);
    (live.config.api.enabled && !on_path.is_empty()).then_some(on_path)
}

/// The methods of the routes on `path`, for the `Allow` header of a 405.
fn allowed_methods(path: &str) -> String {
    let methods: Vec<&str> = ROUTES
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.method.as_str())
        .collect();
    methods.join(", ")
}

/// The route for `path` and `method`: 404 for an unknown path, 405 for a
/// method it does not take.
fn find_route(path: &str, method: &Method) -> Result<&'static Route, ApiError> {
    let mut on_path = ROUTES.iter().filter(|r| r.path == path).peekable();
    if on_path.peek().is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("No route {path}"),
        ));
    }
    on_path.find(|r| r.method == method).ok_or_else(|| {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{method} is not allowed on {path}"),
        )
    })
}

/// Routes a request under `/api/`: the key (before the route is looked
/// up, so that routes cannot be probed without one; public routes
/// excepted; a dashboard login token on the routes that take one), the
/// route, the admin check, the body, the signature (not for a token),
/// then the route's handler.
async fn api(st: &State, live: &Live, ip: IpAddr, req: Request<Incoming>) -> Answer {
    let (parts, body) = req.into_parts();
    let found = find_route(parts.uri.path(), &parts.method);
    let access = found.as_ref().ok().map(|r| r.access);
    let public = match access {
        Some(Access::Public) => true,
        Some(Access::Health) => !live.config.api.metrics_require_key,
        _ => false,
    };
    let session = found
        .as_ref()
        .ok()
        .and_then(|r| login::session(st, live, ip, &parts.headers, r))
        .transpose()?;
    let key = if public || session.is_some() {
        None
    } else {
        let webhook = access == Some(Access::Webhook);
        Some(authenticate(st, live, ip, &parts.headers, webhook)?)
    };
    let route = found?;
    let admin = session.is_some() || key.as_ref().is_some_and(|(_, admin)| *admin);
    if route.access == Access::Admin && !admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "This route needs an admin key",
        ));
    }
    let with_body = parts.method == Method::POST || parts.method == Method::PATCH;
    let bytes = if with_body {
        read_body(body, &parts.headers, live.config.api.max_body_bytes).await?
    } else {
        Bytes::new()
    };
    let query = parts.uri.query().unwrap_or("").to_owned();
    if let Some((key, _)) = &key {
        let unsigned_ok =
            route.access == Access::Webhook && live.config.content.allow_unsigned_webhooks;
        let req = signing::RequestParts {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: &query,
            body: &bytes,
        };
        check_signature(st, live, ip, &parts.headers, &req, key, unsigned_ok)?;
    }
    let body = if with_body {
        parse_json(&bytes)?
    } else {
        Value::Null
    };
    let call = Call {
        st,
        live,
        ip,
        query,
        admin,
        session,
        ts: iso8601(SystemTime::now()),
        body,
    };
    match route.handler {
        Handler::Now(f) => f(&call),
        Handler::Later(f) => f(&call).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document() {
        let spec: Value = serde_json::from_str(OPENAPI).unwrap();
        for Route { path, method, .. } in ROUTES {
            let op = &spec["paths"][*path][method.as_str().to_ascii_lowercase()];
            assert!(op.is_object(), "{method} {path} missing from openapi.json");
        }
        for p in ["/health", "/ready", "/metrics"] {
            let ops = spec["paths"][p].as_object().unwrap();
            let mut methods: Vec<&str> = ops.keys().map(String::as_str).collect();
            methods.sort_unstable();
            assert_eq!(methods, ["get", "head"], "{p}: GET and HEAD only");
        }
        let paths = spec["paths"].as_object().unwrap();
        for p in paths.keys() {
            assert!(
                ROUTES.iter().any(|r| r.path == p)
                    || ["/health", "/ready", "/metrics"].contains(&p.as_str()),
                "{p} documented but not routed"
            );
        }
    }
}
