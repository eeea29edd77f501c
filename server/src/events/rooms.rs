//! The rooms family: `join-room` / `leave-room` / `get-rooms` (answered
//! through the client's ack), `room:join` / `room:leave` (answered with
//! `room:join:ack` / `room:leave:ack`, and the ack when asked),
//! `conversation:join` / `conversation:leave`; and the checks on a room
//! name a client gives.
//!
//! Owns client rooms only: the server's own rooms (`role_…`, the per-user
//! rooms of `events.reserved_room_prefixes`, a socket's id) are
//! [`crate::identity`]'s and are never left here; the only one joined here
//! is a socket's own user's room (`join-room` `user-<own id>`, as document
//! 001's clients do), which the socket is in already.

use serde_json::{json, Value};
use socketio::{Data, Socket};

use super::{arg_or_field, event, Family, Reply};
use crate::config::ClientRoomJoins;
use crate::identity::{user_id, ServerRooms};
use crate::state::{Live, State};

pub(super) const FAMILY: Family = Family {
    events: &[
        event("join-room", None, on_join).ts("room: string", "RoomAnswer | Failure"),
        event("room:join", Some("room:join:ack"), on_join_object)
            .ts("body: { room: string }", "RoomAnswer | Failure"),
        event("conversation:join", None, on_join)
            .ts("conversationId: string", "RoomAnswer | Failure"),
        event("leave-room", None, on_leave).ts("room: string", "RoomAnswer | Failure"),
        event("room:leave", Some("room:leave:ack"), on_leave_object)
            .ts("body: { room: string }", "RoomAnswer | Failure"),
        event("conversation:leave", None, on_leave)
            .ts("conversationId: string", "RoomAnswer | Failure"),
        event("get-rooms", None, on_get_rooms)
            .ts("", "{ success: true; rooms: string[] } | Failure"),
    ],
    emits: &[],
    on_connect: None,
    on_close: None,
};

/// Why a client room name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomError {
    /// Not a non-empty string.
    Invalid,
    /// Longer than `events.max_room_name` bytes.
    TooLong,
    /// A control character in the name.
    Control,
    /// A server room: `role_…`, another user's room or a socket's own room.
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

/// Checks a room name a client asked for: its shape, and that it has no
/// reserved prefix of `rooms` (see also
/// [`crate::identity::sid_room_reserved`]).
pub fn check_room(
    name: Option<&Value>,
    max_len: usize,
    rooms: ServerRooms<'_>,
) -> Result<String, RoomError> {
    let name = check_room_shape(name, max_len)?;
    if rooms.has_reserved_prefix(&name) {
        return Err(RoomError::Reserved);
    }
    Ok(name)
}

/// The shape rules of [`check_room`]: a non-empty string of at most
/// `max_len` bytes without control characters.
fn check_room_shape(name: Option<&Value>, max_len: usize) -> Result<String, RoomError> {
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
    let allowed = match ev.client_room_joins {
        ClientRoomJoins::All => true,
        ClientRoomJoins::Authenticated => user_id(socket).is_some(),
        ClientRoomJoins::None => false,
    };
    if joining && !allowed {
        return Err(RoomError::NotAllowed);
    }
    let rooms = live.server_rooms();
    let room = check_room_shape(name, ev.max_room_name)?;
    // A user may name its own room (it is in it already); no other
    // reserved room.
    let own = joining
        && rooms
            .owner(&room)
            .is_some_and(|id| user_id(socket).as_deref() == Some(id));
    if !own && rooms.contains(&room, socket) {
        return Err(RoomError::Reserved);
    }
    Ok(room)
}

/// Whether `room` is one a client joined (not a server room).
pub(super) fn client_room(room: &str, socket: &Socket, rooms: ServerRooms<'_>) -> bool {
    room != socket.public_id() && !rooms.has_reserved_prefix(room)
}

fn join(live: &Live, socket: &Socket, name: Option<&Value>, r: Reply) {
    let ev = &live.config.events;
    let room = match client_room_name(live, socket, name, true) {
        Ok(room) => room,
        Err(e) => return r.fail(e.code(), e.message()),
    };
    let rooms = socket.rooms();
    if !rooms.contains(&room) {
        let n = rooms
            .iter()
            .filter(|x| client_room(x, socket, live.server_rooms()))
            .count();
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

fn on_get_rooms(_: &State, live: &Live, s: &Socket, _: &Data, r: Reply) {
    let mut rooms: Vec<String> = s
        .rooms()
        .into_iter()
        .filter(|x| client_room(x, s, live.server_rooms()))
        .collect();
    rooms.sort();
    r.ok(json!({ "success": true, "rooms": rooms }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use engineio::Sid;

    #[test]
    fn room_names_are_checked() {
        let prefixes = vec!["user_".to_owned(), "user-".to_owned()];
        let rules = ServerRooms {
            user_prefixes: &prefixes,
            all_sids: false,
        };
        let check_room = |name: Option<&Value>, max| check_room(name, max, rules);
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
        assert_eq!(ok("user-42"), Err(RoomError::Reserved));
        assert_eq!(ok("user:42"), Ok("user:42".into()));
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
}
