import Dispatch
import GRDB
import GRDBSQLite
import IDAuditCore

/// What a scan refresh did.
public struct ScanRefresh: Sendable, Equatable {
    /// Whether every profile was evaluated (first scan, new rules, bulk ingest), or only the changed ones.
    public var full: Bool
    /// Profiles evaluated.
    public var evaluatedProfiles: Int

    /// Creates a refresh record.
    public init(full: Bool, evaluatedProfiles: Int) {
        self.full = full
        self.evaluatedProfiles = evaluatedProfiles
    }
}

/// A plan line as the store keeps it, with its `plan.json` object (rendered once, when the profile is evaluated).
public struct StoredPlanLine: Sendable {
    /// The line.
    public var line: PlanLine
    /// The line's plan.json entry: its object, opened by its group's rationale at rank 1
    /// (``PlanLine/jsonEntry(_:limit:counted:kept:)``).
    public var json: String
}

/// The version of what a cached scan holds: part of the cache's key with the rules' sha256, bumped with any change
/// in what the evaluation or the ingest decides, so that an upgrade never mixes old and new lines.
enum ScanEngine {
    /// 1: identifier types and segment ids compared as bytes; rows delivered twice resolved whatever their order.
    /// 2: plan.json entries grouped by profile and type (idaudit-plan/2).
    /// 3: the scan's totals kept beside the histogram.
    static let version = 3
}

extension ProfileStore {
    /// Brings the cached evaluation up to date with `evaluator`'s rules: every profile when the rules changed
    /// (or `full` is set, or most profiles changed), otherwise only the profiles ingests changed since the last scan.
    public func refreshScan(
        evaluator: Evaluator, full forceFull: Bool = false, progress: (@Sendable (Int) -> Void)? = nil
    ) throws -> ScanRefresh {
        let trace = PhaseTrace()
        defer { trace.mark("scan commit") }
        return try queue.write { db in
            let previous = try Row.fetchOne(db, sql: "SELECT rules_sha256, engine_version FROM scan_state WHERE id = 1")
            let sameKey = previous.map { $0[0] == evaluator.rules.sha256 && $0[1] == ScanEngine.version } ?? false
            let dirty = try Int.fetchOne(db, sql: "SELECT count(*) FROM dirty_profiles") ?? 0
            let cached = try Int.fetchOne(db, sql: "SELECT count(*) FROM scan_profiles") ?? 0
            // Re-evaluating most profiles one by one costs more than one pass over the index.
            let full = forceFull || !sameKey || (dirty > 10_000 && dirty * 3 > cached)
            let writer = try ScanWriter(db: db)
            var evaluated = 0
            if !full { try writer.loadKept() }
            // The evaluation runs on a second thread while this one reads profiles and writes results.
            let pipeline = EvaluationPipeline { EvaluatedProfile(evaluator.evaluate($0), identifiers: $0.identifiers.count) } write: {
                try writer.write($0)
            }
            writer.tracksDelta = !full
            if full {
                // What the excess was before is not tracked through a full re-evaluation: the next run compares all.
                try db.execute(
                    sql: """
                        DELETE FROM scan_profiles; DELETE FROM scan_lines; DELETE FROM scan_delta;
                        INSERT OR REPLACE INTO scan_delta_base(id, base_run) VALUES (1, NULL);
                        """)
                trace.mark("clear")
                try ProfileReader.forEachProfile(db) { profile in
                    try pipeline.submit(profile)
                    evaluated += 1
                    if evaluated & 0x3FFF == 0 { progress?(evaluated) }
                }
            } else {
                // Each dirty profile's old results go before its new ones are written (later, by the pipeline).
                let ids = try String.fetchAll(db, sql: "SELECT canonical_id FROM dirty_profiles")
                for id in ids {
                    try writer.remove(canonicalID: id)
                    if let profile = try ProfileReader.profile(db, canonicalID: id) { try pipeline.submit(profile) }
                    evaluated += 1
                }
            }
            try pipeline.finish()
            trace.mark("evaluate")
            try writer.saveKept()
            try db.execute(sql: "DELETE FROM dirty_profiles")
            try db.execute(
                sql: "INSERT OR REPLACE INTO scan_state(id, rules_sha256, engine_version) VALUES (1, ?, ?)",
                arguments: [evaluator.rules.sha256, ScanEngine.version])
            return ScanRefresh(full: full, evaluatedProfiles: evaluated)
        }
    }

