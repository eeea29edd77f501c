#!/usr/bin/env bash
# Creates/refreshes the venv DIR/.venv from DIR's pinned requirements.txt
# (the python-socketio client of the interop tests, kosoku for Autobahn,
# schemathesis for the HTTP API).
#
#   scripts/venv.sh DIR   # idempotent; quiet on success
#
# The venv lives in DIR/.venv. A copy of requirements.txt is stored inside it;
# when it differs from the current file, the venv is rebuilt from scratch.
set -euo pipefail

here="$(cd "${1:?usage: venv.sh DIR}" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/requirements.installed.txt"

if [[ -x "$venv/bin/python" && -f "$stamp" ]] && cmp -s "$req" "$stamp"; then
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! {
  rm -rf "$venv" &&
    python3 -m venv "$venv" &&
    "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check -r "$req"
} >"$log" 2>&1; then
  cat "$log" >&2
  echo "venv.sh: creating $venv failed" >&2
  rm -rf "$venv"
  exit 1
fi
cp "$req" "$stamp"
