#!/usr/bin/env bash
# Loads a Profiles Sync export folder (id_graph_updates.csv, external_id_mapping_updates.csv, or .csv.gz) into
# PostgreSQL tables shaped as Profiles Sync writes them in a warehouse (lower-case names, TIMESTAMP columns as
# timestamptz, SEQ as bigint, __operation), for `idaudit scan --source postgres` demos and benchmarks.
#
# usage: scripts/load-postgres.sh EXPORT_DIR [SCHEMA=profiles_sync]
# Connection: the usual libpq variables (PGHOST, PGPORT, PGUSER, PGDATABASE; the password from PGPASSWORD or
# ~/.pgpass), or IDAUDIT_PG_URL. The schema is dropped and created again.
set -euo pipefail
DIR=${1:?usage: scripts/load-postgres.sh EXPORT_DIR [SCHEMA]}
SCHEMA=${2:-profiles_sync}
[[ "$SCHEMA" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "schema must be a lower-case SQL identifier" >&2; exit 2; }
PSQL=(psql -v ON_ERROR_STOP=1 -q)
[ -n "${IDAUDIT_PG_URL:-}" ] && PSQL+=("$IDAUDIT_PG_URL")

column_type() {
    case "$1" in
        timestamp | received_at | uuid_ts | original_timestamp | sent_at) echo timestamptz ;;
        seq) echo bigint ;;
        *) echo text ;;
    esac
}

load() {  # $1: table name
    local table=$1 file source
    if [ -f "$DIR/$table.csv" ]; then file="$DIR/$table.csv"; source="'$file'";
    elif [ -f "$DIR/$table.csv.gz" ]; then file="$DIR/$table.csv.gz"; source="PROGRAM 'gzip -dc $file'";
    else echo "no $table.csv in $DIR" >&2; exit 2; fi
    local header
    if [[ "$file" == *.gz ]]; then header=$(gzip -dc "$file" | head -1); else header=$(head -1 "$file"); fi
    header=$(echo "$header" | tr -d '\r' | tr 'A-Z' 'a-z')
    local columns="" definitions=""
    IFS=',' read -ra names <<<"$header"
    for name in "${names[@]}"; do
        columns+="${columns:+, }\"$name\""
        definitions+="${definitions:+, }\"$name\" $(column_type "$name")"
    done
    "${PSQL[@]}" -c "CREATE TABLE $SCHEMA.$table ($definitions)"
    "${PSQL[@]}" -c "SET timezone = 'UTC'" -c "\\copy $SCHEMA.$table ($columns) FROM $source WITH (FORMAT csv, HEADER true)"
    "${PSQL[@]}" -t -c "SELECT '$table: ' || count(*) || ' rows' FROM $SCHEMA.$table"
}

"${PSQL[@]}" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" -c "CREATE SCHEMA $SCHEMA"
load id_graph_updates
load external_id_mapping_updates
"${PSQL[@]}" -c "ANALYZE $SCHEMA.id_graph_updates" -c "ANALYZE $SCHEMA.external_id_mapping_updates"
