#!/usr/bin/env bash
# Benchmark of issue 6: `scan --source postgres` on the PROFILES-profile sample loaded into a local PostgreSQL, against
# the SQLite path on the same export and rules. Prints wall times and idaudit's peak memory, and checks the plans are
# identical (but for the generated_at stamp of each run).
#
# usage: scripts/benchmark-postgres.sh [PROFILES=1000000] [REPEATS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILES=${1:-1000000}
REPEATS=${2:-3}
WORK=${BENCH_DIR:-/tmp/idaudit-bench}
RULES=Benchmarks/ever-rules.yaml
mkdir -p "$WORK"
swift build -c release --scratch-path .build-release --product idaudit >/dev/null 2>&1
BIN=$PWD/.build-release/release/idaudit
EXPORT=$WORK/export-$PROFILES
[ -s "$EXPORT/external_id_mapping_updates.csv" ] || $BIN sample --profiles "$PROFILES" --seed 7 --out "$EXPORT/"

# A server tuned as a warehouse would be for one big read: memory for the window sorts, parallel workers.
export PGPORT=54341
eval "$(PG_OPTIONS="-c work_mem=512MB -c shared_buffers=1GB -c max_parallel_workers_per_gather=2" \
    bash scripts/start-test-postgres.sh)"
trap 'runuser -u postgres -- $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl -D "$IDAUDIT_TEST_PG_DATA" stop -m fast >/dev/null' EXIT
export IDAUDIT_PG_URL=$IDAUDIT_TEST_PG_URL
START=$(date +%s.%N)
bash scripts/load-postgres.sh "$EXPORT" profiles_sync
echo "load (psql COPY): $(echo "$(date +%s.%N) - $START" | bc) s"

STORE=$WORK/pg-compare-$PROFILES.sqlite
[ -s "$STORE" ] || $BIN ingest "$EXPORT/" --store "$STORE" >/dev/null
$BIN scan --store "$STORE" --rules $RULES --full --out "$WORK/pg-sqlite/" >/dev/null || true

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$WORK/pg-unsharded.times"
for i in $(seq "$REPEATS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/pg-time" $BIN scan --source postgres --rules $RULES --out "$WORK/pg-whole/" \
        >/dev/null || true
    read -r secs kib < <(tail -1 "$WORK/pg-time")
    echo "run $i: $secs s, peak $((kib / 1024)) MiB"
    echo "$secs" >>"$WORK/pg-unsharded.times"
done
echo "median: $(median <"$WORK/pg-unsharded.times") s"
unstamp() { sed -E 's/,[^,]*,[0-9a-f]*$//' "$1"; }
cmp <(unstamp "$WORK/pg-whole/plan.csv") <(unstamp "$WORK/pg-sqlite/plan.csv") \
    && echo "postgres plan == sqlite plan (byte for byte, the generated_at stamp aside)"
wc -l <"$WORK/pg-whole/plan.csv" | awk '{print "plan lines (with header): " $1}'
