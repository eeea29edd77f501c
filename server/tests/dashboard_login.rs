//! The dashboard's username and password login (`[admin_ui]`
//! credentials): `POST /api/dashboard/login` answers a token that opens the
//! dashboard's routes and `/api/socket-test` as `Authorization: Bearer`
//! (and nothing else), expires after `dashboard.session_ttl_secs`, is
//! revoked by `POST /api/dashboard/logout`; failed logins are limited per
//! address (429 + `Retry-After`) and counted in the dashboard's
//! rejections; read-only mode refuses the test actions; without
//! `[admin_ui]` the login is 404.

mod common;

use std::time::Duration;

use common::{InProc, ADMIN_KEY, ADMIN_UI, KEY};
use serde_json::{json, Value};

const POLLING: &str = "[rate_limits]\napi_requests_per_minute = 1000000\n";

const READ_ROUTES: [&str; 3] = [
    "/api/dashboard/overview",
    "/api/dashboard/history",
    "/api/dashboard/events",
];

async fn start(extra: &str) -> InProc {
    InProc::start(&format!("{POLLING}{ADMIN_UI}{extra}")).await
}

async fn login(s: &InProc, user: &str, password: &str) -> common::HttpResponse {
    let body = json!({ "username": user, "password": password }).to_string();
    s.http(
        "POST",
        "/api/dashboard/login",
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await
}

/// A token for the right credentials.
async fn token(s: &InProc) -> String {
    let r = login(s, "admin", "secret").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["tokenType"], "Bearer");
    assert_eq!(b["expiresIn"], 3600);
    b["token"].as_str().unwrap().to_owned()
}

async fn get(s: &InProc, path: &str, token: &str) -> common::HttpResponse {
    let auth = format!("Bearer {token}");
    s.http("GET", path, &[("authorization", &auth)], b"").await
}

async fn test_action(s: &InProc, token: &str) -> common::HttpResponse {
    let auth = format!("Bearer {token}");
    let body = json!({ "action": "broadcast", "message": "hi" }).to_string();
    s.http(
        "POST",
        "/api/socket-test",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await
}

async fn overview(s: &InProc) -> Value {
    s.overview().await
}

#[tokio::test]
async fn the_page_learns_that_logins_are_on() {
    let s = start("").await;
    let r = s.http("GET", "/api/dashboard/login", &[], b"").await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["available"], true);
    assert_eq!(b["readOnly"], false);
    assert_eq!(b["sessionTtlSecs"], 3600);
}

#[tokio::test]
async fn a_token_opens_the_read_routes_and_the_test_actions_only() {
    let s = start("").await;
    let t = token(&s).await;
    for path in READ_ROUTES {
        let r = get(&s, path, &t).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    assert_eq!(get(&s, "/api/socket-test", &t).await.status, 200);
    let mut c = s.connected(Some("u1"), None).await;
    let r = test_action(&s, &t).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["recipients"], 1);
    let got = c.event("testMessage").await;
    assert_eq!(got[0]["message"], "hi");
    // Not a key: the other routes, admin or not, refuse it.
    for path in ["/api/settings", "/api/status", "/api/monitoring/stats"] {
        assert_eq!(get(&s, path, &t).await.status, 401, "{path}");
    }
    // An unknown token is refused and counted.
    let r = get(&s, READ_ROUTES[0], &"0".repeat(64)).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        overview(&s).await["rejections"]["auth"]["INVALID_SESSION"],
        1
    );
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_counted() {
    let s = start("").await;
    for (user, password) in [("admin", "wrong"), ("root", "secret"), ("", "")] {
        let r = login(&s, user, password).await;
        assert_eq!(r.status, 401, "{user}");
        assert_eq!(r.json()["code"], "INVALID_CREDENTIALS");
    }
    for body in [
        r#"{"username":"admin"}"#,
        r#"{"username":1,"password":"x"}"#,
    ] {
        let r = s
            .http("POST", "/api/dashboard/login", &[], body.as_bytes())
            .await;
        assert_eq!(r.status, 400, "{body}");
    }
    let long = json!({ "username": "admin", "password": "x".repeat(2000) }).to_string();
    let r = s
        .http("POST", "/api/dashboard/login", &[], long.as_bytes())
        .await;
    assert_eq!(r.status, 400);
    let o = overview(&s).await;
    assert_eq!(o["rejections"]["auth"]["INVALID_CREDENTIALS"], 3);
}

#[tokio::test]
async fn a_token_expires_after_the_ttl() {
    let s = start("[dashboard]\nsession_ttl_secs = 60\n").await;
    let r = login(&s, "admin", "secret").await;
    assert_eq!(r.json()["expiresIn"], 60);
    let t = r.json()["token"].as_str().unwrap().to_owned();
    s.clock.advance(Duration::from_secs(59));
    assert_eq!(get(&s, READ_ROUTES[0], &t).await.status, 200);
    s.clock.advance(Duration::from_secs(1));
    assert_eq!(get(&s, READ_ROUTES[0], &t).await.status, 401);
    assert_eq!(test_action(&s, &t).await.status, 401);
}

