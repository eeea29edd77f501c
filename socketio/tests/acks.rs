//! Acks both ways, with timeouts, and broadcast acks.
mod common;
use common::*;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use socketio::{AckError, Data, SocketIo};

#[tokio::test]
async fn client_ack_request_is_answered_with_binary() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        s.on("sum", |_, d: Data, ack| async move {
            let (a, b): (i64, i64) = d.parse().unwrap();
            if let Some(ack) = ack {
                let _ = ack.send(Data::new().arg(a + b).binary(vec![7u8]));
            }
        });
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"4212["sum",2,3]"#).await;
    assert_eq!(c.text().await, r#"461-12[5,{"_placeholder":true,"num":0}]"#);
    assert_eq!(c.binary().await, [7]);
}

#[tokio::test]
async fn server_emit_with_ack_resolves_times_out_or_fails_on_disconnect() {
    let io = SocketIo::new();
    let results = Arc::new(Mutex::new(Vec::new()));
    let r2 = results.clone();
    io.of("/").on_connection(move |s| {
        let results = r2.clone();
        async move {
            let r = s.emit_with_ack("q", json!(1), Duration::from_secs(2)).await;
            results
                .lock()
                .unwrap()
                .push(format!("{:?}", r.map(|d| d.args().to_vec())));
            let r = s
                .emit_with_ack("q", json!(2), Duration::from_millis(50))
                .await;
            results
                .lock()
                .unwrap()
                .push(format!("{:?}", r.map(|d| d.args().to_vec())));
            let r = s.emit_with_ack("q", json!(3), Duration::from_secs(5)).await;
            results
                .lock()
                .unwrap()
                .push(format!("{:?}", r.map(|d| d.args().to_vec())));
        }
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    let q = c.text().await;
    let id: String = q[2..].chars().take_while(char::is_ascii_digit).collect();
    assert!(q.ends_with(r#"["q",1]"#), "{q}");
    c.send(&format!(r#"43{id}["yes",{{"k":true}}]"#)).await;
    let q2 = c.text().await;
    assert!(q2.ends_with(r#"["q",2]"#), "{q2}");
    // Not answered: times out. A late answer is ignored.
    let q3 = c.text().await;
    assert!(q3.ends_with(r#"["q",3]"#), "{q3}");
    let id2: String = q2[2..].chars().take_while(char::is_ascii_digit).collect();
    c.send(&format!(r#"43{id2}["late"]"#)).await;
    c.send("41").await;
    eventually(|| results.lock().unwrap().len() == 3).await;
    let r = results.lock().unwrap().clone();
    assert_eq!(
        r[0],
        format!(
            "{:?}",
            Ok::<_, AckError>(vec![json!("yes"), json!({"k": true})])
        )
    );
    assert_eq!(
        r[1],
        format!("{:?}", Err::<Vec<serde_json::Value>, _>(AckError::Timeout))
    );
    assert_eq!(
        r[2],
        format!(
            "{:?}",
            Err::<Vec<serde_json::Value>, _>(AckError::Disconnected)
        )
    );
}

#[tokio::test]
async fn broadcast_with_ack_collects_every_answer() {
    let io = SocketIo::new();
    let addr = serve(&io).await;
    let (mut a, _) = Client::connect(addr, "/").await;
    let (mut b, _) = Client::connect(addr, "/").await;
    let (mut silent, _) = Client::connect(addr, "/").await;
    let io2 = io.clone();
    let task = tokio::spawn(async move {
        io2.of("/")
            .broadcast()
            .emit_with_ack("poll", json!("?"), Duration::from_millis(300))
            .await
    });
    for (c, answer) in [(&mut a, "\"a\""), (&mut b, "\"b\"")] {
        let q = c.text().await;
        let id: String = q[2..].chars().take_while(char::is_ascii_digit).collect();
        c.send(&format!("43{id}[{answer}]")).await;
    }
    let q = silent.text().await;
    assert!(q.ends_with(r#"["poll","?"]"#));
    let results = task.await.unwrap().unwrap();
    assert_eq!(results.len(), 3);
    let mut ok: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|d| d.get::<String>(0).unwrap())
        .collect();
    ok.sort();
    assert_eq!(ok, ["a", "b"]);
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Err(AckError::Timeout)))
            .count(),
        1
    );
}
