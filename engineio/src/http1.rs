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
/// `Date` (unless it has one; none on a 1xx, where RFC 9110 does not ask
/// for it), a `Content-Length` (its own is replaced; none on a 101) and,
/// when `close`, `Connection: close` (in place of its own), then the body.
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
    if !status.is_informational() && !resp.headers().contains_key(header::DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(&http_date(std::time::SystemTime::now()));
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

/// `at` as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110
/// section 5.6.7); a time before 1970 is written as 1970's first second.
pub fn http_date(at: std::time::SystemTime) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let in_day = secs % 86_400;
    // The proleptic Gregorian date of a day count, in 400-year eras of
    // 146,097 days counted from 0000-03-01 (so that a leap day ends a year).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    let two = |out: &mut [u8; 29], at: usize, v: u64| {
        out[at] = b'0' + (v / 10 % 10) as u8;
        out[at + 1] = b'0' + (v % 10) as u8;
    };
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    two(&mut out, 5, day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    // Four digits: the year 10000 is 8,000 years away.
    two(&mut out, 12, year / 100);
    two(&mut out, 14, year);
    two(&mut out, 17, in_day / 3_600);
    two(&mut out, 20, in_day / 60 % 60);
    two(&mut out, 23, in_day % 60);
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
        resp.headers_mut()
            .insert(header::DATE, HeaderValue::from_static("x"));
        let out = encode_response(&resp, true);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n\
             date: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}"
        );
        // Without one, a date of now.
        resp.headers_mut().remove(header::DATE);
        let out = String::from_utf8(encode_response(&resp, false)).unwrap();
        let date = out.split("\r\ndate: ").nth(1).unwrap();
        let date = &date[..date.find("\r\n").unwrap()];
        assert_eq!(date.len(), 29);
        assert!(date.ends_with(" GMT"), "{date}");
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

    #[test]
    fn dates() {
        use std::time::{Duration, UNIX_EPOCH};
        let at = |secs: u64| {
            let d = http_date(UNIX_EPOCH + Duration::from_secs(secs));
            String::from_utf8(d.to_vec()).unwrap()
        };
        assert_eq!(at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // RFC 9110's example.
        assert_eq!(at(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        // Leap days, a century that is not a leap year and one that is.
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(at(1_709_164_799), "Wed, 28 Feb 2024 23:59:59 GMT");
        assert_eq!(at(1_709_251_199), "Thu, 29 Feb 2024 23:59:59 GMT");
        assert_eq!(at(1_709_251_200), "Fri, 01 Mar 2024 00:00:00 GMT");
        assert_eq!(at(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
        assert_eq!(at(253_402_300_799), "Fri, 31 Dec 9999 23:59:59 GMT");
        // Before 1970: its first second.
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(&http_date(before), b"Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
