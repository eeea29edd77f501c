//! The emit routes: `POST /api/push` (one user's sockets, or one socket),
//! `POST /api/broadcast` (the namespace, optionally but one socket) and
//! `POST /api/room`; content-type events only reach the roles allowed to
//! receive them.
//!
//! Emits only: must not change room membership or disconnect sockets.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use socketio::Namespace;

use super::{namespace_of, ok, present, room_of, socket_id, user_id, Answer, ApiError, Call};
use crate::dashboard::recorder::{Kind, Record};
use crate::identity::{role_room, user_room};
use crate::state::{Live, State};

/// `POST /api/push`: one user's sockets, or one socket (the plugin's
/// `sendPrivateMessage`). `recipients` (and `delivered`) count the target's
/// sockets on every node: with clustering on, asked of the other servers
/// after the emit (`counted` says `cluster`, or `local` when they could not
/// be asked and only this node's are counted).
pub(super) async fn push(c: &Call<'_>) -> Answer {
    let b = &c.body;
    let room = match (present(b, "userId"), present(b, "socketId")) {
        (Some(_), Some(_)) => return Err(ApiError::bad("give `userId` or `socketId`, not both")),
        (None, Some(id)) => socket_id(id)?.1,
        (u, None) => user_room(&user_id(u)?),
    };
    let sent = emit(c, target(c.st, b, Some(room), None)?, true).await;
    let mut body = json!({ "success": true, "delivered": sent.n > 0, "recipients": sent.n, "timestamp": c.ts });
    sent.describe(c.st, &mut body);
    ok(body)
}

/// `POST /api/broadcast`: from a socket to all the others (the plugin's
/// `broadcast`), or to the whole namespace, on every node. `recipients`
/// counts this node's.
pub(super) async fn broadcast(c: &Call<'_>) -> Answer {
    let b = &c.body;
    let except = present(b, "exceptSocketId")
        .map(socket_id)
        .transpose()?
        .map(|(_, id)| id);
    let sent = emit(c, target(c.st, b, None, except)?, false).await;
    let mut body = json!({ "success": true, "recipients": sent.n, "timestamp": c.ts });
    sent.describe(c.st, &mut body);
    ok(body)
}

/// `POST /api/room`: the sockets of a room, on every node. `recipients`
/// counts this node's.
pub(super) async fn room(c: &Call<'_>) -> Answer {
    let b = &c.body;
    let room = room_of(b)?;
    let sent = emit(c, target(c.st, b, Some(room), None)?, false).await;
    let mut body = json!({ "success": true, "recipients": sent.n, "timestamp": c.ts });
    sent.describe(c.st, &mut body);
    ok(body)
}

/// What an emit reached.
pub(super) struct Sent {
    /// Recipients counted.
    pub(super) n: usize,
    /// Whether `n` covers every node (else this node only; a single node
    /// is every node).
    every_node: bool,
}

impl Sent {
    /// With clustering on, says what `recipients` counted.
    pub(super) fn describe(&self, st: &State, body: &mut Value) {
        if st.cluster.is_some() {
            body["counted"] = if self.every_node { "cluster" } else { "local" }.into();
        }
    }
}

/// What an emit request sends where.
pub(super) struct Target {
    pub(super) nsp: Namespace,
    /// The room, or `None` for the whole namespace.
    pub(super) room: Option<String>,
    /// A socket left out.
    pub(super) except: Option<String>,
    pub(super) event: String,
    pub(super) data: Option<Value>,
}

/// The namespace, event and payload of an emit request, to `room` but
/// `except`.
fn target(
    st: &State,
    b: &Value,
    room: Option<String>,
    except: Option<String>,
) -> Result<Target, ApiError> {
    let event = event_of(b)?;
    Ok(Target {
        nsp: namespace_of(st, b)?,
        room,
        except,
        event,
        data: b.get("data").cloned(),
    })
}

/// The request's `event`: see [`check_event`].
pub(super) fn event_of(b: &Value) -> Result<String, ApiError> {
    match b.get("event") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => check_event(s),
        _ => Err(ApiError::bad(
            "`event` must be a non-empty string (at most 256 bytes)",
        )),
    }
}

/// An event name an API call may emit: 1 to 256 bytes, not reserved.
pub(super) fn check_event(event: &str) -> Result<String, ApiError> {
    if event.is_empty() || event.len() > 256 {
        return Err(ApiError::bad(
            "event names are non-empty strings (at most 256 bytes)",
        ));
    }
    if socketio::packet::RESERVED_EVENTS.contains(&event) {
        return Err(ApiError::bad(format!("`{event}` is a reserved event name")));
    }
    Ok(event.to_owned())
}

