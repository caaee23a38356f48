import GRDB
import GRDBSQLite
import IDAuditCore

/// Streams profiles out of `identifiers_by_profile`: canonical id order, each profile's identifiers by type and
/// oldest first, exactly the order the evaluator and the plan want, so nothing is sorted in memory.
struct ProfileReader {
    private static let columns = "canonical_id, type, value, first_seen, first_seq"

    /// Calls `body` with every profile holding at least one active identifier.
    static func forEachProfile(_ db: Database, _ body: (Profile) throws -> Void) throws {
        let statement = try db.makeStatement(
            sql: """
                SELECT \(columns) FROM identifiers INDEXED BY identifiers_by_profile WHERE active = 1
                ORDER BY canonical_id, type, first_seen, first_seq, value
                """)
        try stream(statement, body)
    }

    /// The profile `canonicalID`, or nil when it holds no active identifier.
    static func profile(_ db: Database, canonicalID: String) throws -> Profile? {
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(columns) FROM identifiers INDEXED BY identifiers_by_profile
                WHERE canonical_id = ? AND active = 1
                ORDER BY canonical_id, type, first_seen, first_seq, value
                """)
        try statement.setArguments([canonicalID])
        var found: Profile?
        try stream(statement) { found = $0 }
        return found
    }

    private static func stream(_ statement: Statement, _ body: (Profile) throws -> Void) throws {
        let s = statement.sqliteStatement
        defer { sqlite3_reset(s) }
        var current: [UInt8] = []
        var canonical = ""
        var identifiers: [ProfileIdentifier] = []
        var lastType = ""
        func text(_ i: Int32) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(start: sqlite3_column_text(s, i), count: Int(sqlite3_column_bytes(s, i)))
        }
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw DatabaseError(resultCode: ResultCode(rawValue: rc)) }
            let id = text(0)
            if !id.elementsEqual(current) {
                if !identifiers.isEmpty { try body(Profile(canonicalID: canonical, identifiers: identifiers)) }
                identifiers.removeAll(keepingCapacity: true)
                current.removeAll(keepingCapacity: true)
                current.append(contentsOf: id)
                canonical = String(decoding: id, as: UTF8.self)
            }
            let typeBytes = text(1)
            if !typeBytes.elementsEqual(lastType.utf8) { lastType = String(decoding: typeBytes, as: UTF8.self) }
            identifiers.append(
                ProfileIdentifier(
                    type: lastType, value: String(decoding: text(2), as: UTF8.self),
                    firstSeen: Instant(microseconds: sqlite3_column_int64(s, 3)), seq: sqlite3_column_int64(s, 4)))
        }
        if !identifiers.isEmpty { try body(Profile(canonicalID: canonical, identifiers: identifiers)) }
    }
}
