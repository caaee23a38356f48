import GRDB
import GRDBSQLite
import IDAuditCSV
import IDAuditCore
#if canImport(Glibc)
    import Glibc
#endif

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
    /// Rows stored: new ones, and copies that replaced the stored row with their key (see the README's "stored once").
    public var stored = 0
    /// Rows already in the store, or losing to a copy with their key (by ID for mappings, by SEGMENT_ID and SEQ for
    /// the graph).
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
    /// Rows already stored are skipped (a mapping row whose ID its identifier already has; a graph row whose
    /// SEGMENT_ID and SEQ are stored), so ingesting the same export twice, or overlapping hourly exports, stores
    /// each row once. A malformed row stops the ingest with `file:line: what is wrong` and leaves the store exactly
    /// as it was, unless ``IngestOptions/rejectsPath`` is set: then bad rows go there with the reason and the rest
    /// is kept.
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
        let rejects = try ExportReader.rejectsFile(options.rejectsPath)
        var report = IngestReport()
        report.files = [graphPath, mappingPath]
        SortDirectories.removeStale(besides: path)
        let sortDirectory = path + ".sort-\(getpid())"
        do {
            let trace = PhaseTrace()
            try queue.write { db in
                let run = IngestRun(db: db, rejects: rejects, progress: options.progress, sortDirectory: sortDirectory)
                report.bulk = try run.storeIsEmpty()
                let graph = try run.loadGraph(path: graphPath, bulk: report.bulk)
                report.graph = graph.counts
                trace.mark("graph rows")
                let merges =
                    report.bulk
                    ? try run.loadMerges(parents: graph.parents, path: graphPath)
                    : try run.updateMerges(path: graphPath)
                report.remappedSegments = merges.remapped
                report.changedIdentifiers += merges.rehomed
                trace.mark("merges")
                if report.bulk { try StoreSchema.dropProfileIndex(db) }  // built once, after the load
                let mapping = try run.loadMappings(path: mappingPath, bulk: report.bulk, canonical: merges.resolver)
                report.mapping = mapping.counts
                report.changedIdentifiers += mapping.changed
                trace.mark("mapping rows")
                if report.bulk {
                    try StoreSchema.createProfileIndex(db)
                    try run.forgetCachedScan()
                    trace.mark("profile index")
                }
            }
            trace.mark("commit")
        } catch let error as DatabaseError {
            throw StoreError(path: path, message: "ingest failed, store unchanged: \(error.message ?? "\(error)")")
        }
        try rejects?.commit()
        return report
    }
}

/// The run files of an ingest live in `<store>.sort-<pid>-<name>/` beside the store; one killed with `kill -9` leaves
/// them behind, so each ingest removes those whose process is gone.
enum SortDirectories {
    static func removeStale(besides store: String) {
        let slash = store.lastIndex(of: "/")
        let folder = slash.map { String(store[..<$0]) } ?? "."
        let prefix = String(slash.map { store[store.index(after: $0)...] } ?? Substring(store)) + ".sort-"
        guard let dir = opendir(folder.isEmpty ? "/" : folder) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            guard name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst(prefix.count)
            guard let pid = Int32(rest.prefix { $0.isNumber }), pid != getpid(),
                kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            let path = folder + "/" + name
            if let runs = opendir(path) {
                while let run = readdir(runs) {
                    let file = withUnsafeBytes(of: run.pointee.d_name) { raw in
                        String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
                    }
                    if file != "." && file != ".." { unlink(path + "/" + file) }
                }
                closedir(runs)
            }
            rmdir(path)
        }
    }
}

/// One ingest, inside its transaction.
final class IngestRun {
    let db: Database
    let files: ExportReader
    let progress: (@Sendable (IngestProgress) -> Void)?
    let trace = PhaseTrace()
    private var touchedSegments = Set<ByteString>()

    init(db: Database, rejects: OutputFile?, progress: (@Sendable (IngestProgress) -> Void)?, sortDirectory: String) {
        self.db = db
        self.progress = progress
        files = ExportReader(rejects: rejects, progress: progress, sortDirectory: sortDirectory)
    }

