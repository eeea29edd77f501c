//! The socket routes: `GET /api/sockets` (list), `POST /api/sockets/join`,
//! `POST /api/sockets/leave` and `POST /api/sockets/disconnect`, by socket
//! id or user id, on every node of the cluster (through the adapter).
//!
//! With clustering on, the sockets are found by asking every server
//! (`fetch_sockets`, bounded by `redis.requests_timeout_ms`); when the
//! others cannot be asked (Redis down, a server that does not answer),
//! this node's sockets are acted on and the answer says so in
//! `clusterError`.
//!
//! Changes client rooms and connections only: the server's own rooms
//! (`user_…`, `role_…`, socket ids) are refused.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use socketio::packet::Packet;
use socketio::{BroadcastOperator, Data, Namespace, Socket, SocketInfo};

use super::{
    namespace, namespace_of, not_found, ok, present, room_of, socket_id, user_id, Answer, ApiError,
    Call,
};
use crate::identity::{user_of, user_room};
use crate::monitor::iso8601;
use crate::state::State;

/// `GET /api/sockets`.
pub(super) async fn list(c: &Call<'_>) -> Answer {
    ok(list_sockets(c).await?)
}

/// `POST /api/sockets/join`: the sockets named join `room`, on every node.
pub(super) async fn join(c: &Call<'_>) -> Answer {
    membership(c, true).await
}

/// `POST /api/sockets/leave`: the sockets named leave `room`, on every node.
pub(super) async fn leave(c: &Call<'_>) -> Answer {
    membership(c, false).await
}

async fn membership(c: &Call<'_>, join: bool) -> Answer {
    let room = room_of(&c.body)?;
    let (sel, found) = select(c.st, &c.body, false).await?;
    member_room(c, &room, &found)?;
    let mut error = found.error.clone();
    for (nsp, _) in &found.by {
        let op = reach(c.st, nsp.to(sel.clone()));
        let r = match join {
            true => c.st.bounded(op.sockets_join(room.clone())).await,
            false => c.st.bounded(op.sockets_leave(room.clone())).await,
        };
        keep_error(&mut error, r);
    }
    let mut body =
        json!({ "success": true, "room": room, "sockets": found.count(), "timestamp": c.ts });
    describe(&mut body, error);
    ok(body)
}

/// `POST /api/sockets/disconnect`: `force_logout` then a disconnect for
/// each socket named (every namespace unless one is given), on every node.
pub(super) async fn disconnect(c: &Call<'_>) -> Answer {
    let reason = match c.body.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if r.len() <= 256 => Some(r.clone()),
        _ => {
            return Err(ApiError::bad(
                "`reason` must be a string (at most 256 bytes)",
            ))
        }
    };
    let (sel, found) = select(c.st, &c.body, true).await?;
    let mut error = found.error.clone();
    for (nsp, infos) in &found.by {
        let notice = json!({ "reason": reason, "timestamp": c.ts });
        c.st.metrics
            .events_sent_total
            .fetch_add(infos.len() as u64, Ordering::Relaxed);
        let (payload, bins) = Data::from(notice).into_event("force_logout");
        let packet = Packet::event(nsp.name(), payload, None, bins);
        let op = reach(c.st, nsp.to(sel.clone()));
        // The notice is published (and delivered here) before the
        // disconnect request, so every node sends it first.
        let r =
            c.st.bounded(nsp.adapter().broadcast(packet, op.options().clone()))
                .await;
        keep_error(&mut error, r);
        let r = c.st.bounded(op.disconnect_sockets(false)).await;
        keep_error(&mut error, r);
    }
    let n = found.count();
    tracing::info!(address = %c.ip, sockets = n, reason = reason.as_deref().unwrap_or("-"), "sockets disconnected through the API");
    let mut body = json!({ "success": true, "disconnected": n, "timestamp": c.ts });
    describe(&mut body, error);
    ok(body)
}

/// The sockets an operation found, by namespace, and what kept it from
/// reaching every node, if anything.
struct Found {
    by: Vec<(Namespace, Vec<SocketInfo>)>,
    error: Option<String>,
}

impl Found {
    fn count(&self) -> usize {
        self.by.iter().map(|(_, v)| v.len()).sum()
    }
}

