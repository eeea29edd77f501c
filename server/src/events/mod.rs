//! The product events of `../shared/seeds`: what clients of the systems
//! this server stands in for emit, and what they expect back.
//!
//! - Rooms: `join-room` / `leave-room` / `get-rooms` (answered through the
//!   client's ack), `room:join` / `room:leave` (answered with
//!   `room:join:ack` / `room:leave:ack`, and the ack when asked),
//!   `conversation:join` / `conversation:leave`.
//! - `private-message` `{to, message}` to another socket of the namespace.
//! - `register` (`register:ack`), `authenticate` (`authenticated` or
//!   `authError`), `ping` (`pong`, and an empty ack when asked).
//! - `client:event`, `client:message`, `client:action`, answered with
//!   `server:response`, `message:ack`, `action:result` and forwarded to
//!   `events.forward_room` when one is set.
//! - Chat: `message:send` (`message:new` to the conversation,
//!   `message:delivered` to the sender), `message:read` (to the message's
//!   sender), `typing:start` / `typing:stop`, `user:status`, presence
//!   (`user:online` / `user:offline`) and `getOnlineUsers`.
//! - On connect: `system:welcome` and `connected`; after a reconnection
//!   that asked for recovery, `system:state_recovered` or
//!   `system:state_recovery_failed`.
//!
//! A refused request gets `{success: false, error, code}` where the
//! client listens (its ack or the reply event) and otherwise the `error`
//! event `{event, message, code}`. Client rooms can never be the server's
//! own: the `user_` and `role_` rooms and the rooms named by socket ids
//! (see [`crate::identity::sid_room_reserved`]).
//!
//! Each family of events is one file, and one row of `FAMILIES`: its
//! events with their reply events and handlers, and what it does when a
//! socket connects or disconnects. This module holds the table and what
//! the families share (where an answer goes, emitting with counts, the
//! argument helpers); it must not know any family's events.
//!
//! Locks here guard a map lookup or update and are never held across an
//! emit or an await. Nothing here reads the HTTP side or the config layers.

mod backend;
mod chat;
mod messaging;
mod presence;
mod rooms;
mod system;
mod typescript;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{json, Value};
use socketio::{AckSender, BroadcastOperator, Data, Namespace, Socket};

use crate::monitor::iso8601;
use crate::reply::{failure, json_len};
use crate::state::{Live, State};

pub use rooms::{check_room, RoomError};
pub use typescript::declarations as typescript;

/// What answers one event: the state, the settings in force, the socket,
/// the event's data and where the answer goes.
type Handler = fn(&State, &Live, &Socket, &Data, Reply);

/// One event of a family: its name, the event its answer is sent as (also
/// to the ack when the client asked for one), and its handler.
struct Event {
    name: &'static str,
    reply: Option<&'static str>,
    handler: Handler,
    /// The TypeScript parameters of the client's emit, before the ack
    /// (e.g. `room: string`); see [`typescript`].
    args: &'static str,
    /// The TypeScript type of the answer (the ack's and the reply
    /// event's), empty when the event is not answered.
    answer: &'static str,
}

/// A row of a family's table.
const fn event(name: &'static str, reply: Option<&'static str>, handler: Handler) -> Event {
    Event {
        name,
        reply,
        handler,
        args: "",
        answer: "",
    }
}

impl Event {
    /// The row with its TypeScript parameters and answer type.
    const fn ts(self, args: &'static str, answer: &'static str) -> Event {
        Event {
            args,
            answer,
            ..self
        }
    }
}

/// An event the server emits on its own (not a reply), with the
/// TypeScript type of its payload.
struct Emit {
    name: &'static str,
    payload: &'static str,
}

/// A row of a family's emits.
const fn emits(name: &'static str, payload: &'static str) -> Emit {
    Emit { name, payload }
}

/// What any family or the server itself may emit: refusals without an
/// ack or reply event, and the drain notice.
const COMMON_EMITS: &[Emit] = &[
    emits(
        "error",
        "{ event: string; message: string; code: string; retryAfter?: number }",
    ),
    emits(
        "server:shutdown",
        "{ message: string; reconnectIn: number; timestamp: string }",
    ),
    emits(
        "server_shutdown",
        "{ message: string; reconnectIn: number; timestamp: string }",
    ),
];

/// A family of events: one file and one row of [`FAMILIES`].
struct Family {
    /// The events it answers.
    events: &'static [Event],
    /// The events it emits besides its replies.
    emits: &'static [Emit],
    /// Runs for a new socket after every handler is installed, when the
    /// events are enabled; families run in table order.
    on_connect: Option<fn(&Arc<State>, &Live, &Socket)>,
    /// Runs when a socket disconnects, enabled or not (what the socket was
    /// counted in must be uncounted).
    on_close: Option<fn(&Arc<State>, &Socket)>,
}

/// Every family, in the order their connect hooks run (the welcome before
/// the presence announcement).
const FAMILIES: &[Family] = &[
    rooms::FAMILY,
    messaging::FAMILY,
    system::FAMILY,
    backend::FAMILY,
    chat::FAMILY,
    presence::FAMILY,
];

