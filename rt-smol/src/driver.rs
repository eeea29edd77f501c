//! The task that owns one [`Session`]: the only place its state lives (no
//! lock around it). The HTTP side and the socket handles reach it through
//! the socket's mailbox ([`Ctl`] and the bounded send buffer).
//!
//! Each wake feeds what is ready into the session, in this order: the probe
//! WebSocket's frames, the active WebSocket's, control messages, a waiting
//! GET that went away, the timer; then it reports events to the
//! [`Handler`](crate::Handler), writes transmits, moves application packets
//! into the session while the transport can take them, and flushes. One
//! async-io [`Timer`] is re-armed only when [`Session::poll_timeout`]
//! changes. No lock is held while the handler runs.
//!
//! It owns the session's WebSockets and must not touch the HTTP side:
//! requests are answered by the engine, which spawns this task.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Timer;
use bytes::Bytes;
use engineio::{Event, Outgoing, PollError, Session, Transmit, TransportKind};
use futures_channel::oneshot;

use crate::engine::Inner;
use crate::socket::{Ctl, Socket};
use crate::ws::Ws;
use engineio::wsbuf::WsPacket as WsRead;

/// Inputs handled per wake before yielding to other tasks.
const BUDGET: usize = 64;

/// How long a closed session's WebSockets may take to flush and close.
const CLOSE_LINGER: Duration = Duration::from_secs(5);

pub(crate) struct Driver {
    session: Session,
    socket: Socket,
    engine: Arc<Inner>,
    ws: Option<Box<Ws>>,
    probe: Option<Box<Ws>>,
    pending_poll: Option<oneshot::Sender<Result<(Bytes, bool), PollError>>>,
    /// An application packet queued since the last poll answer asked for
    /// compression.
    compress: bool,
    /// A WebSocket transmit waiting for its socket to take more.
    stalled: Option<Transmit>,
    timer: Timer,
    deadline: Option<Instant>,
    connected: bool,
    unregistered: bool,
    base64: bool,
    linger: Option<Timer>,
}

impl Driver {
    /// A driver for `session`, whose WebSocket is `ws` for a WebSocket-only one.
    pub(crate) fn new(
        session: Session,
        socket: Socket,
        engine: Arc<Inner>,
        ws: Option<Box<Ws>>,
    ) -> Self {
        let base64 = socket.handshake().binary_as_base64();
        let ws = ws.map(|mut w| {
            w.base64 = base64;
            w
        });
        Driver {
            session,
            socket,
            engine,
            ws,
            probe: None,
            pending_poll: None,
            compress: false,
            stalled: None,
            timer: Timer::never(),
            deadline: None,
            connected: false,
            unregistered: false,
            base64,
            linger: None,
        }
    }

