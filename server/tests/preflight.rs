//! OPTIONS (the CORS preflight) is answered per path: 204 with `Allow`
//! and `Access-Control-Allow-Methods` listing the methods the path really
//! takes (the list a 405 there gives in `Allow`) and OPTIONS, the CORS
//! headers only for an allowed origin, and 404 on a path the server does
//! not serve.

mod common;

use common::InProc;

const ORIGIN: &str = "http://app.example";

/// An OPTIONS request as a browser sends it before a cross-origin call.
async fn preflight(s: &InProc, path: &str, origin: &str) -> common::HttpResponse {
    s.http(
        "OPTIONS",
        path,
        &[
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type, x-api-key"),
        ],
        b"",
    )
    .await
}

#[tokio::test]
async fn preflight_lists_the_methods_of_the_path() {
    let s = InProc::start("[cors]\norigins = [\"http://app.example\"]\n").await;
    let cases = [
        ("/health", "GET, HEAD"),
        ("/ready", "GET, HEAD"),
        ("/metrics", "GET, HEAD"),
        ("/api/push", "POST"),
        ("/api/status", "GET"),
        ("/api/settings", "GET, PATCH"),
        ("/api/monitoring/log", "GET, POST"),
        ("/socket.io/", "GET, POST"),
    ];
    for (path, methods) in cases {
        let r = preflight(&s, path, ORIGIN).await;
        assert_eq!(r.status, 204, "OPTIONS {path}");
        let allow = format!("{methods}, OPTIONS");
        assert_eq!(r.header("allow"), Some(allow.as_str()), "OPTIONS {path}");
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some(allow.as_str()),
            "OPTIONS {path}"
        );
        assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("content-type, x-api-key"),
            "OPTIONS {path}"
        );
    }
    // The preflight's list is the 405's list.
    for (path, methods) in [("/health", "GET, HEAD"), ("/api/settings", "GET, PATCH")] {
        let r = s
            .http("DELETE", path, &[("x-api-key", common::ADMIN_KEY)], b"")
            .await;
        assert_eq!(r.status, 405, "DELETE {path}");
        assert_eq!(r.header("allow"), Some(methods), "DELETE {path}");
    }
}

#[tokio::test]
async fn preflight_on_an_unknown_path_is_404() {
    let s = InProc::start("[cors]\norigins = [\"*\"]\n").await;
    for path in ["/nope", "/api/nope", "/api", "/healthz", "/dashboard/x"] {
        let r = preflight(&s, path, ORIGIN).await;
        assert_eq!(r.status, 404, "OPTIONS {path}");
        assert_eq!(r.json()["code"], "NOT_FOUND", "OPTIONS {path}");
        assert!(
            r.header("access-control-allow-methods").is_none(),
            "OPTIONS {path}"
        );
    }
}

#[tokio::test]
async fn preflight_follows_what_is_enabled() {
    // The dashboard's pages (on by default) take GET and HEAD.
    let s = InProc::start("").await;
    for path in ["/dashboard", "/dashboard/app.js"] {
        let r = preflight(&s, path, ORIGIN).await;
        assert_eq!(r.status, 204, "OPTIONS {path}");
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"), "{path}");
    }
    drop(s);
    // Turned off, the API's routes and the pages are unknown paths.
    let s = InProc::start("[api]\nenabled = false\n[dashboard]\nenabled = false\n").await;
    for path in ["/api/status", "/dashboard", "/dashboard/app.js"] {
        let r = preflight(&s, path, ORIGIN).await;
        assert_eq!(r.status, 404, "OPTIONS {path} turned off");
    }
}

#[tokio::test]
async fn preflight_from_another_origin_gets_no_cors_headers() {
    let s = InProc::start("[cors]\norigins = [\"http://app.example\"]\n").await;
    let r = preflight(&s, "/api/push", "http://evil.example").await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    for h in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        assert!(r.header(h).is_none(), "{h} sent to a foreign origin");
    }
}
