//! [`Outgoing`]: one item of a session's send buffer, as every runtime
//! driver queues it between a socket handle and the task that owns the
//! [`Session`]. Pure data; it must not depend on sockets or transports.

use crate::packet::Packet;
use crate::session::Session;

/// One item of the send buffer: a packet, or packets that must go out
/// back to back (a Socket.IO binary packet and its attachments), and
/// whether they may be compressed.
pub enum Outgoing {
    /// One packet, and whether it may be compressed.
    One(Packet, bool),
    /// Packets that go out back to back, and whether they may be compressed.
    Group(Vec<Packet>, bool),
}

impl Outgoing {
    /// Its packets' length as text (what a polling payload grows by).
    pub fn text_len(&self) -> usize {
        match self {
            Outgoing::One(p, _) => p.text_len(),
            Outgoing::Group(g, _) => g.iter().map(Packet::text_len).sum(),
        }
    }

    /// Whether it may be compressed.
    pub fn compress(&self) -> bool {
        match self {
            Outgoing::One(_, c) | Outgoing::Group(_, c) => *c,
        }
    }

    /// Hands the item to `session`, past its queue bound: the driver took it
    /// from the bounded send buffer because the session [wants
    /// data](Session::wants_data), and a group may exceed the buffer by its
    /// own size (which the Socket.IO attachment cap bounds). Returns
    /// whether it may be compressed.
    pub fn queue_into(self, session: &mut Session) -> bool {
        let compress = self.compress();
        match self {
            Outgoing::One(p, _) => {
                let _ = session.send_unbounded(p);
            }
            Outgoing::Group(g, _) => {
                for p in g {
                    let _ = session.send_unbounded(p);
                }
            }
        }
        compress
    }
}
