//! The black-box security pass's findings, end to end: a settings patch
//! naming a secret is refused whatever its value (no oracle); signature
//! `v2` covers the query and the body and `api.require_signature = "v2"`
//! demands it; the IP lists guard the HTTP API too, per surface; and every
//! `/api/*` path checks the key before routing.

mod common;

use common::{HttpResponse, InProc, ADMIN_KEY, KEY, SECRET};
use serde_json::{json, Value};
use socketio_server::signing::{self, RequestParts};

fn ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The headers of a request signed with `version` (`v1` or `v2`).
fn signed(
    version: &str,
    method: &str,
    target: &str,
    body: &[u8],
    nonce: &str,
) -> Vec<(String, String)> {
    let ts = ms().to_string();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let sig = if version == "v2" {
        let req = RequestParts {
            method,
            path,
            query,
            body,
        };
        signing::signature_v2(KEY.as_bytes(), &req, &ts, nonce)
    } else {
        signing::signature(KEY.as_bytes(), method, path, &ts, nonce)
    };
    vec![
        ("x-api-key".into(), KEY.into()),
        ("content-type".into(), "application/json".into()),
        ("x-request-timestamp".into(), ts),
        ("x-request-nonce".into(), nonce.into()),
        ("x-signature-version".into(), version.into()),
        ("x-signature".into(), sig),
    ]
}

async fn send(
    s: &InProc,
    method: &str,
    target: &str,
    h: &[(String, String)],
    body: &[u8],
) -> HttpResponse {
    let h: Vec<(&str, &str)> = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    s.http(method, target, &h, body).await
}

