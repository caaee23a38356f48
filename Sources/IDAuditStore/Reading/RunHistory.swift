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
    /// The run compared with, if any.
    public var previousRunID: Int64?
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
                sql: "INSERT INTO run_excess(run_id, type, value) SELECT ?, type, value FROM scan_lines",
                arguments: [id])
            let excess = db.changesCount
            var persisting = 0
            var resolved = 0
            if let previous {
                persisting =
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT count(*) FROM run_excess c JOIN run_excess p
                                ON p.run_id = ? AND p.type = c.type AND p.value = c.value
                            WHERE c.run_id = ?
                            """, arguments: [previous, id]) ?? 0
                let before = try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM run_excess WHERE run_id = ?", arguments: [previous]) ?? 0
                resolved = before - persisting
            }
            let run = ScanRun(
                id: id, at: at, rulesSHA256: rulesSHA256, profiles: profiles, excess: excess,
                new: excess - persisting, persisting: persisting, resolved: resolved, previousRunID: previous)
            try db.execute(
                sql: "UPDATE scan_runs SET excess = ?, new = ?, persisting = ?, resolved = ?, previous_run = ? WHERE id = ?",
                arguments: [run.excess, run.new, run.persisting, run.resolved, previous, id])
            return run
        }
    }

    /// The identifiers of `run` that `other` did not have (both as (type, value)), in byte order.
    public func excessDifference(of run: Int64, minus other: Int64) throws -> [(type: String, value: String)] {
        try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT type, value FROM run_excess c WHERE run_id = ? AND NOT EXISTS
                        (SELECT 1 FROM run_excess p WHERE p.run_id = ? AND p.type = c.type AND p.value = c.value)
                    ORDER BY type, value
                    """, arguments: [run, other]
            ).map { (type: $0[0], value: $0[1]) }
        }
    }

    /// Every recorded run, oldest first.
    public func runs() throws -> [ScanRun] {
        try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, at, rules_sha256, profiles, excess, new, persisting, resolved, previous_run
                    FROM scan_runs ORDER BY id
                    """
            ).map {
                ScanRun(
                    id: $0[0], at: Instant(microseconds: $0[1]), rulesSHA256: $0[2], profiles: $0[3], excess: $0[4],
                    new: $0[5], persisting: $0[6], resolved: $0[7], previousRunID: $0[8])
            }
        }
    }
}
