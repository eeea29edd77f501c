//! [`Mailbox`]: the queues from a session's handles to its driver task.
//!
//! Two FIFO queues behind one lock, living inside the session's shared
//! handle: application packets (bounded by the send buffer; full is
//! `SendError::Full`) and control messages (polls, POSTs, probes, close;
//! unbounded, as each comes from a request being served). An idle session
//! allocates nothing here: a queue allocates when two items wait at once
//! and gives its memory back once it drains, where tokio's
//! channels would keep two channel structures and a 32-slot block each
//! (about 3 KiB per session) for the session's whole life.
//!
//! A queue holds its first item inline and allocates only for a second: a
//! broadcast queues one packet on every session before any driver runs,
//! and a heap queue each would be that many allocations at once.
//!
//! One receiver (the driver task) polls both queues with the same waker.
//! The lock is held to push or pop one item, never across a wake or an await.
//! Generic over what it carries: it must not depend on any other module of
//! the crate. Public and runtime-free, so that every runtime driver's
//! socket handles reach their session task the same way.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Slots a queue allocates when a second item arrives (a burst of ten
/// broadcasts fits), and the most a drained queue keeps until the receiver
/// waits; a larger one is released as soon as it drains.
const KEEP: usize = 16;

thread_local! {
    /// The address of the mailbox whose receiver is running application
    /// code on this thread right now (see [`Mailbox::receiving`]); 0 if none.
    static RECEIVING: Cell<usize> = const { Cell::new(0) };
}

/// While alive, application items pushed on this thread to the mailbox
/// that made it wake nobody. Restores the previous mark when dropped.
pub struct Receiving {
    previous: usize,
}

impl Drop for Receiving {
    fn drop(&mut self) {
        RECEIVING.with(|r| r.set(self.previous));
    }
}

/// Why a push was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError<T> {
    /// The bounded queue is at capacity.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

/// A FIFO queue that holds one item without allocating.
enum Fifo<T> {
    Empty,
    One(T),
    /// Two or more items were queued at once; kept (up to [`KEEP`] slots)
    /// until the receiver waits.
    Many(VecDeque<T>),
}

impl<T> Fifo<T> {
    fn len(&self) -> usize {
        match self {
            Fifo::Empty => 0,
            Fifo::One(_) => 1,
            Fifo::Many(q) => q.len(),
        }
    }

    fn push(&mut self, item: T) {
        match self {
            Fifo::Empty => *self = Fifo::One(item),
            Fifo::Many(q) => q.push_back(item),
            Fifo::One(_) => {
                // Room for a burst instead of growing 2, 4, 8.
                let mut q = VecDeque::with_capacity(KEEP);
                if let Fifo::One(first) = std::mem::replace(self, Fifo::Empty) {
                    q.push_back(first);
                }
                q.push_back(item);
                *self = Fifo::Many(q);
            }
        }
    }

    fn pop(&mut self) -> Option<T> {
        match self {
            Fifo::Empty => None,
            Fifo::One(_) => match std::mem::replace(self, Fifo::Empty) {
                Fifo::One(item) => Some(item),
                _ => None,
            },
            Fifo::Many(q) => {
                let item = q.pop_front();
                if q.is_empty() && q.capacity() > KEEP {
                    *self = Fifo::Empty;
                }
                item
            }
        }
    }

    /// Frees the allocation of an empty queue: the receiver is about to
    /// wait, and an idle session should hold no queue memory.
    fn release(&mut self) {
        if matches!(self, Fifo::Many(q) if q.is_empty()) {
            *self = Fifo::Empty;
        }
    }

    #[cfg(test)]
    fn heap_capacity(&self) -> usize {
        match self {
            Fifo::Many(q) => q.capacity(),
            _ => 0,
        }
    }
}

struct State<A, C> {
    app: Fifo<A>,
    ctl: Fifo<C>,
    closed: bool,
    waker: Option<Waker>,
}

/// Application queue `A` (bounded) and control queue `C` (unbounded).
pub struct Mailbox<A, C> {
    app_capacity: usize,
    state: Mutex<State<A, C>>,
}

