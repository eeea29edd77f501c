//! [`Engine`]: accepts TCP connections, serves HTTP/1.1 on each
//! ([`crate::http1`]) and answers the engine path as the tokio engine does,
//! through the same runtime-free decisions ([`engineio::routing`]): a
//! handshake opens a session and spawns its [`Driver`]; a request with a
//! sid goes to that session through its socket's mailbox (GET, POST) or
//! hands it a WebSocket (upgrade).
//!
//! Owns the sid → socket registry, behind a short-lived std lock that is
//! never held across an await or a handler call. Each session's state
//! lives in its driver task only.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use bytes::Bytes;
use engineio::deflate;
use engineio::hooks::{append_headers, RequestHead};
use engineio::routing::{self, ErrorCode, Route};
use engineio::{
    payload, CloseReason, EngineConfig, Handshake, Hooks, PollError, RequestInfo, Session,
    Sessions, Sid, Transmit, TransportKind,
};
use futures_channel::oneshot;
use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::driver::Driver;
use crate::http1::{Conn, Head, HeadError};
use crate::socket::{Ctl, Handler, Socket};
use crate::ws::Ws;
use crate::SmolRuntime;
use engineio::drive::WsIo;

/// What every connection and driver of one engine shares.
pub(crate) struct Inner {
    pub(crate) config: EngineConfig,
    pub(crate) handler: Arc<dyn Handler>,
    /// The application's request hooks (refusals, response headers).
    pub(crate) hooks: Hooks,
    runtime: SmolRuntime,
    sessions: Sessions<Socket>,
}

impl Inner {
    fn lookup(&self, sid: &Sid) -> Option<Socket> {
        self.sessions.lookup(sid)
    }

    /// Registers a socket unless the session cap is reached.
    fn register(&self, socket: &Socket) -> bool {
        self.sessions.register(socket.sid(), socket.clone())
    }

    pub(crate) fn unregister(&self, sid: Sid) {
        self.sessions.unregister(sid);
    }
}

/// An Engine.IO server on smol's executor and async-io. Cheap to clone.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

/// What to do with the connection after one request.
enum Next {
    /// Read the next request.
    KeepAlive,
    /// Close it (the answer said so).
    Close,
    /// Close it lingering: a request body is still unread.
    Linger,
    /// The connection is a WebSocket now, owned elsewhere.
    Upgraded,
}

impl Engine {
    /// An engine with `config` reporting to `handler`, spawning its tasks
    /// on `runtime`.
    pub fn new(config: EngineConfig, handler: impl Handler, runtime: &SmolRuntime) -> Engine {
        Engine::with_hooks(config, Hooks::default(), handler, runtime)
    }

