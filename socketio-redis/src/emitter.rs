//! [`Emitter`]: what `@socket.io/redis-emitter` 5 does, from Rust: emit to
//! the clients of every server of a cluster (Node's or ours), make their
//! sockets join, leave or disconnect, and run their server-side listeners,
//! without being a Socket.IO server.

use bytes::Bytes;
use fred::prelude::{Client, PubsubInterface};
use socketio::packet::RESERVED_EVENTS;
use socketio::{AdapterError, BroadcastOptions, Data, EmitError, IntoRooms, Packet};

use crate::wire;

/// The uid every emitter message carries.
const UID: &str = "emitter";

/// Publishes to a cluster's Redis as `@socket.io/redis-emitter` does.
/// Cheap to clone; the selection methods return a new emitter.
#[derive(Clone)]
pub struct Emitter {
    client: Client,
    key: String,
    nsp: String,
    opts: BroadcastOptions,
}

impl Emitter {
    /// An emitter on `client` (connected) for the main namespace, with the
    /// channel prefix `key` (`socket.io` by default in the reference).
    pub fn new(client: Client, key: impl Into<String>) -> Self {
        Emitter {
            client,
            key: key.into(),
            nsp: "/".into(),
            opts: BroadcastOptions::default(),
        }
    }

    /// The same for namespace `nsp` (a leading `/` is added if missing).
    pub fn of(&self, nsp: &str) -> Self {
        let mut e = self.clone();
        e.nsp = match nsp.starts_with('/') {
            true => nsp.to_owned(),
            false => format!("/{nsp}"),
        };
        e
    }

    /// Adds rooms to reach.
    pub fn to(&self, rooms: impl IntoRooms) -> Self {
        let mut e = self.clone();
        e.opts = e.opts.to(rooms);
        e
    }

    /// Adds rooms to leave out.
    pub fn except(&self, rooms: impl IntoRooms) -> Self {
        let mut e = self.clone();
        e.opts = e.opts.except(rooms);
        e
    }

    /// Recipients whose buffer is full miss the event.
    pub fn volatile(&self) -> Self {
        let mut e = self.clone();
        e.opts.volatile = true;
        e
    }

    /// Emits `event` to the selected clients of every server.
    pub async fn emit(&self, event: &str, data: impl Into<Data>) -> Result<(), EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved);
        }
        let (payload, bins) = data.into().into_event(event);
        let packet = Packet::event(self.nsp.as_str(), payload, None, bins);
        let channel = match self.opts.rooms.as_slice() {
            [room] => format!("{}#{}#{}#", self.key, self.nsp, room),
            _ => format!("{}#{}#", self.key, self.nsp),
        };
        let bytes = wire::encode_broadcast(UID, &packet, &self.opts);
        self.publish(channel, bytes)
            .await
            .map_err(|_| EmitError::Adapter)
    }

    /// Makes the selected sockets join `rooms`.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        let rooms = rooms.into_rooms();
        self.request(wire::rooms_request(None, true, &self.opts, &rooms))
            .await
    }

    /// Makes the selected sockets leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        let rooms = rooms.into_rooms();
        self.request(wire::rooms_request(None, false, &self.opts, &rooms))
            .await
    }

    /// Disconnects the selected sockets (their connections too if `close`).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        self.request(wire::disconnect_request(None, &self.opts, close))
            .await
    }

    /// Runs the servers' server-side listeners of `event`.
    pub async fn server_side_emit(
        &self,
        event: &str,
        data: impl Into<Data>,
    ) -> Result<(), AdapterError> {
        let data = data.into();
        let payload = wire::server_side_request(UID, None, event, data.args(), data.attachments());
        self.request(payload).await
    }

    async fn request(&self, payload: Vec<u8>) -> Result<(), AdapterError> {
        let channel = format!("{}-request#{}#", self.key, self.nsp);
        self.publish(channel, payload).await
    }

    async fn publish(&self, channel: String, bytes: Vec<u8>) -> Result<(), AdapterError> {
        let r: Result<i64, _> = self.client.publish(channel, Bytes::from(bytes)).await;
        r.map(|_| ())
            .map_err(|e| AdapterError::Remote(e.to_string()))
    }
}
