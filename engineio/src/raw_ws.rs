//! A raw WebSocket on the engine's own framing, with no Engine.IO session
//! on top: the handshake answer for an upgrade request on any path, then
//! text and binary messages as they are. It exists so the framing the
//! engine's WebSocket transport uses ([`crate::wsframe`] and the
//! connection code under it) can be checked on its own, e.g. by the
//! Autobahn suite (`conformance ws-echo`).
//!
//! The connection answers pings and close frames itself and closes with
//! the RFC 6455 status code on a protocol error (1002), invalid UTF-8
//! (1007) or a message over the limit (1009). It must not touch sessions,
//! the registry or the engine: it only borrows the transport's framing.
//!
//! Caller obligations: poll [`RawWebSocket::poll_next`] to receive (pongs
//! and the close echo are queued by it), queue sends only when
//! [`RawWebSocket::poll_ready`] is ready, and drive
//! [`RawWebSocket::poll_flush`] so queued frames (replies included) go out.

use std::fmt;
use std::io;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;

use crate::config::PerMessageDeflate;
use crate::str::Str;
use crate::transport::full;
use crate::transport::websocket::{check_handshake, switching_protocols_deflate, BadHandshake};
use crate::transport::wsconn::{wrap, ws_limits, Ws, WsEvent, WsLimits};
use crate::wsframe::FrameKind;

/// Default for [`RawConfig::max_message`]: 64 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 64 << 20;

/// Default for [`RawConfig::read_buffer`]: 16 KiB.
pub const DEFAULT_READ_BUFFER: usize = 16 << 10;

/// Limits of a raw WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawConfig {
    /// Largest message (or frame) accepted, in bytes; a larger one closes
    /// the connection with 1009. Default [`DEFAULT_MAX_MESSAGE`].
    pub max_message: usize,
    /// Largest single read from the socket while no frame is partly
    /// received, in bytes (capped at 16 KiB). Default
    /// [`DEFAULT_READ_BUFFER`].
    pub read_buffer: usize,
    /// permessage-deflate for clients that offer it (RFC 7692); `None`
    /// (default) negotiates no extension.
    pub per_message_deflate: Option<PerMessageDeflate>,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            max_message: DEFAULT_MAX_MESSAGE,
            read_buffer: DEFAULT_READ_BUFFER,
            per_message_deflate: None,
        }
    }
}

impl RawConfig {
    /// Sets [`RawConfig::max_message`].
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// Sets [`RawConfig::read_buffer`].
    pub fn read_buffer(mut self, bytes: usize) -> Self {
        self.read_buffer = bytes;
        self
    }

    /// Sets [`RawConfig::per_message_deflate`].
    pub fn per_message_deflate(mut self, v: Option<PerMessageDeflate>) -> Self {
        self.per_message_deflate = v;
        self
    }
}

/// Why a request cannot become a raw WebSocket.
#[derive(Debug)]
#[non_exhaustive]
pub enum RawUpgradeError {
    /// The request is not a WebSocket upgrade (RFC 6455 section 4.2.1):
    /// answer it with 400.
    NotUpgrade,
    /// A `Sec-WebSocket-Version` other than 13: answer it with 426 and
    /// `Sec-WebSocket-Version: 13` (RFC 6455 section 4.4).
    UnsupportedVersion,
    /// The server that delivered the request does not support upgrades.
    Unsupported,
    /// The upgrade did not complete (the connection failed first).
    Failed(hyper::Error),
}

impl fmt::Display for RawUpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawUpgradeError::NotUpgrade => f.write_str("not a websocket upgrade request"),
            RawUpgradeError::UnsupportedVersion => f.write_str("unsupported websocket version"),
            RawUpgradeError::Unsupported => f.write_str("the connection cannot be upgraded"),
            RawUpgradeError::Failed(e) => write!(f, "websocket upgrade failed: {e}"),
        }
    }
}

