//! The messaging family: `private-message` `{to, message}` to another
//! socket of the namespace (when `events.private_messages` is on).
//!
//! Reaches one socket by its id; must not touch rooms or presence.

use engineio::Sid;
use serde_json::{json, Value};
use socketio::{Data, Socket};

use super::{emit, event, json_len, now_iso, Family, Reply};
use crate::identity::user_id;
use crate::state::{Live, State};

pub(super) const FAMILY: Family = Family {
    events: &[event("private-message", None, on_private_message)],
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
