//! The task that owns one [`Session`]: the only place its state lives (no
//! lock around it). The HTTP side and the socket handles reach it through
//! the socket's mailbox ([`Ctl`] and the bounded send buffer).
//!
//! The transport work (WebSocket frames in, transmits out, the send buffer
//! drained while the transport can take it, flushes and closes) is the
//! shared [`engineio::drive::Transports`], the same code the tokio driver
//! runs; this task adds the control messages, one async-io [`Timer`]
//! re-armed only when [`Session::poll_timeout`] changes, and the
//! [`Handler`](crate::Handler) calls, made with no lock held.
//!
//! It owns the session's WebSockets and must not touch the HTTP side:
//! requests are answered by the engine, which spawns this task.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Timer;
use bytes::Bytes;
use engineio::drive::{PollReply, Quiet, Transports, BUDGET};
use engineio::{Event, PollError, Session};
use futures_channel::oneshot;
use http::HeaderMap;

use crate::engine::Inner;
use crate::socket::{Ctl, Socket};
use crate::ws::Ws;

/// How long a closed session's WebSockets may take to flush and close.
const CLOSE_LINGER: Duration = Duration::from_secs(5);

/// Where a GET's answer goes.
pub(crate) struct PollTx(pub(crate) oneshot::Sender<Result<(Bytes, bool), PollError>>);

impl PollReply for PollTx {
    fn send(self, answer: Result<(Bytes, bool), PollError>) -> bool {
        self.0.send(answer).is_ok()
    }

    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.poll_canceled(cx)
    }
}

pub(crate) struct Driver {
    session: Session,
    socket: Socket,
    engine: Arc<Inner>,
    /// The WebSockets, the waiting GET and a stalled transmit.
    t: Transports<Ws, PollTx>,
    timer: Timer,
    deadline: Option<Instant>,
    connected: bool,
    unregistered: bool,
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
        let mut t = Transports::new(socket.handshake().wire());
        if let Some(ws) = ws {
            t.set_websocket(ws);
        }
        Driver {
            session,
            socket,
            engine,
            t,
            timer: Timer::never(),
            deadline: None,
            connected: false,
            unregistered: false,
            linger: None,
        }
    }

    fn handle_ctl(&mut self, ctl: Ctl, now: Instant) {
        match ctl {
            Ctl::Poll(reply) => self.t.handle_poll(&mut self.session, now, PollTx(reply)),
            Ctl::Post(post) => {
                let (packets, reply, headers) = *post;
                if headers.is_some() {
                    // Events of earlier inputs go with their own headers.
                    self.dispatch_events();
                }
                let _ = reply.send(self.session.handle_post(now, packets));
                if let Some(h) = headers {
                    // This POST's messages, with its headers.
                    self.dispatch_events_from(Some(&h));
                }
            }
            Ctl::Probe(ws, headers, base64) => {
                // A refused probe is closed (and its claim released) by poll_sockets.
                let refused = self.session.handle_upgrade_start(now).is_err();
                self.t.set_probe(ws, refused, headers, base64);
            }
            Ctl::Close(reason) => {
                // What the application sent before closing still goes out first.
                while let Some(out) = self.socket.0.mail.try_app() {
                    self.t.queue(&mut self.session, out);
                }
                self.session.close(now, reason);
            }
        }
    }

    /// Feeds every available input into the session; whether any came.
    fn poll_inputs(&mut self, cx: &mut Context<'_>, now: Instant, quiet: &mut Quiet) -> bool {
        // WebSocket frames first: an upgrade packet must be seen before a
        // poll that the client sent after it.
        let (session, claimed) = (&mut self.session, &self.socket.0.ws_claimed);
        let mut progress = self.t.poll_probe(session, claimed, cx, now, quiet);
        progress |= self.t.poll_ws(session, cx, now, quiet);
        for _ in 0..BUDGET {
            let Poll::Ready(Some(ctl)) = self.socket.0.mail.poll_ctl(cx) else {
                break;
            };
            progress = true;
            self.handle_ctl(ctl, now);
        }
        progress | self.t.poll_poll_dropped(&mut self.session, cx, now)
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
        self.dispatch_events_from(None)
    }

    /// Reports the session's events; messages come with `post`, the
    /// headers of the POST that carried them, or else (when the hooks keep
    /// message headers) those of the request that opened the WebSocket:
    /// the upgrade's, or for a WebSocket session the handshake's.
    fn dispatch_events_from(&mut self, post: Option<&Arc<HeaderMap>>) -> bool {
        let mut any = false;
        let handler = &*self.engine.handler;
        let socket = &self.socket;
        let keep = self.engine.hooks.keeps_message_headers();
        let headers = self
            .t
            .message_headers(post, keep, &socket.handshake().headers);
        // Application packets are taken after this, so the handlers' own
        // sends need not wake this task.
        let _receiving = socket.0.mail.receiving();
        while let Some(ev) = self.session.poll_event() {
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

    fn write_transmits(&mut self, cx: &mut Context<'_>) -> bool {
        let claimed = &self.socket.0.ws_claimed;
        self.t.write_transmits(&mut self.session, claimed, cx)
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
        let mut quiet = Quiet::default();
        // One clock read per wake: the rounds are microseconds apart.
        let now = Instant::now();
        let max_payload = this.engine.config.max_payload;
        for _ in 0..BUDGET {
            let mut progress = this.poll_inputs(cx, now, &mut quiet);
            progress |= this.poll_timer(cx, now);
            progress |= this.dispatch_events();
            progress |= this.write_transmits(cx);
            let (mail, claimed) = (&this.socket.0.mail, &this.socket.0.ws_claimed);
            progress |= this
                .t
                .pull_app(&mut this.session, mail, claimed, max_payload, cx);
            progress |= this.write_transmits(cx);
            let claimed = &this.socket.0.ws_claimed;
            let busy = this.t.poll_sockets(&mut this.session, claimed, cx);
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
