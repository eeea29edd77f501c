#!/usr/bin/env bash
# Checks that the runtime-free crates build without tokio: the normal
# dependencies of `socketio` with no default features, and of the smol
# driver `socketio-smol`, must name no tokio, hyper or tungstenite crate
# (embedders on another runtime get none of them).
#
#   scripts/runtime-free.sh   # prints the offending crates and exits 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."

failed=0
# check LABEL CARGO_TREE_ARGS...: the normal dependency tree of one package.
check() {
  local label="$1"
  shift
  local tree bad
  tree="$(cargo tree "$@" -e normal --prefix none)"
  # grep exits 1 when nothing matches, which is the good case here.
  bad="$(grep -E '^(tokio|hyper|hyper-util|tokio-tungstenite|tungstenite)( |$)' <<<"$tree" | sort -u || true)"
  if [[ -n "$bad" ]]; then
    echo "$label depends on:" >&2
    echo "$bad" >&2
    failed=1
    return
  fi
  echo "$label: $(sort -u <<<"$tree" | wc -l) crates, no tokio, hyper or tungstenite"
}

check "socketio --no-default-features" -p socketio --no-default-features
check "socketio-smol" -p socketio-smol
exit "$failed"
