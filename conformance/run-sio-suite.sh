#!/usr/bin/env bash
# Runs the official Socket.IO protocol test suite against our conformance server.
# usage: conformance/run-eio-suite.sh <path to a checkout of socketio/socket.io-protocol>
# The suite is not part of this repository; fetch it yourself. It expects port 3000.
set -euo pipefail
suite="${1:?usage: $0 <socket.io-protocol checkout>}"
cd "$(dirname "$0")/.."
cargo build --release -p conformance
./target/release/conformance sio --port 3000 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (echo > /dev/tcp/127.0.0.1/3000) 2>/dev/null && break
  sleep 0.1
done
cd "$suite/test-suite"
[ -d node_modules ] || npm ci --no-audit --no-fund
npx mocha test-suite.js
