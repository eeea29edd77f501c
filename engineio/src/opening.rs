//! Opening a session, for both ways the tokio engine answers a handshake
//! (through hyper, and on its own accept path): a new sid, the socket
//! handle registered with the engine within `max_sessions`, and the
//! session's pure state. Answers nothing and spawns nothing: the callers
//! answer the request and start the driver.

use std::time::Instant;

use crate::config::TransportKind;
use crate::handshake::Handshake;
use crate::registry::Inner;
use crate::session::Session;
use crate::sid::Sid;
use crate::socket::Socket;

/// A new session on `transport` for `handshake`, its socket registered;
/// `None` when the engine is at `max_sessions`.
pub(crate) fn open(
    inner: &Inner,
    handshake: Handshake,
    transport: TransportKind,
    now: Instant,
) -> Option<(Socket, Session)> {
    let config = &inner.config;
    let sid = Sid::random();
    let socket = Socket::new(
        sid,
        handshake,
        transport,
        config.send_buffer,
        config.slow_client,
    );
    if !inner.register(&socket) {
        return None;
    }
    let wire = socket.handshake().wire();
    let session = Session::with_wire(sid, config, transport, now, wire);
    Some((socket, session))
}
