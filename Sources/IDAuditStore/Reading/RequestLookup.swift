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
    /// Looks up many identifiers in one read; the answer for each is nil when it is not active (or unknown).
    ///
    /// Pass the keys sorted by (type, value) in byte order: the lookups then walk the table in order.
    public func activeIdentifiers(_ keys: [(type: String, value: String)]) throws -> [ActiveIdentifier?] {
        try queue.read { db in
            let statement = try db.makeStatement(
                sql: "SELECT canonical_id, first_seen, first_seq FROM identifiers WHERE type = ? AND value = ? AND active = 1")
            let s = statement.sqliteStatement
            var results: [ActiveIdentifier?] = []
            results.reserveCapacity(keys.count)
            for key in keys {
                sqlite3_reset(s)
                bindString(s, 1, key.type)
                bindString(s, 2, key.value)
                let rc = sqlite3_step(s)
                if rc == SQLITE_ROW, let text = sqlite3_column_text(s, 0) {
                    results.append(
                        ActiveIdentifier(
                            canonicalID: String(cString: text),
                            firstSeen: Instant(microseconds: sqlite3_column_int64(s, 1)), seq: sqlite3_column_int64(s, 2)))
                } else if rc == SQLITE_DONE || rc == SQLITE_ROW {
                    results.append(nil)
                } else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc))
                }
            }
            sqlite3_reset(s)
            return results
        }
    }

    /// The canonical id of any segment id, merged or canonical (rule 1); itself when it was never merged.
    public func canonicalID(ofSegment segmentID: String) throws -> String {
        try queue.read { db in
            try String.fetchOne(db, sql: "SELECT canonical_id FROM merges WHERE segment_id = ?", arguments: [segmentID])
                ?? segmentID
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
}
