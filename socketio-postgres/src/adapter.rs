//! [`PostgresAdapter`]: `@socket.io/postgres-adapter` 0.5's adapter of one
//! namespace, over its server's [`PostgresCluster`]: socket.io-adapter's
//! `ClusterAdapterWithHeartbeat`, whose operations are socketio-cluster's
//! [`cluster_node`] and whose transport is the namespace's NOTIFY channel.
//!
//! The other nodes are the uids heard from (an emitter's excepted), each
//! forgotten after `heartbeat_timeout` of silence or when it says its
//! adapter closed (the fetches and server-side emits waiting for it then
//! end with the answers they have, as in the reference); the server count
//! is theirs plus one. This node sends a
//! heartbeat every `heartbeat_interval`, and an initial one (which the
//! others answer) when it starts and after each reconnection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use engineio::Sid;
use serde_json::Value;
use socketio::{Adapter, AdapterError, BoxFuture, BroadcastOptions, Packet, Room, WeakNamespace};
use socketio_cluster::cluster_msg::{hex_id, ty};
use socketio_cluster::cluster_node::{self, Borrowed, ClusterNode, NodeState, Responder};
use socketio_cluster::wire::Decoded;
use socketio_cluster::Stats;
use tokio::time::Instant;

use crate::cluster::{PostgresCluster, Route};

/// The uid `@socket.io/postgres-emitter` sends with: not a node.
const EMITTER_UID: &str = "emitter";

struct Inner {
    cluster: Arc<PostgresCluster>,
    node: NodeState,
    /// The other nodes, by uid: when each was last heard from.
    nodes: Mutex<HashMap<String, Instant>>,
}

/// The PostgreSQL adapter of one namespace.
pub struct PostgresAdapter(Arc<Inner>);

impl PostgresAdapter {
    pub(crate) fn new(cluster: &Arc<PostgresCluster>, nsp: WeakNamespace) -> Self {
        PostgresAdapter(Arc::new(Inner {
            cluster: cluster.clone(),
            node: NodeState::new(nsp, hex_id()),
            nodes: Mutex::new(HashMap::new()),
        }))
    }
}

impl Inner {
    fn nodes(&self) -> MutexGuard<'_, HashMap<String, Instant>> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a message of type `t` to the namespace's channel.
    fn send(
        &self,
        t: u64,
        data: Value,
        attachments: &[Bytes],
    ) -> BoxFuture<Result<(), AdapterError>> {
        let (cluster, name, uid) = (
            self.cluster.clone(),
            self.node.name.clone(),
            self.node.uid.clone(),
        );
        let attachments = attachments.to_vec();
        Box::pin(async move { cluster.publish(&name, &uid, t, data, &attachments).await })
    }

    /// Sends a message nobody answers, in the background.
    fn announce(&self, t: u64) {
        tokio::spawn(self.send(t, Value::Null, &[]));
    }

    fn on_message(&self, Decoded { value, attachments }: Decoded) -> bool {
        let (Some(t), Some(uid)) = (
            value.get("type").and_then(Value::as_u64),
            value.get("uid").and_then(Value::as_str),
        ) else {
            return false;
        };
        if uid == self.node.uid {
            return true;
        }
        // The emitter names no namespace: its channel did.
        if value
            .get("nsp")
            .and_then(Value::as_str)
            .is_some_and(|n| n != self.node.name)
        {
            return true;
        }
        if uid != EMITTER_UID {
            self.nodes().insert(uid.to_owned(), Instant::now());
        }
        let data = value.get("data").cloned().unwrap_or(Value::Null);
        match t {
            ty::INITIAL_HEARTBEAT => self.announce(ty::HEARTBEAT),
            ty::HEARTBEAT => {}
            ty::ADAPTER_CLOSE => self.forget(&[uid.to_owned()]),
            t => return cluster_node::on_message(self, t, uid, data, attachments),
        }
        true
    }

    /// Forgets the nodes silent for longer than the heartbeat timeout.
    fn expire(&self, now: Instant) {
        let timeout = self.cluster.config.heartbeat_timeout;
        let silent: Vec<String> = self
            .nodes()
            .iter()
            .filter(|(_, seen)| now.saturating_duration_since(**seen) > timeout)
            .map(|(uid, _)| uid.clone())
            .collect();
        self.forget(&silent);
    }

