//! The check behind `tests/event_text.rs` and the `sio_event_text` fuzz
//! target: a text EVENT fed to a fresh connection whose handler records
//! what it reads and acks it back, against what the general decoder
//! (`Packet::decode`) makes of the same text.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use engineio::{SendError, Str};
use serde_json::Value;
use socketio::{
    BoxFuture, Conn, ConnectionInfo, Data, Decoder, Encoded, Packet, PacketType, Runtime, SocketIo,
};

/// Spawns nothing (every handler here finishes where it is called) and
/// never wakes a timer.
struct Inline;

struct Never;
impl Future for Never {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Runtime for Inline {
    fn spawn(&self, _: BoxFuture<()>) {}
    fn sleep(&self, _: Duration) -> BoxFuture<()> {
        Box::pin(Never)
    }
}

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<String>>,
    closed: Mutex<bool>,
}

impl Conn for Recorder {
    fn send(&self, p: &Encoded) -> Result<(), SendError> {
        let text = p.text().map(|t| t.to_string()).unwrap_or_default();
        self.sent.lock().unwrap().push(text);
        Ok(())
    }
    fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }
}

/// Events the handler saw: name and arguments.
static SEEN: Mutex<Vec<(String, Vec<Value>)>> = Mutex::new(Vec::new());

fn server() -> &'static SocketIo {
    static IO: OnceLock<SocketIo> = OnceLock::new();
    IO.get_or_init(|| {
        let io = SocketIo::builder().runtime(Arc::new(Inline)).build();
        io.of("/").on_connection(|s| async move {
            s.on_fallback(|_, name, data: Data, ack| async move {
                SEEN.lock().unwrap().push((name, data.args().to_vec()));
                if let Some(ack) = ack {
                    let _ = ack.send(data);
                }
            });
        });
        io
    })
}

fn info() -> ConnectionInfo {
    ConnectionInfo {
        url: "/socket.io/?EIO=4&transport=websocket".into(),
        headers: Default::default(),
        address: None,
        issued: std::time::SystemTime::now(),
        sid: None,
    }
}

/// Feeds `s` to a fresh connection and checks it against the decoder.
pub fn check(s: &str) {
    if !s.starts_with('2') {
        return;
    }

    if !s.starts_with('2') {
        return;
    }
    // The general path: the decoder a connection would use.
    let expected = match Decoder::default().decode_text(s) {
        Ok(Some(p)) if p.ty == PacketType::Event => {
            if p.nsp != "/" {
                return;
            }
            let Some(Value::Array(mut a)) = p.data else {
                unreachable!("an event's payload is an array");
            };
            let Value::String(name) = a.remove(0) else {
                unreachable!("an event's name is a string");
            };
            Some((name, a, p.id))
        }
        Ok(_) => return,
        Err(_) => None,
    };
    let conn = Arc::new(Recorder::default());
    let c = server().accept(conn.clone(), info());
    c.handle_text("0");
    assert_eq!(conn.sent.lock().unwrap().len(), 1, "connected");
    SEEN.lock().unwrap().clear();
    c.handle_message(Str::from(s), None);
    let seen = std::mem::take(&mut *SEEN.lock().unwrap());
    let sent = conn.sent.lock().unwrap().clone();
    match expected {
        None => {
            assert!(*conn.closed.lock().unwrap(), "refused text closes: {s:?}");
            assert!(seen.is_empty(), "refused text ran a handler: {s:?}");
        }
        Some((name, args, id)) => {
            assert!(!*conn.closed.lock().unwrap(), "accepted text closed: {s:?}");
            assert_eq!(seen, vec![(name, args.clone())], "{s:?}");
            if let Some(id) = id {
                assert_eq!(sent.len(), 2, "{s:?}");
                let answer = Packet::decode(&sent[1], 10).expect("the ack decodes");
                assert_eq!(answer.ty, PacketType::Ack);
                assert_eq!(answer.id, Some(id));
                assert_eq!(answer.data, Some(Value::Array(args)), "{s:?}");
            }
        }
    }
    c.handle_close(socketio::DisconnectReason::TransportClose);
}
