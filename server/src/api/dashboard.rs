//! The dashboard's routes (admin key): `GET /api/dashboard/overview` (what
//! is connected now, rooms, rejections, the cluster),
//! `GET /api/dashboard/history` (samples over time) and
//! `GET /api/dashboard/events` (the recent event log), plus the sampler's
//! step ([`sample`]) that feeds the history.
//!
//! Reads the state; the page itself is [`crate::dashboard`]'s. Must not
//! change sockets or settings (the page's test actions go through
//! `/api/socket-test`).

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{json, Map, Value};
use socketio::adapter::BroadcastOptions;
use socketio::{Namespace, Socket};

use super::{named_rooms, namespace, not_found, ok, Answer, ApiError, Call};
use crate::dashboard::nodes::{ANSWER_EVENT, ASK_EVENT};
use crate::dashboard::recorder::Totals;
use crate::metrics::Family;
use crate::monitor::unix_ms;
use crate::state::State;

/// Most rooms `overview` lists (the busiest first); `roomsTotal` counts
/// them all.
pub const MAX_LISTED_ROOMS: usize = 500;

/// The Engine.IO session and transport of the connection `s` rides on
/// (`None` for a connection of another runtime).
fn transport_of(s: &Socket) -> Option<(engineio::Sid, engineio::TransportKind)> {
    let e = crate::app::engine_of(s)?;
    Some((e.sid(), e.transport()))
}

/// The counts a history sample is taken from, now.
pub fn totals(st: &State) -> Totals {
    let (mut polling, mut websocket) = (HashSet::new(), HashSet::new());
    let mut t = Totals::default();
    for n in st.io.namespaces() {
        for s in n.sockets() {
            t.sockets += 1;
            match transport_of(&s) {
                Some((sid, engineio::TransportKind::WebSocket)) => websocket.insert(sid),
                Some((sid, _)) => polling.insert(sid),
                None => false,
            };
        }
        t.rooms += named_rooms(&n).len();
    }
    t.connections = st.connection_count();
    t.polling = polling.len();
    t.websocket = websocket.len();
    t.events_in = st.metrics.events_received_total.load(Ordering::Relaxed);
    t.events_out = st.metrics.events_sent_total.load(Ordering::Relaxed);
    t
}

/// Takes one history sample (the sampler task calls it every
/// `dashboard.sample_secs`).
pub fn sample(st: &State) {
    let live = st.live();
    let d = &live.config.dashboard;
    if d.enabled {
        st.dashboard
            .sample(totals(st), unix_ms(SystemTime::now()), d.history);
    }
}

/// 404 when `dashboard.enabled` is off.
pub(super) fn enabled(c: &Call) -> Result<(), ApiError> {
    if c.live.config.dashboard.enabled {
        Ok(())
    } else {
        Err(not_found(
            "The dashboard is disabled (dashboard.enabled)".into(),
        ))
    }
}

/// A counter family as `{label: count}` (one label per series).
fn by_label(f: &Family) -> Value {
    let m: Map<String, Value> = f
        .snapshot()
        .into_iter()
        .map(|(k, v)| (k.join(","), v.into()))
        .collect();
    Value::Object(m)
}

/// The rooms of `n` with their member counts (this node's members).
fn rooms_of(n: &Namespace, out: &mut Vec<(usize, String, String)>) {
    for r in named_rooms(n) {
        let opts = BroadcastOptions::default().to(r.clone());
        let members = n.adapter().local_sockets(&opts).len();
        out.push((members, n.name().to_owned(), r));
    }
}

/// `{namespaces, rooms, roomsTotal}`: sockets per namespace, and the
/// busiest [`MAX_LISTED_ROOMS`] rooms.
fn sockets_and_rooms(st: &State) -> Value {
    let mut rooms = Vec::new();
    let mut namespaces = Vec::new();
    for n in st.io.namespaces() {
        namespaces.push(json!({ "name": n.name(), "sockets": n.sockets().len() }));
        rooms_of(&n, &mut rooms);
    }
    let total = rooms.len();
    rooms.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| (&a.1, &a.2).cmp(&(&b.1, &b.2))));
    rooms.truncate(MAX_LISTED_ROOMS);
    let rooms: Vec<Value> = rooms
        .into_iter()
        .map(|(m, nsp, name)| json!({ "namespace": nsp, "name": name, "members": m }))
        .collect();
    json!({ "namespaces": namespaces, "rooms": rooms, "roomsTotal": total })
}

/// The rejections the metrics count: rate limits by limit, authentication
/// failures by reason, handshakes refused by the IP lists.
fn rejections(st: &State) -> Value {
    let m = &st.metrics;
    json!({
        "rateLimited": by_label(&m.rate_limited_total),
        "rateLimitedTotal": m.rate_limited_total.total(),
        "auth": by_label(&m.auth_failures_total),
        "authTotal": m.auth_failures_total.total(),
        "ipRefused": m.ip_refused_total.load(Ordering::Relaxed),
    })
}

