//! The benchmark's floor: the least a server on tokio-tungstenite must do
//! to pass for `bench-server` with `loadgen` over WebSocket, written the
//! plain way (the "bare tokio-tungstenite server"). Our server must
//! beat this on fan-out, so `run.py` measures it in the same run.
//!
//! It is not a Socket.IO server and must not be used as one: WebSocket
//! only (no long-polling, no upgrade), no heartbeat, no namespaces beyond
//! answering `40`, no validation beyond what `loadgen` sends. Packets are
//! recognized by their prefix, not parsed:
//! - `40...`: answered with `40{"sid":...}`;
//! - `42N["echo",x]`: answered with `43N[x]`; `42["echo",x]` is sent back
//!   as it came;
//! - `42["broadcast",x]`: the frame as it came goes to every connection
//!   (one shared buffer, a clone per receiver);
//! - `42["broadcast-room","room",x]`: `42["broadcast",x]` to the room's
//!   connections;
//! - a handshake query `room=NAME` puts the connection in room NAME.
//!
//! Each connection is one task that writes what its queue holds, then
//! flushes once. One thread, like `bench-server`; `$PORT` as there.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

#[path = "../listen.rs"]
mod listen;

/// One open connection, as the broadcasts see it.
struct Peer {
    tx: UnboundedSender<Message>,
    room: Option<String>,
}

/// Every open connection by id.
type Registry = Rc<RefCell<HashMap<u64, Peer>>>;

fn main() -> std::io::Result<()> {
    let port = listen::port();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = listen::listen(port)?;
        eprintln!("bare-ws listening on 127.0.0.1:{port}");
        let registry = Registry::default();
        let mut next_id = 0u64;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            next_id += 1;
            tokio::task::spawn_local(serve(stream, registry.clone(), next_id));
        }
    })
}

/// The value of `room=` in a query string, if any.
fn room_of(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("room="))
        .map(str::to_owned)
}

async fn serve(stream: TcpStream, registry: Registry, id: u64) {
    let _ = stream.set_nodelay(true);
    let mut room = None;
    // The signature is tungstenite's `Callback`, large error type included.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| {
        room = req.uri().query().and_then(room_of);
        Ok(resp)
    };
    // tungstenite's default read buffer is 128 KiB, zero-filled on each
    // read (134 KiB per idle connection, 4.6 us per delivery in bursts
    // here); the reference (9.5 KiB, 2.1 us) read into a small one,
    // as this does and as `loadgen` does.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(mut ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
    else {
        return;
    };
    let sid = format!("{id:020}");
    let open = format!(
        "0{{\"sid\":\"{sid}\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
    );
    if ws.send(Message::text(open)).await.is_err() {
        return;
    }
    let (tx, mut rx) = unbounded_channel();
    registry.borrow_mut().insert(id, Peer { tx, room });
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = on_text(text, &sid, &registry) {
                        if ws.send(reply).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            Some(frame) = rx.recv() => {
                let mut res = ws.feed(frame).await;
                while let (Ok(()), Ok(frame)) = (&res, rx.try_recv()) {
                    res = ws.feed(frame).await;
                }
                if res.is_err() || ws.flush().await.is_err() {
                    break;
                }
            }
        }
    }
    registry.borrow_mut().remove(&id);
}

/// Queues `frame` on every connection, or on those in `room`.
fn fan_out(registry: &Registry, frame: &Message, room: Option<&str>) {
    for peer in registry.borrow().values() {
        if room.is_none() || peer.room.as_deref() == room {
            let _ = peer.tx.send(frame.clone());
        }
    }
}

/// The direct answer to a text frame, if it has one; broadcasts are sent
/// from here (a plain one as the frame came, its buffer shared).
fn on_text(frame: Utf8Bytes, sid: &str, registry: &Registry) -> Option<Message> {
    let text = frame.as_str();
    if text.starts_with("40") {
        return Some(Message::text(format!("40{{\"sid\":\"{sid}\"}}")));
    }
    let body = text.strip_prefix("42")?;
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    let (ack, args) = body.split_at(digits);
    if let Some(arg) = args.strip_prefix("[\"echo\",") {
        return Some(if ack.is_empty() {
            Message::text(text)
        } else {
            Message::text(format!("43{ack}[{arg}"))
        });
    }
    if ack.is_empty() && args.starts_with("[\"broadcast\",") {
        fan_out(registry, &Message::Text(frame), None);
        return None;
    }
    if args.starts_with("[\"broadcast-room\",") {
        let Ok(serde_json::Value::Array(mut v)) = serde_json::from_str(args) else {
            return None;
        };
        if v.len() != 3 {
            return None;
        }
        let arg = v.pop().unwrap_or_default();
        let serde_json::Value::String(room) = v.pop().unwrap_or_default() else {
            return None;
        };
        let frame = Message::text(format!("42[\"broadcast\",{arg}]"));
        fan_out(registry, &frame, Some(&room));
    }
    None
}
