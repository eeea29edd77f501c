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
//! (see [`sid_room_reserved`]).
//!
//! Locks here guard a map lookup or update and are never held across an
//! emit or an await.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use engineio::Sid;
use serde_json::{json, Value};
use socketio::{AckSender, BroadcastOperator, Data, Namespace, Socket};

use crate::chat::{Sent, STATUSES};
use crate::config::EventsSection;
use crate::identity::{
    bind_user, has_reserved_prefix, now_secs, sid_room_reserved, user_id, user_of, user_room, User,
};
use crate::monitor::{iso8601, unix_ms};
use crate::reply::failure;
use crate::state::{lock, Live, State};

/// Why a client room name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomError {
    /// Not a non-empty string.
    Invalid,
    /// Longer than `events.max_room_name` bytes.
    TooLong,
    /// A control character in the name.
    Control,
    /// A server room: `user_…`, `role_…` or a socket's own room.
    Reserved,
    /// Clients may not join rooms themselves (`events.client_room_joins`).
    NotAllowed,
}

impl RoomError {
    /// The error code sent to the client.
    pub fn code(self) -> &'static str {
        match self {
            RoomError::Reserved => "RESERVED_ROOM",
            RoomError::NotAllowed => "FORBIDDEN",
            _ => "INVALID_ROOM",
        }
    }

    /// The message sent to the client.
    pub fn message(self) -> &'static str {
        match self {
            RoomError::Invalid => "Room name must be a non-empty string",
            RoomError::TooLong => "Room name is too long",
            RoomError::Control => "Room name contains control characters",
            RoomError::Reserved => "Room name is reserved by the server",
            RoomError::NotAllowed => "Rooms are joined by the server",
        }
    }
}