    /// A bulk load marks no profile dirty (every profile is new): it drops the cached scan instead, so the next scan
    /// evaluates every profile even when its rules are those of a scan of the store while it was empty.
    func forgetCachedScan() throws {
        try db.execute(sql: "DELETE FROM scan_state; DELETE FROM dirty_profiles")
    }

    func storeIsEmpty() throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM identifiers LIMIT 1)") == 0
            && Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM graph_updates LIMIT 1)") == 0
    }

    // MARK: - id_graph_updates

    /// Reads the graph file, sorts its rows by (SEGMENT_ID, SEQ) and stores the new ones. In bulk mode also returns
    /// each segment's parent (rule 1), taken from its highest-SEQ row as the sorted rows go by.
    ///
    /// Rows with the same (SEGMENT_ID, SEQ) are one row: the one greatest by (CANONICAL_SEGMENT_ID bytes, TIMESTAMP,
    /// an empty one least) is kept, in the file and against the store, so the order rows arrive in does not matter.
    func loadGraph(path: String, bulk: Bool) throws -> (counts: FileCounts, parents: [ByteString: ByteString]) {
        let (sorter, read) = try files.sortGraph(path: path)
        defer { sorter.close() }
        var counts = read
        // A stored row gives way to one with the same key that is greater (GraphRecord.less sorts those first).
        let insert = try db.makeStatement(
            sql: bulk
                ? "INSERT INTO graph_updates(segment_id, seq, canonical_segment_id, timestamp) VALUES (?,?,?,?)"
                : """
                INSERT INTO graph_updates(segment_id, seq, canonical_segment_id, timestamp) VALUES (?,?,?,?)
                ON CONFLICT(segment_id, seq) DO UPDATE
                SET canonical_segment_id = excluded.canonical_segment_id, timestamp = excluded.timestamp
                WHERE (excluded.canonical_segment_id, coalesce(excluded.timestamp, \(GraphRecord.noTime)))
                    > (canonical_segment_id, coalesce(timestamp, \(GraphRecord.noTime)))
                """)
        let stmt = insert.sqliteStatement
        let connection = db.sqliteConnection
        let stream = try sorter.finish()
        var stored = 0
        var duplicates = 0
        let walk = try GraphWalk.run(stream, parents: bulk) { seg, seqValue, can, time in
            sqlite3_reset(stmt)
            bindBytes(stmt, 1, seg)
            sqlite3_bind_int64(stmt, 2, seqValue)
            bindBytes(stmt, 3, can)
            if time == GraphRecord.noTime { sqlite3_bind_null(stmt, 4) } else { sqlite3_bind_int64(stmt, 4, time) }
            try step(stmt)
            if bulk || sqlite3_changes(connection) > 0 {
                stored += 1
                if !bulk { touchedSegments.insert(ByteString(String(decoding: seg, as: UTF8.self))) }
            } else {
                duplicates += 1
            }
        }
        counts.stored += stored
        counts.duplicate += duplicates + walk.duplicates  // copies in this file, then rows the store already has
        return (counts, walk.parents)
    }

    // MARK: - Rule 1: merges

    /// Bulk path: every segment's parent came from the sorted graph rows; resolves them all (rule 1) and writes
    /// `merges` in key order. `path` is the graph file, for a cycle's error.
    func loadMerges(parents: [ByteString: ByteString], path: String) throws
        -> (resolver: CanonicalResolver, remapped: Int, rehomed: Int)
    {
        let graph = MergeGraph(parents: parents)
        let canonical: [ByteString: ByteString]
        do {
            canonical = try graph.resolveAll()
        } catch {
            throw IngestError(code: .mergeCycle, file: path, line: 0, message: error.description)
        }
        let insert = try db.makeStatement(sql: "INSERT INTO merges(segment_id, parent, canonical_id) VALUES (?,?,?)")
        for segment in graph.parents.keys.sorted() {
            try insert.execute(
                arguments: [segment.string, graph.parents[segment]?.string, (canonical[segment] ?? segment).string])
        }
        return (try CanonicalResolver(map: CanonicalMap(canonical), db: nil), canonical.count, 0)
    }

    /// Incremental path: recomputes rule 1 only where new graph rows can change it (the segments with new rows and
    /// everything merged into them), updates `merges`, and moves the active identifiers of segments whose canonical
    /// id changed to their new profiles. `path` is the graph file, for a cycle's error.
    func updateMerges(path: String) throws -> (resolver: CanonicalResolver, remapped: Int, rehomed: Int) {
        guard !touchedSegments.isEmpty else { return (try CanonicalResolver(map: CanonicalMap([:]), db: db), 0, 0) }
        let latest = try db.makeStatement(
            sql: "SELECT canonical_segment_id FROM graph_updates WHERE segment_id = ? ORDER BY seq DESC LIMIT 1")
        let stored = try db.makeStatement(sql: "SELECT parent, canonical_id FROM merges WHERE segment_id = ?")
        let childrenOf = try db.makeStatement(sql: "SELECT segment_id FROM merges WHERE parent = ?")
        var newParent: [ByteString: ByteString?] = [:]
        for segment in touchedSegments {
            let parent = try String.fetchOne(latest, arguments: [segment.string]).map { ByteString($0) }
            newParent[segment] = parent == segment ? nil : parent
        }
        // Everything whose chain passes through a segment with a new row may move.
        var affected = touchedSegments
        var queue = Array(touchedSegments)
        while let segment = queue.popLast() {
            for child in try String.fetchAll(childrenOf, arguments: [segment.string]).map({ ByteString($0) })
            where affected.insert(child).inserted {
                queue.append(child)
            }
        }
        var storedRows: [ByteString: (parent: ByteString, canonical: ByteString)?] = [:]
        func storedRow(_ segment: ByteString) throws -> (parent: ByteString, canonical: ByteString)? {
            if let known = storedRows[segment] { return known }
            let row = try Row.fetchOne(stored, arguments: [segment.string]).map {
                (parent: ByteString($0[0] as String), canonical: ByteString($0[1] as String))
            }
            storedRows[segment] = row
            return row
        }
        func parent(_ segment: ByteString) throws -> ByteString? {
            if let changed = newParent[segment] { return changed }
            return try storedRow(segment)?.parent
        }
        // In byte order, so that of several cycles the same one is named on every run.
        let ordered = affected.sorted()
        var newCanonical: [ByteString: ByteString] = [:]
        for start in ordered where newCanonical[start] == nil {
            var walk: [ByteString] = []
            var onPath = Set<ByteString>()
            var current = start
            var root: ByteString
            while true {
                if let known = newCanonical[current] {
                    root = known
                    break
                }
                if !affected.contains(current) {
                    // Nothing above an unaffected segment changed: its stored canonical id still holds.
                    root = try storedRow(current)?.canonical ?? current
                    break
                }
                guard let up = try parent(current) else {
                    root = current
                    break
                }
                guard onPath.insert(current).inserted else {
                    let cycle = walk.drop { $0 != current }.map(\.string)
                    throw IngestError(
                        code: .mergeCycle, file: path, line: 0, message: MergeCycleError(ids: cycle).description)
                }
                walk.append(current)
                current = up
            }
            for segment in walk { newCanonical[segment] = root }
            if newCanonical[start] == nil { newCanonical[start] = root }
        }
        let delete = try db.makeStatement(sql: "DELETE FROM merges WHERE segment_id = ?")
        let upsert = try db.makeStatement(
            sql: "INSERT OR REPLACE INTO merges(segment_id, parent, canonical_id) VALUES (?,?,?)")
        var oldRoots = Set<ByteString>()
        var moved: [ByteString: ByteString] = [:]
        var remapped = 0
        for segment in ordered {
            let old = try storedRow(segment)
            let oldRoot = old?.canonical ?? segment
            let newRoot = newCanonical[segment] ?? segment
            if newRoot != oldRoot {
                remapped += 1
                oldRoots.insert(oldRoot)
                moved[segment] = newRoot
            }
            if let up = try parent(segment) {
                if up != old?.parent || newRoot != oldRoot {
                    try upsert.execute(arguments: [segment.string, up.string, newRoot.string])
                }
            } else if old != nil {
                try delete.execute(arguments: [segment.string])
            }
        }
        var rehomed = 0
        if !oldRoots.isEmpty {
            // Only active identifiers need the right canonical id: an identifier that becomes active again is
            // re-resolved when its rows are folded.
            let members = try db.makeStatement(
                sql: """
                    SELECT type, value, segment_id FROM identifiers INDEXED BY identifiers_by_profile
                    WHERE canonical_id = ? AND active = 1
                    """)
            let move = try db.makeStatement(sql: "UPDATE identifiers SET canonical_id = ? WHERE type = ? AND value = ?")
            for root in oldRoots.sorted() {
                for row in try Row.fetchAll(members, arguments: [root.string]) {
                    let segment = ByteString(row[2] as String)
                    guard let newRoot = moved[segment], newRoot != root else { continue }
                    try move.execute(arguments: [newRoot.string, row[0], row[1]])
                    try markDirty(root.string)
                    try markDirty(newRoot.string)
                    rehomed += 1
                }
            }
        }
        return (try CanonicalResolver(map: CanonicalMap(moved), db: db), remapped, rehomed)
    }

    private lazy var dirtyStatement: Statement? = try? db.makeStatement(
        sql: "INSERT OR IGNORE INTO dirty_profiles(canonical_id) VALUES (?)")

    func markDirty(_ canonicalID: String) throws {
        guard let stmt = dirtyStatement else { return }
        try stmt.execute(arguments: [canonicalID])
    }

    // MARK: - external_id_mapping_updates

    /// Reads the mapping file, sorts its rows by identifier with bounded memory, and folds each identifier's new
    /// rows into its stored history (rule 2). Into an empty store the identifiers are appended in key order.
    func loadMappings(path: String, bulk: Bool, canonical: CanonicalResolver) throws -> (counts: FileCounts, changed: Int) {
        let (sorter, read) = try files.sortMappings(path: path)
        defer { sorter.close() }
        var counts = read
        trace.mark("  read + sort runs")
        progress?(IngestProgress(file: path, rows: counts.read, bytes: 0, totalBytes: 0, phase: "derive"))
        let stream = try sorter.finish()
        if bulk {
            let insert = try db.makeStatement(
                sql: """
                    INSERT INTO identifiers
                        (type, value, active, segment_id, canonical_id, first_seen, first_seq, rows, history)
                    VALUES (?,?,?,?,?,?,?,?,?)
                    """)
            let s = insert.sqliteStatement
            var written = 0
            counts = try BulkFold().run(stream: stream, canonical: canonical, counts: counts) { r in
                // Bound without copies: the batch stays put until this row is stepped and reset.
                for column: Int32 in [1, 2] { bindStatic(s, column, r.text()) }
                sqlite3_bind_int64(s, 3, Int64(r.uint8()))
                bindStatic(s, 4, r.text())
                bindStatic(s, 5, r.text())
                sqlite3_bind_int64(s, 6, r.int64())
                sqlite3_bind_int64(s, 7, r.int64())
                sqlite3_bind_int64(s, 8, r.int64())
                let blob = r.text()
                _ = sqlite3_bind_blob(s, 9, blob.baseAddress, Int32(blob.count), nil)
                try step(s)
                sqlite3_reset(s)
                written += 1
                if written & 0xFFFF == 0 {
                    progress?(IngestProgress(file: path, rows: written, bytes: 0, totalBytes: 0, phase: "derive"))
                }
            }
            trace.mark("  merge + fold + write")
            return (counts, written)
        }
        let writer = try IdentifierWriter(db: db, bulk: bulk, canonical: canonical, run: self)
        var group = IdentifierGroup()
        var groups = 0
        while let record = try stream.next() {
            guard let base = record.baseAddress else { continue }
            if !group.sameKey(base) {
                if group.hasKey { try writer.write(&group, counts: &counts) }
                group.start(base)
                groups += 1
                if groups & 0xFFFF == 0 {
                    progress?(IngestProgress(file: path, rows: groups, bytes: 0, totalBytes: 0, phase: "derive"))
                }
            }
            group.addNew(base)
        }
        if group.hasKey { try writer.write(&group, counts: &counts) }
        trace.mark("  merge + fold + write")
        return (counts, writer.changed)
    }

    func step(_ stmt: OpaquePointer?) throws {
        let rc = sqlite3_step(stmt)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }
}

