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

use http::{Request, StatusCode};
use hyper::upgrade::OnUpgrade;

use super::wsconn::{wrap, ws_config, Ws, WsLimits};
use super::{error, full, with_hook_headers, ErrorCode, Resp};
use crate::config::{PerMessageDeflate, TransportKind};
use crate::deflate::{self, Negotiated};
use crate::handshake::detach_headers;
use crate::hooks::RequestHead;
use crate::registry::Inner;
use crate::routing;
use crate::sid::Sid;
use crate::socket::{Ctl, Socket};

pub(crate) use crate::routing::BadHandshake;

/// Checks a WebSocket opening handshake: [`routing::check_handshake`].
pub(crate) fn check_handshake<B>(req: &Request<B>) -> Result<(), BadHandshake> {
    routing::check_handshake(req.method(), req.headers())
}

/// The 101 answer to a checked handshake: [`routing::switching_protocols`].
pub(crate) fn switching_protocols<B>(req: &Request<B>) -> Resp {
    full(routing::switching_protocols(req.headers()))
}

/// The 101 answer, with the permessage-deflate offer `config` accepts
/// (see [`deflate::answer`]), and the parameters agreed.
pub(crate) fn switching_protocols_deflate<B>(
    req: &Request<B>,
    config: Option<&PerMessageDeflate>,
) -> (Resp, Option<Negotiated>) {
    let mut resp = routing::switching_protocols(req.headers());
    let agreed = deflate::answer(req.headers(), config, resp.headers_mut());
    (full(resp), agreed)
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
pub(crate) fn open<B>(
    inner: &Inner,
    sid: Sid,
    mut req: Request<B>,
) -> Option<(Resp, OnUpgrade, Option<Negotiated>)> {
    let on = take_upgrade(&mut req)?;
    let head = RequestHead::new(
        req.method(),
        req.uri(),
        req.headers(),
        sid,
        TransportKind::WebSocket,
    );
    let (resp, agreed) = routing::websocket_open(&inner.config, &inner.hooks, &head);
    Some((full(resp), on, agreed))
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
    let base64 = crate::query::binary_as_base64(req.uri().query().unwrap_or(""));
    let (resp, agreed) =
        switching_protocols_deflate(req, inner.config.per_message_deflate.as_ref());
    tokio::spawn(async move {
        match on.await {
            // The driver, which owns the session's WebSockets, frames it.
            Ok(io) => {
                let probe = Ctl::Probe(Box::new((io, headers, agreed, base64)));
                if let Err(Ctl::Probe(_io)) = socket.0.mail.push_ctl(probe) {
                    // The session ended meanwhile; dropping closes the connection.
                }
            }
            Err(_) => socket.0.ws_claimed.store(false, Ordering::Release),
        }
    });
    resp
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
