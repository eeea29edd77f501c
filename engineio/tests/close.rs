//! Closing from either side on both transports.
mod common;
use common::*;

use std::time::Duration;

use engineio::CloseReason;

#[tokio::test]
async fn client_close_on_polling_answers_pending_poll_with_noop() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let pending = tokio::spawn(get(srv.addr, eio(Some(&sid), "polling").leak()));
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(
        post(srv.addr, &eio(Some(&sid), "polling"), b"1")
            .await
            .text(),
        "ok"
    );
    let r = pending.await.unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "6"));
    get(srv.addr, &eio(Some(&sid), "polling"))
        .await
        .assert_error(400, 1);
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportClose);
}

/// Issue #23, item 4: after the client's close packet over polling the
/// session is gone at once, as in the reference server: the GET the client
/// may still have had in flight, and any later request, gets 400
/// "Session ID unknown" (this GET used to get a noop for up to a second).
#[tokio::test]
async fn requests_after_a_client_close_find_no_session() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    assert_eq!(
        post(srv.addr, &eio(Some(&sid), "polling"), b"1")
            .await
            .text(),
        "ok"
    );
    let r = get(srv.addr, &eio(Some(&sid), "polling")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            serde_json::json!({"code": 1, "message": "Session ID unknown"})
        )
    );
    let r = post(srv.addr, &eio(Some(&sid), "polling"), b"4late").await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            serde_json::json!({"code": 1, "message": "Session ID unknown"})
        )
    );
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportClose);
    assert_eq!(srv.engine.session_count(), 0);
    assert!(
        !srv.rec.events(&sid).contains(&Seen::Text("late".into())),
        "nothing after the close is delivered"
    );
}

#[tokio::test]
async fn client_close_on_websocket() {
    let srv = start(fast_config()).await;
    let (mut ws, sid) = open_ws(srv.addr).await;
    ws_send(&mut ws, "1").await;
    assert!(ws_next(&mut ws).await.is_none());
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn websocket_dropped_by_client() {
    let srv = start(fast_config()).await;
    let (ws, sid) = open_ws(srv.addr).await;
    drop(ws);
    let r = srv.rec.closed(&sid).await;
    assert!(
        matches!(r, CloseReason::TransportClose | CloseReason::TransportError),
        "{r:?}"
    );
    assert_eq!(srv.engine.session_count(), 0);
}

#[tokio::test]
async fn server_close_on_polling_delivers_close_packet() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let socket = srv.rec.socket(&sid);
    socket.send_text("last words").unwrap();
    socket.close();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let r = get(srv.addr, &eio(Some(&sid), "polling")).await;
    assert_eq!(r.text(), "4last words");
    let r = get(srv.addr, &eio(Some(&sid), "polling")).await;
    assert_eq!(
        r.text(),
        "1",
        "the close packet comes in a response of its own"
    );
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::ForcedClose);
    assert!(socket.send_text("x").is_err());
}

#[tokio::test]
async fn server_close_on_websocket_sends_close_packet() {
    let srv = start(fast_config()).await;
    let (mut ws, sid) = open_ws(srv.addr).await;
    srv.rec.socket(&sid).close();
    assert_eq!(ws_text(&mut ws).await, "1");
    assert!(ws_next(&mut ws).await.is_none());
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::ForcedClose);
}

#[tokio::test]
async fn close_all_shuts_every_session() {
    let srv = start(fast_config()).await;
    let (mut ws, sid) = open_ws(srv.addr).await;
    let (psid, _) = open_polling(srv.addr).await;
    srv.engine.close_all();
    assert_eq!(ws_text(&mut ws).await, "1");
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::ServerShuttingDown);
    assert_eq!(
        get(srv.addr, &eio(Some(&psid), "polling")).await.text(),
        "1"
    );
    assert_eq!(srv.rec.closed(&psid).await, CloseReason::ServerShuttingDown);
}

#[tokio::test]
async fn session_data_is_dropped_after_close() {
    struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let srv = start(fast_config()).await;
    let (ws, sid) = open_ws(srv.addr).await;
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let socket = srv.rec.socket(&sid);
    assert!(socket.set_data(Flag(dropped.clone())).is_ok());
    assert!(socket.data::<Flag>().is_some());
    drop(ws);
    srv.rec.closed(&sid).await;
    for _ in 0..100 {
        if dropped.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        "value held after close"
    );
    assert!(socket.data::<Flag>().is_none());
}
