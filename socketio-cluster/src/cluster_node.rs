//! The operations of socket.io-adapter 2.5's `ClusterAdapter`, over any
//! transport that carries its messages: socketio-redis's sharded and
//! streams adapters and socketio-postgres's adapter implement [`ClusterNode`]
//! (how a message reaches every node, or one requester) and leave the rest
//! here: applying a peer's operation to the local sockets, answering its
//! requests, and the requester's side of fetch, broadcast-with-ack and
//! server-side emit with answers.
//!
//! It knows no transport, channel or encoding; no lock is held across an
//! await.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};
use socketio::{
    AckResult, Adapter, AdapterError, BoxFuture, BroadcastOptions, Data, LocalAdapter, Packet,
    SocketInfo, WeakNamespace,
};

use crate::cluster_msg::ty;
use crate::remote::{remote_socket, socket_value};
use crate::requests::Requests;
use crate::wire;
use crate::Stats;

/// A future borrowing its node.
pub type Borrowed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends one response (type, data, binary parts) to the requester it was
/// made for.
pub type Responder =
    Arc<dyn Fn(u64, Value, &[Bytes]) -> BoxFuture<Result<(), AdapterError>> + Send + Sync>;

/// What every cluster adapter of a namespace holds, whatever its transport.
pub struct NodeState {
    /// The namespace.
    pub nsp: WeakNamespace,
    /// Its name.
    pub name: String,
    /// This node's uid in the namespace.
    pub uid: String,
    /// The rooms of the local sockets.
    pub rooms: LocalAdapter,
    /// The requests waiting for answers.
    pub requests: Requests,
}

impl NodeState {
    /// The state of a new adapter of `nsp`, with uid `uid`.
    pub fn new(nsp: WeakNamespace, uid: String) -> Self {
        NodeState {
            rooms: LocalAdapter::new(nsp.clone()),
            name: nsp.name().to_owned(),
            nsp,
            uid,
            requests: Requests::default(),
        }
    }
}

/// One namespace's adapter on a cluster transport.
pub trait ClusterNode: Send + Sync + 'static {
    /// The namespace, its local rooms and pending requests.
    fn state(&self) -> &NodeState;
    /// The counters.
    fn stats(&self) -> &Stats;
    /// How long a request waits for answers.
    fn requests_timeout(&self) -> Duration;
    /// Sends a message of type `t` to every node of the namespace.
    fn publish(
        &self,
        t: u64,
        data: Value,
        attachments: &[Bytes],
    ) -> BoxFuture<Result<(), AdapterError>>;
    /// What sends responses to node `requester`.
    fn responder(&self, requester: &str) -> Responder;
    /// How many other nodes answer a request.
    fn others(&self) -> Borrowed<'_, Result<usize, AdapterError>>;
    /// The other nodes' uids, when the transport knows them (the heartbeat
    /// adapters do): a fetch or server-side emit then waits for each by
    /// uid and ends early when the ones missing are
    /// [forgotten](Requests::forget). `None` (the default): it counts
    /// [`others`](Self::others)' answers.
    fn peers(&self) -> Option<Vec<String>> {
        None
    }
}

/// Starts a request for the other nodes: `(request, answers expected)`,
/// by uid when the node knows its peers.
async fn start_request<N: ClusterNode>(
    node: &N,
) -> Result<(crate::requests::Request<'_>, usize), AdapterError> {
    let requests = &node.state().requests;
    let id = crate::cluster_msg::hex_id();
    Ok(match node.peers() {
        Some(uids) => {
            let n = uids.len();
            (requests.start_for(id, uids), n)
        }
        None => {
            let n = node.others().await?;
            (requests.start(id, n), n)
        }
    })
}

/// Runs an operation's local part, then (if any) what tells the other
/// servers.
pub fn local_then(
    local: BoxFuture<Result<(), AdapterError>>,
    remote: Option<BoxFuture<Result<(), AdapterError>>>,
) -> BoxFuture<Result<(), AdapterError>> {
    match remote {
        None => local,
        Some(remote) => Box::pin(async move {
            local.await?;
            remote.await
        }),
    }
}

