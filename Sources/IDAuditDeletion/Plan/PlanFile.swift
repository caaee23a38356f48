import IDAuditCSV
import IDAuditCore

#if canImport(Glibc)
    import Glibc
#endif

/// One line of an approved plan, as `apply` needs it.
package struct PlanEntry: Sendable, Equatable {
    /// The record's 1-based position among the plan's lines (the header is not counted): the journal's key.
    package var line: Int
    /// The canonical profile.
    package var segmentID: String
    /// The identifier type.
    package var type: String
    /// The identifier value.
    package var value: String
    /// Why the identifier is in the plan (`blocked`, `limit`, `requested`).
    package var reason: String
    /// The profile's lookup user_id (empty when it has none).
    package var lookupUserID: String
    /// Whether Segment's delete API can address the line.
    package var remediable: Bool
    /// Other lines of the file this entry's request stands for (an erase batch: its users after the first), which
    /// the journal records with it, so that a resumed run is keyed by user, whatever the batching.
    package var covers: [Int] = []

    /// Creates an entry.
    package init(
        line: Int, segmentID: String, type: String, value: String, reason: String, lookupUserID: String,
        remediable: Bool
    ) {
        self.line = line
        self.segmentID = segmentID
        self.type = type
        self.value = value
        self.reason = reason
        self.lookupUserID = lookupUserID
        self.remediable = remediable
    }
}

/// A plan that cannot be read, or a bad line in it: `file:line: what is wrong`.
package typealias PlanFileError = FileLineError

/// A plan's lines, read in order: what ``ApplyEngine`` runs. ``PlanFile`` holds them in memory (an erase file's
/// batches, `verify`, tests); ``PlanSnapshot`` reads them from a private copy of the file as they are sent, so that a
/// 1 M-line plan costs no memory.
package protocol PlanLines: Sendable {
    /// Where the plan was read from.
    var path: String { get }
    /// The sha256 of the file's bytes (hex): what an approval names.
    var sha256: String { get }
    /// How many lines it has.
    var lineCount: Int { get }
    /// When and with which rules the plan was made (nil for a plan with no lines).
    var stamp: PlanStamp? { get }
    /// A reader of its lines from the first, in order.
    func cursor() throws(PlanFileError) -> any PlanCursor
}

/// Reads a plan's lines one at a time.
package protocol PlanCursor: AnyObject {
    /// The next line, nil after the last.
    func next() throws(PlanFileError) -> PlanEntry?
}

extension PlanLines {
    /// Visits every line in order.
    package func forEach(_ visit: (PlanEntry) throws -> Void) throws {
        let lines = try cursor()
        while let entry = try lines.next() { try visit(entry) }
    }
}

