//! The server's own dashboard: the page at `/dashboard` (HTML, CSS and
//! JavaScript of our own, embedded in the binary) and the bookkeeping
//! behind what it shows ([`recorder`]: the event log and the history).
//!
//! The page loads without credentials and holds no data: it asks for an
//! admin API key (`api.admin_keys`) and reads everything through the admin
//! routes under `/api/dashboard/` (see `crate::api`), sending the key as
//! `X-API-Key`. Its login keeps the key in the tab's `sessionStorage` only.
//! The page's login has a second method when `[admin_ui]` is enabled: the
//! Admin UI's username and password exchanged for a short-lived token
//! ([`login`]) sent as `Authorization: Bearer`.
//!
//! With a cluster adapter the overview lists every node ([`nodes`]: what
//! the other nodes answered to a node-info request).
//!
//! Pure: serves fixed bytes, keeps counts, tokens and the nodes table;
//! must not read the settings or the server state (the routes that do are
//! the API's).

pub mod login;
pub mod nodes;
pub mod recorder;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Response};
use http_body_util::Full;
use socketio::Data;

use crate::reply::{get_or_head_only, is_get_or_head, json_len};

/// The page's paths: the page itself and its two assets.
pub const PATHS: [&str; 4] = [
    "/dashboard",
    "/dashboard/",
    "/dashboard/app.js",
    "/dashboard/app.css",
];

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// The page's Content Security Policy: its own script and style only (no
/// inline code, no other origin), requests to its own origin only, never
/// framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

/// The answer to `method` on `path`, one of [`PATHS`]: the page or asset
/// for GET and HEAD (no key: the page holds no data), else 405 with
/// `Allow` and the API's error body (`request_id` its `requestId`).
pub fn page(method: &Method, path: &str, request_id: &str) -> Response<Full<Bytes>> {
    is_get_or_head(method)
        .then(|| asset(path))
        .flatten()
        .unwrap_or_else(|| get_or_head_only(method, path, request_id))
}

/// The response for one of [`PATHS`], `None` for another path (the page
/// names its assets by absolute path, so it works with or without the
/// trailing slash).
pub fn asset(path: &str) -> Option<Response<Full<Bytes>>> {
    let (body, kind) = match path {
        "/dashboard" | "/dashboard/" => (PAGE, "text/html; charset=utf-8"),
        "/dashboard/app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "/dashboard/app.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return None,
    };
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    secure(&mut r);
    Some(r)
}

/// The page's security headers: [`CSP`], no framing, no sniffing, no
/// referrer, not cached.
fn secure(r: &mut Response<Full<Bytes>>) {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The size of an event's payload: its arguments' JSON text plus its
/// binary attachments, in bytes (counted, not copied).
pub fn payload_bytes(data: &Data) -> usize {
    json_len(data.args()) + data.attachments().iter().map(Bytes::len).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn pages_and_headers() {
        let r = asset("/dashboard/").unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert!(r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(asset("/dashboard").unwrap().status(), StatusCode::OK);
        assert!(asset("/dashboard/app.js").is_some());
        assert!(asset("/dashboard/other").is_none());
        // Every asset the page names is served.
        for name in ["/dashboard/app.js", "/dashboard/app.css"] {
            assert!(PAGE.contains(name), "{name}");
        }
    }

    #[test]
    fn payload_size() {
        let d = Data::new()
            .arg(serde_json::json!({"a": 1}))
            .binary(vec![0u8; 5]);
        let args = serde_json::to_string(d.args()).unwrap();
        assert_eq!(payload_bytes(&d), args.len() + 5);
        assert_eq!(payload_bytes(&Data::new()), 2);
    }
}
