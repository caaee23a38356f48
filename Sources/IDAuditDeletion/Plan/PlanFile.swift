import IDAuditCSV
import IDAuditCore

/// One line of an approved plan, as `apply` needs it.
public struct PlanEntry: Sendable, Equatable {
    /// The record's 1-based position among the plan's lines (the header is not counted): the journal's key.
    public var line: Int
    /// The canonical profile.
    public var segmentID: String
    /// The identifier type.
    public var type: String
    /// The identifier value.
    public var value: String
    /// Why the identifier is in the plan (`blocked`, `limit`, `requested`).
    public var reason: String
    /// The profile's lookup user_id (empty when it has none).
    public var lookupUserID: String
    /// Whether Segment's delete API can address the line.
    public var remediable: Bool
    /// Other lines of the file this entry's request stands for (an erase batch: its users after the first), which
    /// the journal records with it, so that a resumed run is keyed by user, whatever the batching.
    public var covers: [Int] = []

    /// Creates an entry.
    public init(
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
public typealias PlanFileError = FileLineError

/// A `plan.csv` as written by `scan` or `request-plan`, with the sha256 of its bytes.
public struct PlanFile: Sendable {
    /// Where it was read from.
    public var path: String
    /// The sha256 of the file's bytes (hex): what an approval names.
    public var sha256: String
    /// Its lines, in file order.
    public var entries: [PlanEntry]
    /// When and with which rules the plan was made, from its own records (nil for a plan with no lines).
    public var stamp: PlanStamp?

    /// Creates a plan from its parts (an erase file's batches, tests).
    public init(path: String, sha256: String, entries: [PlanEntry], stamp: PlanStamp? = nil) {
        self.path = path
        self.sha256 = sha256
        self.entries = entries
        self.stamp = stamp
    }

    /// Refuses a plan that names an identifier twice, naming the lines (never the values: they are personal data).
    public func checkNoDuplicates() throws(PlanFileError) {
        var finder = DuplicateFinder()
        for entry in entries { finder.add(entry) }
        try finder.check(path: path)
    }

    /// Reads and checks a plan. The file is read once: the sha256 an approval names and the lines that are sent
    /// come from the same bytes, so a file replaced between the two can never slip new lines under an approval.
    ///
    /// The header must hold every column of ``PlanLine/csvColumns``; every record must have exactly the header's
    /// fields, a type, a value, `remediable` of `true` or `false`, and the same `generated_at` and `rules_sha256`
    /// as every other record.
    public static func read(path: String) throws(PlanFileError) -> PlanFile {
        var entries: [PlanEntry] = []
        let summary = try stream(path: path) { entries.append($0) }
        return PlanFile(path: path, sha256: summary.sha256, entries: entries, stamp: summary.stamp)
    }

    /// Reads and checks a plan as ``read(path:)`` does, in constant memory: each entry goes to `visit` and is not
    /// kept; the sha256 is of the very bytes parsed (hashed as they are read).
    public static func stream(path: String, visit: (PlanEntry) throws(PlanFileError) -> Void) throws(PlanFileError)
        -> PlanSummary
    {
        let source: HashingByteSource
        do {
            source = HashingByteSource(try FileByteSource(path: path))
        } catch {
            throw PlanFileError(file: path, line: 0, message: error.message)
        }
        var summary = try parse(source: source, path: path, visit: visit)
        summary.sha256 = source.finalizeHex()
        return summary
    }

    /// Parses a plan's bytes (see ``read(path:)``).
    public static func parse(bytes: [UInt8], path: String) throws(PlanFileError) -> PlanFile {
        var entries: [PlanEntry] = []
        var summary = try parse(source: MemoryByteSource(bytes), path: path) { entries.append($0) }
        summary.sha256 = SHA256Digest.hex(of: bytes)
        return PlanFile(path: path, sha256: summary.sha256, entries: entries, stamp: summary.stamp)
    }

    private static func parse(
        source: any ByteSource, path: String, visit: (PlanEntry) throws(PlanFileError) -> Void
    ) throws(PlanFileError) -> PlanSummary {
        let reader = CSVReader(source: source, path: path)
        func next() throws(PlanFileError) -> Bool {
            do {
                return try reader.next()
            } catch let error as CSVError {
                throw PlanFileError(file: path, line: error.line, message: error.message)
            } catch {
                throw PlanFileError(file: path, line: reader.line, message: "\(error)")
            }
        }
        guard try next() else { throw PlanFileError(file: path, line: 1, message: "empty file: no header") }
        let header = reader.allFields()
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
        var summary = PlanSummary()
        var stamp: PlanStamp?
        while try next() {
            let line = reader.line
            guard reader.fieldCount == header.count else {
                throw PlanFileError(
                    file: path, line: line,
                    message: "\(reader.fieldCount) fields; the header has \(header.count) columns")
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
                throw PlanFileError(
                    file: path, line: line, message: "remediable is \"\(other)\"; expected true or false")
            }
            let generated = field(7)
            guard let time = Instant(parsing: generated) else {
                throw PlanFileError(file: path, line: line, message: "generated_at \"\(generated)\" is not a time")
            }
            let lineStamp = PlanStamp(generatedAt: time, rulesSHA256: field(8))
            if let stamp, stamp != lineStamp {
                throw PlanFileError(
                    file: path, line: line,
                    message: "generated_at and rules_sha256 differ from the first line's (\(stamp.generatedAt), "
                        + "\(stamp.rulesSHA256.prefix(12))): one plan comes from one scan; lines from several scans "
                        + "were put together")
            }
            stamp = lineStamp
            summary.lines += 1
            if remediable { summary.remediable += 1 }
            try visit(
                PlanEntry(
                    line: summary.lines, segmentID: field(0), type: type, value: value, reason: field(3),
                    lookupUserID: field(5), remediable: remediable))
        }
        summary.stamp = stamp
        return summary
    }
}

/// What one pass over a plan found.
public struct PlanSummary: Sendable {
    /// The sha256 of the bytes parsed.
    public var sha256 = ""
    /// Lines in the plan.
    public var lines = 0
    /// Of those, remediable.
    public var remediable = 0
    /// The plan's stamp (nil for a plan with no lines).
    public var stamp: PlanStamp?

    /// An empty summary.
    public init() {}

    /// A summary of known parts.
    public init(sha256: String, lines: Int, remediable: Int, stamp: PlanStamp?) {
        self.sha256 = sha256
        self.lines = lines
        self.remediable = remediable
        self.stamp = stamp
    }
}

/// Finds lines that name an identifier (type and value) an earlier line names, in one pass, keeping 128 bits per
/// line (two differently salted hashes), not the values: a 1 M-line plan costs tens of MB, not its size.
public struct DuplicateFinder {
    private struct Key: Hashable {
        var a: Int
        var b: Int
    }
    private var seen: [Key: Int32] = [:]
    /// The repeated lines, with the line they repeat and their type, in plan order.
    public private(set) var repeated: [(line: Int, first: Int, type: String)] = []

    /// An empty finder.
    public init() {}

    /// Adds one entry.
    public mutating func add(_ entry: PlanEntry) {
        var h1 = Hasher()
        h1.combine(0x5EED_0001)
        h1.combine(entry.type)
        h1.combine(entry.value)
        var h2 = Hasher()
        h2.combine(0x5EED_0002)
        h2.combine(entry.value)
        h2.combine(entry.type)
        let key = Key(a: h1.finalize(), b: h2.finalize())
        if let first = seen[key] {
            if repeated.count < 1000 { repeated.append((entry.line, Int(first), entry.type)) }
        } else {
            seen[key] = Int32(truncatingIfNeeded: entry.line)
        }
    }

    /// Refuses a plan with repeated lines, naming them (never the values: they are personal data).
    public func check(path: String) throws(PlanFileError) {
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
