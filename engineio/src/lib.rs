//! Engine.IO v4 server.
//!
//! The protocol core ([`packet`], [`payload`], [`session`]) is pure: no
//! runtime, no clock reads, no I/O. The `tokio` feature (default) adds the
//! driver and the HTTP long-polling and WebSocket transports on hyper 1.x and
//! tokio-tungstenite.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
pub mod packet;
pub mod payload;
pub mod session;
mod sid;
mod str;

pub use config::{
    Cookie, Cors, CorsOrigins, EngineConfig, SlowClientPolicy, TransportKind, Transports,
};
pub use error::{CloseReason, PacketError, SendError};
pub use packet::{Frame, Packet, PacketType};
pub use session::{Event, PollError, Session, Transmit, UpgradeError};
pub use sid::Sid;
pub use str::Str;

#[cfg(feature = "tokio")]
mod driver;
#[cfg(feature = "tokio")]
mod engine;
#[cfg(feature = "tokio")]
mod socket;
#[cfg(feature = "tokio")]
mod transport;

#[cfg(feature = "tokio")]
pub use engine::{BoxFuture, Engine, EngineBuilder, EngineService, PeerAddr, Refusal, RequestInfo};
#[cfg(feature = "tokio")]
pub use socket::{Handler, Handshake, Socket};

/// Re-exported so users and tests need not depend on `bytes` directly.
pub use bytes;
