//! Who a socket is: the [`User`] its token names (or the anonymous role),
//! where the handshake carries that token, the server rooms that follow
//! from the user (`user_<id>`, `role_<role>`) and from the socket (its own
//! room), and binding a user to a socket.
//!
//! Must not read the settings or the server state: callers pass what it
//! needs (the default role, whether recovery is on). Token verification
//! itself is [`crate::jwt`]'s.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use engineio::Sid;
use socketio::{Handshake, Socket};

use crate::jwt::{Claims, JwtError};

/// Prefixes of the rooms the server manages; clients cannot join or leave
/// them.
pub const RESERVED_PREFIXES: [&str; 2] = ["user_", "role_"];

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
            Some(id) => match id.parse::<i64>() {
                Ok(n) if self.numeric_id => n.into(),
                _ => id.as_str().into(),
            },
        }
    }
}

/// Room of every socket of a user.
pub fn user_room(id: &str) -> String {
    format!("user_{id}")
}

/// Room of every socket of a role (content-type events go there).
pub fn role_room(role: &str) -> String {
    format!("role_{role}")
}

/// Whether `room` starts with one of [`RESERVED_PREFIXES`].
pub fn has_reserved_prefix(room: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| room.starts_with(p))
}

/// Whether `room` is one of the server's own, whose membership follows
/// the token or the socket: `user_…`, `role_…`, or a socket's own room
/// (see [`sid_room_reserved`]; `all_sids` as there).
pub fn is_server_room(room: &str, socket: &Socket, all_sids: bool) -> bool {
    has_reserved_prefix(room) || sid_room_reserved(room, socket, all_sids)
}

/// Whether `room`, shaped like a socket id, is a socket's own room that
/// clients may not join: the id of a connected socket of the namespace, or
/// any such name when `all_sids` (recovery on: a disconnected socket may
/// come back with its id; clustering on: the socket may be on another
/// node). Other 20-character names of that alphabet (many databases' ids)
/// stay usable on a single node without recovery.
pub fn sid_room_reserved(room: &str, socket: &Socket, all_sids: bool) -> bool {
    Sid::parse(room).is_some_and(|sid| all_sids || socket.nsp().socket(sid).is_some())
}

/// The user of `socket` (`None` when the middleware stored none).
pub fn user_of(socket: &Socket) -> Option<Arc<User>> {
    socket.get::<Arc<User>>()
}

/// The user id of `socket`; `None` for anonymous sockets.
pub fn user_id(socket: &Socket) -> Option<String> {
    user_of(socket).and_then(|u| u.id.clone())
}

/// Makes `user` the socket's: its per-user and per-role rooms, leaving the
/// room of the role it had before (a recovered or re-authenticated socket),
/// and its data.
pub fn bind_user(socket: &Socket, user: User) {
    if let Some(old) = user_of(socket) {
        if old.role != user.role {
            socket.leave(&role_room(&old.role));
        }
    }
    if let Some(id) = &user.id {
        socket.join(user_room(id));
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
        assert!(has_reserved_prefix("user_42") && has_reserved_prefix("role_"));
        assert!(!has_reserved_prefix("chat") && !has_reserved_prefix("user"));
    }
}