#[tokio::test]
async fn logout_revokes_the_token() {
    let s = start("").await;
    let t = token(&s).await;
    let other = token(&s).await;
    let auth = format!("Bearer {t}");
    let r = s
        .http(
            "POST",
            "/api/dashboard/logout",
            &[("authorization", &auth)],
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["revoked"], true);
    for path in READ_ROUTES {
        assert_eq!(get(&s, path, &t).await.status, 401, "{path}");
    }
    assert_eq!(get(&s, READ_ROUTES[0], &other).await.status, 200);
    // With a key there is nothing to revoke.
    let r = s
        .http(
            "POST",
            "/api/dashboard/logout",
            &[("x-api-key", ADMIN_KEY)],
            b"",
        )
        .await;
    assert_eq!(r.json()["revoked"], false);
    let r = s
        .http("POST", "/api/dashboard/logout", &[("x-api-key", KEY)], b"")
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn failed_logins_are_limited_per_address() {
    let s = start("").await;
    for i in 0..5 {
        assert_eq!(login(&s, "admin", "wrong").await.status, 401, "attempt {i}");
    }
    // Over the limit even the right password is refused, before bcrypt.
    let r = login(&s, "admin", "secret").await;
    assert_eq!(r.status, 429, "{}", r.text());
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(r.json()["code"], "RATE_LIMITED");
    let o = overview(&s).await;
    assert_eq!(o["rejections"]["rateLimited"]["dashboard_login"], 1);
    assert_eq!(o["rejections"]["auth"]["INVALID_CREDENTIALS"], 5);
    // Two windows later the address starts afresh.
    s.clock.advance(Duration::from_secs(121));
    assert_eq!(login(&s, "admin", "secret").await.status, 200);
}

#[tokio::test]
async fn the_limit_is_a_knob() {
    let s = start("[dashboard]\nlogin_failures_per_minute = 1\n").await;
    assert_eq!(login(&s, "admin", "wrong").await.status, 401);
    assert_eq!(login(&s, "admin", "wrong").await.status, 429);
}

#[tokio::test]
async fn read_only_refuses_the_test_actions() {
    let s = start("read_only = true\n").await;
    let info = s.http("GET", "/api/dashboard/login", &[], b"").await.json();
    assert_eq!(info["readOnly"], true);
    let t = token(&s).await;
    assert_eq!(get(&s, READ_ROUTES[0], &t).await.status, 200);
    let r = test_action(&s, &t).await;
    assert_eq!(r.status, 403, "{}", r.text());
    // An admin key is not affected.
    let body = json!({ "action": "broadcast" }).to_string();
    let r = s
        .http(
            "POST",
            "/api/socket-test",
            &[("x-api-key", ADMIN_KEY)],
            body.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn without_admin_ui_there_is_no_login() {
    let s = InProc::start(POLLING).await;
    let info = s.http("GET", "/api/dashboard/login", &[], b"").await;
    assert_eq!(info.status, 200);
    assert_eq!(info.json()["available"], false);
    let r = login(&s, "admin", "secret").await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = get(&s, READ_ROUTES[0], &"0".repeat(64)).await;
    assert_eq!(r.status, 401);
    let off = InProc::start(&format!("{ADMIN_UI}[dashboard]\nenabled = false\n")).await;
    assert_eq!(login(&off, "admin", "secret").await.status, 404);
    let r = off.http("GET", "/api/dashboard/login", &[], b"").await;
    assert_eq!(r.status, 404);
}

/// The Admin UI's own logins (`/admin` namespace) have the same kind of
/// limit: `admin_ui.login_failures_per_minute` failures per address, then
/// even the right password is refused until the minute ends.
#[tokio::test]
async fn the_admin_ui_namespace_limits_failed_logins_too() {
    let s = start("login_failures_per_minute = 2\n").await;
    let try_login = |password: &'static str| {
        let s = &s;
        async move {
            let opts = json!({ "auth": { "username": "admin", "password": password } });
            let mut c = s.client("/admin", opts).await;
            let v = c
                .expect(20, "connect or refusal", |v| {
                    v["type"] == "connect" || v["type"] == "connect_error"
                })
                .await;
            c.disconnect().await;
            v
        }
    };
    assert_eq!(try_login("secret").await["type"], "connect");
    for _ in 0..2 {
        let v = try_login("wrong").await;
        assert_eq!(v["message"], "invalid credentials", "{v}");
    }
    let v = try_login("secret").await;
    assert_eq!(v["type"], "connect_error", "{v}");
    assert_eq!(v["message"], "too many failed logins", "{v}");
    // Both kinds of refusal are counted in /metrics and the dashboard.
    let metrics = s.http("GET", "/metrics", &[], b"").await.text();
    for line in [
        r#"socket_server_auth_failures_total{reason="ADMIN_INVALID_CREDENTIALS"} 2"#,
        r#"socket_server_auth_failures_total{reason="ADMIN_TOO_MANY_FAILURES"} 1"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    let auth = &overview(&s).await["rejections"]["auth"];
    assert_eq!(auth["ADMIN_INVALID_CREDENTIALS"], 2, "{auth}");
}
