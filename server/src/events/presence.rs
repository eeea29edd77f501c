//! The presence family: `user:online` / `user:offline` to the namespace
//! when a user's first socket connects and last one leaves (when
//! `events.presence` is on), `user:status` and `getOnlineUsers`.
//!
//! Counts sockets in [`crate::chat::Chat`] under the state's lock; must not
//! emit while holding it.

use serde_json::{json, Value};
use socketio::{Data, Socket};

use super::{arg_or_field, event, fan_out, Family, Reply};
use crate::chat::STATUSES;
use crate::config::EventsSection;
use crate::identity::user_id;
use crate::state::{lock, Live, State};

pub(super) const FAMILY: Family = Family {
    events: &[
        event("user:status", None, on_user_status),
        event("getOnlineUsers", None, on_online_users),
    ],
    on_connect: Some(connected),
    on_close: Some(closed),
};

/// Counts an authenticated socket and announces its user's first.
fn connected(st: &State, live: &Live, socket: &Socket) {
    if let Some(u) = user_id(socket) {
        opened(st, &live.config.events, socket, &u);
    }
}

/// Marks a socket counted in [`crate::chat::Chat`]'s presence, so that only counted
/// sockets are uncounted (events may be turned on while it is connected).
#[derive(Debug, Clone, Copy)]
struct Present;

/// Called when a socket disconnects: uncounts its user.
fn closed(st: &State, socket: &Socket) {
    let Some(u) = user_id(socket) else { return };
    let nsp = socket.nsp();
    let last = {
        // Under the presence lock, so that a socket counted concurrently
        // (see `opened`) is uncounted here.
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

pub(super) fn opened(st: &State, ev: &EventsSection, socket: &Socket, user: &str) {
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