    /// [`Engine::new`] running the application's request `hooks`, as the
    /// tokio engine does: `allow_request` before a session opens (a
    /// refusal is answered with its status and body), `initial_headers`
    /// and `headers` on successful answers (the handshake's, payloads,
    /// a POST's `ok`, an upgrade's 101); with [`Hooks::message_headers`],
    /// messages reach [`Handler::on_message_with`] and
    /// [`Handler::on_binary_with`] with their request's headers.
    pub fn with_hooks(
        config: EngineConfig,
        hooks: Hooks,
        handler: impl Handler,
        runtime: &SmolRuntime,
    ) -> Engine {
        Engine(Arc::new(Inner {
            sessions: Sessions::new(config.max_sessions),
            config,
            handler: Arc::new(handler),
            hooks,
            runtime: runtime.clone(),
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.0.config
    }

    /// The open session with this id.
    pub fn socket(&self, sid: Sid) -> Option<Socket> {
        self.0.lookup(&sid)
    }

    /// Every open session.
    pub fn sockets(&self) -> Vec<Socket> {
        self.0.sessions.all()
    }

    /// Number of open sessions.
    pub fn session_count(&self) -> usize {
        self.0.sessions.len()
    }

    /// Closes every session with reason "server shutting down".
    pub fn close_all(&self) {
        for s in self.sockets() {
            s.0.close_with(CloseReason::ServerShuttingDown);
        }
    }

    /// Accepts connections on `listener` forever, one task per connection.
    pub async fn serve(&self, listener: Async<TcpListener>) -> io::Result<()> {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(c) => c,
                // Out of descriptors and similar: back off instead of spinning.
                Err(_) => {
                    Timer::after(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.get_ref().set_nodelay(true);
            let engine = self.clone();
            self.0
                .runtime
                .spawn(async move { engine.serve_connection(stream, Some(peer)).await });
        }
    }

    /// Serves HTTP/1.1 (and WebSocket upgrades) on one accepted connection,
    /// until it closes or becomes a WebSocket.
    pub async fn serve_connection(&self, stream: Async<TcpStream>, peer: Option<SocketAddr>) {
        let config = &self.0.config;
        let mut conn = Conn::new(Arc::new(stream));
        loop {
            let head = match conn.read_head(config.header_read_timeout).await {
                Ok(Some(head)) => head,
                Ok(None) | Err(HeadError::Gone | HeadError::Timeout) => return,
                Err(HeadError::Refuse(status)) => {
                    let _ = conn.respond(routing::empty(status), true).await;
                    conn.linger(config.linger_timeout, config.linger_bytes)
                        .await;
                    return;
                }
            };
            let keep_alive = head.keep_alive;
            match self.request(&mut conn, head, peer).await {
                Next::KeepAlive if keep_alive => {}
                Next::Linger => {
                    conn.linger(config.linger_timeout, config.linger_bytes)
                        .await;
                    return;
                }
                Next::Upgraded => return,
                _ => {
                    let _ = conn.io.get_ref().shutdown(std::net::Shutdown::Both);
                    return;
                }
            }
        }
    }

    /// Answers one request.
    async fn request(&self, conn: &mut Conn, head: Head, peer: Option<SocketAddr>) -> Next {
        let inner = &self.0;
        let origin = head.headers.get(header::ORIGIN).cloned();
        let route = routing::route_head(&inner.config, &head);
        let resp = match route {
            Route::Session { sid, transport } => {
                let socket = Sid::parse(&sid).and_then(|s| inner.lookup(&s));
                match (socket, transport) {
                    (None, _) => with_cors(inner, &origin, routing::error(ErrorCode::UnknownSid)),
                    (Some(socket), TransportKind::Polling) => {
                        return self.polling(conn, head, socket, origin).await;
                    }
                    (Some(socket), TransportKind::WebSocket) => {
                        match routing::check_handshake(&head.method, &head.headers) {
                            Ok(()) => return self.upgrade(conn, head, socket).await,
                            Err(bad) => bad.response(),
                        }
                    }
                }
            }
            Route::Open(transport) => return self.open(conn, head, transport, peer).await,
            Route::NotFound => routing::not_found(),
            Route::Preflight => routing::preflight(&inner.config.cors, &head.headers),
            Route::BadWebSocket(bad) => bad.response(),
            Route::Error(code) => with_cors(inner, &origin, routing::error(code)),
            _ => with_cors(inner, &origin, routing::error(ErrorCode::BadRequest)),
        };
        self.answer(conn, &head, resp).await
    }

    /// Sends an answer to a request whose body, if any, is unused: it is
    /// skipped when small, else the connection closes after the answer.
    async fn answer(&self, conn: &mut Conn, head: &Head, resp: Response<Bytes>) -> Next {
        let config = &self.0.config;
        let skippable = head.body_len <= config.max_payload as u64;
        if conn.respond(resp, !skippable).await.is_err() {
            return Next::Close;
        }
        match skippable {
            true if conn
                .skip_body(head.body_len, config.body_read_timeout)
                .await =>
            {
                Next::KeepAlive
            }
            true => Next::Close,
            false => Next::Linger,
        }
    }

    /// A handshake: opens a session, answers it and starts its driver.
    async fn open(
        &self,
        conn: &mut Conn,
        head: Head,
        transport: TransportKind,
        peer: Option<SocketAddr>,
    ) -> Next {
        let inner = &self.0;
        let origin = head.headers.get(header::ORIGIN).cloned();
        let verdict = inner.hooks.check(|| {
            RequestInfo::new(
                head.method.clone(),
                &head.uri,
                head.headers.clone(),
                peer,
                transport,
            )
        });
        if let Some(verdict) = verdict {
            if let Err(refusal) = verdict.await {
                let resp = with_cors(inner, &origin, routing::refused(&refusal));
                return self.answer(conn, &head, resp).await;
            }
        }
        let sid = Sid::random();
        let handshake = Handshake::detached(&head.uri, &head.headers, peer);
        let socket = Socket::new(sid, handshake, transport, &inner.config);
        if !inner.register(&socket) {
            return self
                .answer(
                    conn,
                    &head,
                    with_cors(inner, &origin, routing::at_capacity()),
                )
                .await;
        }
        let now = Instant::now();
        let wire = socket.handshake().wire();
        let mut session = Session::with_wire(sid, &inner.config, transport, now, wire);
        if transport == TransportKind::WebSocket {
            let req = RequestHead::new(&head.method, &head.uri, &head.headers, sid, transport);
            let (resp, agreed) = routing::websocket_open(&inner.config, &inner.hooks, &req);
            // The 101 waits in the WebSocket's write buffer and leaves with
            // the open packet in the driver's first write (a client gone by
            // then is a transport close, as on any later write).
            let mut ws = Ws::new(conn.io.clone(), &conn.buf, &inner.config, agreed.as_ref());
            ws.queue_raw(&engineio::http1::encode_response(&resp, false));
            let driver = Driver::new(session, socket, inner.clone(), Some(Box::new(ws)));
            inner.runtime.spawn(driver);
            return Next::Upgraded;
        }
        // The handshake request is the session's first poll.
        let body = match session.handle_poll(now).map(|()| session.poll_transmit()) {
            Ok(Some(Transmit::Poll(body))) => body,
            _ => {
                inner.unregister(sid);
                return self
                    .answer(conn, &head, routing::error(ErrorCode::BadRequest))
                    .await;
            }
        };
        let resp = match jsonp_of(inner, &head) {
            Some(j) => routing::jsonp_payload(j, &body),
            None => routing::payload(body),
        };
        let mut resp = with_cors(inner, &origin, resp);
        routing::set_cookie(&inner.config, sid, &mut resp);
        hook_headers(inner, &head, sid, transport, true, &mut resp);
        inner
            .runtime
            .spawn(Driver::new(session, socket, inner.clone(), None));
        self.answer(conn, &head, resp).await
    }

    /// A GET or POST on a polling session.
    async fn polling(
        &self,
        conn: &mut Conn,
        head: Head,
        socket: Socket,
        origin: Option<HeaderValue>,
    ) -> Next {
        let inner = &self.0;
        let resp = match head.method {
            Method::GET => {
                let (reply, rx) = oneshot::channel();
                if socket.0.mail.push_ctl(Ctl::Poll(reply)).is_err() {
                    routing::error(ErrorCode::UnknownSid)
                } else {
                    let answer = async { Some(rx.await) };
                    let gone = async {
                        conn.closed().await;
                        None
                    };
                    match futures_lite::future::or(answer, gone).await {
                        // The client left: dropping the receiver tells the driver.
                        None => return Next::Close,
                        Some(Ok(Ok((body, compress)))) => {
                            let compress = inner
                                .config
                                .http_compression
                                .is_some_and(|t| compress && body.len() >= t);
                            let mut resp = match jsonp_of(inner, &head) {
                                Some(j) => routing::jsonp_payload(j, &body),
                                None if compress => {
                                    let accept = head.headers.get(header::ACCEPT_ENCODING);
                                    routing::compressed(body, accept)
                                }
                                None => routing::payload(body),
                            };
                            let sid = socket.sid();
                            hook_headers(
                                inner,
                                &head,
                                sid,
                                TransportKind::Polling,
                                false,
                                &mut resp,
                            );
                            resp
                        }
                        Some(Ok(Err(e))) => poll_error(e),
                        Some(Err(_)) => routing::error(ErrorCode::UnknownSid),
                    }
                }
            }
            Method::POST => return self.post(conn, head, socket, origin).await,
            _ => routing::error(ErrorCode::BadRequest),
        };
        self.answer(conn, &head, with_cors(inner, &origin, resp))
            .await
    }

    /// A POST: the body read up to `max_payload`, decoded, and the
    /// driver's verdict on it answered.
    async fn post(
        &self,
        conn: &mut Conn,
        head: Head,
        socket: Socket,
        origin: Option<HeaderValue>,
    ) -> Next {
        let inner = &self.0;
        let config = &inner.config;
        let binary = routing::is_binary_post(&head.headers);
        let protocol = socket.handshake().wire().protocol;
        if binary && protocol != engineio::Protocol::V3 {
            // EIO=4 payloads are text only: an error of the transport, 400
            // with no body, as the reference server answers.
            socket.0.close_with(CloseReason::TransportError);
            let resp = with_cors(inner, &origin, routing::empty(StatusCode::BAD_REQUEST));
            return self.answer(conn, &head, resp).await;
        }
        if socket.0.post_active.swap(true, Ordering::AcqRel) {
            // Spec: more than one active POST closes the session.
            socket.0.close_with(CloseReason::TransportError);
            let resp = with_cors(inner, &origin, routing::error(ErrorCode::BadRequest));
            return self.answer(conn, &head, resp).await;
        }
        let active = PostActive(&socket);
        if head.body_len > config.max_payload as u64 {
            // 413 with no body; the rest of the body is never read.
            socket.0.close_with(CloseReason::TransportError);
            let resp = with_cors(
                inner,
                &origin,
                routing::empty(StatusCode::PAYLOAD_TOO_LARGE),
            );
            let _ = conn.respond(resp, true).await;
            return Next::Linger;
        }
        let expect = head
            .headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let Some(data) = conn
            .read_body(head.body_len as usize, expect, config.body_read_timeout)
            .await
        else {
            // A body that failed or stalled: the session ends.
            socket.0.close_with(CloseReason::TransportError);
            let resp = with_cors(inner, &origin, routing::error(ErrorCode::BadRequest));
            let _ = conn.respond(resp, true).await;
            return Next::Close;
        };
        let data = match jsonp_of(inner, &head) {
            None => data,
            Some(_) => match engineio::jsonp::decode_form(&data) {
                Ok(d) => d,
                Err(_) => {
                    // Not the form a JSONP client sends: a transport error.
                    socket.0.close_with(CloseReason::TransportError);
                    drop(active);
                    let resp = with_cors(inner, &origin, routing::error(ErrorCode::BadRequest));
                    let _ = conn.respond(resp, true).await;
                    return Next::Close;
                }
            },
        };
        let packets = payload::decode_for(protocol, binary, data, config.max_packets_per_post);
        // Copied once per POST, and only when messages keep them.
        let headers = message_headers(inner, &head);
        let (reply, rx) = oneshot::channel();
        let resp = match socket
            .0
            .mail
            .push_ctl(Ctl::Post(Box::new((packets, reply, headers))))
        {
            Err(_) => routing::error(ErrorCode::UnknownSid),
            Ok(()) => match rx.await {
                Ok(Ok(())) => {
                    let mut resp = routing::text(Bytes::from_static(b"ok"));
                    let sid = socket.sid();
                    hook_headers(inner, &head, sid, TransportKind::Polling, false, &mut resp);
                    resp
                }
                Ok(Err(None)) => routing::error(ErrorCode::BadRequest),
                Ok(Err(Some(e))) => poll_error(e),
                Err(_) => routing::error(ErrorCode::UnknownSid),
            },
        };
        // Released before the answer goes out: a client that sends its next
        // POST as soon as it reads this one's answer (on another
        // connection, served by another thread) must not find it active.
        drop(active);
        let resp = with_cors(inner, &origin, resp);
        match conn.respond(resp, false).await {
            Ok(()) => Next::KeepAlive,
            Err(_) => Next::Close,
        }
    }

    /// An upgrade of a polling session: 101, then the connection goes to
    /// the session's driver as its probe. Refused (400, session untouched)
    /// when upgrades are off; a session not on polling or already holding
    /// a WebSocket gets its WebSocket closed at once, as the reference does.
    async fn upgrade(&self, conn: &mut Conn, head: Head, socket: Socket) -> Next {
        let inner = &self.0;
        if !inner.config.allow_upgrades {
            return self
                .answer(conn, &head, routing::error(ErrorCode::BadRequest))
                .await;
        }
        let refuse = socket.transport() != TransportKind::Polling
            || socket.0.ws_claimed.swap(true, Ordering::AcqRel);
        let mut resp = routing::switching_protocols(&head.headers);
        // A refused upgrade is closed at once: no extension for it.
        let deflate = inner
            .config
            .per_message_deflate
            .as_ref()
            .filter(|_| !refuse);
        let agreed = deflate::answer(&head.headers, deflate, resp.headers_mut());
        // Every 101, as the tokio engine (the reference's `headers` event).
        let sid = socket.sid();
        hook_headers(
            inner,
            &head,
            sid,
            TransportKind::WebSocket,
            false,
            &mut resp,
        );
        if conn.respond(resp, false).await.is_err() {
            if !refuse {
                socket.0.ws_claimed.store(false, Ordering::Release);
            }
            return Next::Close;
        }
        let ws = Ws::new(conn.io.clone(), &conn.buf, &inner.config, agreed.as_ref());
        let mut ws = Box::new(ws);
        if refuse {
            // A peer that does not read gets a bounded wait for its close.
            let close = std::future::poll_fn(|cx| ws.poll_close(cx));
            let expire = async {
                Timer::after(inner.config.linger_timeout).await;
            };
            futures_lite::future::or(close, expire).await;
            return Next::Upgraded;
        }
        let headers = message_headers(inner, &head);
        let base64 = engineio::query::binary_as_base64(head.uri.query().unwrap_or(""));
        let probe = Ctl::Probe(ws, headers, base64);
        if let Err(Ctl::Probe(..)) = socket.0.mail.push_ctl(probe) {
            // The session ended meanwhile; dropping closes the connection.
        }
        Next::Upgraded
    }
}

/// Ends the session's active POST when dropped, answered or not.
struct PostActive<'a>(&'a Socket);

impl Drop for PostActive<'_> {
    fn drop(&mut self) {
        self.0 .0.post_active.store(false, Ordering::Release);
    }
}

/// Adds what the application's header hooks give for `head` (a request
/// of session `sid` on `transport`; `initial` for a handshake's answer) to
/// its successful answer `resp`. Nothing is run without hooks.
fn hook_headers(
    inner: &Inner,
    head: &Head,
    sid: Sid,
    transport: TransportKind,
    initial: bool,
    resp: &mut Response<Bytes>,
) {
    let req = RequestHead::new(&head.method, &head.uri, &head.headers, sid, transport);
    if let Some(extra) = inner.hooks.response_headers(&req, initial) {
        append_headers(resp.headers_mut(), extra);
    }
}

/// The headers of `head` for the messages its request carries, when the
/// hooks keep message headers (a copy that owns its bytes, shared by them).
fn message_headers(inner: &Inner, head: &Head) -> Option<Arc<http::HeaderMap>> {
    inner
        .hooks
        .keeps_message_headers()
        .then(|| Arc::new(engineio::detach_headers(&head.headers)))
}

/// The request's JSONP callback index ([`routing::jsonp`]).
fn jsonp_of(inner: &Inner, head: &Head) -> Option<u32> {
    routing::jsonp(&inner.config, head.uri.query().unwrap_or(""))
}

fn with_cors(
    inner: &Inner,
    origin: &Option<HeaderValue>,
    mut resp: Response<Bytes>,
) -> Response<Bytes> {
    routing::add_cors(&inner.config.cors, origin.as_ref(), &mut resp);
    resp
}

fn poll_error(e: PollError) -> Response<Bytes> {
    match e {
        PollError::Closed => routing::error(ErrorCode::UnknownSid),
        _ => routing::error(ErrorCode::BadRequest),
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("sessions", &self.session_count())
            .finish()
    }
}
