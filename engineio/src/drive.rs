//! [`Transports`]: the transport half of a session's task, for every
//! runtime driver: the active WebSocket and the probe, the GET waiting for
//! a payload, and a transmit waiting for its WebSocket to take it. It
//! feeds their inputs into the [`Session`], writes the session's
//! transmits, moves application packets from the send buffer while the
//! transport can take them, and flushes and closes the WebSockets.
//!
//! Generic over the driver's WebSocket ([`WsIo`]) and its reply to a GET
//! ([`PollReply`]); runtime-free. The driver owns one, with the session, its
//! timer and its handler calls, and polls these methods in its own loop
//! (see the tokio driver and `socketio-smol`). It must not touch the HTTP
//! side, timers or handlers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;

use crate::config::TransportKind;
use crate::eio3::Wire;
use crate::mailbox::Mailbox;
use crate::outgoing::Outgoing;
use crate::packet::Packet;
use crate::session::{PollError, Session, Transmit};
use crate::wsbuf::{WsInput, WsPacket};

/// Inputs handled per call before yielding to other tasks.
pub const BUDGET: usize = 64;

/// A server WebSocket as a session's task drives it.
pub trait WsIo {
    /// The next message, control frame or end of the connection (decoded
    /// here, for the session's protocol).
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<WsInput>;
    /// Ready when another frame may be queued (writing while too much is
    /// buffered); `Err` when the connection failed.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>>;
    /// Queues `packet` as one frame, encoded for `wire`, compressed (when
    /// permessage-deflate is on) only if `compress` (see
    /// [`WsBuffers::queue_packet`](crate::wsbuf::WsBuffers::queue_packet)).
    fn start_send(&mut self, packet: &Packet, wire: Wire, compress: bool);
    /// Writes and flushes what is queued; `Err` when the connection failed.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>>;
    /// Sends a close frame, flushes and shuts down; `Ready` when done or failed.
    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// Where a GET's answer goes: a payload and whether it may be compressed.
pub trait PollReply {
    /// Answers; `false` when the GET went away.
    fn send(self, answer: Result<(Bytes, bool), PollError>) -> bool;
    /// `Ready` once the GET went away.
    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// Inputs that answered `Pending` earlier in the same wake: their wakers
/// are registered, so polling them again in that wake can only find them
/// still pending (anything new wakes the task). Skipping them keeps a
/// wake-up for one outgoing packet cheap.
#[derive(Debug, Default)]
pub struct Quiet {
    /// The probe WebSocket.
    pub probe: bool,
    /// The active WebSocket.
    pub ws: bool,
    /// The control queue (the driver's).
    pub ctl: bool,
    /// The timer (the driver's).
    pub timer: bool,
}

/// A WebSocket plus its write state.
struct Slot<W> {
    ws: Box<W>,
    /// Closing: send a close frame, flush and drop.
    closing: bool,
}

/// A session's transports, as its task holds them.
pub struct Transports<W, R> {
    ws: Option<Slot<W>>,
    probe: Option<Slot<W>>,
    pending_poll: Option<R>,
    /// An application packet queued since the last poll answer asked for
    /// compression (internal packets are tiny, below any threshold).
    compress: bool,
    /// Whether every application packet queued since the session's
    /// queue last drained may be compressed: a WebSocket frame is
    /// compressed only then. On a WebSocket the queue holds one item of
    /// the send buffer at a time, so this is that item's flag.
    ws_compress: bool,
    /// A transmit that waits for its WebSocket to be writable.
    stalled: Option<Transmit>,
    /// The session's protocol, and whether the client asked for binary as
    /// base64 text (`b64=1`).
    wire: Wire,
    /// The probe's request asked for binary as base64 text.
    probe_base64: bool,
    /// The headers of the probe's upgrade request, and then of the
    /// WebSocket it became, when messages keep their request's headers
    /// (see [`Hooks::message_headers`](crate::Hooks::message_headers)).
    probe_headers: Option<Arc<HeaderMap>>,
    ws_headers: Option<Arc<HeaderMap>>,
}

impl<W: WsIo, R: PollReply> Transports<W, R> {
    /// No transport yet; packets go on WebSockets encoded for `wire`.
    pub fn new(wire: Wire) -> Self {
        Transports {
            ws: None,
            probe: None,
            pending_poll: None,
            compress: false,
            ws_compress: true,
            stalled: None,
            wire,
            probe_base64: false,
            probe_headers: None,
            ws_headers: None,
        }
    }

