#!/usr/bin/env bash
# Installs what the headless-browser tests need: Debian's `chromium` (with
# apt-get, when it is missing) and the npm packages of server/tests/browser
# (playwright-core, @socket.io/admin-ui, socket.io-client) from its lock
# file. The tests find the browser through CHROMIUM (default: the `chromium`
# on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
    # CI runs this script as root; a developer's account may need sudo.
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
chromium --version
npm ci --prefix server/tests/browser --no-audit --no-fund
