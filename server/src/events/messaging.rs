//! The messaging family: `private-message` `{to, message}` to another
//! socket of the namespace (when `events.private_messages` is on), on any
//! node of the cluster.
//!
//! Reaches one socket by its id (a socket elsewhere through the adapter,
//! after asking every node that it exists); must not touch rooms or
//! presence.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use socketio::{Data, Socket};

use super::{emit, emits, event, json_len, now_iso, Family, Reply};
use crate::identity::user_id_json;
use crate::state::{Live, State};

pub(super) const FAMILY: Family = Family {
    events: &[event("private-message", None, on_private_message).ts(
        "body: { to: string; message: unknown }",
        "{ success: true; to: string } | Failure",
    )],
    emits: &[emits(
        "private-message",
        "{ from: string; fromUser: UserId | null; message: unknown; timestamp: string }",
    )],
    on_connect: None,
    on_close: None,
};

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
    let Some(sid) = socketio::parse_socket_id(to) else {
        return r.fail("NOT_FOUND", "Target socket not found");
    };
    let body = json!({
        "from": s.public_id(),
        "fromUser": user_id_json(s),
        "message": message,
        "timestamp": now_iso(),
    });
    if let Some(target) = s.nsp().socket(sid).filter(|t| t.public_id() == to) {
        emit(st, &target, "private-message", body);
        return r.ok(json!({ "success": true, "to": to }));
    }
    if st.cluster.is_none() {
        return r.fail("NOT_FOUND", "Target socket not found");
    }
    // Maybe on another node: asked first, so that a missing target is
    // still a NOT_FOUND, then sent through the adapter to its own room.
    let later = r.later();
    let to = to.to_owned();
    tokio::spawn(async move {
        let op = later.socket.nsp().to(to.clone());
        let found = later.st.bounded(op.clone().fetch_sockets()).await;
        later.answer(|r| match found {
            Ok(all) if all.iter().any(|t| t.public_id == to) => {
                r.st.metrics
                    .events_sent_total
                    .fetch_add(1, Ordering::Relaxed);
                let _ = op.emit("private-message", body);
                r.ok(json!({ "success": true, "to": to }));
            }
            Ok(_) => r.fail("NOT_FOUND", "Target socket not found"),
            Err(_) => r.fail(
                "CLUSTER_UNAVAILABLE",
                "Target socket not on this server, and the others could not be asked",
            ),
        });
    });
}
