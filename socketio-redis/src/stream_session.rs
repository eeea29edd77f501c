//! Connection state recovery on the Redis Streams adapter, as
//! `@socket.io/redis-streams-adapter` keeps it: a disconnected socket's
//! session under `sio:session:<pid>` (base64 msgpack `{sid, pid, rooms,
//! data}`, expiring after `maxDisconnectionDuration`), taken once (GETDEL)
//! by whichever server the client reconnects to, if the client's last
//! offset is still in the stream; the packets it missed are the broadcast
//! entries after that offset that reached its rooms.

use std::time::Duration;

use engineio::Sid;
use socketio::{AdapterError, BroadcastOptions, ClusterSession, Missed, Packet};

use crate::cluster_msg::ty;
use crate::stream_wire::{
    decode_entry, decode_session, encode_session, next_offset, offset_mark, parse_offset,
    StoredSession,
};
use crate::streams::{add_offset, takes_offset, Inner};
use crate::wire;

/// Entries read per XRANGE while replaying.
const REPLAY_BATCH: usize = 500;

impl Inner {
    fn session_key(&self, pid: &str) -> String {
        format!("{}{}", self.cluster.config.session_key_prefix, pid)
    }

    /// Keeps `session` for `ttl`, in the background.
    pub(crate) fn persist(&self, session: ClusterSession, ttl: Duration) {
        let stored = StoredSession {
            sid: session.sid.to_string(),
            pid: session.pid.clone(),
            rooms: session.rooms,
            data: session.data,
        };
        let (key, value) = (self.session_key(&session.pid), encode_session(&stored));
        let cluster = self.cluster.clone();
        tokio::spawn(async move {
            let _ = cluster.set_px(key, value, ttl).await;
        });
    }

    /// Takes the session of `pid` if `offset` is still in the stream.
    pub(crate) async fn restore(
        &self,
        pid: String,
        offset: String,
    ) -> Result<Option<ClusterSession>, AdapterError> {
        if parse_offset(&offset).is_none() {
            return Ok(None);
        }
        let (raw, known) = futures_util::join!(
            self.cluster.getdel(self.session_key(&pid)),
            self.cluster.xrange(&self.stream, &offset, &offset, 1)
        );
        let (Some(raw), false) = (raw?, known?.is_empty()) else {
            return Ok(None);
        };
        let Ok(s) = decode_session(&raw) else {
            self.cluster
                .stats()
                .malformed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok(None);
        };
        let Some(sid) = Sid::parse(&s.sid) else {
            return Ok(None);
        };
        Ok(Some(ClusterSession::new(sid, s.pid, s.rooms, s.data)))
    }

    /// The broadcasts after `offset` that reached `rooms`, with their
    /// offsets, up to `max_replay` entries read.
    pub(crate) async fn missed(
        &self,
        offset: String,
        rooms: Vec<String>,
    ) -> Result<Missed, AdapterError> {
        let Some(mut last) = parse_offset(&offset) else {
            return Ok(Missed::default());
        };
        let mut resume = None;
        let (mut packets, mut read) = (Vec::new(), 0);
        let max = self.cluster.config.max_replay;
        while read < max {
            let batch = self
                .cluster
                .xrange(
                    &self.stream,
                    &next_offset(last),
                    "+",
                    REPLAY_BATCH.min(max - read),
                )
                .await?;
            if batch.is_empty() {
                break;
            }
            read += batch.len();
            for (id, fields) in batch {
                let Some(parsed) = parse_offset(&id) else {
                    continue;
                };
                last = parsed;
                resume = Some(id.clone());
                if let Some(p) = self.replayed(&id, &fields, &rooms) {
                    packets.push(p);
                }
            }
        }
        Ok(Missed::new(packets, offset_mark(last) + 1, resume))
    }

    /// The packet of a broadcast entry of this namespace that reached
    /// `rooms`, with its offset.
    fn replayed(
        &self,
        id: &str,
        fields: &[(bytes::Bytes, bytes::Bytes)],
        rooms: &[String],
    ) -> Option<Packet> {
        let e = decode_entry(fields).ok()?;
        if e.nsp != self.node.name || e.t != ty::BROADCAST {
            return None;
        }
        let data = &e.data.value;
        if data.get("requestId").is_some_and(|v| !v.is_null()) {
            return None;
        }
        let opts = wire::opts_from(data.get("opts")).ok()?;
        let mut packet =
            wire::packet_from(data.get("packet")?, &e.data.attachments, &self.node.name).ok()?;
        if !reached(rooms, &opts) || !takes_offset(&packet, &opts) {
            return None;
        }
        add_offset(&mut packet, id);
        Some(packet)
    }
}

/// Whether a broadcast with `opts` reached a socket in `rooms`.
fn reached(rooms: &[String], opts: &BroadcastOptions) -> bool {
    let targeted = opts.rooms.is_empty() || opts.rooms.iter().any(|r| rooms.contains(r));
    targeted && !opts.except.iter().any(|r| rooms.contains(r))
}
