//! WebSocket glue: the HTTP upgrade handshake, direct WebSocket sessions and
//! upgrades of polling sessions (the probe's upgraded connection is handed
//! to the session's driver; the session decides when it becomes the transport).
//!
//! Message and frame limits are `max_payload`; the framing itself is
//! [`super::wsconn`], which holds no buffer while a connection is idle.
//! Answers requests only: it must not touch a session or its driver (the
//! probe goes to the driver through the socket's control channel).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::wsconn::{wrap, ws_config, Ws, WsLimits};
use super::{error, error_response, set_cookie, with_hook_headers, ErrorCode, Resp};
use crate::config::TransportKind;
use crate::registry::Inner;
use crate::sid::Sid;
use crate::socket::{detach_headers, Ctl, Socket};

fn header_has_token<B>(req: &Request<B>, name: header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            .unwrap_or(false)
    })
}

/// Why a WebSocket opening handshake is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadHandshake {
    /// Not a valid opening handshake: 400.
    Malformed,
    /// A `Sec-WebSocket-Version` other than 13: 426 (RFC 6455 4.4).
    Version,
}

impl BadHandshake {
    /// The answer: 400, or 426 with `Sec-WebSocket-Version: 13`.
    pub(crate) fn response(self) -> Resp {
        match self {
            BadHandshake::Malformed => error(ErrorCode::BadRequest),
            BadHandshake::Version => {
                let mut resp = error_response(
                    StatusCode::UPGRADE_REQUIRED,
                    ErrorCode::BadRequest as u16,
                    "Unsupported WebSocket version",
                );
                resp.headers_mut().insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
                resp
            }
        }
    }
}

/// Checks a WebSocket opening handshake (RFC 6455 section 4.2.1): `GET`,
/// `Connection: upgrade`, `Upgrade: websocket` (case-insensitive), a
/// `Sec-WebSocket-Key` that is the base64 of 16 bytes and
/// `Sec-WebSocket-Version: 13`.
pub(crate) fn check_handshake<B>(req: &Request<B>) -> Result<(), BadHandshake> {
    let h = req.headers();
    let upgrade_ok = h
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    let key_ok = h
        .get(header::SEC_WEBSOCKET_KEY)
        .is_some_and(|k| is_websocket_key(k.as_bytes()));
    if req.method() != http::Method::GET
        || !header_has_token(req, header::CONNECTION, "upgrade")
        || !upgrade_ok
        || !key_ok
    {
        return Err(BadHandshake::Malformed);
    }
    match h.get(header::SEC_WEBSOCKET_VERSION) {
        Some(v) if v == "13" => Ok(()),
        Some(_) => Err(BadHandshake::Version),
        None => Err(BadHandshake::Malformed),
    }
}

/// Whether `key` is the base64 of exactly 16 bytes (RFC 6455 4.1, item 7):
/// 22 characters of the standard alphabet and `==`.
fn is_websocket_key(key: &[u8]) -> bool {
    use base64::Engine as _;
    let key = key.trim_ascii();
    key.len() == 24
        && base64::engine::general_purpose::STANDARD
            .decode(key)
            .is_ok_and(|raw| raw.len() == 16)
}

pub(crate) fn switching_protocols<B>(req: &Request<B>) -> Resp {
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| derive_accept_key(k.as_bytes()))
        .unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&key) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    resp
}

/// Takes the upgrade future off the request; fails when the server that
/// delivered the request does not support upgrades.
fn take_upgrade<B>(req: &mut Request<B>) -> Option<OnUpgrade> {
    req.extensions_mut().remove::<OnUpgrade>()
}

/// The WebSocket of a refused upgrade, once the handshake completes.
async fn accept(on: OnUpgrade, limits: WsLimits) -> Option<Box<Ws>> {
    Some(wrap(on.await.ok()?, limits))
}

/// Answers a WebSocket-only handshake: 101 now, and the upgrade whose
/// completion is the session's WebSocket, for its driver to await. `None`
/// when the server that delivered the request cannot upgrade (a bad
/// request).
pub(crate) fn open<B>(inner: &Inner, sid: Sid, mut req: Request<B>) -> Option<(Resp, OnUpgrade)> {
    let on = take_upgrade(&mut req)?;
    let mut resp = switching_protocols(&req);
    set_cookie(inner, sid, &mut resp);
    let resp = with_hook_headers(inner, &req, sid, TransportKind::WebSocket, true, resp);
    Some((resp, on))
}

/// An upgrade of a polling session. Refused (400, session untouched) when
/// the session is not on polling or already has a WebSocket.
pub(crate) fn upgrade<B>(inner: &Arc<Inner>, socket: Socket, mut req: Request<B>) -> Resp {
    let sid = socket.sid();
    let resp = upgrade_or_refuse(inner, socket, &mut req);
    match resp.status() {
        // Every 101, as the reference's `headers` event: not error answers.
        StatusCode::SWITCHING_PROTOCOLS => {
            with_hook_headers(inner, &req, sid, TransportKind::WebSocket, false, resp)
        }
        _ => resp,
    }
}

fn upgrade_or_refuse<B>(inner: &Arc<Inner>, socket: Socket, req: &mut Request<B>) -> Resp {
    if !inner.config.allow_upgrades {
        return error(ErrorCode::BadRequest);
    }
    if socket.transport() != TransportKind::Polling
        || socket.0.ws_claimed.swap(true, Ordering::AcqRel)
    {
        // Like the reference server: complete the handshake, then close
        // this WebSocket at once; the session's own transport is untouched.
        return refuse(inner, req);
    }
    let Some(on) = take_upgrade(req) else {
        socket.0.ws_claimed.store(false, Ordering::Release);
        return error(ErrorCode::BadRequest);
    };
    // For the messages the WebSocket will carry (see `Hooks::message_headers`).
    let headers = inner
        .hooks
        .keeps_message_headers()
        .then(|| Arc::new(detach_headers(req.headers())));
    tokio::spawn(async move {
        match on.await {
            // The driver, which owns the session's WebSockets, frames it.
            Ok(io) => {
                let probe = Ctl::Probe(Box::new((io, headers)));
                if let Err(Ctl::Probe(_io)) = socket.0.mail.push_ctl(probe) {
                    // The session ended meanwhile; dropping closes the connection.
                }
            }
            Err(_) => socket.0.ws_claimed.store(false, Ordering::Release),
        }
    });
    switching_protocols(req)
}

/// Accepts the WebSocket handshake and closes the connection right away.
fn refuse<B>(inner: &Inner, req: &mut Request<B>) -> Resp {
    let Some(on) = take_upgrade(req) else {
        return error(ErrorCode::BadRequest);
    };
    let config = ws_config(&inner.config);
    tokio::spawn(async move {
        if let Some(mut ws) = accept(on, config).await {
            ws.close().await;
        }
    });
    switching_protocols(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_keys() {
        assert!(is_websocket_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_websocket_key(b" dGhlIHNhbXBsZSBub25jZQ== "));
        // 15 and 17 bytes, not base64, the URL-safe alphabet, no padding.
        assert!(!is_websocket_key(b"dGhlIHNhbXBsZSBub25j"));
        assert!(!is_websocket_key(b"dGhlIHNhbXBsZSBub25jZQ==AA=="));
        assert!(!is_websocket_key(b"dGhlIHNhbXBsZSBub25jZ!=="));
        assert!(!is_websocket_key(b"-_hlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_websocket_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_websocket_key(b""));
    }
}
