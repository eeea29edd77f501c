//! `emit_with_ack` timeouts on virtual time: an ack in time resolves, the
//! timeout fires exactly at its deadline (not a tick before), a late ack
//! is ignored, and a disconnect fails the wait at once.
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use socketio::{AckError, Data, Runtime, SocketIoConfig};
use support::{Client, Pair};

type Outcome = Arc<Mutex<Option<Result<Data, AckError>>>>;

const TIMEOUT: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_nanos(1);

/// Emits `q` with an ack and `TIMEOUT` to the only socket of `/`; the
/// outcome lands in the returned slot. Returns the packet's ack id too.
fn ask(pair: &Pair, c: &Client) -> (Outcome, u64) {
    let socket = pair.io.of("/").sockets().pop().expect("a socket");
    let out: Outcome = Arc::default();
    let o = out.clone();
    pair.rt.spawn(Box::pin(async move {
        let r = socket.emit_with_ack("q", json!(1), TIMEOUT).await;
        *o.lock().unwrap() = Some(r);
    }));
    pair.settle();
    let q = c.recv();
    assert!(q.starts_with('2') && q.ends_with(r#"["q",1]"#), "{q}");
    let id = q[1..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();
    (out, id)
}

fn outcome(o: &Outcome) -> Option<Result<Vec<serde_json::Value>, AckError>> {
    o.lock()
        .unwrap()
        .as_ref()
        .map(|r| r.as_ref().map(|d| d.args().to_vec()).map_err(Clone::clone))
}

#[test]
fn an_ack_before_the_deadline_resolves_the_emit() {
    let pair = Pair::new(SocketIoConfig::default());
    let (c, _) = pair.connect();
    let (out, id) = ask(&pair, &c);
    pair.advance(TIMEOUT - TICK);
    assert_eq!(outcome(&out), None);
    c.send(&format!(r#"3{id}["yes"]"#));
    assert_eq!(outcome(&out), Some(Ok(vec![json!("yes")])));
    pair.advance(TIMEOUT);
    assert_eq!(outcome(&out), Some(Ok(vec![json!("yes")])), "answered once");
}

#[test]
fn the_timeout_fires_exactly_at_the_deadline_and_a_late_ack_is_ignored() {
    let pair = Pair::new(SocketIoConfig::default());
    let (c, _) = pair.connect();
    let (out, id) = ask(&pair, &c);
    assert_eq!(pair.rt.next_timer(), Some(TIMEOUT));
    pair.advance(TIMEOUT - TICK);
    assert_eq!(outcome(&out), None, "timed out early");
    pair.advance(TICK);
    assert_eq!(outcome(&out), Some(Err(AckError::Timeout)));
    // The late answer finds no waiter: nothing changes, nothing is sent,
    // and the socket keeps working.
    c.send(&format!(r#"3{id}["late"]"#));
    assert_eq!(outcome(&out), Some(Err(AckError::Timeout)));
    assert!(c.drain().is_empty());
    let (out2, id2) = ask(&pair, &c);
    assert_ne!(id, id2, "a fresh ack id");
    c.send(&format!(r#"3{id2}[2]"#));
    assert_eq!(outcome(&out2), Some(Ok(vec![json!(2)])));
}

#[test]
fn an_ack_for_another_id_does_not_answer_the_wait() {
    let pair = Pair::new(SocketIoConfig::default());
    let (c, _) = pair.connect();
    let (out, id) = ask(&pair, &c);
    c.send(&format!(r#"3{}["wrong"]"#, id + 1));
    pair.advance(TIMEOUT - TICK);
    assert_eq!(outcome(&out), None);
    pair.advance(TICK);
    assert_eq!(outcome(&out), Some(Err(AckError::Timeout)));
}

#[test]
fn a_disconnect_fails_the_wait_at_once() {
    let pair = Pair::new(SocketIoConfig::default());
    let (c, _) = pair.connect();
    let (out, _) = ask(&pair, &c);
    pair.advance(Duration::from_secs(1));
    c.drop_transport();
    assert_eq!(outcome(&out), Some(Err(AckError::Disconnected)));
    assert_eq!(pair.rt.elapsed(), Duration::from_secs(1));
}

#[test]
fn a_broadcast_ack_collects_answers_until_its_deadline() {
    let pair = Pair::new(SocketIoConfig::default());
    let (a, _) = pair.connect();
    let (silent, _) = pair.connect();
    let results = Arc::new(Mutex::new(None));
    let (r, io) = (results.clone(), pair.io.clone());
    pair.rt.spawn(Box::pin(async move {
        let all = io
            .of("/")
            .broadcast()
            .emit_with_ack("poll", json!("?"), TIMEOUT)
            .await;
        *r.lock().unwrap() = Some(all);
    }));
    pair.settle();
    let q = a.recv();
    let id: String = q[1..].chars().take_while(char::is_ascii_digit).collect();
    assert!(silent.recv().ends_with(r#"["poll","?"]"#));
    a.send(&format!(r#"3{id}["a"]"#));
    pair.advance(TIMEOUT - TICK);
    assert!(
        results.lock().unwrap().is_none(),
        "finished before the deadline"
    );
    pair.advance(TICK);
    let all = results.lock().unwrap().take().unwrap().unwrap();
    let ok: Vec<String> = all
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|d| d.get::<String>(0).unwrap())
        .collect();
    assert_eq!(ok, ["a"]);
    let timeouts = all
        .iter()
        .filter(|r| matches!(r, Err(AckError::Timeout)))
        .count();
    assert_eq!(timeouts, 1, "{all:?}");
}
