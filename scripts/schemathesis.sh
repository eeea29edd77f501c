#!/usr/bin/env bash
# The HTTP API against its own OpenAPI description (server/openapi.json) with
# schemathesis: scripts/schemathesis.sh [MAX_EXAMPLES]
#
# Makes the venv from server/tests/schemathesis/requirements.txt (pinned),
# starts socketio-server (target/debug, built if missing; SCHEMATHESIS_BIN
# overrides: not a SOCKETIO_SERVER_* name, which the server would read as a
# config key) on 127.0.0.1 with an API key, an admin key and no rate limits,
# and runs every operation with at most MAX_EXAMPLES generated cases
# (default 50, fixed seed) and the checks not_a_server_error,
# status_code_conformance, content_type_conformance and
# response_schema_conformance. Fails on any failed check and on a panic in the
# server log. Bounded: MAX_EXAMPLES cases per operation and phase (about
# 30 s at 50), and `timeout 300` around the run.
set -euo pipefail
cd "$(dirname "$0")/.."

examples=${1:-50}
here=server/tests/schemathesis
bash scripts/venv.sh "$here"
bin=${SCHEMATHESIS_BIN:-target/debug/socketio-server}
if [ ! -x "$bin" ]; then
    cargo build --bin socketio-server
fi

work=$(mktemp -d /tmp/schemathesis.XXXXXX)
key="schemathesis-admin-key-0123456789"
cat >"$work/config.toml" <<CONF
[server]
host = "127.0.0.1"
port = 0
drain_secs = 1
[rate_limits]
enabled = false
[auth]
jwt_secrets = ["schemathesis-jwt-secret-0123456789"]
[api]
keys = ["schemathesis-api-key-0123456789"]
admin_keys = ["$key"]
CONF

# This config only: the server reads SOCKETIO_SERVER_* variables as config
# keys, so none of the caller's reach it.
for v in $(compgen -e); do
    case "$v" in SOCKETIO_SERVER_*) unset "$v" ;; esac
done
"$bin" --config "$work/config.toml" 2>"$work/server.log" &
pid=$!
cleanup() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT
port=""
for _ in $(seq 1 100); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/server.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "schemathesis.sh: the server did not start" >&2; exit 1; }

status=0
# From the scratch directory: schemathesis keeps a .schemathesis/ cache in
# its working directory.
root=$(pwd)
(cd "$work" && timeout 300 "$root/$here/.venv/bin/schemathesis" run "$root/server/openapi.json" \
    --url "http://127.0.0.1:$port" \
    --header "X-API-Key: $key" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$examples" --seed 23 --workers 1 \
    --no-color --output-truncate true --generation-database none \
    --report junit --report-dir "$work") || status=$?

cleanup
trap - EXIT
if grep -q -i 'panic' "$work/server.log"; then
    echo "schemathesis.sh: the server panicked:" >&2
    grep -i -A5 'panic' "$work/server.log" | head -20 >&2
    status=1
fi
echo "schemathesis.sh: server log and report in $work"
exit "$status"
