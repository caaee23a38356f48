#!/usr/bin/env bash
# Benchmark of issue 7: request-plan with N request lines against the PROFILES-profile sample store (release build).
# Reuses the store and export scripts/benchmark-scan.sh leaves in BENCH_DIR (creates them when missing).
#
# usage: scripts/benchmark-requests.sh [PROFILES=1000000] [LINES=1000000] [REPEATS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILES=${1:-1000000}
LINES=${2:-1000000}
REPEATS=${3:-3}
WORK=${BENCH_DIR:-/tmp/idaudit-bench}
mkdir -p "$WORK"
swift build -c release --product idaudit >/dev/null
BIN=.build/release/idaudit
EXPORT=$WORK/export-$PROFILES
STORE=$WORK/requests-store-$PROFILES.sqlite
[ -s "$EXPORT/external_id_mapping_updates.csv" ] || $BIN sample --profiles "$PROFILES" --seed 7 --out "$EXPORT/"
[ -s "$STORE" ] || $BIN ingest "$EXPORT/" --store "$STORE" >/dev/null
REQUESTS=$WORK/requests-$LINES.csv
[ -s "$REQUESTS" ] || python3 Benchmarks/make_requests.py "$EXPORT" "$REQUESTS" "$LINES"
for i in $(seq "$REPEATS"); do
    /usr/bin/time -f "%e s, peak %M KiB" $BIN request-plan "$REQUESTS" --store "$STORE" --out "$WORK/requests-out/" \
        2>&1 | grep -E "planned|unresolved|deletions|peak"
done
