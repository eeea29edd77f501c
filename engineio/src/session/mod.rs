//! The Engine.IO session state machine (sans-IO).
//!
//! Owns one session's protocol state: handshake, heartbeat, the upgrade from
//! polling to WebSocket, close from either side and the outgoing buffer. It
//! never reads a clock, spawns or does I/O: the caller passes `now`, feeds
//! inputs and drains outputs. It must not touch tokio, hyper, the driver or the
//! transports: those sit above it and own the I/O.
//!
//! # Call order
//! 1. Create with [`Session::new`]; for polling, the handshake request is the
//!    first poll ([`Session::handle_poll`]).
//! 2. Feed inputs as they happen: `handle_packet` (active transport),
//!    `handle_poll`, `handle_poll_dropped`, `handle_upgrade_start`,
//!    `handle_probe_packet`, `handle_probe_closed`, `handle_transport_closed`,
//!    `handle_parse_error`, `send`, `close`.
//! 3. After every input, drain [`Session::poll_transmit`] and
//!    [`Session::poll_event`] until they return `None`, then re-arm one timer
//!    at [`Session::poll_timeout`]; when it fires call
//!    [`Session::handle_timeout`] (early or repeated calls are harmless).

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::config::{EngineConfig, TransportKind};
use crate::eio3::{Protocol, Wire};
use crate::error::{CloseReason, PacketError, SendError};
use crate::packet::Packet;
use crate::payload;
use crate::sid::Sid;
use crate::str::Str;

use self::queue::Queue;

/// The period of the upgrade's check, as in the reference server: from the
/// probe on, every this often, a GET still pending gets a noop, so that the
/// client can pause polling and send `5`. Until then packets keep flowing
/// to pending GETs (clients count what arrives in their first 100 ms). A
/// GET the client sent after `5` (the official suite does), read before
/// the WebSocket's `5`, waits here and is then refused (400), as a GET
/// after the upgrade must be.
pub const UPGRADE_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The session's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Send the next ping.
    PingDue = 0,
    /// The client must have answered the last ping.
    PongDeadline = 1,
    /// The upgrade must have completed.
    UpgradeDeadline = 2,
    /// A server-initiated close on polling gives up waiting for a poll.
    CloseDeadline = 3,
    /// The upgrade's check: a GET pending since before it gets a noop.
    UpgradeCheck = 4,
}

const TIMERS: [Timer; 5] = [
    Timer::PingDue,
    Timer::PongDeadline,
    Timer::UpgradeDeadline,
    Timer::CloseDeadline,
    Timer::UpgradeCheck,
];

#[derive(Debug, Default, Clone, Copy)]
struct TimerTable([Option<Instant>; 5]);

impl TimerTable {
    fn set(&mut self, t: Timer, at: Instant) {
        self.0[t as usize] = Some(at);
    }
    fn stop(&mut self, t: Timer) {
        self.0[t as usize] = None;
    }
    fn get(&self, t: Timer) -> Option<Instant> {
        self.0[t as usize]
    }
    fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
}

/// Something the caller must write to a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transmit {
    /// Answer the pending poll (GET) with this payload body.
    Poll(Bytes),
    /// Refuse the pending poll (400): the session upgraded while it waited.
    PollRefused,
    /// Write this packet on the active WebSocket.
    WebSocket(Packet),
    /// Write this packet on the WebSocket being upgraded to.
    Probe(Packet),
    /// Close the WebSocket being upgraded to: the upgrade failed.
    AbortProbe,
    /// Close the active WebSocket after writing everything before this.
    CloseWebSocket,
}

/// Something the layer above must know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A text message, in arrival order.
    Message(Str),
    /// A binary message, in arrival order.
    Binary(Bytes),
    /// The session now uses WebSocket.
    Upgraded,
    /// The session closed; always the last event, emitted once.
    Closed(CloseReason),
}

