#!/usr/bin/env bash
# Makes sure a PostgreSQL answers on 127.0.0.1:5432 with a database `test`
# that user `postgres` reaches without a password (trust), for the
# socketio-postgres tests. Uses the one the machine runs when it answers;
# otherwise installs PostgreSQL (apt) and starts a throwaway cluster under
# /tmp/socketio-pg, which stays up for later runs.
set -euo pipefail
export PGCONNECT_TIMEOUT=3
if [ "$(id -u)" -eq 0 ]; then SUDO=""; AS_PG="runuser -u postgres --"; else SUDO="sudo"; AS_PG="sudo -u postgres"; fi
if ! command -v pg_isready >/dev/null || ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        $SUDO apt-get update
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
    fi
    bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
    dir=/tmp/socketio-pg
    if [ ! -f "$dir/PG_VERSION" ]; then
        $SUDO rm -rf "$dir"
        $SUDO install -d -o postgres -g postgres "$dir"
        $AS_PG "$bin/initdb" -D "$dir" -A trust -U postgres >/dev/null
    fi
    $AS_PG "$bin/pg_ctl" -D "$dir" -l "$dir/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p 5432 -k /tmp" start
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test"
fi
psql -h 127.0.0.1 -U postgres -d test -tAc "SELECT version()"
