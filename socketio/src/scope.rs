//! [`Scope`]: what a namespace shares with its sockets and its broadcast
//! operators: its name, its adapter, the runtime, its recovery store, the
//! server's parser and its ack ids. Sockets and operators hold a scope, not the namespace, so
//! they sit below it (the namespace owns its sockets; a socket only needs
//! these parts of its namespace).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use engineio::Sid;
use serde_json::Value;

use crate::adapter::{Adapter, Room};
use crate::parser::Parser;
use crate::recovery::Recovery;
use crate::runtime::Runtime;

/// What a socket tells the server's observer (`observer.rs`, which
/// implements it for every [`Observer`](crate::Observer)), in terms that
/// name no socket type.
pub(crate) trait Tap: Send + Sync + 'static {
    /// The socket `sid` of `nsp` joined `rooms`.
    fn joined(&self, nsp: &str, sid: Sid, rooms: &[Room]);
    /// The socket `sid` of `nsp` left `room`.
    fn left(&self, nsp: &str, sid: Sid, room: &str);
    /// A packet of `len` bytes went to a connection.
    fn message_out(&self, len: usize);
    /// The socket `sid` of `nsp` got new data.
    fn data_set(&self, nsp: &str, sid: Sid, data: &Value);
}

/// Where the server's [`Tap`] lives once an observer is attached, shared
/// by every scope.
pub(crate) type TapSlot = OnceLock<Arc<dyn Tap>>;

/// The parts of a namespace its sockets and operators use.
pub(crate) struct Scope {
    name: String,
    adapter: Arc<dyn Adapter>,
    runtime: Arc<dyn Runtime>,
    recovery: Option<Recovery>,
    parser: Parser,
    ack_ids: AtomicU64,
    tap: Arc<TapSlot>,
}

impl Scope {
    /// The scope of namespace `name`.
    pub(crate) fn new(
        name: String,
        adapter: Arc<dyn Adapter>,
        runtime: Arc<dyn Runtime>,
        recovery: Option<Recovery>,
        parser: Parser,
        tap: Arc<TapSlot>,
    ) -> Scope {
        Scope {
            name,
            adapter,
            runtime,
            recovery,
            parser,
            ack_ids: AtomicU64::new(0),
            tap,
        }
    }

    /// The namespace's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's adapter.
    pub(crate) fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.adapter
    }

    /// The runtime.
    pub(crate) fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.runtime
    }

    /// The recovery store, when connection state recovery is on.
    pub(crate) fn recovery(&self) -> Option<&Recovery> {
        self.recovery.as_ref()
    }

    /// The server's parser, which encodes every packet of the namespace.
    pub(crate) fn parser(&self) -> Parser {
        self.parser
    }

    /// The server's observer, if one is attached (one atomic load).
    #[inline]
    pub(crate) fn tap(&self) -> Option<&Arc<dyn Tap>> {
        self.tap.get()
    }

    /// A fresh ack id, unique within the namespace.
    pub(crate) fn next_ack_id(&self) -> u64 {
        self.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Finishes an adapter operation at once when it can (the local
    /// adapter always does), else lets it go on in the background.
    pub(crate) fn finish_or_spawn(
        &self,
        mut fut: crate::runtime::BoxFuture<Result<(), crate::error::AdapterError>>,
    ) -> Result<(), crate::error::EmitError> {
        use futures_util::FutureExt;
        match (&mut fut).now_or_never() {
            Some(r) => r.map_err(|_| crate::error::EmitError::Adapter),
            None => {
                self.runtime().spawn(Box::pin(async move {
                    let _ = fut.await;
                }));
                Ok(())
            }
        }
    }
}
