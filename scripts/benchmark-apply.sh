#!/usr/bin/env bash
# Benchmark of issues 4 and 13: apply against the emulator (release build, real HTTP on 127.0.0.1).
#
# 1. Segment: LINES remediable lines, emulator latency 300 ms, budget 100/s per space: sustained requests/s, lines
#    sent twice (journal), share of 429s.
# 2. Insider One: INSIDER_LINES=1500 of those lines through the identifier adapter at its endpoint's budget,
#    1,000/min per key, with the emulator enforcing it and throttling as 403 "Request Limit Exceeded".
# 2b. attribute: Insider One's attribute delete (erase), ATTRIBUTE_USERS=12,500 requests of one user at its budget,
#    25,000/min, enforced the same way: the share of the budget reached, none throttled.
# 3. A 50% 429 storm (REPEATS runs of STORM_LINES=600 other lines): the extra requests it costs, how far the
#    client-wide back-off slowed the run, no line deleted twice.
# 4. kill -9 three times at random points of one apply, resumed each time: every line deleted exactly once according
#    to the emulator, none absent before the apply.
# 5. Two applies of one plan started together: one runs, the other is refused (exit 3).
# 6. big: a synthetic plan of BIG_LINES=1,000,000 lines (257 MB): approve (time, peak memory) and apply (when its
#    first request left, from the journal; with --max-deletes 1, time and peak memory of the whole run), median of 3
#    (issue 19 item 10: first request within 5 s, under 200 MB).
#
# usage: scripts/benchmark-apply.sh [LINES=20000] [PROFILES=100000] [REPEATS=3]
#        ONLY="segment insider attribute storm kill twice big" (a subset of the sections), STORM_LINES=600,
#        BIG_LINES, INSIDER_LINES, ATTRIBUTE_USERS
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-20000}
PROFILES=${2:-100000}
REPEATS=${3:-3}
ONLY=${ONLY:-"segment insider attribute storm kill twice big"}
STORM_LINES=${STORM_LINES:-600}
section() { [[ " $ONLY " == *" $1 "* ]]; }
WORK=${BENCH_DIR:-/tmp/idaudit-bench}/apply
rm -rf "$WORK"
mkdir -p "$WORK"
swift build -c release --product idaudit >/dev/null
BIN=$PWD/.build/release/idaudit
EXPORT=${BENCH_DIR:-/tmp/idaudit-bench}/export-$PROFILES
[ -s "$EXPORT/external_id_mapping_updates.csv" ] || $BIN sample --profiles "$PROFILES" --seed 7 --out "$EXPORT/"
STORE=$WORK/store.sqlite
$BIN ingest "$EXPORT/" --store "$STORE" >/dev/null
$BIN scan --store "$STORE" --rules rules/segment-recommended.yaml --out "$WORK/scan/" >/dev/null || true
# Insider One's copy of the profiles does not see Segment's deletions: it gets a store of its own.
INSIDER_STORE=$WORK/insider-store.sqlite
cp "$STORE" "$INSIDER_STORE"
# Journals go to the state folder, one per destination: the benchmark's own.
export XDG_STATE_HOME=$WORK/state
export IDAUDIT_EMULATOR_TOKEN=bench-token IDAUDIT_SEGMENT_TOKEN=bench-token IDAUDIT_INSIDER_TOKEN=bench-token IDAUDIT_INSIDER_PARTNER=bench
PORT=18931

start_emulator() {  # $1: log file, $2: store; extra args follow
    local log=$1 store=$2
    shift 2
    # --write-store: these stores are the benchmark's own copies.
    $BIN emulate --port $PORT --store "$store" --latency-ms 300 --write-store "$@" >"$log" 2>&1 &
    EMULATOR=$!
    for _ in $(seq 100); do grep -q emulating "$log" && return; sleep 0.1; done
    echo "emulator did not start"; cat "$log"; exit 1
}
stop_emulator() {
    kill -INT "$EMULATOR"
    wait "$EMULATOR" || true
}
journal_of() {  # the journal an apply used, from its report $1
    python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['journal'])" "$1"
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
print(f"  done {r['done']} (already absent {r['already_absent']}), absent before apply {r['absent_before_apply']}, "
      f"failed {r['failed']}, requests {r['requests']}, {r['seconds']:.1f} s, {r['requests_per_second']:.2f} req/s, "
      f"429: {r['throttled']} ({share:.2f}%), rate cut {r['rate_decreases']} times (lowest {r['lowest_rate']:.1f}/s)")
