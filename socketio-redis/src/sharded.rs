//! [`ShardedAdapter`]: the sharded adapter of `@socket.io/redis-adapter` 8.3
//! (`createShardedAdapter`, Redis 7 sharded pub/sub), for one namespace.
//!
//! It speaks the `ClusterAdapter` messages of socket.io-adapter 2.5
//! (their operations are [`cluster_node`]'s; this file is the transport):
//! `{type, data, uid, nsp}`, JSON unless a message that may carry binary
//! does, then msgpack. Every message goes to the namespace's shard channel
//! `K#N#` (SPUBLISH), answers to the requester's `K#N#<uid>#`; in the
//! `dynamic` mode a broadcast to one public room goes to that room's
//! channel `K#N#R#`, which only servers with a member subscribe to. The
//! server count is `PUBSUB SHARDNUMSUB K#N#`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use engineio::Sid;
use fred::prelude::PubsubInterface;
use serde_json::Value;
use socketio::{Adapter, AdapterError, BoxFuture, BroadcastOptions, Packet, Room, WeakNamespace};

use crate::cluster::{keep_subscribing, Channel, RedisCluster, Route, Subscribing};
use crate::cluster_msg::{envelope, hex_id, ty};
use crate::cluster_node::{self, Borrowed, ClusterNode, NodeState, Responder};
use crate::config::SubscriptionMode;
use crate::stats::Stats;

struct Inner {
    cluster: Arc<RedisCluster>,
    node: NodeState,
    mode: SubscriptionMode,
    /// Room channels subscribed to (`dynamic` mode).
    room_channels: Mutex<HashSet<Room>>,
}

/// The sharded Redis adapter of one namespace.
pub struct ShardedAdapter(Arc<Inner>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ShardedAdapter {
    pub(crate) fn new(
        cluster: &Arc<RedisCluster>,
        nsp: WeakNamespace,
        mode: SubscriptionMode,
    ) -> Self {
        ShardedAdapter(Arc::new(Inner {
            cluster: cluster.clone(),
            node: NodeState::new(nsp, hex_id()),
            mode,
            room_channels: Mutex::new(HashSet::new()),
        }))
    }
}

impl Inner {
    fn main_channel(&self) -> String {
        format!("{}#{}#", self.cluster.config.key, self.node.name)
    }
    fn own_channel(&self, uid: &str) -> String {
        format!("{}#{}#{}#", self.cluster.config.key, self.node.name, uid)
    }

    fn publish(
        &self,
        channel: String,
        t: u64,
        data: Value,
        attachments: &[Bytes],
    ) -> BoxFuture<Result<(), AdapterError>> {
        let payload = envelope(t, data, &self.node.uid, &self.node.name, attachments);
        let cluster = self.cluster.clone();
        Box::pin(async move { cluster.spublish(channel, payload).await })
    }

    /// The other servers of the namespace.
    async fn others(&self) -> Result<usize, AdapterError> {
        Ok(self
            .cluster
            .numsub(&self.main_channel(), true)
            .await?
            .saturating_sub(1))
    }

    /// The channel a broadcast goes to. A socket's own room (a socket id,
    /// or a socket.io v2 client's `nsp#id`) never has a channel of its own
    /// in the `dynamic` mode: broadcasts to it take the main channel. The
    /// reference tells them by length (20 characters), which misses v2
    /// ids; any room of that length still reaches its members here, which
    /// subscribe to its channel.
    fn broadcast_channel(&self, opts: &BroadcastOptions, with_ack: bool) -> String {
        match (self.mode, opts.rooms.as_slice()) {
            (SubscriptionMode::Dynamic, [room])
                if !with_ack && socketio::parse_socket_id(room).is_none() =>
            {
                self.own_channel(room)
            }
            _ => self.main_channel(),
        }
    }

    /// Whether `room` is a socket's own room (which gets no channel).
    fn is_private(&self, room: &str, joining: Sid) -> bool {
        socketio::parse_socket_id(room)
            .is_some_and(|s| s == joining || !self.node.rooms.socket_rooms(s).is_empty())
    }

    /// `dynamic` mode: subscribes to the channels of public rooms that
    /// just got their first local member.
    fn rooms_created(&self, sid: Sid, rooms: &[Room], existed: &[bool]) {
        if self.mode != SubscriptionMode::Dynamic {
            return;
        }
        let fresh: Vec<String> = {
            let mut subscribed = lock(&self.room_channels);
            rooms
                .iter()
                .zip(existed)
                .filter(|(r, existed)| !**existed && !self.is_private(r, sid))
                .filter(|(r, _)| subscribed.insert((*r).clone()))
                .map(|(r, _)| self.own_channel(r))
                .collect()
        };
        if !fresh.is_empty() {
            let sub = self.cluster.subscriber.clone();
            tokio::spawn(async move {
                for channel in fresh {
                    let _ = sub.ssubscribe(channel).await;
                }
            });
        }
    }

    /// `dynamic` mode: unsubscribes from the channels of rooms that lost
    /// their last local member.
    fn rooms_maybe_deleted(&self, rooms: &[Room]) {
        if self.mode != SubscriptionMode::Dynamic {
            return;
        }
        let gone: Vec<String> = {
            let mut subscribed = lock(&self.room_channels);
            rooms
                .iter()
                .filter(|r| !self.node.rooms.has_room(r) && subscribed.remove(*r))
                .map(|r| self.own_channel(r))
                .collect()
        };
        if !gone.is_empty() {
            let sub = self.cluster.subscriber.clone();
            tokio::spawn(async move {
                for channel in gone {
                    let _ = sub.sunsubscribe(channel).await;
                }
            });
        }
    }

    /// Subscribes to the namespace's channel, this server's and (dynamic
    /// mode) its rooms'; one channel per SSUBSCRIBE: on a Redis Cluster they
    /// hash to different slots, which one command may not mix.
    async fn subscribe_all(&self) -> Result<(), AdapterError> {
        let mut channels = vec![self.main_channel(), self.own_channel(&self.node.uid)];
        channels.extend(
            lock(&self.room_channels)
                .iter()
                .map(|r| self.own_channel(r)),
        );
        for channel in channels {
            let r = self.cluster.subscriber.ssubscribe(channel).await;
            r.map_err(|e| AdapterError::Remote(e.to_string()))?;
        }
        Ok(())
    }
}

impl ClusterNode for Inner {
    fn state(&self) -> &NodeState {
        &self.node
    }
    fn stats(&self) -> &Stats {
        self.cluster.stats()
    }
    fn requests_timeout(&self) -> Duration {
        self.cluster.config.requests_timeout
    }
    fn publish(
        &self,
        t: u64,
        data: Value,
        attachments: &[Bytes],
    ) -> BoxFuture<Result<(), AdapterError>> {
        Inner::publish(self, self.main_channel(), t, data, attachments)
    }
    fn responder(&self, requester: &str) -> Responder {
        let (channel, uid, name, cluster) = (
            self.own_channel(requester),
            self.node.uid.clone(),
            self.node.name.clone(),
            self.cluster.clone(),
        );
        Arc::new(move |t, data, attachments| {
            let payload = envelope(t, data, &uid, &name, attachments);
            let (cluster, channel) = (cluster.clone(), channel.clone());
            Box::pin(async move { cluster.spublish(channel, payload).await })
        })
    }
    fn others(&self) -> Borrowed<'_, Result<usize, AdapterError>> {
        Box::pin(Inner::others(self))
    }
}

