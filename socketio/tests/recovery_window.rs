//! The recovery window on virtual time: a socket that lost its transport
//! is recovered (same id, rooms, the packets it missed in order) until
//! `max_disconnection_duration` after it disconnected, and not from then on.
mod support;

use std::time::Duration;

use serde_json::{json, Value};
use socketio::{RecoveryConfig, SocketIoConfig};
use support::{Client, Pair};

const MAX: Duration = Duration::from_secs(10);
const TICK: Duration = Duration::from_nanos(1);

fn pair() -> Pair {
    let pair = Pair::new(SocketIoConfig::default().recovery(Some(RecoveryConfig {
        max_disconnection_duration: MAX,
        skip_middlewares: true,
    })));
    pair.io.of("/").on_connection(|s| async move {
        if !s.recovered() {
            s.join("team");
        }
    });
    pair
}

fn json_after(frame: &str, prefix: &str) -> Value {
    let body = frame
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{frame}"));
    serde_json::from_str(body).unwrap()
}

/// What a client keeps to recover: its socket id, private id and the
/// offset of the last broadcast it got.
struct Session {
    sid: String,
    pid: String,
    offset: String,
}

/// Connects, receives one broadcast to its room, and loses its transport
/// at the current virtual instant.
fn connect_and_drop(pair: &Pair) -> Session {
    let c = pair.open();
    c.send("0");
    let hello = json_after(&c.recv(), "0");
    pair.io.to("team").emit("tick", json!(1)).unwrap();
    let tick = json_after(&c.recv(), "2");
    c.drop_transport();
    assert!(pair.io.of("/").sockets().is_empty());
    Session {
        sid: hello["sid"].as_str().unwrap().to_owned(),
        pid: hello["pid"].as_str().unwrap().to_owned(),
        offset: tick[2].as_str().expect("an offset").to_owned(),
    }
}

/// Broadcasts while the client is away: two to its room, one to all, one
/// it is not in.
fn emit_while_away(pair: &Pair) {
    pair.advance(Duration::from_secs(1));
    pair.io.to("team").emit("m", json!(1)).unwrap();
    pair.advance(Duration::from_secs(1));
    pair.io.to("team").emit("m", json!(2)).unwrap();
    pair.io.to("others").emit("not-for-us", json!(0)).unwrap();
    pair.io.emit("m", json!(3)).unwrap();
}

/// Reconnects with `s`: the client, the CONNECT answer, and the packets
/// that came before it (the missed ones, as the reference sends them).
fn reconnect(pair: &Pair, s: &Session) -> (Client, Value, Vec<String>) {
    let c = pair.open();
    c.send(&format!(
        r#"0{{"pid":"{}","offset":"{}"}}"#,
        s.pid, s.offset
    ));
    let mut before = Vec::new();
    loop {
        let frame = c.recv();
        if frame.starts_with('0') {
            return (c, json_after(&frame, "0"), before);
        }
        before.push(frame);
    }
}

#[test]
fn recovered_just_before_the_window_ends_with_missed_packets_in_order() {
    let pair = pair();
    let s = connect_and_drop(&pair);
    emit_while_away(&pair);
    pair.advance(MAX - Duration::from_secs(2) - TICK);
    let (c, hello, before) = reconnect(&pair, &s);
    assert_eq!(hello["sid"], s.sid.as_str(), "same socket id");
    assert_eq!(hello["pid"], s.pid.as_str(), "same private id");
    assert!(
        c.drain().is_empty(),
        "all missed packets came before the answer"
    );
    let missed: Vec<Value> = before
        .iter()
        .map(|f| {
            let mut v = json_after(f, "2");
            v.as_array_mut().unwrap().pop(); // the offset
            v
        })
        .collect();
    assert_eq!(missed, [json!(["m", 1]), json!(["m", 2]), json!(["m", 3])]);
    let socket = pair.io.of("/").sockets().pop().unwrap();
    assert!(socket.recovered());
    assert!(
        socket.rooms().contains(&"team".to_string()),
        "rooms restored"
    );
}

#[test]
fn not_recovered_once_the_window_ended() {
    let pair = pair();
    let s = connect_and_drop(&pair);
    emit_while_away(&pair);
    pair.advance(MAX - Duration::from_secs(2));
    let (c, hello, before) = reconnect(&pair, &s);
    assert_ne!(hello["sid"], s.sid.as_str(), "a fresh socket");
    assert_ne!(hello["pid"], s.pid.as_str());
    assert!(
        before.is_empty() && c.drain().is_empty(),
        "nothing missed is replayed"
    );
    let socket = pair.io.of("/").sockets().pop().unwrap();
    assert!(!socket.recovered());
}

#[test]
fn the_window_counts_from_the_disconnect_not_the_connect() {
    let pair = pair();
    // Connected long before: only the time since the disconnect counts.
    let c = pair.open();
    c.send("0");
    let hello = json_after(&c.recv(), "0");
    pair.advance(MAX * 3);
    pair.io.to("team").emit("tick", json!(1)).unwrap();
    let offset = json_after(&c.recv(), "2")[2].as_str().unwrap().to_owned();
    c.drop_transport();
    pair.advance(MAX - TICK);
    let s = Session {
        sid: hello["sid"].as_str().unwrap().to_owned(),
        pid: hello["pid"].as_str().unwrap().to_owned(),
        offset,
    };
    let (_, hello, _) = reconnect(&pair, &s);
    assert_eq!(hello["sid"], s.sid.as_str());
}

#[test]
fn a_packet_older_than_the_window_is_forgotten_and_its_offset_with_it() {
    // The offset a client resumes from must still be kept: a broadcast
    // recorded more than the window after it evicts it.
    for (age, recovered) in [(MAX, true), (MAX + TICK, false)] {
        let pair = pair();
        let c = pair.open();
        c.send("0");
        let hello = json_after(&c.recv(), "0");
        pair.io.to("team").emit("old", json!(1)).unwrap();
        let offset = json_after(&c.recv(), "2")[2].as_str().unwrap().to_owned();
        pair.advance(age);
        pair.io.to("team").emit("new", json!(2)).unwrap();
        c.recv();
        c.drop_transport();
        let s = Session {
            sid: hello["sid"].as_str().unwrap().to_owned(),
            pid: hello["pid"].as_str().unwrap().to_owned(),
            offset,
        };
        let (c, hello, before) = reconnect(&pair, &s);
        assert_eq!(hello["sid"] == s.sid.as_str(), recovered, "age {age:?}");
        // Recovered from the old offset, "new" comes again (before the
        // answer); not recovered, nothing is replayed.
        assert!(c.drain().is_empty(), "age {age:?}");
        let replayed = before.len();
        assert_eq!(replayed, usize::from(recovered), "age {age:?}");
    }
}