    /// Streams the last scan's plan lines in plan order: segment_id, type (byte order), oldest first.
    public func forEachPlanLine(_ body: (StoredPlanLine) throws -> Void) throws {
        try queue.read { db in
            let statement = try db.makeStatement(
                sql: """
                    SELECT canonical_id, type, rank, value, reason, lookup_user_id, remediable, first_seen, seq,
                           limit_count, frequency, matched, json
                    FROM scan_lines ORDER BY canonical_id, type, rank
                    """)
            let s = statement.sqliteStatement
            func text(_ i: Int32) -> String {
                String(decoding: UnsafeBufferPointer(start: sqlite3_column_text(s, i), count: Int(sqlite3_column_bytes(s, i))), as: UTF8.self)
            }
            var lastType = ""
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw DatabaseError(resultCode: ResultCode(rawValue: rc)) }
                var limit: IdentifierLimit?
                if sqlite3_column_type(s, 9) != SQLITE_NULL, let frequency = Frequency(rawValue: text(10)) {
                    limit = IdentifierLimit(limit: Int(sqlite3_column_int64(s, 9)), frequency: frequency)
                }
                let type = text(1)
                if type != lastType { lastType = type }
                let line = PlanLine(
                    segmentID: text(0), type: lastType, value: text(3), reason: ExcessReason(rawValue: text(4)) ?? .limit,
                    rank: Int(sqlite3_column_int64(s, 2)), lookupUserID: text(5), remediable: sqlite3_column_int64(s, 6) != 0,
                    firstSeen: Instant(microseconds: sqlite3_column_int64(s, 7)), seq: sqlite3_column_int64(s, 8),
                    limit: limit, matched: sqlite3_column_type(s, 11) == SQLITE_NULL ? nil : text(11))
                try body(StoredPlanLine(line: line, json: text(12)))
            }
        }
    }

    /// Streams the last scan's plan lines as their rendered `plan.csv` record and `plan.json` object, in plan order,
    /// straight from the store's bytes (valid only during the call): the fast path for writing plan files.
    public func forEachRenderedPlanLine(
        _ body: (
            _ csv: UnsafeBufferPointer<UInt8>, _ json: UnsafeBufferPointer<UInt8>, _ remediable: Bool, _ rank: Int
        ) throws -> Void
    ) throws {
        try queue.read { db in
            let statement = try db.makeStatement(
                sql: "SELECT csv, json, remediable, rank FROM scan_lines ORDER BY canonical_id, type, rank")
            let s = statement.sqliteStatement
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw DatabaseError(resultCode: ResultCode(rawValue: rc)) }
                try body(
                    UnsafeBufferPointer(start: sqlite3_column_text(s, 0), count: Int(sqlite3_column_bytes(s, 0))),
                    UnsafeBufferPointer(start: sqlite3_column_text(s, 1), count: Int(sqlite3_column_bytes(s, 1))),
                    sqlite3_column_int64(s, 2) != 0, Int(sqlite3_column_int64(s, 3)))
            }
        }
    }

    /// Totals of the last scan.
    public func scanTotals() throws -> ScanTotals {
        try queue.read { db in
            var totals = ScanTotals()
            if let row = try Row.fetchOne(db, sql: "SELECT profiles, identifiers, in_violation FROM scan_totals") {
                totals.profiles = row[0]
                totals.identifiers = row[1]
                totals.profilesInViolation = row[2]
            }
            totals.excess = try Row.fetchAll(
                db, sql: "SELECT type, reason, count, remediable FROM scan_excess WHERE count > 0 ORDER BY type, reason"
            ).map {
                ExcessCount(type: $0[0], reason: ExcessReason(rawValue: $0[1]) ?? .limit, count: $0[2], remediable: $0[3])
            }
            return totals
        }
    }
}

/// Writes evaluations into the scan tables, keeping the histogram of identifiers per profile and type and the
/// scan's totals up to date as profiles are removed and written: a scan that re-evaluated a few profiles reads its
/// totals without counting a million rows.
final class ScanWriter {
    let db: Database
    let profileStatement: Statement
    let lineStatement: Statement
    let removeProfile: Statement
    let removeLines: Statement
    let oldCounts: Statement
    let oldLines: Statement
    let delta: Statement
    /// Whether changes to the excess are recorded in `scan_delta` (an incremental refresh; see `recordRun`).
    var tracksDelta = false
    /// type (as bytes) -> identifiers counted toward the limit -> profiles.
    private var histogram: [ByteString: [Int: Int]] = [:]
    private var profiles = 0
    private var identifiers = 0
    private var inViolation = 0
    /// (type bytes, reason) -> excess lines and remediable ones.
    private var excess: [ExcessKey: (count: Int, remediable: Int)] = [:]

