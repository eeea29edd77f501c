//! The endpoints and shapes documents 000, 003 and 004 name, end to end:
//! `/api/socket/health`, `/api/socket-test` (GET and its three actions),
//! `/api/monitoring/test` and `POST /api/monitoring/log`,
//! `/api/settings/defaults`, and the details of the stats (handshake query,
//! the token's username and email, user ids with their JSON type, events
//! the server emits counted). Each with its bad input: a clear 4xx, the
//! server still usable.

mod common;

use common::{now, token, InProc, ADMIN_KEY, KEY, SECRET};
use serde_json::{json, Value};

async fn get(s: &InProc, path: &str, key: Option<&str>) -> (u16, Value) {
    let h: Vec<(&str, &str)> = key.map(|k| vec![("x-api-key", k)]).unwrap_or_default();
    let r = s.http("GET", path, &h, b"").await;
    (r.status, r.json())
}

async fn post(s: &InProc, path: &str, key: &str, body: Value) -> (u16, Value) {
    let r = s
        .http(
            "POST",
            path,
            &[("x-api-key", key), ("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await;
    (r.status, r.json())
}

#[tokio::test]
async fn socket_health_counts_sockets_and_rooms() {
    let s = InProc::start("").await;
    let (st, b) = get(&s, "/api/socket/health", None).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["status"], "ok");
    assert_eq!(
        b["socket"],
        json!({ "initialized": true, "connected": 0, "rooms": 0 })
    );
    let mut c = s.connected(None, None).await;
    let ack = c.emit_ack("join-room", json!(["lobby"])).await;
    assert_eq!(ack[0]["success"], true, "{ack:?}");
    let (_, b) = get(&s, "/api/socket/health", None).await;
    assert_eq!(b["socket"]["connected"], 1, "{b}");
    // The anonymous socket's role room and the joined room.
    assert_eq!(b["socket"]["rooms"], 2, "{b}");
    // With metrics behind a key, so is this.
    let s = InProc::start("[api]\nmetrics_require_key = true\n").await;
    assert_eq!(get(&s, "/api/socket/health", None).await.0, 401);
    assert_eq!(get(&s, "/api/socket/health", Some(KEY)).await.0, 200);
}

#[tokio::test]
async fn socket_test_reports_and_acts() {
    let s = InProc::start("").await;
    let mut u1 = s.connected(Some("u1"), None).await;
    let mut anon = s.connected(None, None).await;
    let (st, b) = get(&s, "/api/socket-test", Some(KEY)).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["available"], true);
    assert_eq!(b["connections"]["sockets"], 2);
    assert_eq!(b["connections"]["users"], 1);
    assert_eq!(b["namespaces"][0]["name"], "/");
    assert_eq!(b["capabilities"]["sendToUser"], true);
    assert_eq!(get(&s, "/api/socket-test", None).await.0, 401);

    let (st, b) = post(
        &s,
        "/api/socket-test",
        KEY,
        json!({ "action": "sendToUser", "targetUserId": "u1", "message": "hello" }),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["recipients"], 1);
    assert_eq!(b["targetUserId"], "u1");
    let m = u1.event("testMessage").await;
    assert_eq!(m[0]["message"], "hello");
    assert!(m[0]["timestamp"].is_u64());
    anon.none_before_ping("testMessage").await;

    let (_, b) = post(
        &s,
        "/api/socket-test",
        KEY,
        json!({ "action": "broadcast", "message": { "n": 1 } }),
    )
    .await;
    assert_eq!(b["recipients"], 2, "{b}");
    assert_eq!(
        anon.event("testMessage").await[0]["message"],
        json!({ "n": 1 })
    );
    u1.event("testMessage").await;

    let (_, b) = post(
        &s,
        "/api/socket-test",
        KEY,
        json!({ "action": "emitOnlineUsers" }),
    )
    .await;
    assert_eq!(b["users"], json!(["u1"]), "{b}");
    assert_eq!(anon.event("getOnlineUsers").await, vec![json!(["u1"])]);

    for (body, status, says) in [
        (json!({}), 400, "`action`"),
        (json!({ "action": "explode" }), 400, "sendToUser"),
        (json!({ "action": "sendToUser" }), 400, "targetUserId"),
        (
            json!({ "action": "sendToUser", "targetUserId": 1.5 }),
            400,
            "targetUserId",
        ),
        (
            json!({ "action": "broadcast", "event": "disconnect" }),
            400,
            "reserved",
        ),
        (
            json!({ "action": "broadcast", "namespace": "nowhere" }),
            404,
            "/nowhere",
        ),
    ] {
        let (st, b) = post(&s, "/api/socket-test", KEY, body.clone()).await;
        assert_eq!(st, status, "{body}: {b}");
        assert!(b["error"].as_str().unwrap().contains(says), "{body}: {b}");
    }
    // Still serving.
    post(
        &s,
        "/api/socket-test",
        KEY,
        json!({ "action": "sendToUser", "targetUserId": "u1" }),
    )
    .await;
    assert_eq!(u1.event("testMessage").await[0]["message"], "Test message");
}

#[tokio::test]
async fn monitoring_test_log_and_defaults() {
    let s = InProc::start("[namespaces.\"/admin\"]\n").await;
    let mut main = s.connected(None, None).await;
    let mut admin = s.client("/admin", json!({})).await;
    admin.connected().await;

    let (st, b) = post(&s, "/api/monitoring/test", ADMIN_KEY, json!({})).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["eventName"], "test");
    assert_eq!(b["recipients"], 1);
    assert_eq!(main.event("test").await[0]["message"], "Test event");
    // A namespace without its leading slash, as emitToNamespace takes it.
    let (_, b) = post(
        &s,
        "/api/monitoring/test",
        ADMIN_KEY,
        json!({ "eventName": "ping", "data": { "server": "p" }, "namespace": "admin" }),
    )
    .await;
    assert_eq!(
        b,
        json!({ "success": true, "eventName": "ping", "data": { "server": "p" }, "recipients": 1, "timestamp": b["timestamp"] })
    );
    assert_eq!(admin.event("ping").await, vec![json!({ "server": "p" })]);
    main.none_before_ping("ping").await;
    // The same for /api/broadcast.
    let r = s
        .api(
            "POST",
            "/api/broadcast",
            Some(json!({ "event": "stats:update", "namespace": "admin" })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 1, "{}", r.text());
    admin.event("stats:update").await;
    for (body, status) in [
        (json!({ "eventName": "connect" }), 400),
        (json!({ "eventName": "" }), 400),
        (json!({ "eventName": 5 }), 400),
        (json!({ "namespace": "/nowhere" }), 404),
    ] {
        assert_eq!(
            post(&s, "/api/monitoring/test", ADMIN_KEY, body.clone())
                .await
                .0,
            status,
            "{body}"
        );
    }
    assert_eq!(
        post(&s, "/api/monitoring/test", KEY, json!({})).await.0,
        403
    );

    // Events the server emits are counted with those it receives.
    let (_, ev) = get(&s, "/api/monitoring/events", Some(ADMIN_KEY)).await;
    assert_eq!(ev["eventsByType"]["test"], 1, "{ev}");
    assert_eq!(ev["eventsByType"]["stats:update"], 1, "{ev}");

    // logEvent, with event logging off.
    let (st, b) = post(
        &s,
        "/api/monitoring/log",
        ADMIN_KEY,
        json!({ "type": "custom-action", "data": { "userId": 123, "file": "report.pdf" } }),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["logged"], true);
    let (_, log) = get(&s, "/api/monitoring/log?limit=5", Some(ADMIN_KEY)).await;
    let last = log["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "custom-action", "{log}");
    assert_eq!(last["data"]["file"], "report.pdf");
    for body in [
        json!({}),
        json!({ "type": "" }),
        json!({ "type": 1 }),
        json!({ "type": "x".repeat(129) }),
    ] {
        let (st, b) = post(&s, "/api/monitoring/log", ADMIN_KEY, body).await;
        assert_eq!(st, 400, "{b}");
        assert!(b["error"].as_str().unwrap().contains("`type`"));
    }

    let (st, d) = get(&s, "/api/settings/defaults", Some(ADMIN_KEY)).await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["settings"]["server"]["port"], 3000);
    assert_eq!(d["settings"]["connection"]["max_connections"], 10_000);
    assert_eq!(d["settings"]["api"]["keys"], json!([]));
    assert_eq!(get(&s, "/api/settings/defaults", Some(KEY)).await.0, 403);
}

#[tokio::test]
async fn stats_sockets_carry_query_profile_and_typed_ids() {
    let s = InProc::start("").await;
    let t = now();
    let claims = json!({ "userId": 42, "username": "john_doe", "email": "j@example.com", "iat": t, "exp": t + 600 });
    let tok = socketio_server::jwt::sign(
        &claims,
        SECRET.as_bytes(),
        socketio_server::jwt::Algorithm::Hs256,
    );
    let mut c = s
        .client(
            "/",
            json!({ "auth": { "token": tok }, "query": { "room": "r 1", "app": "web" } }),
        )
        .await;
    c.connected().await;
    let mut q = s
        .client("/", json!({ "query": { "token": token("u7", None) } }))
        .await;
    q.connected().await;
    let (st, b) = get(&s, "/api/monitoring/stats", Some(ADMIN_KEY)).await;
    assert_eq!(st, 200, "{b}");
    let socks = b["sockets"].as_array().unwrap();
    let john = socks
        .iter()
        .find(|s| s["user"]["id"] == 42)
        .expect("numeric id");
    assert_eq!(john["user"]["username"], "john_doe");
    assert_eq!(john["user"]["email"], "j@example.com");
    assert_eq!(john["handshake"]["query"]["room"], "r 1");
    assert_eq!(john["handshake"]["query"]["app"], "web");
    assert_eq!(john["handshake"]["query"]["EIO"], "4");
    let u7 = socks
        .iter()
        .find(|s| s["user"]["id"] == "u7")
        .expect("string id");
    assert_eq!(u7["handshake"]["query"]["token"], "***", "{u7}");
    assert!(u7["user"].get("username").is_none());
    // The socket list shows the typed id too.
    let r = s.api("GET", "/api/sockets?userId=42", None).await;
    assert_eq!(r.json()["sockets"][0]["user"]["id"], 42, "{}", r.text());
}

#[tokio::test]
async fn settings_take_and_show_the_plugin_names() {
    let s = InProc::start("[namespaces.\"/admin\"]\n").await;
    let (_, b) = get(&s, "/api/settings", Some(ADMIN_KEY)).await;
    assert_eq!(
        b["pluginSettings"]["connection"]["maxConnections"], 10_000,
        "{b}"
    );
    assert_eq!(b["settings"]["connection"]["max_connections"], 10_000);
    let r = s
        .admin(
            "PATCH",
            "/api/settings",
            &json!({
                "connection": { "maxConnections": 2000 },
                "security": { "ipBlacklist": ["203.0.113.0/24"], "rateLimiting": { "maxEventsPerSecond": 7 } },
                "events": { "customEventNames": true, "presence": true },
                "rolePermissions": { "public": { "canConnect": true,
                    "contentTypes": { "api::article.article": { "create": true, "update": false, "delete": false } } } },
                "namespaces": { "list": { "admin": { "requireAuth": true } } },
                "monitoring": { "enableEventLogging": true }
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    let ours = &b["settings"];
    assert_eq!(ours["connection"]["max_connections"], 2000);
    assert_eq!(ours["security"]["ip_deny"], json!(["203.0.113.0/24"]));
    assert_eq!(ours["rate_limits"]["events_per_second"], 7);
    assert_eq!(ours["content"]["custom_event_names"], true);
    assert_eq!(
        ours["roles"]["public"]["content_types"]["article"]["create"],
        true
    );
    assert_eq!(ours["namespaces"]["/admin"]["require_auth"], true);
    assert_eq!(ours["monitoring"]["event_logging"], true);
    let plugin = &b["pluginSettings"];
    assert_eq!(plugin["security"]["ipBlacklist"], json!(["203.0.113.0/24"]));
    assert_eq!(plugin["namespaces"]["list"]["admin"]["requireAuth"], true);
    assert_eq!(
        plugin["rolePermissions"]["public"]["contentTypes"]["article"]["create"],
        true
    );
    // In force: /admin now needs a token.
    let mut c = s.client("/admin", json!({})).await;
    c.refused().await;
    // Disagreeing names and unknown plugin settings are refused.
    for patch in [
        json!({ "connection": { "maxConnections": 5, "max_connections": 6 } }),
        json!({ "rooms": { "autoJoinByRole": {} } }),
        json!({ "connection": { "maxConnections": "many" } }),
    ] {
        let r = s.admin("PATCH", "/api/settings", &patch).await;
        assert_eq!(r.status, 400, "{patch}: {}", r.text());
    }
    let (_, b) = get(&s, "/api/settings", Some(ADMIN_KEY)).await;
    assert_eq!(b["settings"]["connection"]["max_connections"], 2000);
}
