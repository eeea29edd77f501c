//! `conformance <eio|sio> [--port N]`: serves the Engine.IO or Socket.IO
//! suite's server on 127.0.0.1 (port 3000 by default) until interrupted.

use std::process::ExitCode;

const USAGE: &str =
    "usage: conformance <eio|sio|sio-interop|sio-interop-no-recovery> [--port N] [--host ADDR]";

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mode = args.next();
    let mut port: u16 = 3000;
    let mut host = String::from("127.0.0.1");
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--port", Some(v)) => match v.parse() {
                Ok(p) => port = p,
                Err(_) => return usage(&format!("bad port {v:?}")),
            },
            ("--host", Some(v)) => host = v,
            _ => return usage(&format!("unexpected argument {a:?}")),
        }
    }
    let (engine, path) = match mode.as_deref() {
        Some("eio") => (conformance::eio_engine(), "engine.io"),
        Some("sio") => (conformance::sio_engine(), "socket.io"),
        Some("sio-interop") => (
            conformance::sio_interop_server().engine(conformance::sio_interop_config()),
            "socket.io",
        ),
        Some("sio-interop-no-recovery") => (
            conformance::sio_interop_server_with(false).engine(conformance::sio_interop_config()),
            "socket.io",
        ),
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
    println!("conformance server on http://{host}:{port}/{path}/");
    tokio::select! {
        r = engine.serve(listener) => {
            if let Err(e) = r {
                eprintln!("conformance: {e}");
                return ExitCode::FAILURE;
            }
        }
        _ = tokio::signal::ctrl_c() => engine.close_all(),
    }
    ExitCode::SUCCESS
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("conformance: {msg}\n{USAGE}");
    ExitCode::from(2)
}
