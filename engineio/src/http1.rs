//! HTTP/1.1 request heads and response heads, runtime-free, for the
//! drivers that serve connections without hyper: the smol runtime's
//! server, and the tokio engine's accept path for a new WebSocket session
//! (`Engine::serve`, feature `tokio`).
//!
//! Parses a head with `httparse` into `http` types and writes an answer
//! with its length; owns no buffer and reads nothing itself. Limits: a
//! head of at most [`MAX_HEAD`] bytes (the caller enforces it: a head
//! still incomplete at that size is refused with 431) and
//! [`MAX_HEADERS`] headers (431 beyond).

use std::io::Write as _;
use std::mem::MaybeUninit;

use bytes::Bytes;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode, Uri};

/// Largest request head.
pub const MAX_HEAD: usize = 64 * 1024;

/// Most headers in a request.
pub const MAX_HEADERS: usize = 100;

/// A parsed request head.
#[derive(Debug)]
pub struct Head {
    /// The method.
    pub method: Method,
    /// The request target.
    pub uri: Uri,
    /// The headers, every value kept in order.
    pub headers: HeaderMap,
    /// The body's declared length (0 without one).
    pub body_len: u64,
    /// The connection may carry another request after this one (HTTP/1.1
    /// without `Connection: close`, or HTTP/1.0 with `keep-alive`).
    pub keep_alive: bool,
    /// The request was HTTP/1.1 (not 1.0).
    pub http11: bool,
}

/// Parses a complete request head at the start of `buf`: `Ok(None)` while
/// it is incomplete, else the head and its length in bytes. `Err` is the
/// status to refuse it with, then close: 400 for a malformed head, an
/// ambiguous body length or a bad header, 411 for a chunked body
/// (Engine.IO clients send a `Content-Length`), 431 beyond
/// [`MAX_HEADERS`]. The head's target and header values are copies.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, StatusCode> {
    parse_with(
        buf,
        |path| path.parse().ok(),
        |value| HeaderValue::from_bytes(value).ok(),
    )
}

/// [`parse_head`] whose target and header values share `buf`'s memory
/// (no copy each): they keep it alive as long as they live.
pub fn parse_head_shared(buf: &Bytes) -> Result<Option<(Head, usize)>, StatusCode> {
    parse_with(
        buf,
        |path| Uri::from_maybe_shared(buf.slice_ref(path.as_bytes())).ok(),
        |value| HeaderValue::from_maybe_shared(buf.slice_ref(value)).ok(),
    )
}

fn parse_with<'b>(
    buf: &'b [u8],
    uri: impl Fn(&'b str) -> Option<Uri>,
    value: impl Fn(&'b [u8]) -> Option<HeaderValue>,
) -> Result<Option<(Head, usize)>, StatusCode> {
    let bad = StatusCode::BAD_REQUEST;
    // Uninitialized: writing 100 empty headers first would cost more
    // than parsing a usual head.
    let mut slots = [const { MaybeUninit::<httparse::Header<'b>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
        Err(_) => return Err(bad),
    };
    let method = Method::from_bytes(req.method.unwrap_or("").as_bytes()).map_err(|_| bad)?;
    let uri = uri(req.path.unwrap_or("")).ok_or(bad)?;
    let mut headers = HeaderMap::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| bad)?;
        headers.append(name, value(h.value).ok_or(bad)?);
    }
    let http11 = req.version == Some(1);
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(StatusCode::LENGTH_REQUIRED);
    }
    let mut lengths = headers.get_all(header::CONTENT_LENGTH).iter();
    let body_len = match (lengths.next(), lengths.next()) {
        (None, _) => 0,
        (Some(v), None) => v
            .to_str()
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or(bad)?,
        // Two lengths: which one frames the body is ambiguous.
        (Some(_), Some(_)) => return Err(bad),
    };
    let keep_alive = match http11 {
        true => !connection_has(&headers, "close"),
        false => connection_has(&headers, "keep-alive"),
    };
    let head = Head {
        method,
        uri,
        headers,
        body_len,
        keep_alive,
        http11,
    };
    Ok(Some((head, len)))
}

