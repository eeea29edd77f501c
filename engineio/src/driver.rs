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
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;
use tokio::sync::oneshot;
use tokio::time::Sleep;

use crate::drive::{PollReply, Quiet, Transports, WsIo, BUDGET};
use crate::eio3::Wire;
use crate::packet::Packet;
use crate::registry::Inner;
use crate::session::{Event, PollError, Session};
use crate::socket::{Ctl, Socket};
use crate::transport::wsconn::{wrap, ws_config, Ws, WsConn};
use crate::wsbuf::WsInput;
use hyper::upgrade::OnUpgrade;

use crate::deflate::Negotiated;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long a closed session's WebSockets may take to flush and close.
const CLOSE_LINGER: std::time::Duration = std::time::Duration::from_secs(5);

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsIo for WsConn<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<WsInput> {
        self.poll_next(cx)
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        WsConn::poll_ready(self, cx).map_err(|_| ())
    }

    fn start_send(&mut self, packet: &Packet, wire: Wire, compress: bool) {
        WsConn::start_send(self, packet, wire, compress);
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        WsConn::poll_flush(self, cx).map_err(|_| ())
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        WsConn::poll_close(self, cx)
    }
}

impl PollReply for oneshot::Sender<Result<(Bytes, bool), PollError>> {
    fn send(self, answer: Result<(Bytes, bool), PollError>) -> bool {
        oneshot::Sender::send(self, answer).is_ok()
    }

    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        oneshot::Sender::poll_closed(self, cx)
    }
}

type PollTx = oneshot::Sender<Result<(Bytes, bool), PollError>>;

pub(crate) struct Driver {
    session: Session,
    socket: Socket,
    engine: Arc<Inner>,
    /// The WebSockets, the waiting GET and a stalled transmit.
    t: Transports<Ws, PollTx>,
    timer: Pin<Box<Sleep>>,
    deadline: Option<Instant>,
    connected: bool,
    unregistered: bool,
    /// Set once closed: how long sockets may take to flush and close.
    linger: Option<Pin<Box<Sleep>>>,
    /// A WebSocket session's HTTP upgrade, until it completes: the driver
    /// is the only task (and allocation) a connection needs from the 101 on.
    upgrade: Option<OnUpgrade>,
    /// The permessage-deflate parameters agreed in the 101 of `upgrade`.
    upgrade_deflate: Option<Negotiated>,
}

impl Driver {
    pub(crate) fn new(session: Session, socket: Socket, engine: Arc<Inner>) -> Self {
        let wire = session.wire();
        Driver {
            session,
            socket,
            engine,
            t: Transports::new(wire),
            timer: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
            deadline: None,
            connected: false,
            unregistered: false,
            linger: None,
            upgrade: None,
            upgrade_deflate: None,
        }
    }

    /// A driver for a WebSocket-only session whose WebSocket is the
    /// completion of `upgrade`; the session ends if the upgrade fails.
    pub(crate) fn with_upgrade(
        session: Session,
        socket: Socket,
        engine: Arc<Inner>,
        upgrade: OnUpgrade,
        deflate: Option<Negotiated>,
    ) -> Self {
        let mut d = Driver::new(session, socket, engine);
        d.upgrade = Some(upgrade);
        d.upgrade_deflate = deflate;
        d
    }

    /// Gives a WebSocket-only session its WebSocket, open already (the
    /// engine's accept path answered the handshake itself).
    pub(crate) fn set_websocket(&mut self, ws: Box<Ws>) {
        self.t.set_websocket(ws);
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
        let limits = ws_config(&self.engine.config).with_deflate(self.upgrade_deflate);
        self.t.set_websocket(wrap(io, limits));
        Poll::Ready(true)
    }

    fn handle_ctl(&mut self, ctl: Ctl, now: Instant) {
        match ctl {
            Ctl::Poll(reply) => self.t.handle_poll(&mut self.session, now, reply),
            Ctl::Post(post) => {
                let (packets, reply, headers) = *post;
                if headers.is_some() {
                    // Events of earlier inputs go with their own headers.
                    self.dispatch_events();
                }
                let result = self.session.handle_post(now, packets);
                let _ = reply.send(result);
                if let Some(h) = headers {
                    // This POST's messages, with its headers.
                    self.dispatch_events_from(Some(&h));
                }
            }
            Ctl::Probe(probe) => {
                let (io, headers, deflate, base64) = *probe;
                let ws = wrap(io, ws_config(&self.engine.config).with_deflate(deflate));
                // A refused probe is closed (and its claim released) by poll_sockets.
                let refused = self.session.handle_upgrade_start(now).is_err();
                self.t.set_probe(ws, refused, headers, base64);
            }
            Ctl::Close(reason) => {
                // What the application sent before closing still goes out
                // first: at most `send_buffer` packets, the channel's capacity.
                while let Some(out) = self.socket.0.mail.try_app() {
                    self.t.queue(&mut self.session, out);
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
        let (session, claimed) = (&mut self.session, &self.socket.0.ws_claimed);
        let mut progress = self.t.poll_probe(session, claimed, cx, now, quiet);
        progress |= self.t.poll_ws(session, cx, now, quiet);
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
        progress |= self.t.poll_poll_dropped(&mut self.session, cx, now);
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
            t,
            ..
        } = self;
        let socket = &*socket;
        let handler = &*engine.handler;
        let keep = engine.hooks.keeps_message_headers();
        let headers = t.message_headers(post, keep, &socket.handshake().headers);
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
                    socket.0.set_upgraded();
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
    /// take them (see [`Transports::pull_app`]).
    fn pull_app(&mut self, cx: &mut Context<'_>) -> bool {
        let max = self.engine.config.max_payload;
        let Driver {
            t, session, socket, ..
        } = self;
        let any = t.pull_app(session, &socket.0.mail, &socket.0.ws_claimed, max, cx);
        if any {
            // Room freed in the send buffer: once per batch, not per item.
            socket.0.space.notify_waiters();
        }
        any
    }

    /// Writes the session's transmits. Returns whether any was consumed.
    fn write_transmits(&mut self, cx: &mut Context<'_>) -> bool {
        let claimed = &self.socket.0.ws_claimed;
        self.t.write_transmits(&mut self.session, claimed, cx)
    }

    /// Flushes and closes WebSockets. Returns whether a socket is still busy.
    #[must_use]
    fn poll_sockets(&mut self, cx: &mut Context<'_>) -> bool {
        let claimed = &self.socket.0.ws_claimed;
        self.t.poll_sockets(&mut self.session, claimed, cx)
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
                if this.t.is_idle() && !busy {
                    this.t.clear();
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