/// Content-type events (`{type}:{create|update|delete}`, or
/// `created|updated|deleted` with `content.custom_event_names`, with `type`
/// named in some role's permissions) only reach roles allowed to receive
/// them.
fn allowed_roles(live: &Live, event: &str) -> Option<Vec<String>> {
    let (ty, suffix) = event.rsplit_once(':')?;
    let custom = live.config.content.custom_event_names;
    let action = match (suffix, custom) {
        ("create" | "update" | "delete", false) => suffix,
        ("created", true) => "create",
        ("updated", true) => "update",
        ("deleted", true) => "delete",
        _ => return None,
    };
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

/// Emits to `room` (or the whole namespace), through the adapter (so on
/// every node). Counts this node's recipients, or with `count_cluster`
/// every node's (`room` is then one user's or socket's: a short list).
pub(super) async fn emit(c: &Call<'_>, t: Target, count_cluster: bool) -> Sent {
    let (event, nsp) = (t.event.clone(), t.nsp.name().to_owned());
    let bytes = t.data.as_ref().map_or(0, crate::reply::json_len);
    let sent = match allowed_roles(c.live, &t.event) {
        Some(roles) => emit_to_roles(c, t, roles).await,
        None => emit_to(c, t, count_cluster).await,
    };
    record_emit(c, &event, &nsp, sent.n, bytes);
    sent
}

/// [`emit`] of an event no role permission restricts.
async fn emit_to(c: &Call<'_>, t: Target, count_cluster: bool) -> Sent {
    let Target {
        nsp,
        room,
        except,
        event,
        data,
    } = t;
    // Sent even with no recipient known here: with connection state
    // recovery a briefly disconnected socket gets it when it comes back.
    let mut op = match &room {
        Some(r) => nsp.to(r.clone()),
        None => nsp.broadcast(),
    };
    if let Some(sid) = except {
        op = op.except(sid);
    }
    let local = nsp.adapter().local_sockets(op.options()).len();
    let counting = op.clone();
    let _ = op.emit(&event, payload(data));
    // While Redis is down the others cannot be asked (the adapter would wait).
    let ask = count_cluster && c.st.cluster_connected() == Some(true);
    let sent = match (ask, &c.st.cluster) {
        (true, Some(_)) => match c.st.bounded(counting.fetch_sockets()).await {
            Ok(all) => Sent {
                n: all.len(),
                every_node: true,
            },
            Err(e) => {
                tracing::warn!(error = %e, "push: the other servers could not be counted");
                Sent {
                    n: local,
                    every_node: false,
                }
            }
        },
        _ => Sent {
            n: local,
            every_node: c.st.cluster.is_none(),
        },
    };
    c.st.metrics
        .events_sent_total
        .fetch_add(sent.n as u64, Ordering::Relaxed);
    sent
}

/// A content-type event: only sockets of `roles` get it. Namespace-wide,
/// the roles' rooms are the recipients; for a room, its members of those
/// roles, found on every node (this node's alone when the others cannot
/// be asked), are sent it one by one.
async fn emit_to_roles(c: &Call<'_>, t: Target, roles: Vec<String>) -> Sent {
    let Target {
        nsp,
        room,
        except,
        event,
        data,
    } = t;
    let every_node = c.st.cluster.is_none();
    if roles.is_empty() {
        // No role may receive it (and no rooms would mean everyone).
        return Sent { n: 0, every_node };
    }
    let sent = match room {
        None => {
            let mut op = nsp.to(roles);
            if let Some(sid) = except {
                op = op.except(sid);
            }
            let n = nsp.adapter().local_sockets(op.options()).len();
            let _ = op.emit(&event, payload(data));
            Sent { n, every_node }
        }
        Some(room) => {
            let (members, every_node) = match c
                .st
                .bounded(nsp.to(room.clone()).fetch_sockets())
                .await
            {
                Ok(all) => (all, true),
                Err(e) => {
                    tracing::warn!(error = %e, "room: the other servers could not be asked; this node's members only");
                    let op = nsp.to(room).local();
                    (op.fetch_sockets().await.unwrap_or_default(), false)
                }
            };
            let ids: Vec<String> = members
                .iter()
                .filter(|s| s.rooms.iter().any(|r| roles.contains(r)))
                .map(|s| s.public_id.clone())
                .collect();
            if !ids.is_empty() {
                let _ = nsp.to(ids.clone()).emit(&event, payload(data));
            }
            Sent {
                n: ids.len(),
                every_node,
            }
        }
    };
    c.st.metrics
        .events_sent_total
        .fetch_add(sent.n as u64, Ordering::Relaxed);
    sent
}

fn payload(data: Option<Value>) -> socketio::Data {
    match data {
        Some(v) => socketio::Data::from(v),
        None => socketio::Data::new(),
    }
}

/// Counts an event the API emitted (a payload of `bytes`) in the event
/// statistics, logs it when `monitoring.event_logging` is on, and adds it
/// to the dashboard's event log.
pub(super) fn record_emit(c: &Call, event: &str, nsp: &str, recipients: usize, bytes: usize) {
    c.st.dashboard_record(c.live, || Record {
        kind: Kind::Out,
        event,
        namespace: nsp,
        socket_id: None,
        bytes,
        recipients: Some(recipients),
    });
    let m = &c.live.config.monitoring;
    c.st.monitor.count(event, m.max_event_types);
    if m.event_logging {
        c.st.monitor.log(
            event,
            json!({ "namespace": nsp, "recipients": recipients, "source": "api" }),
            m.max_event_log,
        );
    }
}
