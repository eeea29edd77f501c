//! The broker-neutral core of the Socket.IO cluster adapters: what
//! socket.io-adapter 2.5's `ClusterAdapter` (and
//! `ClusterAdapterWithHeartbeat`) does whatever carries its messages.
//! socketio-redis (its sharded and streams adapters, and the classic one's
//! requests) and socketio-postgres build on it; it holds no Redis or
//! PostgreSQL client.
//!
//! - [`wire`]: the values messages are made of (JSON and msgpack as the
//!   Node adapters write them, packets, broadcast options);
//! - [`cluster_msg`]: the `{type, data, uid, nsp}` messages and their types;
//! - [`cluster_node`]: the operations over a [`cluster_node::ClusterNode`]
//!   (a transport: how a message reaches every node, or one requester), and
//!   the `cluster_node_operations!` macro that fills an `impl Adapter`
//!   with them;
//! - [`requests`]: the pending requests and their answers;
//! - [`remote`]: sockets of other nodes as the messages describe them;
//! - [`Stats`]: the adapters' counters.
//!
//! The requests' deadlines and background answers use tokio's timers and
//! `spawn` (no I/O): the adapters built on it run on tokio.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod cluster_msg;
pub mod cluster_node;
pub mod remote;
pub mod requests;
mod stats;
pub mod wire;

pub use stats::Stats;

/// The types `cluster_node_operations!` names, whatever the adapter's
/// crate calls its dependencies.
#[doc(hidden)]
pub mod __private {
    pub use engineio::Sid;
    pub use socketio::{
        AckResult, AdapterError, BoxFuture, BroadcastOptions, Data, Packet, Room, SocketInfo,
    };
}
