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
