//! Engine.IO 3 clients (socket.io v2) with `allow_eio3`: refused by
//! default; v3 text and binary payloads both ways, client pings answered,
//! the v3 deadline, and v3 binary WebSocket frames.
mod common;
use common::*;

use engineio::CloseReason;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

fn v3(sid: Option<&str>, extra: &str) -> String {
    match sid {
        Some(s) => format!("/engine.io/?EIO=3&transport=polling&sid={s}{extra}"),
        None => format!("/engine.io/?EIO=3&transport=polling{extra}"),
    }
}

/// Opens a v3 polling session; checks the length-prefixed open packet.
async fn open_v3(srv: &Server, extra: &str) -> String {
    let r = get(srv.addr, &v3(None, extra)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let (len, packet) = text.split_once(':').expect("a length prefix");
    assert_eq!(len.parse::<usize>().unwrap(), packet.encode_utf16().count());
    let open: serde_json::Value = serde_json::from_str(&packet[1..]).unwrap();
    assert_eq!(open["pingInterval"], 300);
    open["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn eio3_is_refused_by_default() {
    let srv = start(fast_config()).await;
    get(srv.addr, &v3(None, "")).await.assert_error(400, 5);
}

#[tokio::test]
async fn text_payloads_and_client_pings() {
    let srv = start(fast_config().allow_eio3(true)).await;
    let sid = open_v3(&srv, "&b64=1").await;
    let r = post(
        srv.addr,
        &v3(Some(&sid), ""),
        "4:4é😀1:26:b4AQI=".as_bytes(),
    )
    .await;
    assert_eq!(r.text(), "ok");
    // The pong answers the ping; the echoes follow (maybe in a later poll).
    let mut body = String::new();
    while !body.contains("6:b4AQI=") {
        let r = get(srv.addr, &v3(Some(&sid), "")).await;
        assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
        body.push_str(&r.text());
    }
    assert!(body.starts_with("1:3"), "{body}");
    assert!(
        body.contains("4:4é😀") && body.contains("6:b4AQI="),
        "{body}"
    );
    assert_eq!(
        srv.rec.events(&sid)[1..],
        [Seen::Text("é😀".into()), Seen::Binary(vec![1, 2])]
    );
}

#[tokio::test]
async fn binary_payloads_both_ways() {
    let srv = start(fast_config().allow_eio3(true)).await;
    let sid = open_v3(&srv, "").await;
    let body = [0, 3, 255, b'4', b'h', b'i', 1, 3, 255, 4, 7, 8];
    let r = request(
        srv.addr,
        "POST",
        &v3(Some(&sid), ""),
        &[("Content-Type", "application/octet-stream")],
        &body,
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    // The echoes: a poll with the binary one is in the binary form (the
    // text echo may come alone first, as text).
    loop {
        let r = get(srv.addr, &v3(Some(&sid), "")).await;
        if r.body.ends_with(&[1, 3, 255, 4, 7, 8]) {
            assert_eq!(r.header("content-type"), Some("application/octet-stream"));
            break;
        }
        assert_eq!(r.text(), "3:4hi");
    }
    assert_eq!(
        srv.rec.events(&sid)[1..],
        [Seen::Text("hi".into()), Seen::Binary(vec![7, 8])]
    );
}

#[tokio::test]
async fn a_silent_v3_client_times_out() {
    let srv = start(fast_config().allow_eio3(true)).await;
    let sid = open_v3(&srv, "").await;
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::PingTimeout);
}

#[tokio::test]
async fn v3_websocket_frames() {
    let srv = start(fast_config().allow_eio3(true)).await;
    let mut ws = ws_connect(srv.addr, "/engine.io/?EIO=3&transport=websocket")
        .await
        .unwrap();
    assert!(ws_text(&mut ws).await.starts_with("0{"));
    ws.send(Message::binary(vec![4, 9, 9])).await.unwrap();
    match ws_next(&mut ws).await {
        Some(Message::Binary(b)) => assert_eq!(&b[..], &[4, 9, 9]),
        other => panic!("expected a binary frame, got {other:?}"),
    }
    ws_send(&mut ws, "b4AQI=").await;
    match ws_next(&mut ws).await {
        Some(Message::Binary(b)) => assert_eq!(&b[..], &[4, 1, 2]),
        other => panic!("expected a binary frame, got {other:?}"),
    }
    ws_send(&mut ws, "2").await;
    assert_eq!(ws_text(&mut ws).await, "3");
}

/// Each transport has its own `b64`: a v3 client whose polling asked for
/// base64 upgrades to a WebSocket that takes binary frames.
#[tokio::test]
async fn the_websocket_has_its_own_base64_flag() {
    let srv = start(fast_config().allow_eio3(true)).await;
    let sid = open_v3(&srv, "&b64=1").await;
    let target = format!("/engine.io/?EIO=3&transport=websocket&sid={sid}");
    let mut ws = ws_connect(srv.addr, &target).await.unwrap();
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    ws_send(&mut ws, "5").await;
    ws.send(Message::binary(vec![4, 1])).await.unwrap();
    loop {
        match ws_next(&mut ws).await {
            Some(Message::Binary(b)) => break assert_eq!(&b[..], &[4, 1]),
            Some(Message::Text(t)) if t.as_str() == "6" => continue,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }
}
