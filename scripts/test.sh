#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration, doc tests, and the
# interop tests driven by the real engine.io-client (npm, from the lock file).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> npm ci (conformance/interop)"
npm ci --prefix conformance/interop --no-audit --no-fund
echo "==> cargo test --workspace"
cargo test --workspace
