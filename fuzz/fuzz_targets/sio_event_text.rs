//! A text EVENT fed to a connection, against the general decoder: the
//! connection keeps a plain event's arguments as their JSON text
//! (`Connection::handle_message`), and what its handler then reads, and
//! what an ack of those arguments writes, must be what the general path
//! (`Packet::decode`) makes of the same text; a text the general path
//! refuses must close the connection without running a handler.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../socketio/tests/support/event_text.rs"]
mod support;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        support::check(s);
    }
});
