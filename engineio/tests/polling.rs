//! Long-polling: messages both ways, batching, malformed payloads, overlaps.
mod common;
use common::*;

use std::time::Duration;

#[tokio::test]
async fn one_text_packet_round_trip() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let r = post(srv.addr, &eio(Some(&sid), "polling"), b"4hello").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4hello"
    );
}

#[tokio::test]
async fn several_packets_keep_order_and_batch() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    post(
        srv.addr,
        &eio(Some(&sid), "polling"),
        b"4test1\x1e4test2\x1e4test3",
    )
    .await;
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4test1\x1e4test2\x1e4test3"
    );
    let seen = srv.rec.events(&sid);
    assert_eq!(
        seen,
        [
            Seen::Connect,
            Seen::Text("test1".into()),
            Seen::Text("test2".into()),
            Seen::Text("test3".into())
        ]
    );
}

#[tokio::test]
async fn text_and_binary_packets() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    post(
        srv.addr,
        &eio(Some(&sid), "polling"),
        b"4hello\x1ebAQIDBA==",
    )
    .await;
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4hello\x1ebAQIDBA=="
    );
    assert_eq!(srv.rec.events(&sid)[2], Seen::Binary(vec![1, 2, 3, 4]));
}

#[tokio::test]
async fn utf8_text_survives() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    post(srv.addr, &eio(Some(&sid), "polling"), "4€ ✓ é".as_bytes()).await;
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4€ ✓ é"
    );
}

#[tokio::test]
async fn malformed_payloads_close_the_session() {
    for body in [
        &b"abc"[..],
        b"",
        b"4ok\x1e",
        b"b!!!!",
        b"4\xff\xfe",
        b"9x",
        b"0{}",
    ] {
        let srv = start(fast_config()).await;
        let (sid, _) = open_polling(srv.addr).await;
        let r = post(srv.addr, &eio(Some(&sid), "polling"), body).await;
        assert_eq!(r.status, 400, "body {body:?}");
        assert_eq!(
            get(srv.addr, &eio(Some(&sid), "polling")).await.status,
            400,
            "body {body:?}"
        );
        assert_eq!(
            srv.rec.closed(&sid).await,
            engineio::CloseReason::ParseError
        );
    }
}

#[tokio::test]
async fn duplicate_poll_closes_session() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let first = tokio::spawn(get(srv.addr, eio(Some(&sid), "polling").leak()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = get(srv.addr, &eio(Some(&sid), "polling")).await;
    second.assert_error(400, 3);
    let first = first.await.unwrap();
    assert_eq!((first.status, first.text().as_str()), (200, "1"));
    assert_eq!(get(srv.addr, &eio(Some(&sid), "polling")).await.status, 400);
    assert_eq!(
        srv.rec.closed(&sid).await,
        engineio::CloseReason::TransportError
    );
}

#[tokio::test]
async fn concurrent_post_is_refused_and_closes() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    // A POST whose body never finishes stays active.
    let mut slow = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n4abc",
        eio(Some(&sid), "polling")
    );
    tokio::io::AsyncWriteExt::write_all(&mut slow, head.as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    post(srv.addr, &eio(Some(&sid), "polling"), b"4second")
        .await
        .assert_error(400, 3);
    assert_eq!(
        srv.rec.closed(&sid).await,
        engineio::CloseReason::TransportError
    );
}

#[tokio::test]
async fn post_after_close_is_unknown_sid() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    post(srv.addr, &eio(Some(&sid), "polling"), b"1").await;
    srv.rec.closed(&sid).await;
    post(srv.addr, &eio(Some(&sid), "polling"), b"4late")
        .await
        .assert_error(400, 1);
    get(srv.addr, &eio(Some(&sid), "polling"))
        .await
        .assert_error(400, 1);
}

#[tokio::test]
async fn other_methods_on_a_session_are_bad_requests() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    request(srv.addr, "PUT", &eio(Some(&sid), "polling"), &[], b"")
        .await
        .assert_error(400, 3);
}

#[tokio::test]
async fn server_messages_wait_for_the_next_poll() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let socket = srv.rec.socket(&sid);
    socket.send_text("a").unwrap();
    socket.send_binary(vec![9u8]).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4a\x1ebCQ=="
    );
}

#[tokio::test]
async fn groups_go_out_back_to_back_and_sessions_hold_app_data() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let socket = srv.rec.socket(&sid);
    assert_eq!(socket.set_data(7u32), Ok(()));
    assert_eq!(socket.set_data(8u32), Err(8));
    assert_eq!(socket.data::<u32>().as_deref(), Some(&7));
    assert_eq!(socket.data::<String>(), None);
    socket
        .send_group(vec![
            engineio::Packet::Message("head".into()),
            engineio::Packet::Binary(vec![1u8].into()),
        ])
        .unwrap();
    socket.send_text("after").unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4head\x1ebAQ==\x1e4after"
    );
}

#[tokio::test]
async fn large_poll_answers_are_compressed_when_accepted() {
    use std::io::Read;
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let socket = srv.rec.socket(&sid);
    let big = "x".repeat(4000);
    let target = eio(Some(&sid), "polling");
    // Accepted: gzip, and the body decodes to the payload.
    socket.send_text(big.as_str()).unwrap();
    let r = request(
        srv.addr,
        "GET",
        &target,
        &[("Accept-Encoding", "gzip, deflate")],
        b"",
    )
    .await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r.body.len() < 200, "compressed to {} bytes", r.body.len());
    let mut text = String::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, format!("4{big}"));
    // deflate only.
    socket.send_text(big.as_str()).unwrap();
    let r = request(
        srv.addr,
        "GET",
        &target,
        &[("Accept-Encoding", "deflate")],
        b"",
    )
    .await;
    assert_eq!(r.header("content-encoding"), Some("deflate"));
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(&r.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, format!("4{big}"));
    // Not accepted, refused with q=0, below the threshold, or opted out: plain.
    for (accept, msg, compress) in [
        (None, big.as_str(), true),
        (Some("gzip;q=0"), big.as_str(), true),
        (Some("gzip"), "small", true),
        (Some("gzip"), big.as_str(), false),
    ] {
        socket
            .send_with(engineio::Packet::Message(msg.into()), compress)
            .unwrap();
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("Accept-Encoding", a)).into_iter().collect();
        let r = request(srv.addr, "GET", &target, &headers, b"").await;
        assert_eq!(r.header("content-encoding"), None, "{accept:?} {compress}");
        assert_eq!(r.text(), format!("4{msg}"));
    }
}

#[tokio::test]
async fn http_compression_can_be_disabled() {
    let srv = start(fast_config().http_compression(None)).await;
    let (sid, _) = open_polling(srv.addr).await;
    srv.rec.socket(&sid).send_text("y".repeat(5000)).unwrap();
    let r = request(
        srv.addr,
        "GET",
        &eio(Some(&sid), "polling"),
        &[("Accept-Encoding", "gzip")],
        b"",
    )
    .await;
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body.len(), 5001);
}
