//! HTTP long-polling: GET waits for a payload, POST delivers one.
//!
//! Each request reaches the session's driver through the control channel;
//! this module never names the driver, and touches a [`Session`] only to
//! answer the handshake.
//! Overlapping POSTs are caught here with an atomic flag; overlapping GETs
//! by the session. A POST body is read up to `max_payload` and no further.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode};
use hyper::body::Body;
use tokio::sync::oneshot;

use super::{
    cors, cors_for, error, full, hook_headers, set_cookie, with_hook_headers, ErrorCode, Pending,
    Resp, ResponseFuture,
};
use crate::config::TransportKind;
use crate::eio3::Protocol;
use crate::error::CloseReason;
use crate::handshake::detach_headers;
use crate::hooks::append_headers;
use crate::payload;
use crate::registry::Inner;
use crate::routing;
use crate::session::{PollError, Session, Transmit};
use crate::socket::{Ctl, Socket};

fn text_response(body: Bytes) -> Resp {
    full(routing::text(body))
}

/// A poll's answer: its payload, typed as [`routing::payload`] decides.
fn payload_response(body: Bytes) -> Resp {
    full(routing::payload(body))
}

/// Answers the polling handshake: the handshake request is the session's
/// first poll and carries the open packet. `None` when the session gave
/// none (a bad request); the caller then drops the session, else starts
/// its driver.
pub(crate) fn open<B>(
    inner: &Inner,
    session: &mut Session,
    req: &Request<B>,
    now: Instant,
) -> Option<Resp> {
    let body = match session.handle_poll(now).map(|()| session.poll_transmit()) {
        Ok(Some(Transmit::Poll(body))) => body,
        _ => return None,
    };
    let mut resp = match jsonp_of(inner, req) {
        Some(j) => full(routing::jsonp_payload(j, &body)),
        None => payload_response(body),
    };
    set_cookie(inner, session.sid(), &mut resp);
    let resp = with_hook_headers(
        inner,
        req,
        session.sid(),
        TransportKind::Polling,
        true,
        resp,
    );
    Some(cors(inner, req, resp))
}

/// The request's JSONP callback index ([`routing::jsonp`]).
fn jsonp_of<B>(inner: &Inner, req: &Request<B>) -> Option<u32> {
    routing::jsonp(&inner.config, req.uri().query().unwrap_or(""))
}

/// Serves a GET or POST on an existing polling session.
pub(crate) fn handle<B>(inner: &Arc<Inner>, socket: Socket, req: Request<B>) -> ResponseFuture<B>
where
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let origin = || req.headers().get(header::ORIGIN).cloned();
    // Boxed: only a server with a headers hook pays for the room.
    let extra =
        || hook_headers(inner, &req, socket.sid(), TransportKind::Polling, false).map(Box::new);
    let jsonp = jsonp_of(inner, &req);
    match *req.method() {
        Method::GET => {
            let (reply, rx) = oneshot::channel();
            if socket.0.mail.push_ctl(Ctl::Poll(reply)).is_err() {
                let resp = cors(inner, &req, error(ErrorCode::UnknownSid));
                return ResponseFuture::ready(resp);
            }
            // The client's encodings matter only when answers may be compressed.
            let accept_encoding = match inner.config.http_compression {
                Some(_) => req.headers().get(header::ACCEPT_ENCODING).cloned(),
                None => None,
            };
            ResponseFuture(Pending::Poll(PollWait {
                rx,
                inner: inner.clone(),
                accept_encoding,
                origin: origin(),
                extra: extra(),
                jsonp,
            }))
        }
        Method::POST => {
            let binary = routing::is_binary_post(req.headers());
            if binary && socket.handshake().wire().protocol != Protocol::V3 {
                // EIO=4 payloads are text only (binary goes base64 in
                // them): like the reference server, a binary body is an
                // error of the transport, answered 400 with no body.
                socket.close_with(CloseReason::TransportError);
                return ResponseFuture::ready(cors(inner, &req, empty(StatusCode::BAD_REQUEST)));
            }
            if socket.0.post_active.swap(true, Ordering::AcqRel) {
                // Spec: more than one active POST is a client error that closes the session.
                socket.close_with(CloseReason::TransportError);
                return ResponseFuture::ready(cors(inner, &req, error(ErrorCode::BadRequest)));
            }
            let limit = inner.config.max_payload;
            let declared = req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let origin = origin();
            let extra = extra();
            // Copied once per POST, and only when messages keep them.
            let headers = inner
                .hooks
                .keeps_message_headers()
                .then(|| Arc::new(detach_headers(req.headers())));
            let (_, body) = req.into_parts();
            let post = PostWait {
                inner: inner.clone(),
                socket,
                origin,
                extra,
                headers,
                binary,
                jsonp: jsonp.is_some(),
                stage: PostStage::Read {
                    body,
                    acc: BodyAcc::default(),
                    timer: None,
                },
            };
            if declared.is_some_and(|n| n > limit as u64) {
                return ResponseFuture::ready(post.finish(too_large(&post.socket)));
            }
            ResponseFuture(Pending::Post(post))
        }
        _ => ResponseFuture::ready(cors(inner, &req, error(ErrorCode::BadRequest))),
    }
}