/// `socketsJoin` (`join`) or `socketsLeave`: here, then (unless local)
/// on every node.
pub fn join_or_leave<N: ClusterNode>(
    node: &N,
    join: bool,
    opts: BroadcastOptions,
    rooms: Vec<String>,
) -> BoxFuture<Result<(), AdapterError>> {
    let t = if join {
        ty::SOCKETS_JOIN
    } else {
        ty::SOCKETS_LEAVE
    };
    let tell = (!opts.local)
        .then(|| node.publish(t, sockets_message(&opts, ("rooms", json!(rooms))), &[]));
    let local = &node.state().rooms;
    let local = match join {
        true => local.add_sockets(opts, rooms),
        false => local.del_sockets(opts, rooms),
    };
    local_then(local, tell)
}

/// The [`Adapter`] methods every cluster adapter answers the same way,
/// inside its `impl Adapter`, for a type whose `.0` is an
/// `Arc<impl ClusterNode>`: the local rooms' queries, and the operations
/// of this module.
#[macro_export]
#[doc(hidden)]
macro_rules! cluster_node_operations {
    () => {
        fn server_id(&self) -> Option<&str> {
            Some(&self.0.state().uid)
        }
        fn socket_rooms(&self, sid: $crate::__private::Sid) -> Vec<$crate::__private::Room> {
            self.0.state().rooms.socket_rooms(sid)
        }
        fn rooms(&self) -> Vec<$crate::__private::Room> {
            self.0.state().rooms.rooms()
        }
        fn local_sockets(
            &self,
            opts: &$crate::__private::BroadcastOptions,
        ) -> Vec<$crate::__private::Sid> {
            self.0.state().rooms.local_sockets(opts)
        }
        fn broadcast_with_ack(
            &self,
            packet: $crate::__private::Packet,
            opts: $crate::__private::BroadcastOptions,
            timeout: std::time::Duration,
        ) -> $crate::__private::BoxFuture<
            Result<Vec<$crate::__private::AckResult>, $crate::__private::AdapterError>,
        > {
            Box::pin($crate::cluster_node::broadcast_with_ack(
                self.0.clone(),
                packet,
                opts,
                timeout,
            ))
        }
        fn add_sockets(
            &self,
            opts: $crate::__private::BroadcastOptions,
            rooms: Vec<$crate::__private::Room>,
        ) -> $crate::__private::BoxFuture<Result<(), $crate::__private::AdapterError>> {
            $crate::cluster_node::join_or_leave(&*self.0, true, opts, rooms)
        }
        fn del_sockets(
            &self,
            opts: $crate::__private::BroadcastOptions,
            rooms: Vec<$crate::__private::Room>,
        ) -> $crate::__private::BoxFuture<Result<(), $crate::__private::AdapterError>> {
            $crate::cluster_node::join_or_leave(&*self.0, false, opts, rooms)
        }
        fn disconnect_sockets(
            &self,
            opts: $crate::__private::BroadcastOptions,
            close: bool,
        ) -> $crate::__private::BoxFuture<Result<(), $crate::__private::AdapterError>> {
            $crate::cluster_node::disconnect(&*self.0, opts, close)
        }
        fn fetch_sockets(
            &self,
            opts: $crate::__private::BroadcastOptions,
        ) -> $crate::__private::BoxFuture<
            Result<Vec<$crate::__private::SocketInfo>, $crate::__private::AdapterError>,
        > {
            Box::pin($crate::cluster_node::fetch(self.0.clone(), opts))
        }
        fn server_side_emit(
            &self,
            event: String,
            data: $crate::__private::Data,
        ) -> $crate::__private::BoxFuture<Result<(), $crate::__private::AdapterError>> {
            $crate::cluster_node::server_side_emit(&*self.0, event, data)
        }
        fn server_side_emit_with_ack(
            &self,
            event: String,
            data: $crate::__private::Data,
        ) -> $crate::__private::BoxFuture<
            Result<Vec<$crate::__private::Data>, $crate::__private::AdapterError>,
        > {
            Box::pin($crate::cluster_node::server_side_emit_with_ack(
                self.0.clone(),
                event,
                data,
            ))
        }
        fn all_rooms(
            &self,
        ) -> $crate::__private::BoxFuture<
            Result<Vec<$crate::__private::Room>, $crate::__private::AdapterError>,
        > {
            Box::pin($crate::cluster_node::all_rooms(self.0.clone()))
        }
    };
}

