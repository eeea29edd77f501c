//! The tokio task that owns one [`Session`].
//!
//! The driver is the session's single owner: transports and sockets reach it
//! through channels ([`Ctl`] and the bounded send buffer). It feeds WebSocket
//! frames, polls, posts and timer expiries into the session, writes the
//! session's transmits and reports its events to the [`Handler`](crate::Handler).
//! One `Sleep` is re-armed only when the session's deadline changes. No lock
//! is held while the handler runs.
//!
//! It owns the session's WebSockets (made by [`wrap`] from an upgraded
//! connection) and must not touch the HTTP side: requests are answered by
//! the transports, and the engine spawns the driver.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;
use tokio::sync::oneshot;
use tokio::time::Sleep;

use crate::config::TransportKind;
use crate::error::CloseReason;
use crate::packet::Packet;
use crate::registry::Inner;
use crate::session::{Event, PollError, Session, Transmit};
use crate::socket::{Ctl, Outgoing, Socket};
use crate::transport::wsconn::{wrap, ws_config, Ws, WsEvent};
use hyper::upgrade::OnUpgrade;

/// Inputs handled per wake-up before yielding to other tasks.
const BUDGET: usize = 64;

/// How long a closed session's WebSockets may take to flush and close.
const CLOSE_LINGER: std::time::Duration = std::time::Duration::from_secs(5);

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// A WebSocket plus its write state.
struct WsSlot {
    ws: Box<Ws>,
    /// The client asked for binary as base64 text (`b64=1`).
    base64: bool,
    /// Closing: send a close frame, flush and drop.
    closing: bool,
}

impl WsSlot {
    fn new(ws: Box<Ws>, base64: bool) -> Self {
        WsSlot {
            ws,
            base64,
            closing: false,
        }
    }

    /// Polls readiness for one more frame.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        self.ws.poll_ready(cx).map_err(|_| ())
    }

    fn start_send(&mut self, packet: &Packet) {
        self.ws.start_send(packet, self.base64);
    }

    /// Flushes written frames; `Ready(Err)` when the socket failed.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        self.ws.poll_flush(cx).map_err(|_| ())
    }

    /// Sends the close handshake; `Ready` once done or failed.
    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.ws.poll_close(cx)
    }
}

/// Inputs that answered `Pending` earlier in the same `Driver::poll`: their
/// wakers are registered, so polling them again in that call can only
/// find them still pending (anything new wakes the task, which is polled
/// again). Skipping them keeps a wake-up for one outgoing packet cheap.
#[derive(Default)]
struct Quiet {
    probe: bool,
    ws: bool,
    ctl: bool,
    timer: bool,
}

/// What reading one frame gave.
enum Read {
    Packet(Packet),
    ParseError,
    Closed { error: bool },
    Skip,
}

fn poll_read(ws: &mut WsSlot, cx: &mut Context<'_>) -> Poll<Read> {
    ws.ws.poll_next(cx).map(|ev| match ev {
        WsEvent::Text(t) => match Packet::decode_str(t) {
            Ok(p) => Read::Packet(p),
            Err(_) => Read::ParseError,
        },
        WsEvent::Binary(b) => Read::Packet(Packet::decode_binary(b)),
        WsEvent::Skip => Read::Skip,
        WsEvent::Closed { error } => Read::Closed { error },
    })
}

pub(crate) struct Driver {
    session: Session,
    socket: Socket,
    engine: Arc<Inner>,
    ws: Option<WsSlot>,
    probe: Option<WsSlot>,
    pending_poll: Option<oneshot::Sender<Result<(Bytes, bool), PollError>>>,
    /// An application packet queued since the last poll answer asked for
    /// compression (internal packets are tiny, below any threshold).
    compress: bool,
    /// A transmit that waits for its WebSocket to be writable.
    stalled: Option<Transmit>,
    timer: Pin<Box<Sleep>>,
    deadline: Option<Instant>,
    connected: bool,
    unregistered: bool,
    /// The client asked for binary as base64 text (`b64=1`).
    base64: bool,
    /// Set once closed: how long sockets may take to flush and close.
    linger: Option<Pin<Box<Sleep>>>,
    /// A WebSocket session's HTTP upgrade, until it completes: the driver
    /// is the only task (and allocation) a connection needs from the 101 on.
    upgrade: Option<OnUpgrade>,
    /// The headers of the probe's upgrade request, and then of the
    /// WebSocket it became, when messages keep their request's headers.
    probe_headers: Option<Arc<HeaderMap>>,
    ws_headers: Option<Arc<HeaderMap>>,
}