/// A poll (GET) that cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollError {
    /// A poll was already pending: the session is now closed.
    Overlap,
    /// The session is not on polling (it upgraded); the session is unaffected.
    WrongTransport,
    /// The session is closed.
    Closed,
}

/// A WebSocket upgrade that cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpgradeError {
    /// Upgrades are disabled, or the session is not on polling.
    NotAllowed,
    /// Another upgrade is in progress.
    InProgress,
    /// The session is closed or closing.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    None,
    /// A WebSocket is attached; waiting for `2probe`.
    Attached,
    /// `3probe` sent; waiting for `5`. Packets still go to polls; the
    /// check gives a poll still pending a noop.
    Probed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open,
    /// A server close on polling: the close packet waits for a poll.
    Closing(CloseReason),
    Closed,
}

/// What the pending poll gets when the session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Farewell {
    Close,
    Noop,
}

/// One Engine.IO session. See the module docs for the call order.
#[derive(Debug)]
pub struct Session {
    sid: Sid,
    ping_interval: Duration,
    ping_timeout: Duration,
    upgrade_timeout: Duration,
    max_payload: usize,
    allow_upgrades: bool,
    send_buffer: usize,
    transport: TransportKind,
    upgrade: Upgrade,
    state: State,
    close_reason: Option<CloseReason>,
    /// The last ping was handed to a transport (only then can a pong answer it).
    ping_sent: bool,
    /// The protocol revision and binary encoding of the session.
    wire: Wire,
    /// Engine.IO 3: a pong to a client ping waits in the outbox (client
    /// pings then queue no more: a client that pings without reading
    /// cannot grow the outbox).
    pong_queued: bool,
    poll_pending: bool,
    outbox: Queue<Packet>,
    transmits: Queue<Transmit>,
    events: Queue<Event>,
    timers: TimerTable,
}

impl Session {
    /// A new Engine.IO 4 session on `transport`; queues the open packet and
    /// schedules the first ping `ping_interval` from `now`.
    pub fn new(sid: Sid, config: &EngineConfig, transport: TransportKind, now: Instant) -> Self {
        Session::with_wire(sid, config, transport, now, Wire::default())
    }

    /// A new session speaking `wire` (see [`crate::Handshake::wire`]). In
    /// Engine.IO 3 the client pings every `ping_interval` and the server
    /// answers: the session closes when no ping came for `ping_interval +
    /// ping_timeout` (the reference's v3 timer), counted from `now` and
    /// from each ping.
    pub fn with_wire(
        sid: Sid,
        config: &EngineConfig,
        transport: TransportKind,
        now: Instant,
        wire: Wire,
    ) -> Self {
        let mut s = Session {
            sid,
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            upgrade_timeout: config.upgrade_timeout,
            max_payload: config.max_payload,
            allow_upgrades: !config.upgrades_for(transport).is_empty(),
            send_buffer: config.send_buffer.max(1),
            transport,
            upgrade: Upgrade::None,
            state: State::Open,
            close_reason: None,
            ping_sent: false,
            wire,
            pong_queued: false,
            poll_pending: false,
            outbox: Queue::default(),
            transmits: Queue::default(),
            events: Queue::default(),
            timers: TimerTable::default(),
        };
        let open = open_payload(
            sid,
            config.upgrades_for(transport),
            config.ping_interval,
            config.ping_timeout,
            config.max_payload,
        );
        s.outbox.push_back(Packet::Open(Str::from(open)));
        match wire.protocol {
            Protocol::V3 => s.timers.set(Timer::PongDeadline, s.v3_deadline(now)),
            _ => s.timers.set(Timer::PingDue, now + s.ping_interval),
        }
        s
    }

    /// How the session's packets go on the wire.
    pub fn wire(&self) -> Wire {
        self.wire
    }

