//! The core without tokio: a hand-written runtime (threads) and a
//! hand-written connection, fed messages directly.
mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use engineio::SendError;
use serde_json::json;
use socketio::{BoxFuture, Conn, ConnectionInfo, Data, Encoded, Runtime, SocketIo, SocketIoConfig};

/// Runs each spawned future on its own thread, parking between polls.
struct Threads;

struct Unpark(std::thread::Thread);
impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_millis(5));
    }
}

/// Completes once its deadline passed (checked on each poll).
struct Until(std::time::Instant);
impl Future for Until {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::time::Instant::now() >= self.0 {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl Runtime for Threads {
    fn spawn(&self, fut: BoxFuture<()>) {
        std::thread::spawn(move || block_on(fut));
    }
    fn sleep(&self, d: Duration) -> BoxFuture<()> {
        Box::pin(Until(std::time::Instant::now() + d))
    }
}

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<String>>,
    compress: Mutex<Vec<bool>>,
    closed: Mutex<bool>,
}

impl Conn for Recorder {
    fn send(&self, p: &Encoded) -> Result<(), SendError> {
        self.sent
            .lock()
            .unwrap()
            .push(p.text().unwrap().to_string());
        self.compress.lock().unwrap().push(p.compress());
        Ok(())
    }
    fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }
}

/// A connection's handshake facts, as a transport would report them.
fn info() -> ConnectionInfo {
    ConnectionInfo {
        url: "/socket.io/?EIO=4&transport=websocket".into(),
        headers: Default::default(),
        address: None,
        issued: std::time::SystemTime::now(),
        sid: None,
    }
}

