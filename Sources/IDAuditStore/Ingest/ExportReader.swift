import IDAuditCSV
import IDAuditCore

/// Reads the two files of a Profiles Sync export into sorted records with bounded memory: the first half of an
/// ingest, and all of the reading a one-shot scan of an export does (``ExportProfiles``).
///
/// Every row is checked as it is read: a bad one stops the read with `file:line: what is wrong`, or goes to the
/// rejects file with the reason when there is one.
final class ExportReader {
    let rejects: OutputFile?
    let progress: (@Sendable (IngestProgress) -> Void)?
    /// Run files go to `<sortDirectory>-graph/` and `<sortDirectory>-mapping/`.
    let sortDirectory: String
    /// Input order across both files: equal rows keep the order they were read in.
    private var ordinal: Int64 = 0

    init(rejects: OutputFile?, progress: (@Sendable (IngestProgress) -> Void)?, sortDirectory: String) {
        self.rejects = rejects
        self.progress = progress
        self.sortDirectory = sortDirectory
    }

    /// Opens `path` for a ``ExportReader`` reading `options.rejectsPath` (with its header) when set.
    static func rejectsFile(_ path: String?) throws -> OutputFile? {
        try path.map { path throws(OutputError) -> OutputFile in
            let file = try OutputFile(path: path)
            try file.writeCSVRecord(["file", "line", "reason", "record"])
            return file
        }
    }

    // MARK: - id_graph_updates

    /// Reads the graph file into a sorter of ``GraphRecord``s (ordered by SEGMENT_ID, SEQ, the row kept first).
    /// The caller closes the sorter.
    func sortGraph(path: String) throws -> (sorter: ExternalSorter, counts: FileCounts) {
        let (reader, columns) = try openCSV(path)
        let segment = try columns.require("segment_id", file: path)
        let canonical = try columns.require("canonical_segment_id", file: path)
        let seq = try columns.require("seq", file: path)
        let timestamp = columns.position("timestamp")
        let sorter = makeSorter("graph", order: GraphRecord.order)
        var builder = RecordBuilder()
        var counts = FileCounts()
        do {
            try forEachRow(reader, columns, counts: &counts) {
                builder.reset()
                try text(reader, segment, "SEGMENT_ID") { builder.text($0) }
                builder.int64(try integer(reader, seq, "SEQ"))
                ordinal += 1
                builder.int64(ordinal)
                try text(reader, canonical, "CANONICAL_SEGMENT_ID") { builder.text($0) }
                if let timestamp, !reader.isEmpty(timestamp) {
                    builder.int64(try parseTime(reader, timestamp, "TIMESTAMP").microseconds)
                } else {
                    builder.int64(GraphRecord.noTime)
                }
                try builder.withBytes { try sorter.append($0) }
            }
        } catch {
            sorter.close()
            throw error
        }
        return (sorter, counts)
    }

    // MARK: - external_id_mapping_updates