    /// Engine.IO 3: when the session closes if the client stops pinging.
    fn v3_deadline(&self, now: Instant) -> Instant {
        now + self.ping_interval + self.ping_timeout
    }

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.sid
    }

    /// The active transport.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// Whether the session has closed (the `Closed` event was emitted).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Why the session closed, once it has.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.as_ref()
    }

    /// Whether a poll is waiting for data.
    pub fn is_poll_pending(&self) -> bool {
        self.poll_pending
    }

    /// Whether an upgrade is in progress.
    pub fn is_upgrading(&self) -> bool {
        self.upgrade != Upgrade::None
    }

    /// Packets queued and not yet handed out as transmits.
    pub fn buffered(&self) -> usize {
        self.outbox.len()
    }

    /// Whether the active transport can take application data right now:
    /// a pending poll (during an upgrade too) with room in the buffer, or a
    /// WebSocket with nothing queued.
    pub fn wants_data(&self) -> bool {
        self.state == State::Open
            && match self.transport {
                TransportKind::Polling => self.poll_pending && self.outbox.len() < self.send_buffer,
                TransportKind::WebSocket => self.outbox.is_empty(),
            }
    }

    /// Queues an application packet (`Message` or `Binary`).
    ///
    /// Fails with `Full` when `send_buffer` packets are already queued, and
    /// with `Closed` once the session is closing.
    pub fn send(&mut self, packet: Packet) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        if self.outbox.len() >= self.send_buffer {
            return Err(SendError::Full);
        }
        self.outbox.push_back(packet);
        Ok(())
    }

    /// Queues a packet beyond `send_buffer`: the caller bounds how many (the
    /// driver uses it for the last packets before a close and for groups).
    pub fn send_unbounded(&mut self, packet: Packet) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        self.outbox.push_back(packet);
        Ok(())
    }

    /// Closes the session from the server side: the client gets a close packet.
    pub fn close(&mut self, now: Instant, reason: CloseReason) {
        if self.state != State::Open {
            return;
        }
        match self.transport {
            TransportKind::WebSocket => self.finish(reason, Some(Farewell::Close)),
            TransportKind::Polling => {
                self.abort_upgrade();
                self.outbox.push_back(Packet::Close);
                self.state = State::Closing(reason);
                self.timers = TimerTable::default();
                self.timers
                    .set(Timer::CloseDeadline, now + self.ping_timeout);
            }
        }
    }

    /// A GET arrived on the polling transport.
    pub fn handle_poll(&mut self, now: Instant) -> Result<(), PollError> {
        // A poll after the pong deadline finds the session closed, even if
        // the timer has not fired yet (the official suite polls right then).
        // Only that: other timers (the upgrade's check) must not answer
        // the previous poll in the same call that accepts this one.
        let pong_due = |at: Instant| at <= now;
        let dead = self.timers.get(Timer::PongDeadline).is_some_and(pong_due)
            || self
                .timers
                .get(Timer::PingDue)
                .is_some_and(|at| pong_due(at + self.ping_timeout));
        if dead {
            self.handle_timeout(now);
        }
        if self.state == State::Closed {
            return Err(PollError::Closed);
        }
        if self.transport != TransportKind::Polling {
            return Err(PollError::WrongTransport);
        }
        if self.poll_pending {
            self.finish(CloseReason::TransportError, Some(Farewell::Close));
            return Err(PollError::Overlap);
        }
        self.poll_pending = true;
        Ok(())
    }

    /// The pending poll's HTTP connection went away before it was answered,
    /// or its answer could not be delivered: the session closes, as its
    /// packets may be lost.
    pub fn handle_poll_dropped(&mut self, _now: Instant) {
        if self.transport == TransportKind::Polling && self.state != State::Closed {
            self.poll_pending = false;
            self.finish(CloseReason::TransportError, None);
        }
    }

    /// A packet arrived on the active transport (WebSocket frame or one
    /// packet of a POST payload).
    pub fn handle_packet(&mut self, now: Instant, packet: Packet) {
        // Deadlines that passed take effect before the input: a pong after
        // the pong deadline is too late even if the timer has not fired yet.
        self.handle_timeout(now);
        if self.state != State::Open {
            return;
        }
        match packet {
            Packet::Message(s) => self.events.push_back(Event::Message(s)),
            Packet::Binary(b) => self.events.push_back(Event::Binary(b)),
            // Only a pong for a ping the client could have seen counts: a
            // client that never polls cannot keep the session alive with
            // blind pongs (and make unsent pings pile up).
            Packet::Pong(_) | Packet::Ping(_) if self.wire.protocol == Protocol::V3 => {
                self.handle_v3_heartbeat(now, packet)
            }
            Packet::Pong(_) => {
                if self.timers.get(Timer::PongDeadline).is_some() && self.ping_sent {
                    self.timers.stop(Timer::PongDeadline);
                    self.timers.set(Timer::PingDue, now + self.ping_interval);
                }
            }
            // v4 heartbeats go server to client only; like the reference
            // server, a client ping is an error (and cannot make us queue).
            Packet::Ping(_) => self.finish(CloseReason::TransportError, Some(Farewell::Close)),
            Packet::Close => self.handle_client_close(now),
            Packet::Noop | Packet::Upgrade => {}
            Packet::Open(_) => self.finish(CloseReason::ParseError, Some(Farewell::Close)),
        }
    }

    /// The client closed: the session ends at once, as in the reference
    /// server. A pending poll gets a noop; a request for the session after
    /// this finds it unknown (400, code 1), even the GET the client may
    /// still have had in flight.
    fn handle_client_close(&mut self, _now: Instant) {
        self.finish(CloseReason::TransportClose, Some(Farewell::Noop));
    }

    /// A polling POST's decoded body: its packets are fed in order, or
    /// an undecodable payload is a parse error. `Err(None)`: the payload
    /// was a protocol error (the session closed, answer 400);
    /// `Err(Some(_))`: the POST came for a closed session or one no longer
    /// on polling.
    pub fn handle_post(
        &mut self,
        now: Instant,
        packets: Result<Vec<Packet>, PacketError>,
    ) -> Result<(), Option<PollError>> {
        if self.is_closed() {
            return Err(Some(PollError::Closed));
        }
        if self.transport != TransportKind::Polling {
            return Err(Some(PollError::WrongTransport));
        }
        let Ok(packets) = packets else {
            self.handle_parse_error(now);
            return Err(None);
        };
        for p in packets {
            self.handle_packet(now, p);
        }
        match self.close_reason() {
            Some(CloseReason::ParseError) => Err(None),
            _ => Ok(()),
        }
    }

    /// The peer sent undecodable bytes on the active transport.
    pub fn handle_parse_error(&mut self, _now: Instant) {
        if self.state != State::Closed {
            self.finish(CloseReason::ParseError, Some(Farewell::Close));
        }
    }

    /// The active WebSocket closed (`error` false) or failed (`error` true).
    pub fn handle_transport_closed(&mut self, _now: Instant, error: bool) {
        if self.state == State::Closed || self.transport != TransportKind::WebSocket {
            return;
        }
        let reason = if error {
            CloseReason::TransportError
        } else {
            CloseReason::TransportClose
        };
        self.finish(reason, None);
    }

    /// A WebSocket with this sid was accepted; the upgrade begins.
    pub fn handle_upgrade_start(&mut self, now: Instant) -> Result<(), UpgradeError> {
        if self.state != State::Open {
            return Err(UpgradeError::Closed);
        }
        if !self.allow_upgrades || self.transport != TransportKind::Polling {
            return Err(UpgradeError::NotAllowed);
        }
        if self.upgrade != Upgrade::None {
            return Err(UpgradeError::InProgress);
        }
        self.upgrade = Upgrade::Attached;
        self.timers
            .set(Timer::UpgradeDeadline, now + self.upgrade_timeout);
        Ok(())
    }

    /// A packet arrived on the WebSocket being upgraded to. Anything but
    /// `2probe` then `5` abandons the upgrade, as the reference server does.
    pub fn handle_probe_packet(&mut self, now: Instant, packet: Packet) {
        if self.state != State::Open {
            return;
        }
        match (self.upgrade, packet) {
            (Upgrade::Attached, Packet::Ping(p)) if p == "probe" => {
                self.transmits.push_back(Transmit::Probe(Packet::Pong(p)));
                self.upgrade = Upgrade::Probed;
                self.timers
                    .set(Timer::UpgradeCheck, now + UPGRADE_CHECK_INTERVAL);
            }
            (Upgrade::Probed, Packet::Upgrade) => {
                self.upgrade = Upgrade::None;
                self.timers.stop(Timer::UpgradeDeadline);
                self.timers.stop(Timer::UpgradeCheck);
                // A GET still pending came after `5`: refuse it.
                if self.poll_pending {
                    self.poll_pending = false;
                    self.transmits.push_back(Transmit::PollRefused);
                }
                self.transport = TransportKind::WebSocket;
                self.events.push_back(Event::Upgraded);
            }
            (Upgrade::None, _) => {}
            _ => self.abort_upgrade(),
        }
    }

    /// The WebSocket being upgraded to closed or failed before completing.
    pub fn handle_probe_closed(&mut self, _now: Instant) {
        if self.upgrade != Upgrade::None {
            self.upgrade = Upgrade::None;
            self.timers.stop(Timer::UpgradeDeadline);
            self.timers.stop(Timer::UpgradeCheck);
        }
    }

    /// Fires every expired timer; harmless when nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        for t in TIMERS {
            let Some(at) = self.timers.get(t).filter(|at| *at <= now) else {
                continue;
            };
            self.timers.stop(t);
            match t {
                Timer::PingDue => {
                    self.ping_sent = false;
                    self.outbox.push_back(Packet::Ping(Str::new()));
                    // From when the ping was due, not when the caller got
                    // round to it: the deadline does not drift with timer lag.
                    self.timers.set(Timer::PongDeadline, at + self.ping_timeout);
                }
                Timer::PongDeadline => self.finish(CloseReason::PingTimeout, Some(Farewell::Close)),
                Timer::UpgradeDeadline => self.abort_upgrade(),
                Timer::UpgradeCheck => self.upgrade_check(at, now),
                Timer::CloseDeadline => {
                    if let State::Closing(reason) = self.state.clone() {
                        self.outbox.clear();
                        self.state = State::Open;
                        self.finish(reason, None);
                    }
                }
            }
        }
    }

    /// The earliest deadline, if any timer is armed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The next thing to write, if any: a transmit taken and dropped is lost.
    #[must_use = "a transmit taken and dropped is lost"]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.transmits.pop_front() {
            return Some(t);
        }
        match self.transport {
            TransportKind::WebSocket => {
                let p = self.outbox.pop_front()?;
                self.ping_sent |= matches!(p, Packet::Ping(_));
                self.pong_queued &= !matches!(p, Packet::Pong(_));
                Some(Transmit::WebSocket(p))
            }
            TransportKind::Polling if self.poll_pending => {
                if self.outbox.is_empty() {
                    return None;
                }
                self.poll_pending = false;
                let body = self.drain_payload();
                if let State::Closing(reason) = &self.state {
                    if self.outbox.is_empty() {
                        let reason = reason.clone();
                        self.state = State::Open;
                        self.finish(reason, None);
                    }
                }
                Some(Transmit::Poll(body))
            }
            TransportKind::Polling => None,
        }
    }

    /// Frees the memory of empty queues, so that an idle session holds
    /// none. Optional; a driver calls it when it is about to wait.
    pub fn release_idle_memory(&mut self) {
        self.outbox.release();
        self.transmits.release();
        self.events.release();
    }

    /// The next event for the layer above, if any.
    #[must_use = "an event taken and dropped is lost"]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Encodes queued packets into one payload of at most `max_payload`
    /// bytes (always at least one packet). A server's close packet goes in a
    /// response of its own, as the reference server sends it: clients handle
    /// a close at once but may deliver the messages before it later, so
    /// sharing a response would let the close overtake them.
    fn drain_payload(&mut self) -> Bytes {
        if self.wire.protocol == Protocol::V3 {
            return self.drain_v3_payload();
        }
        let mut out = BytesMut::new();
        while let Some(p) = self.outbox.front() {
            let extra = p.text_len() + usize::from(!out.is_empty());
            if !out.is_empty() && (out.len() + extra > self.max_payload || *p == Packet::Close) {
                break;
            }
            if !out.is_empty() {
                out.extend_from_slice(&[payload::SEPARATOR]);
            }
            p.encode_text_into(&mut out);
            self.ping_sent |= matches!(p, Packet::Ping(_));
            self.outbox.pop_front();
        }
        out.freeze()
    }

    /// The reference's check, due at `at`: a GET still pending (nothing
    /// was queued for it) gets a noop, and the check runs again one period
    /// later (not in the past: a late call does not make a burst) while
    /// the upgrade waits for `5`.
    fn upgrade_check(&mut self, at: Instant, now: Instant) {
        if self.upgrade != Upgrade::Probed {
            return;
        }
        if self.poll_pending && self.outbox.is_empty() {
            self.poll_pending = false;
            self.transmits
                .push_back(Transmit::Poll(self.noop_payload()));
        }
        let next = at + UPGRADE_CHECK_INTERVAL;
        let next = if next > now {
            next
        } else {
            now + UPGRADE_CHECK_INTERVAL
        };
        self.timers.set(Timer::UpgradeCheck, next);
    }

    fn abort_upgrade(&mut self) {
        if self.upgrade != Upgrade::None {
            self.upgrade = Upgrade::None;
            self.timers.stop(Timer::UpgradeDeadline);
            self.timers.stop(Timer::UpgradeCheck);
            self.transmits.push_back(Transmit::AbortProbe);
        }
    }

    /// Ends the session: answers a pending poll, closes the WebSocket,
    /// stops every timer and emits `Closed`.
    fn finish(&mut self, reason: CloseReason, farewell: Option<Farewell>) {
        if self.state == State::Closed {
            return;
        }
        self.abort_upgrade();
        self.state = State::Closed;
        self.timers = TimerTable::default();
        let last = farewell.map(|f| match f {
            Farewell::Close => Packet::Close,
            Farewell::Noop => Packet::Noop,
        });
        match self.transport {
            TransportKind::WebSocket => {
                // Only a server-side close tells the client why.
                if let Some(Packet::Close) = last {
                    self.outbox.push_back(Packet::Close);
                }
                self.transmits
                    .extend(self.outbox.drain().map(Transmit::WebSocket));
                self.transmits.push_back(Transmit::CloseWebSocket);
            }
            TransportKind::Polling => {
                if self.poll_pending {
                    self.poll_pending = false;
                    let body = match last {
                        Some(Packet::Noop) | None => self.noop_payload(),
                        Some(p) => self.encode_payload(self.outbox.iter().chain([&p])),
                    };
                    self.transmits.push_back(Transmit::Poll(body));
                }
                self.outbox.clear();
            }
        }
        self.close_reason = Some(reason.clone());
        self.events.push_back(Event::Closed(reason));
    }
}

/// The handshake's JSON, written directly: every handshake sends one, and
/// none of its strings needs escaping (a sid is URL-safe base64, upgrade
/// names are the server's own).
fn open_payload(
    sid: Sid,
    upgrades: &[&str],
    ping_interval: Duration,
    ping_timeout: Duration,
    max_payload: usize,
) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(128);
    out.push_str("{\"sid\":\"");
    out.push_str(sid.as_str());
    out.push_str("\",\"upgrades\":[");
    for (i, u) in upgrades.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(u);
        out.push('"');
    }
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "],\"pingInterval\":{},\"pingTimeout\":{},\"maxPayload\":{}}}",
        duration_ms(ping_interval),
        duration_ms(ping_timeout),
        max_payload
    );
    out
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

mod queue;
mod v3;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod eio3_tests;
