#!/usr/bin/env bash
# Benchmark of issue 3's figures, release build:
#   cold      ingest + scan of an N-profile sample into an empty store (time, peak memory)
#   nightly   scan --full of the ingested store (every profile evaluated) and a plain re-scan (nothing changed)
#   hourly    ingest of an export touching 1% of the profiles + the incremental re-scan
#   baseline  DuckDB running the `ever` semantics as SQL over the same CSVs, against idaudit on the same rules
# Each is repeated REPEATS times; the median is printed. Peak memory is the max RSS of the idaudit process.
#
# usage: scripts/benchmark-scan.sh [PROFILES=1000000] [REPEATS=3]      (BENCH_DIR=/tmp/idaudit-bench by default)
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILES=${1:-1000000}
REPEATS=${2:-3}
WORK=${BENCH_DIR:-/tmp/idaudit-bench}
RULES=rules/segment-recommended.yaml
mkdir -p "$WORK"

swift build -c release --scratch-path .build-release --product idaudit >/dev/null
BIN=.build-release/release/idaudit
EXPORT=$WORK/export-$PROFILES
HOURLY=$WORK/hourly-$PROFILES
STORE=$WORK/store-$PROFILES.sqlite
if [ ! -s "$EXPORT/external_id_mapping_updates.csv" ]; then
    $BIN sample --profiles "$PROFILES" --seed 7 --out "$EXPORT/"
fi
[ -s "$HOURLY/external_id_mapping_updates.csv" ] || python3 Benchmarks/make_hourly_export.py "$EXPORT" "$HOURLY" 1
python3 -c "import duckdb" 2>/dev/null || pip install -q duckdb
echo "export: $(du -sh "$EXPORT" | cut -f1), $(($(wc -l < "$EXPORT/external_id_mapping_updates.csv") - 1)) mapping rows"

RESULTS=$WORK/results.txt
: > "$RESULTS"
# run NAME CMD...: times CMD, records "NAME seconds maxRSS_MiB"
run() {
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/$name.log" 2>&1
    read -r secs kib < "$WORK/time.txt"
    echo "$name $secs $((kib / 1024))" >> "$RESULTS"
}
rmstore() { rm -f "$1" "$1-journal" "$1-wal" "$1-shm"; }

for i in $(seq "$REPEATS"); do
    rmstore "$STORE"
    run cold-ingest $BIN ingest "$EXPORT/" --store "$STORE"
    run cold-scan $BIN scan --store "$STORE" --rules $RULES --out "$WORK/out-cold/"
    run nightly-full-scan $BIN scan --store "$STORE" --rules $RULES --out "$WORK/out-full/" --full
    run nightly-rescan $BIN scan --store "$STORE" --rules $RULES --out "$WORK/out-rescan/"
    cp "$STORE" "$STORE.hourly" && sync  # the copy is set-up: let its writes reach the disk before timing
    run hourly-ingest $BIN ingest "$HOURLY/" --store "$STORE.hourly"
    run hourly-scan $BIN scan --store "$STORE.hourly" --rules $RULES --out "$WORK/out-hourly/"
    rmstore "$STORE.hourly"
    run ever-scan $BIN scan --store "$STORE" --rules Benchmarks/ever-rules.yaml --out "$WORK/out-ever/"
    run duckdb-ever python3 Benchmarks/duckdb_baseline.py "$EXPORT" 5 user_id=1
done

echo
echo "median of $REPEATS runs ($PROFILES profiles):"
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, secs, mib = line.split()
    rows.setdefault(name, []).append((float(secs), int(mib)))
med = {n: (statistics.median(s for s, _ in v), max(m for _, m in v)) for n, v in rows.items()}
for n, (s, m) in med.items():
    print(f"  {n:20s} {s:7.2f} s   peak {m:5d} MiB   (runs: {', '.join(f'{x:.2f}' for x, _ in rows[n])})")
cold = med["cold-ingest"][0] + med["cold-scan"][0]
hourly = med["hourly-ingest"][0] + med["hourly-scan"][0]
print(f"  cold ingest + scan   {cold:7.2f} s")
print(f"  hourly ingest + scan {hourly:7.2f} s")
print(f"  duckdb / idaudit on the ever rules (scan --full equivalent): see ever-scan vs duckdb-ever")
PY
echo
echo "excess identifiers, ever rules: idaudit $(python3 -c "import json;print(json.load(open('$WORK/out-ever/summary.json'))['excess_identifiers'])"), $(tail -1 "$WORK/duckdb-ever.log")"
