import GRDB
import IDAuditCore

/// One recorded scan: when, with which rules, what it found, and how its excess compares with the previous scan
/// under the same rules.
public struct ScanRun: Sendable, Equatable {
    /// The run's number (1, 2, ...).
    public var id: Int64
    /// When the scan ran.
    public var at: Instant
    /// The rules' SHA-256.
    public var rulesSHA256: String
    /// Profiles scanned.
    public var profiles: Int
    /// Excess identifiers.
    public var excess: Int
    /// Excess identifiers the previous run with the same rules did not have.
    public var new: Int
    /// Excess identifiers the previous run with the same rules had too.
    public var persisting: Int
    /// Identifiers in excess in the previous run with the same rules and not now.
    public var resolved: Int
    /// Excess identifiers that an earlier `apply` deleted, active again (event replays do this). Counted here
    /// instead of in ``new`` or ``persisting``.
    public var reintroduced: Int = 0
    /// The run compared with, if any.
    public var previousRunID: Int64?
    /// The new excess identifiers (type, value), in byte order; empty for runs read back by ``ProfileStore/runs()``.
    public var newIdentifiers: [ExcessIdentifier] = []
    /// The resolved ones, likewise.
    public var resolvedIdentifiers: [ExcessIdentifier] = []
    /// The reintroduced ones, likewise.
    public var reintroducedIdentifiers: [ExcessIdentifier] = []
}

/// An identifier in a run's excess.
public struct ExcessIdentifier: Sendable, Equatable {
    /// The identifier type.
    public var type: String
    /// The value.
    public var value: String

    /// Creates an identifier.
    public init(type: String, value: String) {
        self.type = type
        self.value = value
    }
}

/// Two runs' excess compared in one ordered pass over both (their rows are stored in (type, value) order).
struct RunComparison {
    var persisting = 0
    var new: [ExcessIdentifier] = []
    var resolved: [ExcessIdentifier] = []

    static func compare(_ db: Database, current: Int64, previous: Int64) throws -> RunComparison {
        let sql = "SELECT type, value FROM run_excess WHERE run_id = ? ORDER BY type, value"
        let a = try Row.fetchCursor(db, sql: sql, arguments: [current])
        let b = try Row.fetchCursor(db, sql: sql, arguments: [previous])
        func next(_ cursor: RowCursor) throws -> ExcessIdentifier? {
            try cursor.next().map { ExcessIdentifier(type: $0[0], value: $0[1]) }
        }
        func less(_ x: ExcessIdentifier, _ y: ExcessIdentifier) -> Bool {
            ByteOrder.equal(x.type, y.type) ? ByteOrder.less(x.value, y.value) : ByteOrder.less(x.type, y.type)
        }
        var result = RunComparison()
        var x = try next(a)
        var y = try next(b)
        while x != nil || y != nil {
            if let cx = x, let cy = y, ByteOrder.equal(cx.type, cy.type), ByteOrder.equal(cx.value, cy.value) {
                result.persisting += 1
                x = try next(a)
                y = try next(b)
            } else if let cx = x, y == nil || less(cx, y!) {
                result.new.append(cx)
                x = try next(a)
            } else if let cy = y {
                result.resolved.append(cy)
                y = try next(b)
            }
        }
        return result
    }
}

extension ProfileStore {
    /// Records the last scan's results as a run and classifies its excess identifiers against the previous run with
    /// the same rules. The store keeps the excess identifiers of each run (not the profiles), so its growth per run
    /// is proportional to the excess.
    public func recordRun(at: Instant, rulesSHA256: String, profiles: Int) throws -> ScanRun {
        try queue.write { db in
            let previous = try Int64.fetchOne(
                db, sql: "SELECT max(id) FROM scan_runs WHERE rules_sha256 = ?", arguments: [rulesSHA256])
            try db.execute(
                sql: "INSERT INTO scan_runs(at, rules_sha256, profiles) VALUES (?, ?, ?)",
                arguments: [at.microseconds, rulesSHA256, profiles])
            let id = db.lastInsertedRowID
            try db.execute(
                sql: "INSERT INTO run_excess(run_id, type, value) SELECT ?, type, value FROM scan_lines ORDER BY type, value",
                arguments: [id])
            let excess = db.changesCount
            var comparison = RunComparison()
            if let previous { comparison = try RunComparison.compare(db, current: id, previous: previous) }
            // Excess identifiers an earlier apply deleted: reintroduced, whether the previous run had them or not.
            let reintroduced = try Row.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT r.type, r.value FROM run_excess r
                    JOIN applied_deletions a ON a.type = r.type AND a.value = r.value
                    WHERE r.run_id = ? AND a.deleted_at < ? ORDER BY r.type, r.value
                    """,
                arguments: [id, at.microseconds]
            ).map { ExcessIdentifier(type: $0[0], value: $0[1]) }
            var newIdentifiers = comparison.new
            var persisting = comparison.persisting
            if !reintroduced.isEmpty {
                let keys = Set(reintroduced.map { $0.type + "\u{0}" + $0.value })
                newIdentifiers.removeAll { keys.contains($0.type + "\u{0}" + $0.value) }
                persisting -= reintroduced.count - (comparison.new.count - newIdentifiers.count)
            }
            let run = ScanRun(
                id: id, at: at, rulesSHA256: rulesSHA256, profiles: profiles, excess: excess,
                new: excess - persisting - reintroduced.count, persisting: persisting,
                resolved: comparison.resolved.count, reintroduced: reintroduced.count, previousRunID: previous,
                newIdentifiers: newIdentifiers, resolvedIdentifiers: comparison.resolved,
                reintroducedIdentifiers: reintroduced)
            try db.execute(
                sql: """
                    UPDATE scan_runs SET excess = ?, new = ?, persisting = ?, resolved = ?, reintroduced = ?,
                    previous_run = ? WHERE id = ?
                    """,
                arguments: [run.excess, run.new, run.persisting, run.resolved, run.reintroduced, previous, id])
            return run
        }
    }

    /// Every recorded run, oldest first.
    public func runs() throws -> [ScanRun] {
        try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, at, rules_sha256, profiles, excess, new, persisting, resolved, previous_run, reintroduced
                    FROM scan_runs ORDER BY id
                    """
            ).map {
                ScanRun(
                    id: $0[0], at: Instant(microseconds: $0[1]), rulesSHA256: $0[2], profiles: $0[3], excess: $0[4],
                    new: $0[5], persisting: $0[6], resolved: $0[7], reintroduced: $0[9], previousRunID: $0[8])
            }
        }
    }

    /// Records identifiers deleted at a Segment destination by `apply` (kept for the scan's reintroduced class).
    public func recordAppliedDeletions(
        _ identifiers: [ExcessIdentifier], destination: String, planSHA256: String, at time: Instant
    ) throws {
        guard !identifiers.isEmpty else { return }
        try queue.write { db in
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO applied_deletions(type, value, destination, plan_sha256, deleted_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (type, value, destination) DO UPDATE SET
                        plan_sha256 = excluded.plan_sha256, deleted_at = excluded.deleted_at
                    """)
            for identifier in identifiers {
                try statement.execute(
                    arguments: [identifier.type, identifier.value, destination, planSHA256, time.microseconds])
            }
        }
    }
}
