//! [`RedisAdapter`]: the classic pub/sub adapter of `@socket.io/redis-adapter`
//! 8.3, for one namespace, over its server's [`RedisCluster`].
//!
//! Rooms of this node's sockets are kept by a [`LocalAdapter`]; what may
//! involve other nodes is published, and what peers (Node's or ours, or an
//! emitter) publish is applied through [`LocalNamespace`]. Every request
//! waits at most `requests_timeout` and then fails with
//! [`AdapterError::Timeout`]. No lock is held across an await.

use std::sync::{Arc, Weak};
use std::time::Duration;

use engineio::Sid;
use fred::prelude::PubsubInterface;
use futures_util::StreamExt;
use serde_json::{json, Value};
use socketio::{
    AckResult, Adapter, AdapterError, BoxFuture, BroadcastOptions, Data, LocalAdapter, Packet,
    Room, SocketInfo, WeakNamespace,
};

use crate::cluster::{keep_subscribing, Channel, RedisCluster, Route, Subscribing};
use crate::cluster_node::local_then;
use crate::remote::{remote_socket, socket_value};
use crate::requests::Requests;
use crate::wire::{self, Decoded, RequestType};

/// One namespace's adapter state.
struct Inner {
    cluster: Arc<RedisCluster>,
    nsp: WeakNamespace,
    name: String,
    uid: String,
    rooms: LocalAdapter,
    requests: Requests,
}

/// The classic Redis adapter of one namespace.
pub struct RedisAdapter(Arc<Inner>);

impl RedisAdapter {
    pub(crate) fn new(cluster: &Arc<RedisCluster>, nsp: WeakNamespace) -> Self {
        let name = nsp.name().to_owned();
        RedisAdapter(Arc::new(Inner {
            cluster: cluster.clone(),
            rooms: LocalAdapter::new(nsp.clone()),
            nsp,
            name,
            uid: wire::random_id(6),
            requests: Requests::default(),
        }))
    }
}

impl Inner {
    fn key(&self) -> &str {
        &self.cluster.config.key
    }
    fn broadcast_channel(&self, opts: &BroadcastOptions) -> String {
        match opts.rooms.as_slice() {
            [room] => format!("{}#{}#{}#", self.key(), self.name, room),
            _ => format!("{}#{}#", self.key(), self.name),
        }
    }
    fn request_channel(&self) -> String {
        format!("{}-request#{}#", self.key(), self.name)
    }
    fn response_channel(&self, requester: Option<&str>) -> String {
        match requester.filter(|_| self.cluster.config.publish_on_specific_response_channel) {
            Some(uid) => format!("{}-response#{}#{}#", self.key(), self.name, uid),
            None => format!("{}-response#{}#", self.key(), self.name),
        }
    }

    fn on_broadcast(&self, room: &str, payload: &[u8]) -> bool {
        // A message for a room this node has no member of is not decoded.
        if !room.is_empty() && !self.rooms.rooms().iter().any(|r| r == room) {
            return true;
        }
        let Ok(b) = wire::decode_broadcast(payload, &self.name) else {
            return false;
        };
        if b.uid == self.uid || b.packet.nsp != self.name {
            return true;
        }
        if let Some(nsp) = self.nsp.upgrade() {
            let mut opts = b.opts;
            opts.origin = Some(b.uid);
            nsp.deliver(&b.packet, &self.rooms.local_sockets(&opts), &opts);
        }
        true
    }

    fn on_response(&self, d: Decoded) -> bool {
        self.requests.answer(d)
    }

