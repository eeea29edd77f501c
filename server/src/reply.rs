//! The JSON reply shapes the built-in events and the HTTP API share: the
//! refusal `{success: false, error, code}`, a JSON response, the
//! rate-limit refusal (429 with `Retry-After` and `retryAfter`), and the
//! answers about methods (405 with `Allow`, OPTIONS).
//!
//! Owns shapes only: it decides nothing about who is refused and must not
//! touch the server state, the settings or sockets.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

/// A refusal: `{"success": false, "error": message, "code": code}`; callers
/// add their own fields after these (`requestId`, `retryAfter`, `room`…).
pub fn failure(code: &str, message: &str) -> Value {
    json!({ "success": false, "error": message, "code": code })
}

/// A JSON response.
pub fn json(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// The 405 for `method` on `path`, a target answering only GET and HEAD:
/// `Allow: GET, HEAD` (RFC 9110 section 15.5.6) and the API's error body
/// with `requestId`.
pub fn get_or_head_only(method: &Method, path: &str, request_id: &str) -> Response<Full<Bytes>> {
    let mut body = failure(
        "METHOD_NOT_ALLOWED",
        &format!("{method} is not allowed on {path}"),
    );
    body["requestId"] = request_id.into();
    let mut r = json(StatusCode::METHOD_NOT_ALLOWED, &body);
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    r
}

/// The answer to OPTIONS on a target taking `methods` (`"GET, HEAD"`):
/// 204 with `Allow` listing them and OPTIONS (RFC 9110 section 9.3.7).
pub fn options(methods: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    if let Ok(v) = HeaderValue::from_str(&format!("{methods}, OPTIONS")) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

/// Whether `method` is GET or HEAD, the methods of the pages and probes.
pub fn is_get_or_head(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// The length of `v`'s JSON text in bytes (counted, not copied).
pub fn json_len<T: serde::Serialize + ?Sized>(v: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// Whole seconds to wait before retrying (rounded up, at least 1).
pub fn retry_secs(retry: Duration) -> u64 {
    retry.as_secs_f64().ceil().max(1.0) as u64
}

/// The rate-limit refusal: 429, `Retry-After` and the documents' body.
pub fn too_many(retry: Duration, request_id: Option<&str>) -> Response<Full<Bytes>> {
    let secs = retry_secs(retry);
    let mut body = failure("RATE_LIMITED", "Rate limit exceeded");
    body["retryAfter"] = secs.into();
    if let Some(id) = request_id {
        body["requestId"] = id.into();
    }
    let mut r = json(StatusCode::TOO_MANY_REQUESTS, &body);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_field_order() {
        let mut b = failure("X", "m");
        b["requestId"] = "r".into();
        assert_eq!(
            b.to_string(),
            r#"{"success":false,"error":"m","code":"X","requestId":"r"}"#
        );
        assert_eq!(retry_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_secs(Duration::from_millis(2001)), 3);
    }
}
