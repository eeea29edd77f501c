//! [`StreamsAdapter`]: the adapter of `@socket.io/redis-streams-adapter` 0.3
//! for one namespace.
//!
//! It speaks socket.io-adapter 2.5's `ClusterAdapter` messages (their
//! operations are [`cluster_node`]'s; this file is the transport).
//! Broadcasts without acks, joins, leaves and disconnects are entries of
//! one stream (XADD `MAXLEN ~`), read by every server from the last id it
//! read ([`crate::stream_reader`]); the other messages (requests:
//! broadcasts with acks, fetches, server-side emits) go as msgpack over
//! PUBLISH to `K#N#`, answers to the requester's `K#N#<uid>#` (SPUBLISH
//! with `sharded_pub_sub`). The server count is `PUBSUB NUMSUB K#N#`
//! (`SHARDNUMSUB`). With `stream_count` above 1, each namespace has its
//! own stream of several ([`crate::stream_wire::stream_for`]).
//!
//! With connection state recovery on, each broadcast event carries its
//! stream id as its offset, and sessions are kept in Redis
//! ([`crate::stream_session`]), so that a client recovers on any server.
//!
//! Entries go out in the order they were made (one pipeline per
//! namespace, bounded by `command_buffer`); a broadcast reaches the local
//! sockets once its entry has its id when recovery is on (its offset), at
//! once otherwise.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use engineio::Sid;
use futures_util::stream::FuturesOrdered;
use futures_util::StreamExt;
use serde_json::Value;
use socketio::{
    Adapter, AdapterError, BoxFuture, BroadcastOptions, ClusterSession, Missed, Packet, PacketType,
    Room, WeakNamespace,
};
use tokio::sync::{mpsc, oneshot};

use crate::cluster::{keep_subscribing, Channel, RedisCluster, Route, Subscribing};
use crate::cluster_msg::{hex_id, message, ty};
use crate::cluster_node::{self, Borrowed, ClusterNode, NodeState, Responder};
use crate::stats::Stats;
use crate::stream_wire::{encode_entry, offset_mark, parse_offset, stream_for, Entry};
use crate::wire;

