import IDAuditCore

/// The SQL that reads a Profiles Sync schema: rules 1 and 2 of the scan semantics, in the warehouse.
///
/// Written for PostgreSQL, close to standard SQL (window functions, a recursive CTE). What changes elsewhere:
/// `DISTINCT ON` (Snowflake, BigQuery, Redshift: `QUALIFY row_number() OVER (...) = 1`), `COLLATE "C"` for byte
/// order (Snowflake: `COLLATE 'binary'`, BigQuery and Redshift compare bytes by default), `extract(epoch ...)`
/// (BigQuery: `UNIX_MICROS`).
public enum WarehouseSQL {
    /// Merge chains longer than this are taken for cycles.
    public static let maxMergeDepth = 1000

    /// Active identifiers with their canonical profile, first_seen (µs) and SEQ, ordered by canonical id, type,
    /// then oldest first (all in byte order): the stream the evaluator takes profile by profile.
    ///
    /// Columns: canonical_id, type, value, first_seen, first_seq, cycle_segment (non-null only when the identifier's
    /// segment sits on a merge cycle).
    public static func activeIdentifiers(schema: String, hasOperation: Bool, hasReceivedAt: Bool) -> String {
        let s = "\"\(schema)\""
        let time = hasReceivedAt ? "coalesce(\"timestamp\", received_at)" : "\"timestamp\""
        let removed = hasOperation ? "coalesce(upper(__operation), 'CREATED') = 'REMOVED'" : "false"
        return """
            WITH RECURSIVE
            graph AS (
                SELECT DISTINCT ON (segment_id) segment_id, canonical_segment_id AS parent
                FROM \(s).id_graph_updates
                ORDER BY segment_id, seq DESC
            ),
            edges AS (SELECT segment_id, parent FROM graph WHERE parent <> segment_id),
            walk (segment_id, node, depth) AS (
                SELECT segment_id, parent, 1 FROM edges
                UNION ALL
                SELECT w.segment_id, e.parent, w.depth + 1
                FROM walk w JOIN edges e ON e.segment_id = w.node
                WHERE w.depth <= \(maxMergeDepth)
            ),
            canonical AS (
                SELECT DISTINCT ON (segment_id) segment_id, node AS canonical_id, depth
                FROM walk ORDER BY segment_id, depth DESC
            ),
            mapping AS (
                -- A row delivered twice is the same row twice: it cannot change the first CREATED row after the
                -- last REMOVED one, nor the last row, so no de-duplication (and no extra sort) is needed.
                SELECT external_id_type AS type, external_id_value AS value, id, seq, segment_id,
                    (extract(epoch FROM \(time)) * 1000000)::bigint AS t,
                    \(removed) AS removed
                FROM \(s).external_id_mapping_updates
            ),
            ordered AS (
                SELECT type, value, seq, segment_id, t, removed,
                    row_number() OVER (PARTITION BY type, value ORDER BY seq, id COLLATE "C") AS pos
                FROM mapping
            ),
            marked AS (
                SELECT type, value, seq, t, pos,
                    coalesce(max(CASE WHEN removed THEN pos END) OVER whole, 0) AS last_removed,
                    last_value(segment_id) OVER run AS last_segment,
                    last_value(removed) OVER run AS last_is_removed
                FROM ordered
                WINDOW whole AS (PARTITION BY type, value),
                    run AS (PARTITION BY type, value ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            ),
            active AS (
                SELECT type, value, t AS first_seen, seq AS first_seq, last_segment AS segment_id
                FROM marked
                WHERE pos = last_removed + 1 AND NOT last_is_removed
            ),
            resolved AS (
                SELECT coalesce(c.canonical_id, a.segment_id) AS canonical_id, a.type, a.value, a.first_seen,
                    a.first_seq, CASE WHEN c.depth > \(maxMergeDepth) THEN a.segment_id END AS cycle_segment
                FROM active a LEFT JOIN canonical c ON c.segment_id = a.segment_id
            )
            SELECT canonical_id, type, value, first_seen, first_seq, cycle_segment FROM resolved
            ORDER BY canonical_id COLLATE "C", type COLLATE "C", first_seen, first_seq, value COLLATE "C"
            """
    }

    /// The columns idaudit needs, per table; `__operation` and `received_at` are optional.
    public static let requiredColumns: [(table: String, columns: [String])] = [
        ("id_graph_updates", ["segment_id", "canonical_segment_id", "seq"]),
        ("external_id_mapping_updates", ["id", "segment_id", "external_id_type", "external_id_value", "seq", "timestamp"]),
    ]
}
