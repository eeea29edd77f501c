//! [`Socket`]: the application's handle to one session, and the
//! [`Handler`] trait through which the engine reports to the application.
//!
//! A socket talks to the session's driver task over two channels: a bounded
//! one for application packets (the send buffer) and a control channel for
//! transport requests and closes. No lock is shared with the driver.
//!
//! Also owns the [`Handshake`], kept as a copy that owns its bytes. It must
//! not touch the registry, the driver or the transports: they all sit above
//! it (the probe it carries is a bare upgraded connection, not a WebSocket).

use std::any::Any;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::header::HeaderValue;
use hyper::upgrade::Upgraded;
use tokio::sync::{oneshot, Notify};

use crate::mailbox::{Mailbox, PushError};

use crate::config::{SlowClientPolicy, TransportKind};
use crate::error::{CloseReason, PacketError, SendError};
use crate::packet::Packet;
use crate::session::PollError;
use crate::sid::Sid;
use crate::str::Str;

/// Receives a session's lifecycle and messages. Called on the session's
/// driver task, in arrival order; implementations must not block (spawn
/// for slow work). `on_connect` comes first and `on_close` last, once.
pub trait Handler: Send + Sync + 'static {
    /// A session opened.
    fn on_connect(&self, socket: &Socket) {
        let _ = socket;
    }
    /// A text message arrived.
    fn on_message(&self, socket: &Socket, text: Str);
    /// A binary message arrived.
    fn on_binary(&self, socket: &Socket, data: Bytes);
    /// The session upgraded from polling to WebSocket.
    fn on_upgrade(&self, socket: &Socket) {
        let _ = socket;
    }
    /// The session closed.
    fn on_close(&self, socket: &Socket, reason: CloseReason) {
        let _ = (socket, reason);
    }
    /// A text message arrived, with the headers of the HTTP request that
    /// carried it: called instead of [`Handler::on_message`] when the
    /// engine keeps message headers ([`Hooks::message_headers`](crate::Hooks::message_headers)).
    /// For polling they are the `POST`'s (shared by the messages of one
    /// `POST`); for WebSocket those of the request that opened it: the
    /// handshake's ([`Handshake::headers`]), or the upgrade request's for a
    /// session that upgraded from polling. Default: `on_message`.
    fn on_message_with(&self, socket: &Socket, text: Str, headers: &Arc<http::HeaderMap>) {
        let _ = headers;
        self.on_message(socket, text);
    }
    /// [`Handler::on_message_with`] for a binary message. Default: `on_binary`.
    fn on_binary_with(&self, socket: &Socket, data: Bytes, headers: &Arc<http::HeaderMap>) {
        let _ = headers;
        self.on_binary(socket, data);
    }
}

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
    /// The handshake of a request: a copy that owns its bytes (see
    /// [`detach_headers`]), stamped now.
    pub(crate) fn detached(
        uri: &http::Uri,
        headers: &http::HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Self {
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
pub(crate) fn detach_headers(headers: &http::HeaderMap) -> http::HeaderMap {
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

/// One item of the send buffer: a packet, or packets that must go out
/// back to back (a Socket.IO binary packet and its attachments), and
/// whether they may be compressed.
pub(crate) enum Outgoing {
    One(Packet, bool),
    Group(Vec<Packet>, bool),
}

impl Outgoing {
    pub(crate) fn text_len(&self) -> usize {
        match self {
            Outgoing::One(p, _) => p.text_len(),
            Outgoing::Group(g, _) => g.iter().map(Packet::text_len).sum(),
        }
    }

    pub(crate) fn compress(&self) -> bool {
        match self {
            Outgoing::One(_, c) | Outgoing::Group(_, c) => *c,
        }
    }
}

/// A decoded POST body, where to send the outcome, and the POST's headers
/// when its messages keep them (see [`Hooks::message_headers`](crate::Hooks::message_headers)).
pub(crate) type PostRequest = (
    Result<Vec<Packet>, PacketError>,
    oneshot::Sender<Result<(), Option<PollError>>>,
    Option<Arc<http::HeaderMap>>,
);

/// Control messages from transports and handles to the driver.
pub(crate) enum Ctl {
    /// A GET; answered with the payload and whether it may be compressed.
    Poll(oneshot::Sender<Result<(Bytes, bool), PollError>>),
    /// A decoded POST body and its reply; the reply's `Err(None)` means the
    /// payload was a protocol error. Boxed: every session's channel
    /// allocates room for 32 of these up front.
    Post(Box<PostRequest>),
    /// The HTTP connection of an accepted upgrade, for the probe: the
    /// driver makes it a WebSocket; with the upgrade request's headers when
    /// messages keep them. Boxed, as `Post`.
    Probe(Box<(Upgraded, Option<Arc<http::HeaderMap>>)>),
    Close(CloseReason),
}

// `repr(C)`: the mailbox, which every send locks, first.
#[repr(C)]
pub(crate) struct Shared {
    /// Application packets and control messages for the driver task.
    pub(crate) mail: Mailbox<Outgoing, Ctl>,
    pub(crate) sid: Sid,
    pub(crate) handshake: Handshake,
    /// Signalled when the driver takes an application packet or closes
    /// (for [`Socket::send_async`]).
    pub(crate) space: Notify,
    pub(crate) slow_client: SlowClientPolicy,
    pub(crate) transport: AtomicU8,
    close_requested: AtomicBool,
    /// A POST is being served (overlap detection).
    pub(crate) post_active: AtomicBool,
    /// A WebSocket has been accepted for this session (probe or active).
    pub(crate) ws_claimed: AtomicBool,
    /// The application's per-session value.
    data: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
}

/// A cheap, clonable handle to one Engine.IO session.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<Shared>);

impl Socket {
    pub(crate) fn new(
        sid: Sid,
        handshake: Handshake,
        transport: TransportKind,
        send_buffer: usize,
        slow_client: SlowClientPolicy,
    ) -> Socket {
        let shared = Shared {
            mail: Mailbox::new(send_buffer),
            sid,
            handshake,
            space: Notify::new(),
            slow_client,
            transport: AtomicU8::new(transport as u8),
            close_requested: AtomicBool::new(false),
            post_active: AtomicBool::new(false),
            ws_claimed: AtomicBool::new(transport == TransportKind::WebSocket),
            data: Mutex::new(None),
        };
        Socket(Arc::new(shared))
    }

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.0.sid
    }

    /// The handshake request.
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// The transport in use.
    pub fn transport(&self) -> TransportKind {
        if self.0.transport.load(Ordering::Relaxed) == TransportKind::WebSocket as u8 {
            TransportKind::WebSocket
        } else {
            TransportKind::Polling
        }
    }

    /// Queues a text message.
    pub fn send_text(&self, text: impl Into<Str>) -> Result<(), SendError> {
        self.send(Packet::Message(text.into()))
    }

    /// Queues a binary message.
    pub fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Packet::Binary(data.into()))
    }

    /// Queues a packet without waiting. A full send buffer is
    /// [`SendError::Full`] (and closes the session under
    /// [`SlowClientPolicy::Close`]); it never blocks or grows.
    pub fn send(&self, packet: Packet) -> Result<(), SendError> {
        self.try_send(Outgoing::One(packet, true))
    }

    /// Like [`Socket::send`]; with `compress` false the packet does not ask
    /// for HTTP compression (a polling response is compressed when one of
    /// its packets asks for it, it reaches the threshold and the client
    /// accepts gzip or deflate).
    pub fn send_with(&self, packet: Packet, compress: bool) -> Result<(), SendError> {
        self.try_send(Outgoing::One(packet, compress))
    }

    /// Queues packets that must reach the client back to back, with nothing
    /// from other senders in between (a Socket.IO binary packet and its
    /// attachments). Counts as one item of the send buffer.
    pub fn send_group(&self, packets: Vec<Packet>) -> Result<(), SendError> {
        self.try_send(Outgoing::Group(packets, true))
    }

    /// [`Socket::send_group`] with the compression choice of [`Socket::send_with`].
    pub fn send_group_with(&self, packets: Vec<Packet>, compress: bool) -> Result<(), SendError> {
        self.try_send(Outgoing::Group(packets, compress))
    }

    fn try_send(&self, out: Outgoing) -> Result<(), SendError> {
        match self.0.mail.push_app(out) {
            Ok(()) => Ok(()),
            Err(PushError::Full(_)) => {
                if self.0.slow_client == SlowClientPolicy::Close {
                    self.close_with(CloseReason::SlowClient);
                }
                Err(SendError::Full)
            }
            Err(PushError::Closed(_)) => Err(SendError::Closed),
        }
    }

    /// Attaches the application's value to this session, once. Returns the
    /// value back if one is already set. The engine drops it once the
    /// session has closed (after `on_close`), so it may hold this socket.
    pub fn set_data<T: Any + Send + Sync>(&self, value: T) -> Result<(), T> {
        let mut slot = self.0.data.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return Err(value);
        }
        *slot = Some(Arc::new(value));
        Ok(())
    }

    /// The application's value, if one of type `T` is set.
    pub fn data<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let slot = self.0.data.lock().unwrap_or_else(|e| e.into_inner());
        slot.clone()?.downcast().ok()
    }

    /// Drops the application's value (the driver calls it after `on_close`).
    pub(crate) fn clear_data(&self) {
        let old = self.0.data.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(old);
    }

    /// Waits for room in the send buffer, then queues the packet.
    pub async fn send_async(&self, packet: Packet) -> Result<(), SendError> {
        let mut out = Outgoing::One(packet, true);
        loop {
            // Registered before the attempt, so a slot freed in between is not missed.
            let notified = self.0.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.0.mail.push_app(out) {
                Ok(()) => return Ok(()),
                Err(PushError::Closed(_)) => return Err(SendError::Closed),
                Err(PushError::Full(o)) => {
                    out = o;
                    notified.await;
                }
            }
        }
    }

    /// Closes the session; the client gets a close packet.
    pub fn close(&self) {
        self.close_with(CloseReason::ForcedClose);
    }

    pub(crate) fn close_with(&self, reason: CloseReason) {
        if !self.0.close_requested.swap(true, Ordering::AcqRel) {
            let _ = self.0.mail.push_ctl(Ctl::Close(reason));
        }
    }

    /// Whether the session's driver has stopped.
    pub fn is_closed(&self) -> bool {
        self.0.mail.is_closed()
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("sid", &self.0.sid)
            .field("transport", &self.transport())
            .finish()
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
