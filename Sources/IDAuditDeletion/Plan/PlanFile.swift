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

    /// Lines that name an identifier (type and value) an earlier line already names, with that earlier line: the
    /// second request would be answered not-found (Segment) or address the same user again (Insider One).
    public func duplicates() -> [(line: Int, first: Int, type: String)] {
        var seen: [PlanKey: Int] = [:]
        var out: [(line: Int, first: Int, type: String)] = []
        for entry in entries {
            let key = PlanKey(type: entry.type, value: entry.value)
            if let first = seen[key] {
                out.append((entry.line, first, entry.type))
            } else {
                seen[key] = entry.line
            }
        }
        return out
    }

    /// Refuses a plan that names an identifier twice, naming the lines (never the values: they are personal data).
    public func checkNoDuplicates() throws(PlanFileError) {
        let repeated = duplicates()
        guard let one = repeated.first else { return }
        let listed = repeated.prefix(10).map { "line \($0.line) repeats line \($0.first) (\($0.type))" }
        throw PlanFileError(
            file: path, line: one.line,
            message: "\(repeated.count) line(s) name an identifier an earlier line names: "
                + listed.joined(separator: ", ") + (repeated.count > 10 ? ", ..." : "")
                + "; a plan names each identifier once (the second request would find it gone): write the plan "
                + "again without them")
    }

    private struct PlanKey: Hashable {
        var type: String
        var value: String
    }

    /// Reads and checks a plan. The file is read once: the sha256 an approval names and the lines that are sent
    /// come from the same bytes, so a file replaced between the two can never slip new lines under an approval.
    ///
    /// The header must hold every column of ``PlanLine/csvColumns``; every record must have exactly the header's
    /// fields, a type, a value, `remediable` of `true` or `false`, and the same `generated_at` and `rules_sha256`
    /// as every other record.
    public static func read(path: String) throws(PlanFileError) -> PlanFile {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path: path)
        } catch {
            throw PlanFileError(file: path, line: 0, message: error.message)
        }
        return try parse(bytes: bytes, path: path)
    }

    /// Parses a plan's bytes (see ``read(path:)``).
    public static func parse(bytes: [UInt8], path: String) throws(PlanFileError) -> PlanFile {
        let sha256 = SHA256Digest.hex(of: bytes)
        let reader = CSVReader(source: MemoryByteSource(bytes), path: path)
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
        var entries: [PlanEntry] = []
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
            entries.append(
                PlanEntry(
                    line: entries.count + 1, segmentID: field(0), type: type, value: value, reason: field(3),
                    lookupUserID: field(5), remediable: remediable))
        }
        return PlanFile(path: path, sha256: sha256, entries: entries, stamp: stamp)
    }
}
