//! A socket's serial event queue: events run one after another in arrival
//! order (a slow async handler delays later events rather than being
//! overtaken), held until the CONNECT answer is out, bounded by
//! `max_queued_events`; `on_concurrent` handlers bypass it.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::FutureExt;

use super::handlers::Event;
use super::{lock, AckSender, Socket};
use crate::data::Data;
use crate::packet::Packet;
use crate::runtime::BoxFuture;

/// Jobs waiting to run one after another: events, and the rest of the
/// connection handlers. Created held.
pub(super) struct Queue {
    jobs: VecDeque<BoxFuture<()>>,
    running: bool,
    /// Jobs wait until the CONNECT answer is out (see `release_queue`).
    held: bool,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            jobs: VecDeque::new(),
            running: false,
            held: true,
        }
    }
}

impl Socket {
    /// Drops the queued jobs (the socket closed), outside the lock.
    pub(super) fn drop_queued(&self) {
        let jobs = std::mem::take(&mut lock(&self.0.queue).jobs);
        drop(jobs);
    }

    /// An EVENT or BINARY_EVENT from the client: run now, queued behind
    /// earlier events, or (an `on_concurrent` handler) spawned.
    pub(super) fn handle_event(&self, packet: Packet, headers: Option<Arc<http::HeaderMap>>) {
        let Some((event, data)) = Data::from_event(packet.data, packet.attachments) else {
            return;
        };
        self.run_event(event, data, packet.id, headers);
    }

    /// An EVENT from the client, its name and arguments already apart
    /// (`Connection`'s text events that skip the decoder).
    pub(crate) fn handle_event_data(
        &self,
        event: String,
        data: Data,
        id: Option<u64>,
        headers: Option<Arc<http::HeaderMap>>,
    ) {
        self.0.heard.store(true, Ordering::Relaxed);
        self.run_event(event, data, id, headers);
    }

    fn run_event(
        &self,
        event: String,
        data: Data,
        id: Option<u64>,
        headers: Option<Arc<http::HeaderMap>>,
    ) {
        let data = data.with_request_headers(headers);
        let ack = id.map(|id| AckSender {
            socket: self.clone(),
            id,
        });
        // Resolved once here; a queued event whose handlers changed
        // meanwhile (say, registered by a connection handler after
        // an await) looks them up again when it runs.
        let (run, concurrent, gen) = self.resolve(&event);
        let event = Event {
            name: event,
            data,
            ack,
            run,
            gen,
        };
        if !concurrent {
            self.run_or_enqueue(event);
            return;
        }
        // Bounded like the serial queue: beyond it, overloaded.
        if self.0.concurrent.fetch_add(1, Ordering::AcqRel) >= self.0.max_queued {
            self.0.concurrent.fetch_sub(1, Ordering::AcqRel);
            self.disconnect(true);
            return;
        }
        let socket = self.clone();
        let s = self.clone();
        let job = AssertUnwindSafe(async move { socket.dispatch(event).await })
            .catch_unwind()
            .map(move |_| {
                s.0.concurrent.fetch_sub(1, Ordering::AcqRel);
            });
        self.0.scope.runtime().spawn(Box::pin(job));
    }

    /// Lets queued jobs run (they are held until the CONNECT answer is out).
    pub(crate) fn release_queue(&self) {
        let start = {
            let mut q = lock(&self.0.queue);
            q.held = false;
            !q.jobs.is_empty() && !std::mem::replace(&mut q.running, true)
        };
        if start {
            let socket = self.clone();
            self.0
                .scope
                .runtime()
                .spawn(Box::pin(async move { socket.run_queue().await }));
        }
    }

    /// Runs `job` up to its first await now, as the reference runs its
    /// connection handler in the same tick as the CONNECT answer, and queues
    /// the rest (it runs before any event). Call while the queue is held.
    pub(crate) fn start_job(&self, mut job: BoxFuture<()>) {
        // The queue task polls it again at once, with its own waker.
        if !poll_in_place(&mut job) {
            lock(&self.0.queue).jobs.push_front(job);
        }
    }

    /// Runs `job` after every job queued before it. With nothing queued or
    /// running, it runs now, up to its first await: most handlers finish
    /// there, and then no task is spawned for them. One that awaits goes to
    /// a queue task, which polls it again at once with its own waker.
    ///
    /// The job of an event is its dispatch: when it runs now, that runs
    /// here and only the future its handler returned, if it awaits, is
    /// kept (no job is boxed for it).
    fn run_or_enqueue(&self, event: Event) {
        let overloaded = {
            let mut q = lock(&self.0.queue);
            if q.jobs.len() >= self.0.max_queued {
                true
            } else if !q.held && !q.running {
                // Ours to run: later jobs queue behind it.
                q.running = true;
                false
            } else {
                let socket = self.clone();
                q.jobs
                    .push_back(Box::pin(async move { socket.dispatch(event).await }));
                return;
            }
        };
        if overloaded {
            // The client sends faster than its handlers finish.
            self.disconnect(true);
            return;
        }
        // No lock is held here: middlewares and the handler may use this
        // socket freely. One that panics ends its event, as a queued job's
        // panic does.
        let job = std::panic::catch_unwind(AssertUnwindSafe(|| self.start_dispatch(event)))
            .ok()
            .flatten();
        let job = job.and_then(|mut job| (!poll_in_place(&mut job)).then_some(job));
        if job.is_none() {
            let mut q = lock(&self.0.queue);
            if q.jobs.is_empty() {
                q.running = false;
                return;
            }
            // Jobs queued while it ran: the queue task runs them.
        }
        // A job that awaits belongs to the queue task from now on, like one
        // it had taken from the queue: a close drops queued jobs, not it.
        let socket = self.clone();
        self.0.scope.runtime().spawn(Box::pin(async move {
            if let Some(job) = job {
                let _ = AssertUnwindSafe(job).catch_unwind().await;
            }
            socket.run_queue().await
        }));
    }

    async fn run_queue(self) {
        loop {
            let job = {
                let mut q = lock(&self.0.queue);
                match q.jobs.pop_front() {
                    Some(j) => j,
                    None => {
                        q.running = false;
                        return;
                    }
                }
            };
            // A panicking handler must not stall the socket's later events.
            let _ = AssertUnwindSafe(job).catch_unwind().await;
        }
    }
}

/// Polls `job` once, here, with a waker that does nothing; whoever keeps a
/// job that is not done must poll it again with a real waker. Returns
/// whether it is done (a panic ends it too).
pub(crate) fn poll_in_place(job: &mut BoxFuture<()>) -> bool {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    !matches!(
        std::panic::catch_unwind(AssertUnwindSafe(|| job.as_mut().poll(&mut cx))),
        Ok(std::task::Poll::Pending)
    )
}
