#!/usr/bin/env bash
# Stops the throwaway PostgreSQL server scripts/start-test-postgres.sh started, and removes its folder.
#
# usage: scripts/stop-test-postgres.sh [DATA]      (DATA: default $IDAUDIT_TEST_PG_DATA, which the start script exports)
set -euo pipefail
DATA=${1:-${IDAUDIT_TEST_PG_DATA:-}}
if [ -z "$DATA" ]; then
    echo "usage: scripts/stop-test-postgres.sh DATA (or set IDAUDIT_TEST_PG_DATA, as start-test-postgres.sh exports it)" >&2
    exit 64
fi
case "$DATA" in
    /tmp/idaudit-pg.*) ;;
    *) echo "stop-test-postgres.sh: $DATA is not a folder start-test-postgres.sh made (/tmp/idaudit-pg.*)" >&2; exit 64 ;;
esac
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_postgres "$BIN/pg_ctl" -D "$DATA" stop -m fast >/dev/null 2>&1 || true
rm -rf "$DATA"
echo "stopped the test PostgreSQL server and removed $DATA"
