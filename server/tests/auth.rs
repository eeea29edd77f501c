//! JWT authentication and role permissions, end to end with socket.io-client.

mod common;

use common::{now, token, Server, SECRET};
use serde_json::json;

const CONFIG: &str = r#"
[namespaces."/admin"]
require_auth = true
[namespaces."/open"]
[roles.banned]
can_connect = false
[roles.viewer]
namespaces = ["/", "/open"]
"#;

fn sign(claims: serde_json::Value) -> String {
    socketio_server::jwt::sign(
        &claims,
        SECRET.as_bytes(),
        socketio_server::jwt::Algorithm::Hs256,
    )
}

#[tokio::test]
async fn tokens_from_auth_query_and_header_reach_the_user_room() {
    let s = Server::start(CONFIG).await;
    let t = token("u1", None);
    let mut a = s.client("/", json!({ "auth": { "token": t } })).await;
    a.connected().await;
    let mut b = s
        .client(
            "/",
            json!({ "query": { "token": t }, "transports": ["websocket"] }),
        )
        .await;
    b.connected().await;
    let mut c = s
        .client("/", json!({ "extraHeaders": { "Authorization": format!("Bearer {t}") }, "transports": ["polling"] }))
        .await;
    c.connected().await;
    // Every device of u1 gets a push; an anonymous socket does not.
    let mut anon = s.client("/", json!({})).await;
    anon.connected().await;
    let r = s
        .api(
            "POST",
            "/api/push",
            Some(json!({ "userId": "u1", "event": "note", "data": { "n": 1 } })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["recipients"], 3);
    assert_eq!(r.json()["delivered"], true);
    for cl in [&mut a, &mut b, &mut c] {
        assert_eq!(cl.event("note").await, vec![json!({ "n": 1 })]);
    }
    anon.none_before_ping("note").await;
}

#[tokio::test]
async fn required_auth_refuses_missing_and_bad_tokens_with_codes() {
    let s = Server::start(CONFIG).await;
    let n = now();
    let hs384 = socketio_server::jwt::sign(
        &json!({ "userId": "u", "exp": n + 60 }),
        SECRET.as_bytes(),
        socketio_server::jwt::Algorithm::Hs384,
    );
    let other_secret = socketio_server::jwt::sign(
        &json!({ "userId": "u", "exp": n + 60 }),
        b"another-secret-0123456789",
        socketio_server::jwt::Algorithm::Hs256,
    );
    let alg_none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&json!({ "userId": "u", "exp": n + 60 }).to_string())
    );
    let cases = [
        (None, "AUTH_REQUIRED"),
        (
            Some(sign(
                json!({ "userId": "u", "iat": n - 7200, "exp": n - 3600 }),
            )),
            "TOKEN_EXPIRED",
        ),
        (
            Some(sign(
                json!({ "userId": "u", "iat": n + 3600, "exp": n + 7200 }),
            )),
            "TOKEN_ISSUED_IN_FUTURE",
        ),
        (
            Some(sign(json!({ "userId": "u", "iat": n }))),
            "TOKEN_MISSING_EXPIRY",
        ),
        (
            Some(sign(json!({ "iat": n, "exp": n + 60 }))),
            "INVALID_TOKEN",
        ),
        (Some(format!("{}x", token("u", None))), "INVALID_TOKEN"),
        (Some(other_secret), "INVALID_TOKEN"),
        // Only HS256 is configured.
        (Some(hs384), "INVALID_TOKEN"),
        (Some(alg_none), "INVALID_TOKEN"),
        (Some("x".repeat(9000)), "TOKEN_TOO_LONG"),
        (Some("not-a-jwt".into()), "INVALID_TOKEN"),
    ];
    for (tok, code) in cases {
        let opts = match &tok {
            Some(t) => json!({ "auth": { "token": t } }),
            None => json!({}),
        };
        let mut c = s.client("/admin", opts).await;
        let e = c.refused().await;
        assert_eq!(e["data"]["code"], code, "{e}");
        assert!(e["message"].as_str().unwrap().len() > 10, "{e}");
        // The token never appears in the error.
        if let Some(t) = &tok {
            assert!(!e.to_string().contains(t.as_str()) || t.len() < 12, "{e}");
        }
        c.close().await;
    }
    // A valid token is accepted on the same namespace.
    let mut ok = s
        .client("/admin", json!({ "auth": { "token": token("u2", None) } }))
        .await;
    ok.connected().await;
    // Without require_auth, no token is fine but a bad one is still refused.
    let mut open = s.client("/open", json!({})).await;
    open.connected().await;
    let mut bad = s
        .client("/open", json!({ "auth": { "token": "garbage" } }))
        .await;
    bad.refused().await;
    // Nothing the server logged contains a token, even one sent in the URL.
    let t = token("logged", None);
    let mut q = s.client("/admin", json!({ "query": { "token": t } })).await;
    q.connected().await;
    let mut e = s
        .client("/admin", json!({ "query": { "token": format!("{t}x") } }))
        .await;
    e.refused().await;
    let logs = s.stop_and_read_logs().await;
    assert!(logs.contains("authentication failed"), "{logs}");
    assert!(!logs.contains(&t[20..]), "a token was logged:\n{logs}");
}

#[tokio::test]
async fn roles_limit_connecting_and_namespaces() {
    let s = Server::start(CONFIG).await;
    let mut banned = s
        .client(
            "/",
            json!({ "auth": { "token": token("b", Some("banned")) } }),
        )
        .await;
    let e = banned.refused().await;
    assert_eq!(e["data"]["code"], "FORBIDDEN", "{e}");
    let mut viewer = s
        .client(
            "/open",
            json!({ "auth": { "token": token("v", Some("viewer")) } }),
        )
        .await;
    viewer.connected().await;
    let mut viewer_admin = s
        .client(
            "/admin",
            json!({ "auth": { "token": token("v", Some("viewer")) } }),
        )
        .await;
    let e = viewer_admin.refused().await;
    assert_eq!(e["data"]["code"], "FORBIDDEN", "{e}");
    // Unknown namespaces are refused by Socket.IO itself.
    let mut nowhere = s.client("/nowhere", json!({})).await;
    let e = nowhere.refused().await;
    assert_eq!(e["message"], "Invalid namespace", "{e}");
}

#[tokio::test]
async fn global_requirement_and_auth_failure_metrics() {
    let s = Server::start_with(
        &common::base_config(),
        &["--set", "auth.require_authentication=true"],
        &[],
    )
    .await;
    let mut c = s.client("/", json!({})).await;
    assert_eq!(c.refused().await["data"]["code"], "AUTH_REQUIRED");
    let mut ok = s
        .client("/", json!({ "auth": { "token": token("u", None) } }))
        .await;
    ok.connected().await;
    let m = s.http("GET", "/metrics", &[], b"").await.text();
    assert!(
        m.contains("socket_server_auth_failures_total{reason=\"AUTH_REQUIRED\"} 1"),
        "{m}"
    );
    assert!(
        m.contains(
            "socket_server_connections_total{authenticated=\"true\",transport=\"polling\"} 1"
        ),
        "{m}"
    );
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
