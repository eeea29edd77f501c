//! What the handlers read from a request: the body (bounded by
//! `api.max_body_bytes`) as a JSON object, and its fields checked and
//! looked up (`room`, `userId`, `socketId`, `namespace`, the rooms of a
//! namespace).
//!
//! Validation only; what a route does with the fields is its handler's.

use bytes::Bytes;
use engineio::Sid;
use http::header;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};
use socketio::Namespace;

use super::ApiError;
use crate::state::State;

/// The body, at most `max` bytes (413 beyond).
pub(super) async fn read_body(
    body: Incoming,
    headers: &HeaderMap,
    max: usize,
) -> Result<Bytes, ApiError> {
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
    {
        if len > max {
            return Err(too_large(max));
        }
    }
    Ok(Limited::new(body, max)
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
        .to_bytes())
}

/// A JSON object body (`{}` when empty).
pub(super) fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("Invalid JSON: {e}")))?;
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
pub(super) fn room_of(b: &Value) -> Result<String, ApiError> {
    match b.get("room") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Ok(s.clone()),
        _ => Err(ApiError::bad(
            "`room` must be a non-empty string (at most 256 bytes)",
        )),
    }
}

/// Field `k` of `b`, with `null` taken as absent.
pub(super) fn present<'a>(b: &'a Value, k: &str) -> Option<&'a Value> {
    b.get(k).filter(|v| !v.is_null())
}

/// A user id: a non-empty string or an integer.
pub(super) fn user_id(v: Option<&Value>) -> Result<String, ApiError> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
        _ => Err(ApiError::bad(
            "`userId` must be a non-empty string or an integer",
        )),
    }
}

/// A socket id in the server's format (20 characters, or a socket.io v2
/// client's `nsp#id`): its [`Sid`] and its text, which names its room.
pub(super) fn socket_id(v: &Value) -> Result<(Sid, String), ApiError> {
    let text = v.as_str().unwrap_or_default();
    socketio::parse_socket_id(text)
        .map(|sid| (sid, text.to_owned()))
        .ok_or_else(|| ApiError::bad("`socketId` must be a socket id (20 characters)"))
}

pub(super) fn not_found(what: String) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", what)
}

/// The namespace named `name`.
pub(super) fn namespace(st: &State, name: &str) -> Result<Namespace, ApiError> {
    st.io
        .namespaces()
        .into_iter()
        .find(|n| n.name() == name)
        .ok_or_else(|| not_found(format!("No namespace {name}")))
}

/// The request's `namespace`, `/` when absent; a name without its
/// leading slash (`admin`, as the plugin's `emitToNamespace` takes it)
/// names the same namespace.
pub(super) fn namespace_of(st: &State, b: &Value) -> Result<Namespace, ApiError> {
    match present(b, "namespace") {
        None => namespace(st, "/"),
        Some(Value::String(n)) if n.starts_with('/') => namespace(st, n),
        Some(Value::String(n)) => namespace(st, &format!("/{n}")),
        Some(_) => Err(ApiError::bad("`namespace` must be a string")),
    }
}

/// The rooms of `n`, without the rooms named by its socket ids.
pub(super) fn named_rooms(n: &Namespace) -> Vec<String> {
    let ids: std::collections::HashSet<String> = n
        .sockets()
        .iter()
        .map(|s| s.public_id().to_owned())
        .collect();
    n.adapter()
        .rooms()
        .into_iter()
        .filter(|r| !ids.contains(r.as_str()))
        .collect()
}

/// Rooms of every namespace, without the rooms named by socket ids.
pub(super) fn count_rooms(st: &State) -> usize {
    st.io
        .namespaces()
        .iter()
        .map(|n| named_rooms(n).len())
        .sum()
}
