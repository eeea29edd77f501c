//! `connect_ack_gap` on virtual time: after the CONNECT answer the
//! socket's next packets wait exactly the gap, in order, then flow directly.
mod support;

use std::time::Duration;

use serde_json::json;
use socketio::SocketIoConfig;
use support::Pair;

const GAP: Duration = Duration::from_millis(50);
const TICK: Duration = Duration::from_nanos(1);

#[test]
fn output_after_the_connect_answer_waits_exactly_the_gap() {
    let pair = Pair::new(SocketIoConfig::default().connect_ack_gap(GAP));
    pair.io.of("/").on_connection(|s| async move {
        s.join("r");
        let _ = s.emit("hi", json!(1));
    });
    let c = pair.open();
    c.send("0");
    assert!(c.recv().starts_with("0{\"sid\":"));
    pair.io.to("r").emit("room", json!(2)).unwrap();
    pair.advance(GAP - TICK);
    assert!(c.drain().is_empty(), "released before the gap ended");
    pair.advance(TICK);
    assert_eq!(c.drain(), [r#"2["hi",1]"#, r#"2["room",2]"#]);
    // Past the gap, output is direct.
    pair.io.emit("later", json!(3)).unwrap();
    assert_eq!(c.drain(), [r#"2["later",3]"#]);
}

#[test]
fn without_handlers_or_missed_packets_nothing_is_held() {
    let pair = Pair::new(SocketIoConfig::default().connect_ack_gap(GAP));
    let (c, _) = pair.connect();
    pair.io.emit("now", json!(1)).unwrap();
    assert_eq!(c.drain(), [r#"2["now",1]"#]);
}
