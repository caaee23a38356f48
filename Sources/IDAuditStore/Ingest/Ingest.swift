import GRDB
import GRDBSQLite
import IDAuditCSV
import IDAuditCore

/// Options for ``ProfileStore/ingest(directory:options:)``.
public struct IngestOptions: Sendable {
    /// Where to write bad rows (with the reason) instead of stopping at the first one; nil to stop.
    public var rejectsPath: String?
    /// Called every few tens of thousands of rows.
    public var progress: (@Sendable (IngestProgress) -> Void)?

    /// Creates options.
    public init(rejectsPath: String? = nil, progress: (@Sendable (IngestProgress) -> Void)? = nil) {
        self.rejectsPath = rejectsPath
        self.progress = progress
    }
}

/// Where a running ingest is.
public struct IngestProgress: Sendable {
    /// The file being read.
    public var file: String
    /// Rows read so far from it.
    public var rows: Int
    /// Bytes read so far (decompressed for `.gz`).
    public var bytes: Int64
    /// The file's size on disk (0 when unknown or compressed).
    public var totalBytes: Int64
    /// The phase: reading a file, or deriving profiles.
    public var phase: String
}

/// What happened to one file's rows.
public struct FileCounts: Sendable, Equatable {
    /// Data rows read (the header excluded).
    public var read = 0
    /// Rows stored for the first time.
    public var stored = 0
    /// Rows already in the store (by ID for mappings, by SEGMENT_ID and SEQ for the graph).
    public var duplicate = 0
    /// Bad rows written to the rejects file.
    public var rejected = 0

    /// Creates counts.
    public init(read: Int = 0, stored: Int = 0, duplicate: Int = 0, rejected: Int = 0) {
        self.read = read
        self.stored = stored
        self.duplicate = duplicate
        self.rejected = rejected
    }
}

/// The outcome of an ingest.
public struct IngestReport: Sendable {
    /// `id_graph_updates` rows.
    public var graph = FileCounts()
    /// `external_id_mapping_updates` rows.
    public var mapping = FileCounts()
    /// Segment ids whose canonical profile changed.
    public var remappedSegments = 0
    /// Identifiers whose state (active, profile, first_seen) changed.
    public var changedIdentifiers = 0
    /// Whether the store was empty and was loaded in bulk (the next scan evaluates every profile).
    public var bulk = false
    /// The files read.
    public var files: [String] = []
}

/// The export files of a folder.
public enum ExportFiles {
    /// `external_id_mapping_updates`.
    public static let mapping = "external_id_mapping_updates"
    /// `id_graph_updates`.
    public static let graph = "id_graph_updates"

    /// The path of `table`'s file in `directory` (`.csv` or `.csv.gz`, any case of the table name).
    public static func find(_ table: String, in directory: String) throws(IngestError) -> String {
        for suffix in [".csv", ".csv.gz", ".CSV", ".CSV.GZ"] {
            for name in [table, table.uppercased()] {
                let path = directory.hasSuffix("/") ? directory + name + suffix : directory + "/" + name + suffix
                if FileSystem.exists(path) { return path }
            }
        }
        guard FileSystem.exists(directory) else {
            throw IngestError(code: .missingFile, file: directory, line: 0, message: "no such folder")
        }
        throw IngestError(
            code: .missingFile, file: directory, line: 0,
            message: "no \(table).csv or \(table).csv.gz in this folder (a Profiles Sync export holds "
                + "\(graph).csv and \(mapping).csv)")
    }
}

let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// A bad row: the message for the error or the rejects file.
struct RowProblem: Error {
    var message: String
}

extension ProfileStore {
    /// Loads (or appends) a Profiles Sync export folder into the store, in one transaction.
    ///
    /// Rows already stored are skipped (mapping rows are unique by ID, graph rows by SEGMENT_ID and SEQ), so
    /// ingesting the same export twice, or overlapping hourly exports, stores each row once. A malformed row stops
    /// the ingest with `file:line: what is wrong` and leaves the store exactly as it was, unless
    /// ``IngestOptions/rejectsPath`` is set: then bad rows go there with the reason and the rest is kept.
    ///
    /// - Throws: ``IngestError`` for bad input, ``StoreError`` for a database failure.
    public func ingest(directory: String, options: IngestOptions = IngestOptions()) throws -> IngestReport {
        let graphPath = try ExportFiles.find(ExportFiles.graph, in: directory)
        let mappingPath = try ExportFiles.find(ExportFiles.mapping, in: directory)
        return try ingest(graphPath: graphPath, mappingPath: mappingPath, options: options)
    }

