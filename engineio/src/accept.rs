//! The first request of a connection accepted by [`Engine::serve`]: a
//! WebSocket handshake for a new session is answered here, without hyper,
//! and the connection's task becomes the session's driver; anything else
//! goes to hyper with the bytes read so far.
//!
//! A WebSocket-only client (`transports: ["websocket"]`, most non-browser
//! clients) so costs one task, one read buffer of [`HEAD_BUF`] bytes until
//! the head is parsed, and one header map, where hyper's connection took a
//! task of its own, two 8 KiB buffers and two header maps before handing
//! the connection over. What is answered and how is the same as on the
//! hyper path: the same routing, `allow_request` hook, session, 101 (see
//! [`routing::websocket_open`]) and error answers, which close the
//! connection after them (`Connection: close`).
//!
//! Only a head that is looked at here is parsed twice: one that starts
//! `GET`, asks for `transport=websocket` and names no `sid` in its
//! request line. A head longer than [`HEAD_BUF`], malformed or
//! incomplete when the client stops sending goes to hyper, which answers
//! it as it answers any other. The head is read within
//! [`EngineConfig::header_read_timeout`](crate::EngineConfig) (the timer
//! is armed only when the head is not already there at the first read);
//! hyper's own timer starts when it takes over, so a head longer than
//! [`HEAD_BUF`] that arrives slowly may take up to twice that timeout in
//! all before it is refused.
//!
//! Names the driver, the registry, the sessions and the WebSocket glue,
//! as the engine does; the engine calls it and it must not call back
//! into the engine (the hyper fallback is the engine's).
//!
//! [`Engine::serve`]: crate::Engine::serve

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header;
use http::Response;
use tokio::net::TcpStream;

use crate::config::TransportKind;
use crate::driver::Driver;
use crate::handshake::Handshake;
use crate::hooks::{RequestHead, RequestInfo};
use crate::http1::{self, Head};
use crate::opening;
use crate::registry::Inner;
use crate::routing::{self, Route};
use crate::transport::now;
use crate::transport::wsconn::{wrap_tcp, ws_config, WsLimits};

/// The read buffer for the first request head; a longer head goes to hyper.
pub(crate) const HEAD_BUF: usize = 4096;

/// What the first bytes of a connection are.
// Returned once per connection and taken apart at once: boxing the head
// would cost an allocation to save a move.
#[allow(clippy::large_enum_variant)]
pub(crate) enum First {
    /// The client left (or the head timed out) before a request was whole.
    Gone,
    /// A WebSocket handshake for a new session, and what the client sent
    /// behind it.
    Open(Head, Bytes),
    /// Anything else, for hyper: every byte read.
    Other(Bytes),
}

/// Reads the connection's first request head, far enough to tell whether
/// it opens a WebSocket session.
pub(crate) async fn first_request(inner: &Inner, stream: &TcpStream) -> First {
    let mut buf = Vec::with_capacity(HEAD_BUF);
    // Usually the head is there when the connection is accepted: no timer.
    if let Some(first) = read_some(inner, stream, &mut buf) {
        return first;
    }
    let read = async {
        loop {
            if stream.readable().await.is_err() {
                return First::Gone;
            }
            if let Some(first) = read_some(inner, stream, &mut buf) {
                return first;
            }
        }
    };
    tokio::time::timeout(inner.config.header_read_timeout, read)
        .await
        .unwrap_or(First::Gone)
}

/// One read without waiting: `None` when more is needed.
fn read_some(inner: &Inner, stream: &TcpStream, buf: &mut Vec<u8>) -> Option<First> {
    match stream.try_read_buf(buf) {
        Ok(0) if buf.is_empty() => Some(First::Gone),
        // The client ended its side mid-head: hyper answers it.
        Ok(0) => Some(other(buf)),
        Ok(_) => classify(inner, buf),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        Err(_) => Some(First::Gone),
    }
}

fn other(buf: &mut Vec<u8>) -> First {
    First::Other(Bytes::from(std::mem::take(buf)))
}

