//! [`ManualRuntime`]: a [`Runtime`] the test steps by hand. Spawned tasks
//! run only inside [`ManualRuntime::run_until_idle`] (on the test's
//! thread); the clock is virtual and moves only through
//! [`ManualRuntime::advance`], which stops at every timer's deadline on the
//! way, so a task woken by a timer sees `now()` equal to that deadline.
//! No tokio, no threads, no wall clock.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use socketio::{BoxFuture, Runtime};

/// Polls without progress beyond this many in one `run_until_idle` mean a
/// task wakes itself forever: the harness panics instead of hanging.
const MAX_POLLS: usize = 1_000_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A spawned future and whether it sits in the ready queue.
struct Task {
    fut: Mutex<Option<BoxFuture<()>>>,
    queued: AtomicBool,
    ready: Weak<Mutex<VecDeque<Arc<Task>>>>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(ready) = self.ready.upgrade() {
            lock(&ready).push_back(self.clone());
        }
    }
}

/// Where a pending sleep's waker lives; the timer heap holds it weakly, so
/// a dropped sleep (an ack answered in time) leaves no live timer.
type Slot = Mutex<Option<Waker>>;

struct Timer {
    at: Instant,
    seq: u64,
    slot: Weak<Slot>,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Inner {
    epoch: Instant,
    now: Mutex<Instant>,
    ready: Arc<Mutex<VecDeque<Arc<Task>>>>,
    timers: Mutex<BinaryHeap<Reverse<Timer>>>,
    seq: AtomicU64,
    spawned: AtomicU64,
}

/// A single-threaded executor with a virtual clock. Cloning shares it.
#[derive(Clone)]
pub struct ManualRuntime(Arc<Inner>);

impl Default for ManualRuntime {
    fn default() -> Self {
        ManualRuntime::new()
    }
}

impl ManualRuntime {
    /// A runtime whose clock starts at an arbitrary instant (its epoch).
    pub fn new() -> ManualRuntime {
        let epoch = Instant::now();
        ManualRuntime(Arc::new(Inner {
            epoch,
            now: Mutex::new(epoch),
            ready: Arc::new(Mutex::new(VecDeque::new())),
            timers: Mutex::new(BinaryHeap::new()),
            seq: AtomicU64::new(0),
            spawned: AtomicU64::new(0),
        }))
    }

    /// This runtime as the `Arc<dyn Runtime>` the server builder takes.
    pub fn handle(&self) -> Arc<dyn Runtime> {
        Arc::new(self.clone())
    }

    /// Virtual time since the epoch.
    pub fn elapsed(&self) -> Duration {
        *lock(&self.0.now) - self.0.epoch
    }

    /// How many tasks were spawned so far.
    pub fn spawned(&self) -> u64 {
        self.0.spawned.load(Ordering::Relaxed)
    }

    /// Polls ready tasks until none is ready; returns how many polls ran.
    pub fn run_until_idle(&self) -> usize {
        let mut polls = 0;
        loop {
            let task = lock(&self.0.ready).pop_front();
            let Some(task) = task else { return polls };
            polls += 1;
            assert!(polls < MAX_POLLS, "a task keeps waking itself");
            task.queued.store(false, Ordering::Release);
            let waker = Waker::from(task.clone());
            let mut cx = Context::from_waker(&waker);
            let mut slot = lock(&task.fut);
            if let Some(fut) = slot.as_mut() {
                if fut.as_mut().poll(&mut cx).is_ready() {
                    *slot = None;
                }
            }
        }
    }

    /// The earliest deadline of a live (not dropped) sleep, as time from now.
    pub fn next_timer(&self) -> Option<Duration> {
        let now = *lock(&self.0.now);
        let mut timers = lock(&self.0.timers);
        while let Some(Reverse(t)) = timers.peek() {
            if t.slot.strong_count() > 0 {
                return Some(t.at.saturating_duration_since(now));
            }
            timers.pop();
        }
        None
    }

    /// Moves the clock `by` forward, stopping at each timer deadline on
    /// the way: the clock is set to the deadline, its sleeps wake, and the
    /// tasks run until idle before the clock moves on.
    pub fn advance(&self, by: Duration) {
        self.advance_with(by, || {});
    }

    /// [`advance`](Self::advance), calling `settle` after the tasks ran at
    /// each stop (and once at the start and the end).
    pub fn advance_with(&self, by: Duration, mut settle: impl FnMut()) {
        let target = *lock(&self.0.now) + by;
        loop {
            self.run_until_idle();
            settle();
            match self.next_timer() {
                Some(d) if *lock(&self.0.now) + d <= target => {
                    let at = *lock(&self.0.now) + d;
                    self.set_now(at);
                }
                _ => break,
            }
        }
        self.set_now(target);
        self.run_until_idle();
        settle();
    }

    /// Sets the clock (never backwards) and wakes the sleeps due by then.
    fn set_now(&self, at: Instant) {
        let now = {
            let mut now = lock(&self.0.now);
            *now = (*now).max(at);
            *now
        };
        let mut due = Vec::new();
        {
            let mut timers = lock(&self.0.timers);
            while timers.peek().is_some_and(|Reverse(t)| t.at <= now) {
                if let Some(Reverse(t)) = timers.pop() {
                    due.push(t.slot);
                }
            }
        }
        for slot in due {
            let waker = slot.upgrade().and_then(|s| lock(&s).take());
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

impl Runtime for ManualRuntime {
    fn spawn(&self, fut: BoxFuture<()>) {
        self.0.spawned.fetch_add(1, Ordering::Relaxed);
        let task = Arc::new(Task {
            fut: Mutex::new(Some(fut)),
            queued: AtomicBool::new(true),
            ready: Arc::downgrade(&self.0.ready),
        });
        lock(&self.0.ready).push_back(task);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        Box::pin(Sleep {
            at: *lock(&self.0.now) + duration,
            rt: Arc::downgrade(&self.0),
            slot: None,
        })
    }

    fn now(&self) -> Instant {
        *lock(&self.0.now)
    }
}

/// A sleep on the virtual clock: ready once the clock reached `at`.
struct Sleep {
    at: Instant,
    rt: Weak<Inner>,
    slot: Option<Arc<Slot>>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A runtime gone never wakes anyone: the sleep stays pending.
        let Some(rt) = self.rt.upgrade() else {
            return Poll::Pending;
        };
        if *lock(&rt.now) >= self.at {
            return Poll::Ready(());
        }
        if let Some(slot) = &self.slot {
            *lock(slot) = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let slot = Arc::new(Mutex::new(Some(cx.waker().clone())));
        let seq = rt.seq.fetch_add(1, Ordering::Relaxed);
        lock(&rt.timers).push(Reverse(Timer {
            at: self.at,
            seq,
            slot: Arc::downgrade(&slot),
        }));
        self.slot = Some(slot);
        Poll::Pending
    }
}
