//! A FIFO queue that holds its first element inline.
//!
//! A session's queues are empty while it is idle and hold one element at a
//! time while it is busy with one message after another (an echo). A
//! `VecDeque` released when idle, to keep idle sessions small, allocates
//! and frees for every such message; this one only allocates when a second
//! element is queued behind the first. Generic and pure: it must not know
//! what the session queues.

use std::collections::VecDeque;

/// A FIFO queue whose front element lives inline.
///
/// Invariant: `head` is `None` only if `rest` is empty, so `head` is always
/// the front and `rest` holds what came after it.
#[derive(Debug)]
pub(crate) struct Queue<T> {
    head: Option<T>,
    rest: VecDeque<T>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            head: None,
            rest: VecDeque::new(),
        }
    }
}

impl<T> Queue<T> {
    /// Appends `v` at the back.
    #[inline]
    pub(crate) fn push_back(&mut self, v: T) {
        if self.head.is_none() {
            self.head = Some(v);
        } else {
            self.rest.push_back(v);
        }
    }

    /// Takes the front element.
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        // Polled far more often than anything is queued: the empty case
        // is a single test.
        self.head.as_ref()?;
        let next = self.rest.pop_front();
        std::mem::replace(&mut self.head, next)
    }

    /// The front element.
    #[inline]
    pub(crate) fn front(&self) -> Option<&T> {
        self.head.as_ref()
    }

    /// How many elements are queued.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.len()
    }

    /// Whether nothing is queued.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Drops every element.
    pub(crate) fn clear(&mut self) {
        self.head = None;
        self.rest.clear();
    }

    /// The elements, front first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> + Clone {
        self.head.iter().chain(self.rest.iter())
    }

    /// Takes every element, front first.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> {
        let head = self.head.take();
        head.into_iter().chain(std::mem::take(&mut self.rest))
    }

    /// Frees the overflow's allocation when nothing is queued behind the
    /// front (the inline slot costs nothing to keep).
    pub(crate) fn release(&mut self) {
        if self.rest.is_empty() && self.rest.capacity() > 0 {
            self.rest = VecDeque::new();
        }
    }
}

impl<T> Extend<T> for Queue<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.push_back(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Queue;

    #[test]
    fn keeps_fifo_order_across_the_inline_slot() {
        let mut q = Queue::default();
        assert!(q.is_empty());
        q.push_back(1);
        q.push_back(2);
        assert_eq!(q.pop_front(), Some(1));
        q.push_back(3);
        q.push_back(4);
        assert_eq!(q.len(), 3);
        assert_eq!(q.front(), Some(&2));
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(q.pop_front(), Some(2));
        assert_eq!(q.pop_front(), Some(3));
        q.push_back(5);
        assert_eq!(q.drain().collect::<Vec<_>>(), [4, 5]);
        assert!(q.is_empty());
        assert_eq!(q.pop_front(), None);
        q.extend([6, 7]);
        q.clear();
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn one_element_at_a_time_never_allocates() {
        let mut q = Queue::default();
        for i in 0..100 {
            q.push_back(i);
            assert_eq!(q.pop_front(), Some(i));
        }
        assert_eq!(q.rest.capacity(), 0);
        q.push_back(1);
        q.push_back(2);
        assert!(q.rest.capacity() > 0);
        q.pop_front();
        q.pop_front();
        q.release();
        assert_eq!(q.rest.capacity(), 0);
    }
}