    /// The WebSocket of a WebSocket-only session.
    pub fn set_websocket(&mut self, ws: Box<W>) {
        self.ws = Some(Slot { ws, closing: false });
    }

    /// A probe WebSocket for an upgrade; `refused` (the session would not
    /// start the upgrade) closes it at once, releasing the claim. `headers`:
    /// the upgrade request's, when messages keep them; they become
    /// [`Transports::ws_headers`] when the probe becomes the transport.
    /// `base64`: the upgrade request asked for binary as base64 text
    /// ([`query::binary_as_base64`](crate::query::binary_as_base64)); each
    /// transport has its own, as in the reference (an Engine.IO 3 client
    /// whose polling cannot take binary upgrades to a WebSocket that can).
    pub fn set_probe(
        &mut self,
        ws: Box<W>,
        refused: bool,
        headers: Option<Arc<HeaderMap>>,
        base64: bool,
    ) {
        self.probe = Some(Slot {
            ws,
            closing: refused,
        });
        self.probe_headers = headers;
        self.probe_base64 = base64;
    }

    /// The headers of the upgrade request whose probe became the transport,
    /// if it was given any (see [`Transports::set_probe`]); `None` for a
    /// session still on polling or one that opened on a WebSocket.
    pub fn ws_headers(&self) -> Option<&Arc<HeaderMap>> {
        self.ws_headers.as_ref()
    }

    /// The headers the messages reported now come with: `post`'s (the
    /// POST that carried them); else, when messages `keep` their request's
    /// headers, those of the request that opened the WebSocket: the
    /// upgrade's ([`Transports::ws_headers`]), or the session's `handshake`
    /// headers; else none.
    pub fn message_headers<'a>(
        &'a self,
        post: Option<&'a Arc<HeaderMap>>,
        keep: bool,
        handshake: &'a Arc<HeaderMap>,
    ) -> Option<&'a Arc<HeaderMap>> {
        match post {
            Some(h) => Some(h),
            None if keep => Some(self.ws_headers().unwrap_or(handshake)),
            None => None,
        }
    }

