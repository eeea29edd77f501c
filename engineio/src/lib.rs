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
