//! `/health`, `/ready` and `/metrics` answer GET and HEAD only: another
//! method gets 405 `METHOD_NOT_ALLOWED` with `Allow: GET, HEAD` and the
//! API's error body, and is not run (a POST to `/metrics` returns no
//! metrics, a DELETE to `/ready` changes nothing). OPTIONS, the CORS
//! preflight, names these methods too (see `preflight.rs`).

mod common;

use common::InProc;

const PROBES: [&str; 3] = ["/health", "/ready", "/metrics"];

#[tokio::test]
async fn probes_answer_get_and_head() {
    let s = InProc::start("").await;
    for path in PROBES {
        let get = s.http("GET", path, &[], b"").await;
        assert_eq!(get.status, 200, "GET {path}");
        assert!(!get.body.is_empty(), "GET {path}");
        let head = s.http("HEAD", path, &[], b"").await;
        assert_eq!(head.status, 200, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} has a body");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "HEAD {path}"
        );
    }
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let s = InProc::start("").await;
    for path in PROBES {
        for method in ["POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND"] {
            let r = s.http(method, path, &[], b"").await;
            assert_eq!(r.status, 405, "{method} {path}");
            assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method} {path}");
            let body = r.json();
            assert_eq!(body["code"], "METHOD_NOT_ALLOWED", "{method} {path}");
            assert_eq!(body["success"], false);
            assert_eq!(
                body["requestId"].as_str(),
                r.header("x-request-id"),
                "{method} {path}"
            );
            assert!(
                !r.text().contains("# TYPE"),
                "{method} {path} ran the probe"
            );
        }
    }
    // Still answering after the refusals.
    assert_eq!(s.http("GET", "/ready", &[], b"").await.status, 200);
}