    fn on_request(&self, d: Decoded) -> bool {
        let v = &d.value;
        let Some(ty) = v
            .get("type")
            .and_then(Value::as_u64)
            .and_then(RequestType::from_code)
        else {
            return false;
        };
        let uid = v.get("uid").and_then(Value::as_str);
        let request_id = v
            .get("requestId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let own_request = request_id
            .as_deref()
            .is_some_and(|id| self.requests.contains(id));
        let Some(nsp) = self.nsp.upgrade() else {
            return true;
        };
        let opts = match wire::opts_from(v.get("opts")) {
            Ok(o) => o,
            Err(_) => return false,
        };
        match ty {
            RequestType::RemoteJoin | RequestType::RemoteLeave if uid != Some(&self.uid) => {
                let Ok(rooms) = wire::strings(v.get("rooms")) else {
                    return false;
                };
                let sids = self.rooms.local_sockets(&opts);
                match ty {
                    RequestType::RemoteJoin => nsp.join(&sids, &rooms),
                    _ => nsp.leave(&sids, &rooms),
                }
            }
            RequestType::RemoteDisconnect if uid != Some(&self.uid) => {
                let close = v.get("close").and_then(Value::as_bool) == Some(true);
                nsp.disconnect(&self.rooms.local_sockets(&opts), close);
            }
            RequestType::ServerSideEmit if uid != Some(&self.uid) => {
                let Some(Value::Array(args)) = v.get("data") else {
                    return false;
                };
                let Some((Value::String(event), args)) = args.split_first() else {
                    return false;
                };
                let data = Data::from_parts(args.to_vec(), d.attachments);
                let Some(id) = request_id else {
                    nsp.server_side_emit(event, &data);
                    return true;
                };
                // The answer goes to the shared channel, whatever
                // publishOnSpecificResponseChannel says, as the reference's does.
                if let Some(answer) = nsp.server_side_emit_with_ack(event, &data) {
                    let first = answer.args().first().cloned().unwrap_or(Value::Null);
                    let channel = self.response_channel(None);
                    let cluster = self.cluster.clone();
                    let payload = wire::server_side_answer(&id, &first);
                    tokio::spawn(async move { cluster.publish(channel, payload).await });
                }
            }
            RequestType::Sockets | RequestType::AllRooms | RequestType::RemoteFetch
                if !own_request =>
            {
                let Some(id) = request_id else { return false };
                let sids = self.rooms.local_sockets(&opts);
                let answer = match ty {
                    RequestType::Sockets => {
                        json!({ "requestId": id, "sockets": sids.iter().map(Sid::as_str).collect::<Vec<_>>() })
                    }
                    RequestType::AllRooms => {
                        json!({ "requestId": id, "rooms": self.rooms.rooms() })
                    }
                    _ => {
                        // `uid` is ours, not the reference's: it lets our
                        // servers say which node a socket is on (Node's
                        // ignore it).
                        let sockets: Vec<Value> =
                            nsp.fetch(&sids).iter().map(socket_value).collect();
                        json!({ "requestId": id, "sockets": sockets, "uid": self.uid })
                    }
                };
                self.answer(uid, serde_json::to_vec(&answer).unwrap_or_default());
            }
            RequestType::Broadcast if !own_request => {
                let Some(id) = request_id else { return false };
                let Some(packet) = v.get("packet") else {
                    return false;
                };
                let Ok(packet) = wire::packet_from(packet, &d.attachments, &self.name) else {
                    return false;
                };
                self.answer_broadcast(uid.map(str::to_owned), id, packet, opts);
            }
            _ => {}
        }
        true
    }

    /// Subscribes to the namespace's channels.
    async fn subscribe_all(&self) -> Result<(), AdapterError> {
        let sub = &self.cluster.subscriber;
        let pattern = format!("{}#{}#*", self.key(), self.name);
        let own = format!("{}-response#{}#{}#", self.key(), self.name, self.uid);
        let channels = vec![self.request_channel(), self.response_channel(None), own];
        let err = |e: fred::error::Error| AdapterError::Remote(e.to_string());
        sub.psubscribe(pattern).await.map_err(err)?;
        sub.subscribe(channels).await.map_err(err)
    }

    /// Publishes an answer to a request of `requester`.
    fn answer(&self, requester: Option<&str>, payload: Vec<u8>) {
        let channel = self.response_channel(requester);
        let cluster = self.cluster.clone();
        tokio::spawn(async move {
            let _ = cluster.publish(channel, payload).await;
        });
    }

    /// Runs a peer's broadcast-with-ack here: the client count first, then
    /// each client's ack as it comes (the reference drops the peer's flags
    /// but its ack timeout, which bounds the wait here).
    fn answer_broadcast(
        &self,
        requester: Option<String>,
        id: String,
        packet: Packet,
        opts: BroadcastOptions,
    ) {
        let Some(nsp) = self.nsp.upgrade() else {
            return;
        };
        let timeout = opts.timeout.unwrap_or(self.cluster.config.requests_timeout);
        let mut local = BroadcastOptions::default()
            .to(opts.rooms)
            .except(opts.except);
        local.origin = requester.clone();
        let sids = self.rooms.local_sockets(&local);
        let (count, mut answers) = nsp.deliver_with_ack(packet, &sids, timeout);
        let channel = self.response_channel(requester.as_deref());
        let cluster = self.cluster.clone();
        tokio::spawn(async move {
            let counted = json!({ "type": 8, "requestId": id, "clientCount": count });
            let _ = cluster
                .publish(
                    channel.clone(),
                    serde_json::to_vec(&counted).unwrap_or_default(),
                )
                .await;
            while let Some(answer) = answers.next().await {
                let Ok(data) = answer else { continue };
                let first = data.args().first().cloned().unwrap_or(Value::Null);
                let ack = json!({ "type": 9, "requestId": id, "packet": first });
                let bytes = wire::encode_mp(&ack, data.attachments());
                let _ = cluster.publish(channel.clone(), bytes).await;
            }
        });
    }

    /// The other servers of the namespace.
    async fn others(&self) -> Result<usize, AdapterError> {
        Ok(self
            .cluster
            .numsub(&self.request_channel(), false)
            .await?
            .saturating_sub(1))
    }

    /// Publishes a request and gathers one answer per other server.
    async fn gather(
        &self,
        operation: &'static str,
        request: impl FnOnce(&str) -> Vec<u8>,
    ) -> Result<Vec<Decoded>, AdapterError> {
        let expected = self.others().await?;
        if expected == 0 {
            return Ok(Vec::new());
        }
        let mut req = self.requests.start(wire::random_id(6), expected);
        let payload = request(&req.id);
        self.cluster
            .publish(self.request_channel(), payload)
            .await?;
        let deadline = tokio::time::Instant::now() + self.cluster.config.requests_timeout;
        req.gather(operation, expected, deadline, self.cluster.stats())
            .await
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
        let mut req = self.requests.start(wire::random_id(6), 1024);
        let mut request_opts = opts.clone();
        request_opts.timeout = Some(timeout);
        let payload = wire::ack_request(&self.uid, &req.id, &packet, &request_opts);
        self.cluster
            .publish(self.request_channel(), payload)
            .await?;
        let deadline = tokio::time::Instant::now() + timeout;
        let remote = req.acks(expected, deadline, (8, 9));
        let (mut remote, local) = futures_util::join!(remote, local);
        remote.extend(local);
        Ok(remote)
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
        let answers = self
            .gather("fetch_sockets", |id| {
                wire::fetch_request(&self.uid, id, &opts)
            })
            .await?;
        for a in answers {
            let Some(Value::Array(sockets)) = a.value.get("sockets") else {
                continue;
            };
            let server = a.value.get("uid").and_then(Value::as_str).unwrap_or("");
            infos.extend(
                sockets
                    .iter()
                    .filter_map(|s| remote_socket(s, &self.name))
                    .map(|mut s| {
                        s.server = Some(server.to_owned());
                        s
                    }),
            );
        }
        Ok(infos)
    }

    async fn all_rooms(self: Arc<Self>) -> Result<Vec<Room>, AdapterError> {
        let mut rooms = self.rooms.rooms();
        let answers = self
            .gather("all_rooms", |id| wire::all_rooms_request(&self.uid, id))
            .await?;
        for a in answers {
            rooms.extend(wire::strings(a.value.get("rooms")).unwrap_or_default());
        }
        rooms.sort();
        rooms.dedup();
        Ok(rooms)
    }

    /// Publishes a request that has no answer (join, leave, disconnect,
    /// server-side emit).
    fn tell(&self, payload: Vec<u8>) -> BoxFuture<Result<(), AdapterError>> {
        let cluster = self.cluster.clone();
        let channel = self.request_channel();
        Box::pin(async move { cluster.publish(channel, payload).await })
    }
}

impl Route for Inner {
    fn subscribe(&self) -> Subscribing<'_> {
        Box::pin(self.subscribe_all())
    }