/// What `buf` holds, or `None` while it cannot tell.
fn classify(inner: &Inner, buf: &mut Vec<u8>) -> Option<First> {
    let got = &buf[..];
    let full = got.len() >= HEAD_BUF;
    if !got.starts_with(b"GET ") {
        let may_be_get = got.len() < 4 && b"GET ".starts_with(got);
        return (!may_be_get || full).then(|| other(buf));
    }
    let Some(line_end) = got.iter().position(|&b| b == b'\n') else {
        return full.then(|| other(buf));
    };
    let line = &got[..line_end];
    if !line.ends_with(b"\r")
        || find(line, b"transport=websocket").is_none()
        || find(line, b"sid=").is_some()
    {
        return Some(other(buf));
    }
    if !got.ends_with(b"\r\n\r\n") && find(got, b"\r\n\r\n").is_none() {
        // Bare newlines (which httparse takes) may end it: hyper's then.
        let bare = find(got, b"\n\n").is_some();
        return (bare || full).then(|| other(buf));
    }
    let bytes = Bytes::from(std::mem::take(buf));
    let Ok(Some((head, head_len))) = http1::parse_head_shared(&bytes) else {
        // Refused: hyper answers it its way.
        return Some(First::Other(bytes));
    };
    let route = routing::route_head(&inner.config, &head);
    if route != Route::Open(TransportKind::WebSocket) || !head.http11 || head.body_len != 0 {
        return Some(First::Other(bytes));
    }
    Some(First::Open(head, bytes.slice(head_len..)))
}

/// Where `needle` first starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w[0] == needle[0] && w == needle)
}

/// Answers a WebSocket handshake for a new session (see [`First::Open`]):
/// the session's driver with its WebSocket, the 101 queued on it, for the
/// connection's task to run.
pub(crate) async fn open(
    inner: &Arc<Inner>,
    stream: TcpStream,
    head: Head,
    ahead: Bytes,
    peer: SocketAddr,
) -> Option<Driver> {
    let (answer, mut driver, limits) = match handshake(inner, head, peer).await {
        Ok(opened) => opened,
        Err(refused) => {
            // An error answer ends the connection, as a refused upgrade
            // would end the client's attempt anyway.
            let _ = write_all(&stream, &refused).await;
            return None;
        }
    };
    // The 101 waits in the WebSocket's write buffer: the driver's first
    // flush writes it with the open packet, one write instead of two. A
    // client gone by then is a transport close, as on any later write.
    driver.set_websocket(wrap_tcp(stream, &ahead, &answer, limits));
    Some(driver)
}

/// What opening a session gives: the 101's bytes, the session's driver
/// (without its WebSocket yet) and that WebSocket's limits.
type Opened = (Vec<u8>, Driver, WsLimits);

/// Runs the hook and opens the session: the 101's bytes and the session's
/// driver, or the bytes of the error answer.
async fn handshake(inner: &Arc<Inner>, head: Head, peer: SocketAddr) -> Result<Opened, Vec<u8>> {
    let transport = TransportKind::WebSocket;
    let refuse = |resp: Response<Bytes>| {
        let mut resp = resp;
        routing::add_cors(
            &inner.config.cors,
            head.headers.get(header::ORIGIN),
            &mut resp,
        );
        http1::encode_response(&resp, true)
    };
    let verdict = inner.hooks.check(|| {
        RequestInfo::new(
            head.method.clone(),
            &head.uri,
            head.headers.clone(),
            Some(peer),
            transport,
        )
    });
    if let Some(verdict) = verdict {
        if let Err(refusal) = verdict.await {
            return Err(refuse(routing::refused(&refusal)));
        }
    }
    let config = &inner.config;
    let handshake = Handshake::detached(&head.uri, &head.headers, Some(peer));
    let Some((socket, session)) = opening::open(inner, handshake, transport, now()) else {
        return Err(refuse(routing::at_capacity()));
    };
    let sid = socket.sid();
    let req = RequestHead::new(&head.method, &head.uri, &head.headers, sid, transport);
    let (resp, agreed) = routing::websocket_open(config, &inner.hooks, &req);
    let driver = Driver::new(session, socket, inner.clone());
    let limits = ws_config(config).with_deflate(agreed);
    Ok((http1::encode_response(&resp, false), driver, limits))
}

/// Writes all of `bytes`, waiting for room as needed.
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match stream.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
