#!/usr/bin/env bash
# Benchmark of issue 4: apply against the emulator (release build, real HTTP on 127.0.0.1).
#
# 1. Segment: LINES remediable lines, emulator latency 300 ms, budget 100/s per space: sustained requests/s, lines
#    sent twice (journal), share of 429s.
# 2. Insider One: the same lines through the identifier adapter at 25,000/min.
# 3. kill -9: an apply killed mid-run, then resumed: no line deleted twice, every line done.
#
# usage: scripts/benchmark-apply.sh [LINES=20000] [PROFILES=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-20000}
PROFILES=${2:-100000}
WORK=${BENCH_DIR:-/tmp/idaudit-bench}/apply
rm -rf "$WORK"
mkdir -p "$WORK"
swift build -c release --scratch-path .build-release --product idaudit >/dev/null
BIN=$PWD/.build-release/release/idaudit
EXPORT=${BENCH_DIR:-/tmp/idaudit-bench}/export-$PROFILES
[ -s "$EXPORT/external_id_mapping_updates.csv" ] || $BIN sample --profiles "$PROFILES" --seed 7 --out "$EXPORT/"
STORE=$WORK/store.sqlite
$BIN ingest "$EXPORT/" --store "$STORE" >/dev/null
$BIN scan --store "$STORE" --rules rules/segment-recommended.yaml --out "$WORK/scan/" >/dev/null || true
# Insider One's copy of the profiles does not see Segment's deletions: it gets a store of its own.
INSIDER_STORE=$WORK/insider-store.sqlite
cp "$STORE" "$INSIDER_STORE"
export IDAUDIT_EMULATOR_TOKEN=bench IDAUDIT_SEGMENT_TOKEN=bench IDAUDIT_INSIDER_TOKEN=bench
PORT=18931

start_emulator() {  # $1: log file, $2: store; extra args follow
    local log=$1 store=$2
    shift 2
    $BIN emulate --port $PORT --store "$store" --latency-ms 300 "$@" >"$log" 2>&1 &
    EMULATOR=$!
    for _ in $(seq 100); do grep -q emulating "$log" && return; sleep 0.1; done
    echo "emulator did not start"; cat "$log"; exit 1
}
stop_emulator() {
    kill -INT "$EMULATOR"
    wait "$EMULATOR" || true
}
journal_twice() {  # lines with more than one successful deletion, for plan $1 in journal $2
    python3 - "$2" "$1" <<'PY'
import sqlite3, sys, hashlib
sha = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
db = sqlite3.connect(sys.argv[1])
twice = db.execute("""SELECT count(*) FROM (SELECT line FROM attempts WHERE plan_sha256 = ?
    AND outcome IN ('done','absent') GROUP BY destination, line HAVING count(*) > 1)""", (sha,)).fetchone()[0]
print(f"lines deleted more than once (journal): {twice}")
PY
}
report() {
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
share = 100.0 * r["throttled"] / max(1, r["requests"])
print(f"  done {r['done']} (already absent {r['already_absent']}), failed {r['failed']}, requests {r['requests']}, "
      f"{r['seconds']:.1f} s, {r['requests_per_second']:.2f} req/s, 429: {r['throttled']} ({share:.2f}%)")
PY
}

echo "== Segment: $LINES lines, 300 ms latency, 100/s"
mkdir -p "$WORK/segment"
python3 Benchmarks/take_remediable.py "$WORK/scan/plan.csv" "$WORK/segment/plan.csv" "$LINES"
$BIN approve "$WORK/segment/plan.csv" --by bench >/dev/null
start_emulator "$WORK/emulator-segment.log" "$STORE"
/usr/bin/time -f "  apply: %e s wall, peak %M KiB" $BIN apply "$WORK/segment/plan.csv" --target segment --space spa_bench \
    --store "$STORE" --endpoint "http://127.0.0.1:$PORT" --max-rps 100 >/dev/null || true
stop_emulator
report "$WORK/segment/apply-report.json"
journal_twice "$WORK/segment/plan.csv" "$WORK/store-journal.sqlite"
tail -1 "$WORK/emulator-segment.log"

echo "== Insider One: the same $LINES lines, 300 ms latency, 25,000/min"
mkdir -p "$WORK/insider"
cp "$WORK/segment/plan.csv" "$WORK/insider/plan.csv"
$BIN approve "$WORK/insider/plan.csv" --by bench >/dev/null
start_emulator "$WORK/emulator-insider.log" "$INSIDER_STORE"
/usr/bin/time -f "  apply: %e s wall, peak %M KiB" $BIN apply "$WORK/insider/plan.csv" --target insider --partner bench \
    --store "$INSIDER_STORE" --endpoint "http://127.0.0.1:$PORT" >/dev/null || true
stop_emulator
report "$WORK/insider/apply-report.json"
journal_twice "$WORK/insider/plan.csv" "$WORK/insider-store-journal.sqlite"
python3 -c "import sys; r=__import__('json').load(open(sys.argv[1])); print(f\"  {100*r['requests_per_second']/(25000/60):.1f}% of 25,000/min\")" "$WORK/insider/apply-report.json"
tail -1 "$WORK/emulator-insider.log"

echo "== kill -9 halfway, then resume (Segment, 3,000 other lines)"
mkdir -p "$WORK/kill"
python3 Benchmarks/take_remediable.py "$WORK/scan/plan.csv" "$WORK/kill/plan.csv" 3000 "$LINES" >/dev/null
$BIN approve "$WORK/kill/plan.csv" --by bench >/dev/null
start_emulator "$WORK/emulator-kill.log" "$STORE"
$BIN apply "$WORK/kill/plan.csv" --target segment --space spa_kill --store "$STORE" \
    --endpoint "http://127.0.0.1:$PORT" >/dev/null 2>&1 &
APPLY=$!
sleep 12
kill -9 $APPLY
wait $APPLY 2>/dev/null || true
echo "  killed after 12 s"
$BIN apply "$WORK/kill/plan.csv" --target segment --space spa_kill --store "$STORE" \
    --endpoint "http://127.0.0.1:$PORT" >/dev/null || true
stop_emulator
report "$WORK/kill/apply-report.json"
journal_twice "$WORK/kill/plan.csv" "$WORK/store-journal.sqlite"
tail -1 "$WORK/emulator-kill.log"