    fn handle_ctl(&mut self, ctl: Ctl, now: Instant) {
        match ctl {
            Ctl::Poll(reply) => match self.session.handle_poll(now) {
                Ok(()) => self.pending_poll = Some(reply),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Ctl::Post(post) => {
                let (packets, reply) = *post;
                let result = self.session.handle_post(now, packets);
                let _ = reply.send(result);
            }
            Ctl::Probe(mut ws) => {
                ws.base64 = self.base64;
                // A refused probe is closed (and its claim released) by poll_sockets.
                ws.closing = self.session.handle_upgrade_start(now).is_err();
                self.probe = Some(ws);
            }
            Ctl::Close(reason) => {
                // What the application sent before closing still goes out first.
                while let Some(out) = self.socket.0.mail.try_app() {
                    self.queue(out);
                }
                self.session.close(now, reason);
            }
        }
    }

    /// Feeds every available input into the session; whether any came.
    fn poll_inputs(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        // WebSocket frames first: an upgrade packet must be seen before a
        // poll that the client sent after it.
        let mut progress = self.poll_probe(cx, now);
        progress |= self.poll_ws(cx, now);
        for _ in 0..BUDGET {
            let Poll::Ready(Some(ctl)) = self.socket.0.mail.poll_ctl(cx) else {
                break;
            };
            progress = true;
            self.handle_ctl(ctl, now);
        }
        if let Some(reply) = self.pending_poll.as_mut() {
            if reply.poll_canceled(cx).is_ready() {
                self.pending_poll = None;
                self.session.handle_poll_dropped(now);
                progress = true;
            }
        }
        progress
    }

    fn poll_probe(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut progress = false;
        for _ in 0..BUDGET {
            let Some(probe) = self.probe.as_mut().filter(|p| !p.closing) else {
                break;
            };
            let Poll::Ready(read) = probe.poll_read(cx) else {
                break;
            };
            progress = true;
            match read {
                WsRead::Packet(p) => self.session.handle_probe_packet(now, p),
                WsRead::ParseError | WsRead::Closed { .. } => {
                    self.session.handle_probe_closed(now);
                    self.drop_probe();
                }
                _ => {}
            }
            if self.session.transport() == TransportKind::WebSocket && self.ws.is_none() {
                self.ws = self.probe.take();
            }
        }
        progress
    }

    fn poll_ws(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut progress = false;
        for _ in 0..BUDGET {
            let Some(ws) = self.ws.as_mut().filter(|w| !w.closing) else {
                break;
            };
            let Poll::Ready(read) = ws.poll_read(cx) else {
                break;
            };
            progress = true;
            match read {
                WsRead::Packet(p) => self.session.handle_packet(now, p),
                WsRead::ParseError => self.session.handle_parse_error(now),
                WsRead::Closed { error } => self.session.handle_transport_closed(now, error),
                _ => {}
            }
            if self.session.is_closed() {
                break;
            }
        }
        progress
    }

    /// Re-arms the timer when the session's deadline moved and feeds its
    /// expiry; whether it fired.
    fn poll_timer(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut fired = false;
        loop {
            let next = self.session.poll_timeout();
            if next != self.deadline {
                self.deadline = next;
                match next {
                    Some(at) => self.timer.set_at(at),
                    None => self.timer = Timer::never(),
                }
            }
            let Some(at) = self.deadline else {
                return fired;
            };
            if Pin::new(&mut self.timer).poll(cx).is_pending() {
                return fired;
            }
            fired = true;
            self.session.handle_timeout(now.max(at));
            if self.session.poll_timeout() == self.deadline {
                // Nothing changed: the fired timer stays quiet until re-armed.
                return fired;
            }
        }
    }

    fn dispatch_events(&mut self) -> bool {
        let mut any = false;
        let handler = &*self.engine.handler;
        let socket = &self.socket;
        // Application packets are taken after this, so the handlers' own
        // sends need not wake this task.
        let _receiving = socket.0.mail.receiving();
        while let Some(ev) = self.session.poll_event() {
            any = true;
            match ev {
                Event::Message(s) => handler.on_message(socket, s),
                Event::Binary(b) => handler.on_binary(socket, b),
                Event::Upgraded => {
                    socket.0.set_upgraded();
                    handler.on_upgrade(socket);
                }
                Event::Closed(reason) => {
                    // Unregistered first: a request after the close sees no session.
                    self.unregistered = true;
                    self.engine.unregister(self.session.sid());
                    socket.0.mail.close();
                    handler.on_close(socket, reason);
                    socket.0.clear_data();
                }
                _ => {}
            }
        }
        any
    }

    /// Moves application packets into the session while the transport can
    /// take them: where the send buffer drains.
    fn pull_app(&mut self, cx: &mut Context<'_>) -> bool {
        let mut any = false;
        let mut bytes = 0usize;
        for _ in 0..BUDGET {
            if !self.session.wants_data() {
                break;
            }
            match self.session.transport() {
                // Batch while a poll waits, up to one payload's worth.
                TransportKind::Polling if bytes >= self.engine.config.max_payload => break,
                TransportKind::WebSocket => {
                    let Some(ws) = self.ws.as_ref() else { break };
                    if self.stalled.is_some() || !ws.writable() {
                        break;
                    }
                }
                _ => {}
            }
            let Poll::Ready(Some(out)) = self.socket.0.mail.poll_app(cx) else {
                break;
            };
            bytes += out.text_len();
            any = true;
            self.queue(out);
            if self.session.transport() == TransportKind::WebSocket {
                self.write_transmits(cx);
            }
        }
        any
    }

    fn queue(&mut self, out: Outgoing) {
        self.compress |= out.queue_into(&mut self.session);
    }

    /// Writes the session's transmits; whether any was consumed.
    fn write_transmits(&mut self, cx: &mut Context<'_>) -> bool {
        let mut any = false;
        loop {
            let Some(t) = self.stalled.take().or_else(|| self.session.poll_transmit()) else {
                return any;
            };
            match t {
                Transmit::Poll(body) => {
                    let delivered = self.pending_poll.take().is_some_and(|r| {
                        r.send(Ok((body, std::mem::take(&mut self.compress))))
                            .is_ok()
                    });
                    if !delivered {
                        // The GET went away just now: its packets are lost.
                        self.session.handle_poll_dropped(Instant::now());
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
                    if let Some(ws) = slot {
                        if !ws.writable() {
                            match ws.poll_flush(cx) {
                                Poll::Pending if !ws.writable() => {
                                    // Not consumed: the socket wakes us.
                                    self.stalled = Some(t);
                                    return any;
                                }
                                Poll::Ready(Err(_)) => {
                                    self.ws_failed(is_probe);
                                    any = true;
                                    continue;
                                }
                                _ => {}
                            }
                        }
                        ws.send(p);
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
                _ => {}
            }
            any = true;
        }
    }

    /// Drops the probe; a later upgrade attempt may claim the session.
    fn drop_probe(&mut self) {
        if self.probe.take().is_some() && self.session.transport() == TransportKind::Polling {
            self.socket.0.ws_claimed.store(false, Ordering::Release);
        }
    }

    fn ws_failed(&mut self, is_probe: bool) {
        let now = Instant::now();
        if is_probe {
            self.drop_probe();
            self.session.handle_probe_closed(now);
        } else {
            self.ws = None;
            self.session.handle_transport_closed(now, true);
        }
    }

    /// Flushes and closes WebSockets; whether one is still busy.
    fn poll_sockets(&mut self, cx: &mut Context<'_>) -> bool {
        let mut busy = false;
        for is_probe in [true, false] {
            let slot = match is_probe {
                true => &mut self.probe,
                false => &mut self.ws,
            };
            let Some(ws) = slot.as_mut() else { continue };
            match ws.poll_flush(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => {
                    self.ws_failed(is_probe);
                    continue;
                }
                Poll::Pending => {
                    busy = true;
                    continue;
                }
            }
            if ws.closing {
                if ws.poll_close(cx).is_pending() {
                    busy = true;
                } else if is_probe {
                    self.drop_probe();
                } else {
                    self.ws = None;
                }
            }
        }
        busy
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if !this.connected {
            this.connected = true;
            this.engine.handler.on_connect(&this.socket);
        }
        // One clock read per wake: the rounds are microseconds apart.
        let now = Instant::now();
        for _ in 0..BUDGET {
            let mut progress = this.poll_inputs(cx, now);
            progress |= this.poll_timer(cx, now);
            progress |= this.dispatch_events();
            progress |= this.write_transmits(cx);
            progress |= this.pull_app(cx);
            progress |= this.write_transmits(cx);
            let busy = this.poll_sockets(cx);
            // A flush failure above may have closed the session: report it.
            progress |= this.write_transmits(cx);
            progress |= this.dispatch_events();
            if this.session.is_closed() {
                if this.stalled.is_none() && !busy {
                    return Poll::Ready(());
                }
                // A peer that does not read must not keep a closed session alive.
                let linger = this
                    .linger
                    .get_or_insert_with(|| Timer::after(CLOSE_LINGER));
                if Pin::new(linger).poll(cx).is_ready() {
                    return Poll::Ready(());
                }
            }
            if !progress {
                this.session.release_idle_memory();
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Handles see the session as closed even if the task ends early
        // (an executor dropped with it).
        self.socket.0.mail.close();
        if !self.unregistered {
            self.engine.unregister(self.session.sid());
        }
        self.socket.0.clear_data();
    }
}
