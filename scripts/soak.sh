#!/usr/bin/env bash
# Soak test of socketio-server: scripts/soak.sh DURATION (seconds, or with
# a suffix: 120s, 2m, 30m).
#
# Builds the release server and load generator, starts the server on
# 127.0.0.1 (a free port) with room for 20 000 connections and no rate
# limits, then runs `loadgen soak`: 10 000 WebSocket and 300 long-polling
# clients for DURATION, 200 WebSocket disconnects and 200 connects a second,
# an /api/broadcast every 5 s (clients count the deliveries), the server's
# VmRSS sampled every 5 s. It fails when the median RSS of the last fifth of
# the post-warm-up samples exceeds that of the first fifth by more than 5 %,
# when the engine's connections or a namespace's sockets (from /metrics) are
# not back to 0 within 60 s of the clients leaving, when a broadcast reaches
# under 95 % of its recipients, on any client error, and when the server log
# has a WARN, ERROR or panic line. The warm-up is a quarter of DURATION (at
# least 60 s: longer than the 45 s connect timeout, for which the server keeps
# an entry per new connection) of churn after the 10 000 are connected.
#
# Knobs (environment): SOAK_CLIENTS (10000), SOAK_POLLING (300), SOAK_CHURN
# (200), SOAK_BROADCAST_EVERY (5 seconds; "none" for no broadcasts),
# SOAK_SAMPLE_EVERY (5 seconds between RSS samples), SOAK_WARMUP (seconds),
# SOAK_OUT (directory for server.log and result.json; a fresh temporary one
# by default), SOAK_NO_BUILD=1 (use the binaries already in target/release).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/soak.sh DURATION (e.g. 120, 2m, 30m)" >&2; exit 2; }
[ $# -eq 1 ] || usage
case "$1" in
    *m) secs=$(( ${1%m} * 60 )) ;;
    *s) secs=${1%s} ;;
    *) secs=$1 ;;
esac
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -ge 90 ] || { echo "soak: DURATION must be at least 90 s" >&2; usage; }

clients=${SOAK_CLIENTS:-10000}
# Seconds between broadcasts; "none": no broadcasts.
bcast=${SOAK_BROADCAST_EVERY:-5}
polling=${SOAK_POLLING:-300}
churn=${SOAK_CHURN:-200}
out=${SOAK_OUT:-$(mktemp -d /tmp/soak.XXXXXX)}
mkdir -p "$out"
key="soak-api-key-0123456789abcdef"

if [ "${SOAK_NO_BUILD:-0}" != 1 ]; then
    echo "==> cargo build --release (socketio-server, loadgen)"
    cargo build --release --bin socketio-server --bin loadgen
fi
# Copies, so that a rebuild during a long run cannot change them.
cp target/release/socketio-server target/release/loadgen "$out/"

# 10 000 clients plus churn in each process: raise the open-files limit.
need=$(( clients + 2 * polling + 1000 ))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
    ulimit -n "$need" 2>/dev/null || {
        echo "soak: the open-files limit $(ulimit -n) is below $need (hard $(ulimit -Hn))" >&2
        exit 1
    }
fi

cat >"$out/config.toml" <<EOF
[server]
host = "127.0.0.1"
port = 0
drain_secs = 1
[connection]
max_connections = $(( (clients + polling) * 2 ))
[rate_limits]
enabled = false
[api]
keys = ["$key"]
[monitoring]
connection_logging = false
[log]
level = "info"
EOF

echo "==> socketio-server (log: $out/server.log)"
"$out/socketio-server" --config "$out/config.toml" 2>"$out/server.log" &
server_pid=$!
stop_server() {
    if kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    wait "$server_pid" 2>/dev/null || true
}
trap stop_server EXIT

port=""
for _ in $(seq 1 100); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$out/server.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "soak: the server did not start listening" >&2; cat "$out/server.log" >&2; exit 1; }

bcast_args=()
[ "$bcast" = none ] || bcast_args=(--api-key "$key" --broadcast-every "$bcast")
echo "==> loadgen soak: $clients websocket + $polling polling clients, churn $churn/s, ${secs} s (server pid $server_pid, port $port)"
status=0
"$out/loadgen" soak --url "http://127.0.0.1:$port" --server-pid "$server_pid" \
    --secs "$secs" --clients "$clients" --polling "$polling" --churn "$churn" \
    ${bcast_args[@]+"${bcast_args[@]}"} --sample-every "${SOAK_SAMPLE_EVERY:-5}" \
    ${SOAK_WARMUP:+--warmup "$SOAK_WARMUP"} >"$out/result.json" 2> >(tee "$out/loadgen.log" >&2) || status=$?

stop_server
trap - EXIT

python3 - "$out/result.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
rss = r.get("rss_kib", {})
print("soak: connects %s, disconnects %s, broadcasts %s, deliveries %s of %s recipients (late %s), errors %s"
      % (r.get("connects"), r.get("disconnects"), r.get("broadcasts"), r.get("deliveries"),
         r.get("recipients"), r.get("late_deliveries"), r.get("errors")))
if "first_median" in rss:
    print("soak: RSS after warm-up (KiB): %d samples, min %d, max %d, first %d, last %d; median first %d -> last %d (%+.2f %%)"
          % (rss["judged"], rss["min"], rss["max"], rss["first"], rss["last"],
             rss["first_median"], rss["last_median"], rss["growth_pct"]))
print("soak: final counts %s (zero after %s ms)" % (r.get("final_counts"), r.get("zero_after_ms")))
for f in r.get("failures", []) + ([r["error"]] if "error" in r else []):
    print("soak: FAILED: " + f)
EOF

# Info level (for the "listening on" line) without per-connection lines:
# any warning, error or panic fails the soak.
bad=$(grep -E ' (WARN|ERROR) |panic' "$out/server.log" || true)
if [ -n "$bad" ]; then
    echo "soak: FAILED: the server log has warnings or errors:" >&2
    echo "$bad" | head -20 >&2
    status=1
fi
echo "soak: server log $(wc -l <"$out/server.log") lines; results in $out"
exit "$status"