/// The cluster: `single` without an adapter, else the adapter's kind, this
/// node's id, the node count (null with `nodesError` when the other nodes
/// cannot be asked) and `nodeList`: this node and each other one as it
/// answered the node-info request ([`node_list`]).
async fn cluster(c: &Call<'_>) -> Result<Value, ApiError> {
    let cfg = &c.live.config;
    let mode = if cfg.redis.enabled {
        "redis"
    } else if cfg.postgres.enabled {
        "postgres"
    } else {
        return Ok(json!({ "mode": "single", "nodes": 1 }));
    };
    let nsp = namespace(c.st, "/")?;
    let mut v = json!({ "mode": mode, "serverId": nsp.adapter().server_id() });
    if let Some(up) = c.st.cluster_connected() {
        v["connected"] = up.into();
    }
    let count = match c.st.bounded(nsp.adapter().server_count()).await {
        Ok(n) => {
            v["nodes"] = n.into();
            Some(n)
        }
        Err(e) => {
            v["nodes"] = Value::Null;
            v["nodesError"] = e.to_string().into();
            None
        }
    };
    let (list, silent) = node_list(c, &nsp, count).await;
    v["nodeList"] = list.into();
    v["notAnswering"] = silent.into();
    Ok(v)
}

/// This node as the dashboard lists it (and answers a node-info request):
/// id, host name, pid, uptime (s), engine connections, sockets per
/// namespace.
pub fn node_info(st: &State) -> Value {
    let me = st.io.of("/").adapter().server_id().map(str::to_owned);
    let namespaces: Vec<Value> = st
        .io
        .namespaces()
        .iter()
        .map(|n| json!({ "name": n.name(), "sockets": n.sockets().len() }))
        .collect();
    json!({
        "id": me,
        "hostname": socketio::admin::hostname(),
        "pid": std::process::id(),
        "uptime": st.started.elapsed().as_secs(),
        "connections": st.connection_count(),
        "namespaces": namespaces,
    })
}

/// Ends the node-info request it holds when dropped (also when the
/// overview's caller goes away mid-wait).
struct Finish<'a>(&'a State);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.dashboard_nodes.finish();
    }
}

/// Every node, this one first: asks the other nodes (one request at a
/// time; a concurrent overview waits for the one in flight) and waits
/// `dashboard.cluster_timeout_ms` at most for the `count - 1` answers.
/// Also how many of the nodes the adapter counts did not answer.
async fn node_list(c: &Call<'_>, nsp: &Namespace, count: Option<usize>) -> (Vec<Value>, usize) {
    let (st, d) = (c.st, &c.live.config.dashboard);
    let now = || unix_ms(SystemTime::now());
    let mut me = node_info(st);
    me["self"] = true.into();
    me["answering"] = true.into();
    me["lastAnswered"] = now().into();
    let expected = count.map_or(d.cluster_max_nodes, |n| n.saturating_sub(1));
    let mut answered = 0;
    if expected > 0 {
        let mut ask = st.dashboard_nodes.ask();
        let _finish = ask.send.is_some().then_some(Finish(st));
        let sent = match &ask.send {
            Some(id) => {
                let from = nsp.adapter().server_id().unwrap_or_default();
                let msg = json!({ "requestId": id, "from": from });
                let emit = nsp
                    .adapter()
                    .server_side_emit(ASK_EVENT.to_owned(), msg.into());
                st.bounded(emit).await.is_ok()
            }
            None => true,
        };
        if sent {
            let wait = std::time::Duration::from_millis(d.cluster_timeout_ms);
            let _ = tokio::time::timeout(wait, ask.answers.wait_for(|n| *n >= expected)).await;
        }
        answered = *ask.answers.borrow();
    }
    let forget = d.cluster_forget_secs.saturating_mul(1000);
    let mut list = vec![me];
    list.extend(st.dashboard_nodes.list(now(), forget));
    (list, expected.saturating_sub(answered))
}

