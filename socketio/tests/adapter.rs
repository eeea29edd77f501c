//! The adapter contract: an adapter written against the public API alone
//! (`Adapter`, `LocalNamespace`, `WeakNamespace`) applies what a peer asks
//! for to this node's sockets: broadcast, join, leave, fetch, disconnect,
//! server-side emit; and an adapter that outlives its namespace says so.
mod common;
use common::*;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use socketio::{
    AckResult, Adapter, AdapterError, AdapterFactory, BoxFuture, BroadcastOptions, Data,
    LocalAdapter, Packet, Room, SocketInfo, SocketIo, WeakNamespace,
};

/// Rooms kept by a `LocalAdapter`; requests "from a peer" applied through
/// the namespace handle the factory gave.
struct Relay {
    rooms: LocalAdapter,
    nsp: WeakNamespace,
    started: Arc<AtomicBool>,
    closed: AtomicBool,
}

impl Relay {
    /// What a distributed adapter does with a peer's request: select this
    /// node's sockets, then apply the operation locally.
    fn peer_selects(
        &self,
        opts: &BroadcastOptions,
    ) -> Option<(Arc<dyn socketio::LocalNamespace>, Vec<engineio::Sid>)> {
        let nsp = self.nsp.upgrade()?;
        Some((nsp, self.rooms.local_sockets(opts)))
    }
}

impl Adapter for Relay {
    fn init(&self) -> BoxFuture<Result<(), AdapterError>> {
        // Not ready at the first poll, as a subscription would not be.
        let started = self.started.clone();
        Box::pin(async move {
            tokio::task::yield_now().await;
            started.store(true, Ordering::SeqCst);
            Ok(())
        })
    }
    fn close(&self) -> BoxFuture<()> {
        self.closed.store(true, Ordering::SeqCst);
        Box::pin(std::future::ready(()))
    }
    fn server_id(&self) -> Option<&str> {
        Some("relay-1")
    }
    fn add_all(&self, sid: engineio::Sid, rooms: &[Room]) {
        self.rooms.add_all(sid, rooms)
    }
    fn del(&self, sid: engineio::Sid, room: &str) {
        self.rooms.del(sid, room)
    }
    fn del_all(&self, sid: engineio::Sid) {
        self.rooms.del_all(sid)
    }
    fn socket_rooms(&self, sid: engineio::Sid) -> Vec<Room> {
        self.rooms.socket_rooms(sid)
    }
    fn rooms(&self) -> Vec<Room> {
        self.rooms.rooms()
    }
    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<engineio::Sid> {
        self.rooms.local_sockets(opts)
    }
    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<(), AdapterError>> {
        self.rooms.broadcast(packet, opts)
    }
    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Result<Vec<AckResult>, AdapterError>> {
        self.rooms.broadcast_with_ack(packet, opts, timeout)
    }
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<(), AdapterError>> {
        self.rooms.add_sockets(opts, rooms)
    }
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<Result<(), AdapterError>> {
        self.rooms.del_sockets(opts, rooms)
    }
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<Result<(), AdapterError>> {
        self.rooms.disconnect_sockets(opts, close)
    }
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>> {
        self.rooms.fetch_sockets(opts)
    }
    fn server_side_emit(&self, event: String, data: Data) -> BoxFuture<Result<(), AdapterError>> {
        self.rooms.server_side_emit(event, data)
    }
    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        Box::pin(std::future::ready(Ok(2)))
    }
}

/// A server whose namespaces get a `Relay`, and the relays made so far.
fn server() -> (SocketIo, Arc<Mutex<Vec<Arc<Relay>>>>) {
    let made: Arc<Mutex<Vec<Arc<Relay>>>> = Arc::default();
    let list = made.clone();
    let factory: AdapterFactory = Arc::new(move |nsp: WeakNamespace| {
        let relay = Arc::new(Relay {
            rooms: LocalAdapter::new(nsp.clone()),
            nsp,
            started: Arc::default(),
            closed: AtomicBool::new(false),
        });
        list.lock().unwrap().push(relay.clone());
        relay
    });
    (SocketIo::builder().adapter(factory).build(), made)
}

fn room(r: &str) -> BroadcastOptions {
    BroadcastOptions::default().to(r)
}