/// Checks the shape of a room name a client asked for (see also
/// [`sid_room_reserved`]).
pub fn check_room(name: Option<&Value>, max_len: usize) -> Result<String, RoomError> {
    let Some(Value::String(name)) = name else {
        return Err(RoomError::Invalid);
    };
    if name.is_empty() {
        return Err(RoomError::Invalid);
    }
    if name.len() > max_len {
        return Err(RoomError::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(RoomError::Control);
    }
    if has_reserved_prefix(name) {
        return Err(RoomError::Reserved);
    }
    Ok(name.clone())
}

/// A room a client asks to join (`joining`) or leave, checked against the
/// settings; leaving is always allowed (rooms the application joined it to
/// included).
fn client_room_name(
    live: &Live,
    socket: &Socket,
    name: Option<&Value>,
    joining: bool,
) -> Result<String, RoomError> {
    let ev = &live.config.events;
    let allowed = match ev.client_room_joins.as_str() {
        "all" => true,
        "authenticated" => user_id(socket).is_some(),
        _ => false,
    };
    if joining && !allowed {
        return Err(RoomError::NotAllowed);
    }
    let room = check_room(name, ev.max_room_name)?;
    if sid_room_reserved(&room, socket, live.config.connection.recovery_secs > 0) {
        return Err(RoomError::Reserved);
    }
    Ok(room)
}

/// Serialized size of `v` in bytes.
fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// Whether `room` is one a client joined (not a server room).
fn client_room(room: &str, socket: &Socket) -> bool {
    room != socket.id().as_str() && !has_reserved_prefix(room)
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

/// Where an answer goes: the client's ack, a reply event, or both.
struct Reply<'a> {
    st: &'a State,
    socket: &'a Socket,
    event: &'static str,
    ack: Option<AckSender>,
    reply: Option<&'static str>,
}

impl Reply<'_> {
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

type Handler = fn(&State, &Live, &Socket, &Data, Reply);

/// The events, their reply events and handlers.
const EVENTS: &[(&str, Option<&str>, Handler)] = &[
    ("join-room", None, on_join),
    ("room:join", Some("room:join:ack"), on_join_object),
    ("conversation:join", None, on_join),
    ("leave-room", None, on_leave),
    ("room:leave", Some("room:leave:ack"), on_leave_object),
    ("conversation:leave", None, on_leave),
    ("get-rooms", None, on_get_rooms),
    ("private-message", None, on_private_message),
    ("register", Some("register:ack"), on_register),
    ("authenticate", None, on_authenticate),
    ("ping", None, on_ping),
    ("client:event", Some("server:response"), on_client_event),
    ("client:message", Some("message:ack"), on_client_message),
    ("client:action", Some("action:result"), on_client_action),
    ("message:send", None, on_message_send),
    ("message:read", None, on_message_read),
    ("typing:start", None, on_typing),
    ("typing:stop", None, on_typing),
    ("user:status", None, on_user_status),
    ("getOnlineUsers", None, on_online_users),
];

/// Installs the handlers on a new socket, sends the welcome events and
/// announces the user's presence.
pub fn install(st: &Arc<State>, socket: &Socket) {
    for &(event, reply, handler) in EVENTS {
        let st = st.clone();
        socket.on(event, move |s, data, ack| {
            let live = st.live();
            if live.config.events.enabled {
                let r = Reply {
                    st: &st,
                    socket: &s,
                    event,
                    ack,
                    reply,
                };
                handler(&st, &live, &s, &data, r);
            }
            std::future::ready(())
        });
    }
    let live = st.live();
    let ev = &live.config.events;
    if !ev.enabled {
        return;
    }
    let user = user_id(socket);
    if ev.welcome {
        emit(
            st,
            socket,
            "system:welcome",
            json!({
                "message": "Welcome to the Socket.IO server",
                "socketId": socket.id().as_str(),
                "timestamp": now_iso(),
                "serverInfo": {
                    "version": env!("CARGO_PKG_VERSION"),
                    "environment": live.config.server.environment,
                },
            }),
        );
        emit(
            st,
            socket,
            "connected",
            json!({ "userId": user, "socketId": socket.id().as_str() }),
        );
    }
    // A client that asked to recover (its CONNECT carries `pid`) learns
    // whether it did.
    if socket.recovered() {
        emit(
            st,
            socket,
            "system:state_recovered",
            json!({ "userId": user, "timestamp": now_iso() }),
        );
    } else if socket.handshake().auth.get("pid").is_some() {
        emit(
            st,
            socket,
            "system:state_recovery_failed",
            json!({ "message": "Failed to recover connection state", "timestamp": now_iso() }),
        );
    }
    if let Some(u) = &user {
        presence_opened(st, ev, socket, u);
    }
}

/// Marks a socket counted in [`crate::chat::Chat`]'s presence, so that only counted
/// sockets are uncounted (events may be turned on while it is connected).
#[derive(Debug, Clone, Copy)]
struct Present;

/// Called when a socket disconnects: uncounts its user.
pub fn closed(st: &State, socket: &Socket) {
    let Some(u) = user_id(socket) else { return };
    let nsp = socket.nsp();
    let last = {
        // Under the presence lock, so that a socket counted concurrently
        // (see `presence_opened`) is uncounted here.
        let mut chat = lock(&st.chat);
        if socket.remove::<Present>().is_none() {
            return;
        }
        // Announced when the user's last socket goes, unless it appeared
        // offline already (user:status).
        chat.socket_closed(nsp.name(), &u) == Some(true)
    };
    let live = st.live();
    if last && live.config.events.enabled && live.config.events.presence {
        let op = nsp.broadcast().except(socket.id().as_str());
        fan_out(st, nsp, op, "user:offline", json!({ "userId": u }));
    }
}

fn presence_opened(st: &State, ev: &EventsSection, socket: &Socket, user: &str) {
    let first = {
        let mut chat = lock(&st.chat);
        // A socket closed meanwhile (say by the HTTP API) has run `closed`
        // already or will find no mark: it must not be counted.
        if !socket.connected() {
            return;
        }
        socket.insert(Present);
        chat.socket_opened(socket.nsp().name(), user)
    };
    if first && ev.presence {
        let body = json!({ "userId": user, "status": "online" });
        fan_out(st, socket.nsp(), socket.broadcast(), "user:online", body);
    }
}

/// The first argument, or `field` of it when it is an object (so both
/// `emit("join-room", "r")` and `emit("room:join", {room: "r"})` work).
fn arg_or_field<'a>(data: &'a Data, field: &str) -> Option<&'a Value> {
    match data.args().first() {
        Some(Value::Object(o)) => o.get(field),
        other => other,
    }
}

