//! [`BroadcastOperator`]: `to` / `except` / `volatile` / `local` selections
//! and the operations on the sockets they select, through the adapter.
//!
//! An operator holds its namespace's [`Scope`], not the namespace: it never
//! reaches the namespace's sockets except through the adapter.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::adapter::{AckResult, BroadcastOptions, IntoRooms, SocketInfo};
use crate::data::Data;
use crate::error::{AdapterError, EmitError};
use crate::packet::Packet;
use crate::scope::Scope;

/// A selection of sockets in one namespace.
#[derive(Clone)]
pub struct BroadcastOperator {
    scope: Arc<Scope>,
    opts: BroadcastOptions,
}

impl fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("nsp", &self.scope.name())
            .field("opts", &self.opts)
            .finish()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(scope: Arc<Scope>) -> Self {
        BroadcastOperator {
            scope,
            opts: BroadcastOptions::default(),
        }
    }

    /// Adds rooms to reach (union with earlier ones).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.rooms.extend(rooms.into_rooms());
        self
    }

    /// Same as [`BroadcastOperator::to`].
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Adds rooms (or socket ids) to leave out.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.except.extend(rooms.into_rooms());
        self
    }

    /// Recipients whose send buffer is full miss the packet.
    pub fn volatile(mut self) -> Self {
        self.opts.volatile = true;
        self
    }

    /// Only this node of a cluster.
    pub fn local(mut self) -> Self {
        self.opts.local = true;
        self
    }

    /// Whether the transport may compress the packet (default true): with
    /// false, a polling response holding only such packets is sent
    /// uncompressed, and with permessage-deflate on
    /// (`EngineConfig::per_message_deflate`, off by default) its WebSocket
    /// frames go uncompressed whatever their size (without the compressed
    /// copy every recipient of a broadcast otherwise shares).
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.compress = compress;
        self
    }

    /// The options built so far.
    pub fn options(&self) -> &BroadcastOptions {
        &self.opts
    }

    /// Emits `event` to the selection. The packet is encoded once and its
    /// bytes shared by every local recipient.
    pub fn emit(self, event: &str, data: impl Into<Data>) -> Result<(), EmitError> {
        if crate::packet::RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved);
        }
        let (payload, bins) = data.into().into_event(event);
        let mut packet = Packet::event(self.scope.name(), payload, None, bins);
        // An adapter that keeps sessions appends the offsets itself.
        let recovery = self.scope.recovery();
        if let Some(recovery) = recovery.filter(|_| !self.scope.adapter().keeps_sessions()) {
            recovery.record(self.scope.runtime().now(), &mut packet, &self.opts);
        }
        let fut = self.scope.adapter().broadcast(packet, self.opts);
        self.scope.finish_or_spawn(fut)
    }

    /// Emits `event` and collects every recipient's ack within `timeout`.
    pub async fn emit_with_ack(
        self,
        event: &str,
        data: impl Into<Data>,
        timeout: Duration,
    ) -> Result<Vec<AckResult>, AdapterError> {
        // The same check as `emit`: a reserved name never leaves.
        if crate::packet::RESERVED_EVENTS.contains(&event) {
            return Err(AdapterError::Emit(EmitError::Reserved));
        }
        let (payload, bins) = data.into().into_event(event);
        let packet = Packet::event(self.scope.name(), payload, None, bins);
        self.scope
            .adapter()
            .broadcast_with_ack(packet, self.opts, timeout)
            .await
    }

    /// Describes the selected sockets.
    pub async fn fetch_sockets(self) -> Result<Vec<SocketInfo>, AdapterError> {
        self.scope.adapter().fetch_sockets(self.opts).await
    }

    /// Makes the selected sockets join `rooms`.
    pub async fn sockets_join(self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.scope
            .adapter()
            .add_sockets(self.opts, rooms.into_rooms())
            .await
    }

    /// Makes the selected sockets leave `rooms`.
    pub async fn sockets_leave(self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.scope
            .adapter()
            .del_sockets(self.opts, rooms.into_rooms())
            .await
    }

    /// Disconnects the selected sockets (their whole connection if `close`).
    pub async fn disconnect_sockets(self, close: bool) -> Result<(), AdapterError> {
        self.scope
            .adapter()
            .disconnect_sockets(self.opts, close)
            .await
    }
}
