//! A `Conn` may close its connection from inside `send`: an embedder whose
//! transport reports a failed send by closing at once, synchronously
//! (`Connection::handle_close`, which removes the socket from its
//! namespace). Broadcasts must send with no namespace lock held, or that
//! close deadlocks on the thread that broadcasts.
//!
//! Each step runs on its own thread with a deadline, so a deadlock fails
//! the test instead of hanging it.
mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use engineio::SendError;
use serde_json::json;
use socketio::{Conn, Connection, DisconnectReason, Encoded, Namespace, SocketIo, SocketIoConfig};
use support::{pair::info, ManualRuntime};

/// A connection whose sends fail once `failing` is set; the failing send
/// closes the connection there and then, as an embedder would.
#[derive(Default)]
struct ClosesOnSend {
    sent: Mutex<Vec<String>>,
    failing: AtomicBool,
    closed: AtomicBool,
    conn: Mutex<Option<Connection>>,
}

impl Conn for ClosesOnSend {
    fn send(&self, packet: &Encoded) -> Result<(), SendError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        if !self.failing.load(Ordering::Acquire) {
            self.sent
                .lock()
                .unwrap()
                .push(packet.text().unwrap().to_string());
            return Ok(());
        }
        self.closed.store(true, Ordering::Release);
        let conn = self.conn.lock().unwrap().clone();
        if let Some(c) = conn {
            c.handle_close(DisconnectReason::TransportClose);
        }
        Err(SendError::Closed)
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

impl ClosesOnSend {
    fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }
}

/// A server on a manual runtime whose sockets of `/` join `room` and
/// count their disconnects.
struct Server {
    rt: ManualRuntime,
    io: SocketIo,
    disconnects: Arc<AtomicUsize>,
}

impl Server {
    fn new() -> Server {
        let rt = ManualRuntime::new();
        let io = SocketIo::builder()
            .runtime(rt.handle())
            .config(SocketIoConfig::default())
            .build();
        let disconnects = Arc::new(AtomicUsize::new(0));
        let d = disconnects.clone();
        io.of("/").on_connection(move |s| {
            let d = d.clone();
            s.join("room");
            s.on_disconnect(move |_, _| {
                d.fetch_add(1, Ordering::AcqRel);
            });
            // Emits to the room the sender is in, itself included.
            s.on("to_room", |s, _, _| async move {
                let _ = s.nsp().to("room").emit("r", json!(1));
            });
            s.on("to_self", |s, _, _| async move {
                let _ = s.emit("me", json!(2));
            });
            async {}
        });
        Server {
            rt,
            io,
            disconnects,
        }
    }

    /// A connection that joined `/`.
    fn connect(&self) -> (Arc<ClosesOnSend>, Connection) {
        let peer = Arc::new(ClosesOnSend::default());
        let conn = self.io.accept(peer.clone(), info());
        *peer.conn.lock().unwrap() = Some(conn.clone());
        conn.handle_text("0");
        self.rt.run_until_idle();
        assert!(peer.sent()[0].starts_with("0{"), "{:?}", peer.sent());
        (peer, conn)
    }

    fn nsp(&self) -> Namespace {
        self.io.of("/")
    }
}

/// Runs `f` on its own thread; fails if it does not return within a few
/// seconds (a deadlock).
fn within(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: deadlocked"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

/// Three connected sockets, the middle one's sends failing from now on.
fn three(server: &Server) -> [(Arc<ClosesOnSend>, Connection); 3] {
    let all = [server.connect(), server.connect(), server.connect()];
    all[1].0.failing.store(true, Ordering::Release);
    all
}

fn got(peer: &ClosesOnSend, text: &str) -> bool {
    peer.sent().iter().any(|t| t == text)
}

#[test]
fn a_broadcast_survives_a_conn_that_closes_on_send() {
    let server = Server::new();
    let [a, b, c] = three(&server);
    let nsp = server.nsp();
    within("namespace broadcast", move || {
        nsp.emit("hi", json!(0)).unwrap();
    });
    assert!(got(&a.0, r#"2["hi",0]"#), "{:?}", a.0.sent());
    assert!(got(&c.0, r#"2["hi",0]"#), "{:?}", c.0.sent());
    assert!(!got(&b.0, r#"2["hi",0]"#));
    // The failing socket is gone, and only it.
    assert_eq!(server.nsp().sockets().len(), 2);
    assert!(b.1.sockets().is_empty());
    assert_eq!(server.disconnects.load(Ordering::Acquire), 1);
    // The namespace still works for the others.
    let nsp = server.nsp();
    within("second broadcast", move || {
        nsp.to("room").emit("again", json!(1)).unwrap();
    });
    assert!(got(&a.0, r#"2["again",1]"#));
    assert!(got(&c.0, r#"2["again",1]"#));
}

#[test]
fn a_handler_emitting_to_its_room_survives_its_conn_closing_on_send() {
    let server = Server::new();
    let [a, b, c] = three(&server);
    let conn = b.1.clone();
    within("handler broadcast", move || {
        conn.handle_text(r#"2["to_room"]"#);
    });
    server.rt.run_until_idle();
    assert!(got(&a.0, r#"2["r",1]"#), "{:?}", a.0.sent());
    assert!(got(&c.0, r#"2["r",1]"#), "{:?}", c.0.sent());
    assert_eq!(server.nsp().sockets().len(), 2);
    assert!(b.1.sockets().is_empty());
    assert_eq!(server.disconnects.load(Ordering::Acquire), 1);
}

#[test]
fn a_handler_emitting_to_itself_survives_its_conn_closing_on_send() {
    let server = Server::new();
    let [a, b, c] = three(&server);
    let conn = b.1.clone();
    within("handler emit to self", move || {
        conn.handle_text(r#"2["to_self"]"#);
    });
    server.rt.run_until_idle();
    assert!(!got(&a.0, r#"2["me",2]"#) && !got(&c.0, r#"2["me",2]"#));
    assert_eq!(server.nsp().sockets().len(), 2);
    assert!(b.1.sockets().is_empty());
    assert_eq!(server.disconnects.load(Ordering::Acquire), 1);
}

/// The CONNECT answer itself fails and closes the connection, and the
/// socket's disconnect handler (registered by a middleware) closes it too,
/// which releases the socket's held output: sending the answer must not
/// hold that output's lock.
#[test]
fn a_connect_answer_survives_a_conn_that_closes_on_send() {
    let server = Server::new();
    let closes = Arc::new(AtomicUsize::new(0));
    let n = closes.clone();
    server.nsp().use_middleware(move |s| {
        let n = n.clone();
        s.on_disconnect(move |s, _| {
            n.fetch_add(1, Ordering::AcqRel);
            s.close_connection();
        });
        async { Ok(()) }
    });
    let (a, _) = server.connect();
    let peer = Arc::new(ClosesOnSend::default());
    peer.failing.store(true, Ordering::Release);
    let conn = server.io.accept(peer.clone(), info());
    *peer.conn.lock().unwrap() = Some(conn.clone());
    let c = conn.clone();
    within("connect answer", move || c.handle_text("0"));
    server.rt.run_until_idle();
    // a's own disconnect handler did not run; the failing socket's did.
    assert_eq!(closes.load(Ordering::Acquire), 1);
    assert!(peer.sent().is_empty());
    assert!(conn.sockets().is_empty());
    assert_eq!(server.nsp().sockets().len(), 1);
    // The namespace still delivers.
    let nsp = server.nsp();
    within("broadcast after", move || nsp.emit("x", json!(3)).unwrap());
    assert!(got(&a, r#"2["x",3]"#), "{:?}", a.sent());
}
