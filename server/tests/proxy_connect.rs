//! The connection proxy (`[proxy_connect]`) end to end: the backend
//! accepts a connection and attaches data (then sent with every proxied
//! event), refuses one with its own message and code, and a backend that
//! does not answer in time refuses with `BACKEND_UNAVAILABLE`; an https
//! backend is trusted through `proxy_limits.ca_file`.

mod common;

use common::backend::{after, now, Backend};
use common::{token, InProc};
use serde_json::{json, Value};

const SECRET: &str = "connect-secret-0123456789";

#[tokio::test]
async fn the_backend_accepts_refuses_and_attaches_data() {
    let be = Backend::start(SECRET, |b: Value| {
        if b["event"].is_string() {
            // The event proxy's requests: echo the socket's data.
            return now(
                200,
                json!({ "ack": [b["data"], b["userId"], b["role"]] }).to_string(),
            );
        }
        match b["handshake"]["auth"]["pass"].as_str() {
            Some("ok") => now(
                200,
                json!({ "data": { "plan": "pro", "user": b["userId"] } }).to_string(),
            ),
            Some("session") => now(200, json!({ "userId": 77, "role": "vip" }).to_string()),
            Some("demoted") => now(200, json!({ "role": "suspended" }).to_string()),
            Some("slow") => after(2000, 200, "{}"),
            Some("broken") => now(503, ""),
            _ => now(
                200,
                json!({ "error": { "message": "Banned", "code": "BANNED" } }).to_string(),
            ),
        }
    })
    .await;
    let s = InProc::start(&format!(
        "[namespaces.\"/open\"]\n[roles.suspended]\ncan_connect = false\n\
         [proxy_connect]\nurl = \"{}\"\nsecret = \"{SECRET}\"\ntimeout_ms = 300\nnamespaces = [\"/\"]\n\
         [[proxy]]\nevents = [\"whoami\"]\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        be.url("/connect"),
        be.url("/events")
    ))
    .await;

    let mut ok = s
        .client("/", json!({ "auth": { "pass": "ok", "token": token("u9", None) }, "query": { "room": "x" } }))
        .await;
    let id = ok.connected().await;
    let first = be.seen()[0].clone();
    assert!(first.signature_ok);
    assert_eq!(first.body["socketId"], id.as_str());
    assert_eq!(first.body["namespace"], "/");
    assert_eq!(first.body["userId"], "u9");
    assert_eq!(first.body["handshake"]["query"]["room"], "x");
    assert!(first.body["handshake"]["headers"]["host"].is_string());
    assert_eq!(
        ok.emit_ack("whoami", json!([])).await,
        vec![
            json!({ "plan": "pro", "user": "u9" }),
            json!("u9"),
            json!("authenticated")
        ]
    );

    // The backend says who a socket without a token is (a cookie-session
    // app): it gets that user's rooms and role.
    let mut session = s
        .client("/", json!({ "auth": { "pass": "session" } }))
        .await;
    session.connected().await;
    assert_eq!(
        session.emit_ack("whoami", json!([])).await,
        // The backend's numeric id stays a number.
        vec![json!(null), json!(77), json!("vip")]
    );
    let r = s
        .api(
            "POST",
            "/api/push",
            Some(json!({ "userId": 77, "event": "note", "data": 1 })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 1, "{}", r.text());
    assert_eq!(session.event("note").await, vec![json!(1)]);
    // ...and that role's permissions apply.
    let mut demoted = s
        .client(
            "/",
            json!({ "auth": { "pass": "demoted", "token": token("u3", None) } }),
        )
        .await;
    assert_eq!(demoted.refused().await["data"]["code"], "FORBIDDEN");

    let mut banned = s.client("/", json!({ "auth": { "pass": "no" } })).await;
    let e = banned.refused().await;
    assert_eq!(e["message"], "Banned");
    assert_eq!(e["data"]["code"], "BANNED");

    for pass in ["slow", "broken"] {
        let mut c = s.client("/", json!({ "auth": { "pass": pass } })).await;
        let e = c.refused().await;
        assert_eq!(e["data"]["code"], "BACKEND_UNAVAILABLE", "{pass}: {e}");
    }

    // A namespace the proxy does not check.
    let before = be.seen().len();
    let mut open = s.client("/open", json!({ "auth": { "pass": "no" } })).await;
    open.connected().await;
    assert_eq!(be.seen().len(), before);
    let m = s.http("GET", "/metrics", &[], b"").await.text();
    for (result, n) in [("ok", 3), ("error", 1), ("timeout", 1), ("status", 1)] {
        let line = format!(
            "socket_server_proxy_requests_total{{kind=\"connect\",result=\"{result}\"}} {n}\n"
        );
        assert!(m.contains(&line), "{line} in {m}");
    }
}

#[tokio::test]
async fn an_https_backend_with_a_private_ca_accepts() {
    let Some((ca, tls)) = common::pki::test_tls() else {
        return;
    };
    let be = Backend::start_with(SECRET, Some(tls), |_| {
        now(200, json!({ "data": { "plan": "pro" } }).to_string())
    })
    .await;
    let section = format!(
        "[proxy_connect]\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        be.url("/connect")
    );
    let s = InProc::start(&format!("[proxy_limits]\nca_file = \"{ca}\"\n{section}")).await;
    s.client("/", json!({})).await.connected().await;
    assert!(be.seen()[0].signature_ok);
    drop(s);
    // Without the CA the backend's certificate is not trusted.
    let s = InProc::start(&section).await;
    let e = s.client("/", json!({})).await.refused().await;
    assert_eq!(e["data"]["code"], "BACKEND_UNAVAILABLE", "{e}");
    assert_eq!(be.seen().len(), 1, "no request got through");
}