    /// Forgets nodes: no longer counted, and the requests waiting for
    /// them end with the answers they have, as the reference's
    /// `removeNode` does.
    fn forget(&self, uids: &[String]) {
        {
            let mut nodes = self.nodes();
            for uid in uids {
                nodes.remove(uid);
            }
        }
        for uid in uids {
            self.node.requests.forget(uid);
        }
    }
}

/// Heartbeats every `heartbeat_interval`, and the expiry of silent nodes
/// every second, until the adapter is gone.
async fn heartbeat(inner: Weak<Inner>, interval: Duration) {
    let interval = interval.max(Duration::from_millis(10));
    let mut beat = tokio::time::interval_at(Instant::now() + interval, interval);
    let mut check = tokio::time::interval(Duration::from_secs(1).min(interval));
    loop {
        tokio::select! {
            _ = beat.tick() => {
                let Some(inner) = inner.upgrade() else { return };
                inner.announce(ty::HEARTBEAT);
            }
            now = check.tick() => {
                let Some(inner) = inner.upgrade() else { return };
                inner.expire(now);
            }
        }
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
        self.send(t, data, attachments)
    }
    fn responder(&self, _requester: &str) -> Responder {
        // Every answer goes to the namespace's one channel.
        let (cluster, name, uid) = (
            self.cluster.clone(),
            self.node.name.clone(),
            self.node.uid.clone(),
        );
        Arc::new(move |t, data, attachments| {
            let (cluster, name, uid) = (cluster.clone(), name.clone(), uid.clone());
            let attachments = attachments.to_vec();
            Box::pin(async move { cluster.publish(&name, &uid, t, data, &attachments).await })
        })
    }
    fn others(&self) -> Borrowed<'_, Result<usize, AdapterError>> {
        let n = self.nodes().len();
        Box::pin(async move { Ok(n) })
    }
    fn peers(&self) -> Option<Vec<String>> {
        Some(self.nodes().keys().cloned().collect())
    }
}

impl Route for Inner {
    fn uid(&self) -> &str {
        &self.node.uid
    }
    fn handle(&self, message: Decoded) -> bool {
        self.on_message(message)
    }
    fn reconnected(&self) {
        self.announce(ty::INITIAL_HEARTBEAT);
    }
}

impl Adapter for PostgresAdapter {
    socketio_cluster::cluster_node_operations!();

    fn init(&self) -> BoxFuture<Result<(), AdapterError>> {
        let inner = self.0.clone();
        Box::pin(async move {
            let route: Weak<dyn Route> = Arc::downgrade(&inner) as Weak<Inner>;
            inner.cluster.register(&inner.node.name, route).await;
            let interval = inner.cluster.config.heartbeat_interval;
            tokio::spawn(heartbeat(Arc::downgrade(&inner), interval));
            // PostgreSQL down is no error: the reconnection announces us.
            let _ = inner.send(ty::INITIAL_HEARTBEAT, Value::Null, &[]).await;
            Ok(())
        })
    }

    fn close(&self) -> BoxFuture<()> {
        let inner = self.0.clone();
        Box::pin(async move {
            let _ = inner.send(ty::ADAPTER_CLOSE, Value::Null, &[]).await;
            inner.cluster.unregister(&inner.node.name).await;
        })
    }

    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.0.node.rooms.add_all(sid, rooms)
    }
    fn del(&self, sid: Sid, room: &str) {
        self.0.node.rooms.del(sid, room)
    }
    fn del_all(&self, sid: Sid) {
        self.0.node.rooms.del_all(sid)
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let send = (!opts.local).then(|| {
            let data = cluster_node::broadcast_message(&packet, &opts);
            self.0.send(ty::BROADCAST, data, &packet.attachments)
        });
        let local = self.0.node.rooms.broadcast(packet, opts);
        cluster_node::local_then(local, send)
    }

    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        let n = self.0.nodes().len() + 1;
        Box::pin(async move { Ok(n) })
    }
}
