//! The HTTP API: `/api/push`, `/api/broadcast`, `/api/room`, `/api/status`,
//! the socket operations (`/api/sockets`, `/api/sockets/{join,leave,
//! disconnect}`), the admin routes (`/api/settings`, `/api/monitoring/*`), `/health`,
//! `/ready`, `/metrics` and the OpenAPI description. Requests authenticate
//! with `X-API-Key` (and optionally a signature, see [`crate::signing`]),
//! are rate limited per key, and every error has the documents' shape
//! `{"success":false,"error","code","requestId"}`.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use engineio::Sid;
use hmac::{Hmac, Mac};
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use socketio::adapter::BroadcastOptions;
use socketio::{Namespace, Socket};

use crate::identity::{is_server_room, role_room, user_of, user_room};
use crate::monitor::iso8601;
use crate::rate_limit::limit_key;
use crate::reply::{failure, json, too_many};
use crate::signing::{self, SignedHeaders, SigningPolicy};
use crate::state::{lock, Live, State};

/// The OpenAPI description served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    Key,
    Admin,
}

/// Routes: path, methods, access.
const ROUTES: &[(&str, &[Method], Access)] = &[
    ("/api/push", &[Method::POST], Access::Key),
    ("/api/broadcast", &[Method::POST], Access::Key),
    ("/api/room", &[Method::POST], Access::Key),
    ("/api/status", &[Method::GET], Access::Key),
    ("/api/sockets", &[Method::GET], Access::Key),
    ("/api/sockets/join", &[Method::POST], Access::Key),
    ("/api/sockets/leave", &[Method::POST], Access::Key),
    ("/api/sockets/disconnect", &[Method::POST], Access::Key),
    (
        "/api/settings",
        &[Method::GET, Method::PATCH],
        Access::Admin,
    ),
    ("/api/monitoring/stats", &[Method::GET], Access::Admin),
    ("/api/monitoring/events", &[Method::GET], Access::Admin),
    ("/api/monitoring/log", &[Method::GET], Access::Admin),
    ("/api/monitoring/reset", &[Method::POST], Access::Admin),
    ("/api/openapi.json", &[Method::GET], Access::Public),
];

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

/// A short, non-secret identifier of an API key.
fn key_id(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
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
        p if live.config.api.enabled && ROUTES.iter().any(|r| r.0 == p) => p.to_owned(),
        _ => "other".to_owned(),
    };
    let mut resp = match path.as_str() {
        "/health" => json(
            StatusCode::OK,
            &json!({ "status": "ok", "timestamp": iso8601(SystemTime::now()) }),
        ),
        "/ready" => {
            let ready = st.ready();
            let status = if ready {
                "ready"
            } else if st.draining() {
                "draining"
            } else {
                "starting"
            };
            let code = if ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(
                code,
                &json!({ "ready": ready, "status": status, "timestamp": iso8601(SystemTime::now()) }),
            )
        }
        "/metrics" => metrics(st, live, ip, &req, &id),
        p if p.starts_with("/api/") && live.config.api.enabled => {
            match api(st, live, ip, req, &id).await {
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
    resp
}

fn metrics(
    st: &State,
    live: &Live,
    ip: IpAddr,
    req: &Request<Incoming>,
    id: &str,
) -> Response<Full<Bytes>> {
    if live.config.api.metrics_require_key {
        if let Err(e) = authenticate(st, live, ip, req).map(|_| ()) {
            return api_error(&e, id);
        }
    }
    let rooms = count_rooms(st);
    let text = st.metrics.render(st.started.elapsed().as_secs(), rooms);
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// The rooms of `n`, without the rooms named by its socket ids.
fn named_rooms(n: &Namespace) -> Vec<String> {
    let ids: std::collections::HashSet<String> = n
        .sockets()
        .iter()
        .map(|s| s.id().as_str().to_owned())
        .collect();
    n.adapter()
        .rooms()
        .into_iter()
        .filter(|r| !ids.contains(r.as_str()))
        .collect()
}

/// Rooms of every namespace, without the rooms named by socket ids.
fn count_rooms(st: &State) -> usize {
    st.io
        .namespaces()
        .iter()
        .map(|n| named_rooms(n).len())
        .sum()
}

/// Compares `given` with `key` in time independent of where they differ.
fn key_matches(given: &[u8], key: &[u8]) -> bool {
    // Equal-length digests, compared with HMAC's constant-time check.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(b"api-key-compare") else {
        return false;
    };
    mac.update(key);
    let expected = mac.finalize().into_bytes();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(b"api-key-compare") else {
        return false;
    };
    mac.update(given);
    mac.verify_slice(&expected).is_ok()
}

/// The key a request carries, if valid: `(key, is_admin)`. Limits failed
/// attempts per client address.
fn authenticate(
    st: &State,
    live: &Live,
    ip: IpAddr,
    req: &Request<Incoming>,
) -> Result<(String, bool), ApiError> {
    let given = req
        .headers()
        .get("x-api-key")
        .map(|v| v.as_bytes().to_vec());
    let api = &live.config.api;
    let found = given.as_ref().and_then(|g| {
        let admin = api.admin_keys.iter().find(|k| key_matches(g, k.as_bytes()));
        let user = api.keys.iter().find(|k| key_matches(g, k.as_bytes()));
        admin
            .map(|k| (k.clone(), true))
            .or(user.map(|k| (k.clone(), false)))
    });
    if let Some(limit) = live.per_minute(live.config.rate_limits.api_requests_per_minute) {
        let now = Instant::now();
        let r = match &found {
            Some((k, _)) => lock(&st.api_limiter).check(&key_id(k), limit, now),
            None => lock(&st.api_ip_limiter).check(&limit_key(ip), limit, now),
        };
        if let Err(retry) = r {
            st.metrics.rate_limited_total.inc(&["api"]);
            return Err(ApiError::limited(retry));
        }
    }
    match (given, found) {
        (None, _) => {
            st.metrics.auth_failures_total.inc(&["API_KEY_MISSING"]);
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "Missing API key (X-API-Key)",
            ))
        }
        (Some(_), None) => {
            st.metrics.auth_failures_total.inc(&["INVALID_API_KEY"]);
            tracing::info!(address = %ip, "API request with an invalid key");
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_API_KEY",
                "Invalid API key",
            ))
        }
        (Some(_), Some(f)) => Ok(f),
    }
}