/// `resp` with the `headers` hook's additions, if any.
fn with_extra(mut resp: Resp, extra: Option<Box<HeaderMap>>) -> Resp {
    if let Some(extra) = extra {
        append_headers(resp.headers_mut(), *extra);
    }
    resp
}

/// A bodiless answer, as the reference server gives its transport errors.
fn empty(status: StatusCode) -> Resp {
    full(routing::empty(status))
}

fn poll_error(e: PollError) -> Resp {
    match e {
        PollError::Closed => error(ErrorCode::UnknownSid),
        _ => error(ErrorCode::BadRequest),
    }
}

/// A GET waiting for the driver to hand it a payload.
pub(crate) struct PollWait {
    rx: oneshot::Receiver<Result<(Bytes, bool), PollError>>,
    inner: Arc<Inner>,
    accept_encoding: Option<HeaderValue>,
    origin: Option<HeaderValue>,
    /// What the `headers` hook adds to a payload answer.
    extra: Option<Box<HeaderMap>>,
    /// The JSONP callback index: the payload is answered as a script.
    jsonp: Option<u32>,
}

impl PollWait {
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Resp> {
        let resp = match ready!(Pin::new(&mut self.rx).poll(cx)) {
            Ok(Ok((body, compress))) => {
                let compress = self
                    .inner
                    .config
                    .http_compression
                    .is_some_and(|t| compress && body.len() >= t);
                let resp = match self.jsonp {
                    Some(j) => full(routing::jsonp_payload(j, &body)),
                    None if compress => compressed_response(body, self.accept_encoding.as_ref()),
                    None => payload_response(body),
                };
                with_extra(resp, self.extra.take())
            }
            Ok(Err(e)) => poll_error(e),
            Err(_) => error(ErrorCode::UnknownSid),
        };
        Poll::Ready(cors_for(&self.inner, self.origin.as_ref(), resp))
    }
}

/// A POST: its body being read, then the driver's verdict on it awaited.
/// Dropping it, done or not, ends the session's active POST.
pub(crate) struct PostWait<B> {
    inner: Arc<Inner>,
    socket: Socket,
    origin: Option<HeaderValue>,
    /// What the `headers` hook adds to the `ok` answer.
    extra: Option<Box<HeaderMap>>,
    /// The POST's headers, for its messages (see `Hooks::message_headers`).
    headers: Option<Arc<HeaderMap>>,
    /// The body is `application/octet-stream` (Engine.IO 3's binary form).
    binary: bool,
    /// The body is a JSONP form ([`crate::jsonp::decode_form`]).
    jsonp: bool,
    stage: PostStage<B>,
}

enum PostStage<B> {
    /// A body that came with its headers is read at once; the timer is
    /// armed only for one still on its way.
    Read {
        body: B,
        acc: BodyAcc,
        timer: Option<Pin<Box<tokio::time::Sleep>>>,
    },
    Wait(oneshot::Receiver<Result<(), Option<PollError>>>),
}

impl<B> Drop for PostWait<B> {
    fn drop(&mut self) {
        self.socket.0.post_active.store(false, Ordering::Release);
    }
}