    /// Loads one `id_graph_updates` file and one `external_id_mapping_updates` file (see ``ingest(directory:options:)``).
    public func ingest(graphPath: String, mappingPath: String, options: IngestOptions = IngestOptions()) throws
        -> IngestReport
    {
        let rejects = try options.rejectsPath.map { path throws(OutputError) -> OutputFile in
            let file = try OutputFile(path: path)
            try file.writeCSVRecord(["file", "line", "reason", "record"])
            return file
        }
        var report = IngestReport()
        report.files = [graphPath, mappingPath]
        do {
            let trace = PhaseTrace()
            try queue.write { db in
                let run = IngestRun(db: db, rejects: rejects, progress: options.progress)
                report.bulk = try run.storeIsEmpty()
                report.graph = try run.loadGraph(path: graphPath)
                trace.mark("graph rows")
                let merges = try run.updateMerges(rehome: !report.bulk)
                report.remappedSegments = merges.remapped
                report.changedIdentifiers += merges.rehomed
                trace.mark("merges")
                report.mapping = try run.loadMappings(path: mappingPath, bulk: report.bulk)
                trace.mark("mapping rows")
                if report.bulk {
                    report.changedIdentifiers += try run.deriveAllIdentifiers(canonical: merges.canonical)
                } else {
                    report.changedIdentifiers += try run.deriveTouchedIdentifiers(canonical: merges.canonical)
                }
                trace.mark("identifiers")
            }
            trace.mark("commit")
        } catch let error as DatabaseError {
            throw StoreError(path: path, message: "ingest failed, store unchanged: \(error.message ?? "\(error)")")
        }
        try rejects?.commit()
        return report
    }
}

/// One ingest, inside its transaction.
final class IngestRun {
    let db: Database
    let rejects: OutputFile?
    let progress: (@Sendable (IngestProgress) -> Void)?
    private var touchedSegments = Set<String>()
    let trace = PhaseTrace()

    init(db: Database, rejects: OutputFile?, progress: (@Sendable (IngestProgress) -> Void)?) {
        self.db = db
        self.rejects = rejects
        self.progress = progress
    }

