#!/usr/bin/env bash
# Benchmark of issue 11: the same PROFILES-profile export scanned by the SQLite store path (ingest + scan) and by the
# whole plan script inside PostgreSQL, DuckDB and Apache Spark (local[2]), side by side in one run, release build,
# full semantics (rules/segment-recommended.yaml: windows, blocked patterns). Every engine's plan must equal the
# store's (the generated_at stamp aside). Prints the median of REPEATS runs, idaudit's own peak memory, and the cost
# per million mapping rows.
#
# The baseline is hand-duckdb: the best query a data engineer would write by hand in DuckDB for the same rules, full
# semantics, windows included (Benchmarks/hand_query_duckdb.py); every figure is also given as a ratio to it.
#
# usage: scripts/benchmark-engines.sh [PROFILES=1000000] [REPEATS=3] [ENGINES="store postgres duckdb hand-duckdb spark"]
#        ENGINES may also name oneshot (scan --export, no store); without store, plans are checked against it
#        HEAVY=1: the --heavy-excess sample (about a fifth of the rows in excess) instead of the friendly one
#        SPARK_DRIVER_MEMORY=6g by default (local mode: the driver is the executor)
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILES=${1:-1000000}
REPEATS=${2:-3}
ENGINES=${3:-"store postgres duckdb hand-duckdb spark"}
WORK=${BENCH_DIR:-/tmp/idaudit-bench}
RULES=rules/segment-recommended.yaml
mkdir -p "$WORK"
swift build -c release --product idaudit >/dev/null 2>&1
BIN=$PWD/.build/release/idaudit
if [ "${HEAVY:-0}" = 1 ]; then
    EXPORT=$WORK/export-heavy-$PROFILES
    [ -s "$EXPORT/external_id_mapping_updates.csv" ] || $BIN sample --profiles "$PROFILES" --seed 7 --heavy-excess --out "$EXPORT/"
    PROFILES=heavy-$PROFILES
else
    EXPORT=$WORK/export-$PROFILES
    [ -s "$EXPORT/external_id_mapping_updates.csv" ] || $BIN sample --profiles "$PROFILES" --seed 7 --out "$EXPORT/"
fi
ROWS=$(($(wc -l < "$EXPORT/external_id_mapping_updates.csv") - 1))
echo "export: $(du -sh "$EXPORT" | cut -f1), $ROWS mapping rows"

