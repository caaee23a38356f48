#!/usr/bin/env bash
# Prints every dialect's plan script for the project's rules files and a hostile one (blocked values with quotes,
# backslashes, controls, RTL, patterns, every window), so that two builds can be compared byte for byte (issue 20: the
# dialect refactor changes no script):
#
#   scripts/sql-outputs.sh OLD_BINARY /tmp/sql-before
#   scripts/sql-outputs.sh .build/release/idaudit /tmp/sql-after
#   diff -r /tmp/sql-before /tmp/sql-after && echo "byte-equal"
set -euo pipefail
BIN=$(realpath "$1")
OUT=$2
ROOT=$(realpath "$(dirname "$0")/..")
rm -rf "$OUT"
mkdir -p "$OUT"
# A fixed path: the script names its rules file.
mkdir -p /tmp/idaudit-sql-outputs
HOSTILE=/tmp/idaudit-sql-outputs/hostile.yaml
python3 - "$HOSTILE" <<'PY'
import sys
open(sys.argv[1], "w", encoding="utf-8").write("""identifiers:
  user_id: {limit: 1, frequency: ever}
  email: {limit: 2, frequency: daily}
  anonymous_id: {limit: 5, frequency: weekly}
  phone: {limit: 3, frequency: monthly}
  ga_id: {limit: 4, frequency: annually}
default: {limit: 10, frequency: ever}
blocked:
  - {value: "o'brien\\\\\\"x@example.com", types: [email]}
  - {value: "\\u202e\\u0301rtl\\t tab\\u00a0", types: [user_id]}
  - {pattern: "^(null|undefined|0+)$", types: [anonymous_id]}
  - {pattern: "@example\\\\.(com|org)$"}
protected:
  - {type: user_id, value: "keep-me"}
""")
PY
for rules in "$ROOT"/rules/*.yaml "$HOSTILE"; do
    name=$(basename "$rules" .yaml)
    for dialect in postgres redshift snowflake bigquery spark duckdb; do
        "$BIN" sql --dialect "$dialect" --rules "$rules" --schema profiles_sync --into idaudit_results \
            >"$OUT/$name.$dialect.sql" 2>"$OUT/$name.$dialect.err" || echo "exit $?" >>"$OUT/$name.$dialect.err"
        # The script is stamped with the time it is printed at: that line is the run's, not the dialect's.
        sed -i -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/GENERATED_AT/g' "$OUT/$name.$dialect.sql"
    done
done
rm -rf "$(dirname "$HOSTILE")"
echo "wrote $(ls "$OUT" | wc -l) files to $OUT"