/// Keeps the first error of the cluster operations of a request.
fn keep_error<T>(slot: &mut Option<String>, r: Result<T, socketio::AdapterError>) {
    if let Err(e) = r {
        slot.get_or_insert_with(|| e.to_string());
    }
}

/// Adds `clusterError` when an operation may have reached this node only.
fn describe(body: &mut Value, error: Option<String>) {
    if let Some(e) = error {
        body["clusterError"] = e.into();
    }
}

/// `op` on every node, or on this one only while Redis is down (the
/// adapter would wait for it).
fn reach(st: &State, op: BroadcastOperator) -> BroadcastOperator {
    match st.cluster_connected() {
        Some(false) => op.local(),
        _ => op,
    }
}

/// The sockets `op` selects on every node; this node's, with the reason,
/// when the others cannot be asked.
async fn fetch(st: &State, op: BroadcastOperator) -> (Vec<SocketInfo>, Option<String>) {
    if let Some((engine, false)) = st.cluster_state() {
        let local = op.local().fetch_sockets().await.unwrap_or_default();
        return (
            local,
            Some(format!("{engine} disconnected: this node only")),
        );
    }
    match st.bounded(op.clone().fetch_sockets()).await {
        Ok(all) => (all, None),
        Err(e) => {
            let local = op.local().fetch_sockets().await.unwrap_or_default();
            (local, Some(format!("{e}: this node only")))
        }
    }
}

