//! [`BroadcastOperator`]: `to` / `except` / `volatile` / `local` selections
//! and the operations on the sockets they select, through the adapter.

use std::time::Duration;

use futures_util::FutureExt;

use crate::adapter::{AckResult, AdapterError, BroadcastOptions, SocketInfo};
use crate::data::Data;
use crate::namespace::Namespace;
use crate::packet::Packet;
use crate::socket::{EmitError, IntoRooms};

/// A selection of sockets in one namespace.
#[derive(Clone, Debug)]
pub struct BroadcastOperator {
    nsp: Namespace,
    opts: BroadcastOptions,
}

impl BroadcastOperator {
    pub(crate) fn new(nsp: Namespace) -> Self {
        BroadcastOperator {
            nsp,
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
    /// uncompressed. WebSocket frames are never compressed (no
    /// permessage-deflate).
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
        let mut packet = Packet::event(self.nsp.name(), payload, None, bins);
        if let Some(server) = self.nsp.server() {
            server.record_broadcast(&self.nsp, &mut packet, &self.opts);
        }
        let mut fut = self.nsp.adapter().broadcast(packet, self.opts);
        // The local adapter finishes at once; a distributed one goes on in the background.
        match (&mut fut).now_or_never() {
            Some(r) => r.map_err(|_| EmitError::Adapter),
            None => {
                self.nsp.runtime().spawn(Box::pin(async move {
                    let _ = fut.await;
                }));
                Ok(())
            }
        }
    }

    /// Emits `event` and collects every recipient's ack within `timeout`.
    pub async fn emit_with_ack(
        self,
        event: &str,
        data: impl Into<Data>,
        timeout: Duration,
    ) -> Result<Vec<AckResult>, AdapterError> {
        let (payload, bins) = data.into().into_event(event);
        let packet = Packet::event(self.nsp.name(), payload, None, bins);
        self.nsp
            .adapter()
            .broadcast_with_ack(packet, self.opts, timeout)
            .await
    }

    /// Describes the selected sockets.
    pub async fn fetch_sockets(self) -> Result<Vec<SocketInfo>, AdapterError> {
        self.nsp.adapter().fetch_sockets(self.opts).await
    }

    /// Makes the selected sockets join `rooms`.
    pub async fn sockets_join(self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.nsp
            .adapter()
            .add_sockets(self.opts, rooms.into_rooms())
            .await
    }

    /// Makes the selected sockets leave `rooms`.
    pub async fn sockets_leave(self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.nsp
            .adapter()
            .del_sockets(self.opts, rooms.into_rooms())
            .await
    }

    /// Disconnects the selected sockets (their whole connection if `close`).
    pub async fn disconnect_sockets(self, close: bool) -> Result<(), AdapterError> {
        self.nsp
            .adapter()
            .disconnect_sockets(self.opts, close)
            .await
    }
}
