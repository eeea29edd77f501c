//! [`ConnectTimeouts`]: closes connections that joined no namespace within
//! `connect_timeout`, with one background task per server instead of one
//! task and timer per connection.
//!
//! Every connection gets the same timeout, so arrival order is deadline
//! order and a FIFO is the whole timer structure: 24 bytes per waiting
//! connection. The task runs only while the queue holds entries.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use crate::client::Client;
use crate::server::ServerInner;

#[derive(Default)]
struct Queue {
    entries: VecDeque<(Instant, Weak<Client>)>,
    /// A task is draining `entries`.
    running: bool,
}

/// The connections waiting for their first namespace, oldest first.
#[derive(Default)]
pub(crate) struct ConnectTimeouts(Mutex<Queue>);

impl ConnectTimeouts {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes `client` at `now + connect_timeout` unless a namespace
    /// socket exists by then.
    pub(crate) fn push(server: &Arc<ServerInner>, client: &Arc<Client>) {
        let rt = &server.runtime;
        let at = rt.now() + server.config.connect_timeout;
        let mut q = server.connect_timeouts.lock();
        q.entries.push_back((at, Arc::downgrade(client)));
        if q.running {
            return;
        }
        q.running = true;
        drop(q);
        let weak = Arc::downgrade(server);
        rt.spawn(Box::pin(run(weak)));
    }

    /// Takes the entries due at `now`; the next deadline, or `None` (and
    /// the task stops) when the queue is empty.
    fn take_due(&self, now: Instant, due: &mut Vec<Weak<Client>>) -> Option<Instant> {
        let mut q = self.lock();
        while q.entries.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, c)) = q.entries.pop_front() {
                due.push(c);
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

async fn run(server: Weak<ServerInner>) {
    let mut due = Vec::new();
    // The deadline the last sleep was for: the runtime's sleep is trusted,
    // as a per-connection timer would be (one that ends early must not
    // make this loop spin).
    let mut slept_to = None;
    loop {
        let Some(s) = server.upgrade() else { return };
        let now = s.runtime.now();
        let horizon = slept_to.map_or(now, |at: Instant| at.max(now));
        let next = s.connect_timeouts.take_due(horizon, &mut due);
        for c in due.drain(..) {
            if let Some(c) = c.upgrade() {
                c.close_if_unused();
            }
        }
        let Some(at) = next else { return };
        slept_to = Some(at);
        let sleep = s.runtime.sleep(at.saturating_duration_since(now));
        drop(s);
        sleep.await;
    }
}