impl<A, C> Mailbox<A, C> {
    /// Empty queues; at most `app_capacity` (at least 1) application items.
    pub fn new(app_capacity: usize) -> Self {
        Mailbox {
            state: Mutex::new(State {
                app: Fifo::Empty,
                ctl: Fifo::Empty,
                closed: false,
                waker: None,
            }),
            app_capacity: app_capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<A, C>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks this thread as running application code for this mailbox's
    /// receiver (its event handlers), until the guard is dropped. The
    /// receiver promises to take application items after that code returns,
    /// without being woken: an item those handlers push (an echo's answer)
    /// then wakes nobody, where a wake would only poll the receiver once
    /// more, for nothing. Pushes from other threads, other mailboxes' code
    /// and control messages wake as always.
    pub fn receiving(&self) -> Receiving {
        let previous = RECEIVING.with(|r| r.replace(self.addr()));
        Receiving { previous }
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    /// Queues an application item.
    pub fn push_app(&self, item: A) -> Result<(), PushError<A>> {
        let mut s = self.lock();
        if s.closed {
            return Err(PushError::Closed(item));
        }
        if s.app.len() >= self.app_capacity {
            return Err(PushError::Full(item));
        }
        s.app.push(item);
        if RECEIVING.with(Cell::get) == self.addr() {
            // The receiver takes it once its handlers return.
            return Ok(());
        }
        let w = s.waker.take();
        drop(s);
        if let Some(w) = w {
            w.wake();
        }
        Ok(())
    }

    /// Queues a control message; gives it back if the receiver is gone.
    pub fn push_ctl(&self, item: C) -> Result<(), C> {
        let mut s = self.lock();
        if s.closed {
            return Err(item);
        }
        s.ctl.push(item);
        let w = s.waker.take();
        drop(s);
        if let Some(w) = w {
            w.wake();
        }
        Ok(())
    }

    /// The next control message; `Ready(None)` once closed and drained.
    pub fn poll_ctl(&self, cx: &mut Context<'_>) -> Poll<Option<C>> {
        let mut s = self.lock();
        if let Some(c) = s.ctl.pop() {
            return Poll::Ready(Some(c));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        s.ctl.release();
        register(&mut s.waker, cx);
        Poll::Pending
    }

    /// The next application item; `Ready(None)` once closed and drained.
    pub fn poll_app(&self, cx: &mut Context<'_>) -> Poll<Option<A>> {
        let mut s = self.lock();
        if let Some(a) = pop_app(&mut s) {
            return Poll::Ready(Some(a));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        s.app.release();
        register(&mut s.waker, cx);
        Poll::Pending
    }

    /// The next application item, if one is queued.
    pub fn try_app(&self) -> Option<A> {
        pop_app(&mut self.lock())
    }

    /// Refuses further pushes; queued items can still be taken.
    pub fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        let w = s.waker.take();
        drop(s);
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Whether [`Mailbox::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

fn pop_app<A, C>(s: &mut State<A, C>) -> Option<A> {
    s.app.pop()
}

fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn bounded_app_queue_fifo_and_wakeups() {
        let m: Mailbox<u32, &str> = Mailbox::new(2);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert_eq!(m.poll_app(&mut cx), Poll::Pending);
        m.push_app(1).unwrap();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        m.push_app(2).unwrap();
        assert_eq!(m.push_app(3), Err(PushError::Full(3)));
        assert_eq!(m.poll_app(&mut cx), Poll::Ready(Some(1)));
        assert_eq!(m.try_app(), Some(2));
        assert_eq!(m.try_app(), None);
        assert_eq!(m.poll_ctl(&mut cx), Poll::Pending);
        m.push_ctl("poll").unwrap();
        assert_eq!(m.poll_ctl(&mut cx), Poll::Ready(Some("poll")));
    }

    #[test]
    fn the_receivers_own_handlers_push_without_waking_it() {
        let m: Mailbox<u32, &str> = Mailbox::new(8);
        let other: Mailbox<u32, &str> = Mailbox::new(8);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert_eq!(m.poll_app(&mut cx), Poll::Pending);
        assert_eq!(m.poll_ctl(&mut cx), Poll::Pending);
        {
            let _receiving = m.receiving();
            m.push_app(1).unwrap();
            assert_eq!(count.0.load(Ordering::SeqCst), 0);
            // Marks nest: another mailbox's receiver, then back.
            {
                let _inner = other.receiving();
                m.push_app(2).unwrap();
                assert_eq!(count.0.load(Ordering::SeqCst), 1);
            }
            assert_eq!(m.poll_app(&mut cx), Poll::Ready(Some(1)));
            assert_eq!(m.poll_app(&mut cx), Poll::Ready(Some(2)));
            assert_eq!(m.poll_app(&mut cx), Poll::Pending);
            m.push_app(3).unwrap();
            // A control message always wakes.
            m.push_ctl("close").unwrap();
            assert_eq!(count.0.load(Ordering::SeqCst), 2);
        }
        // The mark is gone with the guard; another thread never had it.
        assert_eq!(m.poll_app(&mut cx), Poll::Ready(Some(3)));
        assert_eq!(m.poll_app(&mut cx), Poll::Pending);
        std::thread::scope(|t| {
            let _receiving = m.receiving();
            t.spawn(|| m.push_app(4).unwrap()).join().unwrap();
        });
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        m.push_app(5).unwrap();
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            3,
            "no waker registered since"
        );
    }

    #[test]
    fn close_refuses_pushes_and_drains() {
        let m: Mailbox<u32, &str> = Mailbox::new(4);
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        m.push_app(7).unwrap();
        m.close();
        assert!(m.is_closed());
        assert_eq!(m.push_app(8), Err(PushError::Closed(8)));
        assert_eq!(m.push_ctl("x"), Err("x"));
        assert_eq!(m.poll_app(&mut cx), Poll::Ready(Some(7)));
        assert_eq!(m.poll_app(&mut cx), Poll::Ready(None));
        assert_eq!(m.poll_ctl(&mut cx), Poll::Ready(None));
    }

    #[test]
    fn drained_queues_release_their_memory() {
        let m: Mailbox<u64, u64> = Mailbox::new(1000);
        for i in 0..100 {
            m.push_app(i).unwrap();
        }
        while m.try_app().is_some() {}
        assert_eq!(m.lock().app.heap_capacity(), 0);
        // One item is held inline; a second allocates room for a burst,
        // which stays until the receiver waits.
        m.push_app(1).unwrap();
        assert_eq!(m.lock().app.heap_capacity(), 0);
        m.push_app(2).unwrap();
        assert_eq!(m.lock().app.heap_capacity(), KEEP);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert_eq!(m.poll_app(&mut cx), Poll::Ready(Some(1)));
        assert_eq!(m.poll_app(&mut cx), Poll::Ready(Some(2)));
        assert_eq!(m.lock().app.heap_capacity(), KEEP);
        assert_eq!(m.poll_app(&mut cx), Poll::Pending);
        assert_eq!(m.lock().app.heap_capacity(), 0);
        // FIFO order holds across the inline slot and the heap queue.
        for i in 10..13 {
            m.push_ctl(i).unwrap();
        }
        let got: Vec<u64> = (0..3).filter_map(|_| m.lock().ctl.pop()).collect();
        assert_eq!(got, [10, 11, 12]);
    }
}