/// Writes settled identifier groups: appends in bulk mode, merges with the stored history otherwise.
final class IdentifierWriter {
    private let bulk: Bool
    private let canonical: CanonicalResolver
    private let run: IngestRun
    private let insert: Statement
    private let current: Statement?
    private var history = RecordBuilder()
    private(set) var changed = 0

    init(db: Database, bulk: Bool, canonical: CanonicalResolver, run: IngestRun) throws {
        self.bulk = bulk
        self.canonical = canonical
        self.run = run
        insert = try db.makeStatement(
            sql: """
                \(bulk ? "INSERT" : "INSERT OR REPLACE") INTO identifiers
                    (type, value, active, segment_id, canonical_id, first_seen, first_seq, rows, history)
                VALUES (?,?,?,?,?,?,?,?,?)
                """)
        current =
            bulk
            ? nil
            : try db.makeStatement(
                sql: "SELECT active, canonical_id, first_seen, first_seq, history FROM identifiers WHERE type = ? AND value = ?")
    }

    func write(_ group: inout IdentifierGroup, counts: inout FileCounts) throws {
        var wasActive = false
        var oldRoot: String?
        var oldFirst: (Int64, Int64)?
        if let current {
            let s = current.sqliteStatement
            sqlite3_reset(s)
            group.withBytes(group.type) { bindBytes(s, 1, $0) }
            group.withBytes(group.value) { bindBytes(s, 2, $0) }
            if sqlite3_step(s) == SQLITE_ROW {
                wasActive = sqlite3_column_int64(s, 0) == 1
                oldRoot = columnText(s, 1)
                oldFirst = (sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3))
                let blob = UnsafeRawBufferPointer(start: sqlite3_column_blob(s, 4), count: Int(sqlite3_column_bytes(s, 4)))
                group.addStored(history: blob)
            }
            sqlite3_reset(s)
        }
        let changedRows = group.settle()
        counts.stored += group.added
        counts.duplicate += group.duplicates
        guard changedRows else { return }
        let merged = group.withBytes(group.lastSegment) { canonical.mergedCanonical(of: $0) }
        group.encodeHistory(into: &history)
        let s = insert.sqliteStatement
        sqlite3_reset(s)
        // Everything is bound without copies (SQLITE_STATIC): the buffers outlive the step inside these closures.
        try group.withAllBytes { bytes in
            try history.withBytes { blob in
                bindStatic(s, 1, bytes, group.type)
                bindStatic(s, 2, bytes, group.value)
                sqlite3_bind_int64(s, 3, group.active ? 1 : 0)
                bindStatic(s, 4, bytes, group.lastSegment)
                if let merged {
                    bindString(s, 5, merged)
                } else {
                    bindStatic(s, 5, bytes, group.lastSegment)
                }
                sqlite3_bind_int64(s, 6, group.firstSeen)
                sqlite3_bind_int64(s, 7, group.firstSeq)
                sqlite3_bind_int64(s, 8, Int64(group.rows.count))
                _ = sqlite3_bind_blob(s, 9, blob.baseAddress, Int32(blob.count), nil)
                try run.step(s)
                sqlite3_reset(s)
            }
        }
        changed += 1
        guard !bulk else { return }
        let root = merged ?? group.string(group.lastSegment)
        let same =
            oldRoot != nil && wasActive == group.active
            && (!group.active
                || (oldRoot.map { ByteOrder.equal($0, root) } == true
                    && oldFirst.map { $0 == (group.firstSeen, group.firstSeq) } == true))
        if same {
            changed -= 1
            return
        }
        if wasActive, let oldRoot { try run.markDirty(oldRoot) }
        if group.active { try run.markDirty(root) }
    }
}

