import GRDB
import IDAuditCore

extension ProfileStore {
    /// The profiles at or near Segment's system caps: merges (segments merged into the canonical profile) and
    /// identifier mappings (its active identifiers, from the last scan), whatever the rules say.
    public func capCounts(_ caps: SystemCaps, top: Int = 20) throws -> [CapCount] {
        try queue.read { db in
            func count(_ name: String, cap: Int, sql: String) throws -> CapCount {
                let rows = try Row.fetchAll(db, sql: sql, arguments: [SystemCaps.nearThreshold(cap)])
                return CapCount.counting(name, cap: cap, counts: rows.map { (profile: $0[0], count: $0[1]) }, top: top)
            }
            return [
                try count(
                    "merges", cap: caps.merges,
                    sql: """
                        SELECT canonical_id, count(*) AS n FROM merges WHERE segment_id <> canonical_id
                        GROUP BY canonical_id HAVING count(*) >= ?
                        """),
                try count(
                    "mappings", cap: caps.mappings,
                    sql: """
                        SELECT canonical_id, identifiers FROM scan_profiles WHERE identifiers >= ?
                        """),
            ]
        }
    }
}
