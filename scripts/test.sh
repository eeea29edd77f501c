#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration, doc tests, and the
# interop tests driven by real clients: engine.io-client and socket.io-client
# (npm, from the lock file) and python-socketio (pinned, in a venv); then a
# 30-second smoke run of every fuzz target (installs cargo-fuzz if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> npm ci (conformance/interop)"
npm ci --prefix conformance/interop --no-audit --no-fund
echo "==> python client venv (conformance/interop/python)"
bash conformance/interop/python/setup.sh
echo "==> cargo test --workspace"
cargo test --workspace
echo "==> fuzz smoke run (30 s per target)"
scripts/fuzz.sh 30