/// A `plan.csv` as written by `scan` or `request-plan`, with the sha256 of its bytes, held in memory.
package struct PlanFile: PlanLines {
    /// Where it was read from.
    package var path: String
    /// The sha256 of the file's bytes (hex): what an approval names.
    package var sha256: String
    /// Its lines, in file order.
    package var entries: [PlanEntry]
    /// When and with which rules the plan was made, from its own records (nil for a plan with no lines).
    package var stamp: PlanStamp?

    /// Creates a plan from its parts (an erase file's batches, tests).
    package init(path: String, sha256: String, entries: [PlanEntry], stamp: PlanStamp? = nil) {
        self.path = path
        self.sha256 = sha256
        self.entries = entries
        self.stamp = stamp
    }

    package var lineCount: Int { entries.count }

    package func cursor() -> any PlanCursor { ArrayCursor(entries) }

    private final class ArrayCursor: PlanCursor {
        private let entries: [PlanEntry]
        private var position = 0
        init(_ entries: [PlanEntry]) { self.entries = entries }
        func next() -> PlanEntry? {
            guard position < entries.count else { return nil }
            defer { position += 1 }
            return entries[position]
        }
    }

    /// Refuses a plan that names an identifier twice, naming the lines (never the values: they are personal data).
    package func checkNoDuplicates() throws(PlanFileError) {
        var finder = DuplicateFinder()
        for entry in entries { finder.add(entry) }
        try finder.check(path: path)
    }

    /// Reads and checks a plan into memory. The file is read once: the sha256 an approval names and the lines that
    /// are sent come from the same bytes, so a file replaced between the two can never slip new lines under an
    /// approval.
    ///
    /// The header must hold every column of ``PlanLine/csvColumns``; every record must have exactly the header's
    /// fields, a type, a value, `remediable` of `true` or `false`, and the same `generated_at` and `rules_sha256`
    /// as every other record.
    package static func read(path: String) throws(PlanFileError) -> PlanFile {
        var entries: [PlanEntry] = []
        let summary = try stream(path: path) { entries.append($0) }
        return PlanFile(path: path, sha256: summary.sha256, entries: entries, stamp: summary.stamp)
    }

    /// Reads and checks a plan as ``read(path:)`` does, in constant memory: each entry goes to `visit` and is not
    /// kept; the sha256 is of the very bytes parsed (hashed as they are read).
    package static func stream(path: String, visit: (PlanEntry) throws(PlanFileError) -> Void) throws(PlanFileError)
        -> PlanSummary
    {
        let source: HashingByteSource
        do {
            source = HashingByteSource(try FileByteSource(path: path))
        } catch {
            throw PlanFileError(file: path, line: 0, message: error.message)
        }
        let parser = try PlanParser(source: source, path: path)
        while let entry = try parser.next() { try visit(entry) }
        var summary = parser.summary
        summary.sha256 = source.finalizeHex()
        return summary
    }

    /// Parses a plan's bytes (see ``read(path:)``).
    package static func parse(bytes: [UInt8], path: String) throws(PlanFileError) -> PlanFile {
        let parser = try PlanParser(source: MemoryByteSource(bytes), path: path)
        var entries: [PlanEntry] = []
        while let entry = try parser.next() { entries.append(entry) }
        return PlanFile(path: path, sha256: SHA256Digest.hex(of: bytes), entries: entries, stamp: parser.summary.stamp)
    }
}

/// A plan checked and copied, as one pass over its bytes, into a private file (created and unlinked at once in the
/// state folder: no other process can open it, and it goes when the process ends): its lines are then read from that
/// copy as they are sent. The bytes hashed, the bytes checked and the bytes sent are the same, whatever happens to
/// the plan meanwhile, and a 1 M-line plan starts sending in seconds and costs no memory.
package final class PlanSnapshot: PlanLines, @unchecked Sendable {
    package let path: String
    package let sha256: String
    package let lineCount: Int
    package let stamp: PlanStamp?
    /// How many lines are remediable.
    package let remediable: Int
    private let fd: Int32

    /// Reads, checks and copies the plan at `path` (see ``PlanFile/read(path:)``; a plan naming an identifier twice
    /// is refused too) into a private file in `directory`.
    package init(path: String, directory: String) throws(PlanFileError) {
        self.path = path
        let copy: CopyingByteSource
        do {
            copy = try CopyingByteSource(HashingByteSource(try FileByteSource(path: path)), directory: directory)
        } catch {
            throw PlanFileError(file: path, line: 0, message: error.message)
        }
        let parser = try PlanParser(source: copy, path: path)
        var duplicates = DuplicateFinder()
        while let entry = try parser.next() { duplicates.add(entry) }
        try duplicates.check(path: path)
        do {
            try copy.finish()
        } catch {
            throw PlanFileError(file: path, line: 0, message: error.message)
        }
        fd = copy.fd
        sha256 = copy.inner.finalizeHex()
        lineCount = parser.summary.lines
        remediable = parser.summary.remediable
        stamp = parser.summary.stamp
    }

    deinit { close(fd) }

    package func cursor() throws(PlanFileError) -> any PlanCursor {
        try PlanParser(source: OffsetByteSource(fd: fd, path: path), path: path)
    }
}

/// Reads a plan's records one at a time, checking each (see ``PlanFile/read(path:)``).
final class PlanParser: PlanCursor {
    private let reader: CSVReader
    private let path: String
    private let columns: [Int]
    private let headerCount: Int
    private var rawStamp: (generated: String, rules: String)?
    /// What was read so far.
    private(set) var summary = PlanSummary()

