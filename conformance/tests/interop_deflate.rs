//! The node `ws` client with permessage-deflate (pinned in
//! `interop/package-lock.json`) against the sio-interop server, which
//! turns the extension on: large repetitive events cross the wire
//! compressed both ways and a broadcast reaches another client
//! compressed, counted in bytes on the client's socket
//! (`interop/deflate-client.mjs`). On each runtime (the test's name ends
//! with it).

mod common;

use common::{ensure_npm, interop_dir, run_client, Server};
use conformance::smol::Mode;

fn run(runtime: &str) {
    ensure_npm();
    let server = Server::start(runtime, Mode::SioInterop);
    let url = format!("http://{}", server.addr());
    run_client(
        "node",
        &["deflate-client.mjs"],
        &url,
        interop_dir(),
        "ok deflate",
    );
}

#[test]
fn ws_client_compressed_tokio() {
    run("tokio");
}

#[test]
fn ws_client_compressed_smol() {
    run("smol");
}
