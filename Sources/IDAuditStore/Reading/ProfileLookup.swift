import Foundation
import GRDB
import IDAuditCore

/// Everything the store knows about one (type, value) identifier.
public struct IdentifierRecord: Sendable, Equatable {
    /// The identifier type.
    public var type: String
    /// The value.
    public var value: String
    /// Whether its latest mapping row is CREATED.
    public var active: Bool
    /// The segment id of its latest row.
    public var segmentID: String
    /// Its canonical profile (meaningful while active).
    public var canonicalID: String
    /// First seen (of the current active run).
    public var firstSeen: Instant
    /// Its mapping rows, in rule 2's order (SEQ, then ID).
    public var history: [HistoryRow]

    /// Mapping rows stored for it.
    public var rows: Int { history.count }
    /// How many of those rows are REMOVED.
    public var removedRows: Int { history.filter(\.removed).count }
}

extension ProfileStore {
    /// The record of (`type`, `value`), or nil when the store has no row for it.
    public func identifier(type: String, value: String) throws -> IdentifierRecord? {
        try queue.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT active, segment_id, canonical_id, first_seen, history
                        FROM identifiers WHERE type = ? AND value = ?
                        """, arguments: [type, value])
            else { return nil }
            let blob: Data = row[4]
            let history = blob.withUnsafeBytes { HistoryRow.decode($0) }
            return IdentifierRecord(
                type: type, value: value, active: row[0], segmentID: row[1], canonicalID: row[2],
                firstSeen: Instant(microseconds: row[3]), history: history)
        }
    }

    /// The merge chain from `segmentID` to its canonical id (rule 1), both ends included.
    public func mergeChain(from segmentID: String) throws -> [String] {
        try queue.read { db in
            var chain = [segmentID]
            var current = segmentID
            let parent = try db.makeStatement(sql: "SELECT parent FROM merges WHERE segment_id = ?")
            while let next = try String.fetchOne(parent, arguments: [current]) {
                if chain.contains(where: { ByteOrder.equal($0, next) }) { break }
                chain.append(next)
                current = next
            }
            return chain
        }
    }

    /// The segment ids merged into `canonicalID` (directly or through a chain), sorted.
    public func mergedSegments(into canonicalID: String) throws -> [String] {
        try queue.read { db in
            try String.fetchAll(
                db, sql: "SELECT segment_id FROM merges WHERE canonical_id = ? ORDER BY segment_id",
                arguments: [canonicalID])
        }
    }

    /// The canonical profile `canonicalID` with its active identifiers, or nil when it has none.
    public func profile(canonicalID: String) throws -> Profile? {
        try queue.read { db in try ProfileReader.profile(db, canonicalID: canonicalID) }
    }

    /// Calls `body` with every profile, in canonical id order (for callers that evaluate without caching).
    public func forEachProfile(_ body: (Profile) throws -> Void) throws {
        try queue.read { db in try ProfileReader.forEachProfile(db, body) }
    }
}