/// Checks the `room` of a join or leave: not one of the server's own,
/// whose membership follows the token (`user_…`, `role_…`, and a socket's
/// own room, by the rule of `identity::sid_room_reserved`).
fn member_room(c: &Call<'_>, room: &str, found: &Found) -> Result<(), ApiError> {
    let all_sids = c.live.sid_rooms_reserved();
    let reserved = c.live.server_rooms().has_reserved_prefix(room)
        || socketio::parse_socket_id(room).is_some_and(|sid| {
            all_sids || found.by.iter().any(|(nsp, _)| nsp.socket(sid).is_some())
        });
    if reserved {
        return Err(ApiError::bad(format!(
            "`{room}` is a server room (role_…, a user's room of events.reserved_room_prefixes, or a socket's id)"
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

/// The room naming the sockets of an operation, `socketId` (one socket)
/// or `userId` (every socket of the user), and those found on every node.
/// 404 when none is connected.
async fn select(st: &State, b: &Value, all_by_default: bool) -> Result<(String, Found), ApiError> {
    // Checked before the namespace: a malformed request is a 400 whatever
    // the namespace.
    let (sel, id) = match (present(b, "socketId"), present(b, "userId")) {
        (Some(_), Some(_)) => return Err(ApiError::bad("give `socketId` or `userId`, not both")),
        (Some(id), None) => {
            let (sid, text) = socket_id(id)?;
            (text, Some(sid))
        }
        (None, Some(u)) => (user_room(&user_id(Some(u))?), None),
        (None, None) => return Err(ApiError::bad("`socketId` or `userId` is required")),
    };
    let mut found = Found {
        by: Vec::new(),
        error: None,
    };
    for nsp in namespaces(st, b, all_by_default)? {
        let (mut infos, error) = fetch(st, nsp.to(sel.clone())).await;
        found.error = found.error.or(error);
        // The socket itself, not the members of a client room of that name.
        infos.retain(|s| id.is_none_or(|id| s.id == id));
        if !infos.is_empty() {
            found.by.push((nsp, infos));
        }
    }
    if found.count() == 0 {
        return Err(not_found("No such connected socket".into()));
    }
    Ok((sel, found))
}

/// Most sockets `GET /api/sockets` lists.
pub const MAX_LISTED_SOCKETS: usize = 10_000;

/// `GET /api/sockets?namespace=&room=&userId=&limit=`: the sockets of a
/// namespace (default `/`), of a room, of a user, or of both, on every
/// node (this node's first).
async fn list_sockets(c: &Call<'_>) -> Result<Value, ApiError> {
    let q = |k: &str| engineio::query::param(&c.query, k);
    let nsp = namespace(c.st, q("namespace").as_deref().unwrap_or("/"))?;
    let limit = match q("limit") {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LISTED_SOCKETS).contains(l))
            .ok_or_else(|| ApiError::bad(format!("`limit` must be 1 to {MAX_LISTED_SOCKETS}")))?,
        None => 1000,
    };
    // A selection is the union of its rooms: for both, the user's sockets
    // are fetched and those in the room kept.
    let (rooms, within) = match (q("room"), q("userId").map(|u| user_room(&u))) {
        (Some(r), Some(u)) => (vec![u], Some(r)),
        (r, u) => (r.into_iter().chain(u).collect::<Vec<_>>(), None),
    };
    let (mut infos, error) = fetch(c.st, nsp.to(rooms)).await;
    if let Some(r) = within {
        infos.retain(|s| s.rooms.contains(&r));
    }
    let sockets: Vec<Value> = infos
        .iter()
        .take(limit)
        .map(|s| info_json(&nsp, s, c.admin))
        .collect();
    let mut body = json!({ "success": true, "count": infos.len(), "sockets": sockets });
    describe(&mut body, error);
    Ok(body)
}

/// A socket of any node as the list shows it: `node` is `local` for this
/// node's, else the server's id (`remote` when the protocol does not say).
/// A remote socket's user is read from its server rooms.
fn info_json(nsp: &Namespace, s: &SocketInfo, admin: bool) -> Value {
    if let Some(local) = s.server.is_none().then(|| nsp.socket(s.id)).flatten() {
        let mut v = socket_json(&local, admin);
        v["node"] = "local".into();
        return v;
    }
    let id = s.rooms.iter().find_map(|r| r.strip_prefix("user_"));
    let role = s.rooms.iter().find_map(|r| r.strip_prefix("role_"));
    let node = match s.server.as_deref() {
        Some("") | None => "remote",
        Some(n) => n,
    };
    let mut v = json!({
        "id": s.public_id.as_str(),
        "namespace": s.nsp,
        "connected": true,
        "rooms": s.rooms,
        "user": role.map(|r| json!({ "id": id, "role": r })),
        "node": node,
    });
    if admin {
        let h = &s.handshake;
        v["handshake"] = json!({
            "address": h.address.map(|a| a.ip().to_string()),
            "time": iso8601(h.issued),
        });
    }
    v
}

/// A socket as the API lists it; its handshake (the client's address)
/// only for admin keys, as in `/api/monitoring/stats`.
pub(super) fn socket_json(s: &Socket, with_handshake: bool) -> Value {
    let user = user_of(s);
    let mut v = json!({
        "id": s.public_id(),
        "namespace": s.nsp().name(),
        "connected": s.connected(),
        "rooms": s.rooms(),
        "user": user.map(|u| {
            let mut j = json!({ "id": u.id_json(), "role": u.role });
            if let Some(n) = &u.username {
                j["username"] = n.as_str().into();
            }
            if let Some(e) = &u.email {
                j["email"] = e.as_str().into();
            }
            j
        }),
    });
    if with_handshake {
        let h = s.handshake();
        v["handshake"] = json!({
            "address": h.address.map(|a| a.ip().to_string()),
            "time": iso8601(h.issued),
            "query": handshake_query(&h.url),
        });
    }
    v
}

/// Most query parameters shown per socket.
const MAX_QUERY_PARAMS: usize = 32;
/// Longest query value shown, in bytes.
const MAX_QUERY_VALUE: usize = 256;

/// The handshake's query parameters (first value of each), with a token
/// passed there masked; bounded in count and value length.
fn handshake_query(url: &str) -> Value {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    let mut out = serde_json::Map::new();
    for (k, mut v) in engineio::query::pairs_decoded(q) {
        if out.len() >= MAX_QUERY_PARAMS {
            break;
        }
        if out.contains_key(&k) {
            continue;
        }
        if k == "token" {
            v = "***".into();
        } else if v.len() > MAX_QUERY_VALUE {
            let mut end = MAX_QUERY_VALUE;
            while !v.is_char_boundary(end) {
                end -= 1;
            }
            v.truncate(end);
        }
        out.insert(k, v.into());
    }
    Value::Object(out)
}