/// `disconnectSockets`: here, then (unless local) on every node.
pub fn disconnect<N: ClusterNode>(
    node: &N,
    opts: BroadcastOptions,
    close: bool,
) -> BoxFuture<Result<(), AdapterError>> {
    let tell = (!opts.local).then(|| {
        let data = sockets_message(&opts, ("close", json!(close)));
        node.publish(ty::DISCONNECT_SOCKETS, data, &[])
    });
    local_then(node.state().rooms.disconnect_sockets(opts, close), tell)
}

/// `serverSideEmit` without answers, to every node.
pub fn server_side_emit<N: ClusterNode>(
    node: &N,
    event: String,
    data: Data,
) -> BoxFuture<Result<(), AdapterError>> {
    let body = server_side_message(event, &data, None);
    node.publish(ty::SERVER_SIDE_EMIT, body, data.attachments())
}

/// Handles a message `{type, data, uid, nsp}` (JSON or msgpack) from a
/// channel of the namespace: drops this node's own and another
/// namespace's, hands an answer to its request and applies the rest; false
/// when it is not a message of the protocol.
pub fn on_envelope<N: ClusterNode>(node: &N, payload: &[u8]) -> bool {
    let Ok(wire::Decoded { value, attachments }) = wire::decode(payload) else {
        return false;
    };
    let (Some(t), Some(uid)) = (
        value.get("type").and_then(Value::as_u64),
        value.get("uid").and_then(Value::as_str),
    ) else {
        return false;
    };
    let state = node.state();
    if uid == state.uid || value.get("nsp").and_then(Value::as_str) != Some(&state.name) {
        return true;
    }
    let data = value.get("data").cloned().unwrap_or(Value::Null);
    on_message(node, t, uid, data, attachments)
}

/// Handles a decoded message of type `t` from node `uid`: an answer goes to
/// its request, an operation is applied; false when malformed.
pub fn on_message<N: ClusterNode>(
    node: &N,
    t: u64,
    uid: &str,
    data: Value,
    attachments: Vec<Bytes>,
) -> bool {
    if crate::cluster_msg::is_response(t) {
        // An answer: the envelope's type and sender, with its data.
        let Some(value) = crate::cluster_msg::answer_value(t, uid, data) else {
            return false;
        };
        return node
            .state()
            .requests
            .answer(wire::Decoded { value, attachments });
    }
    apply(node, t, uid, &data, attachments).is_some()
}

