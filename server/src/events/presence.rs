//! The presence family: `user:online` / `user:offline` to the namespace
//! when a user's first socket connects and last one leaves (when
//! `events.presence` is on), `user:status` and `getOnlineUsers`.
//!
//! Counts this node's sockets in [`crate::chat::Chat`] under the state's
//! lock; must not emit or await while holding it.
//!
//! With clustering on, "first" and "last" are the cluster's: a node's
//! first socket of a user asks every node for the user's sockets
//! (`fetch_sockets` on `user_<id>`) and announces `user:online` unless a
//! socket of the user elsewhere is older (by handshake time, then id, so
//! that of two nodes connecting the user at once one announces); its last
//! socket announces `user:offline` unless the user still has a socket
//! elsewhere (its own has left the room by then, so two nodes closing at
//! once cannot both see the other's). When the others cannot be asked,
//! the node announces as a single node would. `getOnlineUsers` adds the
//! users of the other nodes from the cluster's rooms (`all_rooms`), asked
//! at most once per `redis.online_users_refresh_ms` per namespace.
//! The ids keep the JSON type their token gave (a number for a numeric
//! `userId`/`sub`) for users with a socket on this node; ids known only
//! from other nodes are strings, since `all_rooms` (the adapter's request,
//! shared with Node's) answers room names only.

use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use serde_json::{json, Value};
use socketio::{Data, Socket, SocketInfo};

use super::{arg_or_field, emits, event, fan_out, Family, Reply};
use crate::chat::STATUSES;
use crate::config::EventsSection;
use crate::identity::{typed_id, user_id, user_of, user_room};
use crate::state::{lock, Live, State};

pub(super) const FAMILY: Family = Family {
    events: &[
        event("user:status", None, on_user_status).ts(
            "body: { status: \"online\" | \"away\" | \"busy\" | \"offline\" }",
            "{ success: true; status: string } | Failure",
        ),
        event("getOnlineUsers", None, on_online_users)
            .ts("", "{ success: true; users: UserId[] } | Failure"),
    ],
    emits: &[
        emits("user:online", "{ userId: UserId; status: string }"),
        emits("user:offline", "{ userId: UserId }"),
        emits("getOnlineUsers", "UserId[]"),
    ],
    on_connect: Some(connected),
    on_close: Some(closed),
};

/// Counts an authenticated socket and announces its user's first.
fn connected(st: &Arc<State>, live: &Live, socket: &Socket) {
    if let Some(u) = user_id(socket) {
        opened(st, &live.config.events, socket, &u);
    }
}

/// Marks a socket counted in [`crate::chat::Chat`]'s presence, so that only counted
/// sockets are uncounted (events may be turned on while it is connected).
#[derive(Debug, Clone, Copy)]
struct Present;

/// Called when a socket disconnects: uncounts its user.
fn closed(st: &Arc<State>, socket: &Socket) {
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
    if !(last && live.config.events.enabled && live.config.events.presence) {
        return;
    }
    if st.cluster.is_none() {
        return announce_offline(st, socket, &u);
    }
    let (st, socket) = (st.clone(), socket.clone());
    tokio::spawn(async move {
        let op = socket.nsp().to(user_room(&u));
        match st.bounded(op.fetch_sockets()).await {
            Ok(left) if left.iter().any(|s| s.server.is_some()) => {}
            _ => announce_offline(&st, &socket, &u),
        }
    });
}

fn announce_offline(st: &State, socket: &Socket, user: &str) {
    let nsp = socket.nsp();
    let op = nsp.broadcast().except(socket.public_id());
    fan_out(
        st,
        nsp,
        op,
        "user:offline",
        json!({ "userId": typed(socket, user) }),
    );
}

pub(super) fn opened(st: &Arc<State>, ev: &EventsSection, socket: &Socket, user: &str) {
    let first = {
        let mut chat = lock(&st.chat);
        // A socket closed meanwhile (say by the HTTP API) has run `closed`
        // already or will find no mark: it must not be counted.
        if !socket.connected() {
            return;
        }
        socket.insert(Present);
        let numeric = user_of(socket).is_some_and(|u| u.numeric_id);
        chat.socket_opened(socket.nsp().name(), user, numeric)
    };
    if !(first && ev.presence) {
        return;
    }
    if st.cluster.is_none() {
        return announce_online(st, socket, user);
    }
    let (st, socket, user) = (st.clone(), socket.clone(), user.to_owned());
    tokio::spawn(async move {
        let mine = age(&socket.info());
        let op = socket.nsp().to(user_room(&user));
        match st.bounded(op.fetch_sockets()).await {
            // The user was online already, or that socket's node announces.
            Ok(all) if all.iter().any(|s| s.server.is_some() && age(s) < mine) => {}
            _ => announce_online(&st, &socket, &user),
        }
    });
}

/// Orders the sockets of a user the same way on every node: handshake
/// time in milliseconds (what the wire carries), then id.
fn age(s: &SocketInfo) -> (u128, String) {
    let ms = s
        .handshake
        .issued
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    (ms, s.public_id.clone())
}

fn announce_online(st: &State, socket: &Socket, user: &str) {
    let body = json!({ "userId": typed(socket, user), "status": "online" });
    fan_out(st, socket.nsp(), socket.broadcast(), "user:online", body);
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
        ("user:offline", json!({ "userId": typed(s, &user) }))
    } else {
        (
            "user:online",
            json!({ "userId": typed(s, &user), "status": status }),
        )
    };
    fan_out(st, s.nsp(), s.broadcast(), event, body);
    r.ok(json!({ "success": true, "status": status }));
}

fn on_online_users(st: &State, live: &Live, s: &Socket, _: &Data, r: Reply) {
    let nsp = s.nsp().name().to_owned();
    if st.cluster.is_none() {
        let users = lock(&st.chat).online_users(&nsp);
        return answer_online(r, json!(*users));
    }
    let max_age = Duration::from_millis(live.config.redis.online_users_refresh_ms);
    if !lock(&st.chat).should_ask_cluster(&nsp, Instant::now(), max_age) {
        let users = lock(&st.chat).cluster_online_users(&nsp);
        return answer_online(r, json!(users));
    }
    let later = r.later();
    tokio::spawn(async move {
        let rooms = later
            .st
            .bounded(later.socket.nsp().adapter().all_rooms())
            .await;
        let users = {
            let mut chat = lock(&later.st.chat);
            match rooms {
                Ok(rooms) => {
                    let users = rooms
                        .iter()
                        .filter_map(|r| r.strip_prefix("user_").map(str::to_owned))
                        .collect();
                    chat.set_cluster_users(&nsp, users, Instant::now());
                }
                Err(_) => chat.cluster_ask_failed(&nsp),
            }
            chat.cluster_online_users(&nsp)
        };
        later.answer(|r| answer_online(r, json!(users)));
    });
}

/// The online list: to the ack, else as the `getOnlineUsers` event.
fn answer_online(r: Reply, list: Value) {
    if r.ack.is_some() {
        r.ok(json!({ "success": true, "users": list }));
    } else {
        r.emit("getOnlineUsers", list);
    }
}

/// `user` (the id of `socket`'s user) with the JSON type its token gave.
fn typed(socket: &Socket, user: &str) -> Value {
    let numeric = user_of(socket).is_some_and(|u| u.numeric_id);
    typed_id(user, numeric)
}
