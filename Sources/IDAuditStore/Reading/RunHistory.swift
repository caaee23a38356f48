import GRDB
import IDAuditCore

extension ProfileStore {
    /// Records the last scan's results as a run and classifies its excess identifiers against the previous run with
    /// the same rules.
    ///
    /// The store keeps the excess identifiers of the latest run of each rules (`rules_excess`), not of every run.
    /// When the scan cache was brought up to date incrementally since that run, only what changed is compared
    /// (`scan_delta`, kept by the scan): recording a run costs the change, not the excess. Otherwise (new rules, a
    /// full re-evaluation) the whole excess is compared, in one ordered pass over both sides.
    public func recordRun(at: Instant, rulesSHA256: String, profiles: Int) throws -> ScanRun {
        try queue.write { db in
            let previous = try Row.fetchOne(
                db, sql: "SELECT id, excess FROM scan_runs WHERE rules_sha256 = ? ORDER BY id DESC LIMIT 1",
                arguments: [rulesSHA256]
            ).map { (id: $0[0] as Int64, excess: $0[1] as Int) }
            try db.execute(
                sql: "INSERT INTO scan_runs(at, rules_sha256, profiles) VALUES (?, ?, ?)",
                arguments: [at.microseconds, rulesSHA256, profiles])
            let id = db.lastInsertedRowID
            let base = try Int64.fetchOne(db, sql: "SELECT base_run FROM scan_delta_base WHERE id = 1")
            var comparison = RunComparison()
            let excess: Int
            if let previous, base == previous.id {
                // The cache is the previous run's excess changed by scan_delta.
                func changed(_ sign: String) throws -> [ExcessIdentifier] {
                    try Row.fetchAll(
                        db, sql: "SELECT type, value FROM scan_delta WHERE change \(sign) 0 ORDER BY type, value"
                    ).map { ExcessIdentifier(type: $0[0], value: $0[1]) }
                }
                comparison.new = try changed(">")
                comparison.resolved = try changed("<")
                excess = previous.excess + comparison.new.count - comparison.resolved.count
                comparison.persisting = excess - comparison.new.count
                try db.execute(
                    sql: """
                        DELETE FROM rules_excess WHERE rules_sha256 = ? AND (type, value) IN
                            (SELECT type, value FROM scan_delta WHERE change < 0)
                        """,
                    arguments: [rulesSHA256])
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO rules_excess(rules_sha256, type, value)
                        SELECT ?, type, value FROM scan_delta WHERE change > 0
                        """,
                    arguments: [rulesSHA256])
            } else {
                let current = try Row.fetchCursor(db, sql: "SELECT type, value FROM scan_lines ORDER BY type, value")
                if previous != nil {
                    let before = try Row.fetchCursor(
                        db, sql: "SELECT type, value FROM rules_excess WHERE rules_sha256 = ? ORDER BY type, value",
                        arguments: [rulesSHA256])
                    comparison = try RunComparison.compare(
                        current: { try current.next().map { ExcessIdentifier(type: $0[0], value: $0[1]) } },
                        previous: { try before.next().map { ExcessIdentifier(type: $0[0], value: $0[1]) } })
                }
                try db.execute(sql: "DELETE FROM rules_excess WHERE rules_sha256 = ?", arguments: [rulesSHA256])
                try db.execute(
                    sql: """
                        INSERT INTO rules_excess(rules_sha256, type, value)
                        SELECT ?, type, value FROM scan_lines ORDER BY type, value
                        """,
                    arguments: [rulesSHA256])
                excess = db.changesCount
            }
            // The cache now is this run's excess, unchanged.
            try db.execute(sql: "DELETE FROM scan_delta")
            try db.execute(sql: "INSERT OR REPLACE INTO scan_delta_base(id, base_run) VALUES (1, ?)", arguments: [id])
            // Excess identifiers an earlier apply deleted: reintroduced, whether the previous run had them or not.
            let reintroduced = try Row.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT a.type, a.value FROM applied_deletions a
                    JOIN rules_excess r ON r.rules_sha256 = ? AND r.type = a.type AND r.value = a.value
                    WHERE a.deleted_at < ? ORDER BY a.type, a.value
                    """,
                arguments: [rulesSHA256, at.microseconds]
            ).map { ExcessIdentifier(type: $0[0], value: $0[1]) }
            var newIdentifiers = comparison.new
            var persisting = comparison.persisting
            if !reintroduced.isEmpty {
                let keys = Set(reintroduced.map { ByteString($0.type + "\u{0}" + $0.value) })
                newIdentifiers.removeAll { keys.contains(ByteString($0.type + "\u{0}" + $0.value)) }
                persisting -= reintroduced.count - (comparison.new.count - newIdentifiers.count)
            }
            let run = ScanRun(
                id: id, at: at, rulesSHA256: rulesSHA256, profiles: profiles, excess: excess,
                new: excess - persisting - reintroduced.count, persisting: persisting,
                resolved: comparison.resolved.count, reintroduced: reintroduced.count, previousRunID: previous?.id,
                newIdentifiers: newIdentifiers, resolvedIdentifiers: comparison.resolved,
                reintroducedIdentifiers: reintroduced)
            try db.execute(
                sql: """
                    UPDATE scan_runs SET excess = ?, new = ?, persisting = ?, resolved = ?, reintroduced = ?,
                    previous_run = ? WHERE id = ?
                    """,
                arguments: [run.excess, run.new, run.persisting, run.resolved, run.reintroduced, previous?.id, id])
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
