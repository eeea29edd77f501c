//! The chat family: `message:send` (`message:new` to the conversation,
//! `message:delivered` to the sender), `message:read` (to the message's
//! sender), `typing:start` / `typing:stop`.
//!
//! A conversation is a client room the socket is in; the message cache is
//! [`crate::chat::Chat`]'s. Must not change room membership.

use serde_json::{json, Value};
use socketio::{Data, Socket};

use super::{
    arg_or_field, check_room, emits, event, fan_out, new_id, now_iso, object_with, too_long,
    Family, Reply,
};
use crate::chat::Sent;
use crate::identity::{user_id, user_id_json, user_room};
use crate::state::{lock, Live, State};

pub(super) const FAMILY: Family = Family {
    events: &[
        event("message:send", None, on_message_send).ts(
            "body: { conversationId: string; content: string; type?: string }",
            "{ success: true; messageId: string; timestamp: string } | Failure",
        ),
        event("message:read", None, on_message_read).ts(
            "body: { messageId: string }",
            "{ success: true; messageId: string } | Failure",
        ),
        event("typing:start", None, on_typing)
            .ts("body: { conversationId: string }", "{ success: true } | Failure"),
        event("typing:stop", None, on_typing)
            .ts("body: { conversationId: string }", "{ success: true } | Failure"),
    ],
    emits: &[
        emits("message:new", "{ id: string; conversationId: string; senderId: UserId | null; content: unknown; type: string; timestamp: string }"),
        emits("message:delivered", "{ messageId: string; conversationId: string }"),
        emits("message:read", "{ messageId: string; conversationId: string; userId: UserId | null; timestamp: string }"),
        emits("typing:start", "{ userId: UserId | null; conversationId: string }"),
        emits("typing:stop", "{ userId: UserId | null; conversationId: string }"),
    ],
    on_connect: None,
    on_close: None,
};

/// The conversation of a chat event: a valid room the socket is in.
fn conversation(live: &Live, s: &Socket, data: &Data) -> Result<String, (&'static str, String)> {
    let room = check_room(
        arg_or_field(data, "conversationId"),
        live.config.events.max_room_name,
        live.server_rooms(),
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
            socket: s.public_id().to_owned(),
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
            "userId": user_id_json(s),
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
        json!({ "userId": user_id_json(s), "conversationId": conv }),
    );
    r.ok(json!({ "success": true }));
}
