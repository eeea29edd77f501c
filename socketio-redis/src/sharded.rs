//! [`ShardedAdapter`]: the sharded adapter of `@socket.io/redis-adapter` 8.3
//! (`createShardedAdapter`, Redis 7 sharded pub/sub), for one namespace.
//!
//! It speaks the `ClusterAdapter` messages of socket.io-adapter 2.5:
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
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use socketio::{
    AckResult, Adapter, AdapterError, BoxFuture, BroadcastOptions, Data, LocalAdapter, Packet,
    Room, SocketInfo, WeakNamespace,
};

use crate::cluster::{keep_subscribing, local_then, Channel, RedisCluster, Route, Subscribing};
use crate::config::SubscriptionMode;
use crate::remote::{remote_socket, socket_value};
use crate::requests::Requests;
use crate::wire::{self, Decoded};

/// `MessageType` of the reference's `ClusterAdapter`.
mod ty {
    pub const BROADCAST: u64 = 3;
    pub const SOCKETS_JOIN: u64 = 4;
    pub const SOCKETS_LEAVE: u64 = 5;
    pub const DISCONNECT_SOCKETS: u64 = 6;
    pub const FETCH_SOCKETS: u64 = 7;
    pub const FETCH_SOCKETS_RESPONSE: u64 = 8;
    pub const SERVER_SIDE_EMIT: u64 = 9;
    pub const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    pub const BROADCAST_CLIENT_COUNT: u64 = 11;
    pub const BROADCAST_ACK: u64 = 12;
}

/// Whether a message of type `t` is sent as msgpack when it holds binary.
fn may_carry_binary(t: u64) -> bool {
    matches!(
        t,
        ty::BROADCAST
            | ty::BROADCAST_ACK
            | ty::FETCH_SOCKETS_RESPONSE
            | ty::SERVER_SIDE_EMIT
            | ty::SERVER_SIDE_EMIT_RESPONSE
    )
}

/// `{type, data, uid, nsp}` as the reference encodes it: msgpack when a
/// type that may carry binary does, JSON otherwise.
fn envelope(t: u64, data: Value, uid: &str, nsp: &str, attachments: &[Bytes]) -> Vec<u8> {
    let v = json!({ "type": t, "data": data, "uid": uid, "nsp": nsp });
    match may_carry_binary(t) && !attachments.is_empty() {
        true => wire::encode_mp(&v, attachments),
        false => serde_json::to_vec(&v).unwrap_or_default(),
    }
}

/// A socket id is 20 characters: the reference never gives such a room a
/// channel of its own in the `dynamic` mode.
const SOCKET_ID_LEN: usize = 20;

struct Inner {
    cluster: Arc<RedisCluster>,
    nsp: WeakNamespace,
    name: String,
    uid: String,
    mode: SubscriptionMode,
    rooms: LocalAdapter,
    requests: Requests,
    /// Room channels subscribed to (`dynamic` mode).
    room_channels: Mutex<HashSet<Room>>,
}