impl Route for Inner {
    fn subscribe(&self) -> Subscribing<'_> {
        Box::pin(self.subscribe_all())
    }

    fn handle(&self, kind: Channel<'_>, payload: &[u8]) -> bool {
        match kind {
            Channel::Broadcast(_) => cluster_node::on_envelope(self, payload),
            // Classic channels: not this adapter's.
            _ => true,
        }
    }
}

impl Adapter for ShardedAdapter {
    crate::cluster_node_operations!();

    fn init(&self) -> BoxFuture<Result<(), AdapterError>> {
        let route: Weak<dyn Route> = Arc::downgrade(&self.0) as Weak<Inner>;
        self.0.cluster.register(&self.0.node.name, route.clone());
        Box::pin(keep_subscribing(route, self.0.cluster.stats().clone()))
    }

    fn close(&self) -> BoxFuture<()> {
        let inner = self.0.clone();
        Box::pin(async move {
            let mut channels = vec![inner.main_channel(), inner.own_channel(&inner.node.uid)];
            channels.extend(
                lock(&inner.room_channels)
                    .drain()
                    .map(|r| inner.own_channel(&r)),
            );
            for channel in channels {
                let _ = inner.cluster.subscriber.sunsubscribe(channel).await;
            }
            inner.cluster.unregister(&inner.node.name);
        })
    }

    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        let existed: Vec<bool> = rooms
            .iter()
            .map(|r| self.0.node.rooms.has_room(r))
            .collect();
        self.0.node.rooms.add_all(sid, rooms);
        self.0.rooms_created(sid, rooms, &existed);
    }
    fn del(&self, sid: Sid, room: &str) {
        self.0.node.rooms.del(sid, room);
        self.0.rooms_maybe_deleted(&[room.to_owned()]);
    }
    fn del_all(&self, sid: Sid) {
        let rooms = self.0.node.rooms.socket_rooms(sid);
        self.0.node.rooms.del_all(sid);
        self.0.rooms_maybe_deleted(&rooms);
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let publish = (!opts.local).then(|| {
            let data = cluster_node::broadcast_message(&packet, &opts);
            self.0.publish(
                self.0.broadcast_channel(&opts, false),
                ty::BROADCAST,
                data,
                &packet.attachments,
            )
        });
        let local = self.0.node.rooms.broadcast(packet, opts);
        let Some(publish) = publish else { return local };
        Box::pin(async move {
            local.await?;
            publish.await
        })
    }

    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        let inner = self.0.clone();
        Box::pin(async move {
            Ok(inner
                .cluster
                .numsub(&inner.main_channel(), true)
                .await?
                .max(1))
        })
    }
}