#[tokio::test]
async fn a_peer_request_reaches_this_nodes_sockets_through_local_namespace() {
    let (io, relays) = server();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    io.on_server_side("hello", move |d| s.lock().unwrap().push(d.args().to_vec()));
    let addr = serve(&io).await;
    let (mut a, ida) = Client::connect(addr, "/").await;
    let (mut b, idb) = Client::connect(addr, "/").await;
    let relay = relays.lock().unwrap()[0].clone();

    // A peer makes every socket join "r", then broadcasts to it.
    let (nsp, sids) = relay.peer_selects(&BroadcastOptions::default()).unwrap();
    assert_eq!(nsp.name(), "/");
    nsp.join(&sids, &["r".to_owned()]);
    let (nsp, sids) = relay.peer_selects(&room("r")).unwrap();
    assert_eq!(sids.len(), 2);
    let packet = Packet::event("/", json!(["news", 1]), None, Vec::new());
    nsp.deliver(&packet, &sids, &room("r"));
    assert_eq!(a.text().await, r#"42["news",1]"#);
    assert_eq!(b.text().await, r#"42["news",1]"#);

    // It fetches them, with their rooms.
    let mut infos = nsp.fetch(&sids);
    infos.sort_by_key(|i| i.id.to_string());
    let mut ids = vec![ida.clone(), idb.clone()];
    ids.sort();
    assert_eq!(
        infos.iter().map(|i| i.id.to_string()).collect::<Vec<_>>(),
        ids
    );
    assert!(infos.iter().all(|i| i.rooms.contains(&"r".to_owned())));

    // It makes `a` leave "r": a broadcast to "r" now reaches `b` alone.
    let a_sid = sids.iter().copied().find(|s| s.as_str() == ida).unwrap();
    nsp.leave(&[a_sid], &["r".to_owned()]);
    io.to("r").emit("after", json!(2)).unwrap();
    assert_eq!(b.text().await, r#"42["after",2]"#);
    a.nothing_before_probe(&io, &ida).await;

    // Its server-side emit runs this node's listeners.
    nsp.server_side_emit("hello", &Data::new().arg("peer"));
    assert_eq!(*seen.lock().unwrap(), vec![vec![json!("peer")]]);

    // It disconnects `b` from the namespace.
    let b_sid = sids.iter().copied().find(|s| s.as_str() == idb).unwrap();
    nsp.disconnect(&[b_sid], false);
    assert_eq!(b.text().await, "41");
    eventually(|| io.of("/").sockets().len() == 1).await;
}

#[tokio::test]
async fn broadcast_with_ack_through_local_namespace_collects_each_answer() {
    let (io, relays) = server();
    let addr = serve(&io).await;
    let (mut a, _) = Client::connect(addr, "/").await;
    let relay = relays.lock().unwrap()[0].clone();
    let (nsp, sids) = relay.peer_selects(&BroadcastOptions::default()).unwrap();
    let packet = Packet::event("/", json!(["ask"]), None, Vec::new());
    let (sent, answers) = nsp.deliver_with_ack(packet, &sids, Duration::from_secs(5));
    assert_eq!(sent, 1);
    let answers = tokio::spawn(answers.collect::<Vec<_>>());
    let asked = a.text().await;
    let id = asked
        .strip_prefix("42")
        .and_then(|r| r.split_once('['))
        .map(|(id, _)| id.to_owned())
        .unwrap();
    assert_eq!(asked, format!(r#"42{id}["ask"]"#));
    a.send(&format!(r#"43{id}["yes"]"#)).await;
    let answers = answers.await.unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].as_ref().unwrap().args(), &[json!("yes")]);
}

#[tokio::test]
async fn an_adapter_that_outlives_its_namespace_reports_it_gone() {
    let (io, relays) = server();
    let relay = relays.lock().unwrap()[0].clone();
    assert!(relay.nsp.upgrade().is_some());
    drop(io);
    assert!(relay.nsp.upgrade().is_none());
    let packet = Packet::event("/", json!(["x"]), None, Vec::new());
    let r = relay
        .rooms
        .broadcast(packet, BroadcastOptions::default())
        .await;
    assert_eq!(r, Err(AdapterError::NamespaceGone));
    let r = relay.rooms.fetch_sockets(BroadcastOptions::default()).await;
    assert!(matches!(r, Err(AdapterError::NamespaceGone)));
    let r = relay
        .rooms
        .add_sockets(BroadcastOptions::default(), vec!["r".into()])
        .await;
    assert_eq!(r, Err(AdapterError::NamespaceGone));
}

#[tokio::test]
async fn an_adapter_is_started_after_it_is_built_and_closed_with_the_server() {
    let (io, relays) = server();
    let relay = relays.lock().unwrap()[0].clone();
    assert_eq!(relay.server_id(), Some("relay-1"));
    // Its init did not finish at once: it goes on in the background.
    eventually(|| relay.started.load(Ordering::SeqCst)).await;
    assert!(!relay.closed.load(Ordering::SeqCst));
    io.of("/chat");
    let chat = relays.lock().unwrap()[1].clone();
    eventually(|| chat.started.load(Ordering::SeqCst)).await;
    io.close();
    assert!(relay.closed.load(Ordering::SeqCst));
    assert!(chat.closed.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_forgotten_dynamic_child_closes_its_adapter() {
    let (io, relays) = server();
    io.dynamic(|n| n.starts_with("/room-"));
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.join_nsp("/room-1", None).await;
    let child = relays.lock().unwrap()[1].clone();
    eventually(|| child.started.load(Ordering::SeqCst)).await;
    assert!(!child.closed.load(Ordering::SeqCst));
    // Its last socket leaves: the child is forgotten, and its adapter closed.
    c.send("41/room-1,").await;
    eventually(|| child.closed.load(Ordering::SeqCst)).await;
    assert!(!relays.lock().unwrap()[0].closed.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_sockets_json_data_is_what_fetch_sockets_reports() {
    let (io, _) = server();
    let addr = serve(&io).await;
    let (_c, id) = Client::connect(addr, "/").await;
    let s = io.of("/").sockets().pop().unwrap();
    assert_eq!(s.data(), serde_json::Value::Null);
    s.set_data(json!({"user": "u1"}));
    assert_eq!(s.data(), json!({"user": "u1"}));
    let infos = io.of("/").broadcast().fetch_sockets().await.unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!(
        (infos[0].id.to_string(), infos[0].data.clone()),
        (id, json!({"user": "u1"}))
    );
}
