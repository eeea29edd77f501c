//! The engine's shared state: the sid → socket registry, the configuration,
//! the [`Handler`] and the application's request [`Hooks`] (their types
//! are in [`crate::hooks`]).
//!
//! Owns the sid map, behind a short-lived std lock that is never held across
//! an await or a handler call. Holds handles only: it must not touch a
//! session, the driver or the transports, which all sit above it.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::EngineConfig;
use crate::hooks::Hooks;
use crate::sid::{Sid, SidMap};
use crate::socket::{Handler, Socket};

/// What every request and driver of one engine shares.
pub(crate) struct Inner {
    pub(crate) config: EngineConfig,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) hooks: Hooks,
    sessions: Mutex<SidMap<Socket>>,
}

impl Inner {
    pub(crate) fn new(config: EngineConfig, handler: Arc<dyn Handler>, hooks: Hooks) -> Self {
        Inner {
            config,
            handler,
            hooks,
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