RESULTS=$WORK/engines-$PROFILES.txt
: > "$RESULTS"
run() {  # NAME CMD...: records "NAME seconds peak_MiB" (a scan exits 1 or 2 when it finds excess: not a failure)
    local name=$1 status=0
    shift
    sync  # set-up, not timed: no run pays for the writeback of the one before it
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/$name.log" 2>&1 || status=$?
    if [ "$status" -ge 3 ]; then echo "$name failed:"; tail -3 "$WORK/$name.log"; return 1; fi
    read -r secs kib < <(tail -1 "$WORK/time.txt")
    # idaudit's own peak (the engine's processes are counted in the tree's peak above, not here)
    local own
    own=$(grep -o "idaudit peak memory (this process): [0-9]*" "$WORK/$name.log" | grep -o "[0-9]*$" || true)
    echo "$name $secs $((kib / 1024)) ${own:-$((kib / 1024))}" >> "$RESULTS"
}
# Two plans' lines as CSV records, the stamp (generated_at, rules_sha256) aside: equal or not, and a few that differ.
same_plan() {
    python3 - "$1" "$2" <<'PY'
import csv, sys
def lines(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [tuple(r[:12]) for r in csv.reader(f)]
a, b = lines(sys.argv[1]), lines(sys.argv[2])
if a != b:
    for x in sorted(set(a) ^ set(b))[:3]: print("   differs:", x)
sys.exit(0 if a == b else 1)
PY
}

if [[ " $ENGINES " == *" postgres "* ]]; then
    export PGPORT=54342
    eval "$(PG_OPTIONS="-c work_mem=256MB -c shared_buffers=1GB -c max_parallel_workers_per_gather=2 -c temp_buffers=512MB" \
        bash scripts/start-test-postgres.sh)"
    trap 'runuser -u postgres -- $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl -D "$IDAUDIT_TEST_PG_DATA" stop -m fast >/dev/null' EXIT
    export IDAUDIT_PG_URL=$IDAUDIT_TEST_PG_URL
    START=$(date +%s.%N)
    bash scripts/load-postgres.sh "$EXPORT" profiles_sync >/dev/null
    echo "postgres load (psql COPY, not timed below): $(echo "$(date +%s.%N) - $START" | bc) s"
fi

STORE=$WORK/engines-store-$PROFILES.sqlite
for i in $(seq "$REPEATS"); do
    for engine in $ENGINES; do
        case $engine in
        store)
            rm -f "$STORE" "$STORE-wal" "$STORE-shm"
            run store-ingest $BIN ingest "$EXPORT/" --store "$STORE"
            run store-scan $BIN scan --store "$STORE" --rules $RULES --out "$WORK/engines-store-$PROFILES/" || true
            ;;
        oneshot) run oneshot $BIN scan --export "$EXPORT" --rules $RULES --out "$WORK/engines-oneshot-$PROFILES/" || true ;;
        postgres) run postgres env IDAUDIT_TRACE=1 $BIN scan --source postgres --rules $RULES --out "$WORK/engines-postgres-$PROFILES/" || true ;;
        hand-duckdb)
            mkdir -p "$WORK/engines-hand-duckdb-$PROFILES"
            run hand-duckdb python3 Benchmarks/hand_query_duckdb.py "$EXPORT" "$WORK/engines-hand-duckdb-$PROFILES/plan.csv"
            ;;
        duckdb) run duckdb env IDAUDIT_TRACE=1 $BIN scan --source duckdb --export "$EXPORT" --rules $RULES --out "$WORK/engines-duckdb-$PROFILES/" || true ;;
        spark)
            run spark env IDAUDIT_TRACE=1 $BIN scan --source spark --export "$EXPORT" --master "local[2]" \
                --spark-conf "spark.driver.memory=${SPARK_DRIVER_MEMORY:-6g}" --rules $RULES \
                --out "$WORK/engines-spark-$PROFILES/" || true
            ;;
        esac
    done
done
# The reference plan: the store's, else the one-shot scan's (`ENGINES="oneshot spark"` at sizes a store is slow at).
REFERENCE=store
[[ " $ENGINES " == *" store "* ]] || REFERENCE=oneshot
for engine in $ENGINES; do
    [ "$engine" = "$REFERENCE" ] && continue
    if [ -s "$WORK/engines-$REFERENCE-$PROFILES/plan.csv" ] && [ -s "$WORK/engines-$engine-$PROFILES/plan.csv" ]; then
        same_plan "$WORK/engines-$REFERENCE-$PROFILES/plan.csv" "$WORK/engines-$engine-$PROFILES/plan.csv" \
            && echo "$engine plan == $REFERENCE plan ($(($(wc -l < "$WORK/engines-$engine-$PROFILES/plan.csv") - 1)) lines)" \
            || echo "$engine plan DIFFERS from the $REFERENCE plan"
    fi
done
echo
echo "median of $REPEATS runs, $PROFILES profiles, $ROWS mapping rows:"
python3 - "$RESULTS" "$ROWS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, secs, tree, own = line.split()
    rows.setdefault(name, []).append((float(secs), int(own), int(tree)))
million = int(sys.argv[2]) / 1e6
if "store-ingest" in rows and "store-scan" in rows:
    rows["store (ingest + scan)"] = [
        (a[0] + b[0], max(a[1], b[1]), max(a[2], b[2])) for a, b in zip(rows["store-ingest"], rows["store-scan"])]
base = statistics.median(v[0] for v in rows["hand-duckdb"]) if "hand-duckdb" in rows else None
for name, values in rows.items():
    times = sorted(v[0] for v in values)
    ratio = f"  {statistics.median(times) / base:5.2f}x the hand query" if base else ""
    print(f"  {name:24} {statistics.median(times):8.1f} s{ratio}  ({', '.join(f'{t:.1f}' for t in times)})"
          f"  {statistics.median(times) / million:6.2f} s per million rows  idaudit peak {max(v[1] for v in values)} MiB"
          f"  (with the engine's processes {max(v[2] for v in values)} MiB)")
PY
