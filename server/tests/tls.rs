//! HTTPS and WSS with a certificate from files (self-signed, made with the
//! `openssl` command; skipped with a message where it is missing).

mod common;

use std::process::Command;

use common::{scratch, Server};
use serde_json::json;

#[tokio::test]
async fn serves_socketio_over_tls() {
    let d = scratch();
    let (cert, key) = (d.join("cert.pem"), d.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match made {
        Ok(o) if o.status.success() => {}
        _ => {
            eprintln!("skipped: the openssl command is not available to make a test certificate");
            return;
        }
    }
    let mut config: toml::Table = common::base_config().parse().unwrap();
    let server = config["server"].as_table_mut().unwrap();
    server.insert("tls_cert".into(), cert.to_str().unwrap().into());
    server.insert("tls_key".into(), key.to_str().unwrap().into());
    let s = Server::start_with(&config.to_string(), &[], &[]).await;
    let url = format!("https://127.0.0.1:{}/", s.port);
    for transports in [
        json!(["polling"]),
        json!(["websocket"]),
        json!(["polling", "websocket"]),
    ] {
        let mut c = common::Client::start(
            &url,
            json!({ "transports": transports, "rejectUnauthorized": false }),
        )
        .await;
        c.connected().await;
        let r = s.api_tls_free_check().await;
        assert!(r, "plain HTTP must not be served on the TLS port");
        c.close().await;
    }
    // A bad key file is a clear startup error.
    std::fs::write(&key, "not a key").unwrap();
    let o = Command::new(common::bin())
        .args([
            "--port",
            "0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("key.pem"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(d);
}