    func storeIsEmpty() throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM identifiers LIMIT 1)") == 0
            && Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM mapping_updates LIMIT 1)") == 0
    }

    // MARK: - Reading files

    private func openCSV(_ path: String) throws -> (CSVReader, ExportColumns) {
        let reader: CSVReader
        do {
            reader = try CSVReader(path: path)
        } catch {
            throw IngestError(code: .io, file: path, line: 0, message: error.message)
        }
        guard try readRecord(reader) else {
            throw IngestError(code: .malformedCSV, file: path, line: 1, message: "empty file: no header row")
        }
        return (reader, ExportColumns(header: reader.allFields()))
    }

    private func readRecord(_ reader: CSVReader) throws -> Bool {
        do {
            return try reader.next()
        } catch let error as CSVError {
            throw IngestError(code: .malformedCSV, file: error.path, line: error.line, message: error.message)
        }
    }

    private func reject(_ reader: CSVReader, _ problem: RowProblem, counts: inout FileCounts) throws {
        guard let rejects else {
            throw IngestError(code: .malformedRow, file: reader.path, line: reader.line, message: problem.message)
        }
        counts.rejected += 1
        try rejects.writeCSVRecord([reader.path, String(reader.line), problem.message, reader.rawRecord()])
    }

    private func report(_ reader: CSVReader, rows: Int, total: Int64) {
        progress?(IngestProgress(file: reader.path, rows: rows, bytes: reader.bytesRead, totalBytes: total, phase: "read"))
    }

    // MARK: - id_graph_updates

    func loadGraph(path: String) throws -> FileCounts {
        let (reader, columns) = try openCSV(path)
        let segment = try columns.require("segment_id", file: path)
        let canonical = try columns.require("canonical_segment_id", file: path)
        let seq = try columns.require("seq", file: path)
        let timestamp = columns.position("timestamp")
        let insert = try db.makeStatement(
            sql: "INSERT OR IGNORE INTO graph_updates(segment_id, seq, canonical_segment_id, timestamp) VALUES (?,?,?,?)")
        let stmt = insert.sqliteStatement
        let connection = db.sqliteConnection
        let total = path.hasSuffix(".gz") ? 0 : FileSystem.size(path)
        var counts = FileCounts()
        while try readRecord(reader) {
            counts.read += 1
            if counts.read & 0xFFFF == 0 { report(reader, rows: counts.read, total: total) }
            do {
                guard reader.fieldCount == columns.count else {
                    throw RowProblem(message: "expected \(columns.count) fields, found \(reader.fieldCount)")
                }
                sqlite3_reset(stmt)
                try bindText(stmt, 1, reader, segment, "SEGMENT_ID")
                try bindText(stmt, 3, reader, canonical, "CANONICAL_SEGMENT_ID")
                try bindInt(stmt, 2, reader, seq, "SEQ")
                if let timestamp, !reader.isEmpty(timestamp) {
                    let time = try parseTime(reader, timestamp, "TIMESTAMP")
                    sqlite3_bind_int64(stmt, 4, time.microseconds)
                } else {
                    sqlite3_bind_null(stmt, 4)
                }
            } catch let problem as RowProblem {
                try reject(reader, problem, counts: &counts)
                continue
            }
            try step(stmt)
            if sqlite3_changes(connection) > 0 {
                counts.stored += 1
                touchedSegments.insert(reader.withField(segment) { String(decoding: $0, as: UTF8.self) })
            } else {
                counts.duplicate += 1
            }
        }
        return counts
    }

    // MARK: - Rule 1: merges

    /// Recomputes the parents of segments with new graph rows, the canonical ids that changed, and moves the
    /// active identifiers of those segments to their new profiles.
    func updateMerges(rehome: Bool) throws -> (canonical: [String: String], remapped: Int, rehomed: Int) {
        var oldParent: [String: String] = [:]
        var oldCanonical: [String: String] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT segment_id, parent, canonical_id FROM merges")
        while let row = try rows.next() {
            oldParent[row[0]] = row[1]
            oldCanonical[row[0]] = row[2]
        }
        var graph = MergeGraph(parents: oldParent)
        let latest = try db.makeStatement(
            sql: "SELECT canonical_segment_id FROM graph_updates WHERE segment_id = ? ORDER BY seq DESC LIMIT 1")
        for segment in touchedSegments {
            let parent = try String.fetchOne(latest, arguments: [segment])
            graph.setParent(parent, of: segment)
        }
        let canonical: [String: String]
        do {
            canonical = try graph.resolveAll()
        } catch {
            throw IngestError(code: .mergeCycle, file: ExportFiles.graph, line: 0, message: error.description)
        }
        // Write the differences to `merges`.
        let delete = try db.makeStatement(sql: "DELETE FROM merges WHERE segment_id = ?")
        let upsert = try db.makeStatement(
            sql: "INSERT OR REPLACE INTO merges(segment_id, parent, canonical_id) VALUES (?,?,?)")
        var oldRoots = Set<String>()
        var remapped = 0
        for segment in Set(oldParent.keys).union(graph.parents.keys) {
            let parent = graph.parents[segment]
            let newRoot = canonical[segment] ?? segment
            let oldRoot = oldCanonical[segment] ?? segment
            if newRoot != oldRoot {
                remapped += 1
                oldRoots.insert(oldRoot)
            }
            if let parent {
                if parent != oldParent[segment] || newRoot != oldRoot {
                    try upsert.execute(arguments: [segment, parent, newRoot])
                }
            } else {
                try delete.execute(arguments: [segment])
            }
        }
        guard rehome, !oldRoots.isEmpty else { return (canonical, remapped, 0) }
        // Only active identifiers need the right canonical id: an identifier that becomes active again is
        // re-resolved when its rows are folded.
        let members = try db.makeStatement(
            sql: "SELECT type, value, segment_id FROM identifiers WHERE canonical_id = ? AND active = 1")
        let move = try db.makeStatement(sql: "UPDATE identifiers SET canonical_id = ? WHERE type = ? AND value = ?")
        var rehomed = 0
        for root in oldRoots {
            let moved = try Row.fetchAll(members, arguments: [root])
            for row in moved {
                let segment: String = row[2]
                let newRoot = canonical[segment] ?? segment
                if newRoot != root {
                    try move.execute(arguments: [newRoot, row[0], row[1]])
                    try markDirty(root)
                    try markDirty(newRoot)
                    rehomed += 1
                }
            }
        }
        return (canonical, remapped, rehomed)
    }

    private lazy var dirtyStatement: Statement? = try? db.makeStatement(
        sql: "INSERT OR IGNORE INTO dirty_profiles(canonical_id) VALUES (?)")

    func markDirty(_ canonicalID: String) throws {
        guard let stmt = dirtyStatement else { return }
        try stmt.execute(arguments: [canonicalID])
    }

    // MARK: - external_id_mapping_updates

    /// Reads `external_id_mapping_updates`.
    ///
    /// Into an empty store (`bulk`), rows go to an append-only staging table first and reach `mapping_updates` in
    /// one sorted insert, with the ID index built afterwards: sorting once is several times cheaper than millions
    /// of random B-tree inserts. Otherwise rows are inserted directly and the identifiers they touch are noted.
    func loadMappings(path: String, bulk: Bool) throws -> FileCounts {
        let (reader, columns) = try openCSV(path)
        let id = try columns.require("id", file: path)
        let type = try columns.require("external_id_type", file: path)
        let value = try columns.require("external_id_value", file: path)
        let segment = try columns.require("segment_id", file: path)
        let seq = try columns.require("seq", file: path)
        let timestamp = columns.position("timestamp")
        let receivedAt = columns.position("received_at")
        guard timestamp != nil || receivedAt != nil else {
            throw IngestError(
                code: .missingColumn, file: path, line: 1,
                message: "missing required column TIMESTAMP or RECEIVED_AT (one of them dates each row)")
        }
        let operation = columns.position("__operation")
        let target: String
        if bulk {
            try db.execute(
                sql: """
                    CREATE TEMP TABLE IF NOT EXISTS staged_mappings (
                        type TEXT NOT NULL, value TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
                        segment_id TEXT NOT NULL, time INTEGER NOT NULL, removed INTEGER NOT NULL);
                    DELETE FROM staged_mappings;
                    """)
            target = "INSERT INTO staged_mappings"
        } else {
            try db.execute(
                sql: """
                    CREATE TEMP TABLE IF NOT EXISTS touched_identifiers (
                        type TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (type, value)) WITHOUT ROWID;
                    DELETE FROM touched_identifiers;
                    """)
            target = "INSERT OR IGNORE INTO mapping_updates"
        }
        let insert = try db.makeStatement(
            sql: "\(target) (type, value, seq, id, segment_id, time, removed) VALUES (?,?,?,?,?,?,?)")
        let touch = try bulk
            ? nil : db.makeStatement(sql: "INSERT OR IGNORE INTO touched_identifiers(type, value) VALUES (?,?)")
        let stmt = insert.sqliteStatement
        let connection = db.sqliteConnection
        let total = path.hasSuffix(".gz") ? 0 : FileSystem.size(path)
        var counts = FileCounts()
        while try readRecord(reader) {
            counts.read += 1
            if counts.read & 0xFFFF == 0 { report(reader, rows: counts.read, total: total) }
            do {
                guard reader.fieldCount == columns.count else {
                    throw RowProblem(message: "expected \(columns.count) fields, found \(reader.fieldCount)")
                }
                sqlite3_reset(stmt)
                try bindText(stmt, 1, reader, type, "EXTERNAL_ID_TYPE")
                try bindText(stmt, 2, reader, value, "EXTERNAL_ID_VALUE")
                try bindInt(stmt, 3, reader, seq, "SEQ")
                try bindText(stmt, 4, reader, id, "ID")
                try bindText(stmt, 5, reader, segment, "SEGMENT_ID")
                var time: Instant?
                if let timestamp, !reader.isEmpty(timestamp) {
                    time = try parseTime(reader, timestamp, "TIMESTAMP")
                }
                if let receivedAt, !reader.isEmpty(receivedAt) {
                    // Parsed even when TIMESTAMP is set, so a bad RECEIVED_AT is reported, not stored silently.
                    let t = try parseTime(reader, receivedAt, "RECEIVED_AT")
                    if time == nil { time = t }
                }
                guard let time else {
                    throw RowProblem(message: "no time: TIMESTAMP and RECEIVED_AT are both empty")
                }
                sqlite3_bind_int64(stmt, 6, time.microseconds)
                var removed: Int64 = 0
                if let operation {
                    removed = try reader.withField(operation) { b throws -> Int64 in
                        if b.isEmpty || FieldParser.equalsLowercase(b, "created") { return 0 }
                        if FieldParser.equalsLowercase(b, "removed") { return 1 }
                        throw RowProblem(
                            message: "__OPERATION is \"\(FieldParser.show(b))\"; expected CREATED, REMOVED or empty")
                    }
                }
                sqlite3_bind_int64(stmt, 7, removed)
            } catch let problem as RowProblem {
                try reject(reader, problem, counts: &counts)
                continue
            }
            try step(stmt)
            if bulk {
                counts.stored += 1
            } else if sqlite3_changes(connection) > 0 {
                counts.stored += 1
                if let touch {
                    let t = touch.sqliteStatement
                    sqlite3_reset(t)
                    try bindText(t, 1, reader, type, "EXTERNAL_ID_TYPE")
                    try bindText(t, 2, reader, value, "EXTERNAL_ID_VALUE")
                    try step(t)
                }
            } else {
                counts.duplicate += 1
            }
        }
        trace.mark("  read + stage")
        if bulk { try moveStagedMappings(&counts) }
        return counts
    }

    /// Bulk path: staged rows into `mapping_updates` in key order, then the ID index; rows whose ID repeats keep
    /// their first occurrence in the file.
    private func moveStagedMappings(_ counts: inout FileCounts) throws {
        progress?(IngestProgress(file: "", rows: counts.stored, bytes: 0, totalBytes: 0, phase: "sort"))
        try db.execute(sql: "DROP INDEX IF EXISTS mapping_updates_by_id")
        let move = """
            INSERT OR IGNORE INTO mapping_updates (type, value, seq, id, segment_id, time, removed)
            SELECT type, value, seq, id, segment_id, time, removed FROM staged_mappings ORDER BY type, value, seq, id
            """
        try db.execute(sql: move)
        trace.mark("  sorted insert")
        var stored = db.changesCount
        do {
            try db.inSavepoint {
                try StoreSchema.createIDIndex(db)
                return .commit
            }
            trace.mark("  id index")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            try db.execute(
                sql: """
                    DELETE FROM mapping_updates;
                    DELETE FROM staged_mappings WHERE rowid NOT IN (SELECT min(rowid) FROM staged_mappings GROUP BY id);
                    """)
            try db.execute(sql: move)
            stored = db.changesCount
            try StoreSchema.createIDIndex(db)
        }
        try db.execute(sql: "DROP TABLE staged_mappings")
        counts.duplicate = counts.stored - stored
        counts.stored = stored
    }

    // MARK: - Rule 2: identifier state

    /// Bulk path for an empty store: one pass over `mapping_updates` in (type, value, seq, id) order.
    func deriveAllIdentifiers(canonical: [String: String]) throws -> Int {
        try StoreSchema.dropProfileIndex(db)
        try db.execute(sql: "DELETE FROM identifiers; DELETE FROM dirty_profiles; DELETE FROM scan_state;")
        progress?(IngestProgress(file: "", rows: 0, bytes: 0, totalBytes: 0, phase: "derive"))
        let select = try db.makeStatement(
            sql: """
                SELECT type, value, seq, id, segment_id, time, removed FROM mapping_updates
                ORDER BY type, value, seq, id
                """)
        let insert = try db.makeStatement(
            sql: """
                INSERT INTO identifiers (type, value, active, segment_id, canonical_id, first_seen, first_seq)
                VALUES (?,?,?,?,?,?,?)
                """)
        let s = select.sqliteStatement
        let ins = insert.sqliteStatement
        var folder = RawFolder()
        var count = 0
        func emit() throws {
            guard folder.hasGroup else { return }
            sqlite3_reset(ins)
            folder.bindKey(ins)
            sqlite3_bind_int64(ins, 3, folder.active ? 1 : 0)
            let segment = folder.segmentString()
            bindString(ins, 4, segment)
            bindString(ins, 5, canonical[segment] ?? segment)
            sqlite3_bind_int64(ins, 6, folder.firstSeen)
            sqlite3_bind_int64(ins, 7, folder.firstSeq)
            try step(ins)
            count += 1
            if count & 0xFFFF == 0 {
                progress?(IngestProgress(file: "", rows: count, bytes: 0, totalBytes: 0, phase: "derive"))
            }
        }
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw DatabaseError(resultCode: ResultCode(rawValue: rc)) }
            if !folder.sameKey(s) {
                try emit()
                folder.start(s)
            }
            folder.fold(s)
        }
        try emit()
        trace.mark("  fold")
        try StoreSchema.createProfileIndex(db)
        return count
    }

    /// Incremental path: recompute the identifiers the ingest touched from all their rows.
    func deriveTouchedIdentifiers(canonical: [String: String]) throws -> Int {
        guard try db.tableExists("touched_identifiers", in: "temp") else { return 0 }
        let history = try db.makeStatement(
            sql: "SELECT seq, id, segment_id, time, removed FROM mapping_updates WHERE type = ? AND value = ? ORDER BY seq, id")
        let current = try db.makeStatement(
            sql: "SELECT active, canonical_id, first_seen, first_seq, segment_id FROM identifiers WHERE type = ? AND value = ?")
        let write = try db.makeStatement(
            sql: """
                INSERT OR REPLACE INTO identifiers
                    (type, value, active, segment_id, canonical_id, first_seen, first_seq)
                VALUES (?,?,?,?,?,?,?)
                """)
        var changed = 0
        let keys = try Row.fetchCursor(db, sql: "SELECT type, value FROM touched_identifiers")
        while let key = try keys.next() {
            let type: String = key[0]
            let value: String = key[1]
            var state: IdentifierState?
            let rows = try Row.fetchCursor(history, arguments: [type, value])
            while let row = try rows.next() {
                let event = MappingEvent(
                    id: row[1], seq: row[0], time: Instant(microseconds: row[3]), segmentID: row[2],
                    operation: (row[4] as Int64) == 1 ? .removed : .created)
                state = IdentifierHistory.fold(state, event)
            }
            guard let state else { continue }
            let newRoot = canonical[state.segmentID] ?? state.segmentID
            let old = try Row.fetchOne(current, arguments: [type, value])
            let wasActive = old.map { ($0[0] as Int64) == 1 } ?? false
            let oldRoot: String? = old?[1]
            let same =
                old != nil && wasActive == state.active
                && (!state.active
                    || (oldRoot == newRoot && (old?[2] as Int64?) == state.firstSeen.microseconds
                        && (old?[3] as Int64?) == state.seq))
            try write.execute(arguments: [
                type, value, state.active ? 1 : 0, state.segmentID, newRoot, state.firstSeen.microseconds, state.seq,
            ])
            if same { continue }
            changed += 1
            if wasActive, let oldRoot { try markDirty(oldRoot) }
            if state.active { try markDirty(newRoot) }
        }
        try db.execute(sql: "DELETE FROM touched_identifiers")
        return changed
    }

    // MARK: - Binding helpers

    private func bindText(
        _ stmt: OpaquePointer?, _ index: Int32, _ reader: CSVReader, _ field: Int, _ name: String
    ) throws {
        try reader.withField(field) { b throws in
            guard !b.isEmpty else { throw RowProblem(message: "\(name) is empty") }
            guard FieldParser.isValidUTF8(b) else { throw RowProblem(message: "\(name) is not valid UTF-8") }
            b.withMemoryRebound(to: CChar.self) { c in
                _ = sqlite3_bind_text(stmt, index, c.baseAddress, Int32(c.count), transient)
            }
        }
    }

    private func bindInt(
        _ stmt: OpaquePointer?, _ index: Int32, _ reader: CSVReader, _ field: Int, _ name: String
    ) throws {
        try reader.withField(field) { b throws in
            guard let v = FieldParser.int64(b) else {
                throw RowProblem(
                    message: b.isEmpty ? "\(name) is empty" : "\(name) is not an integer: \"\(FieldParser.show(b))\"")
            }
            sqlite3_bind_int64(stmt, index, v)
        }
    }

    private func parseTime(_ reader: CSVReader, _ field: Int, _ name: String) throws -> Instant {
        try reader.withField(field) { b throws -> Instant in
            guard let t = Instant(utf8: b) else {
                throw RowProblem(
                    message: "\(name) is not a time: \"\(FieldParser.show(b))\" (expected YYYY-MM-DD HH:MM:SS[.ffffff], "
                        + "optionally with T and Z or +00:00)")
            }
            return t
        }
    }

    private func step(_ stmt: OpaquePointer?) throws {
        let rc = sqlite3_step(stmt)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }
}