impl<B> PostWait<B>
where
    B: Body + Unpin,
{
    fn finish(&self, resp: Resp) -> Resp {
        cors_for(&self.inner, self.origin.as_ref(), resp)
    }

    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Resp> {
        loop {
            let (body, acc, timer) = match &mut self.stage {
                PostStage::Read { body, acc, timer } => (body, acc, timer),
                PostStage::Wait(rx) => {
                    let resp = match ready!(Pin::new(rx).poll(cx)) {
                        Ok(Ok(())) => {
                            with_extra(text_response(Bytes::from_static(b"ok")), self.extra.take())
                        }
                        Ok(Err(None)) => error(ErrorCode::BadRequest),
                        Ok(Err(Some(e))) => poll_error(e),
                        Err(_) => error(ErrorCode::UnknownSid),
                    };
                    return Poll::Ready(self.finish(resp));
                }
            };
            let data = match acc.poll_read(body, self.inner.config.max_payload, cx) {
                Poll::Ready(Ok(data)) => data,
                Poll::Ready(Err(BodyError::TooLarge)) => {
                    return Poll::Ready(self.finish(too_large(&self.socket)));
                }
                Poll::Ready(Err(BodyError::Io)) => return Poll::Ready(self.broken()),
                Poll::Pending => {
                    let timeout = self.inner.config.body_read_timeout;
                    let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                    if timer.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(self.broken());
                    }
                    return Poll::Pending;
                }
            };
            let data = match self.jsonp {
                false => data,
                true => match crate::jsonp::decode_form(&data) {
                    Ok(d) => d,
                    // Not the form a JSONP client sends: a transport error.
                    Err(_) => return Poll::Ready(self.broken()),
                },
            };
            let protocol = self.socket.handshake().wire().protocol;
            let max = self.inner.config.max_packets_per_post;
            let packets = payload::decode_for(protocol, self.binary, data, max);
            let (reply, rx) = oneshot::channel();
            let post = Ctl::Post(Box::new((packets, reply, self.headers.take())));
            if self.socket.0.mail.push_ctl(post).is_err() {
                return Poll::Ready(self.finish(error(ErrorCode::UnknownSid)));
            }
            self.stage = PostStage::Wait(rx);
        }
    }

    /// A body that failed or stalled: the session ends with a transport error.
    fn broken(&self) -> Resp {
        self.socket.close_with(CloseReason::TransportError);
        self.finish(error(ErrorCode::BadRequest))
    }
}

/// A body beyond `max_payload`: 413 with no body, as the reference server
/// answers (engine.io-client reports the body as the close's description).
/// The rest of the body is never read: the connection closes after the
/// answer, lingering so that the client can read it (see
/// [`EngineConfig::linger_timeout`](crate::EngineConfig::linger_timeout)).
fn too_large(socket: &Socket) -> Resp {
    socket.close_with(CloseReason::TransportError);
    let mut r = empty(StatusCode::PAYLOAD_TOO_LARGE);
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// A polling answer compressed as [`routing::compressed`] decides.
fn compressed_response(body: Bytes, accept_encoding: Option<&HeaderValue>) -> Resp {
    full(routing::compressed(body, accept_encoding))
}

enum BodyError {
    TooLarge,
    Io,
}

/// A POST body as read so far: at most `limit` bytes are ever kept, and
/// memory never exceeds what actually arrived.
#[derive(Default)]
struct BodyAcc {
    /// The first chunk, kept without copying while it is the only one.
    first: Option<Bytes>,
    buf: BytesMut,
}

impl BodyAcc {
    fn poll_read<B>(
        &mut self,
        body: &mut B,
        limit: usize,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Bytes, BodyError>>
    where
        B: Body + Unpin,
    {
        while let Some(frame) = ready!(Pin::new(&mut *body).poll_frame(cx)) {
            let frame = frame.map_err(|_| BodyError::Io)?;
            let Ok(mut data) = frame.into_data() else {
                continue;
            };
            let chunk = data.copy_to_bytes(data.remaining());
            let total = self.first.as_ref().map_or(0, Bytes::len) + self.buf.len() + chunk.len();
            if total > limit {
                return Poll::Ready(Err(BodyError::TooLarge));
            }
            match self.first.take() {
                None if self.buf.is_empty() => self.first = Some(chunk),
                prev => {
                    if let Some(p) = prev {
                        self.buf.extend_from_slice(&p);
                    }
                    self.buf.extend_from_slice(&chunk);
                }
            }
        }
        let data = match self.first.take() {
            Some(first) => first,
            None => std::mem::take(&mut self.buf).freeze(),
        };
        Poll::Ready(Ok(data))
    }
}

use bytes::Buf;
