//! WebSocket specifics: binary frames, base64 mode, heartbeat direction.
mod common;
use common::*;

use engineio::CloseReason;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn binary_frames_round_trip() {
    let srv = start(fast_config()).await;
    let (mut ws, _) = open_ws(srv.addr).await;
    ws.send(Message::binary(vec![1u8, 2, 3, 4])).await.unwrap();
    match ws_next(&mut ws).await {
        Some(Message::Binary(b)) => assert_eq!(&b[..], &[1, 2, 3, 4]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn b64_mode_sends_binary_as_base64_text() {
    let srv = start(fast_config()).await;
    let mut ws = ws_connect(srv.addr, "/engine.io/?EIO=4&transport=websocket&b64=1")
        .await
        .unwrap();
    ws_text(&mut ws).await;
    // A forceBase64 client sends binary as `b` + base64 text.
    ws_send(&mut ws, "bAQIDBA==").await;
    assert_eq!(ws_text(&mut ws).await, "bAQIDBA==");
    // Binary frames are still accepted and answered as base64.
    ws.send(Message::binary(vec![255u8])).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, "b/w==");
}

#[tokio::test]
async fn client_ping_closes_the_session() {
    let srv = start(fast_config()).await;
    let (mut ws, sid) = open_ws(srv.addr).await;
    ws_send(&mut ws, "2").await;
    assert_eq!(ws_text(&mut ws).await, "1");
    assert!(ws_next(&mut ws).await.is_none());
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn websocket_level_pings_are_answered() {
    let srv = start(fast_config()).await;
    let (mut ws, _) = open_ws(srv.addr).await;
    ws.send(Message::Ping(vec![7u8].into())).await.unwrap();
    let pong = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match futures_util::StreamExt::next(&mut ws).await {
                Some(Ok(Message::Pong(p))) => return p,
                Some(Ok(_)) => continue,
                other => panic!("{other:?}"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(&pong[..], &[7]);
}

#[tokio::test]
async fn sends_from_other_tasks_wake_the_driver() {
    let srv = start(fast_config().ping_interval(std::time::Duration::from_secs(30))).await;
    let (mut ws, sid) = open_ws(srv.addr).await;
    let socket = srv.rec.socket(&sid);
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        socket.send_text("from elsewhere").unwrap();
    });
    let started = std::time::Instant::now();
    assert_eq!(ws_text(&mut ws).await, "4from elsewhere");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn frames_sent_along_with_the_upgrade_request_are_not_lost() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let srv = start(fast_config().ping_interval(std::time::Duration::from_secs(30))).await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    // The request and a first message in one write: the server's HTTP
    // layer reads both before the WebSocket takes over the connection.
    let mask = [1u8, 2, 3, 4];
    let payload = b"4early";
    let mut bytes = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        eio(None, "websocket")
    )
    .into_bytes();
    bytes.extend([0x81, 0x80 | payload.len() as u8]);
    bytes.extend(mask);
    bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&bytes).await.unwrap();
    let mut head = vec![0u8; 4096];
    let n = s.read(&mut head).await.unwrap();
    assert!(
        head[..n].starts_with(b"HTTP/1.1 101"),
        "{:?}",
        String::from_utf8_lossy(&head[..n])
    );
    for _ in 0..200 {
        let seen = srv.rec.seen.lock().unwrap().clone();
        if seen
            .iter()
            .any(|(_, e)| matches!(e, Seen::Text(t) if t == "early"))
        {
            return;
        }
        drop(seen);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the message sent with the upgrade request was lost");
}