PY
}

SEGMENT=(--target segment --endpoint "http://127.0.0.1:$PORT")
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

if section segment; then
echo "== Segment: $LINES lines, 300 ms latency, 100/s"
mkdir -p "$WORK/segment"
python3 Benchmarks/take_remediable.py "$WORK/scan/plan.csv" "$WORK/segment/plan.csv" "$LINES"
$BIN approve "$WORK/segment/plan.csv" --by bench "${SEGMENT[@]}" --space spa_bench >/dev/null
start_emulator "$WORK/emulator-segment.log" "$STORE"
/usr/bin/time -f "  apply: %e s wall, peak %M KiB" $BIN apply "$WORK/segment/plan.csv" --target segment --space spa_bench \
    --store "$STORE" --endpoint "http://127.0.0.1:$PORT" --max-rps 100 >/dev/null || true
stop_emulator
report "$WORK/segment/apply-report.json"
journal_twice "$WORK/segment/plan.csv" "$(journal_of "$WORK/segment/apply-report.json")"
tail -1 "$WORK/emulator-segment.log"

fi

if section insider; then
# Insider One's budgets are per endpoint (identity delete: 1,000/min per key), and the emulator enforces them: the run
# must reach >= 97% of the budget with no answer throttled (none exceeded), whether throttling comes as 429 or as
# 403 "Request Limit Exceeded".
INSIDER_LINES=${INSIDER_LINES:-1500}
echo "== Insider One identity delete: $INSIDER_LINES lines at its budget of 1,000/min per key, 300 ms latency"
mkdir -p "$WORK/insider"
head -n $((INSIDER_LINES + 1)) "$WORK/segment/plan.csv" >"$WORK/insider/plan.csv"
$BIN approve "$WORK/insider/plan.csv" --by bench --target insider --endpoint "http://127.0.0.1:$PORT" >/dev/null
start_emulator "$WORK/emulator-insider.log" "$INSIDER_STORE" --insider-throttle-403
/usr/bin/time -f "  apply: %e s wall, peak %M KiB" $BIN apply "$WORK/insider/plan.csv" --target insider \
    --store "$INSIDER_STORE" --endpoint "http://127.0.0.1:$PORT" >/dev/null || true
stop_emulator
report "$WORK/insider/apply-report.json"
journal_twice "$WORK/insider/plan.csv" "$(journal_of "$WORK/insider/apply-report.json")"
python3 -c "import sys; r=__import__('json').load(open(sys.argv[1])); print(f\"  {100*r['requests_per_second']/(1000/60):.1f}% of 1,000/min, {r['throttled']} throttled\")" "$WORK/insider/apply-report.json"
tail -1 "$WORK/emulator-insider.log"

fi

if section attribute; then
# Insider One's attribute delete shares 25,000 requests/min with Upsert; the emulator enforces that budget. One user
# per request (--users-per-request 1), so that the run makes enough requests to measure the pace.
ATTRIBUTE_USERS=${ATTRIBUTE_USERS:-12500}
echo "== Insider One attribute delete: $ATTRIBUTE_USERS requests at its budget of 25,000/min, 300 ms latency"
mkdir -p "$WORK/attribute"
python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(int(sys.argv[2])):
        f.write('{\"insider_id\":\"bench-%d\",\"whole\":[\"name\"]}\n' % i)
