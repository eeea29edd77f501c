//! Connection state recovery: id, rooms, data and missed packets survive a
//! temporary disconnect.
mod common;
use common::*;

use std::time::Duration;

use serde_json::{json, Value};
use socketio::{RecoveryConfig, SocketIo, SocketIoConfig};

fn server(max: Duration) -> SocketIo {
    server_with(SocketIoConfig::default(), max)
}

fn server_with(config: SocketIoConfig, max: Duration) -> SocketIo {
    let io = SocketIo::builder()
        .config(config.recovery(Some(RecoveryConfig {
            max_disconnection_duration: max,
            skip_middlewares: true,
        })))
        .build();
    io.of("/").use_middleware(|s| async move {
        // Recovered sockets skip middlewares: this would refuse them.
        if s.handshake().auth.get("pid").is_some() && !s.recovered() {
            return Err(socketio::ConnectError::new("middleware ran"));
        }
        Ok(())
    });
    io.of("/").on_connection(|s| async move {
        if !s.recovered() {
            s.join("team");
            s.insert(42u32);
        }
        let _ = s.emit(
            "state",
            json!({ "recovered": s.recovered(), "data": s.get::<u32>() }),
        );
    });
    io
}

fn parse(frame: &str, prefix: &str) -> Value {
    assert!(frame.starts_with(prefix), "{frame}");
    serde_json::from_str(&frame[prefix.len()..]).unwrap()
}

/// An event's name and arguments without the recovery offset every event
/// carries when recovery is on (a string as the last argument).
fn event(frame: &str) -> Value {
    let mut v = parse(frame, "42");
    let a = v.as_array_mut().unwrap();
    assert!(a.last().unwrap().is_string(), "offset missing: {frame}");
    a.pop();
    v
}

/// Connects, skips the `state` event, and receives one broadcast: returns
/// the client, its private id and the broadcast's offset.
async fn connect_and_tick(io: &SocketIo, addr: std::net::SocketAddr) -> (Client, String, String) {
    let mut c = Client::open(addr).await;
    c.send("40").await;
    let pid = parse(&c.text().await, "40")["pid"]
        .as_str()
        .unwrap()
        .to_owned();
    c.text().await;
    io.emit("tick", json!(1)).unwrap();
    let offset = parse(&c.text().await, "42")[2].as_str().unwrap().to_owned();
    (c, pid, offset)
}

