//! [`Handshake`]: what the client sent when it opened a session, kept as a
//! copy that owns its bytes. Pure data for every runtime driver; it must
//! not depend on the sessions, sockets or transports.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::HeaderValue;

/// What the client sent when it opened the session.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// Request URI of the handshake.
    pub uri: http::Uri,
    /// Request headers of the handshake (shared with the layers above),
    /// without the ones that only negotiate a WebSocket upgrade
    /// (`Connection`, `Upgrade`, `Sec-WebSocket-Key`, `-Version`,
    /// `-Extensions`): they describe the transport, not the client, and a
    /// client that starts with polling never sends them. The allow-request
    /// hook ([`crate::RequestInfo`]) sees every header.
    pub headers: Arc<http::HeaderMap>,
    /// Peer address, when known.
    pub peer: Option<SocketAddr>,
    /// When the handshake happened.
    pub issued_at: SystemTime,
}

impl Handshake {
    /// The handshake of a request: a copy that owns its bytes (a parser's
    /// headers may be slices of a connection's whole read buffer, which a
    /// session would otherwise keep alive), without the headers that only
    /// negotiate a WebSocket (see [`Handshake::headers`]), stamped now.
    pub fn detached(uri: &http::Uri, headers: &http::HeaderMap, peer: Option<SocketAddr>) -> Self {
        Handshake {
            uri: detach_uri(uri),
            headers: Arc::new(detach_headers(headers)),
            peer,
            issued_at: SystemTime::now(),
        }
    }

    /// The first value of query parameter `name`, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        crate::query::param(self.uri.query().unwrap_or(""), name)
    }

    /// Whether the client asked for binary messages as base64 text on
    /// WebSocket (`b64=1` or `b64=true`).
    pub fn binary_as_base64(&self) -> bool {
        crate::query::binary_as_base64(self.uri.query().unwrap_or(""))
    }

    /// The protocol revision (`EIO`) and binary encoding (`b64`) the
    /// client asked for: how the session's packets go on the wire.
    pub fn wire(&self) -> crate::eio3::Wire {
        crate::eio3::Wire {
            protocol: crate::eio3::Protocol::from_eio(
                crate::query::param_cow(self.uri.query().unwrap_or(""), "EIO").as_deref(),
            ),
            base64: self.binary_as_base64(),
        }
    }

    /// The request URL as the request line carried it: path and query
    /// (a URI in absolute form keeps its scheme and authority).
    pub fn url(&self) -> String {
        uri_text(&self.uri).into_owned()
    }
}

/// A copy of `headers` that owns its bytes. hyper's parsed headers are
/// slices of the connection's read buffer: keeping a plain clone for the
/// session's life would keep that whole buffer (8 KiB or more) alive.
///
/// All values share one allocation: a session keeps these for its whole
/// life, and one small allocation per value costs more than the values.
/// The headers that only negotiate a WebSocket upgrade are left out (see
/// [`Handshake::headers`]).
pub fn detach_headers(headers: &http::HeaderMap) -> http::HeaderMap {
    use http::header::{
        CONNECTION, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
    };
    let keep = |k: &http::HeaderName| {
        ![
            CONNECTION,
            UPGRADE,
            SEC_WEBSOCKET_KEY,
            SEC_WEBSOCKET_VERSION,
            SEC_WEBSOCKET_EXTENSIONS,
        ]
        .contains(k)
    };
    let kept = || headers.iter().filter(|(k, _)| keep(k));
    let total = kept().map(|(_, v)| v.len()).sum();
    let mut buf = bytes::BytesMut::with_capacity(total);
    for (_, v) in kept() {
        buf.extend_from_slice(v.as_bytes());
    }
    let all = buf.freeze();
    let mut out = http::HeaderMap::with_capacity(kept().count());
    let mut at = 0;
    for (k, v) in kept() {
        let bytes = all.slice(at..at + v.len());
        at += v.len();
        // The bytes came from a valid value, so this cannot fail.
        if let Ok(v) = HeaderValue::from_maybe_shared(bytes) {
            // Custom names are slices of the read buffer too.
            if let Ok(k) = http::HeaderName::from_bytes(k.as_str().as_bytes()) {
                out.append(k, v);
            }
        }
    }
    out
}

/// A copy of `uri` that owns its bytes (see [`detach_headers`]).
fn detach_uri(uri: &http::Uri) -> http::Uri {
    let text = uri_text(uri);
    http::Uri::from_maybe_shared(Bytes::copy_from_slice(text.as_bytes()))
        .unwrap_or_else(|_| uri.clone())
}

/// `uri` as text. A request line's usual origin form (`/path?query`) is
/// its path and query as they are, without formatting the URI.
fn uri_text(uri: &http::Uri) -> Cow<'_, str> {
    match (uri.scheme(), uri.authority(), uri.path_and_query()) {
        (None, None, Some(pq)) => Cow::Borrowed(pq.as_str()),
        _ => Cow::Owned(uri.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detached_uris_are_equal_copies() {
        for u in [
            "/engine.io/?EIO=4&transport=polling&x=a%20b",
            "/engine.io/",
            "http://example.com:8080/engine.io/?EIO=4",
        ] {
            let uri: http::Uri = u.parse().unwrap();
            let copy = detach_uri(&uri);
            assert_eq!(copy, uri);
            assert_eq!(copy.to_string(), u);
        }
    }

    #[test]
    fn detached_headers_keep_every_value_in_order() {
        let mut h = http::HeaderMap::new();
        h.append("x-a", HeaderValue::from_static("1"));
        h.append(http::header::HOST, HeaderValue::from_static("example.com"));
        h.append("x-a", HeaderValue::from_static("two"));
        h.append(http::header::COOKIE, HeaderValue::from_static(""));
        let mut ws = h.clone();
        for (k, v) in [
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-version", "13"),
            ("sec-websocket-extensions", "permessage-deflate"),
        ] {
            ws.append(k, HeaderValue::from_static(v));
        }
        assert_eq!(detach_headers(&ws), h, "upgrade negotiation left out");
        let d = detach_headers(&h);
        assert_eq!(d, h);
        let a: Vec<_> = d.get_all("x-a").iter().collect();
        assert_eq!(a, vec!["1", "two"]);
    }
}