    fn handle(&self, kind: Channel<'_>, payload: &[u8]) -> bool {
        match kind {
            Channel::Broadcast(room) => self.on_broadcast(room, payload),
            Channel::Request => match wire::decode(payload) {
                Ok(d) => self.on_request(d),
                Err(_) => false,
            },
            Channel::Response => match wire::decode(payload) {
                Ok(d) => self.on_response(d),
                Err(_) => false,
            },
        }
    }
}

impl Adapter for RedisAdapter {
    fn init(&self) -> BoxFuture<Result<(), AdapterError>> {
        let route: Weak<dyn Route> = Arc::downgrade(&self.0) as Weak<Inner>;
        self.0.cluster.register(&self.0.name, route.clone());
        Box::pin(keep_subscribing(route, self.0.cluster.stats().clone()))
    }

    fn close(&self) -> BoxFuture<()> {
        let inner = self.0.clone();
        Box::pin(async move {
            let sub = &inner.cluster.subscriber;
            let own = format!("{}-response#{}#{}#", inner.key(), inner.name, inner.uid);
            let _ = sub
                .punsubscribe(format!("{}#{}#*", inner.key(), inner.name))
                .await;
            let _ = sub
                .unsubscribe(vec![
                    inner.request_channel(),
                    inner.response_channel(None),
                    own,
                ])
                .await;
            inner.cluster.unregister(&inner.name);
        })
    }

