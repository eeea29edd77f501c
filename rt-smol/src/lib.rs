//! Engine.IO and Socket.IO on smol's building blocks: a second runtime
//! driver for the same sans-IO [`engineio::Session`] and the same
//! runtime-free [`socketio`] core that the tokio driver serves.
//!
//! # What a runtime driver provides
//! The protocol cores read no clock, spawn nothing and do no I/O. A driver
//! supplies:
//! - **I/O**: accepting connections and HTTP/1.1 (here [`engineio::http1`] over
//!   async-io's `Async<TcpStream>`: heads within `header_read_timeout`,
//!   `Content-Length` bodies bounded by `max_payload`, keep-alive), and the
//!   WebSocket byte stream, framed and buffered by the shared
//!   [`engineio::wsbuf::WsBuffers`];
//! - **routing**: the decisions made from a request alone, shared with the
//!   tokio engine in [`engineio::routing`] (status codes, JSON bodies,
//!   CORS, preflight, cookie, WebSocket handshake checks and accept key);
//! - **one task per session** that owns its [`engineio::Session`]: feeds it
//!   polls, POST bodies and timer expiries, runs the shared
//!   [`engineio::drive::Transports`] (WebSocket frames in, transmits out,
//!   the send buffer drained) and reports events to the [`Handler`]. Other
//!   tasks reach it through the socket's [`engineio::handle::SocketCore`]
//!   mailbox; no lock is held across an await or a handler call;
//! - **timers**: one per session, re-armed at [`engineio::Session::poll_timeout`]
//!   (here an async-io [`Timer`](async_io::Timer)), plus read deadlines for
//!   request heads and bodies;
//! - **spawning and sleeping** for the Socket.IO core, as a
//!   [`socketio::Runtime`] ([`SmolRuntime`]: an `async-executor` executor
//!   and async-io timers), and a [`socketio::Conn`] per connection (this
//!   crate's [`Socket`]).
//!
//! # Differences from the tokio driver
//! The request hooks run as on tokio ([`Engine::with_hooks`]; [`engine`]
//! takes the `SocketIo`'s), message headers included. There is no `send_async`,
//! chunked request bodies are refused (411), and the engine serves its own
//! listener only (no mounting in another HTTP server).
//!
//! ```no_run
//! use std::sync::{Arc, Mutex};
//! use socketio_smol::{SmolRuntime, async_io::Async};
//!
//! let rt = SmolRuntime::new();
//! let io = socketio::SocketIo::builder().runtime(Arc::new(rt.clone())).build();
//! io.of("/").on_connection(|socket| async move {
//!     let _ = socket.emit("hello", "world");
//! });
//! rt.block_on(2, async {
//!     let listener = Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 3000))?;
//!     socketio_smol::serve(&io, listener, engineio::EngineConfig::default(), &rt).await
//! })
//! .unwrap();
//! // Served until the listener failed: cancel the tasks left (connections,
//! // sessions), closing their sockets.
//! rt.shutdown();
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod driver;
mod engine;
mod http1;
mod sio;
mod socket;
mod ws;

use std::future::Future;
use std::sync::{Arc, Mutex};

use async_executor::Executor;

pub use engine::Engine;
pub use sio::{engine, serve};
pub use socket::{Handler, Socket};

/// Re-exported: the listener and stream types [`Engine::serve`] takes.
pub use async_io;

/// The executor every task of an engine (connections, session drivers)
/// and of a Socket.IO server (handlers, timers) runs on. Cheap to clone:
/// the clones share the executor, and [`SmolRuntime::shutdown`] stops
/// them all.
#[derive(Clone, Debug)]
pub struct SmolRuntime {
    /// `None` once shut down. The tasks hold clones of the runtime (an
    /// engine keeps one to spawn with), so the executor is reached through
    /// this slot: emptying it breaks the cycle executor -> task -> runtime
    /// -> executor and lets the executor drop.
    executor: Arc<Mutex<Option<Arc<Executor<'static>>>>>,
}

impl Default for SmolRuntime {
    fn default() -> Self {
        SmolRuntime::new()
    }
}

impl SmolRuntime {
    /// A runtime on a new executor (nothing runs until [`SmolRuntime::block_on`]
    /// or the caller's own threads run [`SmolRuntime::executor`]).
    pub fn new() -> Self {
        SmolRuntime {
            executor: Arc::new(Mutex::new(Some(Arc::new(Executor::new())))),
        }
    }

    /// The executor, for callers that run it on threads of their own;
    /// `None` after [`SmolRuntime::shutdown`]. A caller holding it keeps
    /// the tasks alive until it drops it.
    pub fn executor(&self) -> Option<Arc<Executor<'static>>> {
        self.executor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs `fut` in the background; after [`SmolRuntime::shutdown`],
    /// drops it unrun.
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        if let Some(ex) = self.executor() {
            ex.spawn(fut).detach();
        }
    }

    /// Stops the runtime: later spawns are dropped, and as soon as no
    /// [`SmolRuntime::block_on`] runs the executor (and no caller holds
    /// [`SmolRuntime::executor`]) every task is cancelled: its future is
    /// dropped with what it owns (connections, WebSockets, sessions, a
    /// listener served by a spawned task), so their sockets close. Call it
    /// after the future given to `block_on` has returned, or from inside
    /// it to have the tasks cancelled when `block_on` returns.
    /// Idempotent.
    pub fn shutdown(&self) {
        let ex = self
            .executor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        // Dropped outside the lock: cancelling the tasks drops their
        // clones of this runtime, which take the lock.
        drop(ex);
    }

    /// Runs the executor on this thread and `threads - 1` more until `fut`
    /// completes; returns its output. The extra threads stop with it.
    /// After [`SmolRuntime::shutdown`], runs `fut` alone on this thread.
    pub fn block_on<T>(&self, threads: usize, fut: impl Future<Output = T>) -> T {
        let Some(executor) = self.executor() else {
            return async_io::block_on(fut);
        };
        std::thread::scope(|s| {
            // Each extra thread runs the executor until its sender drops.
            let stops: Vec<_> = (1..threads.max(1))
                .map(|_| {
                    let (stop, stopped) = futures_channel::oneshot::channel::<()>();
                    let ex = executor.clone();
                    s.spawn(move || async_io::block_on(ex.run(stopped)));
                    stop
                })
                .collect();
            let out = async_io::block_on(executor.run(fut));
            drop(stops);
            out
        })
    }
}