fn join(live: &Live, socket: &Socket, name: Option<&Value>, r: Reply) {
    let ev = &live.config.events;
    let room = match client_room_name(live, socket, name, true) {
        Ok(room) => room,
        Err(e) => return r.fail(e.code(), e.message()),
    };
    let rooms = socket.rooms();
    if !rooms.contains(&room) {
        let n = rooms.iter().filter(|x| client_room(x, socket)).count();
        if n >= ev.max_rooms_per_socket {
            return r.fail_with(
                "TOO_MANY_ROOMS",
                "Too many rooms joined",
                json!({ "room": room }),
            );
        }
        socket.join(room.clone());
    }
    r.ok(json!({ "success": true, "room": room }));
}

fn on_join(_: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    join(live, s, data.args().first(), r)
}

fn on_join_object(_: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    join(live, s, arg_or_field(data, "room"), r)
}

fn leave(live: &Live, socket: &Socket, name: Option<&Value>, r: Reply) {
    match client_room_name(live, socket, name, false) {
        Ok(room) => {
            socket.leave(&room);
            r.ok(json!({ "success": true, "room": room }));
        }
        Err(e) => r.fail(e.code(), e.message()),
    }
}

fn on_leave(_: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    leave(live, s, data.args().first(), r)
}

fn on_leave_object(_: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    leave(live, s, arg_or_field(data, "room"), r)
}

fn on_get_rooms(_: &State, _: &Live, s: &Socket, _: &Data, r: Reply) {
    let mut rooms: Vec<String> = s
        .rooms()
        .into_iter()
        .filter(|x| client_room(x, s))
        .collect();
    rooms.sort();
    r.ok(json!({ "success": true, "rooms": rooms }));
}

fn on_private_message(st: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    if !live.config.events.private_messages {
        return r.fail("FEATURE_DISABLED", "Private messages are disabled");
    }
    let arg = data.args().first();
    let to = arg.and_then(|a| a.get("to")).and_then(Value::as_str);
    let message = arg.and_then(|a| a.get("message"));
    let (Some(to), Some(message)) = (to, message) else {
        return r.fail("INVALID_MESSAGE_DATA", "Expected {to, message}");
    };
    if json_len(message) > live.config.events.max_message_len {
        return r.fail("MESSAGE_TOO_LARGE", "Message is too long");
    }
    let Some(target) = Sid::parse(to).and_then(|sid| s.nsp().socket(sid)) else {
        return r.fail("NOT_FOUND", "Target socket not found");
    };
    emit(
        st,
        &target,
        "private-message",
        json!({
            "from": s.id().as_str(),
            "fromUser": user_id(s),
            "message": message,
            "timestamp": now_iso(),
        }),
    );
    r.ok(json!({ "success": true, "to": to }));
}

fn on_register(_: &State, _: &Live, s: &Socket, data: &Data, r: Reply) {
    let Some(Value::String(wanted)) = arg_or_field(data, "userId") else {
        return r.fail("INVALID_MESSAGE_DATA", "userId must be a string");
    };
    match user_id(s) {
        None => r.fail("AUTH_REQUIRED", "Authentication required"),
        Some(id) if id == *wanted => r.ok(json!({ "success": true, "userId": id })),
        Some(_) => r.fail("FORBIDDEN", "userId does not match the authenticated user"),
    }
}