fn refused_with(r: &HttpResponse, status: u16, code_in_error: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert!(
        r.json()["error"].as_str().unwrap().contains(code_in_error),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn a_settings_patch_naming_a_secret_is_refused_whatever_its_value() {
    let s = InProc::start("").await;
    let mut answers = Vec::new();
    for patch in [
        json!({ "api": { "keys": [KEY] } }),
        json!({ "api": { "keys": ["wrong-guess-0123456789"] } }),
        json!({ "api": { "admin_keys": [ADMIN_KEY] } }),
        json!({ "auth": { "jwt_secrets": [SECRET] } }),
        json!({ "auth": { "jwt_secrets": ["wrong-guess-0123456789"] } }),
        json!({ "redis": { "url": "redis://127.0.0.1:6379" } }),
        json!({ "redis": { "url": "redis://u:guess@127.0.0.1:6379" } }),
        json!({ "postgres": { "url": "postgres://u:guess@127.0.0.1/test" } }),
        json!({ "proxy_connect": { "secret": "guess-0123456789abcdef" } }),
        json!({ "proxy": [{ "events": ["a"], "url": "http://127.0.0.1:1/", "secret": "guess-0123456789abcdef" }] }),
    ] {
        let r = s.admin("PATCH", "/api/settings", &patch).await;
        assert_eq!(r.status, 400, "{patch}: {}", r.text());
        let mut b = r.json();
        assert!(
            b["error"].as_str().unwrap().contains("holds a secret"),
            "{b}"
        );
        b["requestId"] = Value::Null;
        answers.push((patch, b));
    }
    // The right and the wrong value get the same answer.
    assert_eq!(answers[0].1, answers[1].1);
    assert_eq!(answers[3].1, answers[4].1);
    assert_eq!(answers[5].1, answers[6].1);
    // Other settings still change.
    let r = s
        .admin(
            "PATCH",
            "/api/settings",
            &json!({ "cors": { "origins": ["https://a.example"] } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn signature_v2_covers_query_and_body() {
    let s = InProc::start("[api]\nrequire_signature = \"v2\"\n").await;
    let body = br#"{"event":"news","data":1}"#;
    let h = signed("v2", "POST", "/api/broadcast", body, "n-1");
    assert_eq!(
        send(&s, "POST", "/api/broadcast", &h, body).await.status,
        200
    );
    // The same signature with another body, or another query: refused.
    let h = signed("v2", "POST", "/api/broadcast", body, "n-2");
    let other = br#"{"event":"news","data":2}"#;
    refused_with(
        &send(&s, "POST", "/api/broadcast", &h, other).await,
        401,
        "INVALID_SIGNATURE",
    );
    refused_with(
        &send(&s, "POST", "/api/broadcast?x=1", &h, body).await,
        401,
        "INVALID_SIGNATURE",
    );
    // And then it still goes through once, not twice.
    assert_eq!(
        send(&s, "POST", "/api/broadcast", &h, body).await.status,
        200
    );
    refused_with(
        &send(&s, "POST", "/api/broadcast", &h, body).await,
        401,
        "NONCE_REUSED",
    );
    // A query is covered on GET too.
    let h = signed("v2", "GET", "/api/sockets?limit=5", b"", "n-3");
    assert_eq!(
        send(&s, "GET", "/api/sockets?limit=5", &h, b"")
            .await
            .status,
        200
    );
    let h = signed("v2", "GET", "/api/sockets?limit=5", b"", "n-4");
    refused_with(
        &send(&s, "GET", "/api/sockets?limit=6", &h, b"").await,
        401,
        "INVALID_SIGNATURE",
    );
    // v1 is refused where v2 is required, and unsigned requests too.
    let h = signed("v1", "GET", "/api/status", b"", "n-5");
    refused_with(
        &send(&s, "GET", "/api/status", &h, b"").await,
        401,
        "SIGNATURE_V2_REQUIRED",
    );
    refused_with(
        &s.api("GET", "/api/status", None).await,
        401,
        "SIGNATURE_REQUIRED",
    );

    // `true` takes both versions.
    let s = InProc::start("[api]\nrequire_signature = true\n").await;
    let h = signed("v1", "GET", "/api/status", b"", "m-1");
    assert_eq!(send(&s, "GET", "/api/status", &h, b"").await.status, 200);
    let h = signed("v2", "POST", "/api/broadcast", body, "m-2");
    assert_eq!(
        send(&s, "POST", "/api/broadcast", &h, body).await.status,
        200
    );
    assert!(
        socketio_server::config::Config::from_toml("[api]\nrequire_signature = \"v3\"").is_err()
    );
}

#[tokio::test]
async fn ip_lists_guard_the_api_per_surface() {
    let s = InProc::start("[security]\nip_deny = [\"127.0.0.0/8\"]\n").await;
    let r = s.api("GET", "/api/status", None).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["code"], "FORBIDDEN");
    assert_eq!(s.http("GET", "/api/nope", &[], b"").await.status, 403);
    assert_eq!(s.http("GET", "/metrics", &[], b"").await.status, 403);
    assert_eq!(s.http("GET", "/health", &[], b"").await.status, 200);
    assert_eq!(s.http("GET", "/ready", &[], b"").await.status, 200);
    let mut c = s.client("/", json!({})).await;
    c.refused().await;

    // Per surface: the API left open, the engine and health guarded.
    let s = InProc::start(
        "[security]\nip_allow = [\"10.0.0.0/8\"]\n[security.ip_lists_apply_to]\napi = false\nhealth = true\n",
    )
    .await;
    assert_eq!(s.api("GET", "/api/status", None).await.status, 200);
    assert_eq!(s.http("GET", "/health", &[], b"").await.status, 403);
    let mut c = s.client("/", json!({})).await;
    c.refused().await;
    // Changed at run time: the API guarded again.
    let r = s
        .admin(
            "PATCH",
            "/api/settings",
            &json!({ "security": { "ip_lists_apply_to": { "api": true } } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.api("GET", "/api/status", None).await.status, 403);
}

#[tokio::test]
async fn every_api_path_checks_the_key_before_routing() {
    let s = InProc::start("").await;
    for (method, path) in [
        ("GET", "/api/nope"),
        ("POST", "/api/status"),
        ("GET", "/api/"),
        ("DELETE", "/api/push"),
    ] {
        let r = s.http(method, path, &[], b"").await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text());
        let r = s
            .http(method, path, &[("x-api-key", "wrong-key-0123456789")], b"")
            .await;
        assert_eq!(r.status, 401, "{method} {path}");
    }
    assert_eq!(
        s.http("GET", "/api/nope", &[("x-api-key", KEY)], b"")
            .await
            .status,
        404
    );
    let r = s
        .http("POST", "/api/status", &[("x-api-key", KEY)], b"")
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    // Public routes stay public.
    assert_eq!(
        s.http("GET", "/api/openapi.json", &[], b"").await.status,
        200
    );
    assert_eq!(
        s.http("GET", "/api/socket/health", &[], b"").await.status,
        200
    );
}
