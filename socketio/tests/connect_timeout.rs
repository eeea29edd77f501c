//! The connect timeout on virtual time: a connection that opens its
//! Engine.IO session and joins no namespace is closed exactly
//! `connect_timeout` after it opened, each connection on its own deadline;
//! one that joined is spared.
mod support;

use std::time::Duration;

use socketio::SocketIoConfig;
use support::Pair;

const TIMEOUT: Duration = Duration::from_secs(45);
const TICK: Duration = Duration::from_nanos(1);

fn pair() -> Pair {
    Pair::new(SocketIoConfig::default().connect_timeout(TIMEOUT))
}

#[test]
fn a_silent_connection_is_closed_exactly_at_the_connect_timeout() {
    let pair = pair();
    let c = pair.open();
    pair.advance(TIMEOUT - TICK);
    assert!(!c.is_closed(), "closed before the timeout");
    pair.advance(TICK);
    assert!(c.is_closed(), "still open at the timeout");
    assert!(c.drain().is_empty(), "closed without a packet");
}

#[test]
fn each_connection_has_its_own_deadline() {
    let pair = pair();
    let first = pair.open();
    pair.advance(Duration::from_secs(10));
    let second = pair.open();
    pair.advance(TIMEOUT - Duration::from_secs(10));
    assert!(first.is_closed());
    assert!(!second.is_closed(), "closed on the first one's deadline");
    pair.advance(Duration::from_secs(10) - TICK);
    assert!(!second.is_closed());
    pair.advance(TICK);
    assert!(second.is_closed());
}

#[test]
fn a_joined_connection_is_spared_and_later_ones_still_time_out() {
    let pair = pair();
    let (joined, _) = pair.connect();
    pair.advance(TIMEOUT * 2);
    assert!(!joined.is_closed());
    // The timer queue emptied and started again for a new connection.
    let late = pair.open();
    pair.advance(TIMEOUT - TICK);
    assert!(!late.is_closed());
    pair.advance(TICK);
    assert!(late.is_closed());
    assert!(!joined.is_closed());
}

#[test]
fn a_refused_connect_does_not_keep_the_connection_alive() {
    let pair = pair();
    let c = pair.open();
    c.send("0/nope,");
    assert_eq!(c.recv(), r#"4/nope,{"message":"Invalid namespace"}"#);
    pair.advance(TIMEOUT - TICK);
    assert!(!c.is_closed());
    pair.advance(TICK);
    assert!(c.is_closed());
}

#[test]
fn a_connection_that_left_its_namespace_before_the_deadline_is_closed_at_it() {
    // As the reference checks at its timer: no namespace joined *then*.
    let pair = pair();
    let (c, _) = pair.connect();
    pair.advance(Duration::from_secs(1));
    c.send("1");
    assert!(pair.io.of("/").sockets().is_empty());
    pair.advance(TIMEOUT - Duration::from_secs(1) - TICK);
    assert!(!c.is_closed());
    pair.advance(TICK);
    assert!(c.is_closed());
}