impl RawUpgradeError {
    /// The answer to send for a refused request: 400, or 426 with
    /// `Sec-WebSocket-Version: 13` for an unsupported version; `None` once
    /// the 101 went out (the upgrade failed afterwards).
    pub fn response(&self) -> Option<http::Response<Full<Bytes>>> {
        match self {
            RawUpgradeError::NotUpgrade | RawUpgradeError::Unsupported => {
                Some(full(BadHandshake::Malformed.response()))
            }
            RawUpgradeError::UnsupportedVersion => Some(full(BadHandshake::Version.response())),
            RawUpgradeError::Failed(_) => None,
        }
    }
}

impl std::error::Error for RawUpgradeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RawUpgradeError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// An accepted upgrade: send the response, then await [`Upgrading::accept`].
#[derive(Debug)]
pub struct Upgrading {
    on: OnUpgrade,
    limits: WsLimits,
}

impl Upgrading {
    /// The WebSocket, once hyper has sent the 101 response and handed the
    /// connection over.
    pub async fn accept(self) -> Result<RawWebSocket, RawUpgradeError> {
        let upgraded = self.on.await.map_err(RawUpgradeError::Failed)?;
        Ok(RawWebSocket {
            ws: wrap(upgraded, self.limits),
        })
    }
}

/// Answers a WebSocket upgrade request on any path: the 101 response to
/// send, and the upgrade to await. No subprotocol is negotiated; the only
/// extension is permessage-deflate, when [`RawConfig::per_message_deflate`]
/// is on.
pub fn upgrade<B>(
    req: &mut Request<B>,
    config: RawConfig,
) -> Result<(http::Response<Full<Bytes>>, Upgrading), RawUpgradeError> {
    match check_handshake(req) {
        Ok(()) => {}
        Err(BadHandshake::Version) => return Err(RawUpgradeError::UnsupportedVersion),
        Err(BadHandshake::Malformed) => return Err(RawUpgradeError::NotUpgrade),
    }
    let on = req
        .extensions_mut()
        .remove::<OnUpgrade>()
        .ok_or(RawUpgradeError::Unsupported)?;
    let (resp, agreed) = switching_protocols_deflate(req, config.per_message_deflate.as_ref());
    let limits = ws_limits(config.max_message, config.read_buffer).with_deflate(agreed);
    Ok((resp, Upgrading { on, limits }))
}

/// A message from the peer, or the end of the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RawEvent {
    /// A text message (valid UTF-8).
    Text(Str),
    /// A binary message.
    Binary(Bytes),
    /// The peer closed (its close frame is echoed), the stream ended, or
    /// the peer broke the protocol (`error`; the close frame with the
    /// status code is queued). Nothing more will be received.
    Closed {
        /// Whether the connection ended by a fault rather than a close.
        error: bool,
    },
}

/// A server WebSocket on the engine's framing, without Engine.IO.
pub struct RawWebSocket {
    ws: Box<Ws>,
}

impl fmt::Debug for RawWebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawWebSocket").finish_non_exhaustive()
    }
}

impl RawWebSocket {
    /// The next message; control frames are answered on the way (their
    /// replies are queued: flush them).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<RawEvent> {
        loop {
            let event = match std::task::ready!(self.ws.poll_next(cx)) {
                WsEvent::Text(s) => RawEvent::Text(s),
                WsEvent::Binary(b) => RawEvent::Binary(b),
                WsEvent::Skip => continue,
                WsEvent::Closed { error } => RawEvent::Closed { error },
            };
            return Poll::Ready(event);
        }
    }

    /// Ready when another message may be queued (writes while too much is
    /// buffered); `Err` when the connection failed.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ws.poll_ready(cx)
    }

    /// Queues a text message as one frame (dropped after a close).
    pub fn start_send_text(&mut self, text: &str) {
        self.ws.start_send_frame(FrameKind::Text, text.as_bytes());
    }

    /// Queues a binary message as one frame (dropped after a close).
    pub fn start_send_binary(&mut self, data: &[u8]) {
        self.ws.start_send_frame(FrameKind::Binary, data);
    }

    /// Writes every queued frame and flushes the stream.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ws.poll_flush(cx)
    }

    /// Sends a close frame (unless one is queued already: the echo of the
    /// peer's, or the status of a protocol error), flushes and shuts the
    /// stream down.
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.ws.poll_close(cx)
    }

    /// [`RawWebSocket::poll_close`] as a future.
    pub async fn close(&mut self) {
        self.ws.close().await
    }
}
