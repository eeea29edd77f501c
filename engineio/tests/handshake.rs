//! Handshake over both transports and every handshake refusal.
mod common;
use common::*;

use engineio::{Cookie, Cors, CorsOrigins, Engine, EngineConfig, Refusal};

#[tokio::test]
async fn polling_handshake_has_exactly_the_spec_fields() {
    let srv = start(fast_config()).await;
    let r = get(srv.addr, &eio(None, "polling")).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let (sid, v) = open_polling(srv.addr).await;
    let obj = v.as_object().unwrap();
    let mut keys: Vec<_> = obj.keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(sid.len(), 20);
    assert!(sid
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    assert_eq!(v["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(v["pingInterval"], 300);
    assert_eq!(v["pingTimeout"], 200);
    assert_eq!(v["maxPayload"], 1_000_000);
}

#[tokio::test]
async fn websocket_handshake_offers_no_upgrades() {
    let srv = start(fast_config()).await;
    let mut ws = ws_connect(srv.addr, &eio(None, "websocket")).await.unwrap();
    let open = ws_text(&mut ws).await;
    let v: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    assert_eq!(v["upgrades"], serde_json::json!([]));
    assert_eq!(v["pingInterval"], 300);
}

#[tokio::test]
async fn invalid_eio_is_unsupported_protocol_version() {
    let srv = start(fast_config()).await;
    for q in [
        "/engine.io/?transport=polling",
        "/engine.io/?EIO=abc&transport=polling",
        "/engine.io/?EIO=3&transport=polling",
    ] {
        get(srv.addr, q).await.assert_error(400, 5);
    }
    assert!(ws_connect(srv.addr, "/engine.io/?transport=websocket")
        .await
        .is_err());
    assert!(
        ws_connect(srv.addr, "/engine.io/?EIO=abc&transport=websocket")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn invalid_transport_is_transport_unknown() {
    let srv = start(fast_config()).await;
    for q in ["/engine.io/?EIO=4", "/engine.io/?EIO=4&transport=abc"] {
        get(srv.addr, q).await.assert_error(400, 0);
    }
    assert!(ws_connect(srv.addr, "/engine.io/?EIO=4").await.is_err());
    assert!(ws_connect(srv.addr, "/engine.io/?EIO=4&transport=abc")
        .await
        .is_err());
}

#[tokio::test]
async fn disabled_transport_is_transport_unknown() {
    let cfg = fast_config().transports(engineio::Transports {
        polling: false,
        websocket: true,
    });
    let srv = start(cfg).await;
    get(srv.addr, &eio(None, "polling"))
        .await
        .assert_error(400, 0);
    open_ws(srv.addr).await;
}

#[tokio::test]
async fn handshake_must_be_get() {
    let srv = start(fast_config()).await;
    for m in ["POST", "PUT", "DELETE"] {
        request(srv.addr, m, &eio(None, "polling"), &[], b"")
            .await
            .assert_error(400, 2);
    }
}

#[tokio::test]
async fn unknown_or_malformed_sid() {
    let srv = start(fast_config()).await;
    get(srv.addr, &eio(Some("AAAAAAAAAAAAAAAAAAAA"), "polling"))
        .await
        .assert_error(400, 1);
    post(srv.addr, &eio(Some("nope"), "polling"), b"4x")
        .await
        .assert_error(400, 1);
    assert!(
        ws_connect(srv.addr, &eio(Some("AAAAAAAAAAAAAAAAAAAA"), "websocket"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn websocket_transport_without_upgrade_headers_is_bad_request() {
    let srv = start(fast_config()).await;
    get(srv.addr, &eio(None, "websocket"))
        .await
        .assert_error(400, 3);
}

#[tokio::test]
async fn other_paths_are_not_found() {
    let srv = start(fast_config()).await;
    assert_eq!(
        get(srv.addr, "/other/?EIO=4&transport=polling")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn allow_request_hook_sees_request_and_refuses() {
    let rec = Recorder::default();
    let engine = Engine::builder(fast_config())
        .allow_request(|info| async move {
            assert_eq!(info.path, "/engine.io/");
            assert!(info.peer.is_some_and(|p| p.ip().is_loopback()));
            match info.headers.get("x-token").map(|v| v.as_bytes()) {
                Some(b"good") => Ok(()),
                _ => Err(Refusal::forbidden("no token")),
            }
        })
        .build(rec.clone());
    let srv = start_engine(engine, rec).await;
    let r = get(srv.addr, &eio(None, "polling")).await;
    r.assert_error(403, 4);
    assert_eq!(r.json()["message"], "no token");
    let r = request(
        srv.addr,
        "GET",
        &eio(None, "polling"),
        &[("x-token", "good")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(ws_connect(srv.addr, &eio(None, "websocket")).await.is_err());
}

#[tokio::test]
async fn session_cap_refuses_with_503() {
    let srv = start(fast_config().max_sessions(1)).await;
    open_polling(srv.addr).await;
    let r = get(srv.addr, &eio(None, "polling")).await;
    assert_eq!(r.status, 503);
    assert_eq!(srv.engine.session_count(), 1);
}

#[tokio::test]
async fn io_cookie_when_configured() {
    let srv = start(fast_config()).await;
    assert!(get(srv.addr, &eio(None, "polling"))
        .await
        .header("set-cookie")
        .is_none());
    let srv = start(fast_config().cookie(Some(Cookie::default()))).await;
    let r = get(srv.addr, &eio(None, "polling")).await;
    let sid = serde_json::from_str::<serde_json::Value>(&r.text()[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        r.header("set-cookie").unwrap(),
        format!("io={sid}; Path=/; HttpOnly; SameSite=Lax")
    );
}

#[tokio::test]
async fn cors_reflects_allowed_origins_and_answers_preflight() {
    let cors = Cors {
        origins: CorsOrigins::List(vec!["http://app.test".into()]),
        credentials: true,
        ..Cors::default()
    };
    let srv = start(EngineConfig::default().cors(cors)).await;
    let r = request(
        srv.addr,
        "GET",
        &eio(None, "polling"),
        &[("Origin", "http://app.test")],
        b"",
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.test")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let r = request(
        srv.addr,
        "GET",
        &eio(None, "polling"),
        &[("Origin", "http://evil.test")],
        b"",
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = request(
        srv.addr,
        "OPTIONS",
        &eio(None, "polling"),
        &[
            ("Origin", "http://app.test"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type")
    );
    // Errors carry CORS headers too, so browsers can read them.
    let r = request(
        srv.addr,
        "GET",
        "/engine.io/?EIO=4",
        &[("Origin", "http://app.test")],
        b"",
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.test")
    );
}