" "$WORK/attribute/users.jsonl" "$ATTRIBUTE_USERS"
$BIN approve "$WORK/attribute/users.jsonl" --by bench --target insider --endpoint "http://127.0.0.1:$PORT" >/dev/null
start_emulator "$WORK/emulator-attribute.log" "$INSIDER_STORE" --insider-throttle-403
/usr/bin/time -f "  erase: %e s wall, peak %M KiB" $BIN erase "$WORK/attribute/users.jsonl" --target insider \
    --endpoint "http://127.0.0.1:$PORT" --users-per-request 1 >/dev/null || true
stop_emulator
report "$WORK/attribute/users.jsonl.erase-report.json"
python3 -c "import sys; r=__import__('json').load(open(sys.argv[1])); print(f\"  {100*r['requests_per_second']/(25000/60):.1f}% of 25,000/min, {r['throttled']} throttled\")" "$WORK/attribute/users.jsonl.erase-report.json"
tail -1 "$WORK/emulator-attribute.log"

fi

if section storm; then
echo "== 429 storm: half of all answers are 429 ($REPEATS runs of $STORM_LINES lines, 300 ms latency, 100/s)"
: >"$WORK/storm.extra"
: >"$WORK/storm.seconds"
for i in $(seq "$REPEATS"); do
    mkdir -p "$WORK/storm-$i"
    python3 Benchmarks/take_remediable.py "$WORK/scan/plan.csv" "$WORK/storm-$i/plan.csv" "$STORM_LINES" $((LINES + STORM_LINES * i)) >/dev/null
    $BIN approve "$WORK/storm-$i/plan.csv" --by bench "${SEGMENT[@]}" --space spa_storm >/dev/null
    start_emulator "$WORK/emulator-storm-$i.log" "$STORE" --throttle-rate 0.5 --seed "$i"
    $BIN apply "$WORK/storm-$i/plan.csv" "${SEGMENT[@]}" --space spa_storm --store "$STORE" --max-attempts 40 \
        >/dev/null || true
    stop_emulator
    report "$WORK/storm-$i/apply-report.json"
    journal_twice "$WORK/storm-$i/plan.csv" "$(journal_of "$WORK/storm-$i/apply-report.json")"
    tail -1 "$WORK/emulator-storm-$i.log"
    python3 - "$WORK/storm-$i/apply-report.json" >>"$WORK/storm.extra" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["requests"] - r["done"])
PY
    python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['seconds'])" "$WORK/storm-$i/apply-report.json" \
        >>"$WORK/storm.seconds"
done
echo "  median extra requests for $STORM_LINES lines: $(median <"$WORK/storm.extra"); median time $(median <"$WORK/storm.seconds") s"
fi

if section kill; then
echo "== kill -9 at three random points of one apply, resumed each time (Segment, 3,000 other lines)"
mkdir -p "$WORK/kill"
python3 Benchmarks/take_remediable.py "$WORK/scan/plan.csv" "$WORK/kill/plan.csv" 3000 $((LINES + STORM_LINES * (REPEATS + 1))) >/dev/null
$BIN approve "$WORK/kill/plan.csv" --by bench "${SEGMENT[@]}" --space spa_kill >/dev/null
start_emulator "$WORK/emulator-kill.log" "$STORE"
for k in 1 2 3; do
    $BIN apply "$WORK/kill/plan.csv" "${SEGMENT[@]}" --space spa_kill --store "$STORE" >/dev/null 2>&1 &
    APPLY=$!
    pause=$(python3 -c "import random; print(round(random.uniform(2, 8), 1))")
    sleep "$pause"
    kill -9 $APPLY 2>/dev/null || echo "  (the apply had finished)"
    wait $APPLY 2>/dev/null || true
    echo "  killed after $pause s"
done
$BIN apply "$WORK/kill/plan.csv" "${SEGMENT[@]}" --space spa_kill --store "$STORE" >/dev/null || true
stop_emulator
report "$WORK/kill/apply-report.json"
journal_twice "$WORK/kill/plan.csv" "$(journal_of "$WORK/kill/apply-report.json")"
tail -1 "$WORK/emulator-kill.log"
python3 - "$(journal_of "$WORK/kill/apply-report.json")" "$WORK/kill/plan.csv" <<'PY'
import sqlite3, sys, hashlib
sha = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
db = sqlite3.connect(sys.argv[1])
states = dict(db.execute("SELECT state, count(*) FROM lines WHERE plan_sha256 = ? GROUP BY state", (sha,)).fetchall())
print(f"  journal line states after the last run: {states}")
PY

