//! Who a socket is: the [`User`] its token names (or the anonymous role),
//! where the handshake carries that token, the server rooms that follow
//! from the user (`user_<id>` and the other `events.reserved_room_prefixes`,
//! `role_<role>`) and from the socket (its own room), and binding a user to
//! a socket.
//!
//! Must not read the settings or the server state: callers pass what it
//! needs (the default role, whether recovery is on). Token verification
//! itself is [`crate::jwt`]'s.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use socketio::{Handshake, Socket};

use crate::jwt::{Claims, JwtError};

/// Prefix of the per-role rooms; clients cannot join or leave them.
pub const ROLE_PREFIX: &str = "role_";

/// Prefix of the per-user room the server pushes to (`userId` of the HTTP
/// API); always one of `events.reserved_room_prefixes`.
pub const USER_PREFIX: &str = "user_";

/// The server's rooms, by name: `role_…`, the per-user rooms of
/// `events.reserved_room_prefixes` (`user_…`, `user-…` by default), and,
/// by the rule of [`sid_room_reserved`], the rooms of socket ids.
#[derive(Debug, Clone, Copy)]
pub struct ServerRooms<'a> {
    /// The per-user prefixes (`events.reserved_room_prefixes`).
    pub user_prefixes: &'a [String],
    /// Whether every socket-id-shaped name is reserved (see
    /// [`sid_room_reserved`]).
    pub all_sids: bool,
}

impl ServerRooms<'_> {
    /// Whether `room` starts with `role_` or a per-user prefix.
    pub fn has_reserved_prefix(&self, room: &str) -> bool {
        room.starts_with(ROLE_PREFIX) || self.owner(room).is_some()
    }

    /// The user id a per-user room is reserved to (`42` for `user-42`).
    pub fn owner<'r>(&self, room: &'r str) -> Option<&'r str> {
        self.user_prefixes
            .iter()
            .find_map(|p| room.strip_prefix(p.as_str()))
    }

    /// Whether `room` is one of the server's own, whose membership follows
    /// the token or the socket.
    pub fn contains(&self, room: &str, socket: &Socket) -> bool {
        self.has_reserved_prefix(room) || sid_room_reserved(room, socket, self.all_sids)
    }

    /// The rooms of user `id`, one per prefix.
    pub fn of_user<'s>(&'s self, id: &'s str) -> impl Iterator<Item = String> + 's {
        self.user_prefixes.iter().map(move |p| format!("{p}{id}"))
    }
}

/// The authenticated user of a socket, stored in its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `userId` or `sub` of the token; `None` for anonymous sockets.
    pub id: Option<String>,
    /// The role (token claim, `auth.default_role` or `auth.anonymous_role`).
    pub role: String,
    /// Whether the token's id is a JSON number (`42`, not `"42"`), so that
    /// replies give it back with its type.
    pub numeric_id: bool,
    /// The token's `username` claim, when a string.
    pub username: Option<String>,
    /// The token's `email` claim, when a string.
    pub email: Option<String>,
}

impl User {
    /// The user a verified token names; `default_role` when it has no
    /// `role` claim.
    pub fn from_claims(claims: Claims, default_role: &str) -> User {
        let raw = &claims.raw;
        let text = |k: &str| raw.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let numeric_id = raw
            .get("userId")
            .or_else(|| raw.get("sub"))
            .is_some_and(|v| v.is_number());
        User {
            numeric_id,
            username: text("username"),
            email: text("email"),
            id: Some(claims.user_id),
            role: claims.role.unwrap_or_else(|| default_role.to_owned()),
        }
    }

    /// A socket without a token.
    pub fn anonymous(role: &str) -> User {
        User {
            id: None,
            role: role.to_owned(),
            numeric_id: false,
            username: None,
            email: None,
        }
    }

    /// The id as the token had it: a number for a numeric id, else a
    /// string; `null` for anonymous sockets.
    pub fn id_json(&self) -> serde_json::Value {
        match &self.id {
            None => serde_json::Value::Null,
            Some(id) => typed_id(id, self.numeric_id),
        }
    }
}

/// `id` as JSON: a number when `numeric` and it reads as an integer,
/// else a string.
pub fn typed_id(id: &str, numeric: bool) -> serde_json::Value {
    match id.parse::<serde_json::Number>() {
        Ok(n) if numeric && (n.is_i64() || n.is_u64()) => serde_json::Value::Number(n),
        _ => id.into(),
    }
}

