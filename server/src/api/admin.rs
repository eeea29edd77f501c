//! The admin routes: `GET` / `PATCH /api/settings` and
//! `/api/monitoring/{stats,events,log,reset}`.
//!
//! Puts a validated settings patch in force (the patch itself is
//! [`crate::config::apply_settings_patch`]'s); must not touch sockets.

use std::time::Instant;

use serde_json::{json, Value};
use socketio::adapter::BroadcastOptions;

use super::sockets::socket_json;
use super::{named_rooms, ok, Answer, ApiError, Call};
use crate::config::apply_settings_patch;
use crate::state::{lock, Live, State};

/// `GET /api/settings`: the settings in force, secrets masked.
pub(super) fn settings(c: &Call) -> Answer {
    ok(json!({ "success": true, "settings": c.live.config.masked() }))
}

/// `PATCH /api/settings`: merges the body over the settings in force.
pub(super) fn patch_settings(c: &Call) -> Answer {
    let st = c.st;
    let _serial = lock(&st.settings_update);
    let current = st.live();
    let next =
        apply_settings_patch(&current.config, &c.body).map_err(|e| ApiError::bad(e.to_string()))?;
    let masked = next.masked();
    let new_live = Live::new(next).map_err(ApiError::bad)?;
    st.set_live(new_live);
    tracing::info!(address = %c.ip, "settings changed through the API");
    ok(json!({ "success": true, "settings": masked }))
}

/// `GET /api/monitoring/stats`: connected sockets and rooms.
pub(super) fn stats(c: &Call) -> Answer {
    ok(connection_stats(c.st))
}

/// `GET /api/monitoring/events`: event counts.
pub(super) fn events(c: &Call) -> Answer {
    ok(c.st.monitor.stats(Instant::now()))
}

/// `GET /api/monitoring/log?limit=`: the most recent events.
pub(super) fn log(c: &Call) -> Answer {
    let limit = engineio::query::param(&c.query, "limit")
        .map(|l| {
            l.parse::<usize>()
                .map_err(|_| ApiError::bad("`limit` must be a number"))
        })
        .transpose()?
        .unwrap_or(50);
    ok(json!({ "success": true, "events": c.st.monitor.recent(limit) }))
}

/// `POST /api/monitoring/reset`: forgets the counts and the log.
pub(super) fn reset(c: &Call) -> Answer {
    c.st.monitor.reset();
    ok(json!({ "success": true }))
}

/// Connection statistics as the monitoring service shapes them.
fn connection_stats(st: &State) -> Value {
    let mut rooms = Vec::new();
    let mut sockets = Vec::new();
    for n in st.io.namespaces() {
        for r in named_rooms(&n) {
            let opts = BroadcastOptions::default().to(r.clone());
            rooms.push(json!({ "namespace": n.name(), "name": r, "members": n.adapter().local_sockets(&opts).len() }));
        }
        for s in n.sockets() {
            sockets.push(socket_json(&s, true));
        }
    }
    json!({ "success": true, "connected": sockets.len(), "rooms": rooms, "sockets": sockets })
}