fn wait_for(conn: &Recorder, n: usize) -> Vec<String> {
    for _ in 0..400 {
        let s = conn.sent.lock().unwrap().clone();
        if s.len() >= n {
            return s;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("only {:?}", conn.sent.lock().unwrap());
}

#[test]
fn runs_on_a_custom_runtime_and_connection() {
    let io = SocketIo::builder().runtime(Arc::new(Threads)).build();
    io.of("/").on_connection(|s| async move {
        s.on("double", |_, d: Data, ack| async move {
            let n: i64 = d.get(0).unwrap_or(0);
            if let Some(ack) = ack {
                let _ = ack.send(json!(n * 2));
            }
        });
    });
    let conn = Arc::new(Recorder::default());
    let c = io.accept(conn.clone(), info());
    c.handle_text("0");
    assert!(wait_for(&conn, 1)[0].starts_with("0{\"sid\":"));
    c.handle_text(r#"21["double",21]"#);
    assert_eq!(wait_for(&conn, 2)[1], "31[42]");
    c.handle_text("garbage");
    assert!(
        *conn.closed.lock().unwrap(),
        "parse error closes the connection"
    );
}

/// Accepts `room` packets, then reports a full buffer.
struct Tight {
    room: usize,
    sent: Mutex<usize>,
    closed: Mutex<bool>,
}

impl Conn for Tight {
    fn send(&self, _: &Encoded) -> Result<(), SendError> {
        let mut n = self.sent.lock().unwrap();
        if *n >= self.room {
            return Err(SendError::Full);
        }
        *n += 1;
        Ok(())
    }
    fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }
}

#[test]
fn a_full_buffer_misses_volatile_broadcasts_and_closes_on_others() {
    let io = SocketIo::builder().runtime(Arc::new(Threads)).build();
    let conn = Arc::new(Tight {
        room: 1,
        sent: Mutex::new(0),
        closed: Mutex::new(false),
    });
    let c = io.accept(conn.clone(), info());
    c.handle_text("0"); // the CONNECT answer fills the buffer
    io.of("/")
        .broadcast()
        .volatile()
        .emit("v", json!(1))
        .unwrap();
    assert!(
        !*conn.closed.lock().unwrap(),
        "volatile: dropped for this client only"
    );
    io.emit("important", json!(2)).unwrap();
    assert!(
        *conn.closed.lock().unwrap(),
        "never dropped silently: the connection closes"
    );
}

#[test]
fn the_compress_flag_reaches_the_connection() {
    let io = SocketIo::builder().runtime(Arc::new(Threads)).build();
    let conn = Arc::new(Recorder::default());
    let c = io.accept(conn.clone(), info());
    c.handle_text("0");
    wait_for(&conn, 1);
    io.emit("a", json!(1)).unwrap();
    io.of("/")
        .broadcast()
        .compress(false)
        .emit("b", json!(2))
        .unwrap();
    wait_for(&conn, 3);
    assert_eq!(*conn.compress.lock().unwrap(), [true, true, false]);
}

/// A broadcast reads its recipients ahead in batches (of 16): every one of
/// them, batch boundaries included, gets each packet once and in order, to
/// the whole namespace and to a room.
#[test]
fn broadcasts_reach_every_recipient_once_across_batches() {
    let io = SocketIo::builder().runtime(Arc::new(Threads)).build();
    io.of("/").on_connection(|s| async move {
        if s.handshake().query("room").is_some() {
            s.join("r");
        }
    });
    let conns: Vec<Arc<Recorder>> = (0..37).map(|_| Arc::new(Recorder::default())).collect();
    let mut clients = Vec::new();
    for (i, conn) in conns.iter().enumerate() {
        let mut info = info();
        if i % 3 == 0 {
            info.url.push_str("&room=1");
        }
        let c = io.accept(conn.clone(), info);
        c.handle_text("0");
        wait_for(conn, 1);
        clients.push(c);
    }
    io.emit("all", json!(1)).unwrap();
    io.to("r").emit("room", json!(2)).unwrap();
    io.emit("all", json!(3)).unwrap();
    for (i, conn) in conns.iter().enumerate() {
        let mut want = vec![r#"2["all",1]"#];
        if i % 3 == 0 {
            want.push(r#"2["room",2]"#);
        }
        want.push(r#"2["all",3]"#);
        let got = wait_for(conn, 1 + want.len());
        assert_eq!(got[1..], want, "recipient {i}");
    }
}

/// Keeps spawned futures until the test runs them; sleeps end at once.
#[derive(Default)]
struct Later(Mutex<Vec<BoxFuture<()>>>);

impl Runtime for Later {
    fn spawn(&self, fut: BoxFuture<()>) {
        self.0.lock().unwrap().push(fut);
    }
    fn sleep(&self, _: Duration) -> BoxFuture<()> {
        Box::pin(std::future::ready(()))
    }
}

impl Later {
    fn run_all(&self) {
        loop {
            let jobs: Vec<BoxFuture<()>> = std::mem::take(&mut *self.0.lock().unwrap());
            if jobs.is_empty() {
                return;
            }
            for j in jobs {
                block_on(j);
            }
        }
    }
}

#[test]
fn connection_handlers_join_rooms_before_anyone_sees_the_answer() {
    // The reference runs its connection handler in the same tick as the
    // CONNECT answer: rooms joined there are joined before a broadcast
    // triggered by the client's `connect` could be computed. Output after
    // the answer waits for connect_ack_gap, in order.
    let rt = Arc::new(Later::default());
    let config = SocketIoConfig::default().connect_ack_gap(Duration::from_millis(1));
    let io = SocketIo::builder()
        .runtime(rt.clone())
        .config(config)
        .build();
    io.of("/").on_connection(|s| async move {
        s.join("r");
        let _ = s.emit("hi", json!(1));
    });
    let conn = Arc::new(Recorder::default());
    let c = io.accept(conn.clone(), info());
    c.handle_text("0");
    // Nothing spawned has run: the handler ran up to its end in place.
    let sent = conn.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("0{\"sid\":"), "{sent:?}");
    io.to("r").emit("room", json!(2)).unwrap();
    assert_eq!(conn.sent.lock().unwrap().len(), 1, "held during the gap");
    rt.run_all();
    let sent = conn.sent.lock().unwrap().clone();
    assert_eq!(sent[1..], [r#"2["hi",1]"#, r#"2["room",2]"#], "{sent:?}");
    // After the gap, output is direct again.
    io.emit("later", json!(3)).unwrap();
    assert_eq!(conn.sent.lock().unwrap().len(), 4);
}

/// Pending until opened; wakes whoever waited when opened.
#[derive(Default)]
struct Gate(Mutex<(bool, Option<Waker>)>);

impl Gate {
    fn open(&self) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut g = self.0.lock().unwrap();
            if g.0 {
                Poll::Ready(())
            } else {
                g.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

#[test]
fn handlers_run_in_place_and_in_order() {
    let rt = Arc::new(Later::default());
    let io = SocketIo::builder().runtime(rt.clone()).build();
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    io.of("/").on_connection(move |s| {
        let g = g.clone();
        async move {
            s.on("fast", |_, d: Data, ack| async move {
                let _ = ack.unwrap().send(d);
            });
            s.on("slow", move |_, d: Data, ack| {
                let g = g.clone();
                async move {
                    g.wait().await;
                    let _ = ack.unwrap().send(d);
                }
            });
        }
    });
    let conn = Arc::new(Recorder::default());
    let c = io.accept(conn.clone(), info());
    c.handle_text("0");
    rt.run_all();
    let base = conn.sent.lock().unwrap().len();
    // A handler that does not await runs to its end inside handle_text:
    // its ack is out at once and nothing was spawned for it.
    c.handle_text(r#"21["fast",1]"#);
    assert_eq!(conn.sent.lock().unwrap()[base..], ["31[1]"]);
    assert!(
        rt.0.lock().unwrap().is_empty(),
        "no task for a finished handler"
    );
    // One that awaits moves to the queue task; later events wait behind it.
    c.handle_text(r#"22["slow",2]"#);
    c.handle_text(r#"23["fast",3]"#);
    assert_eq!(
        conn.sent.lock().unwrap().len(),
        base + 1,
        "fast waits for slow"
    );
    assert_eq!(rt.0.lock().unwrap().len(), 1, "one queue task");
    gate.open();
    rt.run_all();
    assert_eq!(
        conn.sent.lock().unwrap()[base..],
        ["31[1]", "32[2]", "33[3]"]
    );
    // The queue drained: the next event runs in place again.
    c.handle_text(r#"24["fast",4]"#);
    assert_eq!(conn.sent.lock().unwrap().len(), base + 4);
    assert!(rt.0.lock().unwrap().is_empty());
}

#[test]
fn a_handler_that_awaits_outlives_the_connection_closing() {
    // As in the reference, a handler already running finishes after its
    // connection closed (queued ones are dropped): here it went to a queue
    // task at its first await, just before the close.
    let rt = Arc::new(Later::default());
    let io = SocketIo::builder().runtime(rt.clone()).build();
    let gate = Arc::new(Gate::default());
    let finished = Arc::new(Mutex::new(false));
    let (g, f) = (gate.clone(), finished.clone());
    io.of("/").on_connection(move |s| {
        let (g, f) = (g.clone(), f.clone());
        async move {
            s.on("bye", move |_, _: Data, _| {
                let (g, f) = (g.clone(), f.clone());
                async move {
                    g.wait().await;
                    *f.lock().unwrap() = true;
                }
            });
        }
    });
    let conn = Arc::new(Recorder::default());
    let c = io.accept(conn.clone(), info());
    c.handle_text("0");
    rt.run_all();
    c.handle_text(r#"2["bye"]"#);
    c.handle_close(socketio::DisconnectReason::TransportClose);
    gate.open();
    rt.run_all();
    assert!(*finished.lock().unwrap(), "the running handler was dropped");
}

/// A socket.io v2 client (Engine.IO 3): connected to `/` without asking,
/// a namespace's query is its auth, answers carry no CONNECT payload and
/// a refusal carries the error's data, else its message.
#[test]
fn a_v2_client_is_joined_to_main_and_authenticates_by_query() {
    let io = SocketIo::builder().runtime(Arc::new(Threads)).build();
    io.of("/admin").use_middleware(|s| async move {
        match s.handshake().auth.get("token").and_then(|t| t.as_str()) {
            Some("ok") => Ok(()),
            _ => Err(socketio::ConnectError::new("denied")),
        }
    });
    io.of("/data").use_middleware(|_| async move {
        Err(socketio::ConnectError::new("no").with_data(json!({ "code": 7 })))
    });
    let conn = Arc::new(Recorder::default());
    let v2 = ConnectionInfo {
        url: "/socket.io/?EIO=3&transport=polling".into(),
        ..info()
    };
    let c = io.accept(conn.clone(), v2);
    assert_eq!(wait_for(&conn, 1)[0], "0");
    c.handle_text("0/admin?token=bad,");
    assert_eq!(wait_for(&conn, 2)[1], r#"4/admin,"denied""#);
    c.handle_text("0/admin?token=ok,");
    assert_eq!(wait_for(&conn, 3)[2], "0/admin,");
    c.handle_text("0/data,");
    assert_eq!(wait_for(&conn, 4)[3], r#"4/data,{"code":7}"#);
    assert!(!*conn.closed.lock().unwrap());
}

/// A socket.io v2 client's socket ids are the ones it computes itself, as
/// in the reference: the Engine.IO id on `/`, `nsp#engineId` elsewhere;
/// that id names its own room and comes back from `fetch_sockets`, and
/// recovery, which v2 lacks, neither answers nor restores it.
#[test]
fn a_v2_client_gets_the_socket_ids_it_computes() {
    let config = SocketIoConfig::default().recovery(Some(socketio::RecoveryConfig::default()));
    let io = SocketIo::builder()
        .runtime(Arc::new(Threads))
        .config(config)
        .build();
    io.of("/chat");
    let conn = Arc::new(Recorder::default());
    let sid = engineio::Sid::random();
    let v2 = ConnectionInfo {
        url: "/socket.io/?EIO=3&transport=polling".into(),
        ..info()
    }
    .with_sid(sid);
    let c = io.accept(conn.clone(), v2);
    assert_eq!(wait_for(&conn, 1)[0], "0");
    let main = io.of("/").sockets();
    assert_eq!(main.len(), 1);
    assert_eq!(main[0].id(), sid);
    assert_eq!(main[0].public_id(), sid.as_str());
    // A recovery claim in the query is just auth for a v2 client.
    c.handle_text("0/chat?pid=x&offset=y,");
    assert_eq!(wait_for(&conn, 2)[1], "0/chat,");
    let chat = io.of("/chat").sockets();
    let own = format!("/chat#{sid}");
    assert_eq!(chat[0].id(), sid);
    assert_eq!(chat[0].public_id(), own);
    assert_eq!(chat[0].rooms(), vec![own.clone()]);
    assert_eq!(socketio::parse_socket_id(&own), Some(sid));
    io.of("/chat").to(own.clone()).emit("hi", json!(1)).unwrap();
    // Recovery on: the broadcast carries its offset, for every client, as
    // in the reference (one encoding for all recipients).
    assert!(wait_for(&conn, 3)[2].starts_with(r#"2/chat,["hi",1,""#));
    let infos = block_on(io.of("/chat").broadcast().fetch_sockets()).unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!(
        (infos[0].id, infos[0].public_id.as_str()),
        (sid, own.as_str())
    );
    block_on(io.of("/chat").to(own).disconnect_sockets(false)).unwrap();
    assert_eq!(wait_for(&conn, 4)[3], "1/chat,");
    assert!(io.of("/chat").sockets().is_empty());
}

#[test]
fn socket_ids_parse_from_either_form() {
    let sid = engineio::Sid::random();
    assert_eq!(socketio::parse_socket_id(sid.as_str()), Some(sid));
    assert_eq!(socketio::parse_socket_id(&format!("/a/b#{sid}")), Some(sid));
    assert_eq!(socketio::parse_socket_id(&format!("a#{sid}")), None);
    assert_eq!(socketio::parse_socket_id(&format!("/a#{sid}x")), None);
    assert_eq!(socketio::parse_socket_id("/a#"), None);
    assert_eq!(socketio::parse_socket_id(""), None);
}
