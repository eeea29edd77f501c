#!/usr/bin/env bash
# Runs the Autobahn fuzzingclient cases 1-7, 9, 10, 12 and 13 (kosoku, pinned in
# conformance/autobahn/requirements.txt, in the venv conformance/autobahn/.venv
# this script makes) against `conformance ws-echo`, the raw WebSocket echo
# server on the engine's own framing; fails unless every case's behavior and
# close behavior are OK, NON-STRICT or INFORMATIONAL.
#   scripts/autobahn.sh                 # the debug binary (`cargo test` built it)
#   AUTOBAHN_BIN=target/release/conformance scripts/autobahn.sh   # a binary as is
#   AUTOBAHN_CASES="5.* 7.*" scripts/autobahn.sh   # chosen cases only
# Reports (JSON per case, index.json, HTML) go to target/autobahn/.
# Cases 12 and 13 are permessage-deflate's (ws-echo negotiates it, with
# context takeover when the client allows it and every message compressed).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${AUTOBAHN_BIN:-}"
cases=(${AUTOBAHN_CASES:-1.* 2.* 3.* 4.* 5.* 6.* 7.* 9.* 10.* 12.* 13.*})
# Cases run concurrently: case 9's large messages dominate the run time.
parallel="${AUTOBAHN_PARALLEL:-4}"
if [ -z "$bin" ]; then
  # A no-op right after `cargo test --workspace`; rebuilds a stale binary.
  cargo build -p conformance --bin conformance
  bin=target/debug/conformance
fi
[ -x "$bin" ] || { echo "autobahn: no conformance binary at $bin" >&2; exit 1; }
bash scripts/venv.sh conformance/autobahn
out=target/autobahn
rm -rf "$out"
mkdir -p "$out"
"$bin" ws-echo --port 0 >"$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
addr=""
for _ in $(seq 100); do
  addr="$(sed -n 's|^conformance ws-echo on ws://\(.*\)/$|\1|p' "$out/server.log")"
  [ -n "$addr" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "autobahn: ws-echo did not start" >&2; exit 1; }
include=()
for c in "${cases[@]}"; do include+=(-i "$c"); done
start=$SECONDS
# kosoku exits non-zero when a case fails; check.py decides, from the report.
conformance/autobahn/.venv/bin/kosoku -m fuzzingclient "$addr" "${include[@]}" \
  -p "$parallel" -o "$out" >"$out/kosoku.log" 2>&1 || true
echo "autobahn: kosoku ran for $((SECONDS - start)) s (parallelism $parallel, $bin)"
if [ ! -f "$out/index.json" ]; then
  tail -n 20 "$out/kosoku.log" >&2
  echo "autobahn: no report in $out" >&2
  exit 1
fi
conformance/autobahn/.venv/bin/python conformance/autobahn/check.py "$out"