#[tokio::test]
async fn missed_packets_rooms_and_data_are_restored() {
    let io = server(Duration::from_secs(10));
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.send("40").await;
    let hello = parse(&c.text().await, "40");
    let (id, pid) = (
        hello["sid"].as_str().unwrap().to_owned(),
        hello["pid"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        event(&c.text().await),
        json!(["state", {"recovered": false, "data": 42}])
    );
    io.to("team").emit("tick", json!(1)).unwrap();
    let tick = parse(&c.text().await, "42");
    let offset = tick[2]
        .as_str()
        .expect("broadcasts carry an offset")
        .to_owned();
    drop(c);
    eventually(|| io.of("/").sockets().is_empty()).await;
    io.to("team").emit("missed", json!(2)).unwrap();
    io.to("others").emit("not-for-us", json!(3)).unwrap();

    let mut c = Client::open(addr).await;
    c.send(&format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#))
        .await;
    // The missed packets come first, then the answer (as the reference's
    // recovered socket sends them from its constructor).
    let missed = parse(&c.text().await, "42");
    assert_eq!(missed[0], "missed");
    assert_eq!(missed[1], 2);
    let hello = parse(&c.text().await, "40");
    assert_eq!(hello["sid"], id.as_str(), "same socket id");
    assert_eq!(
        hello["pid"],
        pid.as_str(),
        "same private id: clients compare it"
    );
    assert_eq!(
        event(&c.text().await),
        json!(["state", {"recovered": true, "data": 42}])
    );
    let s = io.of("/").sockets().pop().unwrap();
    assert!(s.recovered());
    assert!(s.rooms().contains(&"team".to_string()));
}

/// An unknown private id (or offset) gets a fresh socket. Expiry, at the
/// exact end of the window, is in `recovery_window.rs` on virtual time.
#[tokio::test]
async fn unknown_sessions_get_a_fresh_socket() {
    let io = server(Duration::from_secs(10));
    let addr = serve(&io).await;
    let (c, pid, offset) = connect_and_tick(&io, addr).await;
    drop(c);
    eventually(|| io.of("/").sockets().is_empty()).await;
    for (pid, offset) in [("unknown", offset.as_str()), (pid.as_str(), "unknown")] {
        let mut c = Client::open(addr).await;
        c.send(&format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#))
            .await;
        // Not recoverable: middlewares run again (and refuse, by design of this test).
        assert_eq!(c.text().await, r#"44{"message":"middleware ran"}"#);
    }
}

#[tokio::test]
async fn namespace_disconnect_is_not_recoverable() {
    let io = server(Duration::from_secs(10));
    let addr = serve(&io).await;
    let (mut c, pid, offset) = connect_and_tick(&io, addr).await;
    c.send("41").await;
    eventually(|| io.of("/").sockets().is_empty()).await;
    c.send(&format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#))
        .await;
    assert_eq!(c.text().await, r#"44{"message":"middleware ran"}"#);
}

#[tokio::test]
async fn server_closed_connection_is_recoverable_from_an_older_offset() {
    let io = server(Duration::from_secs(10));
    io.of("/").on_connection(|s| async move {
        s.on("drop-me", |s, _, _| async move {
            s.close_connection();
        });
    });
    let addr = serve(&io).await;
    let mut c = Client::open(addr).await;
    c.send("40").await;
    let hello = parse(&c.text().await, "40");
    let (id, pid) = (
        hello["sid"].as_str().unwrap().to_owned(),
        hello["pid"].as_str().unwrap().to_owned(),
    );
    let state = parse(&c.text().await, "42");
    let offset = state[2].as_str().unwrap().to_owned();
    c.send(r#"42["drop-me"]"#).await;
    c.closed().await;
    io.emit("missed", json!(1)).unwrap();
    let mut c = Client::open(addr).await;
    c.send(&format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#))
        .await;
    assert_eq!(event(&c.text().await), json!(["missed", 1]));
    let hello = parse(&c.text().await, "40");
    assert_eq!(hello["sid"], id.as_str());
}

/// Connects and ticks, disconnects, lets `meanwhile` emit, and comes
/// back with the client's private id and offset: returns the first frame.
async fn resume_after(
    io: &SocketIo,
    addr: std::net::SocketAddr,
    meanwhile: impl Fn(&SocketIo),
) -> (Client, String) {
    let (c, pid, offset) = connect_and_tick(io, addr).await;
    drop(c);
    eventually(|| io.of("/").sockets().is_empty()).await;
    meanwhile(io);
    let mut c = Client::open(addr).await;
    c.send(&format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#))
        .await;
    let first = c.text().await;
    (c, first)
}

#[tokio::test]
async fn the_byte_cap_evicts_old_packets_and_an_oversized_one_empties_the_buffer() {
    let io = server_with(
        SocketIoConfig::default().recovery_max_bytes(300),
        Duration::from_secs(10),
    );
    let addr = serve(&io).await;
    let refused = r#"44{"message":"middleware ran"}"#;
    // Evicted by size: the client's offset is gone, so it does not recover
    // (and cannot miss what was evicted).
    let (_, first) = resume_after(&io, addr, |io| {
        for _ in 0..3 {
            io.emit("filler", json!("x".repeat(100))).unwrap();
        }
    })
    .await;
    assert_eq!(first, refused);
    // One packet larger than the cap is not kept, and no older offset
    // survives it.
    let (_, first) = resume_after(&io, addr, |io| {
        io.emit("small", json!(1)).unwrap();
        io.emit("huge", json!("y".repeat(400))).unwrap();
    })
    .await;
    assert_eq!(first, refused);
    // The control: with room in the buffer, the same steps recover (the
    // missed packet first, then the answer).
    let (mut c, first) = resume_after(&io, addr, |io| {
        io.emit("small", json!(2)).unwrap();
    })
    .await;
    assert_eq!(event(&first), json!(["small", 2]));
    assert!(c.text().await.starts_with("40"));
}

#[tokio::test]
async fn middlewares_of_a_recovered_socket_see_its_data_and_decide_what_it_missed() {
    let io = SocketIo::builder()
        .config(SocketIoConfig::default().recovery(Some(RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(10),
            skip_middlewares: false,
        })))
        .build();
    io.of("/").use_middleware(|s| async move {
        if s.recovered() {
            // The restored data and rooms are there already.
            assert_eq!(s.get::<u32>(), Some(42));
            assert!(s.rooms().contains(&"team".to_string()));
            if s.handshake().auth.get("demoted").is_some() {
                s.leave("team");
                s.insert(7u32);
            }
        }
        Ok(())
    });
    io.of("/").on_connection(|s| async move {
        if !s.recovered() {
            s.join("team");
            s.insert(42u32);
        }
        let _ = s.emit("state", json!({ "data": s.get::<u32>() }));
    });
    let addr = serve(&io).await;
    for demoted in [false, true] {
        let (c, pid, offset) = connect_and_tick(&io, addr).await;
        drop(c);
        eventually(|| io.of("/").sockets().is_empty()).await;
        io.to("team").emit("team-only", json!(1)).unwrap();
        io.emit("everyone", json!(2)).unwrap();
        let mut c = Client::open(addr).await;
        let extra = if demoted { r#","demoted":true"# } else { "" };
        c.send(&format!(
            r#"40{{"pid":"{pid}","offset":"{offset}"{extra}}}"#
        ))
        .await;
        if !demoted {
            assert_eq!(event(&c.text().await), json!(["team-only", 1]));
        }
        assert_eq!(event(&c.text().await), json!(["everyone", 2]));
        assert!(c.text().await.starts_with("40"));
        let data = if demoted { 7 } else { 42 };
        assert_eq!(event(&c.text().await), json!(["state", { "data": data }]));
        drop(c);
        eventually(|| io.of("/").sockets().is_empty()).await;
    }
}