    init(source: any ByteSource, path: String) throws(PlanFileError) {
        self.path = path
        reader = CSVReader(source: source, path: path)
        guard try Self.next(reader, path) else {
            throw PlanFileError(file: path, line: 1, message: "empty file: no header")
        }
        let header = reader.allFields()
        headerCount = header.count
        var positions: [String: Int] = [:]
        for (index, name) in header.enumerated() where positions[name.lowercased()] == nil {
            positions[name.lowercased()] = index
        }
        var columns: [Int] = []
        for name in PlanLine.requiredColumns + PlanStamp.columns {
            guard let index = positions[name] else {
                let hint =
                    PlanStamp.columns.contains(name)
                    ? "the plan was written by an older idaudit, which did not stamp its plans: scan again"
                    : "a plan.csv starts with " + PlanLine.csvColumns.joined(separator: ",")
                throw PlanFileError(file: path, line: 1, message: "not a plan: missing column \(name) (\(hint))")
            }
            columns.append(index)
        }
        self.columns = columns
    }

    private static func next(_ reader: CSVReader, _ path: String) throws(PlanFileError) -> Bool {
        do {
            return try reader.next()
        } catch let error as CSVError {
            throw PlanFileError(file: path, line: error.line, message: error.message)
        } catch let error as InputError {
            // A read (or, for a snapshot, a copy) that failed: the file it names, at no line of the plan.
            throw PlanFileError(file: error.path, line: 0, message: error.message)
        } catch {
            throw PlanFileError(file: path, line: reader.line, message: "\(error)")
        }
    }

    func next() throws(PlanFileError) -> PlanEntry? {
        guard try Self.next(reader, path) else {
            return nil
        }
        let line = reader.line
        guard reader.fieldCount == headerCount else {
            throw PlanFileError(
                file: path, line: line, message: "\(reader.fieldCount) fields; the header has \(headerCount) columns")
        }
        func field(_ i: Int) -> String { reader.string(at: columns[i]) ?? "" }
        let type = field(1)
        let value = field(2)
        guard !type.isEmpty else { throw PlanFileError(file: path, line: line, message: "type is empty") }
        guard !value.isEmpty else { throw PlanFileError(file: path, line: line, message: "value is empty") }
        let remediable: Bool
        switch field(6) {
        case "true": remediable = true
        case "false": remediable = false
        case let other:
            throw PlanFileError(file: path, line: line, message: "remediable is \"\(other)\"; expected true or false")
        }
        // One plan comes from one scan: every line carries the first line's stamp (compared as text; parsed once).
        let generated = field(7)
        let rules = field(8)
        if let rawStamp {
            if rawStamp.generated != generated || rawStamp.rules != rules {
                let first = summary.stamp.map { "\($0.generatedAt), \($0.rulesSHA256.prefix(12))" } ?? ""
                throw PlanFileError(
                    file: path, line: line,
                    message: "generated_at and rules_sha256 differ from the first line's (\(first)): one plan comes "
                        + "from one scan; lines from several scans were put together")
            }
        } else {
            guard let time = Instant(parsing: generated) else {
                throw PlanFileError(file: path, line: line, message: "generated_at \"\(generated)\" is not a time")
            }
            rawStamp = (generated, rules)
            summary.stamp = PlanStamp(generatedAt: time, rulesSHA256: rules)
        }
        summary.lines += 1
        if remediable { summary.remediable += 1 }
        return PlanEntry(
            line: summary.lines, segmentID: field(0), type: type, value: value, reason: field(3),
            lookupUserID: field(5), remediable: remediable)
    }
}

/// What one pass over a plan found.
package struct PlanSummary: Sendable {
    /// The sha256 of the bytes parsed.
    package var sha256 = ""
    /// Lines in the plan.
    package var lines = 0
    /// Of those, remediable.
    package var remediable = 0
    /// The plan's stamp (nil for a plan with no lines).
    package var stamp: PlanStamp?

    /// An empty summary.
    package init() {}

    /// A summary of known parts.
    package init(sha256: String, lines: Int, remediable: Int, stamp: PlanStamp?) {
        self.sha256 = sha256
        self.lines = lines
        self.remediable = remediable
        self.stamp = stamp
    }
}