/// Applies a peer's operation of type `t` from node `uid` here (answering
/// it when it asks); `None` when the message is malformed.
pub fn apply<N: ClusterNode>(
    node: &N,
    t: u64,
    uid: &str,
    data: &Value,
    attachments: Vec<Bytes>,
) -> Option<()> {
    let state = node.state();
    let Some(nsp) = state.nsp.upgrade() else {
        return Some(());
    };
    let (name, rooms) = (state.name.as_str(), &state.rooms);
    let opts = wire::opts_from(data.get("opts")).ok()?;
    let request_id = data.get("requestId").and_then(Value::as_str);
    match t {
        ty::BROADCAST => {
            let packet = wire::packet_from(data.get("packet")?, &attachments, name).ok()?;
            match request_id {
                None => {
                    let mut opts = opts;
                    opts.origin = Some(uid.to_owned());
                    nsp.deliver(&packet, &rooms.local_sockets(&opts), &opts);
                }
                Some(id) => answer_broadcast(node, uid, id, packet, opts),
            }
        }
        ty::SOCKETS_JOIN | ty::SOCKETS_LEAVE => {
            let joined = wire::strings(data.get("rooms")).ok()?;
            let sids = rooms.local_sockets(&opts);
            match t {
                ty::SOCKETS_JOIN => nsp.join(&sids, &joined),
                _ => nsp.leave(&sids, &joined),
            }
        }
        ty::DISCONNECT_SOCKETS => {
            let close = data.get("close").and_then(Value::as_bool) == Some(true);
            nsp.disconnect(&rooms.local_sockets(&opts), close);
        }
        ty::FETCH_SOCKETS => {
            let sockets: Vec<Value> = nsp
                .fetch(&rooms.local_sockets(&opts))
                .iter()
                .map(socket_value)
                .collect();
            let answer = json!({ "requestId": request_id?, "sockets": sockets });
            tokio::spawn(node.responder(uid)(ty::FETCH_SOCKETS_RESPONSE, answer, &[]));
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
                        let send = node.responder(uid);
                        tokio::spawn(send(
                            ty::SERVER_SIDE_EMIT_RESPONSE,
                            body,
                            answer.attachments(),
                        ));
                    }
                }
            }
        }
        // Heartbeats and the like: the transport's business.
        _ => {}
    }
    Some(())
}

/// A peer's broadcast with acks: its clients here, their count, then each
/// ack as it comes (bounded by the peer's ack timeout).
fn answer_broadcast<N: ClusterNode>(
    node: &N,
    requester: &str,
    id: &str,
    packet: Packet,
    opts: BroadcastOptions,
) {
    let Some(nsp) = node.state().nsp.upgrade() else {
        return;
    };
    let timeout = opts.timeout.unwrap_or(node.requests_timeout());
    let (count, mut answers) =
        nsp.deliver_with_ack(packet, &node.state().rooms.local_sockets(&opts), timeout);
    let send = node.responder(requester);
    let id = id.to_owned();
    tokio::spawn(async move {
        let counted = json!({ "requestId": id, "clientCount": count });
        let _ = send(ty::BROADCAST_CLIENT_COUNT, counted, &[]).await;
        while let Some(answer) = answers.next().await {
            let Ok(data) = answer else { continue };
            let first = data.args().first().cloned().unwrap_or(Value::Null);
            let ack = json!({ "requestId": id, "packet": first });
            let _ = send(ty::BROADCAST_ACK, ack, data.attachments()).await;
        }
    });
}

/// `fetchSockets`: the local sockets, then every other node's.
pub async fn fetch<N: ClusterNode>(
    node: Arc<N>,
    opts: BroadcastOptions,
) -> Result<Vec<SocketInfo>, AdapterError> {
    let nsp = node
        .state()
        .nsp
        .upgrade()
        .ok_or(AdapterError::NamespaceGone)?;
    let mut infos = nsp.fetch(&node.state().rooms.local_sockets(&opts));
    if opts.local {
        return Ok(infos);
    }
    let (mut req, expected) = start_request(&*node).await?;
    if expected == 0 {
        return Ok(infos);
    }
    let data = json!({ "opts": wire::opts_value(&opts, true), "requestId": req.id });
    node.publish(ty::FETCH_SOCKETS, data, &[]).await?;
    let deadline = tokio::time::Instant::now() + node.requests_timeout();
    let name = node.state().name.as_str();
    for a in req
        .gather("fetch_sockets", expected, deadline, node.stats())
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
                .filter_map(|s| remote_socket(s, name))
                .map(|mut s| {
                    s.server = server.clone();
                    s
                }),
        );
    }
    Ok(infos)
}

