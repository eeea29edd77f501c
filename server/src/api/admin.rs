//! The admin routes: `GET` / `PATCH /api/settings`,
//! `GET /api/settings/defaults` and `/api/monitoring/{stats,events,log,reset}`
//! (`log` also takes `POST`).
//!
//! Puts a validated settings patch in force (the patch itself is
//! [`crate::config::apply_settings_patch`]'s); must not touch sockets.

use std::time::Instant;

use serde_json::{json, Value};
use socketio::adapter::BroadcastOptions;

use super::sockets::socket_json;
use super::{named_rooms, ok, Answer, ApiError, Call};
use crate::config::{apply_settings_patch, plugin_view, Config};
use crate::state::{lock, Live, State};

/// `GET /api/settings`: the settings in force, secrets masked.
pub(super) fn settings(c: &Call) -> Answer {
    ok(settings_body(&c.live.config))
}

/// `{success, settings, pluginSettings}`: `config` with secrets masked,
/// under our names and under the CMS plugin's.
fn settings_body(config: &Config) -> Value {
    let masked = serde_json::to_value(config.masked()).unwrap_or_default();
    json!({ "success": true, "pluginSettings": plugin_view(&masked), "settings": masked })
}

/// `PATCH /api/settings`: merges the body (our names or the CMS plugin's)
/// over the settings in force.
pub(super) fn patch_settings(c: &Call) -> Answer {
    let st = c.st;
    let _serial = lock(&st.settings_update);
    let current = st.live();
    let next =
        apply_settings_patch(&current.config, &c.body).map_err(|e| ApiError::bad(e.to_string()))?;
    let body = settings_body(&next);
    let new_live = Live::new(next).map_err(ApiError::bad)?;
    st.set_live(new_live);
    tracing::info!(address = %c.ip, "settings changed through the API");
    ok(body)
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

/// `POST /api/monitoring/log` `{type, data}` (the plugin's `logEvent`):
/// appends an entry to the event log, whatever `monitoring.event_logging`.
pub(super) fn log_event(c: &Call) -> Answer {
    let kind = match c.body.get("type") {
        Some(Value::String(t)) if !t.is_empty() && t.len() <= 128 => t.clone(),
        _ => {
            return Err(ApiError::bad(
                "`type` must be a non-empty string (at most 128 bytes)",
            ))
        }
    };
    let data = c.body.get("data").cloned().unwrap_or(Value::Null);
    let max = c.live.config.monitoring.max_event_log;
    c.st.monitor.log(&kind, data.clone(), max);
    ok(json!({ "success": true, "logged": max > 0, "type": kind, "data": data, "timestamp": c.ts }))
}

/// `GET /api/settings/defaults` (the plugin's `getDefaultSettings`): the
/// built-in defaults, as `GET /api/settings` shapes the settings.
pub(super) fn defaults(_: &Call) -> Answer {
    ok(settings_body(&Config::default()))
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
