#!/usr/bin/env bash
# Writes every scan source's output folder for the same data, with the run's time replaced by a placeholder, so that
# two builds can be compared byte for byte (issue 20: the one-pipeline refactor changes no output):
#
#   scripts/scan-outputs.sh OLD_BINARY /tmp/before
#   scripts/scan-outputs.sh .build/release/idaudit /tmp/after
#   diff -r /tmp/before /tmp/after && echo "byte-equal"
#
# Sources: the store (a first scan, then a second one compared with it by the store's history), the one-shot export
# scan (then again with --previous), DuckDB over the export; each with --redact once. Data: the sample (3,000
# profiles) and a heavy one (more excess per profile). PostgreSQL and Spark are compared by the engine tests.
set -euo pipefail
BIN=$(realpath "$1")
OUT=$2
RULES=$(realpath "$(dirname "$0")/../rules/segment-recommended.yaml")
rm -rf "$OUT"
mkdir -p "$OUT"
# A fixed folder: paths (the store, --previous) are part of the outputs.
WORK=/tmp/idaudit-scan-outputs
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
normalize() {  # $1: an output folder; its run's time (and that time cut to seconds) becomes GENERATED_AT
    python3 - "$1" <<'PY'
import json, os, sys
folder = sys.argv[1]
at = json.load(open(os.path.join(folder, "summary.json")))["generated_at"]
forms = [at, at[:19] + "Z"]
for name in sorted(os.listdir(folder)):
    path = os.path.join(folder, name)
    data = open(path, "rb").read()
    for form in forms:
        data = data.replace(form.encode(), b"GENERATED_AT")
    open(path, "wb").write(data)
PY
}
scan() {  # $1: name; the rest: scan's arguments
    local name=$1
    shift
    "$BIN" scan --rules "$RULES" --out "$WORK/$name/" "$@" >"$WORK/$name.stdout" 2>/dev/null || true
    cp -r "$WORK/$name" "$OUT/$name"
    normalize "$OUT/$name"
}
for data in sample heavy; do
    if [ "$data" = sample ]; then
        "$BIN" sample --profiles 3000 --seed 5 --out "export-$data/" >/dev/null
    else
        "$BIN" sample --profiles 3000 --seed 9 --heavy-excess --out "export-$data/" >/dev/null
    fi
    "$BIN" ingest "export-$data/" --store "store-$data.sqlite" >/dev/null
    scan "$data-store-1" --store "store-$data.sqlite"
    scan "$data-store-2" --store "store-$data.sqlite" --redact
    scan "$data-oneshot" --export "export-$data/"
    scan "$data-oneshot-previous" --export "export-$data/" --previous "$WORK/$data-oneshot" --redact
    scan "$data-duckdb" --source duckdb --export "export-$data/"
    scan "$data-duckdb-previous" --source duckdb --export "export-$data/" --previous "$WORK/$data-oneshot"
done
echo "wrote $(find "$OUT" -type f | wc -l) files to $OUT"
