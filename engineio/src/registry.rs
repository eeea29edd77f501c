//! The engine's shared state: the sid → socket registry, the configuration,
//! the [`Handler`] and the application's request [`Hooks`] (their types
//! are in [`crate::hooks`]).
//!
//! Owns the sid map, behind a short-lived std lock that is never held across
//! an await or a handler call. Holds handles only: it must not touch a
//! session, the driver or the transports, which all sit above it.

use std::sync::Arc;

use crate::config::EngineConfig;
use crate::hooks::Hooks;
use crate::sid::{Sessions, Sid};
use crate::socket::{Handler, Socket};

/// What every request and driver of one engine shares.
pub(crate) struct Inner {
    pub(crate) config: EngineConfig,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) hooks: Hooks,
    sessions: Sessions<Socket>,
}

impl Inner {
    pub(crate) fn new(config: EngineConfig, handler: Arc<dyn Handler>, hooks: Hooks) -> Self {
        Inner {
            sessions: Sessions::new(config.max_sessions),
            config,
            handler,
            hooks,
        }
    }

    pub(crate) fn lookup(&self, sid: &Sid) -> Option<Socket> {
        self.sessions.lookup(sid)
    }

    /// Every registered socket.
    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.sessions.all()
    }

    /// Number of registered sockets.
    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Registers a socket unless the session cap is reached.
    pub(crate) fn register(&self, socket: &Socket) -> bool {
        self.sessions.register(socket.sid(), socket.clone())
    }

    pub(crate) fn unregister(&self, sid: Sid) {
        self.sessions.unregister(sid);
    }
}