async fn api(
    st: &State,
    live: &Live,
    ip: IpAddr,
    req: Request<Incoming>,
    _id: &str,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let path = req.uri().path().to_owned();
    let Some(route) = ROUTES.iter().find(|r| r.0 == path) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("No route {path}"),
        ));
    };
    if !route.1.contains(req.method()) {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{} is not allowed on {path}", req.method()),
        ));
    }
    if route.2 == Access::Public {
        let mut r = Response::new(Full::new(Bytes::from_static(OPENAPI.as_bytes())));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Ok(r);
    }
    let (key, admin) = authenticate(st, live, ip, &req)?;
    let h = req.headers();
    let signed = SignedHeaders {
        timestamp: h.get("x-request-timestamp").and_then(|v| v.to_str().ok()),
        nonce: h.get("x-request-nonce").and_then(|v| v.to_str().ok()),
        version: h.get("x-signature-version").and_then(|v| v.to_str().ok()),
        signature: h.get("x-signature").and_then(|v| v.to_str().ok()),
    };
    if live.config.api.require_signature || signed.signature.is_some() {
        let policy = SigningPolicy {
            window_ms: live.config.api.signature_window_secs.saturating_mul(1000),
            ..SigningPolicy::default()
        };
        let r = {
            let mut caches = lock(&st.nonces);
            let cache = caches
                .entry(key_id(&key))
                .or_insert_with(|| signing::NonceCache::new(live.config.api.nonce_cache_size));
            signing::verify(
                key.as_bytes(),
                req.method().as_str(),
                &path,
                &signed,
                &policy,
                now_ms(),
                cache,
            )
        };
        if let Err(e) = r {
            st.metrics.auth_failures_total.inc(&[e.code()]);
            tracing::info!(address = %ip, reason = e.code(), "API request signature refused");
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                format!("Request signature refused: {e} ({})", e.code()),
            ));
        }
    }
    if route.2 == Access::Admin && !admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "This route needs an admin key",
        ));
    }
    let method = req.method().clone();
    let query = req.uri().query().unwrap_or("").to_owned();
    let body = if method == Method::POST || method == Method::PATCH {
        Some(read_json(req, live.config.api.max_body_bytes).await?)
    } else {
        None
    };
    let ok = |v: Value| Ok(json(StatusCode::OK, &v));
    let ts = iso8601(SystemTime::now());
    match (path.as_str(), body) {
        ("/api/push", Some(b)) => {
            // One user's sockets, or one socket (the plugin's
            // `sendPrivateMessage`).
            let room = match (present(&b, "userId"), present(&b, "socketId")) {
                (Some(_), Some(_)) => {
                    return Err(ApiError::bad("give `userId` or `socketId`, not both"))
                }
                (None, Some(id)) => socket_id(id)?.as_str().to_owned(),
                (u, None) => user_room(&user_id(u)?),
            };
            let (nsp, event, data) = target(st, &b)?;
            let n = emit(st, live, &nsp, Some(room), None, &event, data);
            ok(json!({ "success": true, "delivered": n > 0, "recipients": n, "timestamp": ts }))
        }
        ("/api/broadcast", Some(b)) => {
            let (nsp, event, data) = target(st, &b)?;
            // From a socket to all the others (the plugin's `broadcast`).
            let except = present(&b, "exceptSocketId").map(socket_id).transpose()?;
            let n = emit(st, live, &nsp, None, except, &event, data);
            ok(json!({ "success": true, "recipients": n, "timestamp": ts }))
        }
        ("/api/room", Some(b)) => {
            let room = room_of(&b)?;
            let (nsp, event, data) = target(st, &b)?;
            let n = emit(st, live, &nsp, Some(room), None, &event, data);
            ok(json!({ "success": true, "recipients": n, "timestamp": ts }))
        }
        ("/api/status", None) => ok(status(st, live, ts)),
        ("/api/sockets", None) => ok(list_sockets(st, &query, admin)?),
        ("/api/sockets/join", Some(b)) => {
            let room = room_of(&b)?;
            let found = select(st, &b, false)?;
            member_room(live, &room, &found)?;
            for s in &found {
                s.join(room.clone());
            }
            ok(json!({ "success": true, "room": room, "sockets": found.len(), "timestamp": ts }))
        }
        ("/api/sockets/leave", Some(b)) => {
            let room = room_of(&b)?;
            let found = select(st, &b, false)?;
            member_room(live, &room, &found)?;
            for s in &found {
                s.leave(&room);
            }
            ok(json!({ "success": true, "room": room, "sockets": found.len(), "timestamp": ts }))
        }
        ("/api/sockets/disconnect", Some(b)) => {
            let reason = match b.get("reason") {
                None | Some(Value::Null) => None,
                Some(Value::String(r)) if r.len() <= 256 => Some(r.clone()),
                _ => {
                    return Err(ApiError::bad(
                        "`reason` must be a string (at most 256 bytes)",
                    ))
                }
            };
            let found = select(st, &b, true)?;
            for s in &found {
                // The notice goes before the DISCONNECT packet, in order.
                let notice = json!({ "reason": reason, "timestamp": ts });
                st.metrics.events_sent_total.fetch_add(1, Ordering::Relaxed);
                let _ = s.emit("force_logout", notice);
                s.disconnect(false);
            }
            tracing::info!(address = %ip, sockets = found.len(), reason = reason.as_deref().unwrap_or("-"), "sockets disconnected through the API");
            ok(json!({ "success": true, "disconnected": found.len(), "timestamp": ts }))
        }
        ("/api/settings", None) => ok(json!({ "success": true, "settings": live.config.masked() })),
        ("/api/settings", Some(patch)) => {
            let _serial = lock(&st.settings_update);
            let current = st.live();
            let next = crate::config::apply_settings_patch(&current.config, &patch)
                .map_err(|e| ApiError::bad(e.to_string()))?;
            let masked = next.masked();
            let new_live = Live::new(next).map_err(ApiError::bad)?;
            st.set_live(new_live);
            tracing::info!(address = %ip, "settings changed through the API");
            ok(json!({ "success": true, "settings": masked }))
        }
        ("/api/monitoring/stats", None) => ok(connection_stats(st)),
        ("/api/monitoring/events", None) => ok(lock(&st.monitor).stats(Instant::now())),
        ("/api/monitoring/log", None) => {
            let limit = engineio::query::param(&query, "limit")
                .map(|l| {
                    l.parse::<usize>()
                        .map_err(|_| ApiError::bad("`limit` must be a number"))
                })
                .transpose()?
                .unwrap_or(50);
            ok(json!({ "success": true, "events": lock(&st.monitor).recent(limit) }))
        }
        ("/api/monitoring/reset", Some(_)) => {
            lock(&st.monitor).reset();
            ok(json!({ "success": true }))
        }
        _ => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "Unhandled route",
        )),
    }
}

