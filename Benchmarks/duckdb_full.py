#!/usr/bin/env python3
"""Baseline for the scan benchmark: idaudit's full semantics as DuckDB SQL over the same CSVs, run by DuckDB alone.

The SQL is `idaudit sql --dialect duckdb` (merges, REMOVED rows, duplicates, protected and blocked values, ever and
windowed limits, lookup, rank): the same work idaudit does, windows included. Writes the plan table as CSV so the
benchmark can check it equals idaudit's plan.csv.

usage: duckdb_full.py SCRIPT.sql EXPORT_DIR PLAN_OUT.csv
"""
import sys
import time

import duckdb

script, export, out = sys.argv[1], sys.argv[2], sys.argv[3]
started = time.monotonic()
con = duckdb.connect()
con.execute("CREATE SCHEMA profiles_sync")
for table in ("id_graph_updates", "external_id_mapping_updates"):
    con.execute(f"CREATE VIEW profiles_sync.{table} AS SELECT * FROM read_csv('{export}/{table}.csv', header = true, all_varchar = true)")
text = open(script).read()
for statement in text.split(";\n\n"):
    lines = [l for l in statement.strip().split("\n") if not l.startswith("--")]
    if lines:
        con.execute("\n".join(lines).rstrip(";"))
con.execute(f"COPY (SELECT * FROM idaudit.idaudit_plan ORDER BY segment_id, type, rank) TO '{out}' (HEADER, DELIMITER ',')")
lines = con.execute("SELECT count(*) FROM idaudit.idaudit_plan").fetchone()[0]
print(f"duckdb: {lines} plan lines in {time.monotonic() - started:.2f} s")