/// `authenticate {token}`: the token of an anonymous socket makes it the
/// user's (rooms, presence); the same user's fresh token is accepted too.
fn on_authenticate(st: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    let fail = |r: Reply, code: &str, message: &str| {
        st.metrics.auth_failures_total.inc(&[code]);
        let body = json!({ "success": false, "message": message, "code": code });
        r.emit("authError", body.clone());
        if let Some(a) = r.ack {
            let _ = a.send(body);
        }
    };
    let Some(Value::String(token)) = arg_or_field(data, "token") else {
        return fail(r, "INVALID_TOKEN", "token must be a string");
    };
    let claims = match st.verifier.verify(token, now_secs()) {
        Ok(c) => c,
        Err(e) => return fail(r, e.code(), &format!("Authentication failed: {e}")),
    };
    let cfg = &live.config;
    let id = claims.user_id.clone();
    let user = User::from_claims(claims, &cfg.auth.default_role);
    let role = user.role.clone();
    let old = user_of(s);
    if let Some(prev) = old.as_ref().and_then(|u| u.id.as_ref()) {
        if *prev != id {
            return fail(r, "FORBIDDEN", "Already authenticated as another user");
        }
    }
    let perms = cfg.role(&role);
    if !perms.can_connect || !perms.allows_namespace(s.nsp().name()) {
        return fail(
            r,
            "FORBIDDEN",
            &format!("Forbidden: role `{role}` may not use this namespace"),
        );
    }
    let was_anonymous = old.as_ref().is_none_or(|u| u.id.is_none());
    bind_user(s, user);
    if was_anonymous {
        presence_opened(st, &cfg.events, s, &id);
    }
    let body = json!({
        "success": true,
        "userId": id,
        "role": role,
        "socketId": s.id().as_str(),
    });
    r.emit("authenticated", body.clone());
    if let Some(a) = r.ack {
        let _ = a.send(body);
    }
}

fn on_ping(st: &State, _: &Live, s: &Socket, data: &Data, r: Reply) {
    // Only a number is echoed: the reply must not carry client data.
    let ts = arg_or_field(data, "timestamp")
        .filter(|v| v.is_number())
        .cloned()
        .unwrap_or(Value::Null);
    emit(
        st,
        s,
        "pong",
        json!({ "timestamp": ts, "serverTime": unix_ms(SystemTime::now()) }),
    );
    if let Some(a) = r.ack {
        let _ = a.send(Data::new());
    }
}