async fn read_json(req: Request<Incoming>, max: usize) -> Result<Value, ApiError> {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
    {
        if len > max {
            return Err(too_large(max));
        }
    }
    let body = Limited::new(req.into_body(), max)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                too_large(max)
            } else {
                ApiError::bad("Could not read the request body")
            }
        })?
        .to_bytes();
    if body.is_empty() {
        return Ok(json!({}));
    }
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad(format!("Invalid JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad("The body must be a JSON object"));
    }
    Ok(v)
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        format!("Body larger than {max} bytes"),
    )
}

/// `room`: a non-empty string of at most 256 bytes.
fn room_of(b: &Value) -> Result<String, ApiError> {
    match b.get("room") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Ok(s.clone()),
        _ => Err(ApiError::bad(
            "`room` must be a non-empty string (at most 256 bytes)",
        )),
    }
}

/// Checks the `room` of a join or leave: not one of the server's own,
/// whose membership follows the token (`user_…`, `role_…`, and a socket's
/// own room, by the rule of `events::sid_room_reserved`).
fn member_room(live: &Live, room: &str, sockets: &[Socket]) -> Result<(), ApiError> {
    if sockets
        .iter()
        .any(|s| is_server_room(room, s, live.config.connection.recovery_secs > 0))
    {
        return Err(ApiError::bad(format!(
            "`{room}` is a server room (user_…, role_… or a socket's id)"
        )));
    }
    Ok(())
}

