//! HTTP long-polling: GET waits for a payload, POST delivers one.
//!
//! Each request reaches the session's driver through the control channel.
//! Overlapping POSTs are caught here with an atomic flag; overlapping GETs
//! by the session. A POST body is read up to `max_payload` and no further.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use tokio::sync::oneshot;

use super::{cors, error, error_response, set_cookie, ErrorCode, Resp};
use crate::driver::Driver;
use crate::engine::Inner;
use crate::error::CloseReason;
use crate::payload;
use crate::session::{PollError, Session, Transmit};
use crate::socket::{Ctl, Socket};

fn text_response(body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    r
}

/// Answers the polling handshake and starts the session's driver.
pub(crate) fn open<B>(
    inner: &Arc<Inner>,
    mut session: Session,
    socket: Socket,
    req: &Request<B>,
    now: Instant,
) -> Resp {
    let sid = session.sid();
    // The handshake request is the session's first poll: it carries the open packet.
    let body = match session.handle_poll(now).map(|()| session.poll_transmit()) {
        Ok(Some(Transmit::Poll(body))) => body,
        _ => {
            inner.unregister(sid);
            return error(ErrorCode::BadRequest);
        }
    };
    tokio::spawn(Driver::new(session, socket, inner.clone()));
    let mut resp = text_response(body);
    set_cookie(inner, sid, &mut resp);
    cors(inner, req, resp)
}

/// Serves a GET or POST on an existing polling session.
pub(crate) async fn handle<B>(inner: &Arc<Inner>, socket: Socket, req: Request<B>) -> Resp
where
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let resp = match *req.method() {
        Method::GET => {
            let accept = req.headers().get(header::ACCEPT_ENCODING);
            poll(inner, &socket, accept).await
        }
        Method::POST => {
            let (parts, body) = req.into_parts();
            let resp = post(inner, &socket, &parts.headers, body).await;
            let req = Request::from_parts(parts, ());
            return cors(inner, &req, resp);
        }
        _ => error(ErrorCode::BadRequest),
    };
    cors(inner, &req, resp)
}

fn poll_error(e: PollError) -> Resp {
    match e {
        PollError::Closed => error(ErrorCode::UnknownSid),
        _ => error(ErrorCode::BadRequest),
    }
}

async fn poll(inner: &Inner, socket: &Socket, accept_encoding: Option<&HeaderValue>) -> Resp {
    let (tx, rx) = oneshot::channel();
    if socket.0.mail.push_ctl(Ctl::Poll(tx)).is_err() {
        return error(ErrorCode::UnknownSid);
    }
    match rx.await {
        Ok(Ok((body, compress))) => {
            match inner
                .config
                .http_compression
                .filter(|t| compress && body.len() >= *t)
            {
                Some(_) => compressed_response(body, accept_encoding),
                None => text_response(body),
            }
        }
        Ok(Err(e)) => poll_error(e),
        Err(_) => error(ErrorCode::UnknownSid),
    }
}

/// Clears the POST-in-progress flag however the request ends.
struct PostGuard<'a>(&'a Socket);

impl Drop for PostGuard<'_> {
    fn drop(&mut self) {
        self.0 .0.post_active.store(false, Ordering::Release);
    }
}

async fn post<B>(inner: &Inner, socket: &Socket, headers: &http::HeaderMap, body: B) -> Resp
where
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    if socket.0.post_active.swap(true, Ordering::AcqRel) {
        // Spec: more than one active POST is a client error that closes the session.
        socket.close_with(CloseReason::TransportError);
        return error(ErrorCode::BadRequest);
    }
    let _guard = PostGuard(socket);
    let limit = inner.config.max_payload;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(socket);
    }
    // A body that came with its headers is read at once; only one still
    // on its way is timed (no timer to arm and cancel on the common path).
    let mut read = std::pin::pin!(read_body(body, limit));
    let first = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
    let read = match first {
        Poll::Ready(r) => Ok(r),
        Poll::Pending => tokio::time::timeout(inner.config.body_read_timeout, read).await,
    };
    let data = match read {
        Ok(Ok(data)) => data,
        Ok(Err(BodyError::TooLarge)) => return too_large(socket),
        Ok(Err(BodyError::Io)) | Err(_) => {
            socket.close_with(CloseReason::TransportError);
            return error(ErrorCode::BadRequest);
        }
    };
    let packets = payload::decode(data, inner.config.max_packets_per_post);
    let (tx, rx) = oneshot::channel();
    if socket
        .0
        .mail
        .push_ctl(Ctl::Post(Box::new((packets, tx))))
        .is_err()
    {
        return error(ErrorCode::UnknownSid);
    }
    match rx.await {
        Ok(Ok(())) => text_response(Bytes::from_static(b"ok")),
        Ok(Err(None)) => error(ErrorCode::BadRequest),
        Ok(Err(Some(e))) => poll_error(e),
        Err(_) => error(ErrorCode::UnknownSid),
    }
}

fn too_large(socket: &Socket) -> Resp {
    socket.close_with(CloseReason::TransportError);
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BadRequest as u16,
        "Payload too large",
    )
}

/// A polling answer compressed with the best encoding the client accepts
/// (gzip, then deflate); uncompressed if it accepts neither.
fn compressed_response(body: Bytes, accept_encoding: Option<&HeaderValue>) -> Resp {
    use flate2::write::{DeflateEncoder, GzEncoder};
    use flate2::Compression;
    use std::io::Write;
    let accepts = |name: &str| {
        accept_encoding
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',').any(|e| {
                    let mut parts = e.split(';');
                    let coding = parts.next().unwrap_or("").trim();
                    let refused =
                        parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                    coding.eq_ignore_ascii_case(name) && !refused
                })
            })
    };
    let encoded = if accepts("gzip") {
        let mut e = GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::default());
        e.write_all(&body)
            .and_then(|_| e.finish())
            .ok()
            .map(|b| (b, "gzip"))
    } else if accepts("deflate") {
        let mut e = DeflateEncoder::new(Vec::with_capacity(body.len() / 2), Compression::default());
        e.write_all(&body)
            .and_then(|_| e.finish())
            .ok()
            .map(|b| (b, "deflate"))
    } else {
        None
    };
    let Some((data, coding)) = encoded else {
        return text_response(body);
    };
    let mut resp = text_response(Bytes::from(data));
    resp.headers_mut()
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    resp.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    resp
}

enum BodyError {
    TooLarge,
    Io,
}

/// Reads at most `limit` bytes; memory never exceeds what actually arrived.
async fn read_body<B>(mut body: B, limit: usize) -> Result<Bytes, BodyError>
where
    B: Body + Unpin,
{
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Io)?;
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        let chunk = data.copy_to_bytes(data.remaining());
        let total = first.as_ref().map_or(0, Bytes::len) + buf.len() + chunk.len();
        if total > limit {
            return Err(BodyError::TooLarge);
        }
        // A single-chunk body is kept without copying.
        match first.take() {
            None if buf.is_empty() => first = Some(chunk),
            prev => {
                if let Some(p) = prev {
                    buf.extend_from_slice(&p);
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| buf.freeze()))
}

use bytes::Buf;
