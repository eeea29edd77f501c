//! The socket routes: `GET /api/sockets` (list), `POST /api/sockets/join`,
//! `POST /api/sockets/leave` and `POST /api/sockets/disconnect`, by socket
//! id or user id.
//!
//! Changes client rooms and connections only: the server's own rooms
//! (see [`crate::identity::is_server_room`]) are refused.

use std::sync::atomic::Ordering;

use engineio::Sid;
use serde_json::{json, Value};
use socketio::adapter::BroadcastOptions;
use socketio::{Namespace, Socket};

use super::{
    namespace, namespace_of, not_found, ok, present, room_of, socket_id, user_id, Answer, ApiError,
    Call,
};
use crate::identity::{is_server_room, user_of, user_room};
use crate::monitor::iso8601;
use crate::state::{Live, State};

/// `GET /api/sockets`.
pub(super) fn list(c: &Call) -> Answer {
    ok(list_sockets(c.st, &c.query, c.admin)?)
}

/// `POST /api/sockets/join`: the sockets named join `room`.
pub(super) fn join(c: &Call) -> Answer {
    let room = room_of(&c.body)?;
    let found = select(c.st, &c.body, false)?;
    member_room(c.live, &room, &found)?;
    for s in &found {
        s.join(room.clone());
    }
    ok(json!({ "success": true, "room": room, "sockets": found.len(), "timestamp": c.ts }))
}

/// `POST /api/sockets/leave`: the sockets named leave `room`.
pub(super) fn leave(c: &Call) -> Answer {
    let room = room_of(&c.body)?;
    let found = select(c.st, &c.body, false)?;
    member_room(c.live, &room, &found)?;
    for s in &found {
        s.leave(&room);
    }
    ok(json!({ "success": true, "room": room, "sockets": found.len(), "timestamp": c.ts }))
}

/// `POST /api/sockets/disconnect`: `force_logout` then a disconnect for
/// each socket named (every namespace unless one is given).
pub(super) fn disconnect(c: &Call) -> Answer {
    let reason = match c.body.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if r.len() <= 256 => Some(r.clone()),
        _ => {
            return Err(ApiError::bad(
                "`reason` must be a string (at most 256 bytes)",
            ))
        }
    };
    let found = select(c.st, &c.body, true)?;
    for s in &found {
        // The notice goes before the DISCONNECT packet, in order.
        let notice = json!({ "reason": reason, "timestamp": c.ts });
        c.st.metrics
            .events_sent_total
            .fetch_add(1, Ordering::Relaxed);
        let _ = s.emit("force_logout", notice);
        s.disconnect(false);
    }
    tracing::info!(address = %c.ip, sockets = found.len(), reason = reason.as_deref().unwrap_or("-"), "sockets disconnected through the API");
    ok(json!({ "success": true, "disconnected": found.len(), "timestamp": c.ts }))
}

/// Checks the `room` of a join or leave: not one of the server's own,
/// whose membership follows the token (`user_…`, `role_…`, and a socket's
/// own room, by the rule of `events::sid_room_reserved`).
fn member_room(live: &Live, room: &str, sockets: &[Socket]) -> Result<(), ApiError> {
    if sockets
        .iter()
        .any(|s| is_server_room(room, s, live.config.connection.recovery_secs > 0))
    {
        return Err(ApiError::bad(format!(
            "`{room}` is a server room (user_…, role_… or a socket's id)"
        )));
    }
    Ok(())
}

/// The namespaces a socket operation covers: `namespace`, else `/` (or
/// every namespace when `all_by_default`).
fn namespaces(st: &State, b: &Value, all_by_default: bool) -> Result<Vec<Namespace>, ApiError> {
    if all_by_default && present(b, "namespace").is_none() {
        return Ok(st.io.namespaces());
    }
    Ok(vec![namespace_of(st, b)?])
}

/// The sockets a socket operation names: `socketId` (one socket) or
/// `userId` (every socket of the user). 404 when none is connected.
fn select(st: &State, b: &Value, all_by_default: bool) -> Result<Vec<Socket>, ApiError> {
    // Checked before the namespace: a malformed request is a 400 whatever
    // the namespace.
    let by = match (present(b, "socketId"), present(b, "userId")) {
        (Some(_), Some(_)) => return Err(ApiError::bad("give `socketId` or `userId`, not both")),
        (Some(id), None) => Ok(socket_id(id)?),
        (None, Some(u)) => Err(user_id(Some(u))?),
        (None, None) => return Err(ApiError::bad("`socketId` or `userId` is required")),
    };
    let nsps = namespaces(st, b, all_by_default)?;
    let found: Vec<Socket> = match by {
        Ok(sid) => nsps.iter().filter_map(|n| n.socket(sid)).collect(),
        Err(user) => {
            let opts = BroadcastOptions::default().to(user_room(&user));
            nsps.iter()
                .flat_map(|n| {
                    n.adapter()
                        .local_sockets(&opts)
                        .into_iter()
                        .filter_map(|sid| n.socket(sid))
                })
                .collect()
        }
    };
    if found.is_empty() {
        return Err(not_found("No such connected socket".into()));
    }
    Ok(found)
}

/// Most sockets `GET /api/sockets` lists.
pub const MAX_LISTED_SOCKETS: usize = 10_000;

/// `GET /api/sockets?namespace=&room=&userId=&limit=`: the sockets of a
/// namespace (default `/`), of a room, of a user, or of both.
fn list_sockets(st: &State, query: &str, admin: bool) -> Result<Value, ApiError> {
    let q = |k: &str| engineio::query::param(query, k);
    let nsp = namespace(st, q("namespace").as_deref().unwrap_or("/"))?;
    let limit = match q("limit") {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LISTED_SOCKETS).contains(l))
            .ok_or_else(|| ApiError::bad(format!("`limit` must be 1 to {MAX_LISTED_SOCKETS}")))?,
        None => 1000,
    };
    let in_rooms = |rooms: Vec<String>| {
        nsp.adapter()
            .local_sockets(&BroadcastOptions::default().to(rooms))
    };
    let sids = match (q("room"), q("userId").map(|u| user_room(&u))) {
        // `local_sockets` is the union of its rooms; keep those in both.
        (Some(r), Some(u)) => {
            let of_user: std::collections::HashSet<Sid> = in_rooms(vec![u]).into_iter().collect();
            in_rooms(vec![r])
                .into_iter()
                .filter(|s| of_user.contains(s))
                .collect()
        }
        (r, u) => in_rooms(r.into_iter().chain(u).collect()),
    };
    let total = sids.len();
    let sockets: Vec<Value> = sids
        .into_iter()
        .filter_map(|sid| nsp.socket(sid))
        .take(limit)
        .map(|s| socket_json(&s, admin))
        .collect();
    Ok(json!({ "success": true, "count": total, "sockets": sockets }))
}

/// A socket as the API lists it; its handshake (the client's address)
/// only for admin keys, as in `/api/monitoring/stats`.
pub(super) fn socket_json(s: &Socket, with_handshake: bool) -> Value {
    let user = user_of(s);
    let mut v = json!({
        "id": s.id().as_str(),
        "namespace": s.nsp().name(),
        "connected": s.connected(),
        "rooms": s.rooms(),
        "user": user.map(|u| json!({ "id": u.id, "role": u.role })),
    });
    if with_handshake {
        let h = s.handshake();
        v["handshake"] = json!({
            "address": h.address.map(|a| a.ip().to_string()),
            "time": iso8601(h.issued),
        });
    }
    v
}