func bindString(_ stmt: OpaquePointer?, _ index: Int32, _ text: String) {
    var text = text
    text.withUTF8 { b in
        b.withMemoryRebound(to: CChar.self) { c in
            if let base = c.baseAddress {
                    _ = sqlite3_bind_text(stmt, index, base, Int32(c.count), transient)
                } else {
                    _ = sqlite3_bind_text(stmt, index, "", 0, nil)
                }
        }
    }
}

/// Rule 2's fold over raw statement columns, without making Strings for every row.
struct RawFolder {
    private(set) var hasGroup = false
    private var type: [UInt8] = []
    private var value: [UInt8] = []
    private var segment: [UInt8] = []
    private(set) var active = false
    private(set) var firstSeen: Int64 = 0
    private(set) var firstSeq: Int64 = 0
    private var folded = 0

    private static func column(_ s: OpaquePointer?, _ i: Int32) -> UnsafeBufferPointer<UInt8> {
        let n = Int(sqlite3_column_bytes(s, i))
        guard let p = sqlite3_column_text(s, i) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: p, count: n)
    }

    func sameKey(_ s: OpaquePointer?) -> Bool {
        hasGroup && RawFolder.column(s, 0).elementsEqual(type) && RawFolder.column(s, 1).elementsEqual(value)
    }

    mutating func start(_ s: OpaquePointer?) {
        hasGroup = true
        type.removeAll(keepingCapacity: true)
        type.append(contentsOf: RawFolder.column(s, 0))
        value.removeAll(keepingCapacity: true)
        value.append(contentsOf: RawFolder.column(s, 1))
        active = false
        firstSeen = 0
        firstSeq = 0
        folded = 0
    }

    /// Folds the current row (columns: type, value, seq, id, segment_id, time, removed), which comes after every
    /// row already folded (the table is read in (type, value, seq, id) order).
    mutating func fold(_ s: OpaquePointer?) {
        let seq = sqlite3_column_int64(s, 2)
        let created = sqlite3_column_int64(s, 6) == 0
        if folded == 0 || (created && !active) {
            // The first row, or the first CREATED row after a REMOVED one, starts a new run.
            firstSeen = sqlite3_column_int64(s, 5)
            firstSeq = seq
        }
        active = created
        folded += 1
        segment.removeAll(keepingCapacity: true)
        segment.append(contentsOf: RawFolder.column(s, 4))
    }

    func segmentString() -> String { String(decoding: segment, as: UTF8.self) }

    func bindKey(_ stmt: OpaquePointer?) {
        bind(stmt, 1, type)
        bind(stmt, 2, value)
    }


    private func bind(_ stmt: OpaquePointer?, _ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { c in
                if let base = c.baseAddress {
                    _ = sqlite3_bind_text(stmt, index, base, Int32(c.count), transient)
                } else {
                    _ = sqlite3_bind_text(stmt, index, "", 0, nil)
                }
            }
        }
    }
}