/// Forwards a client request to `events.forward_room`; whether it went.
fn forward(st: &State, live: &Live, s: &Socket, event: &str, mut body: Value) -> bool {
    let room = &live.config.events.forward_room;
    if room.is_empty() {
        return false;
    }
    if let Value::Object(o) = &mut body {
        o.insert("socketId".into(), s.id().as_str().into());
        o.insert("userId".into(), user_id(s).into());
        o.insert("namespace".into(), s.nsp().name().into());
        o.insert("timestamp".into(), now_iso().into());
    }
    fan_out(st, s.nsp(), s.nsp().to(room.as_str()), event, body);
    true
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

/// Checks a `client:*` request: an object with a non-empty string `field`
/// (else refused with `expected`), within `events.max_message_len` (else
/// refused with `too_long_msg`). Gives back the reply, a new request id,
/// the object and the field's value; or answers the refusal (with the
/// request id) and gives nothing.
fn accept<'a, 'r>(
    live: &Live,
    data: &'a Data,
    r: Reply<'r>,
    field: &str,
    (expected, too_long_msg): (&str, &str),
) -> Option<(
    Reply<'r>,
    String,
    &'a serde_json::Map<String, Value>,
    &'a str,
)> {
    let request_id = new_id("req_");
    let id = json!({ "requestId": request_id });
    match object_with(data, field) {
        None => r.fail_with("INVALID_MESSAGE_DATA", expected, id),
        Some(_) if too_long(live, data) => r.fail_with("MESSAGE_TOO_LARGE", too_long_msg, id),
        Some((o, v)) => return Some((r, request_id, o, v)),
    }
    None
}

/// `client:event {type, data}` and `client:action {action, params}`: the
/// same request under other names. `field` names it, `payload` carries its
/// data, and the answer's `answer` object echoes the name.
struct Request {
    event: &'static str,
    field: &'static str,
    payload: &'static str,
    answer: &'static str,
}

fn request(st: &State, live: &Live, s: &Socket, data: &Data, r: Reply, q: Request) {
    let expected = format!("Expected {{{}, {}}}", q.field, q.payload);
    let texts = (expected.as_str(), "Request is too long");
    let Some((r, request_id, o, name)) = accept(live, data, r, q.field, texts) else {
        return;
    };
    let payload = o.get(q.payload).cloned().unwrap_or(Value::Null);
    let forwarded = forward(
        st,
        live,
        s,
        q.event,
        json!({ "requestId": request_id, q.field: name, q.payload: payload }),
    );
    r.ok(json!({
        "success": true,
        "requestId": request_id,
        q.answer: { q.field: name, "forwarded": forwarded },
    }));
}

const CLIENT_EVENT: Request = Request {
    event: "client:event",
    field: "type",
    payload: "data",
    answer: "data",
};

const CLIENT_ACTION: Request = Request {
    event: "client:action",
    field: "action",
    payload: "params",
    answer: "result",
};

fn on_client_event(st: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    request(st, live, s, data, r, CLIENT_EVENT)
}

fn on_client_action(st: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    request(st, live, s, data, r, CLIENT_ACTION)
}

fn on_client_message(st: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    let expected = "Expected {content, type, metadata}";
    let texts = (expected, "Message is too long");
    let Some((r, request_id, o, content)) = accept(live, data, r, "content", texts) else {
        return;
    };
    let message_id = new_id("msg_");
    forward(
        st,
        live,
        s,
        "client:message",
        json!({
            "requestId": request_id,
            "messageId": message_id,
            "content": content,
            "type": o.get("type").cloned().unwrap_or(Value::Null),
            "metadata": o.get("metadata").cloned().unwrap_or(Value::Null),
        }),
    );
    r.ok(json!({ "success": true, "requestId": request_id, "messageId": message_id }));
}

/// The conversation of a chat event: a valid room the socket is in.
fn conversation(live: &Live, s: &Socket, data: &Data) -> Result<String, (&'static str, String)> {
    let room = check_room(
        arg_or_field(data, "conversationId"),
        live.config.events.max_room_name,
    )
    .map_err(|e| (e.code(), e.message().to_owned()))?;
    if !s.rooms().contains(&room) {
        return Err((
            "NOT_IN_ROOM",
            format!("Join conversation `{room}` first (conversation:join)"),
        ));
    }
    Ok(room)
}

fn on_message_send(st: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    let conv = match conversation(live, s, data) {
        Ok(c) => c,
        Err((code, m)) => return r.fail(code, &m),
    };
    let Some((o, content)) = object_with(data, "content") else {
        return r.fail(
            "INVALID_MESSAGE_DATA",
            "Expected {conversationId, content, type?}",
        );
    };
    let ev = &live.config.events;
    if too_long(live, data) {
        return r.fail("MESSAGE_TOO_LARGE", "Message is too long");
    }
    let ty = o.get("type").and_then(Value::as_str).unwrap_or("text");
    let id = new_id("msg_");
    let sender = user_id(s);
    let ts = now_iso();
    lock(&st.chat).remember(
        id.clone(),
        Sent {
            conversation: conv.clone(),
            user: sender.clone(),
            socket: s.id().as_str().to_owned(),
        },
        ev.message_cache,
    );
    fan_out(
        st,
        s.nsp(),
        s.to(conv.as_str()),
        "message:new",
        json!({
            "id": id,
            "conversationId": conv,
            "senderId": sender,
            "content": content,
            "type": ty,
            "timestamp": ts,
        }),
    );
    r.emit(
        "message:delivered",
        json!({ "messageId": id, "conversationId": conv }),
    );
    if let Some(a) = r.ack {
        let _ = a.send(json!({ "success": true, "messageId": id, "timestamp": ts }));
    }
}

fn on_message_read(st: &State, _: &Live, s: &Socket, data: &Data, r: Reply) {
    let Some(Value::String(id)) = arg_or_field(data, "messageId") else {
        return r.fail("INVALID_MESSAGE_DATA", "Expected {messageId}");
    };
    let Some(sent) = lock(&st.chat).message(id).cloned() else {
        return r.fail("NOT_FOUND", "Unknown or expired messageId");
    };
    if !s.rooms().contains(&sent.conversation) {
        return r.fail("NOT_IN_ROOM", "Not in the message's conversation");
    }
    let target = sent.user.as_deref().map_or(sent.socket.clone(), user_room);
    fan_out(
        st,
        s.nsp(),
        s.nsp().to(target),
        "message:read",
        json!({
            "messageId": id,
            "conversationId": sent.conversation,
            "userId": user_id(s),
            "timestamp": now_iso(),
        }),
    );
    r.ok(json!({ "success": true, "messageId": id }));
}

fn on_typing(st: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    let conv = match conversation(live, s, data) {
        Ok(c) => c,
        Err((code, m)) => return r.fail(code, &m),
    };
    fan_out(
        st,
        s.nsp(),
        s.to(conv.as_str()),
        r.event,
        json!({ "userId": user_id(s), "conversationId": conv }),
    );
    r.ok(json!({ "success": true }));
}

fn on_user_status(st: &State, live: &Live, s: &Socket, data: &Data, r: Reply) {
    if !live.config.events.presence {
        return r.fail("FEATURE_DISABLED", "Presence is disabled");
    }
    let Some(Value::String(status)) = arg_or_field(data, "status") else {
        return r.fail("INVALID_MESSAGE_DATA", "status must be a string");
    };
    let Some(&status) = STATUSES.iter().find(|x| **x == status.as_str()) else {
        return r.fail(
            "INVALID_MESSAGE_DATA",
            "status must be online, away, busy or offline",
        );
    };
    let Some(user) = user_id(s) else {
        return r.fail("AUTH_REQUIRED", "Authentication required");
    };
    // Announced once per change (and only for a user counted online).
    if !lock(&st.chat).set_status(s.nsp().name(), &user, status) {
        return r.ok(json!({ "success": true, "status": status }));
    }
    let (event, body) = if status == "offline" {
        ("user:offline", json!({ "userId": user }))
    } else {
        ("user:online", json!({ "userId": user, "status": status }))
    };
    fan_out(st, s.nsp(), s.broadcast(), event, body);
    r.ok(json!({ "success": true, "status": status }));
}

fn on_online_users(st: &State, _: &Live, s: &Socket, _: &Data, r: Reply) {
    let users = lock(&st.chat).online_users(s.nsp().name());
    let list = json!(*users);
    if r.ack.is_some() {
        r.ok(json!({ "success": true, "users": list }));
    } else {
        r.emit("getOnlineUsers", list);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_checked() {
        let ok = |s: &str| check_room(Some(&json!(s)), 16);
        assert_eq!(ok("chat-1"), Ok("chat-1".into()));
        assert_eq!(ok("café ☕"), Ok("café ☕".into()));
        assert_eq!(ok(""), Err(RoomError::Invalid));
        assert_eq!(check_room(Some(&json!(5)), 16), Err(RoomError::Invalid));
        assert_eq!(check_room(None, 16), Err(RoomError::Invalid));
        assert_eq!(ok("a-name-over-16-bytes"), Err(RoomError::TooLong));
        assert_eq!(ok("a\nb"), Err(RoomError::Control));
        assert_eq!(ok("user_42"), Err(RoomError::Reserved));
        assert_eq!(ok("role_admin"), Err(RoomError::Reserved));
        // The shape of a socket id alone is fine here; whether such a name
        // is a socket's own room depends on the server (sid_room_reserved).
        let sid = Sid::random();
        assert_eq!(
            check_room(Some(&json!(sid.as_str())), 64),
            Ok(sid.as_str().to_owned())
        );
        assert_eq!(RoomError::Reserved.code(), "RESERVED_ROOM");
        assert_eq!(RoomError::TooLong.code(), "INVALID_ROOM");
    }

    #[test]
    fn ids_are_prefixed_hex() {
        let a = new_id("msg_");
        assert_eq!(a.len(), 4 + 24);
        assert!(a.starts_with("msg_"));
        assert!(a[4..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_id("msg_"));
    }
}