impl Driver {
    pub(crate) fn new(session: Session, socket: Socket, engine: Arc<Inner>) -> Self {
        let base64 = socket
            .handshake()
            .query("b64")
            .is_some_and(|v| v == "1" || v == "true");
        Driver {
            session,
            socket,
            engine,
            ws: None,
            probe: None,
            pending_poll: None,
            compress: false,
            stalled: None,
            timer: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
            deadline: None,
            connected: false,
            unregistered: false,
            base64,
            linger: None,
            upgrade: None,
            probe_headers: None,
            ws_headers: None,
        }
    }

    /// A driver for a WebSocket-only session whose WebSocket is the
    /// completion of `upgrade`; the session ends if the upgrade fails.
    pub(crate) fn with_upgrade(
        session: Session,
        socket: Socket,
        engine: Arc<Inner>,
        upgrade: OnUpgrade,
    ) -> Self {
        let mut d = Driver::new(session, socket, engine);
        d.upgrade = Some(upgrade);
        d
    }

    /// Waits for the HTTP upgrade; `Ready(false)` when it failed.
    fn poll_upgrade(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        let Some(on) = self.upgrade.as_mut() else {
            return Poll::Ready(true);
        };
        let upgraded = std::task::ready!(Pin::new(on).poll(cx));
        self.upgrade = None;
        let Ok(io) = upgraded else {
            return Poll::Ready(false);
        };
        let ws = wrap(io, ws_config(&self.engine.config));
        self.ws = Some(WsSlot::new(ws, self.base64));
        Poll::Ready(true)
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
                let (packets, reply, headers) = *post;
                if headers.is_some() {
                    // Events of earlier inputs go with their own headers.
                    self.dispatch_events();
                }
                let result = match packets {
                    _ if self.session.is_closed() => Err(Some(PollError::Closed)),
                    _ if self.session.transport() != TransportKind::Polling => {
                        Err(Some(PollError::WrongTransport))
                    }
                    Ok(packets) => {
                        for p in packets {
                            self.session.handle_packet(now, p);
                        }
                        match self.session.close_reason() {
                            Some(CloseReason::ParseError) => Err(None),
                            _ => Ok(()),
                        }
                    }
                    Err(_) => {
                        self.session.handle_parse_error(now);
                        Err(None)
                    }
                };
                let _ = reply.send(result);
                if let Some(h) = headers {
                    // This POST's messages, with its headers.
                    self.dispatch_events_from(Some(&h));
                }
            }
            Ctl::Probe(probe) => {
                let (io, headers) = *probe;
                self.probe_headers = headers;
                let ws = wrap(io, ws_config(&self.engine.config));
                let mut slot = WsSlot::new(ws, self.base64);
                // A refused probe is closed (and its claim released) by poll_sockets.
                slot.closing = self.session.handle_upgrade_start(now).is_err();
                self.probe = Some(slot);
            }
            Ctl::Close(reason) => {
                // What the application sent before closing still goes out
                // first: at most `send_buffer` packets, the channel's capacity.
                while let Some(out) = self.socket.0.mail.try_app() {
                    self.queue(out);
                }
                self.session.close(now, reason);
            }
        }
    }

    /// Feeds every available input into the session. Returns whether any came.
    #[must_use]
    fn poll_inputs(&mut self, cx: &mut Context<'_>, now: Instant, quiet: &mut Quiet) -> bool {
        // WebSocket frames first: an upgrade packet must be seen before a
        // poll that the client sent after it.
        let mut progress = self.poll_probe(cx, now, quiet);
        progress |= self.poll_ws(cx, now, quiet);
        for _ in 0..BUDGET {
            if quiet.ctl {
                break;
            }
            let Poll::Ready(Some(ctl)) = self.socket.0.mail.poll_ctl(cx) else {
                quiet.ctl = true;
                break;
            };
            progress = true;
            self.handle_ctl(ctl, now);
        }
        if let Some(reply) = self.pending_poll.as_mut() {
            if reply.poll_closed(cx).is_ready() {
                self.pending_poll = None;
                self.session.handle_poll_dropped(now);
                progress = true;
            }
        }
        progress
    }

    /// Feeds the probe WebSocket's frames into the session, and makes the
    /// probe the transport once the session switched. Returns whether any came.
    #[must_use]
    fn poll_probe(&mut self, cx: &mut Context<'_>, now: Instant, quiet: &mut Quiet) -> bool {
        let mut progress = false;
        for _ in 0..BUDGET {
            if quiet.probe {
                break;
            }
            let Some(probe) = self.probe.as_mut().filter(|p| !p.closing) else {
                break;
            };
            let Poll::Ready(read) = poll_read(probe, cx) else {
                quiet.probe = true;
                break;
            };
            progress = true;
            match read {
                Read::Packet(p) => self.session.handle_probe_packet(now, p),
                Read::ParseError | Read::Closed { .. } => {
                    self.session.handle_probe_closed(now);
                    self.drop_probe();
                }
                Read::Skip => {}
            }
            if self.session.transport() == TransportKind::WebSocket && self.ws.is_none() {
                self.ws = self.probe.take();
                self.ws_headers = self.probe_headers.take();
                quiet.ws = false;
            }
        }
        progress
    }

    /// Feeds the active WebSocket's frames into the session. Returns whether any came.
    #[must_use]
    fn poll_ws(&mut self, cx: &mut Context<'_>, now: Instant, quiet: &mut Quiet) -> bool {
        let mut progress = false;
        if let Some(ws) = self.ws.as_mut().filter(|w| !w.closing && !quiet.ws) {
            for _ in 0..BUDGET {
                let Poll::Ready(read) = poll_read(ws, cx) else {
                    quiet.ws = true;
                    break;
                };
                progress = true;
                match read {
                    Read::Packet(p) => self.session.handle_packet(now, p),
                    Read::ParseError => self.session.handle_parse_error(now),
                    Read::Closed { error } => self.session.handle_transport_closed(now, error),
                    Read::Skip => {}
                }
                if self.session.is_closed() {
                    break;
                }
            }
        }
        progress
    }

    #[must_use]
    fn poll_timer(&mut self, cx: &mut Context<'_>, now: Instant, quiet: &mut Quiet) -> bool {
        let mut fired = false;
        if quiet.timer && self.session.poll_timeout() == self.deadline {
            return false;
        }
        loop {
            let next = self.session.poll_timeout();
            if next != self.deadline {
                self.deadline = next;
                if let Some(at) = next {
                    self.timer
                        .as_mut()
                        .reset(tokio::time::Instant::from_std(at));
                }
            }
            if self.deadline.is_none() || self.timer.as_mut().poll(cx).is_pending() {
                quiet.timer = true;
                return fired;
            }
            fired = true;
            self.session
                .handle_timeout(now.max(self.deadline.unwrap_or(now)));
            if self.session.poll_timeout() == self.deadline {
                // Nothing changed: avoid spinning on a stale deadline.
                return fired;
            }
        }
    }

    fn dispatch_events(&mut self) -> bool {
        self.dispatch_events_from(None)
    }

    /// Reports the session's events; messages come with `post`, the
    /// headers of the POST that carried them, or else (when the engine
    /// keeps message headers) those of the request that opened the
    /// WebSocket: the upgrade's, or for a WebSocket session the handshake's.
    fn dispatch_events_from(&mut self, post: Option<&Arc<HeaderMap>>) -> bool {
        let mut any = false;
        let Driver {
            session,
            socket,
            engine,
            unregistered,
            ws_headers,
            ..
        } = self;
        let socket = &*socket;
        let handler = &*engine.handler;
        let headers = match post {
            Some(h) => Some(h),
            None if engine.hooks.keeps_message_headers() => {
                Some(ws_headers.as_ref().unwrap_or(&socket.handshake().headers))
            }
            None => None,
        };
        // The loop takes application packets after this, so the handlers'
        // own sends need not wake this task (see `Mailbox::receiving`).
        let _receiving = socket.0.mail.receiving();
        while let Some(ev) = session.poll_event() {
            any = true;
            match ev {
                Event::Message(s) => match headers {
                    Some(h) => handler.on_message_with(socket, s, h),
                    None => handler.on_message(socket, s),
                },
                Event::Binary(b) => match headers {
                    Some(h) => handler.on_binary_with(socket, b, h),
                    None => handler.on_binary(socket, b),
                },
                Event::Upgraded => {
                    socket
                        .0
                        .transport
                        .store(TransportKind::WebSocket as u8, Ordering::Relaxed);
                    handler.on_upgrade(socket);
                }
                Event::Closed(reason) => {
                    // Unregister first: a request after the close sees no session.
                    *unregistered = true;
                    engine.unregister(session.sid());
                    socket.0.mail.close();
                    socket.0.space.notify_waiters();
                    handler.on_close(socket, reason);
                    // The application's per-session value may refer back to
                    // this socket: dropping it here breaks that cycle.
                    socket.clear_data();
                }
            }
        }
        any
    }

    /// Moves application packets into the session while the transport can
    /// take them: this is where the send buffer drains, and nowhere else.
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
                TransportKind::Polling => {}
                TransportKind::WebSocket => {
                    let Some(ws) = self.ws.as_mut() else { break };
                    if self.stalled.is_some() || ws.poll_ready(cx).is_pending() {
                        break;
                    }
                }
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
        if any {
            // Room freed in the send buffer: once per batch, not per item.
            self.socket.0.space.notify_waiters();
        }
        any
    }

    /// Hands an item of the send buffer to the session. Callers checked
    /// `wants_data` (or are closing); a group may exceed `send_buffer` by
    /// its own size, which the Socket.IO attachment cap bounds.
    fn queue(&mut self, out: Outgoing) {
        self.compress |= out.compress();
        match out {
            Outgoing::One(p, _) => {
                let _ = self.session.send_unbounded(p);
            }
            Outgoing::Group(g, _) => {
                for p in g {
                    let _ = self.session.send_unbounded(p);
                }
            }
        }
    }

    /// Writes the session's transmits. Returns whether any was consumed.
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
                        self.session.handle_poll_dropped(now());
                    }
                }
                Transmit::PollRefused => {
                    if let Some(reply) = self.pending_poll.take() {
                        let _ = reply.send(Err(PollError::WrongTransport));
                    }
                }
                Transmit::WebSocket(ref p) | Transmit::Probe(ref p) => {
                    let is_probe = matches!(t, Transmit::Probe(_));
                    let slot = if is_probe {
                        self.probe.as_mut()
                    } else {
                        self.ws.as_mut()
                    };
                    if let Some(slot) = slot {
                        match slot.poll_ready(cx) {
                            Poll::Pending => {
                                // Not consumed: no progress, the socket wakes us.
                                self.stalled = Some(t);
                                return any;
                            }
                            Poll::Ready(Ok(())) => slot.start_send(p),
                            Poll::Ready(Err(())) => self.ws_failed(is_probe),
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

    /// Drops the probe WebSocket; a later upgrade attempt may claim the session.
    fn drop_probe(&mut self) {
        if self.probe.take().is_some() && self.session.transport() == TransportKind::Polling {
            self.socket.0.ws_claimed.store(false, Ordering::Release);
        }
    }

    fn ws_failed(&mut self, is_probe: bool) {
        let now = now();
        if is_probe {
            self.drop_probe();
            self.session.handle_probe_closed(now);
        } else {
            self.session.handle_transport_closed(now, true);
        }
    }

    /// Flushes and closes WebSockets. Returns whether a socket is still busy.
    #[must_use]
    fn poll_sockets(&mut self, cx: &mut Context<'_>) -> bool {
        let mut busy = false;
        for is_probe in [true, false] {
            let slot = if is_probe {
                &mut self.probe
            } else {
                &mut self.ws
            };
            let Some(s) = slot.as_mut() else { continue };
            match s.poll_flush(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(())) => {
                    self.ws_failed(is_probe);
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
                if s.poll_close(cx).is_ready() {
                    if is_probe {
                        self.drop_probe();
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

    fn unregister(&mut self) {
        if !self.unregistered {
            self.unregistered = true;
            self.engine.unregister(self.session.sid());
        }
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match this.poll_upgrade(cx) {
            Poll::Pending => return Poll::Pending,
            // Drop unregisters the session; the handler never saw it.
            Poll::Ready(false) => return Poll::Ready(()),
            Poll::Ready(true) => {}
        }
        if !this.connected {
            this.connected = true;
            this.engine.handler.on_connect(&this.socket);
        }
        let mut quiet = Quiet::default();
        // One clock read per wake: the loop's rounds are microseconds apart.
        let now = now();
        for _ in 0..BUDGET {
            let mut progress = this.poll_inputs(cx, now, &mut quiet);
            progress |= this.poll_timer(cx, now, &mut quiet);
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
                    this.ws = None;
                    this.probe = None;
                    return Poll::Ready(());
                }
                // A peer that does not read must not keep a closed session alive.
                let linger = this
                    .linger
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(CLOSE_LINGER)));
                if linger.as_mut().poll(cx).is_ready() {
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
        // Handles see the session as closed even if the driver ends early
        // (a runtime shutting down), as a dropped channel receiver did.
        self.socket.0.mail.close();
        self.socket.0.space.notify_waiters();
        self.unregister();
        self.socket.clear_data();
    }
}