/// Answers rule 1 for the mapping fold: the canonical id of a segment, or nil when it is its own.
///
/// In bulk mode the whole map is in memory; incrementally, the segments this ingest moved are in memory and the
/// rest is read from `merges` (small, and only for identifiers the export touched).
final class CanonicalResolver: @unchecked Sendable {
    // Used by one thread at a time: the bulk fold's worker (map only, `db` nil) or the ingest's thread.
    private let map: CanonicalMap
    private let lookup: Statement?

    init(map: CanonicalMap, db: Database?) throws {
        self.map = map
        lookup = try db?.makeStatement(sql: "SELECT canonical_id FROM merges WHERE segment_id = ?")
    }

    func mergedCanonical(of segment: UnsafeBufferPointer<UInt8>) -> String? {
        if let moved = map.mergedCanonical(of: segment) { return moved }
        guard let lookup else { return nil }
        let s = lookup.sqliteStatement
        sqlite3_reset(s)
        bindBytes(s, 1, segment)
        defer { sqlite3_reset(s) }
        guard sqlite3_step(s) == SQLITE_ROW else { return nil }
        return columnText(s, 0)
    }
}

/// Canonical ids of merged segments (rule 1), looked up straight from bytes.
///
/// Most segments were never merged; a set of 64-bit hashes of the merged ones answers "not merged" for them without
/// making a String.
struct CanonicalMap {
    private let map: [ByteString: ByteString]
    private let hashes: Set<UInt64>

