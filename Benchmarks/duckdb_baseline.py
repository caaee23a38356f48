#!/usr/bin/env python3
"""Baseline for the scan benchmark: the `ever` part of idaudit's semantics in DuckDB SQL over the same CSVs.

Rule 1 (merges, recursive), rule 2 (active identifiers and first_seen), rule 4 for `ever` limits without protected
values, and rule 7's rank. Prints the number of excess identifiers so the result can be compared with idaudit's
plan for a rules file with only `ever` limits and no blocked or protected values.

usage: duckdb_baseline.py EXPORT_DIR DEFAULT_LIMIT [TYPE=LIMIT ...]
"""
import sys
import time

import duckdb

export, default_limit = sys.argv[1], int(sys.argv[2])
limits = dict(arg.split("=") for arg in sys.argv[3:])
started = time.monotonic()
con = duckdb.connect()
con.execute("SET preserve_insertion_order = false")
limit_rows = ", ".join(f"('{t}', {int(l)})" for t, l in limits.items()) or "('', 0)"
sql = f"""
WITH RECURSIVE graph AS (
    SELECT * FROM read_csv('{export}/id_graph_updates.csv', header = true, all_varchar = true)
),
parent AS (
    SELECT segment_id, arg_max(canonical_segment_id, CAST(seq AS BIGINT)) AS parent FROM graph GROUP BY segment_id
),
chain AS (
    SELECT segment_id, parent, 0 AS depth FROM parent WHERE parent <> segment_id
    UNION ALL
    SELECT c.segment_id, p.parent, c.depth + 1 FROM chain c JOIN parent p ON c.parent = p.segment_id
    WHERE p.parent <> p.segment_id AND c.depth < 100
),
canonical AS (
    SELECT segment_id, arg_max(parent, depth) AS canonical_id FROM chain GROUP BY segment_id
),
rows AS (
    SELECT external_id_type AS type, external_id_value AS value, id, segment_id, CAST(seq AS BIGINT) AS seq,
           CAST(coalesce(nullif(timestamp, ''), received_at) AS TIMESTAMP) AS time,
           upper(coalesce(__operation, 'CREATED')) = 'REMOVED' AS removed
    FROM read_csv('{export}/external_id_mapping_updates.csv', header = true, all_varchar = true)
),
ordered AS (
    SELECT *, row_number() OVER (PARTITION BY type, value ORDER BY seq DESC, id DESC) AS from_last,
           max(CASE WHEN removed THEN seq END) OVER (PARTITION BY type, value) AS last_removed
    FROM rows
),
latest AS (SELECT type, value, segment_id, last_removed FROM ordered WHERE from_last = 1 AND NOT removed),
first_created AS (
    SELECT o.type, o.value, arg_min(o.time, (o.seq, o.id)) AS first_seen, min(o.seq) AS first_seq
    FROM ordered o JOIN latest l USING (type, value)
    WHERE NOT o.removed AND (l.last_removed IS NULL OR o.seq > l.last_removed)
    GROUP BY o.type, o.value
),
active AS (
    SELECT coalesce(c.canonical_id, l.segment_id) AS profile, l.type, l.value, f.first_seen, f.first_seq
    FROM latest l JOIN first_created f USING (type, value) LEFT JOIN canonical c ON c.segment_id = l.segment_id
),
limits(type, lim) AS (VALUES {limit_rows}),
ranked AS (
    SELECT a.*, coalesce(l.lim, {default_limit}) AS lim,
           count(*) OVER (PARTITION BY profile, a.type) AS n,
           row_number() OVER (PARTITION BY profile, a.type ORDER BY first_seen, first_seq, value) AS age
    FROM active a LEFT JOIN limits l ON l.type = a.type
)
SELECT count(*) FILTER (WHERE age <= n - lim) AS excess, count(*) AS active, count(DISTINCT profile) AS profiles
FROM ranked
"""
excess, active, profiles = con.execute(sql).fetchone()
print(f"duckdb: profiles {profiles} active {active} excess {excess} in {time.monotonic() - started:.1f} s")
