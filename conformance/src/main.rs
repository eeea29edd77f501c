//! `conformance <mode> [--port N] [--host ADDR] [--mount axum] [--parser P]`:
//! serves one of the test servers on 127.0.0.1 (port 3000 by default)
//! until interrupted; `--help` lists the modes.

use std::process::ExitCode;

const USAGE: &str = "\
usage: conformance <mode> [--port N] [--host ADDR] [--mount axum]
                          [--parser json|msgpack]

Serves a test server on ADDR:N (default 127.0.0.1:3000) until interrupted.
modes:
  eio                      the engine.io-protocol suite's echo server (/engine.io/)
  sio                      the socket.io-protocol suite's server (/socket.io/)
  sio-interop              the interop tests' Socket.IO server, with recovery
  sio-interop-no-recovery  the same without connection state recovery
  ws-echo                  a raw WebSocket echo server on the engine's own framing
                           (any path, text as text, binary as binary, 64 MiB
                           message limit, no Engine.IO): the server the Autobahn
                           fuzzingclient drives (scripts/autobahn.sh)

--mount axum: serve the Engine.IO or Socket.IO server (any mode but ws-echo)
inside an axum Router that also answers GET /hello, instead of on its own.
--parser msgpack: the sio-interop modes speak socket.io-msgpack-parser
(default json).";

// One thread, as the reference server's event loop: requests are taken in
// the order they arrive. The suites' "should forcefully close the session"
// sends a GET and then, without waiting, a POST with the close packet, and
// expects the GET to be answered with a noop; a multi-threaded runtime may
// let the POST's task reach the session first, and the GET then finds the
// session gone (400), which the protocol allows but the suite does not.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mode = args.next();
    let mut port: u16 = 3000;
    let mut host = String::from("127.0.0.1");
    let mut parser = socketio::Parser::Json;
    let mut mount = conformance::Mount::Own;
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--port", Some(v)) => match v.parse() {
                Ok(p) => port = p,
                Err(_) => return usage(&format!("bad port {v:?}")),
            },
            ("--host", Some(v)) => host = v,
            ("--parser", Some(v)) => match socketio::Parser::from_name(&v) {
                Some(p) => parser = p,
                None => return usage(&format!("unknown parser {v:?}")),
            },
            ("--mount", Some(v)) => match conformance::Mount::parse(&v) {
                Some(m) => mount = m,
                None => return usage(&format!("unknown mount {v:?}")),
            },
            _ => return usage(&format!("unexpected argument {a:?}")),
        }
    }
    let server = match mode.as_deref() {
        Some("eio") => Server::Engine(conformance::eio_engine(), "engine.io"),
        Some("sio") => Server::Engine(conformance::sio_engine(), "socket.io"),
        Some("sio-interop") => Server::Engine(
            conformance::sio_interop_server_using(true, parser)
                .engine(conformance::sio_interop_config()),
            "socket.io",
        ),
        Some("sio-interop-no-recovery") => Server::Engine(
            conformance::sio_interop_server_using(false, parser)
                .engine(conformance::sio_interop_config()),
            "socket.io",
        ),
        Some("ws-echo") if mount != conformance::Mount::Own => {
            return usage("ws-echo has no --mount")
        }
        Some("ws-echo") => Server::WsEcho,
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => return usage("missing or unknown mode"),
    };
    let listener = match tokio::net::TcpListener::bind((host.as_str(), port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("conformance: cannot listen on {host}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The bound port, so `--port 0` callers learn it.
    let port = listener.local_addr().map_or(port, |a| a.port());
    match server {
        Server::Engine(engine, path) => {
            println!("conformance server on http://{host}:{port}/{path}/");
            tokio::select! {
                r = mount.serve(engine.clone(), listener) => return exit(r),
                _ = tokio::signal::ctrl_c() => engine.close_all(),
            }
        }
        Server::WsEcho => {
            println!("conformance ws-echo on ws://{host}:{port}/");
            tokio::select! {
                r = conformance::serve_ws_echo(listener, conformance::ws_echo_config()) => {
                    return exit(r)
                }
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    }
    ExitCode::SUCCESS
}

enum Server {
    Engine(engineio::Engine, &'static str),
    WsEcho,
}

fn exit(r: std::io::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("conformance: {msg}\n{USAGE}");
    ExitCode::from(2)
}
