//! The official Admin UI against socketio-server: `[admin_ui]` on, the
//! UI's built files (npm `@socket.io/admin-ui`, installed by
//! scripts/browser.sh) served by `browser/admin_ui.mjs`, which drives
//! headless Chromium (`CHROMIUM` or `chromium`) with playwright-core: the
//! UI logs in, lists a socket.io-client's socket, its room and the server
//! stats, makes it join a room, and disconnects it (the client sees `io
//! server disconnect`); an `emit` with the UI's session id reaches it (the
//! 0.5 UI has no emit form).
//! Screenshots go to target/browser-shots/.
mod common;

use std::path::Path;
use std::time::Duration;

use common::{InProc, Server, ADMIN_KEY};
use serde_json::{json, Value};

// bcrypt of "secret" at cost 4.
const HASH: &str = "$2a$04$02HPE/21Z1L2otbVBYk6.eSPDWraCLpJfiR3sI1DYNvs.DOHhGrC.";

/// What the server reports as its id (its host name).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_admin_ui_logs_in_sees_and_disconnects_a_socket() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        browser_dir
            .join("node_modules/@socket.io/admin-ui/ui/dist/index.html")
            .exists(),
        "run scripts/browser.sh first (npm ci in server/tests/browser)"
    );
    let ui_port = free_port();
    let server = Server::start(&format!(
        r#"
[cors]
origins = ["http://127.0.0.1:{ui_port}"]
credentials = true
[admin_ui]
enabled = true
username = "admin"
password_hash = "{HASH}"
"#
    ))
    .await;
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-shots");
    let out = tokio::process::Command::new("node")
        .arg(browser_dir.join("admin_ui.mjs"))
        .env("SERVER_URL", server.url())
        .env("UI_PORT", ui_port.to_string())
        .env("ADMIN_USER", "admin")
        .env("ADMIN_PASSWORD", "secret")
        .env("SERVER_ID", host_name())
        .env("OUT_DIR", &shots)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(240), out)
        .await
        .expect("the browser script finished")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no report: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert_eq!(report["ok"], true, "{report:#}");
    let steps = report["steps"].as_array().unwrap();
    for want in [
        "logged in",
        "socket list",
        "rooms list",
        "server stats",
        "disconnected by the UI",
    ] {
        assert!(
            steps.iter().any(|s| s.as_str().unwrap().contains(want)),
            "{want}: {report:#}"
        );
    }
    assert!(shots.join("admin-sockets.png").exists());
}

#[tokio::test]
async fn the_settings_api_never_shows_nor_takes_the_password_hash() {
    let s = InProc::start(&format!(
        "[admin_ui]\nenabled = true\nusername = \"admin\"\npassword_hash = \"{HASH}\"\n"
    ))
    .await;
    let r = s
        .http("GET", "/api/settings", &[("x-api-key", ADMIN_KEY)], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains(HASH), "{}", r.text());
    let v = r.json();
    let settings = v.get("settings").unwrap_or(&v);
    assert_eq!(settings["admin_ui"]["password_hash"], "***", "{v}");
    assert_eq!(settings["admin_ui"]["username"], "admin");
    let mut answers = Vec::new();
    for hash in [
        HASH,
        "$2a$04$wrongwrongwrongwrongwuTPKm6VbXhOrfWVw9k3UeSmQfzR0m9O6",
    ] {
        let patch = json!({ "admin_ui": { "password_hash": hash } });
        let r = s.admin("PATCH", "/api/settings", &patch).await;
        assert_eq!(r.status, 400, "{}", r.text());
        let mut b = r.json();
        assert!(
            b["error"].as_str().unwrap().contains("holds a secret"),
            "{b}"
        );
        b["requestId"] = Value::Null;
        answers.push(b);
    }
    assert_eq!(
        answers[0], answers[1],
        "the right hash and a wrong one get the same answer"
    );
}