/// The sharded Redis adapter of one namespace.
pub struct ShardedAdapter(Arc<Inner>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// 16 lowercase hex digits, as the reference's `randomBytes(8)`.
fn hex_id() -> String {
    let n: u64 = rand::random();
    format!("{n:016x}")
}

impl ShardedAdapter {
    pub(crate) fn new(
        cluster: &Arc<RedisCluster>,
        nsp: WeakNamespace,
        mode: SubscriptionMode,
    ) -> Self {
        ShardedAdapter(Arc::new(Inner {
            cluster: cluster.clone(),
            rooms: LocalAdapter::new(nsp.clone()),
            name: nsp.name().to_owned(),
            nsp,
            uid: hex_id(),
            mode,
            requests: Requests::default(),
            room_channels: Mutex::new(HashSet::new()),
        }))
    }
}

impl Inner {
    fn main_channel(&self) -> String {
        format!("{}#{}#", self.cluster.config.key, self.name)
    }
    fn own_channel(&self, uid: &str) -> String {
        format!("{}#{}#{}#", self.cluster.config.key, self.name, uid)
    }

    fn publish(
        &self,
        channel: String,
        t: u64,
        data: Value,
        attachments: &[Bytes],
    ) -> BoxFuture<Result<(), AdapterError>> {
        let payload = envelope(t, data, &self.uid, &self.name, attachments);
        let cluster = self.cluster.clone();
        Box::pin(async move { cluster.spublish(channel, payload).await })
    }

    fn on_message(&self, payload: &[u8]) -> bool {
        let Ok(Decoded { value, attachments }) = wire::decode(payload) else {
            return false;
        };
        let (Some(t), Some(uid)) = (
            value.get("type").and_then(Value::as_u64),
            value.get("uid").and_then(Value::as_str),
        ) else {
            return false;
        };
        if uid == self.uid || value.get("nsp").and_then(Value::as_str) != Some(&self.name) {
            return true;
        }
        let data = value.get("data").cloned().unwrap_or(Value::Null);
        if matches!(
            t,
            ty::FETCH_SOCKETS_RESPONSE
                | ty::SERVER_SIDE_EMIT_RESPONSE
                | ty::BROADCAST_CLIENT_COUNT
                | ty::BROADCAST_ACK
        ) {
            // An answer: the envelope's type and sender, with its data.
            let mut answer = match data {
                Value::Object(m) => m,
                _ => return false,
            };
            answer.insert("type".into(), json!(t));
            answer.insert("uid".into(), json!(uid));
            let d = Decoded {
                value: Value::Object(answer),
                attachments,
            };
            return self.requests.answer(d);
        }
        self.apply(t, uid, &data, attachments).is_some()
    }

    /// Applies a peer's operation here; `None` when it is malformed.
    fn apply(&self, t: u64, uid: &str, data: &Value, attachments: Vec<Bytes>) -> Option<()> {
        let Some(nsp) = self.nsp.upgrade() else {
            return Some(());
        };
        let opts = wire::opts_from(data.get("opts")).ok()?;
        let request_id = data.get("requestId").and_then(Value::as_str);
        match t {
            ty::BROADCAST => {
                let packet =
                    wire::packet_from(data.get("packet")?, &attachments, &self.name).ok()?;
                match request_id {
                    None => {
                        let mut opts = opts;
                        opts.origin = Some(uid.to_owned());
                        nsp.deliver(&packet, &self.rooms.local_sockets(&opts), &opts);
                    }
                    Some(id) => self.answer_broadcast(uid, id, packet, opts),
                }
            }
            ty::SOCKETS_JOIN | ty::SOCKETS_LEAVE => {
                let rooms = wire::strings(data.get("rooms")).ok()?;
                let sids = self.rooms.local_sockets(&opts);
                match t {
                    ty::SOCKETS_JOIN => nsp.join(&sids, &rooms),
                    _ => nsp.leave(&sids, &rooms),
                }
            }
            ty::DISCONNECT_SOCKETS => {
                let close = data.get("close").and_then(Value::as_bool) == Some(true);
                nsp.disconnect(&self.rooms.local_sockets(&opts), close);
            }
            ty::FETCH_SOCKETS => {
                let sockets: Vec<Value> = nsp
                    .fetch(&self.rooms.local_sockets(&opts))
                    .iter()
                    .map(socket_value)
                    .collect();
                let answer = json!({ "requestId": request_id?, "sockets": sockets });
                self.answer(uid, ty::FETCH_SOCKETS_RESPONSE, answer, &[]);
            }
            ty::SERVER_SIDE_EMIT => {
                let Value::Array(args) = data.get("packet")? else {
                    return None;
                };
                let (Value::String(event), args) = args.split_first()? else {
                    return None;
                };
                let data = Data::from_parts(args.to_vec(), attachments);
                match request_id {
                    None => nsp.server_side_emit(event, &data),
                    Some(id) => {
                        if let Some(answer) = nsp.server_side_emit_with_ack(event, &data) {
                            let first = answer.args().first().cloned().unwrap_or(Value::Null);
                            let body = json!({ "requestId": id, "packet": first });
                            let atts = answer.attachments();
                            self.answer(uid, ty::SERVER_SIDE_EMIT_RESPONSE, body, atts);
                        }
                    }
                }
            }
            // Heartbeats and the like of other ClusterAdapter kinds.
            _ => {}
        }
        Some(())
    }

    fn answer(&self, requester: &str, t: u64, data: Value, attachments: &[Bytes]) {
        let send = self.publish(self.own_channel(requester), t, data, attachments);
        tokio::spawn(send);
    }

    /// A peer's broadcast with acks: its clients here, their count, then
    /// each ack as it comes (bounded by the peer's ack timeout).
    fn answer_broadcast(&self, requester: &str, id: &str, packet: Packet, opts: BroadcastOptions) {
        let Some(nsp) = self.nsp.upgrade() else {
            return;
        };
        let timeout = opts.timeout.unwrap_or(self.cluster.config.requests_timeout);
        let (count, mut answers) =
            nsp.deliver_with_ack(packet, &self.rooms.local_sockets(&opts), timeout);
        let channel = self.own_channel(requester);
        let (id, uid, name, cluster) = (
            id.to_owned(),
            self.uid.clone(),
            self.name.clone(),
            self.cluster.clone(),
        );
        let envelope = move |t: u64, data: Value, attachments: &[Bytes]| {
            envelope(t, data, &uid, &name, attachments)
        };
        tokio::spawn(async move {
            let counted = envelope(
                ty::BROADCAST_CLIENT_COUNT,
                json!({ "requestId": id, "clientCount": count }),
                &[],
            );
            let _ = cluster.spublish(channel.clone(), counted).await;
            while let Some(answer) = answers.next().await {
                let Ok(data) = answer else { continue };
                let first = data.args().first().cloned().unwrap_or(Value::Null);
                let ack = envelope(
                    ty::BROADCAST_ACK,
                    json!({ "requestId": id, "packet": first }),
                    data.attachments(),
                );
                let _ = cluster.spublish(channel.clone(), ack).await;
            }
        });
    }

    /// The other servers of the namespace.
    async fn others(&self) -> Result<usize, AdapterError> {
        Ok(self
            .cluster
            .numsub(&self.main_channel(), true)
            .await?
            .saturating_sub(1))
    }

    /// The channel a broadcast goes to.
    fn broadcast_channel(&self, opts: &BroadcastOptions, with_ack: bool) -> String {
        match (self.mode, opts.rooms.as_slice()) {
            (SubscriptionMode::Dynamic, [room]) if !with_ack && room.len() != SOCKET_ID_LEN => {
                self.own_channel(room)
            }
            _ => self.main_channel(),
        }
    }

    /// Whether `room` is a socket's own room (which gets no channel).
    fn is_private(&self, room: &str, joining: Sid) -> bool {
        room == joining.as_str()
            || Sid::parse(room).is_some_and(|s| !self.rooms.socket_rooms(s).is_empty())
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
                .filter(|r| !self.rooms.has_room(r) && subscribed.remove(*r))
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

    async fn fetch(
        self: Arc<Self>,
        opts: BroadcastOptions,
    ) -> Result<Vec<SocketInfo>, AdapterError> {
        let nsp = self.nsp.upgrade().ok_or(AdapterError::NamespaceGone)?;
        let mut infos = nsp.fetch(&self.rooms.local_sockets(&opts));
        if opts.local {
            return Ok(infos);
        }
        let expected = self.others().await?;
        if expected == 0 {
            return Ok(infos);
        }
        let mut req = self.requests.start(hex_id(), expected);
        let data = json!({ "opts": wire::opts_value(&opts, true), "requestId": req.id });
        self.publish(self.main_channel(), ty::FETCH_SOCKETS, data, &[])
            .await?;
        let deadline = tokio::time::Instant::now() + self.cluster.config.requests_timeout;
        for a in req
            .gather("fetch_sockets", expected, deadline, self.cluster.stats())
            .await?
        {
            let server = a
                .value
                .get("uid")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let Some(Value::Array(sockets)) = a.value.get("sockets") else {
                continue;
            };
            infos.extend(
                sockets
                    .iter()
                    .filter_map(|s| remote_socket(s, &self.name))
                    .map(|mut s| {
                        s.server = server.clone();
                        s
                    }),
            );
        }
        Ok(infos)
    }

    async fn broadcast_with_ack(
        self: Arc<Self>,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> Result<Vec<AckResult>, AdapterError> {
        let nsp = self.nsp.upgrade().ok_or(AdapterError::NamespaceGone)?;
        let (_, local) =
            nsp.deliver_with_ack(packet.clone(), &self.rooms.local_sockets(&opts), timeout);
        let local = local.collect::<Vec<AckResult>>();
        if opts.local {
            return Ok(local.await);
        }
        let expected = self.others().await?;
        let mut req = self.requests.start(hex_id(), 1024);
        let mut request_opts = opts.clone();
        request_opts.timeout = Some(timeout);
        let data = json!({
            "packet": { "type": 2, "data": packet.data.clone().unwrap_or_else(|| json!([])) },
            "requestId": req.id,
            "opts": wire::opts_value(&request_opts, true),
        });
        let channel = self.broadcast_channel(&opts, true);
        self.publish(channel, ty::BROADCAST, data, &packet.attachments)
            .await?;
        let deadline = tokio::time::Instant::now() + timeout;
        let remote = req.acks(
            expected,
            deadline,
            (ty::BROADCAST_CLIENT_COUNT, ty::BROADCAST_ACK),
        );
        let (mut remote, local) = futures_util::join!(remote, local);
        remote.extend(local);
        Ok(remote)
    }

    async fn server_side_emit_with_ack(
        self: Arc<Self>,
        event: String,
        data: Data,
    ) -> Result<Vec<Data>, AdapterError> {
        let expected = self.others().await?;
        if expected == 0 {
            return Ok(Vec::new());
        }
        let mut req = self.requests.start(hex_id(), expected);
        let mut packet = vec![Value::String(event)];
        packet.extend(data.args().iter().cloned());
        let body = json!({ "requestId": req.id, "packet": packet });
        self.publish(
            self.main_channel(),
            ty::SERVER_SIDE_EMIT,
            body,
            data.attachments(),
        )
        .await?;
        let deadline = tokio::time::Instant::now() + self.cluster.config.requests_timeout;
        let answers = req
            .gather("server_side_emit", expected, deadline, self.cluster.stats())
            .await?;
        Ok(answers
            .into_iter()
            .map(|a| {
                let arg = a.value.get("packet").cloned().unwrap_or(Value::Null);
                Data::from_parts(vec![arg], a.attachments)
            })
            .collect())
    }

    /// Subscribes to the namespace's channel, this server's and (dynamic
    /// mode) its rooms'; one channel per SSUBSCRIBE: on a Redis Cluster they
    /// hash to different slots, which one command may not mix.
    async fn subscribe_all(&self) -> Result<(), AdapterError> {
        let mut channels = vec![self.main_channel(), self.own_channel(&self.uid)];
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

    /// A join, leave or disconnect: here at once, then published.
    fn tell(
        &self,
        t: u64,
        opts: &BroadcastOptions,
        extra: (&str, Value),
    ) -> BoxFuture<Result<(), AdapterError>> {
        let mut data = Map::new();
        data.insert("opts".into(), wire::opts_value(opts, true));
        data.insert(extra.0.into(), extra.1);
        self.publish(self.main_channel(), t, Value::Object(data), &[])
    }
}

impl Route for Inner {
    fn subscribe(&self) -> Subscribing<'_> {
        Box::pin(self.subscribe_all())
    }

    fn handle(&self, kind: Channel<'_>, payload: &[u8]) -> bool {
        match kind {
            Channel::Broadcast(_) => self.on_message(payload),
            // Classic channels: not this adapter's.
            _ => true,
        }
    }
}

impl Adapter for ShardedAdapter {
    fn init(&self) -> BoxFuture<Result<(), AdapterError>> {
        let route: Weak<dyn Route> = Arc::downgrade(&self.0) as Weak<Inner>;
        self.0.cluster.register(&self.0.name, route.clone());
        Box::pin(keep_subscribing(route, self.0.cluster.stats().clone()))
    }

    fn close(&self) -> BoxFuture<()> {
        let inner = self.0.clone();
        Box::pin(async move {
            let mut channels = vec![inner.main_channel(), inner.own_channel(&inner.uid)];
            channels.extend(
                lock(&inner.room_channels)
                    .drain()
                    .map(|r| inner.own_channel(&r)),
            );
            for channel in channels {
                let _ = inner.cluster.subscriber.sunsubscribe(channel).await;
            }
            inner.cluster.unregister(&inner.name);
        })
    }

    fn server_id(&self) -> Option<&str> {
        Some(&self.0.uid)
    }

    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        let existed: Vec<bool> = rooms.iter().map(|r| self.0.rooms.has_room(r)).collect();
        self.0.rooms.add_all(sid, rooms);
        self.0.rooms_created(sid, rooms, &existed);
    }
    fn del(&self, sid: Sid, room: &str) {
        self.0.rooms.del(sid, room);
        self.0.rooms_maybe_deleted(&[room.to_owned()]);
    }
    fn del_all(&self, sid: Sid) {
        let rooms = self.0.rooms.socket_rooms(sid);
        self.0.rooms.del_all(sid);
        self.0.rooms_maybe_deleted(&rooms);
    }
    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.0.rooms.socket_rooms(sid)
    }
    fn rooms(&self) -> Vec<Room> {
        self.0.rooms.rooms()
    }
    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        self.0.rooms.local_sockets(opts)
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let publish = (!opts.local).then(|| {
            // The reference encodes the packet before its namespace is set.
            let data = json!({
                "packet": { "type": 2, "data": packet.data.clone().unwrap_or_else(|| json!([])) },
                "opts": wire::opts_value(&opts, true),
            });
            self.0.publish(
                self.0.broadcast_channel(&opts, false),
                ty::BROADCAST,
                data,
                &packet.attachments,
            )
        });
        let local = self.0.rooms.broadcast(packet, opts);
        let Some(publish) = publish else { return local };
        Box::pin(async move {
            local.await?;
            publish.await
        })
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Result<Vec<AckResult>, AdapterError>> {
        Box::pin(self.0.clone().broadcast_with_ack(packet, opts, timeout))
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let tell = (!opts.local).then(|| {
            self.0
                .tell(ty::SOCKETS_JOIN, &opts, ("rooms", json!(rooms)))
        });
        let local = self.0.rooms.add_sockets(opts, rooms);
        local_then(local, tell)
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let tell = (!opts.local).then(|| {
            self.0
                .tell(ty::SOCKETS_LEAVE, &opts, ("rooms", json!(rooms)))
        });
        let local = self.0.rooms.del_sockets(opts, rooms);
        local_then(local, tell)
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let tell = (!opts.local).then(|| {
            self.0
                .tell(ty::DISCONNECT_SOCKETS, &opts, ("close", json!(close)))
        });
        let local = self.0.rooms.disconnect_sockets(opts, close);
        local_then(local, tell)
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>> {
        Box::pin(self.0.clone().fetch(opts))
    }

    fn server_side_emit(&self, event: String, data: Data) -> BoxFuture<Result<(), AdapterError>> {
        let mut args = vec![Value::String(event)];
        args.extend(data.args().iter().cloned());
        let body = json!({ "packet": args });
        self.0.publish(
            self.0.main_channel(),
            ty::SERVER_SIDE_EMIT,
            body,
            data.attachments(),
        )
    }

    fn server_side_emit_with_ack(
        &self,
        event: String,
        data: Data,
    ) -> BoxFuture<Result<Vec<Data>, AdapterError>> {
        Box::pin(self.0.clone().server_side_emit_with_ack(event, data))
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
