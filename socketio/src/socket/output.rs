//! A connecting socket's held output: nothing reaches the client before
//! its CONNECT answer, and recovered packets come right after it, in
//! order and once.
//!
//! A socket holds its output from before it is visible (connected, in its
//! namespace and rooms) to broadcasts from other threads. Everything sent
//! to it meanwhile waits here. [`Socket::answer_connect`] then queues the
//! answer, the missed packets, and the held ones that are not copies of
//! those, in that order; with `connect_ack_gap`, the rest waits for the
//! gap ([`AckGap`]). A copy is a recorded broadcast below the socket's
//! `replayed` mark: it was recorded before the missed packets were read,
//! so it is among them (or was not meant for the socket's rooms), though
//! its own delivery may still be under way on another thread; it is
//! dropped whenever it arrives.

use std::sync::atomic::Ordering;

use super::{lock, Socket};
use crate::conn::Encoded;
use crate::deadlines::Due;

/// Output held while a socket connects.
#[derive(Default)]
pub(crate) struct Held {
    /// What waits, in order.
    packets: Vec<Encoded>,
    /// The CONNECT answer is queued: a release may send.
    answered: bool,
    /// A release came before the answer: it happens with the answer.
    released: bool,
}

/// A socket whose output is held until its CONNECT answer went out alone
/// (`connect_ack_gap`).
pub(crate) struct AckGap(pub(crate) Socket);

impl Due for AckGap {
    fn run(self) {
        self.0.release_output();
    }
}

impl Socket {
    /// Holds the socket's packets back until its CONNECT answer is queued
    /// ([`Socket::answer_connect`]) and then until [`Socket::release_output`].
    /// Called before the socket is visible to anyone.
    pub(crate) fn hold_output(&self) {
        *lock(&self.0.held_output) = Some(Held::default());
        self.0.holding.store(true, Ordering::Release);
    }

    /// Queues the CONNECT `answer`, then the `missed` packets (recovery),
    /// then what was held meanwhile minus the copies of missed ones
    /// (recorded below `replayed`, see the module doc). All under the held
    /// lock, so that no concurrent send overtakes them. With `keep`, the
    /// packets after the answer wait for [`Socket::release_output`]
    /// (unless one was asked for already).
    pub(crate) fn answer_connect(
        &self,
        answer: Encoded,
        missed: Vec<Encoded>,
        replayed: u64,
        keep: bool,
    ) {
        // Before the lock: a send that finds output no longer held then
        // sees the mark.
        self.0.replayed.store(replayed, Ordering::Release);
        let mut guard = lock(&self.0.held_output);
        let Some(held) = guard.as_mut() else {
            // Not held (never happens: the connection holds first): the
            // order is still answer first.
            drop(guard);
            for p in std::iter::once(answer).chain(missed) {
                let _ = self.0.conn.send(&p);
            }
            return;
        };
        if self.0.conn.send(&answer) == Err(engineio::SendError::Full) {
            self.0.conn.close();
        }
        held.answered = true;
        if !missed.is_empty() || replayed > 0 {
            let live = std::mem::take(&mut held.packets);
            held.packets = missed;
            held.packets
                .extend(live.into_iter().filter(|p| !self.replayed(p)));
        }
        if !keep || held.released {
            self.flush(guard.take());
        }
    }

    /// Sends the held packets, in order, and stops holding. Sent under the
    /// lock so that a concurrent emit cannot overtake them (sends only
    /// queue). Before the CONNECT answer is queued, only notes the request:
    /// the answer goes first, then these.
    pub(crate) fn release_output(&self) {
        let mut guard = lock(&self.0.held_output);
        if let Some(held) = guard.as_mut().filter(|h| !h.answered) {
            held.released = true;
            return;
        }
        self.flush(guard.take());
    }

    /// Sends `held`'s packets; called with the held lock, now `None`.
    fn flush(&self, held: Option<Held>) {
        for p in held.map(|h| h.packets).unwrap_or_default() {
            if self.0.conn.send(&p) == Err(engineio::SendError::Full) {
                self.0.conn.close();
                break;
            }
        }
        self.0.holding.store(false, Ordering::Release);
    }

    /// Queues `packet` if output is held; gives it back otherwise.
    #[inline]
    pub(crate) fn hold_if_held(&self, packet: Encoded) -> Result<(), Encoded> {
        if self.0.holding.load(Ordering::Acquire) {
            if let Some(held) = lock(&self.0.held_output).as_mut() {
                if self.replayed(&packet) {
                    return Ok(());
                }
                held.packets.push(packet);
                return Ok(());
            }
        }
        Err(packet)
    }

    /// Whether `packet` is a live copy of a packet this socket got back as
    /// missed (or one recorded before it recovered and not meant for it).
    #[inline]
    pub(crate) fn replayed(&self, packet: &Encoded) -> bool {
        packet
            .recorded()
            .is_some_and(|seq| seq < self.0.replayed.load(Ordering::Acquire))
    }
}