/// Room of every socket of a user.
pub fn user_room(id: &str) -> String {
    format!("{USER_PREFIX}{id}")
}

/// Room of every socket of a role (content-type events go there).
pub fn role_room(role: &str) -> String {
    format!("{ROLE_PREFIX}{role}")
}

/// Whether `room`, shaped like a socket id, is a socket's own room that
/// clients may not join: the id of a connected socket of the namespace, or
/// any such name when `all_sids` (recovery on: a disconnected socket may
/// come back with its id; clustering on: the socket may be on another
/// node). Other 20-character names of that alphabet (many databases' ids)
/// stay usable on a single node without recovery.
pub fn sid_room_reserved(room: &str, socket: &Socket, all_sids: bool) -> bool {
    socketio::parse_socket_id(room)
        .is_some_and(|sid| all_sids || socket.nsp().socket(sid).is_some())
}

/// The user of `socket` (`None` when the middleware stored none).
pub fn user_of(socket: &Socket) -> Option<Arc<User>> {
    socket.get::<Arc<User>>()
}

/// The user id of `socket`; `None` for anonymous sockets.
pub fn user_id(socket: &Socket) -> Option<String> {
    user_of(socket).and_then(|u| u.id.clone())
}

/// The user id of `socket` with its JSON type (see [`User::id_json`]);
/// `null` for anonymous sockets.
pub fn user_id_json(socket: &Socket) -> serde_json::Value {
    user_of(socket).map_or(serde_json::Value::Null, |u| u.id_json())
}

/// Makes `user` the socket's: its per-user rooms (one per prefix of
/// `rooms`) and per-role room, leaving the room of the role it had before
/// (a recovered or re-authenticated socket), and its data.
pub fn bind_user(socket: &Socket, user: User, rooms: ServerRooms<'_>) {
    if let Some(old) = user_of(socket) {
        if old.role != user.role {
            socket.leave(&role_room(&old.role));
        }
    }
    if let Some(id) = &user.id {
        socket.join(rooms.of_user(id).collect::<Vec<_>>());
    }
    socket.join(role_room(&user.role));
    socket.insert(Arc::new(user));
}

/// Where the token came from: `auth.token`, the `token` query parameter or
/// `Authorization: Bearer`. `Err` for a present but non-string `auth.token`.
pub fn token(h: &Handshake) -> Result<Option<String>, JwtError> {
    match h.auth.get("token") {
        Some(serde_json::Value::String(t)) => return Ok(Some(t.clone())),
        Some(serde_json::Value::Null) | None => {}
        Some(_) => return Err(JwtError::Malformed),
    }
    if let Some(t) = h.query("token") {
        return Ok(Some(t));
    }
    let bearer = h
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_owned())
        });
    Ok(bearer)
}

/// Seconds since the Unix epoch, for token checks.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_rooms_are_named_by_prefix() {
        assert_eq!(user_room("42"), "user_42");
        assert_eq!(role_room("admin"), "role_admin");
        let prefixes = vec!["user_".to_owned(), "user-".to_owned()];
        let rooms = ServerRooms {
            user_prefixes: &prefixes,
            all_sids: false,
        };
        assert!(rooms.has_reserved_prefix("user_42") && rooms.has_reserved_prefix("role_"));
        assert!(rooms.has_reserved_prefix("user-42"));
        assert!(!rooms.has_reserved_prefix("chat") && !rooms.has_reserved_prefix("user"));
        assert_eq!(rooms.owner("user-42"), Some("42"));
        assert_eq!(rooms.owner("user_"), Some(""));
        assert_eq!(rooms.owner("role_x"), None);
        let all: Vec<String> = rooms.of_user("7").collect();
        assert_eq!(all, ["user_7", "user-7"]);
    }

    #[test]
    fn ids_keep_their_json_type() {
        assert_eq!(typed_id("42", true), serde_json::json!(42));
        assert_eq!(typed_id("42", false), serde_json::json!("42"));
        assert_eq!(typed_id("-7", true), serde_json::json!(-7));
        assert_eq!(
            typed_id("18446744073709551615", true),
            serde_json::json!(18446744073709551615u64)
        );
        assert_eq!(typed_id("abc", true), serde_json::json!("abc"));
        assert_eq!(typed_id("1.5", true), serde_json::json!("1.5"));
    }
}