/// Installs the handlers on a new socket, then runs the families' connect
/// hooks (the welcome events, the user's presence).
pub fn install(st: &Arc<State>, socket: &Socket) {
    let rules = st.live();
    for f in FAMILIES {
        for &Event {
            name,
            reply,
            handler,
            ..
        } in f.events
        {
            // An application rule (`[[proxy]]`, `[[relay]]`) that takes this
            // event wins over the built-in handler (see `crate::gateway`).
            if rules.config.app_route(socket.nsp().name(), name).is_some() {
                continue;
            }
            let st = st.clone();
            socket.on(name, move |s, data, ack| {
                let live = st.live();
                if live.config.events.enabled {
                    let r = Reply {
                        st: &st,
                        socket: &s,
                        event: name,
                        ack,
                        reply,
                    };
                    handler(&st, &live, &s, &data, r);
                }
                std::future::ready(())
            });
        }
    }
    let live = st.live();
    if !live.config.events.enabled {
        return;
    }
    for hook in FAMILIES.iter().filter_map(|f| f.on_connect) {
        hook(st, &live, socket);
    }
}

/// Called when a socket disconnects: the families' close hooks.
pub fn closed(st: &Arc<State>, socket: &Socket) {
    for hook in FAMILIES.iter().filter_map(|f| f.on_close) {
        hook(st, socket);
    }
}

/// Where an answer goes: the client's ack, a reply event, or both.
/// Handlers that ask the cluster move its parts into a task and answer
/// from there.
struct Reply<'a> {
    st: &'a Arc<State>,
    socket: &'a Socket,
    event: &'static str,
    ack: Option<AckSender>,
    reply: Option<&'static str>,
}

/// A [`Reply`] moved into a task (for a handler that asks the cluster).
struct Later {
    st: Arc<State>,
    socket: Socket,
    event: &'static str,
    ack: Option<AckSender>,
    reply: Option<&'static str>,
}

impl Later {
    /// Answers through the [`Reply`] this was.
    fn answer(self, f: impl FnOnce(Reply<'_>)) {
        let Later {
            st,
            socket,
            event,
            ack,
            reply,
        } = self;
        f(Reply {
            st: &st,
            socket: &socket,
            event,
            ack,
            reply,
        })
    }
}

impl Reply<'_> {
    /// The parts of this reply, to answer from a task.
    fn later(self) -> Later {
        Later {
            st: self.st.clone(),
            socket: self.socket.clone(),
            event: self.event,
            ack: self.ack,
            reply: self.reply,
        }
    }

    fn emit(&self, event: &str, body: Value) {
        emit(self.st, self.socket, event, body);
    }

    /// Answers with `body` (a success).
    fn ok(self, body: Value) {
        if let Some(r) = self.reply {
            self.emit(r, body.clone());
        }
        if let Some(a) = self.ack {
            let _ = a.send(body);
        }
    }

    /// Answers a refusal: `{success: false, error, code}` (plus `extra`'s
    /// fields) where the client listens, else the `error` event.
    fn fail_with(self, code: &str, message: &str, extra: Value) {
        let mut body = failure(code, message);
        if let (Value::Object(b), Value::Object(x)) = (&mut body, extra) {
            b.extend(x);
        }
        if self.reply.is_none() && self.ack.is_none() {
            self.emit(
                "error",
                json!({ "event": self.event, "message": message, "code": code }),
            );
            return;
        }
        self.ok(body);
    }

    fn fail(self, code: &str, message: &str) {
        self.fail_with(code, message, Value::Null);
    }
}

fn emit(st: &State, socket: &Socket, event: &str, body: Value) {
    st.metrics.events_sent_total.fetch_add(1, Ordering::Relaxed);
    let _ = socket.emit(event, body);
}

/// Emits to the sockets `op` selects, counting one sent event per local
/// recipient (as the HTTP API does).
fn fan_out(st: &State, nsp: &Namespace, op: BroadcastOperator, event: &str, body: Value) {
    let n = nsp.adapter().local_sockets(op.options()).len();
    st.metrics
        .events_sent_total
        .fetch_add(n as u64, Ordering::Relaxed);
    let _ = op.emit(event, body);
}

/// The first argument, or `field` of it when it is an object (so both
/// `emit("join-room", "r")` and `emit("room:join", {room: "r"})` work).
fn arg_or_field<'a>(data: &'a Data, field: &str) -> Option<&'a Value> {
    match data.args().first() {
        Some(Value::Object(o)) => o.get(field),
        other => other,
    }
}

/// Whether the first argument, serialized, is longer than
/// `events.max_message_len`.
fn too_long(live: &Live, data: &Data) -> bool {
    data.args()
        .first()
        .is_some_and(|a| json_len(a) > live.config.events.max_message_len)
}

/// The first argument as an object with a non-empty string `field`.
fn object_with<'a>(
    data: &'a Data,
    field: &str,
) -> Option<(&'a serde_json::Map<String, Value>, &'a str)> {
    let o = data.args().first()?.as_object()?;
    let v = o.get(field)?.as_str().filter(|v| !v.is_empty())?;
    Some((o, v))
}

/// A new id with `prefix`: 12 random bytes in hex.
fn new_id(prefix: &str) -> String {
    let b: [u8; 12] = rand::random();
    let mut s = String::with_capacity(prefix.len() + 24);
    s.push_str(prefix);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn now_iso() -> String {
    iso8601(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_hex() {
        let a = new_id("msg_");
        assert_eq!(a.len(), 4 + 24);
        assert!(a.starts_with("msg_"));
        assert!(a[4..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_id("msg_"));
    }

    #[test]
    fn event_names_are_unique() {
        let mut names: Vec<&str> = FAMILIES
            .iter()
            .flat_map(|f| f.events.iter().map(|e| e.name))
            .collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
