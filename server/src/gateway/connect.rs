//! The connection proxy (`[proxy_connect]`): before a namespace connection
//! is accepted (its token already checked), the backend gets `{socketId,
//! namespace, userId, role, handshake: {auth, query, headers, address}}`,
//! signed as every proxy request (see [`super::backend`]).
//!
//! A 2xx answer accepts: `{}` (or no body), or `{data, userId, role}`
//! (each optional): `data` becomes the socket's data (sent with every
//! proxied event, and what a cluster's `fetchSockets` reports); `userId`
//! (a string or an integer) and `role` say who the socket is, in place of
//! what its token said (a cookie-session app authenticates here), and the
//! role's permissions are checked again. `{error: {message, code}}` refuses
//! the connection: the client's `connect_error` has that message and
//! `data.code` (`CONNECTION_REFUSED` when none). A timeout, an unreachable
//! backend, a non-2xx status or an invalid answer refuses with
//! `BACKEND_UNAVAILABLE`.

use serde_json::{json, Map, Value};
use socketio::{ConnectError, Socket};

use super::backend::{header_json, CallError};
use super::proxy::UNAVAILABLE;
use super::Gateway;
use crate::identity::User;
use crate::state::State;

/// What the connection proxy accepted a connection with.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Admitted {
    /// Data for the socket (`Null`: none).
    pub data: Value,
    /// The user id the backend gives the socket, in place of the token's.
    pub user_id: Option<String>,
    /// Whether the backend gave that id as a JSON number (replies give it
    /// back as one).
    pub numeric_id: bool,
    /// The role the backend gives the socket, in place of the token's.
    pub role: Option<String>,
}

impl Gateway {
    /// Asks the connection proxy about `socket` of `user`, when it checks
    /// the socket's namespace (else accepts with nothing): what it
    /// accepted with, or the refusal.
    pub async fn admit(
        &self,
        st: &State,
        socket: &Socket,
        user: &User,
    ) -> Result<Admitted, ConnectError> {
        let Some(target) = &self.connect else {
            return Ok(Admitted::default());
        };
        let live = st.live();
        if !live.config.proxy_connect.checks(socket.nsp().name()) {
            return Ok(Admitted::default());
        }
        let body = serde_json::to_vec(&request(socket, user)).unwrap_or_default();
        let deadline = std::time::Instant::now() + target.timeout;
        let r = self
            .call(st, target, body, deadline)
            .await
            .and_then(|o| decide(&o));
        let count = |result: &str| {
            st.metrics
                .gateway
                .proxy_requests_total
                .inc(&["connect", result])
        };
        match r {
            Ok(Decision::Accept(data)) => {
                count("ok");
                Ok(data)
            }
            Ok(Decision::Refuse { message, code }) => {
                count("error");
                st.metrics.auth_failures_total.inc(&["CONNECTION_REFUSED"]);
                Err(ConnectError::new(message).with_data(json!({ "code": code })))
            }
            Err(e) => {
                count(e.label());
                st.metrics.auth_failures_total.inc(&[UNAVAILABLE]);
                self.warn(&format!("connection proxy: {}: {e}", target.shown));
                Err(ConnectError::new("Backend unavailable")
                    .with_data(json!({ "code": UNAVAILABLE })))
            }
        }
    }
}

/// The request body for `socket` of `user`.
fn request(socket: &Socket, user: &User) -> Value {
    let h = socket.handshake();
    let q = h.url.split_once('?').map_or("", |(_, q)| q);
    let mut query = Map::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        if let Some(v) = engineio::query::param(q, name) {
            query.entry(name.to_owned()).or_insert(Value::String(v));
        }
    }
    let mut headers = Map::new();
    for (k, v) in h.headers.iter() {
        headers
            .entry(k.as_str().to_owned())
            .or_insert(header_json(v));
    }
    json!({
        "socketId": socket.public_id().to_owned(),
        "namespace": socket.nsp().name(),
        "userId": user.id_json(),
        "role": user.role,
        "handshake": {
            "auth": h.auth,
            "query": query,
            "headers": headers,
            "address": h.address.map(|a| a.ip().to_string()),
        },
    })
}

/// What a connection proxy answer says.
#[derive(Debug, PartialEq)]
enum Decision {
    Accept(Admitted),
    Refuse { message: String, code: String },
}

fn decide(o: &Map<String, Value>) -> Result<Decision, CallError> {
    match o.get("error") {
        None | Some(Value::Null) => accept(o).map(Decision::Accept),
        Some(Value::String(m)) => Ok(Decision::Refuse {
            message: m.clone(),
            code: "CONNECTION_REFUSED".into(),
        }),
        Some(Value::Object(e)) => Ok(Decision::Refuse {
            message: e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("Connection refused by the backend")
                .to_owned(),
            code: e
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("CONNECTION_REFUSED")
                .to_owned(),
        }),
        Some(_) => Err(CallError::Invalid(
            "`error` must be an object {message, code}".into(),
        )),
    }
}

/// An accepting answer's `data`, `userId` and `role`.
fn accept(o: &Map<String, Value>) -> Result<Admitted, CallError> {
    let user_id = match o.get("userId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Some(s.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Some(_) => {
            return Err(CallError::Invalid(
                "`userId` must be a non-empty string or an integer".into(),
            ))
        }
    };
    let role = match o.get("role") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 128 => Some(s.clone()),
        Some(_) => {
            return Err(CallError::Invalid(
                "`role` must be a non-empty string".into(),
            ))
        }
    };
    Ok(Admitted {
        data: o.get("data").cloned().unwrap_or(Value::Null),
        numeric_id: matches!(o.get("userId"), Some(Value::Number(_))),
        user_id,
        role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        let d = |v: Value| decide(v.as_object().unwrap());
        assert_eq!(d(json!({})).unwrap(), Decision::Accept(Admitted::default()));
        assert_eq!(
            d(json!({"data": {"plan": "pro"}, "userId": 42, "role": "vip"})).unwrap(),
            Decision::Accept(Admitted {
                data: json!({"plan": "pro"}),
                user_id: Some("42".into()),
                numeric_id: true,
                role: Some("vip".into()),
            })
        );
        for bad in [
            json!({"userId": ""}),
            json!({"userId": 1.5}),
            json!({"role": 3}),
            json!({"role": ""}),
        ] {
            assert!(d(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(
            d(json!({"error": {"message": "banned", "code": "BANNED"}})).unwrap(),
            Decision::Refuse {
                message: "banned".into(),
                code: "BANNED".into()
            }
        );
        assert_eq!(
            d(json!({"error": "no"})).unwrap(),
            Decision::Refuse {
                message: "no".into(),
                code: "CONNECTION_REFUSED".into()
            }
        );
        assert!(d(json!({"error": 1})).is_err());
    }
}