/// An entry waiting for its XADD, and what to do once it has its id.
struct Outgoing {
    fields: Vec<(&'static str, Vec<u8>)>,
    /// A broadcast to deliver here once its id is known (recovery on).
    local: Option<(Packet, BroadcastOptions)>,
    done: Option<oneshot::Sender<Result<(), AdapterError>>>,
}

pub(crate) struct Inner {
    pub(crate) cluster: Arc<RedisCluster>,
    /// The namespace's stream ([`crate::stream_wire::stream_for`]).
    pub(crate) stream: String,
    pub(crate) node: NodeState,
    outbox: mpsc::Sender<Outgoing>,
}

/// The Redis Streams adapter of one namespace.
pub struct StreamsAdapter(pub(crate) Arc<Inner>);

impl StreamsAdapter {
    pub(crate) fn new(cluster: &Arc<RedisCluster>, nsp: WeakNamespace) -> Self {
        let cap = cluster.config.command_buffer.max(1);
        let (outbox, rx) = mpsc::channel(cap);
        let c = &cluster.config;
        let stream = stream_for(&c.stream_name, c.stream_count, nsp.name());
        let inner = Arc::new(Inner {
            cluster: cluster.clone(),
            stream: stream.clone(),
            node: NodeState::new(nsp, hex_id()),
            outbox,
        });
        tokio::spawn(pipeline(
            Arc::downgrade(&inner),
            cluster.clone(),
            stream,
            rx,
            cap,
        ));
        StreamsAdapter(inner)
    }
}

/// XADDs the entries in order, several in flight at once, and finishes
/// each in that order.
async fn pipeline(
    inner: Weak<Inner>,
    cluster: Arc<RedisCluster>,
    stream: String,
    mut rx: mpsc::Receiver<Outgoing>,
    cap: usize,
) {
    let mut pending = FuturesOrdered::new();
    let mut open = true;
    loop {
        tokio::select! {
            job = rx.recv(), if open && pending.len() < cap => match job {
                Some(Outgoing { fields, local, done }) => {
                    let (cluster, stream) = (cluster.clone(), stream.clone());
                    pending.push_back(async move {
                        (local, done, cluster.xadd(&stream, fields).await)
                    });
                }
                None => open = false,
            },
            Some((local, done, id)) = pending.next(), if !pending.is_empty() => {
                finish(&inner, local, done, id)
            }
            else => return,
        }
    }
}

/// Delivers a broadcast here with its offset (or without one when its XADD
/// failed, as the reference does), and reports the XADD's result.
fn finish(
    inner: &Weak<Inner>,
    local: Option<(Packet, BroadcastOptions)>,
    done: Option<oneshot::Sender<Result<(), AdapterError>>>,
    id: Result<String, AdapterError>,
) {
    if let (Some((packet, opts)), Some(inner)) = (local, inner.upgrade()) {
        inner.deliver(packet, opts, id.as_deref().ok());
    }
    if let Some(done) = done {
        let _ = done.send(id.map(|_| ()));
    }
}

/// Whether a broadcast of `packet` with `opts` carries a recovery offset:
/// an event without ack id, not volatile (as the reference decides).
pub(crate) fn takes_offset(packet: &Packet, opts: &BroadcastOptions) -> bool {
    matches!(packet.ty, PacketType::Event | PacketType::BinaryEvent)
        && packet.id.is_none()
        && !opts.volatile
}

/// Appends `offset` to the packet's arguments and marks it for the
/// recovering sockets' bookkeeping.
pub(crate) fn add_offset(packet: &mut Packet, offset: &str) {
    let Some(parsed) = parse_offset(offset) else {
        return;
    };
    if let Some(Value::Array(args)) = packet.data.as_mut() {
        args.push(Value::String(offset.to_owned()));
        packet.set_recovery_mark(offset_mark(parsed));
    }
}

impl Inner {
    fn public_channel(&self) -> String {
        format!("{}#{}#", self.cluster.config.key, self.node.name)
    }
    fn private_channel(&self, uid: &str) -> String {
        format!("{}#{}#{}#", self.cluster.config.key, self.node.name, uid)
    }

    fn recovery_on(&self) -> bool {
        self.node
            .nsp
            .upgrade()
            .is_some_and(|n| n.recovery().is_some())
    }

    /// Delivers a broadcast to the local sockets, with its offset when
    /// recovery is on and it takes one.
    fn deliver(&self, mut packet: Packet, opts: BroadcastOptions, offset: Option<&str>) {
        let Some(nsp) = self.node.nsp.upgrade() else {
            return;
        };
        if let (Some(offset), true) = (offset, nsp.recovery().is_some()) {
            if takes_offset(&packet, &opts) {
                add_offset(&mut packet, offset);
            }
        }
        nsp.deliver(&packet, &self.node.rooms.local_sockets(&opts), &opts);
    }

    /// Queues an entry; when the queue is full, the error and the entry
    /// back (its local part is the caller's to deliver).
    fn append(&self, out: Outgoing) -> Result<(), Box<(AdapterError, Outgoing)>> {
        self.outbox.try_send(out).map_err(|e| {
            self.cluster
                .stats()
                .errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let err = AdapterError::Remote("stream publish queue full".into());
            Box::new((err, e.into_inner()))
        })
    }

    /// PUBLISHes a message (msgpack) on `channel`.
    fn publish_on(
        &self,
        channel: String,
        t: u64,
        data: Value,
        attachments: &[Bytes],
    ) -> BoxFuture<Result<(), AdapterError>> {
        let v = message(t, data, &self.node.uid, &self.node.name);
        let payload = wire::encode_mp(&v, attachments);
        let cluster = self.cluster.clone();
        Box::pin(async move { cluster.send(channel, payload).await })
    }

    fn channels(&self) -> Vec<String> {
        vec![self.public_channel(), self.private_channel(&self.node.uid)]
    }

