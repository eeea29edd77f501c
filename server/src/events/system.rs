//! The system family: `register` (`register:ack`), `authenticate`
//! (`authenticated` or `authError`), `ping` (`pong`, and an empty ack when
//! asked); and on connect `system:welcome` and `connected`, and after a
//! reconnection that asked for recovery `system:state_recovered` or
//! `system:state_recovery_failed`.
//!
//! Binds a token's user to a socket through [`crate::identity`]; presence
//! bookkeeping stays with the presence family.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{json, Value};
use socketio::{Data, Socket};

use super::{arg_or_field, emit, emits, event, now_iso, presence, Family, Reply};
use crate::identity::{bind_user, now_secs, user_id, user_id_json, user_of, User};
use crate::jwt::{Claims, JwtError};
use crate::monitor::unix_ms;
use crate::state::{Live, State};

pub(super) const FAMILY: Family = Family {
    events: &[
        event("register", Some("register:ack"), on_register).ts(
            "body: { userId: UserId }",
            "{ success: true; userId: UserId } | Failure",
        ),
        event("authenticate", None, on_authenticate)
            .ts("body: { token: string }", "Authenticated | AuthError"),
        event("ping", None, on_ping).ts("body?: { timestamp?: number }", "void"),
    ],
    emits: &[
        emits("system:welcome", "{ message: string; socketId: string; timestamp: string; serverInfo: { version: string; environment: string } }"),
        emits("connected", "{ userId: UserId | null; socketId: string }"),
        emits("system:state_recovered", "{ userId: UserId | null; timestamp: string }"),
        emits("system:state_recovery_failed", "{ message: string; timestamp: string }"),
        emits("authenticated", "Authenticated"),
        emits("authError", "AuthError"),
        emits("pong", "{ timestamp: number | null; serverTime: number }"),
    ],
    on_connect: Some(welcome),
    on_close: None,
};

/// Sends `system:welcome` and `connected` (when `events.welcome` is on)
/// and tells a client that asked to recover whether it did.
fn welcome(st: &Arc<State>, live: &Live, socket: &Socket) {
    let ev = &live.config.events;
    let user = user_id_json(socket);
    if ev.welcome {
        emit(
            st,
            socket,
            "system:welcome",
            json!({
                "message": "Welcome to the Socket.IO server",
                "socketId": socket.public_id(),
                "timestamp": now_iso(),
                "serverInfo": {
                    "version": env!("CARGO_PKG_VERSION"),
                    "environment": live.config.server.environment,
                },
            }),
        );
        emit(
            st,
            socket,
            "connected",
            json!({ "userId": user, "socketId": socket.public_id() }),
        );
    }
    // A client that asked to recover (its CONNECT carries `pid`) learns
    // whether it did.
    if socket.recovered() {
        emit(
            st,
            socket,
            "system:state_recovered",
            json!({ "userId": user, "timestamp": now_iso() }),
        );
    } else if socket.handshake().auth.get("pid").is_some() {
        emit(
            st,
            socket,
            "system:state_recovery_failed",
            json!({ "message": "Failed to recover connection state", "timestamp": now_iso() }),
        );
    }
}

fn on_register(_: &State, _: &Live, s: &Socket, data: &Data, r: Reply) {
    // A numeric id may be named as a number or in decimal.
    let wanted = match arg_or_field(data, "userId") {
        Some(Value::String(w)) => w.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => {
            return r.fail(
                "INVALID_MESSAGE_DATA",
                "userId must be a string or an integer",
            )
        }
    };
    match user_id(s) {
        None => r.fail("AUTH_REQUIRED", "Authentication required"),
        Some(id) if id == wanted => r.ok(json!({ "success": true, "userId": user_id_json(s) })),
        Some(_) => r.fail("FORBIDDEN", "userId does not match the authenticated user"),
    }
}

/// `authenticate {token}`: the token of an anonymous socket makes it the
/// user's (rooms, presence); the same user's fresh token is accepted too.
/// A token naming a JWKS key not yet known is checked again from a task
/// once the set is refreshed (see [`crate::jwks`]).
fn on_authenticate(st: &State, live: &Live, _: &Socket, data: &Data, r: Reply) {
    let Some(Value::String(token)) = arg_or_field(data, "token") else {
        return auth_failed(r, "INVALID_TOKEN", "token must be a string");
    };
    let now = now_secs();
    let result = match &st.jwks {
        None => st.verifier.verify(token, now),
        Some(jwks) => st.verifier.verify_with(token, now, &jwks.keys()),
    };
    if let (Err(JwtError::UnknownKey(_)), Some(_)) = (&result, &st.jwks) {
        let (token, later) = (token.clone(), r.later());
        tokio::spawn(async move {
            let result = later.st.verify_token(&token).await;
            let live = later.st.live();
            later.answer(|r| authenticated(&live, result, r));
        });
        return;
    }
    authenticated(live, result, r)
}

/// Answers `authenticate` with `authError` (and the ack when asked).
fn auth_failed(r: Reply, code: &str, message: &str) {
    r.st.metrics.auth_failures_total.inc(&[code]);
    let body = json!({ "success": false, "message": message, "code": code });
    r.emit("authError", body.clone());
    if let Some(a) = r.ack {
        let _ = a.send(body);
    }
}

/// Binds the user of a verified token and answers `authenticated`.
fn authenticated(live: &Live, result: Result<Claims, JwtError>, r: Reply) {
    let claims = match result {
        Ok(c) => c,
        Err(e) => return auth_failed(r, e.code(), &format!("Authentication failed: {e}")),
    };
    let (cfg, s) = (&live.config, r.socket);
    let id = claims.user_id.clone();
    let user = User::from_claims(claims, &cfg.auth.default_role);
    let (role, id_json) = (user.role.clone(), user.id_json());
    let old = user_of(s);
    if let Some(prev) = old.as_ref().and_then(|u| u.id.as_ref()) {
        if *prev != id {
            return auth_failed(r, "FORBIDDEN", "Already authenticated as another user");
        }
    }
    let perms = cfg.role(&role);
    if !perms.can_connect || !perms.allows_namespace(s.nsp().name()) {
        let message = format!("Forbidden: role `{role}` may not use this namespace");
        return auth_failed(r, "FORBIDDEN", &message);
    }
    let was_anonymous = old.as_ref().is_none_or(|u| u.id.is_none());
    bind_user(s, user, live.server_rooms());
    if was_anonymous {
        presence::opened(r.st, &cfg.events, s, &id);
    }
    let body = json!({
        "success": true,
        "userId": id_json,
        "role": role,
        "socketId": s.public_id(),
    });
    r.emit("authenticated", body.clone());
    if let Some(a) = r.ack {
        let _ = a.send(body);
    }
}

fn on_ping(st: &State, _: &Live, s: &Socket, data: &Data, r: Reply) {
    // Only a number is echoed: the reply must not carry client data.
    let ts = arg_or_field(data, "timestamp")
        .filter(|v| v.is_number())
        .cloned()
        .unwrap_or(Value::Null);
    emit(
        st,
        s,
        "pong",
        json!({ "timestamp": ts, "serverTime": unix_ms(SystemTime::now()) }),
    );
    if let Some(a) = r.ack {
        let _ = a.send(Data::new());
    }
}
