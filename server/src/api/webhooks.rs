//! The CMS bridge's routes: `POST /api/webhooks/strapi` (Strapi v4 and v5
//! webhook bodies) and `POST /api/webhooks/content` (`{model, action,
//! entry}` from any CMS). Both run the entry through the `[content]`
//! filter ([`crate::content`]) and emit the content-type event on
//! `content.namespace`, to the rooms of the roles whose
//! `content_types.<model>` allow the action, on every node.
//!
//! Emits only: must not change room membership or disconnect sockets.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::emit::record_emit;
use super::{namespace, ok, Answer, ApiError, Call};
use crate::content::{self, EntryChange, Outcome, Webhook};
use crate::identity::role_room;

/// `POST /api/webhooks/strapi`.
pub(super) fn strapi(c: &Call) -> Answer {
    match content::strapi(&c.body).map_err(|e| ApiError::bad(e.to_string()))? {
        Webhook::Entry(change) => deliver(c, change),
        Webhook::Ignored(event) => ok(json!({
            "success": true, "emitted": false, "event": Value::Null,
            "recipients": 0, "reason": format!("`{event}` is not an entry change"),
            "timestamp": c.ts,
        })),
    }
}

/// `POST /api/webhooks/content`.
pub(super) fn generic(c: &Call) -> Answer {
    let change = content::generic(&c.body).map_err(|e| ApiError::bad(e.to_string()))?;
    deliver(c, change)
}

/// Filters `change` and emits it to the roles allowed to receive it.
fn deliver(c: &Call, change: EntryChange) -> Answer {
    let cfg = &c.live.config;
    let model = change.model.clone();
    let out = match content::prepare(change, &cfg.content) {
        Outcome::Emit(o) => o,
        Outcome::Unpublished => {
            return ok(json!({
                "success": true, "emitted": false, "event": Value::Null, "recipients": 0,
                "reason": "entry not published (content.only_published)", "timestamp": c.ts,
            }))
        }
    };
    let rooms: Vec<String> = cfg
        .roles
        .iter()
        .filter(|(_, r)| r.receives(&model, out.action.as_str()))
        .map(|(n, _)| role_room(n))
        .collect();
    let nsp = namespace(c.st, &cfg.content.namespace)?;
    let bytes = crate::reply::json_len(&out.payload);
    let recipients = if rooms.is_empty() {
        // No role may receive it (and an emit to no rooms would reach everyone).
        0
    } else {
        let op = nsp.to(rooms);
        let n = nsp.adapter().local_sockets(op.options()).len();
        let _ = op.emit(&out.event, socketio::Data::from(out.payload));
        n
    };
    c.st.metrics
        .events_sent_total
        .fetch_add(recipients as u64, Ordering::Relaxed);
    record_emit(c, &out.event, nsp.name(), recipients, bytes);
    tracing::debug!(event = %out.event, recipients, "content event from a webhook");
    let mut body = json!({
        "success": true, "emitted": true, "event": out.event,
        "recipients": recipients, "timestamp": c.ts,
    });
    if c.st.cluster.is_some() {
        body["counted"] = "local".into();
    }
    ok(body)
}