/// Field `k` of `b`, with `null` taken as absent.
fn present<'a>(b: &'a Value, k: &str) -> Option<&'a Value> {
    b.get(k).filter(|v| !v.is_null())
}

/// A user id: a non-empty string or an integer.
fn user_id(v: Option<&Value>) -> Result<String, ApiError> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
        _ => Err(ApiError::bad(
            "`userId` must be a non-empty string or an integer",
        )),
    }
}

/// A socket id in the server's format.
fn socket_id(v: &Value) -> Result<Sid, ApiError> {
    v.as_str()
        .and_then(Sid::parse)
        .ok_or_else(|| ApiError::bad("`socketId` must be a socket id (20 characters)"))
}

fn not_found(what: String) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", what)
}

/// The namespace named `name`.
fn namespace(st: &State, name: &str) -> Result<Namespace, ApiError> {
    st.io
        .namespaces()
        .into_iter()
        .find(|n| n.name() == name)
        .ok_or_else(|| not_found(format!("No namespace {name}")))
}

/// The request's `namespace`, `/` when absent.
fn namespace_of(st: &State, b: &Value) -> Result<Namespace, ApiError> {
    match present(b, "namespace") {
        None => namespace(st, "/"),
        Some(Value::String(n)) => namespace(st, n),
        Some(_) => Err(ApiError::bad("`namespace` must be a string")),
    }
}

/// The namespaces a socket operation covers: `namespace`, else `/` (or
/// every namespace when `all_by_default`).
fn namespaces(st: &State, b: &Value, all_by_default: bool) -> Result<Vec<Namespace>, ApiError> {
    if all_by_default && present(b, "namespace").is_none() {
        return Ok(st.io.namespaces());
    }
    Ok(vec![namespace_of(st, b)?])
}

/// The sockets a socket operation names: `socketId` (one socket) or
/// `userId` (every socket of the user). 404 when none is connected.
fn select(st: &State, b: &Value, all_by_default: bool) -> Result<Vec<Socket>, ApiError> {
    // Checked before the namespace: a malformed request is a 400 whatever
    // the namespace.
    let by = match (present(b, "socketId"), present(b, "userId")) {
        (Some(_), Some(_)) => return Err(ApiError::bad("give `socketId` or `userId`, not both")),
        (Some(id), None) => Ok(socket_id(id)?),
        (None, Some(u)) => Err(user_id(Some(u))?),
        (None, None) => return Err(ApiError::bad("`socketId` or `userId` is required")),
    };
    let nsps = namespaces(st, b, all_by_default)?;
    let found: Vec<Socket> = match by {
        Ok(sid) => nsps.iter().filter_map(|n| n.socket(sid)).collect(),
        Err(user) => {
            let opts = BroadcastOptions {
                rooms: vec![user_room(&user)],
                ..BroadcastOptions::default()
            };
            nsps.iter()
                .flat_map(|n| {
                    n.adapter()
                        .local_sockets(&opts)
                        .into_iter()
                        .filter_map(|sid| n.socket(sid))
                })
                .collect()
        }
    };
    if found.is_empty() {
        return Err(not_found("No such connected socket".into()));
    }
    Ok(found)
}