    /// A peer's stream entry, read at `offset`.
    fn entry(&self, offset: &str, e: Entry) -> bool {
        if e.uid == self.node.uid || e.nsp != self.node.name {
            return true;
        }
        let data = e.data.value;
        let with_ack = data.get("requestId").is_some();
        if e.t != ty::BROADCAST || with_ack {
            return cluster_node::on_message(self, e.t, &e.uid, data, e.data.attachments);
        }
        let (Some(packet), Ok(mut opts)) = (
            data.get("packet")
                .and_then(|p| wire::packet_from(p, &e.data.attachments, &self.node.name).ok()),
            wire::opts_from(data.get("opts")),
        ) else {
            return false;
        };
        opts.origin = Some(e.uid);
        self.deliver(packet, opts, Some(offset));
        true
    }
}

/// Whether a message of type `t` goes over pub/sub rather than the stream
/// (the reference's `isEphemeral`).
fn ephemeral(t: u64, data: &Value) -> bool {
    match t {
        ty::BROADCAST => data.get("requestId").is_some(),
        ty::SERVER_SIDE_EMIT | ty::FETCH_SOCKETS => true,
        _ => false,
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
        if ephemeral(t, &data) {
            return self.publish_on(self.public_channel(), t, data, attachments);
        }
        let fields = encode_entry(t, &data, &self.node.uid, &self.node.name, attachments);
        let (done, result) = oneshot::channel();
        let queued = self.append(Outgoing {
            fields,
            local: None,
            done: Some(done),
        });
        Box::pin(async move {
            queued.map_err(|b| b.0)?;
            result.await.unwrap_or(Err(AdapterError::NamespaceGone))
        })
    }
    fn responder(&self, requester: &str) -> Responder {
        let (channel, uid, name, cluster) = (
            self.private_channel(requester),
            self.node.uid.clone(),
            self.node.name.clone(),
            self.cluster.clone(),
        );
        Arc::new(move |t, data, attachments| {
            let payload = wire::encode_mp(&message(t, data, &uid, &name), attachments);
            let (cluster, channel) = (cluster.clone(), channel.clone());
            Box::pin(async move { cluster.send(channel, payload).await })
        })
    }
    fn others(&self) -> Borrowed<'_, Result<usize, AdapterError>> {
        Box::pin(async move {
            let shard = self.cluster.config.sharded_pub_sub;
            let n = self.cluster.numsub(&self.public_channel(), shard).await?;
            Ok(n.saturating_sub(1))
        })
    }
}

impl Route for Inner {
    fn subscribe(&self) -> Subscribing<'_> {
        Box::pin(async move {
            let sub = &self.cluster.subscriber;
            let r = match self.cluster.config.sharded_pub_sub {
                // One by one: the two channels may be on different shards.
                true => {
                    let mut r = Ok(());
                    for channel in self.channels() {
                        r = r.and(fred::prelude::PubsubInterface::ssubscribe(sub, channel).await);
                    }
                    r
                }
                false => fred::prelude::PubsubInterface::subscribe(sub, self.channels()).await,
            };
            r.map_err(|e| AdapterError::Remote(e.to_string()))
        })
    }

    fn handle(&self, kind: Channel<'_>, payload: &[u8]) -> bool {
        match kind {
            Channel::Broadcast(_) => cluster_node::on_envelope(self, payload),
            _ => true,
        }
    }

    fn on_entry(&self, offset: &str, entry: Entry) -> bool {
        self.entry(offset, entry)
    }
}

impl Adapter for StreamsAdapter {
    crate::cluster_node_operations!();

    fn init(&self) -> BoxFuture<Result<(), AdapterError>> {
        let route: Weak<dyn Route> = Arc::downgrade(&self.0) as Weak<Inner>;
        self.0.cluster.register(&self.0.node.name, route.clone());
        Box::pin(keep_subscribing(route, self.0.cluster.stats().clone()))
    }

