//! The UI's commands and the features `config` announces.
//!
//! Each command names a namespace (which must exist: commands never create
//! one) and optionally a filter, a room or socket id; without one it
//! applies to the whole namespace. They go through the namespace's
//! broadcast operators, so through its adapter: cluster-wide when one is on.
//!
//! - `emit(nsp, filter, event, ...args)`
//! - `join(nsp, room, filter)`, `leave(nsp, room, filter)`
//! - `_disconnect(nsp, close, filter)`

use std::sync::{Arc, Weak};

use serde_json::Value;

use super::events::Inner;
use super::AdminConfig;
use crate::data::Data;
use crate::operators::BroadcastOperator;
use crate::socket::Socket;

/// What `config` announces: every command unless read-only, and the
/// aggregated counts; every event unless [`AdminConfig::all_events`] is off.
pub(super) fn features(config: &AdminConfig) -> Vec<&'static str> {
    let mut f = Vec::new();
    if !config.read_only {
        f.extend([
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
        ]);
    }
    f.push("AGGREGATED_EVENTS");
    if config.all_events {
        f.push("ALL_EVENTS");
    }
    f
}

/// The selection a command aims at: namespace `args[0]`, narrowed to the
/// room `args[filter]` when it is a non-empty string.
fn target(inner: &Inner, args: &[Value], filter: usize) -> Option<BroadcastOperator> {
    let nsp = inner.find(args.first()?.as_str()?)?;
    Some(match args.get(filter).and_then(Value::as_str) {
        Some(room) if !room.is_empty() => nsp.to(room),
        _ => nsp.broadcast(),
    })
}

/// Registers the commands on the UI's socket.
pub(super) fn register(inner: &Arc<Inner>, socket: &Socket) {
    let w = Arc::downgrade(inner);
    socket.on("emit", move |_, data: Data, _| {
        let w = w.clone();
        async move {
            let Some(inner) = w.upgrade() else { return };
            let args = data.args();
            let (Some(op), Some(event)) =
                (target(&inner, args, 1), args.get(2).and_then(Value::as_str))
            else {
                return;
            };
            let rest = Data::from_parts(args[3..].to_vec(), data.attachments().to_vec());
            let _ = op.emit(event, rest);
        }
    });
    for (name, join) in [("join", true), ("leave", false)] {
        let w = w_of(inner);
        socket.on(name, move |_, data: Data, _| {
            let w = w.clone();
            async move {
                let Some(inner) = w.upgrade() else { return };
                let args = data.args();
                let (Some(op), Some(room)) =
                    (target(&inner, args, 2), args.get(1).and_then(Value::as_str))
                else {
                    return;
                };
                let room = room.to_owned();
                drop(inner);
                let _ = match join {
                    true => op.sockets_join(room).await,
                    false => op.sockets_leave(room).await,
                };
            }
        });
    }
    let w = w_of(inner);
    socket.on("_disconnect", move |_, data: Data, _| {
        let w = w.clone();
        async move {
            let Some(inner) = w.upgrade() else { return };
            let args = data.args();
            let Some(op) = target(&inner, args, 2) else {
                return;
            };
            let close = args.get(1).and_then(Value::as_bool).unwrap_or(false);
            drop(inner);
            let _ = op.disconnect_sockets(close).await;
        }
    });
}

fn w_of(inner: &Arc<Inner>) -> Weak<Inner> {
    Arc::downgrade(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_announces_no_command() {
        let all = features(&AdminConfig::new(None));
        assert_eq!(all.len(), 9);
        assert!(all.contains(&"MDISCONNECT") && all.contains(&"ALL_EVENTS"));
        let ro = features(&AdminConfig::new(None).read_only(true).all_events(false));
        assert_eq!(ro, vec!["AGGREGATED_EVENTS"]);
    }
}
