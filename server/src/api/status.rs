//! The status routes: `/health`, `/ready`, `/metrics` (outside `/api/`),
//! `GET /api/status`, `GET /api/socket/health` and the OpenAPI description.
//!
//! Reads the state; must not change it.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

use std::sync::atomic::Ordering;

use super::{count_rooms, namespace, ok, Answer, Call};
use crate::metrics::ClusterCounters;
use crate::monitor::iso8601;
use crate::reply::json;
use crate::state::{Live, State};

/// The OpenAPI description served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /health`.
pub(super) fn health() -> Response<Full<Bytes>> {
    json(
        StatusCode::OK,
        &json!({ "status": "ok", "timestamp": iso8601(SystemTime::now()) }),
    )
}

/// `GET /ready`: 200 when ready, else 503 (starting or draining). With
/// clustering on, `redis` (or `postgres`, the engine's name) says whether
/// it is reachable; a node without it still serves its own clients, so it
/// stays ready (a load balancer must not drop every node when the cluster
/// engine goes down).
pub(super) fn ready(st: &State) -> Response<Full<Bytes>> {
    let ready = st.ready();
    let status = if ready {
        "ready"
    } else if st.draining() {
        "draining"
    } else {
        "starting"
    };
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body =
        json!({ "ready": ready, "status": status, "timestamp": iso8601(SystemTime::now()) });
    if let Some((engine, up)) = st.cluster_state() {
        body[engine] = link_state(up).into();
    }
    json(code, &body)
}

/// `connected` or `disconnected` (the cluster engine's connection).
fn link_state(up: bool) -> &'static str {
    if up {
        "connected"
    } else {
        "disconnected"
    }
}

/// `GET /metrics`: the Prometheus text.
pub(super) fn metrics(st: &State) -> Response<Full<Bytes>> {
    let rooms = count_rooms(st);
    let mut text = st.metrics.render(st.started.elapsed().as_secs(), rooms);
    if let Some(c) = &st.cluster {
        let x = c.stats();
        let r = Ordering::Relaxed;
        ClusterCounters {
            engine: c.engine(),
            connected: c.connected(),
            published: x.published.load(r),
            received: x.received.load(r),
            malformed: x.malformed.load(r),
            errors: x.errors.load(r),
            dropped: x.dropped.load(r),
            timeouts: x.timeouts.load(r),
            reconnects: x.reconnects.load(r),
            requests: x.requests.load(r),
            request_micros: x.request_micros.load(r),
        }
        .render(&mut text);
    }
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// `GET /api/socket/health` (document 003): `{status, socket: {initialized,
/// connected, rooms}}`; `connected` counts this node's sockets, `rooms`
/// the named rooms (without the sockets' own). 503 while starting or
/// draining.
pub(super) fn socket_health(c: &Call) -> Answer {
    let st = c.st;
    let initialized = st.engines.get().is_some() && st.ready();
    let sockets: usize = st.io.namespaces().iter().map(|n| n.sockets().len()).sum();
    let status = if st.draining() {
        "draining"
    } else if initialized {
        "ok"
    } else {
        "starting"
    };
    let body = json!({
        "status": status,
        "socket": { "initialized": initialized, "connected": sockets, "rooms": count_rooms(st) },
        "timestamp": c.ts,
    });
    let code = if status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(json(code, &body))
}

/// `GET /api/openapi.json`.
pub(super) fn openapi(_: &Call) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from_static(OPENAPI.as_bytes())));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// `GET /api/status`: `nodes` is the cluster's server count (1 without
/// Redis); when it cannot be had (Redis down), `nodes` is null and
/// `nodesError` says why, and the rest is answered as usual.
pub(super) async fn status(c: &Call<'_>) -> Answer {
    let mut body = status_body(c.st, c.live, c.ts.clone());
    let nsp = namespace(c.st, "/")?;
    match c.st.bounded(nsp.adapter().server_count()).await {
        Ok(n) => body["nodes"] = n.into(),
        Err(e) => {
            body["nodes"] = Value::Null;
            body["nodesError"] = e.to_string().into();
        }
    }
    if let Some((engine, up)) = c.st.cluster_state() {
        body[engine] = link_state(up).into();
    }
    ok(body)
}

fn status_body(st: &State, live: &Live, ts: String) -> Value {
    let mem = memory();
    json!({
        "success": true,
        "status": if st.draining() { "draining" } else { "ok" },
        "connections": st.connection_count(),
        "sockets": st.io.namespaces().iter().map(|n| n.sockets().len()).sum::<usize>(),
        "rooms": count_rooms(st),
        "uptime": st.started.elapsed().as_secs(),
        "memory": mem,
        "version": env!("CARGO_PKG_VERSION"),
        "environment": live.config.server.environment,
        "timestamp": ts,
    })
}

/// Process memory from `/proc/self/status`, in bytes, in the documents'
/// shape: `rss` is VmRSS, `heapTotal` VmData, `heapUsed` RssAnon and
/// `external` RssFile (there is no garbage-collected heap here).
fn memory() -> Value {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |k| k * 1024)
    };
    json!({ "rss": kb("VmRSS"), "heapTotal": kb("VmData"), "heapUsed": kb("RssAnon"), "external": kb("RssFile") })
}
