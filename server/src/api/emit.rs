//! The emit routes: `POST /api/push` (one user's sockets, or one socket),
//! `POST /api/broadcast` (the namespace, optionally but one socket) and
//! `POST /api/room`; content-type events only reach the roles allowed to
//! receive them.
//!
//! Emits only: must not change room membership or disconnect sockets.

use std::sync::atomic::Ordering;

use engineio::Sid;
use serde_json::{json, Value};
use socketio::adapter::BroadcastOptions;
use socketio::Namespace;

use super::{namespace_of, ok, present, room_of, socket_id, user_id, Answer, ApiError, Call};
use crate::identity::{role_room, user_room};
use crate::state::{Live, State};

/// `POST /api/push`: one user's sockets, or one socket (the plugin's
/// `sendPrivateMessage`).
pub(super) fn push(c: &Call) -> Answer {
    let b = &c.body;
    let room = match (present(b, "userId"), present(b, "socketId")) {
        (Some(_), Some(_)) => return Err(ApiError::bad("give `userId` or `socketId`, not both")),
        (None, Some(id)) => socket_id(id)?.as_str().to_owned(),
        (u, None) => user_room(&user_id(u)?),
    };
    let (nsp, event, data) = target(c.st, b)?;
    let n = emit(c.st, c.live, &nsp, Some(room), None, &event, data);
    ok(json!({ "success": true, "delivered": n > 0, "recipients": n, "timestamp": c.ts }))
}

/// `POST /api/broadcast`: from a socket to all the others (the plugin's
/// `broadcast`), or to the whole namespace.
pub(super) fn broadcast(c: &Call) -> Answer {
    let b = &c.body;
    let (nsp, event, data) = target(c.st, b)?;
    let except = present(b, "exceptSocketId").map(socket_id).transpose()?;
    let n = emit(c.st, c.live, &nsp, None, except, &event, data);
    ok(json!({ "success": true, "recipients": n, "timestamp": c.ts }))
}

/// `POST /api/room`: the sockets of a room.
pub(super) fn room(c: &Call) -> Answer {
    let b = &c.body;
    let room = room_of(b)?;
    let (nsp, event, data) = target(c.st, b)?;
    let n = emit(c.st, c.live, &nsp, Some(room), None, &event, data);
    ok(json!({ "success": true, "recipients": n, "timestamp": c.ts }))
}

/// The namespace, event and payload of an emit request.
fn target(st: &State, b: &Value) -> Result<(Namespace, String, Option<Value>), ApiError> {
    let event = match b.get("event") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => s.clone(),
        _ => {
            return Err(ApiError::bad(
                "`event` must be a non-empty string (at most 256 bytes)",
            ))
        }
    };
    if socketio::packet::RESERVED_EVENTS.contains(&event.as_str()) {
        return Err(ApiError::bad(format!("`{event}` is a reserved event name")));
    }
    Ok((namespace_of(st, b)?, event, b.get("data").cloned()))
}

/// Content-type events (`{type}:{create|update|delete}` with `type` named
/// in some role's permissions) only reach roles allowed to receive them.
fn allowed_roles(live: &Live, event: &str) -> Option<Vec<String>> {
    let (ty, action) = event.rsplit_once(':')?;
    if !matches!(action, "create" | "update" | "delete") {
        return None;
    }
    let roles = &live.config.roles;
    if !roles.values().any(|r| r.content_types.contains_key(ty)) {
        return None;
    }
    Some(
        roles
            .iter()
            .filter(|(_, r)| r.receives(ty, action))
            .map(|(n, _)| role_room(n))
            .collect(),
    )
}

/// Emits to `room` (or the whole namespace); returns the recipient count.
fn emit(
    st: &State,
    live: &Live,
    nsp: &Namespace,
    room: Option<String>,
    except: Option<Sid>,
    event: &str,
    data: Option<Value>,
) -> usize {
    let mut opts = BroadcastOptions::default();
    opts.rooms.extend(room.iter().cloned());
    opts.except.extend(except.map(|s| s.as_str().to_owned()));
    let mut sids = nsp.adapter().local_sockets(&opts);
    if let Some(roles) = allowed_roles(live, event) {
        if roles.is_empty() {
            // No role may receive it (and no rooms would mean everyone).
            return 0;
        }
        let ok: std::collections::HashSet<_> = nsp
            .adapter()
            .local_sockets(&BroadcastOptions::default().to(roles.clone()))
            .into_iter()
            .collect();
        sids.retain(|s| ok.contains(s));
        if room.is_none() {
            // Namespace-wide: the allowed roles' rooms are the recipients
            // (every socket is in its role's room), without listing them.
            let mut op = nsp.to(roles);
            if let Some(sid) = except {
                op = op.except(sid);
            }
            let _ = op.emit(event, payload(data));
        } else if !sids.is_empty() {
            // A room's members of the allowed roles, one by one.
            let rooms: Vec<String> = sids.iter().map(|s| s.as_str().to_owned()).collect();
            let _ = nsp.to(rooms).emit(event, payload(data));
        }
    } else {
        // Sent even with no local recipient: with connection state recovery
        // a briefly disconnected socket gets it when it comes back (and a
        // cluster adapter would carry it to other nodes).
        let mut op = match room {
            Some(r) => nsp.to(r),
            None => nsp.broadcast(),
        };
        if let Some(sid) = except {
            op = op.except(sid);
        }
        let _ = op.emit(event, payload(data));
    }
    st.metrics
        .events_sent_total
        .fetch_add(sids.len() as u64, Ordering::Relaxed);
    sids.len()
}

fn payload(data: Option<Value>) -> socketio::Data {
    match data {
        Some(v) => socketio::Data::from(v),
        None => socketio::Data::new(),
    }
}
