//! A connecting socket's held output: nothing reaches the client before
//! its CONNECT answer but the packets it missed (recovery), which come
//! right before it, as the reference's recovered `Socket` sends them from
//! its constructor, in order and once.
//!
//! A socket holds its output from before it is visible (connected, in its
//! namespace and rooms) to broadcasts from other threads. Everything sent
//! to it meanwhile waits here. [`Socket::answer_connect`] then queues the
//! missed packets, the answer, and the held ones that are not copies of
//! the missed ones, in that order; with `connect_ack_gap`, the held ones
//! wait for the gap ([`AckGap`]). Nothing is sent with the held lock
//! taken: while one thread sends them, output stays held and later
//! packets queue behind.
//! A copy is a recorded broadcast below the socket's
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
    /// One thread is sending the answer or the held packets, with the lock
    /// released: everyone else (that thread too, from inside a send) adds
    /// to `packets`, which it sends after its own, in order.
    sending: bool,
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

    /// Queues the `missed` packets (recovery), then the CONNECT `answer`,
    /// then what was held meanwhile minus the copies of missed ones
    /// (recorded below `replayed`, see the module doc). With `keep`, the
    /// packets after the answer wait for [`Socket::release_output`]
    /// (unless one was asked for already).
    ///
    /// Sent with the held lock released (a `Conn` may close, or call back
    /// into the socket, from `send`): output stays held meanwhile, so no
    /// concurrent send overtakes them.
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
        {
            let mut guard = lock(&self.0.held_output);
            let Some(held) = guard.as_mut() else {
                // Not held (never happens: the connection holds first): the
                // order is still the missed packets, then the answer.
                drop(guard);
                for p in missed.into_iter().chain(std::iter::once(answer)) {
                    let _ = self.0.conn.send(&p);
                }
                return;
            };
            held.sending = true;
            if replayed > 0 {
                held.packets.retain(|p| !self.replayed(p));
            }
        }
        for p in missed.iter().chain(std::iter::once(&answer)) {
            if self.0.conn.send(p) == Err(engineio::SendError::Full) {
                // Whatever waits is dropped with the connection.
                *lock(&self.0.held_output) = None;
                self.0.holding.store(false, Ordering::Release);
                self.0.conn.close();
                return;
            }
        }
        let mut guard = lock(&self.0.held_output);
        let Some(held) = guard.as_mut() else { return };
        held.answered = true;
        if keep && !held.released {
            held.sending = false;
            return;
        }
        drop(guard);
        self.flush();
    }

    /// Sends the held packets, in order, and stops holding. Before the
    /// CONNECT answer is queued, or while another call sends, only notes
    /// the request: the answer goes first, then these.
    pub(crate) fn release_output(&self) {
        {
            let mut guard = lock(&self.0.held_output);
            match guard.as_mut() {
                None => return,
                Some(held) if !held.answered || held.sending => {
                    held.released = true;
                    return;
                }
                Some(held) => held.sending = true,
            }
        }
        self.flush();
    }

    /// Sends the held packets, batch by batch with the lock released, until
    /// none is left; then stops holding. The caller set `sending`.
    fn flush(&self) {
        loop {
            let batch = {
                let mut guard = lock(&self.0.held_output);
                let held = guard.as_mut().map(|h| std::mem::take(&mut h.packets));
                match held {
                    Some(batch) if !batch.is_empty() => batch,
                    _ => {
                        *guard = None;
                        self.0.holding.store(false, Ordering::Release);
                        return;
                    }
                }
            };
            for p in &batch {
                if self.0.conn.send(p) == Err(engineio::SendError::Full) {
                    // Whatever waits is dropped with the connection.
                    *lock(&self.0.held_output) = None;
                    self.0.holding.store(false, Ordering::Release);
                    self.0.conn.close();
                    return;
                }
            }
        }
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
