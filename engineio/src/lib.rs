//! Engine.IO v4 server.
//!
//! The protocol core ([`packet`], [`payload`], [`session`]) is pure: no
//! runtime, no clock reads, no I/O. The `tokio` feature (default) adds the
//! driver and the HTTP long-polling and WebSocket transports on hyper 1.x
//! (WebSocket frames by [`wsframe`], our own codec: it keeps no buffer for
//! idle connections and writes queued frames together).
//!
//! ```no_run
//! use engineio::{bytes::Bytes, Engine, EngineConfig, Handler, Socket, Str};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_message(&self, socket: &Socket, text: Str) {
//!         let _ = socket.send_text(text);
//!     }
//!     fn on_binary(&self, socket: &Socket, data: Bytes) {
//!         let _ = socket.send_binary(data);
//!     }
//! }
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let engine = Engine::new(EngineConfig::default().path("/engine.io/".into()), Echo);
//! engine.serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?).await
//! # }
//! ```
//!
//! `Engine::serve` answers a connection whose first request opens a
//! WebSocket session itself ([`http1`] parses the head), and the
//! connection's task then drives that session; every other connection is
//! hyper's.
//!
//! To mount the engine in another hyper or axum app (feature `tokio`),
//! route the engine path to `Engine::handle`; to serve a connection you
//! accepted yourself, use `Engine::serve_connection`; in a tower stack (an axum `Router`), use
//! the layer or the service of the `tower` module (feature
//! `tower`). Sessions are driven by a pure
//! [`Session`] that you can also drive from another runtime.
//!
//! A driver for another runtime (the `socketio-smol` crate is one) shares
//! the runtime-free parts the tokio driver is built on: [`routing`] (what
//! to answer from a request alone: routes, error codes and bodies, CORS,
//! cookie, WebSocket handshake checks), [`wsbuf`] (a server WebSocket's
//! framing and buffers, without the stream), [`handle`] (a socket handle's
//! state and the [`mailbox`] to its session's task), [`Outgoing`] and
//! [`Handshake`], and [`http1`] (request heads and answers, without hyper).
//! What it brings itself: accepting connections and HTTP/1.1 I/O,
//! one task per session owning its [`Session`], and one timer per session
//! re-armed at [`Session::poll_timeout`].
//!
//! The application's request [`Hooks`] (refuse a handshake, add response
//! headers, keep each message's request headers) are runtime-free too:
//! `EngineBuilder::hooks` (feature `tokio`) installs them; another driver runs them
//! itself (through [`Hooks::check`] and [`Hooks::response_headers`]).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod deflate;
pub mod drive;
pub mod eio3;
pub mod error;
pub mod handle;
mod handshake;
pub mod hooks;
pub mod http1;
pub mod jsonp;
pub mod mailbox;
mod outgoing;
pub mod packet;
pub mod payload;
pub mod query;
pub mod routing;
pub mod session;
mod sid;
mod str;
pub mod wsbuf;
pub mod wsframe;

pub use config::{
    Cookie, Cors, CorsOrigins, EngineConfig, PerMessageDeflate, SlowClientPolicy, TransportKind,
    Transports,
};
pub use eio3::{Protocol, Wire};
pub use error::{CloseReason, PacketError, SendError};
pub use handshake::{detach_headers, Handshake};
pub use hooks::{BoxFuture, Hooks, Refusal, RequestHead, RequestInfo};
pub use outgoing::Outgoing;
pub use packet::{Frame, Packet, PacketType};
pub use session::{Event, PollError, Session, Transmit, UpgradeError};
pub use sid::{BuildSidHasher, Sessions, Sid, SidHasher, SidMap, SidSet};
pub use str::Str;

#[cfg(feature = "tokio")]
mod accept;
#[cfg(feature = "tokio")]
mod driver;
#[cfg(feature = "tokio")]
mod engine;
#[cfg(feature = "tokio")]
mod opening;
#[cfg(feature = "tokio")]
pub mod raw_ws;
#[cfg(feature = "tokio")]
mod registry;
#[cfg(feature = "tokio")]
mod socket;
#[cfg(feature = "tower")]
pub mod tower;
#[cfg(feature = "tokio")]
mod transport;

#[cfg(feature = "tokio")]
pub use engine::{Engine, EngineBuilder, EngineService, PeerAddr};
#[cfg(feature = "tokio")]
pub use socket::{Handler, Socket};
#[cfg(feature = "tokio")]
pub use transport::linger::{lingering, Linger, Lingering};
#[cfg(feature = "tokio")]
pub use transport::ResponseFuture;

/// Re-exported so users and tests need not depend on `bytes` directly.
pub use bytes;
/// Re-exported: the hooks' request and header types are `http`'s.
pub use http;
