#!/usr/bin/env python3
"""The baseline of the engine benchmarks: the scan of rules/segment-recommended.yaml as a good data engineer would
write it by hand in DuckDB, with the full semantics (merge chains, identifier state, protected and blocked values,
`ever` limits, sliding windows) and none of idaudit's refusals (no row checks, no time grammar of its own: DuckDB's
cast reads the times). One statement, a pipeline of CTEs, no temporary tables; it writes the plan (idaudit's
plan.csv columns but the stamp) to OUT.

usage: Benchmarks/hand_query_duckdb.py EXPORT_DIR OUT.csv [THREADS]

The benchmark checks its plan equal to the store's: a baseline that computed something else would flatter nobody.
"""
import csv
import sys

import duckdb

export, out = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2


def reader(path):
    """Every option stated: DuckDB never sniffs."""
    with open(path, newline="", encoding="utf-8") as f:
        names = next(csv.reader(f))
    columns = "{" + ", ".join("'%s': 'VARCHAR'" % n.replace("'", "''") for n in names) + "}"
    return (
        "read_csv('%s', auto_detect = false, header = true, delim = ',', quote = '\"', escape = '\"', "
        "columns = %s, compression = 'none', encoding = 'utf-8', strict_mode = true, null_padding = false, "
        "allow_quoted_nulls = false)" % (path.replace("'", "''"), columns)
    )


