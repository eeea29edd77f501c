//! The connection proxy (`[proxy_connect]`): before a namespace connection
//! is accepted (its token already checked), the backend gets `{socketId,
//! namespace, userId, role, handshake: {auth, query, headers, address}}`,
//! signed as every proxy request (see [`super::backend`]).
//!
//! A 2xx answer accepts: `{}` (or no body), or `{data: ...}`, which
//! becomes the socket's data (sent with every proxied event, and what a
//! cluster's `fetchSockets` reports). `{error: {message, code}}` refuses
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

impl Gateway {
    /// Asks the connection proxy about `socket` of `user`, when it checks
    /// the socket's namespace: the data to attach (`Null` for none), or
    /// the refusal.
    pub async fn admit(
        &self,
        st: &State,
        socket: &Socket,
        user: &User,
    ) -> Result<Value, ConnectError> {
        let Some(target) = &self.connect else {
            return Ok(Value::Null);
        };
        let live = st.live();
        if !live.config.proxy_connect.checks(socket.nsp().name()) {
            return Ok(Value::Null);
        }
        let body = serde_json::to_vec(&request(socket, user)).unwrap_or_default();
        let deadline = std::time::Instant::now() + target.timeout;
        let r = self
            .call(st, &target.url, &target.secret, body, deadline)
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
                self.warn(&format!("connection proxy: {}: {e}", target.url));
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
        "socketId": socket.id().to_string(),
        "namespace": socket.nsp().name(),
        "userId": user.id,
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
    Accept(Value),
    Refuse { message: String, code: String },
}

fn decide(o: &Map<String, Value>) -> Result<Decision, CallError> {
    match o.get("error") {
        None | Some(Value::Null) => Ok(Decision::Accept(
            o.get("data").cloned().unwrap_or(Value::Null),
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        let d = |v: Value| decide(v.as_object().unwrap());
        assert_eq!(d(json!({})).unwrap(), Decision::Accept(Value::Null));
        assert_eq!(
            d(json!({"data": {"plan": "pro"}})).unwrap(),
            Decision::Accept(json!({"plan": "pro"}))
        );
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
