//! [`Deadlines`]: work due a fixed delay after it was queued, done by one
//! background task per queue instead of one task and timer per item.
//!
//! Every item of a queue waits the same delay, so arrival order is deadline
//! order and a FIFO is the whole timer structure. The task runs only while
//! the queue holds entries. What is timed lives with its owner (the
//! connect timeout in `client.rs`, the CONNECT answer's gap in `socket/`);
//! this module knows only the [`Due`] contract and the [`Runtime`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::runtime::Runtime;

/// What is done with an item when it is due.
pub(crate) trait Due: Send + 'static {
    /// Does what was due. Called with no lock held.
    fn run(self);
}

struct Queue<T> {
    entries: VecDeque<(Instant, T)>,
    /// A task is draining `entries`.
    running: bool,
}

/// Items waiting for their deadline, oldest first, each `delay` after it
/// was pushed.
pub(crate) struct Deadlines<T> {
    delay: Duration,
    runtime: Arc<dyn Runtime>,
    queue: Mutex<Queue<T>>,
}

impl<T: Due> Deadlines<T> {
    /// An empty queue whose items wait `delay`, timed on `runtime`.
    pub(crate) fn new(delay: Duration, runtime: Arc<dyn Runtime>) -> Self {
        Deadlines {
            delay,
            runtime,
            queue: Mutex::new(Queue {
                entries: VecDeque::new(),
                running: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item`, due the queue's delay from now. The draining task
    /// holds the queue weakly: dropping the queue ends it.
    pub(crate) fn push(self: &Arc<Self>, item: T) {
        let at = self.runtime.now() + self.delay;
        let mut q = self.lock();
        q.entries.push_back((at, item));
        if q.running {
            return;
        }
        q.running = true;
        drop(q);
        self.runtime.spawn(Box::pin(run(Arc::downgrade(self))));
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

async fn run<T: Due>(queue: Weak<Deadlines<T>>) {
    let mut due = Vec::new();
    // The deadline the last sleep was for: the runtime's sleep is trusted,
    // as a per-item timer would be (one that ends early must not make this
    // loop spin).
    let mut slept_to = None;
    loop {
        let Some(q) = queue.upgrade() else { return };
        let now = q.runtime.now();
        let horizon = slept_to.map_or(now, |at: Instant| at.max(now));
        let next = q.take_due(horizon, &mut due);
        // No lock is held while the items run.
        for item in due.drain(..) {
            item.run();
        }
        let Some(at) = next else { return };
        slept_to = Some(at);
        let sleep = q.runtime.sleep(at.saturating_duration_since(now));
        drop(q);
        sleep.await;
    }
}
