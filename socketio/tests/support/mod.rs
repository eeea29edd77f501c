//! Test support without tokio or sockets: the real Socket.IO core on a
//! [`ManualRuntime`] (a single-threaded executor stepped by the test, with
//! a virtual clock) and in-memory connections ([`Pair`], [`Client`]), in
//! the manner of quinn-proto's two-peer test pair. Timers fire exactly
//! when the test advances the clock past them, so timeouts are checked at
//! their deadline and just before it, with no sleeping and no race.
//!
//! The harness uses only the public API (`SocketIo::builder().runtime`,
//! `SocketIo::accept`, `Conn`), as an embedder on another runtime would.
#![allow(dead_code, unused_imports)]

pub mod pair;
pub mod runtime;

pub use pair::{Client, Pair, Peer, Sent};
pub use runtime::ManualRuntime;
