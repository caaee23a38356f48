#!/usr/bin/env bash
# Benchmark of issue 12's ratios, release build, side by side in one run, median of REPEATS:
#   oneshot   scan --export: the whole nightly job with no store (CI on a fresh runner)
#   hand      the baseline: the query a good data engineer would write by hand in DuckDB over the same CSVs, full
#             semantics, windows included (Benchmarks/hand_query_duckdb.py, written for
#             rules/segment-recommended.yaml); its plan must equal idaudit's
#   store     cold ingest + scan into an empty store; warm: scan with nothing changed; hourly: ingest of an export
#             touching 1% of the profiles + the incremental scan
# and prints hand / oneshot, hand / warm and hand / hourly (above 1: idaudit is faster).
#
# usage: scripts/benchmark-scan.sh [PROFILES=1000000] [REPEATS=3] [RULES=rules/segment-recommended.yaml] [MIX=default]
#   MIX=heavy: `idaudit sample --heavy-excess`, about a fifth of the mapping rows in excess (the default: about 4%)
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILES=${1:-1000000}
REPEATS=${2:-3}
RULES=${3:-rules/segment-recommended.yaml}
MIX=${4:-default}
case "$MIX" in default) PREFIX=export; SAMPLE_FLAGS=();; heavy) PREFIX=heavy; SAMPLE_FLAGS=(--heavy-excess);; *) echo "MIX is default or heavy" >&2; exit 2;; esac
WORK=${BENCH_DIR:-/tmp/idaudit-bench}
mkdir -p "$WORK"
swift build -c release --product idaudit >/dev/null 2>&1
BIN=$PWD/.build/release/idaudit
EXPORT=$WORK/$PREFIX-$PROFILES
HOURLY=$WORK/$PREFIX-hourly-$PROFILES
STORE=$WORK/scan-store-$PREFIX-$PROFILES.sqlite
[ -s "$EXPORT/external_id_mapping_updates.csv" ] || $BIN sample --profiles "$PROFILES" --seed 7 "${SAMPLE_FLAGS[@]}" --out "$EXPORT/"
[ -s "$HOURLY/external_id_mapping_updates.csv" ] || python3 Benchmarks/make_hourly_export.py "$EXPORT" "$HOURLY" 1
python3 -c "import duckdb" 2>/dev/null || python3 -m pip install -q duckdb
if [ "$RULES" != rules/segment-recommended.yaml ]; then
    echo "the hand-written baseline is written for rules/segment-recommended.yaml; RULES=$RULES has no baseline" >&2
    exit 2
fi
echo "export: $(du -sh "$EXPORT" | cut -f1), $(($(wc -l < "$EXPORT/external_id_mapping_updates.csv") - 1)) mapping rows; rules $RULES"

RESULTS=$WORK/scan-$PREFIX-$PROFILES.txt
: > "$RESULTS"
run() {  # NAME CMD...: records "NAME seconds peak_MiB" (a scan exits 1 or 2 when it finds excess: not a failure)
    local name=$1 status=0
    shift
    sync  # set-up, not timed: no run pays for the writeback of the one before it
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/$name.log" 2>&1 || status=$?
    if [ "$status" -ge 3 ]; then echo "$name failed:"; tail -3 "$WORK/$name.log"; exit 1; fi
    read -r secs kib < <(tail -1 "$WORK/time.txt")
    echo "$name $secs $((kib / 1024))" >> "$RESULTS"
}
rmstore() { rm -f "$1" "$1-journal" "$1-wal" "$1-shm"; }

for i in $(seq "$REPEATS"); do
    run oneshot $BIN scan --export "$EXPORT" --rules "$RULES" --out "$WORK/out-oneshot/"
    run hand python3 Benchmarks/hand_query_duckdb.py "$EXPORT" "$WORK/hand-plan.csv"
    rmstore "$STORE"
    run cold-ingest $BIN ingest "$EXPORT/" --store "$STORE"
    run cold-scan $BIN scan --store "$STORE" --rules "$RULES" --out "$WORK/out-cold/"
    run warm-scan $BIN scan --store "$STORE" --rules "$RULES" --out "$WORK/out-warm/"
    cp "$STORE" "$STORE.hourly" && sync  # set-up: let the copy reach the disk before timing
    run hourly-ingest $BIN ingest "$HOURLY/" --store "$STORE.hourly"
    run hourly-scan $BIN scan --store "$STORE.hourly" --rules "$RULES" --out "$WORK/out-hourly/"
    rmstore "$STORE.hourly"
done

python3 - "$WORK/out-oneshot/plan.csv" "$WORK/hand-plan.csv" <<'PY'
import csv, sys
# Field by field (DuckDB quotes empty fields), the stamp (generated_at, rules_sha256) aside.
a, b = ([row[:12] for row in csv.reader(open(path, newline="", encoding="utf-8"))] for path in sys.argv[1:3])
print(f"the hand query's plan == idaudit's plan ({len(a) - 1} lines)" if a == b else "the hand query's plan DIFFERS from idaudit's")
PY
echo
echo "median of $REPEATS runs ($PROFILES profiles, $MIX mix, $(($(wc -l < "$WORK/out-oneshot/plan.csv") - 1)) plan lines):"
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, secs, mib = line.split()
    rows.setdefault(name, []).append((float(secs), int(mib)))
med = {n: statistics.median(s for s, _ in v) for n, v in rows.items()}
peak = {n: max(m for _, m in v) for n, v in rows.items()}
for n in rows:
    print(f"  {n:14s} {med[n]:7.2f} s   peak {peak[n]:5d} MiB   (runs: {', '.join(f'{x:.2f}' for x, _ in rows[n])})")
hourly = med["hourly-ingest"] + med["hourly-scan"]
print(f"  hand / oneshot       {med['hand'] / med['oneshot']:5.2f}x   (goal 2x)")
print(f"  hand / warm scan     {med['hand'] / med['warm-scan']:5.2f}x   (goal 7x)")
print(f"  hand / hourly        {med['hand'] / hourly:5.2f}x   (goal 10x: ingest {med['hourly-ingest']:.2f} + scan {med['hourly-scan']:.2f} s)")
PY