/// Finds lines that name an identifier (type and value) an earlier line names, in one pass, keeping 128 bits per
/// line (two differently salted hashes), not the values: a 1 M-line plan costs tens of MB, not its size.
package struct DuplicateFinder {
    private struct Key: Hashable {
        var a: Int
        var b: Int
    }
    private var seen: [Key: Int32] = [:]
    /// The repeated lines, with the line they repeat and their type, in plan order.
    package private(set) var repeated: [(line: Int, first: Int, type: String)] = []

    /// An empty finder.
    package init() {}

    /// Adds one entry.
    package mutating func add(_ entry: PlanEntry) {
        if let first = earlierLine(type: entry.type, value: entry.value) {
            if repeated.count < 1000 { repeated.append((entry.line, first, entry.type)) }
        } else {
            remember(type: entry.type, value: entry.value, line: entry.line)
        }
    }

    /// The line remembered as naming (`type`, `value`), if any.
    package func earlierLine(type: String, value: String) -> Int? {
        seen[Self.key(type, value)].map(Int.init)
    }

    /// Remembers `line` as naming (`type`, `value`) (a line named earlier stays the one remembered).
    package mutating func remember(type: String, value: String, line: Int) {
        let key = Self.key(type, value)
        if seen[key] == nil { seen[key] = Int32(truncatingIfNeeded: line) }
    }

    private static func key(_ type: String, _ value: String) -> Key {
        var h1 = Hasher()
        h1.combine(0x5EED_0001)
        h1.combine(type)
        h1.combine(value)
        var h2 = Hasher()
        h2.combine(0x5EED_0002)
        h2.combine(value)
        h2.combine(type)
        return Key(a: h1.finalize(), b: h2.finalize())
    }

    /// Refuses a plan with repeated lines, naming them (never the values: they are personal data).
    package func check(path: String) throws(PlanFileError) {
        guard let one = repeated.first else { return }
        let listed = repeated.prefix(10).map { "line \($0.line) repeats line \($0.first) (\($0.type))" }
        throw PlanFileError(
            file: path, line: one.line,
            message: "\(repeated.count >= 1000 ? "1,000 or more" : String(repeated.count)) line(s) name an identifier "
                + "an earlier line names: " + listed.joined(separator: ", ") + (repeated.count > 10 ? ", ..." : "")
                + "; a plan names each identifier once (the second request would find it gone): write the plan "
                + "again without them")
    }
}

/// A byte source that hashes every byte it hands out: the sha256 of exactly the bytes parsed.
final class HashingByteSource: ByteSource {
    private let inner: any ByteSource
    private var digest = SHA256Digest()

    init(_ inner: any ByteSource) { self.inner = inner }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = try inner.read(into: buffer)
        if n > 0 { digest.update(UnsafeRawBufferPointer(rebasing: buffer[..<n])) }
        return n
    }

    /// The sha256 so far, hex.
    func finalizeHex() -> String { digest.finalizeHex() }
}

/// A byte source that writes every byte it hands out to a private file (created in `directory` and unlinked at
/// once): the copy a ``PlanSnapshot`` reads its lines from.
final class CopyingByteSource: ByteSource {
    let inner: HashingByteSource
    let fd: Int32
    private let directory: String

    init(_ inner: HashingByteSource, directory: String) throws(InputError) {
        self.inner = inner
        self.directory = directory
        var template = Array((directory + "/.plan-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw InputError(
                path: directory, message: "cannot make the plan's private copy: \(String(cString: strerror(errno)))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.fd = fd
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = try inner.read(into: buffer)
        var written = 0
        while written < n {
            let w = write(fd, buffer.baseAddress! + written, n - written)
            if w < 0 && errno == EINTR { continue }
            guard w > 0 else {
                throw InputError(
                    path: directory, message: "cannot copy the plan aside here: \(String(cString: strerror(errno)))")
            }
            written += w
        }
        return n
    }

    /// Reads what the parser left unread (nothing, for a well-formed plan), so that the hash covers the whole file.
    func finish() throws(InputError) {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)
        defer { scratch.deallocate() }
        while try read(into: scratch) > 0 {}
    }
}

/// Reads a file descriptor from its start, with offsets of its own (several cursors may read one copy).
final class OffsetByteSource: ByteSource {
    private let fd: Int32
    private let path: String
    private var offset: off_t = 0

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = pread(fd, base, buffer.count, offset)
            if n >= 0 {
                offset += off_t(n)
                return n
            }
            if errno == EINTR { continue }
            throw InputError(path: path, message: "read failed: \(String(cString: strerror(errno)))")
        }
    }
}
