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
        let installed = [
            "engine.io-client",
            "socket.io-client",
            "socket.io-msgpack-parser",
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
