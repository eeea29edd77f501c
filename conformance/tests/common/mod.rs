//! Shared by the interop tests: where the client scripts live, and their
//! npm packages installed (from the lock file) once per test binary.
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
        let installed = ["engine.io-client", "socket.io-client"]
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
                            conformance::sio_interop_server_with(mode == Mode::SioInterop)
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
            "smol" => Server::Smol(conformance::smol::spawn(mode).unwrap()),
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
