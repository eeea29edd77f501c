//! Shared by the interop tests: where the client scripts live, their npm
//! packages installed (from the lock file) once per test binary, and a
//! client script run against a server.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Runs `npm ci` in `interop/` unless every pinned client is installed.
pub fn ensure_npm() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = interop_dir();
        let installed = [
            "engine.io-client",
            "socket.io-client",
            "socket.io-client-v2",
            "socket.io-msgpack-parser",
            "ws",
            "playwright-core",
        ]
        .iter()
        .all(|p| dir.join("node_modules").join(p).is_dir());
        if installed {
            return;
        }
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm must be installed to run the interop tests")
            .success();
        assert!(ok, "npm ci failed in {}", dir.display());
    });
}

/// A suite server running in the background on one runtime, stopped when
/// dropped.
pub enum Server {
    /// On its own multi-threaded tokio runtime.
    Tokio {
        addr: std::net::SocketAddr,
        sessions: Box<dyn Fn() -> usize + Send + Sync>,
        _rt: tokio::runtime::Runtime,
    },
    /// On the smol driver's own threads.
    Smol(conformance::smol::Background),
}

impl Server {
    /// Starts `mode` on `runtime` (one of `conformance::RUNTIMES`) on a free port.
    pub fn start(runtime: &str, mode: conformance::smol::Mode) -> Server {
        Server::start_using(runtime, mode, socketio::Parser::Json)
    }

    /// [`Server::start`] with `parser` for the sio-interop modes.
    pub fn start_using(
        runtime: &str,
        mode: conformance::smol::Mode,
        parser: socketio::Parser,
    ) -> Server {
        use conformance::smol::Mode;
        match runtime {
            "tokio" => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                let (addr, engine) = rt.block_on(async {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let addr = listener.local_addr().unwrap();
                    let engine = match mode {
                        Mode::Eio => conformance::eio_engine(),
                        Mode::Sio => conformance::sio_engine(),
                        Mode::SioInterop | Mode::SioInteropNoRecovery => {
                            conformance::sio_interop_server_using(mode == Mode::SioInterop, parser)
                                .engine(conformance::sio_interop_config())
                        }
                    };
                    let e = engine.clone();
                    tokio::spawn(async move { e.serve(listener).await });
                    (addr, engine)
                });
                Server::Tokio {
                    addr,
                    sessions: Box::new(move || engine.session_count()),
                    _rt: rt,
                }
            }
            "smol" => Server::Smol(conformance::smol::spawn_using(mode, parser).unwrap()),
            other => panic!("unknown runtime {other}"),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> std::net::SocketAddr {
        match self {
            Server::Tokio { addr, .. } => *addr,
            Server::Smol(b) => b.addr,
        }
    }

    /// Its open Engine.IO sessions.
    pub fn session_count(&self) -> usize {
        match self {
            Server::Tokio { sessions, .. } => sessions(),
            Server::Smol(b) => b.engine.session_count(),
        }
    }
}

/// Runs `program` in `dir` with `url` inserted after the first of `args`
/// (the script); fails the test unless it exits 0 and prints `want`.
pub fn run_client(program: &str, args: &[&str], url: &str, dir: PathBuf, want: &str) {
    let mut full: Vec<&str> = args.to_vec();
    full.insert(1, url);
    let out = Command::new(program)
        .args(&full)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(want),
        "{program} {full:?} failed:\nstdout: {stdout}\nstderr: {stderr}"
    );
}