/// Most sockets `GET /api/sockets` lists.
pub const MAX_LISTED_SOCKETS: usize = 10_000;

/// `GET /api/sockets?namespace=&room=&userId=&limit=`: the sockets of a
/// namespace (default `/`), of a room, of a user, or of both.
fn list_sockets(st: &State, query: &str, admin: bool) -> Result<Value, ApiError> {
    let q = |k: &str| engineio::query::param(query, k);
    let nsp = namespace(st, q("namespace").as_deref().unwrap_or("/"))?;
    let limit = match q("limit") {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LISTED_SOCKETS).contains(l))
            .ok_or_else(|| ApiError::bad(format!("`limit` must be 1 to {MAX_LISTED_SOCKETS}")))?,
        None => 1000,
    };
    let in_rooms = |rooms: Vec<String>| {
        nsp.adapter().local_sockets(&BroadcastOptions {
            rooms,
            ..BroadcastOptions::default()
        })
    };
    let sids = match (q("room"), q("userId").map(|u| user_room(&u))) {
        // `local_sockets` is the union of its rooms; keep those in both.
        (Some(r), Some(u)) => {
            let of_user: std::collections::HashSet<Sid> = in_rooms(vec![u]).into_iter().collect();
            in_rooms(vec![r])
                .into_iter()
                .filter(|s| of_user.contains(s))
                .collect()
        }
        (r, u) => in_rooms(r.into_iter().chain(u).collect()),
    };
    let total = sids.len();
    let sockets: Vec<Value> = sids
        .into_iter()
        .filter_map(|sid| nsp.socket(sid))
        .take(limit)
        .map(|s| socket_json(&s, admin))
        .collect();
    Ok(json!({ "success": true, "count": total, "sockets": sockets }))
}

/// A socket as the API lists it; its handshake (the client's address)
/// only for admin keys, as in `/api/monitoring/stats`.
fn socket_json(s: &Socket, with_handshake: bool) -> Value {
    let user = user_of(s);
    let mut v = json!({
        "id": s.id().as_str(),
        "namespace": s.nsp().name(),
        "connected": s.connected(),
        "rooms": s.rooms(),
        "user": user.map(|u| json!({ "id": u.id, "role": u.role })),
    });
    if with_handshake {
        let h = s.handshake();
        v["handshake"] = json!({
            "address": h.address.map(|a| a.ip().to_string()),
            "time": iso8601(h.issued),
        });
    }
    v
}

/// The namespace, event and payload of an emit request.
fn target(st: &State, b: &Value) -> Result<(Namespace, String, Option<Value>), ApiError> {
    let event = match b.get("event") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => s.clone(),
        _ => {
            return Err(ApiError::bad(
                "`event` must be a non-empty string (at most 256 bytes)",
            ))
        }
    };
    if socketio::packet::RESERVED_EVENTS.contains(&event.as_str()) {
        return Err(ApiError::bad(format!("`{event}` is a reserved event name")));
    }
    Ok((namespace_of(st, b)?, event, b.get("data").cloned()))
}

/// Content-type events (`{type}:{create|update|delete}` with `type` named
/// in some role's permissions) only reach roles allowed to receive them.
fn allowed_roles(live: &Live, event: &str) -> Option<Vec<String>> {
    let (ty, action) = event.rsplit_once(':')?;
    if !matches!(action, "create" | "update" | "delete") {
        return None;
    }
    let roles = &live.config.roles;
    if !roles.values().any(|r| r.content_types.contains_key(ty)) {
        return None;
    }
    Some(
        roles
            .iter()
            .filter(|(_, r)| r.receives(ty, action))
            .map(|(n, _)| role_room(n))
            .collect(),
    )
}

