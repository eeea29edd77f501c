//! The engine's shared state: the sid → socket registry, the configuration,
//! the [`Handler`] and the hooks that see a handshake before a session opens
//! ([`RequestInfo`], [`Refusal`]).
//!
//! Owns the sid map, behind a short-lived std lock that is never held across
//! an await or a handler call. Holds handles only: it must not touch a
//! session, the driver or the transports, which all sit above it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use http::{HeaderMap, Method};

use crate::config::{EngineConfig, TransportKind};
use crate::sid::{Sid, SidMap};
use crate::socket::{Handler, Socket};

/// Boxed future returned by an [`allow_request`](crate::EngineBuilder::allow_request) hook.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The `allow_request` hook, boxed.
pub(crate) type AllowRequestFn =
    dyn Fn(RequestInfo) -> BoxFuture<Result<(), Refusal>> + Send + Sync;

/// What an `allow_request` hook sees of a handshake request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestInfo {
    /// HTTP method.
    pub method: Method,
    /// Request path.
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Peer address, when known.
    pub peer: Option<SocketAddr>,
    /// Requested transport.
    pub transport: TransportKind,
}

/// A refusal from an `allow_request` hook: answered with status 403 and
/// `{"code":code,"message":message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Error code in the body; the reference server uses 4 ("Forbidden").
    pub code: u16,
    /// Error message in the body.
    pub message: String,
}

impl Refusal {
    /// Code 4 with `message`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Refusal {
            code: 4,
            message: message.into(),
        }
    }
}

/// What every request and driver of one engine shares.
pub(crate) struct Inner {
    pub(crate) config: EngineConfig,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) allow_request: Option<Arc<AllowRequestFn>>,
    sessions: Mutex<SidMap<Socket>>,
}

impl Inner {
    pub(crate) fn new(
        config: EngineConfig,
        handler: Arc<dyn Handler>,
        allow_request: Option<Arc<AllowRequestFn>>,
    ) -> Self {
        Inner {
            config,
            handler,
            allow_request,
            sessions: Mutex::new(SidMap::default()),
        }
    }

    fn sessions(&self) -> MutexGuard<'_, SidMap<Socket>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn lookup(&self, sid: &Sid) -> Option<Socket> {
        self.sessions().get(sid).cloned()
    }

    /// Every registered socket.
    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.sessions().values().cloned().collect()
    }

    /// Number of registered sockets.
    pub(crate) fn len(&self) -> usize {
        self.sessions().len()
    }

    /// Registers a socket unless the session cap is reached.
    pub(crate) fn register(&self, socket: &Socket) -> bool {
        let mut map = self.sessions();
        if map.len() >= self.config.max_sessions {
            return false;
        }
        map.insert(socket.sid(), socket.clone());
        true
    }

    pub(crate) fn unregister(&self, sid: Sid) {
        self.sessions().remove(&sid);
    }
}