/// With a cluster adapter, answers the other nodes' node-info requests
/// and keeps the answers to this node's (see [`crate::dashboard::nodes`]).
pub fn serve_node_info(state: &Arc<State>) {
    let nsp = state.io.of("/");
    let Some(me) = nsp.adapter().server_id().map(str::to_owned) else {
        return;
    };
    let w = Arc::downgrade(state);
    state.io.on_server_side(ASK_EVENT, move |data| {
        let (Some(st), Some(msg)) = (w.upgrade(), data.args().first()) else {
            return;
        };
        let (Some(req), Some(to)) = (
            msg.get("requestId").and_then(Value::as_str),
            msg.get("from").and_then(Value::as_str),
        ) else {
            return;
        };
        let answer = json!({ "requestId": req, "to": to, "node": node_info(&st) });
        let adapter = st.io.of("/").adapter().clone();
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let _ = adapter
                .server_side_emit(ANSWER_EVENT.to_owned(), answer.into())
                .await;
        });
    });
    let w = Arc::downgrade(state);
    state.io.on_server_side(ANSWER_EVENT, move |data| {
        let (Some(st), Some(msg)) = (w.upgrade(), data.args().first()) else {
            return;
        };
        let max = st.live().config.dashboard.cluster_max_nodes;
        st.dashboard_nodes
            .answer(&me, msg, unix_ms(SystemTime::now()), max);
    });
}

/// The newest history samples and log entries a poller has not seen:
/// `samples` taken after `?since=` (ms), `logEntries` numbered `?after=` or
/// later (at most [`POLL_EVENTS`]); each only when asked for. One request
/// then keeps a page current (the key's `api_requests_per_minute` is
/// shared with everything else it does).
fn news(c: &Call, body: &mut Value) -> Result<(), ApiError> {
    if let Some(since) = query_opt(c, "since")? {
        let samples: Vec<_> =
            c.st.dashboard
                .history()
                .into_iter()
                .filter(|s| s.timestamp > since)
                .collect();
        body["samples"] = json!(samples);
    }
    if let Some(after) = query_opt(c, "after")? {
        body["logEntries"] = json!(c.st.dashboard.entries(after, POLL_EVENTS));
    }
    Ok(())
}

/// Most log entries `overview?after=` answers.
pub const POLL_EVENTS: usize = 500;

/// `GET /api/dashboard/overview?since=&after=`.
pub(super) async fn overview(c: &Call<'_>) -> Answer {
    enabled(c)?;
    let mut news_body = json!({});
    news(c, &mut news_body)?;
    let st = c.st;
    let t = totals(st);
    let mut body = sockets_and_rooms(st);
    let last = st.dashboard.history().last().copied();
    let (log_len, next_seq) = st.dashboard.log_len();
    let d = &c.live.config.dashboard;
    body["success"] = true.into();
    body["timestamp"] = c.ts.clone().into();
    body["uptime"] = st.started.elapsed().as_secs().into();
    body["status"] = if st.draining() { "draining" } else { "ok" }.into();
    body["connections"] = json!({
        "engine": t.connections, "sockets": t.sockets,
        "polling": t.polling, "websocket": t.websocket,
    });
    body["events"] = json!({
        "received": t.events_in, "sent": t.events_out,
        "inPerSecond": last.map_or(0.0, |s| s.in_per_second),
        "outPerSecond": last.map_or(0.0, |s| s.out_per_second),
    });
    body["rejections"] = rejections(st);
    body["cluster"] = cluster(c).await?;
    body["eventLog"] = json!({ "entries": log_len, "capacity": d.event_log, "nextSeq": next_seq });
    body["sampleSecs"] = d.sample_secs.into();
    for k in ["samples", "logEntries"] {
        if let Some(v) = news_body.get_mut(k) {
            body[k] = v.take();
        }
    }
    ok(body)
}

/// `GET /api/dashboard/history`: the samples, oldest first.
pub(super) fn history(c: &Call) -> Answer {
    enabled(c)?;
    let d = &c.live.config.dashboard;
    ok(json!({
        "success": true,
        "sampleSecs": d.sample_secs,
        "capacity": d.history,
        "samples": c.st.dashboard.history(),
    }))
}

/// A number in the query, if there.
fn query_opt(c: &Call, name: &str) -> Result<Option<u64>, ApiError> {
    engineio::query::param(&c.query, name)
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| ApiError::bad(format!("`{name}` must be a non-negative integer")))
        })
        .transpose()
}

/// A number in the query, `default` when absent.
fn query_number(c: &Call, name: &str, default: u64) -> Result<u64, ApiError> {
    query_opt(c, name).map(|v| v.unwrap_or(default))
}

/// `GET /api/dashboard/events?after=&limit=`: the newest `limit` entries
/// (default 100) numbered `after` or later (default 0), oldest first.
pub(super) fn events(c: &Call) -> Answer {
    enabled(c)?;
    let after = query_number(c, "after", 0)?;
    let limit = usize::try_from(query_number(c, "limit", 100)?).unwrap_or(usize::MAX);
    let (_, next_seq) = c.st.dashboard.log_len();
    ok(json!({
        "success": true,
        "capacity": c.live.config.dashboard.event_log,
        "nextSeq": next_seq,
        "events": c.st.dashboard.entries(after, limit),
    }))
}
