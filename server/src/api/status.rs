//! The status routes: `/health`, `/ready`, `/metrics` (outside `/api/`),
//! `GET /api/status` and the OpenAPI description.
//!
//! Reads the state; must not change it.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

use super::{count_rooms, ok, Answer, Call};
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

/// `GET /ready`: 200 when ready, else 503 (starting or draining).
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
    json(
        code,
        &json!({ "ready": ready, "status": status, "timestamp": iso8601(SystemTime::now()) }),
    )
}

/// `GET /metrics`: the Prometheus text.
pub(super) fn metrics(st: &State) -> Response<Full<Bytes>> {
    let rooms = count_rooms(st);
    let text = st.metrics.render(st.started.elapsed().as_secs(), rooms);
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
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

/// `GET /api/status`.
pub(super) fn status(c: &Call) -> Answer {
    ok(status_body(c.st, c.live, c.ts.clone()))
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
