//! The dashboard: the page at `/dashboard` (no key, security headers) and
//! its admin routes `/api/dashboard/{overview,history,events}` (401 without
//! a key, 403 with a non-admin key), their shapes against live sockets, and
//! the event log's bound (and that it never holds payloads).

mod common;

use std::time::Duration;

use common::{HttpResponse, InProc, ADMIN_KEY, KEY};
use serde_json::{json, Value};

const ROUTES: [&str; 3] = [
    "/api/dashboard/overview",
    "/api/dashboard/history",
    "/api/dashboard/events",
];

/// The tests poll every 100 ms: more than the default API rate limit
/// (the limiters' clock stands still in [`InProc`]).
const POLLING: &str = "[rate_limits]\napi_requests_per_minute = 1000000\n";

async fn admin_get(s: &InProc, path: &str) -> Value {
    let r = s.http("GET", path, &[("x-api-key", ADMIN_KEY)], b"").await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

/// Polls `path` until `pred` holds (generous: a loaded machine is slow).
async fn until(s: &InProc, path: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        last = admin_get(s, path).await;
        if pred(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: never true; last {last}");
}

/// Whether a log answer holds an entry matching `pred`.
fn logged(l: &Value, pred: impl Fn(&Value) -> bool) -> bool {
    l["events"].as_array().unwrap().iter().any(pred)
}

fn header<'a>(r: &'a HttpResponse, name: &str) -> &'a str {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name} header: {:?}", r.headers))
}

#[tokio::test]
async fn the_page_loads_without_a_key_with_security_headers() {
    let s = InProc::start("").await;
    for path in ["/dashboard", "/dashboard/"] {
        let r = s.http("GET", path, &[], b"").await;
        assert_eq!(r.status, 200, "{path}");
        assert!(header(&r, "content-type").starts_with("text/html"));
        assert!(r
            .text()
            .contains("<title>socketio-server dashboard</title>"));
        let csp = header(&r, "content-security-policy");
        for d in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(d), "{csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(header(&r, "x-frame-options"), "DENY");
        assert_eq!(header(&r, "cache-control"), "no-store");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    }
    let js = s.http("GET", "/dashboard/app.js", &[], b"").await;
    assert_eq!(js.status, 200);
    assert!(header(&js, "content-type").starts_with("text/javascript"));
    assert!(js.text().contains("/api/dashboard/overview"));
    let css = s.http("GET", "/dashboard/app.css", &[], b"").await;
    assert_eq!(css.status, 200);
    assert!(header(&css, "content-type").starts_with("text/css"));
    let head = s.http("HEAD", "/dashboard", &[], b"").await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let post = s.http("POST", "/dashboard", &[], b"").await;
    assert_eq!(post.status, 405);
    assert_eq!(header(&post, "allow"), "GET, HEAD");
    assert_eq!(s.http("GET", "/dashboard/x", &[], b"").await.status, 404);
}