    fn server_id(&self) -> Option<&str> {
        Some(&self.0.uid)
    }

    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.0.rooms.add_all(sid, rooms)
    }
    fn del(&self, sid: Sid, room: &str) {
        self.0.rooms.del(sid, room)
    }
    fn del_all(&self, sid: Sid) {
        self.0.rooms.del_all(sid)
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
            let channel = self.0.broadcast_channel(&opts);
            (channel, wire::encode_broadcast(&self.0.uid, &packet, &opts))
        });
        let local = self.0.rooms.broadcast(packet, opts);
        let cluster = self.0.cluster.clone();
        let publish = publish.map(
            |(channel, payload)| -> BoxFuture<Result<(), AdapterError>> {
                Box::pin(async move { cluster.publish(channel, payload).await })
            },
        );
        local_then(local, publish)
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
        self.remote_rooms(true, opts, rooms)
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<(), AdapterError>> {
        self.remote_rooms(false, opts, rooms)
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let tell = (!opts.local).then(|| {
            self.0
                .tell(wire::disconnect_request(Some(&self.0.uid), &opts, close))
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
        let payload =
            wire::server_side_request(&self.0.uid, None, &event, data.args(), data.attachments());
        self.0.tell(payload)
    }

    fn server_side_emit_with_ack(
        &self,
        event: String,
        data: Data,
    ) -> BoxFuture<Result<Vec<Data>, AdapterError>> {
        let inner = self.0.clone();
        Box::pin(async move {
            let (args, atts) = (data.args(), data.attachments());
            let answers = inner
                .gather("server_side_emit", |id| {
                    wire::server_side_request(&inner.uid, Some(id), &event, args, atts)
                })
                .await?;
            Ok(answers
                .into_iter()
                .map(|a| {
                    let arg = a.value.get("data").cloned().unwrap_or(Value::Null);
                    Data::from_parts(vec![arg], a.attachments)
                })
                .collect())
        })
    }

    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        let inner = self.0.clone();
        Box::pin(async move {
            Ok(inner
                .cluster
                .numsub(&inner.request_channel(), false)
                .await?
                .max(1))
        })
    }

    fn all_rooms(&self) -> BoxFuture<Result<Vec<Room>, AdapterError>> {
        Box::pin(self.0.clone().all_rooms())
    }
}

impl RedisAdapter {
    /// Join (or leave) here, and tell the other servers.
    fn remote_rooms(
        &self,
        join: bool,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let local = match join {
            true => self.0.rooms.add_sockets(opts.clone(), rooms.clone()),
            false => self.0.rooms.del_sockets(opts.clone(), rooms.clone()),
        };
        let tell = (!opts.local).then(|| {
            self.0
                .tell(wire::rooms_request(Some(&self.0.uid), join, &opts, &rooms))
        });
        local_then(local, tell)
    }
}
