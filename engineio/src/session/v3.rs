//! The Engine.IO 3 parts of the session: client pings answered with pongs,
//! and payloads in the v3 encoding ([`crate::eio3`]).

use std::time::Instant;

use bytes::Bytes;

use super::{Farewell, Session, Timer};
use crate::eio3::{self, Protocol};
use crate::error::CloseReason;
use crate::packet::Packet;
use crate::payload;
use crate::str::Str;

impl Session {
    /// Engine.IO 3 heartbeats go client to server: a ping restarts the
    /// deadline and is answered with a pong (one queued at most); a pong is
    /// an error, as in the reference server ("invalid heartbeat direction").
    pub(super) fn handle_v3_heartbeat(&mut self, now: Instant, packet: Packet) {
        if !matches!(packet, Packet::Ping(_)) {
            self.finish(CloseReason::TransportError, Some(Farewell::Close));
            return;
        }
        self.timers.set(Timer::PongDeadline, self.v3_deadline(now));
        if !self.pong_queued {
            self.pong_queued = true;
            self.outbox.push_back(Packet::Pong(Str::new()));
        }
    }

    /// [`Session::drain_payload`] for Engine.IO 3: the same batching, in
    /// the v3 payload encoding.
    pub(super) fn drain_v3_payload(&mut self) -> Bytes {
        let mut size = 0;
        let mut count = 0;
        for p in self.outbox.iter() {
            let extra = eio3::encoded_len(p);
            if count > 0 && (size + extra > self.max_payload || *p == Packet::Close) {
                break;
            }
            size += extra;
            count += 1;
        }
        let body = eio3::encode_payload(self.outbox.iter().take(count), self.wire.base64);
        for _ in 0..count {
            if let Some(p) = self.outbox.pop_front() {
                self.pong_queued &= !matches!(p, Packet::Pong(_));
            }
        }
        body
    }

    /// A payload of `packets` in the session's encoding.
    pub(super) fn encode_payload<'a>(
        &self,
        packets: impl Iterator<Item = &'a Packet> + Clone,
    ) -> Bytes {
        match self.wire.protocol {
            Protocol::V3 => eio3::encode_payload(packets, self.wire.base64),
            _ => payload::encode(packets),
        }
    }

    /// A payload of one noop, which releases a pending poll.
    pub(super) fn noop_payload(&self) -> Bytes {
        match self.wire.protocol {
            Protocol::V3 => Bytes::from_static(b"1:6"),
            _ => Bytes::from_static(b"6"),
        }
    }
}