    init(_ map: [ByteString: ByteString]) {
        self.map = map
        var hashes = Set<UInt64>()
        for key in map.keys {
            var key = key.string
            hashes.insert(key.withUTF8 { CanonicalMap.hash($0) })
        }
        self.hashes = hashes
    }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in bytes {
            h ^= UInt64(byte)
            h &*= 0x100_0000_01b3
        }
        return h
    }

    /// The canonical id of the segment with these bytes, or nil when it was never merged (it is its own).
    func mergedCanonical(of segment: UnsafeBufferPointer<UInt8>) -> String? {
        guard hashes.contains(CanonicalMap.hash(segment)) else { return nil }
        return map[ByteString(String(decoding: segment, as: UTF8.self))]?.string
    }
}

/// The TEXT of column `index` of the current row, all of its bytes (a NUL inside included).
func columnText(_ stmt: OpaquePointer?, _ index: Int32) -> String {
    String(
        decoding: UnsafeBufferPointer(start: sqlite3_column_text(stmt, index), count: Int(sqlite3_column_bytes(stmt, index))),
        as: UTF8.self)
}

func bindString(_ stmt: OpaquePointer?, _ index: Int32, _ text: String) {
    var text = text
    text.withUTF8 { bindBytes(stmt, index, $0) }
}

