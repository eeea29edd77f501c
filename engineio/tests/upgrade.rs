//! Upgrade from polling to WebSocket and the rules after it.
mod common;
use common::*;

use std::time::Duration;

use engineio::TransportKind;

#[tokio::test]
async fn upgrade_releases_pending_poll_and_switches() {
    let srv = start(fast_config().ping_interval(Duration::from_secs(30))).await;
    let (sid, _) = open_polling(srv.addr).await;
    let pending = tokio::spawn(get(srv.addr, eio(Some(&sid), "polling").leak()));
    tokio::time::sleep(Duration::from_millis(30)).await;
    let mut ws = ws_connect(srv.addr, &eio(Some(&sid), "websocket"))
        .await
        .unwrap();
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    let r = pending.await.unwrap();
    assert_eq!(r.text(), "6", "the pending poll is released with a noop");
    // A poll between probe and upgrade also gets a noop.
    assert_eq!(get(srv.addr, &eio(Some(&sid), "polling")).await.text(), "6");
    // Data sent during the upgrade waits for the WebSocket.
    srv.rec.socket(&sid).send_text("queued").unwrap();
    ws_send(&mut ws, "5").await;
    assert_eq!(ws_text(&mut ws).await, "4queued");
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_text(&mut ws).await, "4hello");
    assert_eq!(srv.rec.socket(&sid).transport(), TransportKind::WebSocket);
    assert!(srv.rec.events(&sid).contains(&Seen::Upgrade));
}

#[tokio::test]
async fn polling_after_upgrade_is_refused_without_closing() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let mut ws = ws_connect(srv.addr, &eio(Some(&sid), "websocket"))
        .await
        .unwrap();
    ws_send(&mut ws, "2probe").await;
    ws_send(&mut ws, "5").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    tokio::time::sleep(Duration::from_millis(20)).await;
    get(srv.addr, &eio(Some(&sid), "polling"))
        .await
        .assert_error(400, 3);
    post(srv.addr, &eio(Some(&sid), "polling"), b"4x")
        .await
        .assert_error(400, 3);
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_text(&mut ws).await, "4hello");
}

#[tokio::test]
async fn second_websocket_is_refused_without_disturbing_the_first() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let mut ws = ws_connect(srv.addr, &eio(Some(&sid), "websocket"))
        .await
        .unwrap();
    ws_send(&mut ws, "2probe").await;
    ws_send(&mut ws, "5").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    let mut ws2 = ws_connect(srv.addr, &eio(Some(&sid), "websocket"))
        .await
        .unwrap();
    assert!(
        ws_next(&mut ws2).await.is_none(),
        "second websocket is closed"
    );
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_text(&mut ws).await, "4hello");
    // Also while an upgrade is still in progress.
    let (sid, _) = open_polling(srv.addr).await;
    let mut probe = ws_connect(srv.addr, &eio(Some(&sid), "websocket"))
        .await
        .unwrap();
    let mut intruder = ws_connect(srv.addr, &eio(Some(&sid), "websocket"))
        .await
        .unwrap();
    assert!(ws_next(&mut intruder).await.is_none());
    ws_send(&mut probe, "2probe").await;
    assert_eq!(ws_text(&mut probe).await, "3probe");
}

#[tokio::test]
async fn upgrade_timeout_keeps_polling() {
    let cfg = fast_config()
        .ping_interval(Duration::from_secs(30))
        .upgrade_timeout(Duration::from_millis(100));
    let srv = start(cfg).await;
    let (sid, _) = open_polling(srv.addr).await;
    let mut ws = ws_connect(srv.addr, &eio(Some(&sid), "websocket"))
        .await
        .unwrap();
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    // Never sends "5": the probe socket is closed after upgradeTimeout.
    assert!(ws_next(&mut ws).await.is_none());
    post(srv.addr, &eio(Some(&sid), "polling"), b"4still").await;
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4still"
    );
}

#[tokio::test]
async fn upgrades_disabled() {
    let srv = start(fast_config().allow_upgrades(false)).await;
    let (_, v) = open_polling(srv.addr).await;
    assert_eq!(v["upgrades"], serde_json::json!([]));
    let sid = v["sid"].as_str().unwrap();
    assert!(ws_connect(srv.addr, &eio(Some(sid), "websocket"))
        .await
        .is_err());
}

#[tokio::test]
async fn bad_probe_abandons_upgrade() {
    let srv = start(fast_config().ping_interval(Duration::from_secs(30))).await;
    let (sid, _) = open_polling(srv.addr).await;
    let mut ws = ws_connect(srv.addr, &eio(Some(&sid), "websocket"))
        .await
        .unwrap();
    ws_send(&mut ws, "4too early").await;
    assert!(ws_next(&mut ws).await.is_none());
    post(srv.addr, &eio(Some(&sid), "polling"), b"4fine").await;
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4fine"
    );
}

/// Issue #23, item 6: until `5`, packets keep flowing to polls, and a GET
/// still pending gets its noop only at the reference's check, 100 ms after
/// the probe (clients count the packets of their first 100 ms).
#[tokio::test]
async fn packets_flow_to_polls_until_the_upgrade_and_the_noop_waits_for_the_check() {
    let srv = start(fast_config().ping_interval(Duration::from_secs(30))).await;
    let (sid, _) = open_polling(srv.addr).await;
    let target = eio(Some(&sid), "polling");
    let mut ws = ws_connect(srv.addr, &eio(Some(&sid), "websocket"))
        .await
        .unwrap();
    let probed = std::time::Instant::now();
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    // Sent while no GET waits; the next GET takes it at once, whenever it
    // comes (it used to be held for the WebSocket, the GET given a noop).
    srv.rec.socket(&sid).send_text("during").unwrap();
    let r = get(srv.addr, &target).await;
    assert_eq!(r.text(), "4during", "data, not a noop");
    // With nothing queued, the next GET waits for the check.
    let r = get(srv.addr, &target).await;
    assert_eq!(r.text(), "6");
    let waited = probed.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    ws_send(&mut ws, "5").await;
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_text(&mut ws).await, "4hello");
    assert_eq!(srv.rec.socket(&sid).transport(), TransportKind::WebSocket);
}
