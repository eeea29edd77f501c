//! Socket.IO v5 server.
//!
//! The protocol core (codec, decoder, namespaces, rooms, acks, broadcasts,
//! adapters, recovery) depends on no runtime: it needs a [`Runtime`] to
//! spawn and sleep, and a [`Conn`] per Engine.IO connection. The `tokio`
//! feature (default) provides both, on the `engineio` crate's transports.
//! The `tower` feature adds `SocketIo::layer` and `SocketIo::service`, to
//! mount Socket.IO in a tower stack such as an axum `Router`, beside the
//! application's routes (`examples/axum.rs`). The `admin` feature adds
//! the `admin` module: the server side of the official Admin UI
//! (`@socket.io/admin-ui`), on any runtime, through the server-wide
//! [`Observer`] hooks (which cost one atomic load each while none is
//! attached).
//!
//! ```no_run
//! use socketio::{Data, SocketIo};
//! use engineio::EngineConfig;
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let io = SocketIo::new();
//! io.of("/").on_connection(|socket| async move {
//!     socket.on("chat", |socket, data: Data, ack| async move {
//!         let _ = socket.broadcast().emit("chat", data.clone());
//!         if let Some(ack) = ack {
//!             let _ = ack.send("delivered");
//!         }
//!     });
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! io.serve(listener, EngineConfig::default()).await
//! # }
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod adapter;
#[cfg(feature = "admin")]
pub mod admin;
mod client;
mod config;
mod conn;
mod data;
mod deadlines;
pub mod decoder;
mod error;
mod handshake;
mod namespace;
mod observer;
mod operators;
pub mod packet;
pub mod parser;
mod recovery;
mod runtime;
mod scope;
mod server;
mod socket;

#[cfg(feature = "tokio")]
mod io;

pub use adapter::{
    parse_socket_id, AckResult, AckStream, Adapter, AdapterFactory, BroadcastOptions,
    ClusterSession, IntoRooms, LocalAdapter, LocalNamespace, Missed, Room, SocketInfo,
    WeakNamespace,
};
pub use client::Connection;
pub use config::{RecoveryConfig, SocketIoConfig};
pub use conn::{Conn, Encoded};
pub use data::Data;
pub use decoder::Decoder;
pub use error::{AckError, AdapterError, ConnectError, DisconnectReason, EmitError, ParseError};
pub use handshake::{ConnectionInfo, Handshake};
pub use namespace::{Namespace, ParentNamespace};
pub use observer::Observer;
pub use operators::BroadcastOperator;
pub use packet::{Packet, PacketType};
pub use parser::Parser;
#[cfg(feature = "tokio")]
pub use runtime::TokioRuntime;
pub use runtime::{BoxFuture, Runtime};
pub use server::{SocketIo, SocketIoBuilder};
pub use socket::{AckSender, PacketVerdict, Socket};