    private struct ExcessKey: Hashable {
        var type: ByteString
        var reason: String
    }

    init(db: Database) throws {
        self.db = db
        profileStatement = try db.makeStatement(
            sql: "INSERT INTO scan_profiles(canonical_id, identifiers, excess, type_counts) VALUES (?,?,?,?)")
        oldCounts = try db.makeStatement(
            sql: "SELECT type_counts, identifiers, excess FROM scan_profiles WHERE canonical_id = ?")
        oldLines = try db.makeStatement(
            sql: "SELECT type, reason, remediable, value FROM scan_lines WHERE canonical_id = ?")
        delta = try db.makeStatement(
            sql: """
                INSERT INTO scan_delta(type, value, change) VALUES (?, ?, ?)
                ON CONFLICT (type, value) DO UPDATE SET change = change + excluded.change
                """)
        lineStatement = try db.makeStatement(
            sql: """
                INSERT INTO scan_lines(canonical_id, type, rank, value, reason, lookup_user_id, remediable,
                    first_seen, seq, limit_count, frequency, matched, csv, json)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                """)
        removeProfile = try db.makeStatement(sql: "DELETE FROM scan_profiles WHERE canonical_id = ?")
        removeLines = try db.makeStatement(sql: "DELETE FROM scan_lines WHERE canonical_id = ?")
    }

    /// Reads the histogram and totals kept by the last scan, which incremental changes then adjust.
    func loadKept() throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT type, counted, profiles FROM scan_histogram")
        while let row = try rows.next() { histogram[ByteString(row[0]), default: [:]][row[1]] = row[2] }
        if let row = try Row.fetchOne(db, sql: "SELECT profiles, identifiers, in_violation FROM scan_totals") {
            (profiles, identifiers, inViolation) = (row[0], row[1], row[2])
        }
        for row in try Row.fetchAll(db, sql: "SELECT type, reason, count, remediable FROM scan_excess") {
            excess[ExcessKey(type: ByteString(row[0] as String), reason: row[1])] = (row[2], row[3])
        }
    }

    /// Stores the histogram and totals.
    func saveKept() throws {
        try db.execute(sql: "DELETE FROM scan_totals; DELETE FROM scan_excess")
        try db.execute(
            sql: "INSERT INTO scan_totals(id, profiles, identifiers, in_violation) VALUES (1, ?, ?, ?)",
            arguments: [profiles, identifiers, inViolation])
        let insertExcess = try db.makeStatement(
            sql: "INSERT INTO scan_excess(type, reason, count, remediable) VALUES (?,?,?,?)")
        for (key, value) in excess where value.count > 0 {
            try insertExcess.execute(arguments: [key.type.string, key.reason, value.count, value.remediable])
        }
        try saveHistogram()
    }

    private func saveHistogram() throws {
        try db.execute(sql: "DELETE FROM scan_histogram")
        let insert = try db.makeStatement(sql: "INSERT INTO scan_histogram(type, counted, profiles) VALUES (?,?,?)")
        for (type, counts) in histogram {
            for (counted, profiles) in counts where profiles > 0 {
                try insert.execute(arguments: [type.string, counted, profiles])
            }
        }
    }

    func remove(canonicalID: String) throws {
        if let old = try Row.fetchOne(oldCounts, arguments: [canonicalID]) {
            for (type, counted) in TypeCounts.decode(old[0]) {
                histogram[ByteString(type), default: [:]][counted, default: 0] -= 1
            }
            profiles -= 1
            identifiers -= old[1] as Int
            if (old[2] as Int) > 0 {
                inViolation -= 1
                for line in try Row.fetchAll(oldLines, arguments: [canonicalID]) {
                    let key = ExcessKey(type: ByteString(line[0] as String), reason: line[1])
                    var tally = excess[key] ?? (0, 0)
                    tally.count -= 1
                    tally.remediable -= line[2] as Int
                    excess[key] = tally
                    if tracksDelta { try delta.execute(arguments: [line[0] as String, line[3] as String, -1]) }
                }
            }
        }
        try removeProfile.execute(arguments: [canonicalID])
        try removeLines.execute(arguments: [canonicalID])
    }

    func write(_ evaluated: EvaluatedProfile) throws {
        let evaluation = evaluated.evaluation
        let identifiers = evaluated.identifiers
        let p = profileStatement.sqliteStatement
        sqlite3_reset(p)
        bindString(p, 1, evaluation.canonicalID)
        sqlite3_bind_int64(p, 2, Int64(identifiers))
        sqlite3_bind_int64(p, 3, Int64(evaluation.lines.count))
        bindString(p, 4, evaluated.typeCounts)
        try stepOrThrow(p)
        for outcome in evaluation.types {
            histogram[ByteString(outcome.type), default: [:]][outcome.counted, default: 0] += 1
        }
        profiles += 1
        self.identifiers += identifiers
        guard !evaluation.lines.isEmpty else { return }
        inViolation += 1
        for line in evaluation.lines {
            let key = ExcessKey(type: ByteString(line.type), reason: line.reason.rawValue)
            var tally = excess[key] ?? (0, 0)
            tally.count += 1
            if line.remediable { tally.remediable += 1 }
            excess[key] = tally
            if tracksDelta { try delta.execute(arguments: [line.type, line.value, 1]) }
        }
        let s = lineStatement.sqliteStatement
        for (line, (csv, json)) in zip(evaluation.lines, zip(evaluated.csv, evaluated.json)) {
            sqlite3_reset(s)
            bindString(s, 1, line.segmentID)
            bindString(s, 2, line.type)
            sqlite3_bind_int64(s, 3, Int64(line.rank))
            bindString(s, 4, line.value)
            bindString(s, 5, line.reason.rawValue)
            bindString(s, 6, line.lookupUserID)
            sqlite3_bind_int64(s, 7, line.remediable ? 1 : 0)
            sqlite3_bind_int64(s, 8, line.firstSeen.microseconds)
            sqlite3_bind_int64(s, 9, line.seq)
            if let limit = line.limit {
                sqlite3_bind_int64(s, 10, Int64(limit.limit))
                bindString(s, 11, limit.frequency.rawValue)
            } else {
                sqlite3_bind_null(s, 10)
                sqlite3_bind_null(s, 11)
            }
            if let matched = line.matched { bindString(s, 12, matched) } else { sqlite3_bind_null(s, 12) }
            bindString(s, 13, csv)
            bindString(s, 14, json)
            try stepOrThrow(s)
        }
    }
}