/// Whether a `Connection` header of `headers` lists `token`.
fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    headers.get_all(header::CONNECTION).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Writes `resp` as HTTP/1.1 bytes: the status line, its headers, a
/// `Content-Length` (its own is replaced; none on a 101) and, when `close`,
/// `Connection: close` (in place of its own), then the body.
pub fn encode_response(resp: &Response<impl AsRef<[u8]>>, close: bool) -> Vec<u8> {
    let body = resp.body().as_ref();
    let mut out = Vec::with_capacity(160 + body.len());
    let status = resp.status();
    let reason = status.canonical_reason().unwrap_or("");
    // Writes into a Vec cannot fail.
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in resp.headers() {
        if name == header::CONTENT_LENGTH || name == header::CONNECTION && close {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if status != StatusCode::SWITCHING_PROTOCOLS {
        let _ = write!(out, "content-length: {}\r\n", body.len());
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<(Head, usize)>, StatusCode> {
        parse_head(s.as_bytes())
    }

    #[test]
    fn heads() {
        let raw = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\nrest";
        let (head, len) = parse(raw).unwrap().unwrap();
        assert_eq!(len, raw.len() - 4);
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.uri.path(), "/engine.io/");
        assert_eq!(head.uri.query(), Some("EIO=4&transport=websocket"));
        let xa: Vec<_> = head.headers.get_all("x-a").iter().collect();
        assert_eq!(xa, ["1", "2"]);
        assert!(head.keep_alive && head.http11);
        assert_eq!(head.body_len, 0);
        // Incomplete, then complete.
        assert!(parse("GET / HTTP/1.1\r\nHost: a\r\n").unwrap().is_none());
        let (head, _) = parse("POST / HTTP/1.0\r\nContent-Length: 12\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!head.keep_alive && !head.http11);
        assert_eq!(head.body_len, 12);
        let (head, _) = parse("GET / HTTP/1.1\r\nConnection: Upgrade, close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!head.keep_alive);
    }

    #[test]
    fn shared_heads() {
        let raw = Bytes::from_static(b"GET /a?b=c HTTP/1.1\r\nX: y\r\n\r\n");
        let (head, len) = parse_head_shared(&raw).unwrap().unwrap();
        assert_eq!(len, raw.len());
        assert_eq!(head.uri, "/a?b=c");
        assert_eq!(head.headers["x"], "y");
        let bad = Bytes::from_static(b"GET / HTTP/1.1\r\nX: \x7f\r\n\r\n");
        assert_eq!(parse_head_shared(&bad).err(), Some(StatusCode::BAD_REQUEST));
        assert!(parse_head_shared(&raw.slice(..20)).unwrap().is_none());
    }

    #[test]
    fn refused_heads() {
        let bad: Result<(), _> = Err(StatusCode::BAD_REQUEST);
        assert_eq!(
            parse("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n").err(),
            bad.err()
        );
        assert_eq!(parse("GE\x01T / HTTP/1.1\r\n\r\n").err(), bad.err());
        assert_eq!(
            parse("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").err(),
            bad.err()
        );
        assert_eq!(
            parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").err(),
            bad.err()
        );
        assert_eq!(
            parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").err(),
            Some(StatusCode::LENGTH_REQUIRED)
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("h{i}: v\r\n")).collect();
        assert_eq!(
            parse(&format!("GET / HTTP/1.1\r\n{many}\r\n")).err(),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
    }

    #[test]
    fn responses() {
        let mut resp = Response::new(&b"{}"[..]);
        *resp.status_mut() = StatusCode::FORBIDDEN;
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("99"));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let out = encode_response(&resp, true);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n\
             content-length: 2\r\nconnection: close\r\n\r\n{}"
        );
        let mut resp = Response::new(&b""[..]);
        *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        resp.headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        let out = encode_response(&resp, false);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n"
        );
    }
}