fi

if section twice; then
echo "== two applies of one plan started together"
mkdir -p "$WORK/twice"
python3 Benchmarks/take_remediable.py "$WORK/scan/plan.csv" "$WORK/twice/plan.csv" 500 $((LINES + STORM_LINES * (REPEATS + 1) + 3000)) >/dev/null
$BIN approve "$WORK/twice/plan.csv" --by bench "${SEGMENT[@]}" --space spa_twice >/dev/null
start_emulator "$WORK/emulator-twice.log" "$STORE"
$BIN apply "$WORK/twice/plan.csv" "${SEGMENT[@]}" --space spa_twice --store "$STORE" >"$WORK/twice/a.out" 2>&1 &
A=$!
$BIN apply "$WORK/twice/plan.csv" "${SEGMENT[@]}" --space spa_twice --store "$STORE" >"$WORK/twice/b.out" 2>&1 &
B=$!
set +e
wait $A; RA=$?
wait $B; RB=$?
set -e
stop_emulator
echo "  exit codes: $RA and $RB"
grep -h "another apply holds" "$WORK/twice/a.out" "$WORK/twice/b.out" | sed 's/^/  /'
tail -1 "$WORK/emulator-twice.log"
fi

if section big; then
BIG_LINES=${BIG_LINES:-1000000}
echo "== a plan of $BIG_LINES lines: approve, and apply up to its first request (median of 3)"
mkdir -p "$WORK/big"
python3 Benchmarks/big_plan.py "$WORK/big/plan.csv" "$BIG_LINES"
start_emulator "$WORK/emulator-big.log" "$STORE"
: >"$WORK/big/approve.times"
: >"$WORK/big/apply.times"
for i in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$WORK/big/t" $BIN approve "$WORK/big/plan.csv" --by bench "${SEGMENT[@]}" \
        --space spa_big >/dev/null
    cat "$WORK/big/t" >>"$WORK/big/approve.times"
    rm -rf "$XDG_STATE_HOME" "$WORK/big/plan.csv.journal"
    start=$(date +%s.%N)
    /usr/bin/time -f "%e %M" -o "$WORK/big/t" $BIN apply "$WORK/big/plan.csv" "${SEGMENT[@]}" --space spa_big \
        --store "$WORK/none.sqlite" --max-deletes 1 >/dev/null 2>&1 || true
    # When the first request left, from the journal's record of it (written just before it is sent).
    first=$(python3 - "$(journal_of "$WORK/big/apply-report.json")" "$start" <<'PY'
import sqlite3, sys
sent = sqlite3.connect(sys.argv[1]).execute("SELECT min(sent_at) FROM attempts").fetchone()[0]
print(f"{sent / 1e6 - float(sys.argv[2]):.2f}")
PY
)
    echo "$first $(tail -1 "$WORK/big/t")" >>"$WORK/big/apply.times"
done
stop_emulator
python3 - "$WORK/big/approve.times" "$WORK/big/apply.times" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip() and not l.startswith("Command")]
print(f"  approve: {statistics.median(float(r[0]) for r in rows):.2f} s, "
      f"peak {statistics.median(int(r[1]) for r in rows) / 1024:.0f} MB (median of {len(rows)})")
rows = [l.split() for l in open(sys.argv[2]) if l.strip() and not l.startswith("Command")]
print(f"  apply: first request after {statistics.median(float(r[0]) for r in rows):.2f} s; the whole run "
      f"(--max-deletes 1: the rest of the plan is read for the report's counts) "
      f"{statistics.median(float(r[1]) for r in rows):.2f} s, "
      f"peak {statistics.median(int(r[2]) for r in rows) / 1024:.0f} MB (median of {len(rows)})")
PY
fi