    fn close(&self) -> BoxFuture<()> {
        let inner = self.0.clone();
        Box::pin(async move {
            let sub = &inner.cluster.subscriber;
            if inner.cluster.config.sharded_pub_sub {
                for channel in inner.channels() {
                    let _ = fred::prelude::PubsubInterface::sunsubscribe(sub, channel).await;
                }
            } else {
                let _ = fred::prelude::PubsubInterface::unsubscribe(sub, inner.channels()).await;
            }
            inner.cluster.unregister(&inner.node.name);
        })
    }

    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.0.node.rooms.add_all(sid, rooms);
    }
    fn del(&self, sid: Sid, room: &str) {
        self.0.node.rooms.del(sid, room);
    }
    fn del_all(&self, sid: Sid) {
        self.0.node.rooms.del_all(sid);
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let inner = &self.0;
        if opts.local {
            inner.deliver(packet, opts, None);
            return Box::pin(std::future::ready(Ok(())));
        }
        let data = cluster_node::broadcast_message(&packet, &opts);
        let fields = encode_entry(
            ty::BROADCAST,
            &data,
            &inner.node.uid,
            &inner.node.name,
            &packet.attachments,
        );
        // With recovery on, the local sockets get it with its stream id.
        let (local, now) = match inner.recovery_on() && takes_offset(&packet, &opts) {
            true => (Some((packet, opts)), None),
            false => (None, Some((packet, opts))),
        };
        let (done, result) = oneshot::channel();
        let queued = inner.append(Outgoing {
            fields,
            local,
            done: Some(done),
        });
        if let Err(b) = queued {
            let (e, out) = *b;
            // Not in the stream: the local sockets get it all the same.
            if let Some((packet, opts)) = out.local.or(now) {
                inner.deliver(packet, opts, None);
            }
            return Box::pin(std::future::ready(Err(e)));
        }
        if let Some((packet, opts)) = now {
            inner.deliver(packet, opts, None);
        }
        Box::pin(async move { result.await.unwrap_or(Err(AdapterError::NamespaceGone)) })
    }

    fn keeps_sessions(&self) -> bool {
        true
    }

    fn persist_session(&self, session: ClusterSession, ttl: Duration) {
        self.0.persist(session, ttl);
    }

    fn restore_session(
        &self,
        pid: String,
        offset: String,
    ) -> BoxFuture<Result<Option<ClusterSession>, AdapterError>> {
        let inner = self.0.clone();
        Box::pin(async move { inner.restore(pid, offset).await })
    }

    fn missed_packets(
        &self,
        offset: String,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<Missed, AdapterError>> {
        let inner = self.0.clone();
        Box::pin(async move { inner.missed(offset, rooms).await })
    }

    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        let inner = self.0.clone();
        Box::pin(async move {
            let shard = inner.cluster.config.sharded_pub_sub;
            Ok(inner
                .cluster
                .numsub(&inner.public_channel(), shard)
                .await?
                .max(1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn offsets_go_on_plain_events_only() {
        let event = Packet::event("/", json!(["m", 1]), None, Vec::new());
        let opts = BroadcastOptions::default();
        assert!(takes_offset(&event, &opts));
        let mut volatile = BroadcastOptions::default();
        volatile.volatile = true;
        assert!(!takes_offset(&event, &volatile));
        let mut acked = event.clone();
        acked.id = Some(3);
        assert!(!takes_offset(&acked, &opts));

        let mut p = event.clone();
        add_offset(&mut p, "1700000000000-2");
        assert_eq!(p.data, Some(json!(["m", 1, "1700000000000-2"])));
        // Not a stream id: left alone.
        let mut p = event;
        add_offset(&mut p, "nope");
        assert_eq!(p.data, Some(json!(["m", 1])));
    }

    #[test]
    fn requests_go_over_pub_sub_the_rest_into_the_stream() {
        assert!(ephemeral(ty::BROADCAST, &json!({"requestId": "r"})));
        assert!(!ephemeral(ty::BROADCAST, &json!({"packet": {}})));
        assert!(ephemeral(ty::FETCH_SOCKETS, &json!({})));
        assert!(ephemeral(ty::SERVER_SIDE_EMIT, &json!({})));
        for t in [ty::SOCKETS_JOIN, ty::SOCKETS_LEAVE, ty::DISCONNECT_SOCKETS] {
            assert!(!ephemeral(t, &json!({})));
        }
    }
}
