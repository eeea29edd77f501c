//! Issue #23, item 3: a request naming `transport`, `EIO` or `sid` more
//! than once is ambiguous; it gets 400 `{"code":3,"message":"Bad request"}`
//! and never opens or reaches a session.
mod common;
use common::*;

use serde_json::json;

fn assert_bad_request(r: &Resp) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), json!({"code": 3, "message": "Bad request"}));
}

#[tokio::test]
async fn repeated_parameters_on_a_handshake_open_no_session() {
    let srv = start(fast_config()).await;
    for target in [
        "/engine.io/?EIO=4&transport=polling&transport=polling",
        "/engine.io/?EIO=4&transport=polling&transport=websocket",
        "/engine.io/?EIO=4&EIO=4&transport=polling",
        "/engine.io/?EIO=3&transport=polling&EIO=4",
        "/engine.io/?EIO=4&transport=polling&sid=&sid=",
        "/engine.io/?EIO=4&transport=polling&%74ransport=polling",
    ] {
        let r = get(srv.addr, target).await;
        assert_bad_request(&r);
    }
    // The same upgrade request as a WebSocket handshake: no 101.
    let err = ws_connect(
        srv.addr,
        "/engine.io/?EIO=4&transport=websocket&transport=websocket",
    )
    .await
    .expect_err("refused");
    assert!(err.to_string().contains("400"), "{err}");
    assert_eq!(srv.engine.session_count(), 0);
    // Other parameters may repeat.
    let r = get(srv.addr, "/engine.io/?EIO=4&transport=polling&t=1&t=2").await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn repeated_sid_does_not_reach_the_session() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    let target = format!("/engine.io/?EIO=4&transport=polling&sid={sid}&sid={sid}");
    assert_bad_request(&get(srv.addr, &target).await);
    assert_bad_request(&post(srv.addr, &target, b"4hello").await);
    let ws = format!("/engine.io/?EIO=4&transport=websocket&sid={sid}&sid={sid}");
    assert!(ws_connect(srv.addr, &ws).await.is_err());
    // The session saw none of it and still works.
    assert_polls(srv.addr, &sid).await;
    assert_eq!(
        srv.rec.events(&sid),
        [Seen::Connect, Seen::Text("hi".into())]
    );
}
