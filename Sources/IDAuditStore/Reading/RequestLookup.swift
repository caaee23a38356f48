import GRDB
import GRDBSQLite
import IDAuditCore

/// An active identifier as a deletion request needs it: where it lives and how old it is.
public struct ActiveIdentifier: Sendable, Equatable {
    /// Its canonical profile.
    public var canonicalID: String
    /// When it was first seen (rule 2).
    public var firstSeen: Instant
    /// The SEQ of that row.
    public var seq: Int64
}

extension ProfileStore {
    /// Looks up `count` identifiers in one read, calling `found` with each answer (`found` must not use the store) (nil when the identifier is not
    /// active, or unknown), in the order asked.
    ///
    /// Ask in (type, value) byte order: the lookups then walk the table in order.
    public func lookUpActive(
        count: Int, key: (Int) -> (type: String, value: String), found: (Int, ActiveIdentifier?) throws -> Void
    ) throws {
        try queue.read { db in
            let statement = try db.makeStatement(
                sql: "SELECT canonical_id, first_seen, first_seq FROM identifiers WHERE type = ? AND value = ? AND active = 1")
            let s = statement.sqliteStatement
            defer { sqlite3_reset(s) }
            for i in 0..<count {
                let (type, value) = key(i)
                sqlite3_reset(s)
                bindString(s, 1, type)
                bindString(s, 2, value)
                let rc = sqlite3_step(s)
                if rc == SQLITE_ROW, let text = sqlite3_column_text(s, 0) {
                    try found(
                        i,
                        ActiveIdentifier(
                            canonicalID: String(cString: text),
                            firstSeen: Instant(microseconds: sqlite3_column_int64(s, 1)), seq: sqlite3_column_int64(s, 2)))
                } else if rc == SQLITE_DONE || rc == SQLITE_ROW {
                    try found(i, nil)
                } else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc))
                }
            }
        }
    }

    /// The canonical id of any segment id, merged or canonical (rule 1); itself when it was never merged.
    public func canonicalID(ofSegment segmentID: String) throws -> String {
        try queue.read { db in
            try String.fetchOne(db, sql: "SELECT canonical_id FROM merges WHERE segment_id = ?", arguments: [segmentID])
                ?? segmentID
        }
    }

    /// The canonical ids of many segment ids (see ``canonicalID(ofSegment:)``).
    public func canonicalIDs(ofSegments segments: Set<String>) throws -> [String: String] {
        try queue.read { db in
            let statement = try db.makeStatement(sql: "SELECT canonical_id FROM merges WHERE segment_id = ?")
            var result: [String: String] = [:]
            for segment in segments {
                result[segment] = try String.fetchOne(statement, arguments: [segment]) ?? segment
            }
            return result
        }
    }

    /// The active identifiers of one type on each of `profiles`, oldest first.
    public func identifiers(ofType type: String, onProfiles profiles: [String]) throws -> [String: [ProfileIdentifier]] {
        try queue.read { db in
            let statement = try db.makeStatement(
                sql: """
                    SELECT value, first_seen, first_seq FROM identifiers INDEXED BY identifiers_by_profile
                    WHERE canonical_id = ? AND type = ? AND active = 1
                    ORDER BY canonical_id, type, first_seen, first_seq, value
                    """)
            let s = statement.sqliteStatement
            var result: [String: [ProfileIdentifier]] = [:]
            for profile in profiles {
                sqlite3_reset(s)
                bindString(s, 1, profile)
                bindString(s, 2, type)
                var found: [ProfileIdentifier] = []
                while sqlite3_step(s) == SQLITE_ROW {
                    found.append(
                        ProfileIdentifier(
                            type: type,
                            value: String(
                                decoding: UnsafeBufferPointer(
                                    start: sqlite3_column_text(s, 0), count: Int(sqlite3_column_bytes(s, 0))),
                                as: UTF8.self),
                            firstSeen: Instant(microseconds: sqlite3_column_int64(s, 1)), seq: sqlite3_column_int64(s, 2)))
                }
                if !found.isEmpty { result[profile] = found }
            }
            sqlite3_reset(s)
            return result
        }
    }

    /// How many active identifiers of each type each of `profiles` holds (profiles with none are left out).
    public func activeTypeCounts(onProfiles profiles: some Sequence<String>) throws -> [String: [String: Int]] {
        try queue.read { db in
            let statement = try db.makeStatement(
                sql: """
                    SELECT type, count(*) FROM identifiers INDEXED BY identifiers_by_profile
                    WHERE canonical_id = ? AND active = 1 GROUP BY type
                    """)
            let s = statement.sqliteStatement
            var result: [String: [String: Int]] = [:]
            for profile in profiles {
                sqlite3_reset(s)
                bindString(s, 1, profile)
                var counts: [String: Int] = [:]
                while sqlite3_step(s) == SQLITE_ROW {
                    let type = String(
                        decoding: UnsafeBufferPointer(
                            start: sqlite3_column_text(s, 0), count: Int(sqlite3_column_bytes(s, 0))),
                        as: UTF8.self)
                    counts[type] = Int(sqlite3_column_int64(s, 1))
                }
                if !counts.isEmpty { result[profile] = counts }
            }
            sqlite3_reset(s)
            return result
        }
    }
}
