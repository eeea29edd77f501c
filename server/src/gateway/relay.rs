//! The relay (`[[relay]]`): a matching event goes to the other sockets of
//! the rooms the sender joined (never the sender, never the server's own
//! rooms), its arguments unchanged except that an object first argument
//! gains the sender's `userId` and `socketId`. With `room_field` it goes
//! to the one room that field of the first argument names, which the
//! sender must be in.
//!
//! An ack, when asked, is `{success: true}` or a refusal
//! `{success: false, error, code}` (`INVALID_ROOM`, `NOT_IN_ROOM`,
//! `MESSAGE_TOO_LARGE`); without an ack a refusal is the `error` event.

use serde_json::{json, Value};
use socketio::{AckSender, Data, Socket};

use super::{count_sent, refuse, too_long, with_sender};
use crate::identity::user_id_json;
use crate::state::{Live, State};

/// Relays `event` by rule `rule` of `live`'s config.
pub(super) fn relay(
    st: &State,
    live: &Live,
    rule: usize,
    s: &Socket,
    event: &str,
    data: Data,
    ack: Option<AckSender>,
) {
    let Some(r) = live.config.relay.get(rule) else {
        return;
    };
    let refused = |code: &str, message: &str, ack| {
        st.metrics.gateway.relayed_total.inc(&["refused"]);
        refuse(st, s, event, ack, code, message);
    };
    if too_long(live, &data) {
        return refused("MESSAGE_TOO_LARGE", "Message is too long", ack);
    }
    let rules = live.server_rooms();
    let own = s.public_id().to_owned();
    let rooms: Vec<String> = if r.room_field.is_empty() {
        s.rooms()
            .into_iter()
            .filter(|r| *r != own && !rules.contains(r, s))
            .collect()
    } else {
        let named = match data.args().first() {
            Some(Value::Object(o)) => o.get(&r.room_field),
            _ => None,
        };
        let Some(room) = named.and_then(Value::as_str).filter(|n| !n.is_empty()) else {
            let m = format!("Expected an object with a `{}` room", r.room_field);
            return refused("INVALID_ROOM", &m, ack);
        };
        let member = s.rooms().iter().any(|x| x == room);
        if !member || room == own || rules.contains(room, s) {
            return refused("NOT_IN_ROOM", &format!("Not in room {room}"), ack);
        }
        vec![room.to_owned()]
    };
    if !rooms.is_empty() {
        let (args, bins) = data.into_parts();
        let args = with_sender(args, user_id_json(s), &own);
        let op = s.to(rooms);
        let n = s.nsp().adapter().local_sockets(op.options()).len();
        count_sent(st, n);
        let _ = op.emit(event, Data::from_parts(args, bins));
    }
    st.metrics.gateway.relayed_total.inc(&["sent"]);
    if let Some(a) = ack {
        let _ = a.send(json!({ "success": true }));
    }
}
