#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the warehouse tests: Debian's packages, a fresh cluster in a temporary
# folder, run by the unprivileged `postgres` user, on 127.0.0.1:${PGPORT:-54329} with trust authentication.
# Prints the line to export: IDAUDIT_TEST_PG_URL=postgres://postgres@127.0.0.1:54329/postgres
#
# usage: eval "$(scripts/start-test-postgres.sh)"      (installs postgresql when missing; needs root for that)
# PG_OPTIONS adds server settings, such as "-c work_mem=512MB" for benchmarks.
set -euo pipefail
PORT=${PGPORT:-54329}
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
DATA=$(mktemp -d /tmp/idaudit-pg.XXXXXX)
chown postgres "$DATA"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_postgres "$BIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C >/dev/null
as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c fsync=off ${PG_OPTIONS:-}" start >/dev/null
echo "export IDAUDIT_TEST_PG_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
echo "export IDAUDIT_TEST_PG_DATA=$DATA"
