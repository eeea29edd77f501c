//! socket.io-client 2.5 (npm alias `socket.io-client-v2`, pinned in
//! `interop/package-lock.json`), the socket.io v2 protocol over Engine.IO 3,
//! against `conformance::sio_interop_server()` without recovery (which
//! allows EIO=3) over polling, WebSocket and upgrade, on each runtime (the
//! test's name ends with it), and with `forceBase64` (binary as `b4`
//! base64 text on WebSocket too). What it checks is listed in
//! `interop/sio-client-v2.mjs`; and with `forceJSONP` in headless Chromium.
//! Missing packages are installed on first use.

mod common;

use common::{ensure_npm, interop_dir, run_client, Server};
use conformance::smol::Mode;
use socketio::Parser;

/// The script in `mode`; `b64`: with `forceBase64` (binary as base64 text
/// on every transport).
fn node_v2(runtime: &str, mode: &str, b64: bool) {
    ensure_npm();
    // v2 clients know nothing of recovery offsets: serve them without.
    let srv = Server::start_using(runtime, Mode::SioInteropNoRecovery, Parser::Json);
    let url = format!("http://{}", srv.addr());
    let mut args = vec!["sio-client-v2.mjs", mode];
    let mut want = format!("ok v2 {mode}");
    if b64 {
        args.push("b64");
        want.push_str(" b64");
    }
    run_client("node", &args, &url, interop_dir(), &want);
}

#[test]
fn socket_io_client_v2_polling_tokio() {
    node_v2("tokio", "polling", false);
}

#[test]
fn socket_io_client_v2_websocket_tokio() {
    node_v2("tokio", "websocket", false);
}

#[test]
fn socket_io_client_v2_upgrade_tokio() {
    node_v2("tokio", "upgrade", false);
}

#[test]
fn socket_io_client_v2_polling_smol() {
    node_v2("smol", "polling", false);
}

#[test]
fn socket_io_client_v2_websocket_smol() {
    node_v2("smol", "websocket", false);
}

#[test]
fn socket_io_client_v2_upgrade_smol() {
    node_v2("smol", "upgrade", false);
}

#[test]
fn socket_io_client_v2_websocket_base64_tokio() {
    node_v2("tokio", "websocket", true);
}

#[test]
fn socket_io_client_v2_upgrade_base64_smol() {
    node_v2("smol", "upgrade", true);
}

/// socket.io-client 2.5 with `forceJSONP` in headless Chromium
/// (`interop/sio-client-v2-jsonp.mjs`: playwright-core and Debian's
/// `chromium`, see scripts/browser.sh): JSONP polling only, tricky strings
/// and a binary echoed, every request JSONP.
fn browser_jsonp(runtime: &str) {
    ensure_npm();
    let srv = Server::start_using(runtime, Mode::SioInteropNoRecovery, Parser::Json);
    let url = format!("http://{}", srv.addr());
    let args = ["sio-client-v2-jsonp.mjs"];
    run_client("node", &args, &url, interop_dir(), "ok v2 jsonp");
}

#[test]
fn socket_io_client_v2_jsonp_in_chromium_tokio() {
    browser_jsonp("tokio");
}

#[test]
fn socket_io_client_v2_jsonp_in_chromium_smol() {
    browser_jsonp("smol");
}