    /// Reads the mapping file into a sorter of ``MappingRecord``s (rule 2's order: type, value, SEQ, ID).
    /// The caller closes the sorter.
    func sortMappings(path: String) throws -> (sorter: ExternalSorter, counts: FileCounts) {
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
        let sorter = makeSorter("mapping", order: MappingRecord.order)
        var builder = RecordBuilder()
        var counts = FileCounts()
        do {
            try forEachRow(reader, columns, counts: &counts) {
                var time: Instant?
                if let timestamp, !reader.isEmpty(timestamp) {
                    time = try parseTime(reader, timestamp, "TIMESTAMP")
                }
                if let receivedAt, !reader.isEmpty(receivedAt) {
                    // Parsed even when TIMESTAMP is set, so a bad RECEIVED_AT is reported, not ignored.
                    let t = try parseTime(reader, receivedAt, "RECEIVED_AT")
                    if time == nil { time = t }
                }
                guard let time else {
                    throw RowProblem(message: "no time: TIMESTAMP and RECEIVED_AT are both empty")
                }
                var removed = false
                if let operation {
                    removed = try reader.withField(operation) { b throws -> Bool in
                        if b.isEmpty || FieldParser.equalsLowercase(b, "created") { return false }
                        if FieldParser.equalsLowercase(b, "removed") { return true }
                        throw RowProblem(
                            message: "__OPERATION is \"\(FieldParser.show(b))\"; expected CREATED, REMOVED or empty")
                    }
                }
                let seqValue = try integer(reader, seq, "SEQ")
                builder.reset()
                try text(reader, type, "EXTERNAL_ID_TYPE") { builder.text($0) }
                try text(reader, value, "EXTERNAL_ID_VALUE") { builder.text($0) }
                builder.int64(seqValue)
                try text(reader, id, "ID") { builder.text($0) }
                ordinal += 1
                builder.int64(ordinal)
                try text(reader, segment, "SEGMENT_ID") { builder.text($0) }
                builder.int64(time.microseconds)
                builder.uint8(removed ? 1 : 0)
                try builder.withBytes { try sorter.append($0) }
            }
        } catch {
            sorter.close()
            throw error
        }
        return (sorter, counts)
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

    /// Reads every data row of `reader`: counts it, reports progress, checks the field count, and turns a
    /// ``RowProblem`` thrown by `body` into the ingest's error, or into a rejects line when there is a rejects file.
    private func forEachRow(
        _ reader: CSVReader, _ columns: ExportColumns, counts: inout FileCounts, _ body: () throws -> Void
    ) throws {
        let total = reader.path.hasSuffix(".gz") ? 0 : FileSystem.size(reader.path)
        while try readRecord(reader) {
            counts.read += 1
            if counts.read & 0xFFFF == 0 { report(reader, rows: counts.read, total: total) }
            do {
                guard reader.fieldCount == columns.count else {
                    throw RowProblem(message: "expected \(columns.count) fields, found \(reader.fieldCount)")
                }
                try body()
            } catch let problem as RowProblem {
                try reject(reader, problem, counts: &counts)
            }
        }
    }

    private func report(_ reader: CSVReader, rows: Int, total: Int64) {
        progress?(IngestProgress(file: reader.path, rows: rows, bytes: reader.bytesRead, totalBytes: total, phase: "read"))
    }

    func makeSorter(_ name: String, order: RecordOrder) -> ExternalSorter {
        ExternalSorter(directory: sortDirectory + "-" + name, order: order)
    }

    // MARK: - Field helpers

    private func text(
        _ reader: CSVReader, _ field: Int, _ name: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) throws {
        try reader.withField(field) { b throws in
            guard !b.isEmpty else { throw RowProblem(message: "\(name) is empty") }
            guard FieldParser.isValidUTF8(b) else { throw RowProblem(message: "\(name) is not valid UTF-8") }
            body(b)
        }
    }

    private func integer(_ reader: CSVReader, _ field: Int, _ name: String) throws -> Int64 {
        try reader.withField(field) { b throws -> Int64 in
            guard let v = FieldParser.int64(b) else {
                if b.isEmpty { throw RowProblem(message: "\(name) is empty") }
                guard FieldParser.isInteger(b) else {
                    throw RowProblem(message: "\(name) is not an integer: \"\(FieldParser.show(b))\"")
                }
                let bound = b.first == 45 ? "smaller than \(Int64.min)" : "larger than \(Int64.max)"
                throw RowProblem(message: "\(name) is out of range: \"\(FieldParser.show(b))\" (\(bound))")
            }
            return v
        }
    }

    private func parseTime(_ reader: CSVReader, _ field: Int, _ name: String) throws -> Instant {
        try reader.withField(field) { b throws -> Instant in
            guard let t = Instant(utf8: b) else {
                throw RowProblem(
                    message: "\(name) is not a time: \"\(FieldParser.show(b))\" (expected YYYY-MM-DD HH:MM:SS[.fraction], "
                        + "T or a space between, then nothing (UTC), Z, UTC, GMT or an offset +HH:MM, +HHMM, +HH; "
                        + "named zones are ambiguous and refused)")
            }
            return t
        }
    }
}

/// The sorted graph records as rows: one per (SEGMENT_ID, SEQ), the one kept (``GraphRecord/less`` puts it first of
/// its key), and, when asked, each segment's parent (rule 1: the CANONICAL_SEGMENT_ID of its highest-SEQ row).
enum GraphWalk {
    /// Calls `row` with each kept row in (SEGMENT_ID, SEQ) order. Returns how many rows were copies of a key already
    /// seen in this input, and (with `parents`) the parent of every segment whose parent is another id.
    static func run(
        _ stream: any RecordStream, parents collect: Bool,
        row: (
            _ segment: UnsafeBufferPointer<UInt8>, _ seq: Int64, _ canonical: UnsafeBufferPointer<UInt8>, _ time: Int64
        ) throws -> Void
    ) throws -> (duplicates: Int, parents: [ByteString: ByteString]) {
        var parents: [ByteString: ByteString] = [:]
        var duplicates = 0
        var previousSegment: [UInt8] = []
        var previousSeq = Int64.min
        var hasPrevious = false
        var previousParent: [UInt8] = []
        func closeSegment() {
            guard collect, hasPrevious, previousSegment != previousParent else { return }
            parents[ByteString(String(decoding: previousSegment, as: UTF8.self))] =
                ByteString(String(decoding: previousParent, as: UTF8.self))
        }
        while let record = try stream.next() {
            var r = RecordReader(record)
            let segment = r.text()
            let seq = r.int64()
            _ = r.int64()
            let canonical = r.text()
            let time = r.int64()
            let sameSegment = hasPrevious && segment.elementsEqual(previousSegment)
            if sameSegment, seq == previousSeq {
                duplicates += 1
                continue
            }
            if !sameSegment {
                closeSegment()
                previousSegment.removeAll(keepingCapacity: true)
                previousSegment.append(contentsOf: segment)
                hasPrevious = true
            }
            previousSeq = seq
            if collect {
                previousParent.removeAll(keepingCapacity: true)
                previousParent.append(contentsOf: canonical)
            }
            try row(segment, seq, canonical, time)
        }
        closeSegment()
        return (duplicates, parents)
    }
}
