//! The CONNECT answer is the first packet a socket gets, however busy its
//! namespace: a broadcaster on another thread hammers the namespace while
//! clients connect; with connection state recovery, the missed packets
//! come first (as the reference's recovered socket sends them from its
//! constructor), then the answer, then live ones, in order and each once.
//!
//! The broadcaster runs on its own thread and the server on two tokio
//! workers, so broadcasts really race the connections.
mod common;
use common::*;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use socketio::{BroadcastOperator, Namespace, RecoveryConfig, SocketIo, SocketIoConfig};

/// Emits `tick` with 0, 1, 2... to the whole namespace until stopped,
/// `pause` apart (busy-waiting: a sleep is far coarser); `sent` is the
/// number emitted so far.
struct Broadcaster {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Broadcaster {
    fn start(nsp: Namespace, volatile: bool, pause: Duration) -> Broadcaster {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (s, n) = (stop.clone(), sent.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let op: BroadcastOperator = match volatile {
                    true => nsp.broadcast().volatile(),
                    false => nsp.broadcast(),
                };
                op.emit("tick", json!(n.load(Ordering::Relaxed))).unwrap();
                n.fetch_add(1, Ordering::Release);
                let t = Instant::now();
                while t.elapsed() < pause {
                    std::hint::spin_loop();
                }
            }
        });
        Broadcaster {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }
}

impl Drop for Broadcaster {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The tick number and offset of a `42["tick",n(,"offset")]` packet.
fn tick(text: &str) -> (u64, Option<String>) {
    let v: Value = text
        .strip_prefix("42")
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_else(|| panic!("not an event: {text}"));
    assert_eq!(v[0], "tick", "{text}");
    let n = v[1].as_u64().unwrap_or_else(|| panic!("{text}"));
    (n, v[2].as_str().map(str::to_owned))
}

/// The first Socket.IO packet after CONNECT must be its answer.
fn answer(first: &str, round: usize) -> Value {
    let body = first
        .strip_prefix("40")
        .unwrap_or_else(|| panic!("round {round}: got {first} before the CONNECT answer"));
    serde_json::from_str(body).unwrap()
}

const CONCURRENT: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connect_answer_comes_before_any_broadcast() {
    let io = SocketIo::new();
    let addr = serve(&io).await;
    // Volatile: a client that falls behind misses ticks, never its connection.
    let b = Broadcaster::start(io.of("/"), true, Duration::from_micros(2));
    for round in 0..60 {
        let clients: Vec<_> = (0..CONCURRENT)
            .map(|_| {
                tokio::spawn(async move {
                    let mut c = Client::open(addr).await;
                    c.send("40").await;
                    let first = c.text().await;
                    answer(&first, round);
                    // And ticks do reach it afterwards.
                    tick(&c.text().await);
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
    }
    assert!(b.sent() > 0);
}

/// One client's round: connect, read a few ticks, drop the connection,
/// let ticks go by, recover, and read on past the ticks it missed: every
/// tick from the last one it had, once and in order, the missed ones
/// before the answer, the live ones after it.
async fn recover_once(addr: std::net::SocketAddr, sent: Arc<AtomicU64>, round: usize) {
    let mut c = Client::open(addr).await;
    c.send("40").await;
    let first = c.text().await;
    let a = answer(&first, round);
    let (sid, pid) = (a["sid"].clone(), a["pid"].as_str().unwrap().to_owned());
    let (mut last, mut offset) = tick(&c.text().await);
    for _ in 0..3 {
        let (n, o) = tick(&c.text().await);
        assert_eq!(n, last + 1, "round {round}: before the disconnect");
        (last, offset) = (n, o);
    }
    drop(c);
    // The server sees the transport close and keeps the session.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let mut c = Client::open(addr).await;
    let auth = json!({ "pid": pid, "offset": offset.unwrap() });
    c.send(&format!("40{auth}")).await;
    let before = last;
    let first = loop {
        let text = c.text().await;
        if text.starts_with("40") {
            break text;
        }
        let (n, _) = tick(&text);
        assert_eq!(
            n,
            last + 1,
            "round {round}: missed, before the answer, {text}"
        );
        last = n;
    };
    let a = answer(&first, round);
    assert_eq!(a["sid"], sid, "round {round}: not recovered: {first}");
    assert!(
        last > before,
        "round {round}: ticks went by, none came back"
    );
    // Past what was sent when it reconnected: missed and live ones both.
    let until = sent.load(Ordering::Acquire) + 30;
    while last < until {
        let text = c.text().await;
        let (n, _) = tick(&text);
        assert_eq!(n, last + 1, "round {round}: after recovery, {text}");
        last = n;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovered_packets_come_before_the_answer_in_order_and_once() {
    let config = SocketIoConfig::default().recovery(Some(RecoveryConfig {
        max_disconnection_duration: Duration::from_secs(30),
        skip_middlewares: true,
    }));
    let io = SocketIo::builder().config(config).build();
    let addr = serve_with(&io, engine_config().send_buffer(1 << 16)).await;
    let b = Broadcaster::start(io.of("/"), false, Duration::from_micros(20));
    for round in 0..10 {
        let clients: Vec<_> = (0..CONCURRENT)
            .map(|_| tokio::spawn(recover_once(addr, b.sent.clone(), round)))
            .collect();
        for c in clients {
            c.await.unwrap();
        }
    }
}