QUERY = """
WITH RECURSIVE
graph AS (
    SELECT SEGMENT_ID AS s, CANONICAL_SEGMENT_ID AS c, CAST(SEQ AS BIGINT) AS seq FROM {graph}
),
-- A segment's parent: the canonical id of its highest-SEQ row (ties: the greatest id).
parents AS (
    SELECT s, arg_max(c, (seq, c)) AS c FROM graph GROUP BY s
),
-- Merge chains: follow only the pointers whose target was merged in turn.
chains(s, c, depth) AS (
    SELECT a.s, b.c, 1 FROM parents AS a JOIN parents AS b ON b.s = a.c AND b.c <> b.s WHERE a.c <> a.s
    UNION ALL
    SELECT w.s, p.c, w.depth + 1 FROM chains AS w JOIN parents AS p ON p.s = w.c AND p.c <> p.s
    WHERE w.depth < 4096
),
merged AS (
    SELECT p.s, COALESCE(ch.c, p.c) AS c
    FROM parents AS p LEFT JOIN (SELECT s, arg_max(c, depth) AS c FROM chains GROUP BY s) AS ch ON ch.s = p.s
),
mapping AS (
    SELECT ID AS id, SEGMENT_ID AS seg, EXTERNAL_ID_TYPE AS type, EXTERNAL_ID_VALUE AS value,
        CAST(SEQ AS BIGINT) AS seq,
        epoch_us(CAST(COALESCE(NULLIF(TIMESTAMP, ''), NULLIF(RECEIVED_AT, '')) AS TIMESTAMPTZ)) AS t,
        COALESCE(UPPER(__OPERATION) = 'REMOVED', false) AS removed
    FROM {mapping}
),
-- One row per ID: the greatest by (SEQ, REMOVED over CREATED, time, segment).
rows_ AS (
    SELECT * FROM mapping
    QUALIFY row_number() OVER (PARTITION BY type, value, id ORDER BY seq DESC, removed DESC, t DESC, seg DESC) = 1
),
-- An identifier is active when its last row (by SEQ, ID) is CREATED; first seen at the first row after its last
-- REMOVED one.
ordered AS (
    SELECT type, value, seq, t, seg, removed,
        row_number() OVER w AS pos,
        COALESCE(MAX(CASE WHEN removed THEN 1 END) OVER (PARTITION BY type, value ORDER BY seq DESC, id DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), 0) AS removed_later,
        LAST_VALUE(seg) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_seg,
        LAST_VALUE(removed) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_removed
    FROM rows_
    WINDOW w AS (PARTITION BY type, value ORDER BY seq, id)
),
active AS (
    SELECT COALESCE(m.c, o.last_seg) AS profile, o.type, o.value, o.t AS first_seen, o.seq
    FROM (
        SELECT * FROM ordered WHERE NOT last_removed AND removed_later = 0
        QUALIFY row_number() OVER (PARTITION BY type, value ORDER BY pos) = 1
    ) AS o LEFT JOIN merged AS m ON m.s = o.last_seg
),
limits(type, lim, w, freq) AS (VALUES
    ('user_id', 1, NULL, 'ever'),
    ('email', 5, 365 * 86400000000, 'annually'),
    ('android.id', 5, 365 * 86400000000, 'annually'),
    ('ios.id', 5, 365 * 86400000000, 'annually'),
    ('anonymous_id', 5, 7 * 86400000000, 'weekly'),
    ('ga_client_id', 5, 30 * 86400000000, 'monthly')
),
ids AS (
    SELECT a.*,
        CASE
            WHEN regexp_matches(a.value, '^[0-]*$') THEN 'pattern "^[0-]*$"'
            WHEN a.value = '-1' THEN 'value "-1"'
            WHEN a.value = 'null' THEN 'value "null"'
            WHEN a.value = 'anonymous' THEN 'value "anonymous"'
            WHEN a.value = 'void' THEN 'value "void"'
            WHEN a.value = 'abc123' THEN 'value "abc123"'
        END AS matched,
        COALESCE(l.lim, 5) AS lim, l.w AS w, COALESCE(l.freq, 'ever') AS freq
    FROM active AS a LEFT JOIN limits AS l ON l.type = a.type
),
candidates AS (
    SELECT *,
        row_number() OVER (PARTITION BY profile, type ORDER BY first_seen, seq, value) AS cpos,
        COUNT(*) OVER (PARTITION BY profile, type) AS ccount
    FROM ids WHERE matched IS NULL
),
-- `ever`: the oldest ccount - lim are excess.
ever AS (
    SELECT profile, type, value FROM candidates WHERE w IS NULL AND cpos <= ccount - lim
),
-- Windows: walk each group with more candidates than its limit oldest first, keeping the values of the window
-- ending at each one; while it holds more than the limit, evict its oldest.
windowed AS (
    SELECT profile, type, UNNEST(list_reduce(vals,
            lambda acc, x: CASE
                WHEN len(list_filter(list_append(acc.k, x), lambda e: e.t > x.t - x.w)) > x.l
                THEN {{'k': list_filter(list_append(acc.k, x), lambda e: e.t > x.t - x.w)[2:],
                      'e': list_append(acc.e, list_filter(list_append(acc.k, x), lambda e: e.t > x.t - x.w)[1].v)}}
                ELSE {{'k': list_filter(list_append(acc.k, x), lambda e: e.t > x.t - x.w), 'e': acc.e}} END,
            {{'k': CAST([] AS STRUCT(v VARCHAR, t BIGINT, w BIGINT, l BIGINT)[]), 'e': CAST([] AS VARCHAR[])}}).e)
        AS value
    FROM (
        SELECT profile, type, list({{'v': value, 't': first_seen, 'w': w, 'l': lim}} ORDER BY cpos) AS vals
        FROM candidates WHERE w IS NOT NULL AND ccount > lim GROUP BY profile, type
    ) AS g
),
excess AS (SELECT * FROM ever UNION ALL SELECT * FROM windowed),
lines AS (
    SELECT i.profile, i.type, i.value, i.first_seen, i.seq,
        CASE WHEN i.matched IS NOT NULL THEN 'blocked' ELSE 'limit' END AS reason,
        CASE WHEN i.matched IS NULL THEN i.lim END AS lim,
        CASE WHEN i.matched IS NULL THEN i.freq END AS freq, i.matched
    FROM ids AS i LEFT JOIN excess AS x ON x.profile = i.profile AND x.type = i.type AND x.value = i.value
    WHERE i.matched IS NOT NULL OR x.value IS NOT NULL
),
lookup AS (
    SELECT i.profile, arg_max(i.value, (i.first_seen, i.seq, i.value)) AS lookup
    FROM ids AS i LEFT JOIN lines AS l ON l.profile = i.profile AND l.type = i.type AND l.value = i.value
    WHERE i.type = 'user_id' AND l.value IS NULL
    GROUP BY i.profile
)
SELECT l.profile AS segment_id, l.type, l.value, l.reason,
    row_number() OVER (PARTITION BY l.profile, l.type ORDER BY l.first_seen, l.seq, l.value) AS rank,
    COALESCE(u.lookup, '') AS lookup_user_id,
    CASE WHEN COALESCE(u.lookup, '') <> '' AND l.type <> 'group_id' THEN 'true' ELSE 'false' END AS remediable,
    CASE WHEN l.first_seen % 1000000 = 0 THEN strftime(make_timestamp(l.first_seen), '%Y-%m-%dT%H:%M:%SZ')
        ELSE strftime(make_timestamp(l.first_seen), '%Y-%m-%dT%H:%M:%S.%fZ') END AS first_seen,
    l.seq,
    COALESCE(CAST(l.lim AS VARCHAR), '') AS "limit", COALESCE(l.freq, '') AS frequency,
    COALESCE(l.matched, '') AS matched
FROM lines AS l LEFT JOIN lookup AS u ON u.profile = l.profile
ORDER BY 1, 2, 5
"""

con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute("SET threads = %d" % threads)
con.execute("SET preserve_insertion_order = false")
sql = QUERY.format(
    graph=reader(export + "/id_graph_updates.csv"), mapping=reader(export + "/external_id_mapping_updates.csv"))
con.execute(
    "COPY (%s) TO '%s' (FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"')" % (sql, out.replace("'", "''")))
