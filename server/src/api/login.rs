//! The dashboard's logins with the `[admin_ui]` credentials:
//! `GET /api/dashboard/login` (public: whether they are on),
//! `POST /api/dashboard/login` `{username, password}` (public: a token) and
//! `POST /api/dashboard/logout` (revokes the token it carries), plus the
//! check of a token on the routes that take one ([`SESSION_ROUTES`]).
//!
//! A token stands for an admin key on the dashboard's own routes and on
//! `/api/socket-test` (the page's test actions) only; every other route
//! still needs a key. With `admin_ui.read_only` a token only reads: its
//! `POST /api/socket-test` is refused with 403. Requests with a token are
//! never signed (a browser holds no key to sign with) and count against
//! `rate_limits.api_requests_per_minute` like a key's.
//!
//! Uses [`crate::dashboard::login`] for the checks and tokens; must not
//! reach into the other routes.

use std::net::IpAddr;
use std::time::Duration;

use http::header;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use super::dashboard::enabled;
use super::{key_id, ok, Answer, ApiError, Call, Route};
use crate::dashboard::login::Refused;
use crate::state::{lock, Live, State};

/// The routes a login token opens (method ignored: both of
/// `/api/socket-test`'s).
pub(super) const SESSION_ROUTES: [&str; 5] = [
    "/api/dashboard/overview",
    "/api/dashboard/history",
    "/api/dashboard/events",
    "/api/dashboard/logout",
    "/api/socket-test",
];

/// Longest username or password taken, in bytes (bcrypt reads 72).
const MAX_FIELD: usize = 1024;

/// How long a client waits when every password check is busy.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// The token of `Authorization: Bearer`, when sent without `X-API-Key`.
fn bearer(h: &HeaderMap) -> Option<&str> {
    if h.contains_key("x-api-key") {
        return None;
    }
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case("bearer ").then(|| token.trim())
}

/// The login token a request to `route` carries, checked: `None` when it
/// carries none (or the route takes none: the key decides), else the
/// token or why it is refused (401 unknown or expired, 403 a test action
/// in read-only mode, 429 over the request rate).
pub(super) fn session(
    st: &State,
    live: &Live,
    ip: IpAddr,
    h: &HeaderMap,
    route: &Route,
) -> Option<Result<String, ApiError>> {
    if !SESSION_ROUTES.contains(&route.path) || !st.dashboard_logins.available() {
        return None;
    }
    let token = bearer(h)?;
    let now = st.clock.now();
    if !st.dashboard_logins.valid(now, token) {
        st.metrics.auth_failures_total.inc(&["INVALID_SESSION"]);
        tracing::info!(address = %ip, "dashboard request with an unknown or expired token");
        return Some(Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Unknown or expired dashboard login: sign in again",
        )));
    }
    if let Some(limit) = live.per_minute(live.config.rate_limits.api_requests_per_minute) {
        if let Err(retry) = lock(&st.api_limiter).check(&key_id(token), limit, now) {
            st.metrics.rate_limited_total.inc(&["api"]);
            return Some(Err(ApiError::limited(retry)));
        }
    }
    if route.method == Method::POST
        && route.path == "/api/socket-test"
        && st.dashboard_logins.read_only()
    {
        return Some(Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "Read-only login (admin_ui.read_only): test actions need an admin key",
        )));
    }
    Some(Ok(token.to_owned()))
}

/// The 404 of a login while logins are off.
fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Dashboard logins are off: they take the [admin_ui] credentials (admin_ui.enabled)",
    )
}

/// `GET /api/dashboard/login`: whether the page may offer the username
/// and password login, and what a token is worth.
pub(super) fn info(c: &Call) -> Answer {
    enabled(c)?;
    let l = &c.st.dashboard_logins;
    ok(json!({
        "success": true,
        "available": l.available(),
        "readOnly": l.available() && l.read_only(),
        "sessionTtlSecs": l.ttl().as_secs(),
    }))
}

/// A string field of at most [`MAX_FIELD`] bytes.
fn field(b: &Value, k: &str) -> Result<String, ApiError> {
    match b.get(k) {
        Some(Value::String(s)) if s.len() <= MAX_FIELD => Ok(s.clone()),
        _ => Err(ApiError::bad(format!(
            "`{k}` must be a string (at most {MAX_FIELD} bytes)"
        ))),
    }
}

/// `POST /api/dashboard/login` `{username, password}`: a token valid
/// `dashboard.session_ttl_secs`; 401 for wrong credentials, 429 once
/// `dashboard.login_failures_per_minute` failed from this address.
pub(super) async fn login(c: &Call<'_>) -> Answer {
    enabled(c)?;
    if !c.st.dashboard_logins.available() {
        return Err(unavailable());
    }
    let (username, password) = (field(&c.body, "username")?, field(&c.body, "password")?);
    let st = c.st;
    let l = &st.dashboard_logins;
    match l.login(c.ip, &username, password, st.clock.now()).await {
        Ok(token) => ok(json!({
            "success": true,
            "token": token,
            "tokenType": "Bearer",
            "expiresIn": l.ttl().as_secs(),
            "readOnly": l.read_only(),
        })),
        Err(Refused::Invalid) => {
            st.metrics.auth_failures_total.inc(&["INVALID_CREDENTIALS"]);
            tracing::info!(address = %c.ip, "dashboard login refused");
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_CREDENTIALS",
                "Invalid username or password",
            ))
        }
        Err(Refused::Limited(retry)) => {
            st.metrics.rate_limited_total.inc(&["dashboard_login"]);
            Err(ApiError::limited(retry))
        }
        Err(Refused::Busy) => Err(ApiError::limited(BUSY_RETRY)),
        Err(Refused::Unavailable) => Err(unavailable()),
    }
}

/// `POST /api/dashboard/logout`: revokes the token the request carries
/// (`revoked: false` for a request made with a key).
pub(super) fn logout(c: &Call) -> Answer {
    enabled(c)?;
    let revoked = c
        .session
        .as_deref()
        .is_some_and(|t| c.st.dashboard_logins.logout(t));
    ok(json!({ "success": true, "revoked": revoked }))
}
