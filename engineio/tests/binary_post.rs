//! Issue #23, item 2: EIO=4 polling payloads are text; a POST declaring
//! `Content-Type: application/octet-stream` gets what the reference server
//! answers (`res.writeHead(400).end()`: 400, no body) and its session ends
//! with a transport error.
mod common;
use common::*;

use engineio::CloseReason;

#[tokio::test]
async fn octet_stream_post_is_refused_with_an_empty_400() {
    for content_type in [
        "application/octet-stream",
        "Application/Octet-Stream; charset=binary",
    ] {
        let srv = start(fast_config()).await;
        let (sid, _) = open_polling(srv.addr).await;
        let r = request(
            srv.addr,
            "POST",
            &eio(Some(&sid), "polling"),
            &[("Content-Type", content_type)],
            b"4hello",
        )
        .await;
        assert_eq!(r.status, 400, "{content_type}: {}", r.text());
        assert!(r.body.is_empty(), "{content_type}: {}", r.text());
        assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportError);
        assert!(
            !srv.rec.events(&sid).contains(&Seen::Text("hello".into())),
            "the body is not delivered"
        );
    }
}

#[tokio::test]
async fn text_posts_are_unaffected() {
    let srv = start(fast_config()).await;
    let (sid, _) = open_polling(srv.addr).await;
    for content_type in ["text/plain;charset=UTF-8", "application/octet-streamx"] {
        let r = request(
            srv.addr,
            "POST",
            &eio(Some(&sid), "polling"),
            &[("Content-Type", content_type)],
            b"4hi",
        )
        .await;
        assert_eq!((r.status, r.text().as_str()), (200, "ok"), "{content_type}");
    }
    assert_eq!(
        get(srv.addr, &eio(Some(&sid), "polling")).await.text(),
        "4hi\x1e4hi"
    );
}
