import GRDB
import IDAuditCore

extension ProfileStore {
    /// The profiles at or near Segment's system caps: merges (segments merged into the canonical profile) and
    /// identifier mappings (its active identifiers, from the last scan), whatever the rules say.
    public func capCounts(_ caps: SystemCaps, top: Int = 20) throws -> [CapCount] {
        try queue.read { db in
            func count(_ name: String, cap: Int, sql: String) throws -> CapCount {
                let near = SystemCaps.nearThreshold(cap)
                let rows = try Row.fetchAll(db, sql: sql, arguments: [near])
                var at = 0
                var nearCount = 0
                for row in rows {
                    if (row[1] as Int) >= cap { at += 1 } else { nearCount += 1 }
                }
                let listed = rows.prefix(top).map { (profile: $0[0] as String, count: $0[1] as Int) }
                return CapCount(name: name, cap: cap, atOrOver: at, near: nearCount, top: Array(listed))
            }
            return [
                try count(
                    "merges", cap: caps.merges,
                    sql: """
                        SELECT canonical_id, count(*) AS n FROM merges WHERE segment_id <> canonical_id
                        GROUP BY canonical_id HAVING count(*) >= ? ORDER BY n DESC, canonical_id
                        """),
                try count(
                    "mappings", cap: caps.mappings,
                    sql: """
                        SELECT canonical_id, identifiers FROM scan_profiles WHERE identifiers >= ?
                        ORDER BY identifiers DESC, canonical_id
                        """),
            ]
        }
    }
}
