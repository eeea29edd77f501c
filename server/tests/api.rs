//! The HTTP API end to end: every route's success and error bodies, API
//! keys, request signing with replay protection, rate limits, admin
//! settings that take effect at once, monitoring, health and readiness.

mod common;

use std::time::Duration;

use common::{token, InProc, Server, ADMIN_KEY, KEY};
use serde_json::{json, Value};

fn assert_error(r: &common::HttpResponse, status: u16, code: &str) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    let b = r.json();
    assert_eq!(b["success"], false, "{b}");
    assert_eq!(b["code"], code, "{b}");
    assert!(b["error"].as_str().is_some_and(|e| !e.is_empty()), "{b}");
    assert!(
        b["requestId"].as_str().is_some_and(|e| !e.is_empty()),
        "{b}"
    );
    assert_eq!(r.header("x-request-id"), b["requestId"].as_str());
    b
}

#[tokio::test]
async fn push_broadcast_room_and_status() {
    let s = Server::start("").await;
    let mut a = s
        .client("/", json!({ "auth": { "token": token("alice", None) } }))
        .await;
    a.connected().await;
    let mut b = s.client("/", json!({ "transports": ["websocket"] })).await;
    b.connected().await;
    let r = s
        .api(
            "POST",
            "/api/broadcast",
            Some(json!({ "event": "news", "data": { "x": 1 } })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["success"], true);
    assert_eq!(body["recipients"], 2);
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(a.event("news").await, vec![json!({ "x": 1 })]);
    assert_eq!(b.event("news").await, vec![json!({ "x": 1 })]);

    let r = s
        .api(
            "POST",
            "/api/push",
            Some(json!({ "userId": "alice", "event": "dm", "data": "hi" })),
        )
        .await;
    assert_eq!(r.json()["delivered"], true);
    assert_eq!(a.event("dm").await, vec![json!("hi")]);
    // The push was delivered before the API answered: b's ping answer
    // comes after anything sent to b before it.
    b.none_before_ping("dm").await;
    let r = s
        .api(
            "POST",
            "/api/push",
            Some(json!({ "userId": "nobody", "event": "dm" })),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["delivered"], false);

    // Rooms: the per-user room, and with no data the event has no argument.
    let r = s
        .api(
            "POST",
            "/api/room",
            Some(json!({ "room": "user_alice", "event": "ping-room" })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 1);
    assert_eq!(a.event("ping-room").await, Vec::<Value>::new());
    let r = s
        .api(
            "POST",
            "/api/room",
            Some(json!({ "room": "empty", "event": "x" })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 0);

    let r = s.api("GET", "/api/status", None).await;
    assert_eq!(r.status, 200);
    let st = r.json();
    assert_eq!(st["success"], true);
    assert_eq!(st["status"], "ok");
    assert_eq!(st["connections"], 2);
    assert!(st["rooms"].as_u64().unwrap() >= 1, "{st}");
    assert!(st["memory"]["rss"].as_u64().unwrap() > 0, "{st}");
    for k in ["heapTotal", "heapUsed", "external", "uptime", "timestamp"] {
        assert!(!st["memory"][k].is_null() || !st[k].is_null(), "{k}: {st}");
    }
}

#[tokio::test]
async fn request_errors_have_the_documented_shape() {
    let s = Server::start("[api]\nmax_body_bytes = 200\n").await;
    let no_key = s.http("GET", "/api/status", &[], b"").await;
    assert_error(&no_key, 401, "UNAUTHORIZED");
    let bad_key = s
        .http(
            "GET",
            "/api/status",
            &[("x-api-key", "wrong-key-000000000000")],
            b"",
        )
        .await;
    assert_error(&bad_key, 401, "INVALID_API_KEY");
    let h = [("x-api-key", KEY), ("content-type", "application/json")];
    assert_error(
        &s.http("POST", "/api/broadcast", &h, b"{not json").await,
        400,
        "INVALID_REQUEST",
    );
    assert_error(
        &s.http("POST", "/api/broadcast", &h, b"[1,2]").await,
        400,
        "INVALID_REQUEST",
    );
    assert_error(
        &s.http("POST", "/api/broadcast", &h, br#"{"event":5}"#)
            .await,
        400,
        "INVALID_REQUEST",
    );
    assert_error(
        &s.http("POST", "/api/broadcast", &h, br#"{"event":"connect"}"#)
            .await,
        400,
        "INVALID_REQUEST",
    );
    assert_error(
        &s.http("POST", "/api/push", &h, br#"{"event":"e","userId":{}}"#)
            .await,
        400,
        "INVALID_REQUEST",
    );
    assert_error(
        &s.http("POST", "/api/room", &h, br#"{"event":"e"}"#).await,
        400,
        "INVALID_REQUEST",
    );
    assert_error(
        &s.http(
            "POST",
            "/api/broadcast",
            &h,
            br#"{"event":"e","namespace":"/nope"}"#,
        )
        .await,
        404,
        "NOT_FOUND",
    );
    let big = format!(r#"{{"event":"e","data":"{}"}}"#, "x".repeat(500));
    assert_error(
        &s.http("POST", "/api/broadcast", &h, big.as_bytes()).await,
        413,
        "PAYLOAD_TOO_LARGE",
    );
    let not_allowed = s.http("GET", "/api/push", &h, b"").await;
    assert_error(&not_allowed, 405, "METHOD_NOT_ALLOWED");
    // RFC 9110: a 405 says which methods the target takes (schemathesis
    // found it missing).
    assert_eq!(not_allowed.header("allow"), Some("POST"));
    let settings = s.http("DELETE", "/api/settings", &h, b"").await;
    assert_eq!(settings.status, 405);
    assert_eq!(settings.header("allow"), Some("GET, PATCH"));
    assert_error(
        &s.http("GET", "/api/nothing", &h, b"").await,
        404,
        "NOT_FOUND",
    );
    assert_error(
        &s.http("GET", "/elsewhere", &[], b"").await,
        404,
        "NOT_FOUND",
    );
    // Admin routes need an admin key.
    assert_error(
        &s.http("GET", "/api/settings", &h, b"").await,
        403,
        "FORBIDDEN",
    );
    // A chunked body (no Content-Length) over the limit is cut off too.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
        .await
        .unwrap();
    let chunk = "x".repeat(300);
    let req = format!(
        "POST /api/broadcast HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-api-key: {KEY}\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    c.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("PAYLOAD_TOO_LARGE"), "{text}");
}

fn signed(method: &str, path: &str, key: &str, ts: u64, nonce: &str) -> Vec<(String, String)> {
    let sig =
        socketio_server::signing::signature(key.as_bytes(), method, path, &ts.to_string(), nonce);
    vec![
        ("x-api-key".into(), key.into()),
        ("x-request-timestamp".into(), ts.to_string()),
        ("x-request-nonce".into(), nonce.into()),
        ("x-signature-version".into(), "v1".into()),
        ("x-signature".into(), sig),
    ]
}

fn ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn signed_requests_and_replays() {
    let s = Server::start("[api]\nrequire_signature = true\nsignature_window_secs = 60\n").await;
    let get = |h: Vec<(String, String)>| {
        let s = &s;
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            s.http("GET", "/api/status", &h, b"").await
        }
    };
    let h = signed("GET", "/api/status", KEY, ms(), "nonce-1");
    assert_eq!(get(h.clone()).await.status, 200);
    // The same request again is a replay.
    let b = assert_error(&get(h).await, 401, "UNAUTHORIZED");
    assert!(
        b["error"].as_str().unwrap().contains("NONCE_REUSED")
            || b["error"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("replay"),
        "{b}"
    );
    // Unsigned, stale, future, wrong signature, wrong version, other path.
    assert_error(
        &s.http("GET", "/api/status", &[("x-api-key", KEY)], b"")
            .await,
        401,
        "UNAUTHORIZED",
    );
    assert_error(
        &get(signed("GET", "/api/status", KEY, ms() - 120_000, "n-2")).await,
        401,
        "UNAUTHORIZED",
    );
    assert_error(
        &get(signed("GET", "/api/status", KEY, ms() + 120_000, "n-3")).await,
        401,
        "UNAUTHORIZED",
    );
    let mut h = signed("GET", "/api/status", KEY, ms(), "n-4");
    h[4].1 = "00".repeat(32);
    assert_error(&get(h).await, 401, "UNAUTHORIZED");
    let mut h = signed("GET", "/api/status", KEY, ms(), "n-5");
    h[3].1 = "v2".into();
    assert_error(&get(h).await, 401, "UNAUTHORIZED");
    assert_error(
        &get(signed("GET", "/api/push", KEY, ms(), "n-6")).await,
        401,
        "UNAUTHORIZED",
    );
    // A refused forgery did not burn its nonce: the genuine request passes.
    assert_eq!(
        get(signed("GET", "/api/status", KEY, ms(), "n-4"))
            .await
            .status,
        200
    );
    // Signed POST with a body.
    let h = signed("POST", "/api/broadcast", KEY, ms(), "n-7");
    let mut hh: Vec<(&str, &str)> = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    hh.push(("content-type", "application/json"));
    let r = s
        .http("POST", "/api/broadcast", &hh, br#"{"event":"e"}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn api_rate_limit_per_key_with_retry_after() {
    let s = InProc::start("[rate_limits]\napi_requests_per_minute = 3\nwindow_secs = 2\n").await;
    for _ in 0..3 {
        assert_eq!(s.api("GET", "/api/status", None).await.status, 200);
    }
    let r = s.api("GET", "/api/status", None).await;
    assert_eq!(r.status, 429);
    let b = r.json();
    assert_eq!(
        b,
        json!({ "success": false, "error": "Rate limit exceeded", "code": "RATE_LIMITED", "retryAfter": b["retryAfter"], "requestId": b["requestId"] })
    );
    assert!(b["retryAfter"].as_u64().unwrap() >= 1);
    assert!(r.header("retry-after").is_some());
    // Another key has its own budget.
    let r = s
        .http("GET", "/api/status", &[("x-api-key", ADMIN_KEY)], b"")
        .await;
    assert_eq!(r.status, 200);
    s.clock.advance(Duration::from_millis(1900));
    assert_eq!(s.api("GET", "/api/status", None).await.status, 429);
    s.clock.advance(Duration::from_millis(2200));
    assert_eq!(s.api("GET", "/api/status", None).await.status, 200);
    let m = s.http("GET", "/metrics", &[], b"").await.text();
    assert!(
        m.contains("socket_server_rate_limited_total{limit=\"api\"} 2"),
        "{m}"
    );
}

#[tokio::test]
async fn settings_change_at_run_time() {
    let s = Server::start("").await;
    let admin = |m: &'static str, body: Option<Value>| {
        let s = &s;
        async move {
            let b = body.map(|b| b.to_string()).unwrap_or_default();
            s.http(
                m,
                "/api/settings",
                &[
                    ("x-api-key", ADMIN_KEY),
                    ("content-type", "application/json"),
                ],
                b.as_bytes(),
            )
            .await
        }
    };
    let r = admin("GET", None).await;
    assert_eq!(r.status, 200);
    let t = r.text();
    assert!(!t.contains(KEY) && !t.contains(common::SECRET), "{t}");
    assert_eq!(
        r.json()["settings"]["rate_limits"]["events_per_minute"],
        1000
    );

    let mut c = s.client("/", json!({})).await;
    c.connected().await;
    c.emit("x", json!([1])).await;
    c.emit("x", json!([2])).await;
    c.none_before_ping("error").await;
    let r = admin(
        "PATCH",
        Some(json!({ "rate_limits": { "events_per_second": 1 } })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["settings"]["rate_limits"]["events_per_second"], 1);
    c.emit("x", json!([3])).await;
    c.emit("x", json!([4])).await;
    assert_eq!(c.event("error").await[0]["code"], "RATE_LIMITED");

    // max_connections and CORS change too; static keys are refused.
    let r = admin("PATCH", Some(json!({ "connection": { "max_connections": 1 }, "cors": { "origins": ["https://app.example"] } }))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        s.http("GET", "/socket.io/?EIO=4&transport=polling", &[], b"")
            .await
            .status,
        503
    );
    let r = s
        .http("GET", "/health", &[("origin", "https://app.example")], b"")
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_error(
        &admin("PATCH", Some(json!({ "server": { "port": 1 } }))).await,
        400,
        "INVALID_REQUEST",
    );
    assert_error(
        &admin("PATCH", Some(json!({ "rate_limits": { "nope": 1 } }))).await,
        400,
        "INVALID_REQUEST",
    );
    assert_error(
        &admin("PATCH", Some(json!({ "security": { "ip_deny": ["bad"] } }))).await,
        400,
        "INVALID_REQUEST",
    );
}

#[tokio::test]
async fn monitoring_routes() {
    let s = Server::start("[monitoring]\nevent_logging = true\n").await;
    let mut c = s
        .client(
            "/",
            json!({ "auth": { "token": token("m1", Some("editor")) } }),
        )
        .await;
    let id = c.connected().await;
    c.emit("hello", json!([{ "secret": "payload-not-logged" }]))
        .await;
    c.emit("hello", json!([2])).await;
    // Recorded when they arrived, before the ping that follows is answered.
    c.emit_ack("ping", json!([])).await;
    let get = |p: &'static str| {
        let s = &s;
        async move { s.http("GET", p, &[("x-api-key", ADMIN_KEY)], b"").await }
    };
    let st = get("/api/monitoring/stats").await.json();
    assert_eq!(st["connected"], 1, "{st}");
    assert_eq!(st["sockets"][0]["id"], id.as_str());
    assert_eq!(st["sockets"][0]["user"]["id"], "m1");
    assert_eq!(st["sockets"][0]["user"]["role"], "editor");
    assert!(
        st["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "user_m1" && r["members"] == 1),
        "{st}"
    );
    let ev = get("/api/monitoring/events").await.json();
    assert_eq!(ev["eventsByType"]["hello"], 2, "{ev}");
    assert_eq!(ev["eventsByType"]["ping"], 1, "{ev}");
    assert_eq!(ev["totalEvents"], 3);
    let log = get("/api/monitoring/log").await;
    let t = log.text();
    assert!(
        t.contains("\"hello\"") && !t.contains("payload-not-logged"),
        "{t}"
    );
    let r = s
        .http(
            "POST",
            "/api/monitoring/reset",
            &[("x-api-key", ADMIN_KEY)],
            b"",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(get("/api/monitoring/events").await.json()["totalEvents"], 0);
    assert_error(
        &s.http(
            "GET",
            "/api/monitoring/log?limit=x",
            &[("x-api-key", ADMIN_KEY)],
            b"",
        )
        .await,
        400,
        "INVALID_REQUEST",
    );
}

#[tokio::test]
async fn content_type_events_follow_role_permissions() {
    let s = Server::start("[roles.public.content_types.article]\ncreate = true\n[roles.editor.content_types.article]\ncreate = true\nupdate = true\ndelete = true\n[roles.public.content_types.comment]\ncreate = true\n").await;
    let mut anon = s.connected(None, None).await;
    let mut ed = s.connected(Some("e"), Some("editor")).await;
    let r = s
        .api(
            "POST",
            "/api/broadcast",
            Some(json!({ "event": "article:create", "data": { "id": 1 } })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 2);
    assert!(anon.gets_within("article:create", 2000).await);
    assert!(ed.gets_within("article:create", 2000).await);
    let r = s
        .api(
            "POST",
            "/api/broadcast",
            Some(json!({ "event": "article:delete", "data": { "id": 1 } })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 1);
    assert!(ed.gets_within("article:delete", 2000).await);
    anon.none_before_ping("article:delete").await;
    // An action no role may receive reaches nobody, not even through a
    // push to one user.
    let r = s
        .api(
            "POST",
            "/api/push",
            Some(json!({ "userId": "e", "event": "comment:delete", "data": 1 })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 0, "{}", r.text());
    // Events of types no role mentions go to everyone.
    let r = s
        .api(
            "POST",
            "/api/broadcast",
            Some(json!({ "event": "page:update" })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 2);
}

#[tokio::test]
async fn health_ready_and_openapi() {
    let s = Server::start("").await;
    let h = s.http("GET", "/health", &[], b"").await;
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["status"], "ok");
    let r = s.http("GET", "/ready", &[], b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ready"], true);
    let o = s.http("GET", "/api/openapi.json", &[], b"").await;
    assert_eq!(o.status, 200);
    let spec = o.json();
    assert_eq!(spec["openapi"], "3.0.3");
    for p in [
        "/api/push",
        "/api/broadcast",
        "/api/room",
        "/api/status",
        "/api/settings",
        "/health",
        "/ready",
        "/metrics",
    ] {
        assert!(
            spec["paths"][p].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }
}
