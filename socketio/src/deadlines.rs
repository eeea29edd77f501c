//! [`Deadlines`]: work due a fixed delay after it was queued, done by one
//! background task per queue instead of one task and timer per item.
//!
//! Every item of a queue waits the same delay, so arrival order is deadline
//! order and a FIFO is the whole timer structure. The task runs only while
//! the queue holds entries. A server keeps two: connections that must join
//! a namespace within `connect_timeout`, and sockets whose output is held
//! for `connect_ack_gap` after their CONNECT answer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::server::ServerInner;
use crate::socket::Socket;

struct Queue<T> {
    entries: VecDeque<(Instant, T)>,
    /// A task is draining `entries`.
    running: bool,
}

/// Items waiting for their deadline, oldest first.
pub(crate) struct Deadlines<T>(Mutex<Queue<T>>);

impl<T> Default for Deadlines<T> {
    fn default() -> Self {
        Deadlines(Mutex::new(Queue {
            entries: VecDeque::new(),
            running: false,
        }))
    }
}

/// Which of a server's queues, its delay, and what is done with an item
/// when due.
pub(crate) trait Due: Sized + Send + 'static {
    /// The server's queue of this kind.
    fn queue(server: &ServerInner) -> &Deadlines<Self>;
    /// How long every item of the queue waits (one delay per queue is what
    /// keeps arrival order the deadline order).
    fn delay(server: &ServerInner) -> Duration;
    /// Does what was due.
    fn run(self);
}

/// A connection that must have joined a namespace by its deadline.
pub(crate) struct ConnectTimeout(pub(crate) Weak<Client>);

impl Due for ConnectTimeout {
    fn queue(server: &ServerInner) -> &Deadlines<Self> {
        &server.connect_timeouts
    }

    fn delay(server: &ServerInner) -> Duration {
        server.config.connect_timeout
    }

    fn run(self) {
        if let Some(c) = self.0.upgrade() {
            c.close_if_unused();
        }
    }
}

/// A socket whose output is held until its CONNECT answer went out alone.
pub(crate) struct AckGap(pub(crate) Socket);

impl Due for AckGap {
    fn queue(server: &ServerInner) -> &Deadlines<Self> {
        &server.ack_gaps
    }

    fn delay(server: &ServerInner) -> Duration {
        server.config.connect_ack_gap
    }

    fn run(self) {
        self.0.release_output();
    }
}

impl<T: Due> Deadlines<T> {
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item`, due its queue's delay from now.
    pub(crate) fn push(server: &Arc<ServerInner>, item: T) {
        let rt = &server.runtime;
        let at = rt.now() + T::delay(server);
        let mut q = T::queue(server).lock();
        q.entries.push_back((at, item));
        if q.running {
            return;
        }
        q.running = true;
        drop(q);
        let weak = Arc::downgrade(server);
        rt.spawn(Box::pin(run::<T>(weak)));
    }

    /// Takes the entries due at `now`; the next deadline, or `None` (and
    /// the task stops) when the queue is empty.
    fn take_due(&self, now: Instant, due: &mut Vec<T>) -> Option<Instant> {
        let mut q = self.lock();
        while q.entries.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, item)) = q.entries.pop_front() {
                due.push(item);
            }
        }
        let next = q.entries.front().map(|(at, _)| *at);
        if next.is_none() {
            q.running = false;
            q.entries = VecDeque::new();
        }
        next
    }
}

async fn run<T: Due>(server: Weak<ServerInner>) {
    let mut due = Vec::new();
    // The deadline the last sleep was for: the runtime's sleep is trusted,
    // as a per-item timer would be (one that ends early must not make this
    // loop spin).
    let mut slept_to = None;
    loop {
        let Some(s) = server.upgrade() else { return };
        let now = s.runtime.now();
        let horizon = slept_to.map_or(now, |at: Instant| at.max(now));
        let next = T::queue(&s).take_due(horizon, &mut due);
        // No lock is held while the items run.
        for item in due.drain(..) {
            item.run();
        }
        let Some(at) = next else { return };
        slept_to = Some(at);
        let sleep = s.runtime.sleep(at.saturating_duration_since(now));
        drop(s);
        sleep.await;
    }
}