/// Every room with a member on any node. The reference's `ClusterAdapter`
/// has no request for it: the rooms of every node's sockets, by a fetch
/// (which Node servers answer too).
pub async fn all_rooms<N: ClusterNode>(node: Arc<N>) -> Result<Vec<socketio::Room>, AdapterError> {
    let mut rooms: std::collections::BTreeSet<socketio::Room> =
        node.state().rooms.rooms().into_iter().collect();
    for s in fetch(node, BroadcastOptions::default()).await? {
        rooms.extend(s.rooms);
    }
    Ok(rooms.into_iter().collect())
}

/// A broadcast with acks: the local clients' and every other node's.
pub async fn broadcast_with_ack<N: ClusterNode>(
    node: Arc<N>,
    packet: Packet,
    opts: BroadcastOptions,
    timeout: Duration,
) -> Result<Vec<AckResult>, AdapterError> {
    let nsp = node
        .state()
        .nsp
        .upgrade()
        .ok_or(AdapterError::NamespaceGone)?;
    let (_, local) = nsp.deliver_with_ack(
        packet.clone(),
        &node.state().rooms.local_sockets(&opts),
        timeout,
    );
    let local = local.collect::<Vec<AckResult>>();
    if opts.local {
        return Ok(local.await);
    }
    let expected = node.others().await?;
    let mut req = node
        .state()
        .requests
        .start(crate::cluster_msg::hex_id(), 1024);
    let mut request_opts = opts.clone();
    request_opts.timeout = Some(timeout);
    let data = json!({
        "packet": { "type": 2, "data": packet.data.clone().unwrap_or_else(|| json!([])) },
        "requestId": req.id,
        "opts": wire::opts_value(&request_opts, true),
    });
    node.publish(ty::BROADCAST, data, &packet.attachments)
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

/// A broadcast to other nodes (the local part is the caller's): the
/// message, for [`ClusterNode::publish`] or a channel of the transport's
/// choosing.
pub fn broadcast_message(packet: &Packet, opts: &BroadcastOptions) -> Value {
    // The reference encodes the packet before its namespace is set.
    json!({
        "packet": { "type": 2, "data": packet.data.clone().unwrap_or_else(|| json!([])) },
        "opts": wire::opts_value(opts, true),
    })
}

/// A join, leave or disconnect: `{opts, <extra>}`.
pub fn sockets_message(opts: &BroadcastOptions, extra: (&str, Value)) -> Value {
    let mut data = serde_json::Map::new();
    data.insert("opts".into(), wire::opts_value(opts, true));
    data.insert(extra.0.into(), extra.1);
    Value::Object(data)
}

/// A server-side emit: `{packet: [event, ...args]}`, with its
/// `requestId` first when it wants answers.
pub fn server_side_message(event: String, data: &Data, request_id: Option<&str>) -> Value {
    let mut args = vec![Value::String(event)];
    args.extend(data.args().iter().cloned());
    let mut m = serde_json::Map::new();
    if let Some(id) = request_id {
        m.insert("requestId".into(), json!(id));
    }
    m.insert("packet".into(), Value::Array(args));
    Value::Object(m)
}

/// A server-side emit with answers: one from each other node.
pub async fn server_side_emit_with_ack<N: ClusterNode>(
    node: Arc<N>,
    event: String,
    data: Data,
) -> Result<Vec<Data>, AdapterError> {
    let (mut req, expected) = start_request(&*node).await?;
    if expected == 0 {
        return Ok(Vec::new());
    }
    let body = server_side_message(event, &data, Some(&req.id));
    node.publish(ty::SERVER_SIDE_EMIT, body, data.attachments())
        .await?;
    let deadline = tokio::time::Instant::now() + node.requests_timeout();
    let answers = req
        .gather("server_side_emit", expected, deadline, node.stats())
        .await?;
    Ok(answers
        .into_iter()
        .map(|a| {
            let arg = a.value.get("packet").cloned().unwrap_or(Value::Null);
            Data::from_parts(vec![arg], a.attachments)
        })
        .collect())
}