#[tokio::test]
async fn its_data_needs_an_admin_key() {
    let s = InProc::start("").await;
    for path in ROUTES {
        let none = s.http("GET", path, &[], b"").await;
        assert_eq!(none.status, 401, "{path}");
        assert_eq!(none.json()["code"], "UNAUTHORIZED");
        let wrong = s.http("GET", path, &[("x-api-key", "nope")], b"").await;
        assert_eq!(wrong.status, 401, "{path}");
        let user = s.http("GET", path, &[("x-api-key", KEY)], b"").await;
        assert_eq!(user.status, 403, "{path}");
        assert_eq!(user.json()["code"], "FORBIDDEN");
        assert_eq!(admin_get(&s, path).await["success"], true);
    }
    // The refused requests are counted as authentication rejections.
    let o = admin_get(&s, ROUTES[0]).await;
    let auth = &o["rejections"]["auth"];
    assert_eq!(auth["API_KEY_MISSING"], 3, "{o}");
    assert_eq!(auth["INVALID_API_KEY"], 3, "{o}");
    assert_eq!(o["rejections"]["authTotal"], 6);
    let bad = s
        .http(
            "GET",
            "/api/dashboard/events?after=-1",
            &[("x-api-key", ADMIN_KEY)],
            b"",
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn overview_history_and_log_follow_the_sockets() {
    let s = InProc::start(&format!("{POLLING}[dashboard]\nsample_secs = 1\n")).await;
    let o = admin_get(&s, ROUTES[0]).await;
    assert_eq!(o["connections"]["sockets"], 0, "{o}");
    assert_eq!(o["cluster"], json!({ "mode": "single", "nodes": 1 }));
    assert_eq!(o["eventLog"]["capacity"], 200);

    let mut c = s.client("/", json!({ "transports": ["websocket"] })).await;
    let sid = c.connected().await;
    c.emit_ack("join-room", json!(["lobby"])).await;
    c.emit("chat-secret", json!([{ "text": "PAYLOAD-SECRET-123" }]))
        .await;

    let o = until(&s, ROUTES[0], "socket and room counted", |o| {
        o["connections"]["sockets"] == 1
            && o["connections"]["websocket"] == 1
            && o["roomsTotal"] == 2
    })
    .await;
    assert_eq!(o["connections"]["polling"], 0);
    assert_eq!(o["connections"]["engine"], 1);
    // `lobby`, and the server's room of the anonymous role.
    assert!(o["rooms"]
        .as_array()
        .unwrap()
        .contains(&json!({ "namespace": "/", "name": "lobby", "members": 1 })));
    assert!(o["namespaces"]
        .as_array()
        .unwrap()
        .contains(&json!({ "name": "/", "sockets": 1 })));

    let log = until(&s, ROUTES[2], "the event in the log", |l| {
        logged(l, |e| e["event"] == "chat-secret")
    })
    .await;
    let text = log.to_string();
    assert!(
        !text.contains("PAYLOAD-SECRET-123"),
        "payload logged: {text}"
    );
    let events = log["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"connect"), "{log}");
    let chat = events.iter().find(|e| e["event"] == "chat-secret").unwrap();
    assert_eq!(chat["kind"], "in");
    assert_eq!(chat["socketId"], sid.as_str());
    assert_eq!(chat["namespace"], "/");
    let payload = json!([{ "text": "PAYLOAD-SECRET-123" }]).to_string();
    assert_eq!(chat["bytes"], payload.len());

    // An API emit is logged as `out` with its recipients.
    let r = s
        .admin(
            "POST",
            "/api/socket-test",
            &json!({ "action": "broadcast", "message": "hi" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.event("testMessage").await[0]["message"], "hi");
    let after = log["nextSeq"].as_u64().unwrap();
    let newer = until(
        &s,
        &format!("{}?after={after}", ROUTES[2]),
        "the emit",
        |l| !l["events"].as_array().unwrap().is_empty(),
    )
    .await;
    let out = &newer["events"][0];
    assert_eq!(out["kind"], "out", "{newer}");
    assert_eq!(out["event"], "testMessage");
    assert_eq!(out["recipients"], 1);
    assert!(out["socketId"].is_null());

    // The history samples the socket (one sample a second).
    let h = until(&s, ROUTES[1], "a sample with the socket", |h| {
        h["samples"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["sockets"] == 1 && x["websocket"] == 1 && x["rooms"] == 2)
    })
    .await;
    assert_eq!(h["sampleSecs"], 1);
    assert_eq!(h["capacity"], 300);
    let samples = h["samples"].as_array().unwrap();
    assert!(samples
        .iter()
        .all(|x| x["inPerSecond"].as_f64().unwrap() >= 0.0));

    drop(c);
    until(&s, ROUTES[0], "the socket gone", |o| {
        o["connections"]["sockets"] == 0
    })
    .await;
    until(&s, ROUTES[2], "the disconnect logged", |l| {
        logged(l, |e| {
            e["kind"] == "disconnect" && e["socketId"] == sid.as_str()
        })
    })
    .await;
}

#[tokio::test]
async fn the_event_log_is_bounded() {
    let s = InProc::start(&format!("{POLLING}[dashboard]\nevent_log = 5\n")).await;
    let mut c = s.connected(None, None).await;
    for i in 0..20 {
        c.emit(&format!("e{i}"), json!([i])).await;
    }
    c.emit_ack("ping", json!([])).await;
    let l = until(&s, ROUTES[2], "the last event logged", |l| {
        logged(l, |e| e["event"] == "ping")
    })
    .await;
    let events = l["events"].as_array().unwrap();
    assert_eq!(events.len(), 5, "{l}");
    assert_eq!(l["capacity"], 5);
    // connect + 20 events + ping: 22 numbered entries, the newest 5 kept.
    assert_eq!(l["nextSeq"], 22);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [17, 18, 19, 20, 21]);
    let two = admin_get(&s, &format!("{}?limit=2", ROUTES[2])).await;
    let seqs: Vec<u64> = two["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [20, 21]);
    let o = admin_get(&s, ROUTES[0]).await;
    assert_eq!(o["eventLog"]["entries"], 5);
}

#[tokio::test]
async fn sockets_are_counted_by_transport() {
    let s = InProc::start(POLLING).await;
    let mut ws = s.client("/", json!({ "transports": ["websocket"] })).await;
    let mut lp = s.client("/", json!({ "transports": ["polling"] })).await;
    ws.connected().await;
    lp.connected().await;
    let o = until(&s, ROUTES[0], "both counted", |o| {
        o["connections"]["sockets"] == 2
    })
    .await;
    let c = &o["connections"];
    assert_eq!(
        (c["websocket"].as_u64(), c["polling"].as_u64()),
        (Some(1), Some(1)),
        "{o}"
    );
    assert_eq!(c["engine"], 2);
}

#[tokio::test]
async fn a_cluster_shows_its_nodes() {
    let redis = common::redis::Redis::start().await;
    let cfg = format!(
        "{POLLING}[redis]\nenabled = true\nurl = \"{}\"\nrequests_timeout_ms = 2000\n",
        redis.url()
    );
    let (a, _b) = (InProc::start(&cfg).await, InProc::start(&cfg).await);
    let o = until(&a, ROUTES[0], "two nodes", |o| o["cluster"]["nodes"] == 2).await;
    let c = &o["cluster"];
    assert_eq!(c["mode"], "redis", "{o}");
    assert_eq!(c["connected"], true);
    assert!(!c["serverId"].as_str().unwrap().is_empty(), "{o}");
}

#[tokio::test]
async fn disabled_it_is_not_served() {
    let s = InProc::start("[dashboard]\nenabled = false\n").await;
    assert_eq!(s.http("GET", "/dashboard", &[], b"").await.status, 404);
    for path in ROUTES {
        let r = s.http("GET", path, &[("x-api-key", ADMIN_KEY)], b"").await;
        assert_eq!(r.status, 404, "{path}");
    }
}

/// The page in headless Chromium (server/tests/browser/dashboard.mjs:
/// playwright-core and Debian's `chromium`, installed by scripts/browser.sh):
/// it loads, refuses a wrong key, signs in, shows the JSON's numbers,
/// follows a client that connects, and its test actions reach that client;
/// then again signing in with the `[admin_ui]` username and password (a
/// wrong password first) and signing out. The screenshots go to
/// target/browser-shots/dashboard.png and dashboard-login.png. The two runs
/// are one after the other: one Chromium at a time.
#[tokio::test]
async fn the_page_works_in_headless_chromium() {
    let s = InProc::start(&format!(
        "{POLLING}[dashboard]\nsample_secs = 1\n{}",
        common::ADMIN_UI
    ))
    .await;
    let dir = env!("CARGO_MANIFEST_DIR");
    assert!(
        std::path::Path::new(&format!("{dir}/tests/browser/node_modules/playwright-core")).exists(),
        "playwright-core is missing: run scripts/browser.sh"
    );
    run_page(&s, "dashboard.png", None).await;
    run_page(&s, "dashboard-login.png", Some("admin:secret")).await;
}

/// One run of dashboard.mjs against `s`, signing in with `login`
/// (`user:password`) or else the admin key.
async fn run_page(s: &InProc, shot: &str, login: Option<&str>) {
    let dir = env!("CARGO_MANIFEST_DIR");
    let script = format!("{dir}/tests/browser/dashboard.mjs");
    let shot = std::path::Path::new(dir)
        .join("../target/browser-shots")
        .join(shot);
    let _ = std::fs::remove_file(&shot);
    let user = "browser-user-7";
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(&script)
        .arg(s.url())
        .arg(ADMIN_KEY)
        .arg(common::token(user, None))
        .arg(user)
        .arg(&shot)
        .args(login)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .expect("dashboard.mjs did not finish in 180 s")
        .expect("node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "dashboard.mjs failed:\n{text}");
    assert!(text.contains("dashboard.mjs: ok"), "{text}");
    assert!(shot.exists(), "no screenshot at {}", shot.display());
}
