//! What a client's handshake tells: [`ConnectionInfo`], the Engine.IO
//! handshake facts every socket of a connection shares, and [`Handshake`],
//! those facts plus the `auth` payload one namespace's CONNECT carried.
//!
//! Pure data; no runtime.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

/// The Engine.IO handshake facts every socket of a connection shares.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Request URL (path and query).
    pub url: String,
    /// Request headers (shared by every socket of the connection).
    pub headers: Arc<http::HeaderMap>,
    /// Peer address.
    pub address: Option<SocketAddr>,
    /// Handshake time.
    pub issued: SystemTime,
    /// The Engine.IO session id, when the driver tells it (both bundled
    /// drivers do). A socket.io v2 client's socket ids are made of it, as
    /// the client computes them itself (see [`Socket::public_id`]); without
    /// it such a client gets random ids that differ from its own view.
    ///
    /// [`Socket::public_id`]: crate::Socket::public_id
    pub sid: Option<engineio::Sid>,
}

/// The client's handshake, as the socket's namespace saw it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Handshake {
    /// The `auth` payload of the CONNECT packet (`{}` when absent).
    pub auth: Value,
    /// Request URL of the Engine.IO handshake (path and query).
    pub url: String,
    /// Request headers of the Engine.IO handshake (shared, not copied, by
    /// every socket of the connection).
    pub headers: Arc<http::HeaderMap>,
    /// Peer address, when known.
    pub address: Option<SocketAddr>,
    /// When the Engine.IO handshake happened.
    pub issued: SystemTime,
}

impl ConnectionInfo {
    /// The Engine.IO revision the client speaks, from the URL's `EIO`
    /// parameter: 4, or 3 for any other value (socket.io v2 clients send
    /// `EIO=3`; the engine admits them only with `allow_eio3`). A URL
    /// without `EIO` (connection facts an embedder built itself) is taken
    /// as 4.
    pub fn protocol(&self) -> engineio::Protocol {
        let q = self.url.split_once('?').map_or("", |(_, q)| q);
        match engineio::query::param(q, "EIO") {
            None => engineio::Protocol::V4,
            Some(v) => engineio::Protocol::from_eio(Some(&v)),
        }
    }
}

impl ConnectionInfo {
    /// These facts with the Engine.IO session id `sid`.
    pub fn with_sid(mut self, sid: engineio::Sid) -> Self {
        self.sid = Some(sid);
        self
    }
}

impl Handshake {
    /// A query parameter of the handshake URL, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let q = self.url.split_once('?').map_or("", |(_, q)| q);
        engineio::query::param(q, name)
    }
}

impl Handshake {
    /// The handshake of a connection with these facts, for a namespace
    /// whose CONNECT carried `auth` (a cluster adapter also builds one for
    /// a socket another node reported).
    pub fn new(info: &ConnectionInfo, auth: Value) -> Handshake {
        Handshake {
            auth,
            url: info.url.clone(),
            headers: info.headers.clone(),
            address: info.address,
            issued: info.issued,
        }
    }
}

impl From<&engineio::Handshake> for ConnectionInfo {
    /// The connection facts of an Engine.IO handshake.
    fn from(h: &engineio::Handshake) -> Self {
        ConnectionInfo {
            url: h.url(),
            headers: h.headers.clone(),
            address: h.peer,
            issued: h.issued_at,
            sid: None,
        }
    }
}
