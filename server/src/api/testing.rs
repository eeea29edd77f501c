//! The test routes the documents name: `GET` / `POST /api/socket-test`
//! (document 004's socket test API: availability, counts, capabilities;
//! `sendToUser`, `broadcast`, `emitOnlineUsers`) and
//! `POST /api/monitoring/test` (the plugin's `sendTestEvent`).
//!
//! Emits only, through [`super::emit`]: must not change room membership
//! or disconnect sockets.

use std::time::SystemTime;

use serde_json::{json, Value};
use socketio::Namespace;

use super::emit::{emit, Target};
use super::{namespace_of, ok, present, user_id, Answer, ApiError, Call};
use crate::identity::user_room;
use crate::monitor::unix_ms;
use crate::state::lock;

/// The event `sendToUser` and `broadcast` send unless `event` names another.
pub const TEST_EVENT: &str = "testMessage";

/// The event `POST /api/monitoring/test` sends without an `eventName`.
pub const MONITORING_TEST_EVENT: &str = "test";

/// The actions `POST /api/socket-test` takes.
const ACTIONS: [&str; 3] = ["sendToUser", "broadcast", "emitOnlineUsers"];

/// `GET /api/socket-test`: whether the server takes connections, how many
/// sockets and users each namespace has, and what the test actions can do.
pub(super) fn info(c: &Call) -> Answer {
    let st = c.st;
    let mut namespaces = Vec::new();
    let (mut sockets, mut users) = (0, 0);
    for n in st.io.namespaces() {
        let s = n.sockets().len();
        let u = lock(&st.chat).online_users(n.name()).len();
        sockets += s;
        users += u;
        namespaces.push(json!({ "name": n.name(), "sockets": s, "users": u }));
    }
    ok(json!({
        "success": true,
        "available": st.ready() && !st.draining(),
        "status": if st.draining() { "draining" } else if st.ready() { "ok" } else { "starting" },
        "connections": { "engine": st.connection_count(), "sockets": sockets, "users": users },
        "namespaces": namespaces,
        "capabilities": {
            "actions": ACTIONS,
            "sendToUser": true, "broadcast": true, "emitOnlineUsers": true,
            "rooms": true, "clustering": st.cluster.is_some(),
            "redis": st.cluster_state().filter(|(e, _)| *e == "redis").map(|(_, up)| up),
            "postgres": st.cluster_state().filter(|(e, _)| *e == "postgres").map(|(_, up)| up),
        },
        "timestamp": c.ts,
    }))
}

/// `POST /api/socket-test` `{action, targetUserId, message, namespace,
/// event}`: `sendToUser` sends `{message, timestamp}` as
/// [`TEST_EVENT`] to one user's sockets, `broadcast` to the namespace,
/// `emitOnlineUsers` sends the online user ids as `getOnlineUsers` to the
/// namespace.
pub(super) async fn act(c: &Call<'_>) -> Answer {
    let b = &c.body;
    let action = match b.get("action") {
        Some(Value::String(a)) if ACTIONS.contains(&a.as_str()) => a.as_str(),
        _ => {
            return Err(ApiError::bad(format!(
                "`action` must be one of {}",
                ACTIONS.join(", ")
            )))
        }
    };
    let nsp = namespace_of(c.st, b)?;
    let event = match present(b, "event") {
        None => TEST_EVENT.to_owned(),
        Some(_) => super::emit::event_of(b)?,
    };
    let message = present(b, "message")
        .cloned()
        .unwrap_or_else(|| "Test message".into());
    let data = json!({ "message": message, "timestamp": unix_ms(SystemTime::now()) });
    let mut body =
        json!({ "success": true, "action": action, "namespace": nsp.name(), "timestamp": c.ts });
    let sent = match action {
        "sendToUser" => {
            let user = user_id(present(b, "targetUserId")).map_err(|_| {
                ApiError::bad("sendToUser needs `targetUserId`: a non-empty string or an integer")
            })?;
            body["targetUserId"] = b["targetUserId"].clone();
            body["event"] = event.clone().into();
            let room = Some(user_room(&user));
            emit(c, target(nsp, room, event, data), true).await
        }
        "broadcast" => {
            body["event"] = event.clone().into();
            emit(c, target(nsp, None, event, data), false).await
        }
        _ => {
            let users = online_users(c, &nsp).await;
            body["event"] = "getOnlineUsers".into();
            body["users"] = json!(users);
            emit(
                c,
                target(nsp, None, "getOnlineUsers".into(), json!(users)),
                false,
            )
            .await
        }
    };
    body["recipients"] = sent.n.into();
    sent.describe(c.st, &mut body);
    ok(body)
}

/// `POST /api/monitoring/test` `{eventName, data, namespace}`: sends a test
/// event to every socket of the namespace (`/` by default).
pub(super) async fn monitoring_test(c: &Call<'_>) -> Answer {
    let b = &c.body;
    let event = match present(b, "eventName") {
        None => MONITORING_TEST_EVENT.to_owned(),
        Some(Value::String(e)) => super::emit::check_event(e)?,
        Some(_) => return Err(ApiError::bad("`eventName` must be a string")),
    };
    let data = present(b, "data").cloned().unwrap_or_else(
        || json!({ "message": "Test event", "timestamp": unix_ms(SystemTime::now()) }),
    );
    let nsp = namespace_of(c.st, b)?;
    let sent = emit(c, target(nsp, None, event.clone(), data.clone()), false).await;
    let mut body = json!({
        "success": true, "eventName": event, "data": data,
        "recipients": sent.n, "timestamp": c.ts,
    });
    sent.describe(c.st, &mut body);
    ok(body)
}

fn target(nsp: Namespace, room: Option<String>, event: String, data: Value) -> Target {
    Target {
        nsp,
        room,
        except: None,
        event,
        data: Some(data),
    }
}

/// The online user ids of `nsp`: this node's, or with clustering on every
/// node's (this node's when the others cannot be asked).
/// Typed as [`crate::chat::Chat::typed_users`] says.
async fn online_users(c: &Call<'_>, nsp: &Namespace) -> Vec<Value> {
    let local = || lock(&c.st.chat).online_users(nsp.name()).to_vec();
    if c.st.cluster.is_none() || c.st.cluster_connected() != Some(true) {
        return local();
    }
    match c.st.bounded(nsp.adapter().all_rooms()).await {
        Ok(rooms) => {
            let users = rooms
                .iter()
                .filter_map(|r| r.strip_prefix("user_").map(str::to_owned))
                .collect();
            lock(&c.st.chat).typed_users(nsp.name(), users)
        }
        Err(e) => {
            tracing::warn!(error = %e, "socket-test: the other servers could not be asked");
            local()
        }
    }
}