/// A profile's evaluation with its plan lines' JSON already rendered (the CPU-heavy part, done off the writer's
/// thread during a full scan).
struct EvaluatedProfile: Sendable {
    var evaluation: ProfileEvaluation
    var identifiers: Int
    var json: [String]
    var csv: [String]
    var typeCounts: String

    init(_ evaluation: ProfileEvaluation, identifiers: Int) {
        self.evaluation = evaluation
        self.identifiers = identifiers
        json = evaluation.jsonLines
        csv = evaluation.lines.map(\.csvRecord)
        typeCounts = TypeCounts.encode(evaluation.types)
    }
}

/// A profile's per-type counts as one text column: `type US count RS type US count ...`.
enum TypeCounts {
    static func encode(_ types: [TypeOutcome]) -> String {
        var out = ""
        for (i, t) in types.enumerated() {
            if i > 0 { out += "\u{1E}" }
            out += t.type
            out += "\u{1F}"
            out += String(t.counted)
        }
        return out
    }

    static func decode(_ text: String) -> [(String, Int)] {
        guard !text.isEmpty else { return [] }
        return text.split(separator: "\u{1E}").compactMap { entry in
            let parts = entry.split(separator: "\u{1F}", omittingEmptySubsequences: false)
            guard parts.count == 2, let n = Int(parts[1]) else { return nil }
            return (String(parts[0]), n)
        }
    }
}

extension ProfileStore {
    /// The last scan's histogram: per type (compared as bytes), how many profiles count each number of identifiers
    /// toward the limit (blocked values excluded).
    public func scanHistogram() throws -> [ByteString: [Int: Int]] {
        try queue.read { db in
            var out: [ByteString: [Int: Int]] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT type, counted, profiles FROM scan_histogram")
            while let row = try rows.next() { out[ByteString(row[0]), default: [:]][row[1]] = row[2] }
            return out
        }
    }

    /// The profiles with the most excess identifiers (ties: canonical id order), as (canonical id, excess).
    public func topOffenders(_ count: Int) throws -> [(canonicalID: String, excess: Int)] {
        try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT canonical_id, excess FROM scan_profiles WHERE excess > 0
                    ORDER BY excess DESC, canonical_id LIMIT ?
                    """,
                arguments: [count]
            ).map { ($0[0], $0[1]) }
        }
    }
}

func stepOrThrow(_ stmt: OpaquePointer?) throws {
    let rc = sqlite3_step(stmt)
    guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
        throw DatabaseError(
            resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(stmt))))
    }
}