    /// A GET: waits for a payload, or is refused with the session's error.
    pub fn handle_poll(&mut self, session: &mut Session, now: Instant, reply: R) {
        match session.handle_poll(now) {
            Ok(()) => self.pending_poll = Some(reply),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Hands an item of the send buffer to the session.
    pub fn queue(&mut self, session: &mut Session, out: Outgoing) {
        let compress = out.queue_into(session);
        self.compress |= compress;
        self.ws_compress &= compress;
    }

    /// Whether nothing waits to be written (a closed session may end).
    pub fn is_idle(&self) -> bool {
        self.stalled.is_none()
    }

    /// Drops every transport (the session ended).
    pub fn clear(&mut self) {
        self.ws = None;
        self.probe = None;
    }

    /// A waiting GET that went away tells the session; whether one did.
    pub fn poll_poll_dropped(
        &mut self,
        session: &mut Session,
        cx: &mut Context<'_>,
        now: Instant,
    ) -> bool {
        let Some(reply) = self.pending_poll.as_mut() else {
            return false;
        };
        if reply.poll_closed(cx).is_pending() {
            return false;
        }
        self.pending_poll = None;
        session.handle_poll_dropped(now);
        true
    }

    /// Feeds the probe's frames into the session, and makes the probe the
    /// transport once the session switched. Returns whether any came.
    pub fn poll_probe(
        &mut self,
        session: &mut Session,
        claimed: &AtomicBool,
        cx: &mut Context<'_>,
        now: Instant,
        quiet: &mut Quiet,
    ) -> bool {
        let mut progress = false;
        for _ in 0..BUDGET {
            if quiet.probe {
                break;
            }
            let Some(probe) = self.probe.as_mut().filter(|p| !p.closing) else {
                break;
            };
            let Poll::Ready(read) = probe.ws.poll_read(cx) else {
                quiet.probe = true;
                break;
            };
            progress = true;
            match read.decode_as(self.wire.protocol) {
                WsPacket::Packet(p) => session.handle_probe_packet(now, p),
                WsPacket::ParseError | WsPacket::Closed { .. } => {
                    session.handle_probe_closed(now);
                    self.drop_probe(session, claimed);
                }
                WsPacket::Skip => {}
            }
            if session.transport() == TransportKind::WebSocket && self.ws.is_none() {
                self.ws = self.probe.take();
                self.ws_headers = self.probe_headers.take();
                self.wire.base64 = self.probe_base64;
                quiet.ws = false;
            }
        }
        progress
    }

    /// Feeds the active WebSocket's frames into the session. Returns
    /// whether any came.
    pub fn poll_ws(
        &mut self,
        session: &mut Session,
        cx: &mut Context<'_>,
        now: Instant,
        quiet: &mut Quiet,
    ) -> bool {
        let mut progress = false;
        let Some(ws) = self.ws.as_mut().filter(|w| !w.closing && !quiet.ws) else {
            return false;
        };
        for _ in 0..BUDGET {
            let Poll::Ready(read) = ws.ws.poll_read(cx) else {
                quiet.ws = true;
                break;
            };
            progress = true;
            match read.decode_as(self.wire.protocol) {
                WsPacket::Packet(p) => session.handle_packet(now, p),
                WsPacket::ParseError => session.handle_parse_error(now),
                WsPacket::Closed { error } => session.handle_transport_closed(now, error),
                WsPacket::Skip => {}
            }
            if session.is_closed() {
                break;
            }
        }
        progress
    }

    /// Moves application packets from `mail` into the session while the
    /// transport can take them: where the send buffer drains, and nowhere
    /// else. Returns whether any moved (room was freed).
    pub fn pull_app<C>(
        &mut self,
        session: &mut Session,
        mail: &Mailbox<Outgoing, C>,
        claimed: &AtomicBool,
        max_payload: usize,
        cx: &mut Context<'_>,
    ) -> bool {
        let mut any = false;
        let mut bytes = 0usize;
        for _ in 0..BUDGET {
            if !session.wants_data() {
                break;
            }
            match session.transport() {
                // Batch while a poll waits, up to one payload's worth.
                TransportKind::Polling if bytes >= max_payload => break,
                TransportKind::Polling => {}
                TransportKind::WebSocket => {
                    let Some(ws) = self.ws.as_mut() else { break };
                    if self.stalled.is_some() || ws.ws.poll_ready(cx).is_pending() {
                        break;
                    }
                }
            }
            let Poll::Ready(Some(out)) = mail.poll_app(cx) else {
                break;
            };
            bytes += out.text_len();
            any = true;
            self.queue(session, out);
            if session.transport() == TransportKind::WebSocket {
                self.write_transmits(session, claimed, cx);
            }
        }
        any
    }

    /// Writes the session's transmits. Returns whether any was consumed.
    pub fn write_transmits(
        &mut self,
        session: &mut Session,
        claimed: &AtomicBool,
        cx: &mut Context<'_>,
    ) -> bool {
        let mut any = false;
        loop {
            let Some(t) = self.stalled.take().or_else(|| session.poll_transmit()) else {
                self.ws_compress = true;
                return any;
            };
            match t {
                Transmit::Poll(body) => {
                    let compress = std::mem::take(&mut self.compress);
                    let delivered = self
                        .pending_poll
                        .take()
                        .is_some_and(|r| r.send(Ok((body, compress))));
                    if !delivered {
                        // The GET went away just now: its packets are lost.
                        session.handle_poll_dropped(Instant::now());
                    }
                }
                Transmit::PollRefused => {
                    if let Some(reply) = self.pending_poll.take() {
                        let _ = reply.send(Err(PollError::WrongTransport));
                    }
                }
                Transmit::WebSocket(ref p) | Transmit::Probe(ref p) => {
                    let is_probe = matches!(t, Transmit::Probe(_));
                    let slot = match is_probe {
                        true => self.probe.as_mut(),
                        false => self.ws.as_mut(),
                    };
                    if let Some(slot) = slot {
                        match slot.ws.poll_ready(cx) {
                            Poll::Pending => {
                                // Not consumed: no progress, the socket wakes us.
                                self.stalled = Some(t);
                                return any;
                            }
                            Poll::Ready(Ok(())) => {
                                slot.ws.start_send(p, self.wire, self.ws_compress)
                            }
                            Poll::Ready(Err(())) => self.ws_failed(session, claimed, is_probe),
                        }
                    }
                }
                Transmit::AbortProbe => {
                    if let Some(p) = self.probe.as_mut() {
                        p.closing = true;
                    }
                }
                Transmit::CloseWebSocket => {
                    if let Some(w) = self.ws.as_mut() {
                        w.closing = true;
                    }
                }
            }
            any = true;
        }
    }

    /// Drops the probe; a later upgrade attempt may claim the session.
    fn drop_probe(&mut self, session: &Session, claimed: &AtomicBool) {
        self.probe_headers = None;
        if self.probe.take().is_some() && session.transport() == TransportKind::Polling {
            claimed.store(false, Ordering::Release);
        }
    }

    fn ws_failed(&mut self, session: &mut Session, claimed: &AtomicBool, is_probe: bool) {
        let now = Instant::now();
        if is_probe {
            self.drop_probe(session, claimed);
            session.handle_probe_closed(now);
        } else {
            session.handle_transport_closed(now, true);
        }
    }

    /// Flushes and closes WebSockets. Returns whether one is still busy.
    pub fn poll_sockets(
        &mut self,
        session: &mut Session,
        claimed: &AtomicBool,
        cx: &mut Context<'_>,
    ) -> bool {
        let mut busy = false;
        for is_probe in [true, false] {
            let slot = match is_probe {
                true => &mut self.probe,
                false => &mut self.ws,
            };
            let Some(s) = slot.as_mut() else { continue };
            match s.ws.poll_flush(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(())) => {
                    self.ws_failed(session, claimed, is_probe);
                    if !is_probe {
                        self.ws = None;
                    }
                    continue;
                }
                Poll::Pending => {
                    busy = true;
                    continue;
                }
            }
            if s.closing {
                if s.ws.poll_close(cx).is_ready() {
                    if is_probe {
                        self.drop_probe(session, claimed);
                    } else {
                        self.ws = None;
                    }
                } else {
                    busy = true;
                }
            }
        }
        busy
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::config::EngineConfig;
    use crate::sid::Sid;
    use crate::str::Str;

    /// A WebSocket whose reads are scripted and whose writes are recorded.
    #[derive(Default)]
    struct Mock {
        reads: VecDeque<WsInput>,
        sent: Vec<String>,
        closed: bool,
    }

    impl WsIo for Mock {
        fn poll_read(&mut self, _: &mut Context<'_>) -> Poll<WsInput> {
            self.reads.pop_front().map_or(Poll::Pending, Poll::Ready)
        }
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(&mut self, packet: &Packet, _: Wire, _: bool) {
            let mut b = bytes::BytesMut::new();
            packet.encode_text_into(&mut b);
            self.sent.push(String::from_utf8_lossy(&b).into_owned());
        }
        fn poll_flush(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(&mut self, _: &mut Context<'_>) -> Poll<()> {
            self.closed = true;
            Poll::Ready(())
        }
    }

    type Answer = Option<Result<(Bytes, bool), PollError>>;

    /// Records the answer it is given.
    struct Reply(std::sync::Arc<std::sync::Mutex<Answer>>);

    impl PollReply for Reply {
        fn send(self, answer: Result<(Bytes, bool), PollError>) -> bool {
            *self.0.lock().unwrap() = Some(answer);
            true
        }
        fn poll_closed(&mut self, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }

    fn text(s: &str) -> WsInput {
        WsInput::Text(Str::from(s.to_owned()))
    }

    #[test]
    fn a_probe_becomes_the_transport_and_a_waiting_poll_is_released() {
        let now = Instant::now();
        let claimed = AtomicBool::new(true);
        let config = EngineConfig::default();
        let mut s = Session::new(Sid::random(), &config, TransportKind::Polling, now);
        s.handle_poll(now).unwrap();
        let _open = s.poll_transmit();
        let mut t: Transports<Mock, Reply> = Transports::new(Wire::default());
        let answer = std::sync::Arc::new(std::sync::Mutex::new(None));
        t.handle_poll(&mut s, now, Reply(answer.clone()));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut quiet = Quiet::default();

        let mut probe = Box::new(Mock::default());
        probe.reads.push_back(text("2probe"));
        t.set_probe(probe, s.handle_upgrade_start(now).is_err(), None, false);
        assert!(t.poll_probe(&mut s, &claimed, &mut cx, now, &mut quiet));
        t.write_transmits(&mut s, &claimed, &mut cx);
        // The probe's reads ran out: it is quiet for this wake.
        assert!(quiet.probe);
        // The waiting GET is released with a noop once the check comes.
        s.handle_timeout(now + crate::session::UPGRADE_CHECK_INTERVAL);
        t.write_transmits(&mut s, &claimed, &mut cx);
        let got = answer.lock().unwrap().take();
        assert!(
            matches!(got, Some(Ok((ref b, false))) if &b[..] == b"6"),
            "{got:?}"
        );

        // `5` on the probe: it becomes the transport; packets go to it.
        quiet = Quiet::default();
        if let Some(p) = t.probe.as_mut() {
            p.ws.reads.push_back(text("5"));
        }
        assert!(t.poll_probe(&mut s, &claimed, &mut cx, now, &mut quiet));
        assert_eq!(s.transport(), TransportKind::WebSocket);
        assert!(t.probe.is_none() && t.ws.is_some());
        let mail: Mailbox<Outgoing, ()> = Mailbox::new(4);
        let pushed = mail
            .push_app(Outgoing::One(
                Packet::Message(Str::from("hi".to_owned())),
                true,
            ))
            .ok();
        assert!(pushed.is_some());
        assert!(t.pull_app(&mut s, &mail, &claimed, 1000, &mut cx));
        let ws = &t.ws.as_ref().unwrap().ws;
        assert_eq!(ws.sent, ["3probe", "4hi"]);

        // The client goes away: the session closes; the claim stays (the
        // session is no longer on polling).
        t.ws.as_mut()
            .unwrap()
            .ws
            .reads
            .push_back(WsInput::Closed { error: false });
        quiet = Quiet::default();
        assert!(t.poll_ws(&mut s, &mut cx, now, &mut quiet));
        assert!(s.is_closed());
        assert!(!t.poll_sockets(&mut s, &claimed, &mut cx));
        assert!(t.is_idle());
        assert!(claimed.load(Ordering::Acquire));
    }

    #[test]
    fn a_refused_probe_is_closed_and_releases_the_claim() {
        let now = Instant::now();
        let claimed = AtomicBool::new(true);
        let config = EngineConfig::default();
        let mut s = Session::new(Sid::random(), &config, TransportKind::Polling, now);
        let mut t: Transports<Mock, Reply> = Transports::new(Wire::default());
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        t.set_probe(Box::default(), true, None, false);
        assert!(!t.poll_sockets(&mut s, &claimed, &mut cx));
        assert!(t.probe.is_none());
        assert!(!claimed.load(Ordering::Acquire));
    }
}
