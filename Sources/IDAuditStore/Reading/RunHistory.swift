import GRDB
import IDAuditCore

/// Two runs' excess identifiers, read in (type, value) byte order from the store.
enum StoredRunComparison {
    static func compare(_ db: Database, current: Int64, previous: Int64) throws -> RunComparison {
        let sql = "SELECT type, value FROM run_excess WHERE run_id = ? ORDER BY type, value"
        let a = try Row.fetchCursor(db, sql: sql, arguments: [current])
        let b = try Row.fetchCursor(db, sql: sql, arguments: [previous])
        return try RunComparison.compare(
            current: { try a.next().map { ExcessIdentifier(type: $0[0], value: $0[1]) } },
            previous: { try b.next().map { ExcessIdentifier(type: $0[0], value: $0[1]) } })
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
            if let previous { comparison = try StoredRunComparison.compare(db, current: id, previous: previous) }
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
