#!/usr/bin/env bash
# Runs an official protocol test suite against our conformance server.
#   conformance/run-suite.sh eio <checkout of socketio/engine.io-protocol>
#   conformance/run-suite.sh sio <checkout of socketio/socket.io-protocol>
# Arguments after the checkout go to the server, e.g. `--mount axum` to run
# the suite against the server mounted in an axum Router.
# The suites are not part of this repository; fetch them yourself. They
# expect the server on port 3000.
set -euo pipefail
mode="${1:?usage: $0 <eio|sio> <suite checkout>}"
suite="$(cd "${2:?usage: $0 <eio|sio> <suite checkout>}" && pwd)"
case "$mode" in eio|sio) ;; *) echo "mode must be eio or sio" >&2; exit 2 ;; esac
shift 2
cd "$(dirname "$0")/.."
cargo build --release -p conformance
./target/release/conformance "$mode" --port 3000 "$@" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (echo > /dev/tcp/127.0.0.1/3000) 2>/dev/null && break
  sleep 0.1
done
cd "$suite/test-suite"
[ -d node_modules ] || npm ci --no-audit --no-fund
npx mocha test-suite.js
