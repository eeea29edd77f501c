#!/usr/bin/env bash
# Checks that the Socket.IO core builds without tokio: the normal
# dependencies of `socketio` with no default features must name no tokio,
# hyper or tungstenite crate (embedders on another runtime get none of them).
#
#   scripts/runtime-free.sh   # prints the offending crates and exits 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."
tree="$(cargo tree -p socketio --no-default-features -e normal --prefix none)"
bad="$(grep -E '^(tokio|hyper|hyper-util|tokio-tungstenite|tungstenite)( |$)' <<<"$tree" | sort -u || true)"
if [[ -n "$bad" ]]; then
  echo "socketio without default features depends on:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "socketio --no-default-features: $(sort -u <<<"$tree" | wc -l) crates, no tokio, hyper or tungstenite"
