//! The backend family: `client:event`, `client:message` and
//! `client:action`, answered with `server:response`, `message:ack` and
//! `action:result`, and forwarded to `events.forward_room` (a server room
//! where the application's backend listens) when one is set.
//!
//! Checks and forwards requests; must not join rooms or answer for the
//! backend.

use serde_json::{json, Value};
use socketio::{Data, Socket};

use super::{event, fan_out, new_id, now_iso, object_with, too_long, Family, Reply};
use crate::identity::user_id_json;
use crate::state::{Live, State};

pub(super) const FAMILY: Family = Family {
    events: &[
        event("client:event", Some("server:response"), on_client_event).ts(
            "body: { type: string; data?: unknown }",
            "{ success: true; requestId: string; data: { type: string; forwarded: boolean } } | (Failure & { requestId: string })",
        ),
        event("client:message", Some("message:ack"), on_client_message).ts(
            "body: { content: string; type?: string; metadata?: unknown }",
            "{ success: true; requestId: string; messageId: string } | (Failure & { requestId: string })",
        ),
        event("client:action", Some("action:result"), on_client_action).ts(
            "body: { action: string; params?: unknown }",
            "{ success: true; requestId: string; result: { action: string; forwarded: boolean } } | (Failure & { requestId: string })",
        ),
    ],
    emits: &[],
    on_connect: None,
    on_close: None,
};

/// Forwards a client request to `events.forward_room`; whether it went.
fn forward(st: &State, live: &Live, s: &Socket, event: &str, mut body: Value) -> bool {
    let room = &live.config.events.forward_room;
    if room.is_empty() {
        return false;
    }
    if let Value::Object(o) = &mut body {
        o.insert("socketId".into(), s.public_id().into());
        o.insert("userId".into(), user_id_json(s));
        o.insert("namespace".into(), s.nsp().name().into());
        o.insert("timestamp".into(), now_iso().into());
    }
    fan_out(st, s.nsp(), s.nsp().to(room.as_str()), event, body);
    true
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