/// Emits to `room` (or the whole namespace); returns the recipient count.
fn emit(
    st: &State,
    live: &Live,
    nsp: &Namespace,
    room: Option<String>,
    except: Option<Sid>,
    event: &str,
    data: Option<Value>,
) -> usize {
    let mut opts = BroadcastOptions::default();
    opts.rooms.extend(room.iter().cloned());
    opts.except.extend(except.map(|s| s.as_str().to_owned()));
    let mut sids = nsp.adapter().local_sockets(&opts);
    if let Some(roles) = allowed_roles(live, event) {
        if roles.is_empty() {
            // No role may receive it (and no rooms would mean everyone).
            return 0;
        }
        let ok: std::collections::HashSet<_> = nsp
            .adapter()
            .local_sockets(&BroadcastOptions {
                rooms: roles.clone(),
                ..BroadcastOptions::default()
            })
            .into_iter()
            .collect();
        sids.retain(|s| ok.contains(s));
        if room.is_none() {
            // Namespace-wide: the allowed roles' rooms are the recipients
            // (every socket is in its role's room), without listing them.
            let mut op = nsp.to(roles);
            if let Some(sid) = except {
                op = op.except(sid);
            }
            let _ = op.emit(event, payload(data));
        } else if !sids.is_empty() {
            // A room's members of the allowed roles, one by one.
            let rooms: Vec<String> = sids.iter().map(|s| s.as_str().to_owned()).collect();
            let _ = nsp.to(rooms).emit(event, payload(data));
        }
    } else {
        // Sent even with no local recipient: with connection state recovery
        // a briefly disconnected socket gets it when it comes back (and a
        // cluster adapter would carry it to other nodes).
        let mut op = match room {
            Some(r) => nsp.to(r),
            None => nsp.broadcast(),
        };
        if let Some(sid) = except {
            op = op.except(sid);
        }
        let _ = op.emit(event, payload(data));
    }
    st.metrics
        .events_sent_total
        .fetch_add(sids.len() as u64, Ordering::Relaxed);
    sids.len()
}

fn payload(data: Option<Value>) -> socketio::Data {
    match data {
        Some(v) => socketio::Data::from(v),
        None => socketio::Data::new(),
    }
}

fn status(st: &State, live: &Live, ts: String) -> Value {
    let mem = memory();
    json!({
        "success": true,
        "status": if st.draining() { "draining" } else { "ok" },
        "connections": st.connection_count(),
        "sockets": st.io.namespaces().iter().map(|n| n.sockets().len()).sum::<usize>(),
        "rooms": count_rooms(st),
        "uptime": st.started.elapsed().as_secs(),
        "memory": mem,
        "version": env!("CARGO_PKG_VERSION"),
        "environment": live.config.server.environment,
        "timestamp": ts,
    })
}

/// Process memory from `/proc/self/status`, in bytes, in the documents'
/// shape: `rss` is VmRSS, `heapTotal` VmData, `heapUsed` RssAnon and
/// `external` RssFile (there is no garbage-collected heap here).
fn memory() -> Value {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |k| k * 1024)
    };
    json!({ "rss": kb("VmRSS"), "heapTotal": kb("VmData"), "heapUsed": kb("RssAnon"), "external": kb("RssFile") })
}

/// Connection statistics as the monitoring service shapes them.
fn connection_stats(st: &State) -> Value {
    let mut rooms = Vec::new();
    let mut sockets = Vec::new();
    for n in st.io.namespaces() {
        for r in named_rooms(&n) {
            let opts = BroadcastOptions {
                rooms: vec![r.clone()],
                ..BroadcastOptions::default()
            };
            rooms.push(json!({ "namespace": n.name(), "name": r, "members": n.adapter().local_sockets(&opts).len() }));
        }
        for s in n.sockets() {
            sockets.push(socket_json(&s, true));
        }
    }
    json!({ "success": true, "connected": sockets.len(), "rooms": rooms, "sockets": sockets })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document() {
        let spec: Value = serde_json::from_str(OPENAPI).unwrap();
        for (path, methods, _) in ROUTES {
            for m in *methods {
                let op = &spec["paths"][*path][m.as_str().to_ascii_lowercase()];
                assert!(op.is_object(), "{m} {path} missing from openapi.json");
            }
        }
        for p in ["/health", "/ready", "/metrics"] {
            assert!(spec["paths"][p]["get"].is_object(), "{p}");
        }
        let paths = spec["paths"].as_object().unwrap();
        for p in paths.keys() {
            assert!(
                ROUTES.iter().any(|r| r.0 == p)
                    || ["/health", "/ready", "/metrics"].contains(&p.as_str()),
                "{p} documented but not routed"
            );
        }
    }

    #[test]
    fn key_comparison() {
        assert!(key_matches(b"abc", b"abc"));
        assert!(!key_matches(b"abc", b"abd"));
        assert!(!key_matches(b"", b"abc"));
        assert_eq!(key_id("k").len(), 16);
    }
}