/// Binds `range` of `bytes` as TEXT without a copy: the bytes must stay valid until the statement is stepped and reset.
func bindStatic(_ stmt: OpaquePointer?, _ index: Int32, _ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
    guard let base = bytes.baseAddress, !range.isEmpty else {
        _ = sqlite3_bind_text(stmt, index, "", 0, nil)
        return
    }
    (base + range.lowerBound).withMemoryRebound(to: CChar.self, capacity: range.count) { c in
        _ = sqlite3_bind_text(stmt, index, c, Int32(range.count), nil)
    }
}

/// Binds bytes as TEXT without a copy: they must stay valid until the statement is stepped and reset.
func bindStatic(_ stmt: OpaquePointer?, _ index: Int32, _ bytes: UnsafeBufferPointer<UInt8>) {
    guard let base = bytes.baseAddress, !bytes.isEmpty else {
        _ = sqlite3_bind_text(stmt, index, "", 0, nil)
        return
    }
    base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { c in
        _ = sqlite3_bind_text(stmt, index, c, Int32(bytes.count), nil)
    }
}

/// Binds bytes as TEXT; SQLite copies them, so they need to live only for this call.
func bindBytes(_ stmt: OpaquePointer?, _ index: Int32, _ b: UnsafeBufferPointer<UInt8>) {
    b.withMemoryRebound(to: CChar.self) { c in
        if let base = c.baseAddress {
            _ = sqlite3_bind_text(stmt, index, base, Int32(c.count), transient)
        } else {
            _ = sqlite3_bind_text(stmt, index, "", 0, nil)
        }
    }
}
