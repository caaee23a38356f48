#if canImport(Glibc)
    import Glibc
#endif
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

    /// Reads and checks a plan: the header must hold the plan's required columns; every line must have a type, a
    /// value and `remediable` of `true` or `false`.
    public static func read(path: String) throws(PlanFileError) -> PlanFile {
        let sha256 = try digest(path: path)
        let reader: CSVReader
        do {
            reader = try CSVReader(path: path)
        } catch {
            throw PlanFileError(file: path, line: 0, message: error.message)
        }
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
        var positions: [String: Int] = [:]
        for (index, name) in reader.allFields().enumerated() where positions[name.lowercased()] == nil {
            positions[name.lowercased()] = index
        }
        var columns: [Int] = []
        for name in PlanLine.requiredColumns {
            guard let index = positions[name] else {
                throw PlanFileError(
                    file: path, line: 1,
                    message: "not a plan: missing column \(name) (a plan.csv starts with "
                        + PlanLine.requiredColumns.joined(separator: ",") + ")")
            }
            columns.append(index)
        }
        var entries: [PlanEntry] = []
        while try next() {
            let line = reader.line
            func field(_ i: Int) -> String { reader.string(at: columns[i]) ?? "" }
            guard reader.fieldCount > columns.max() ?? 0 else {
                throw PlanFileError(
                    file: path, line: line, message: "\(reader.fieldCount) fields; the header has more columns")
            }
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
            entries.append(
                PlanEntry(
                    line: entries.count + 1, segmentID: field(0), type: type, value: value, reason: field(3),
                    lookupUserID: field(5), remediable: remediable))
        }
        return PlanFile(path: path, sha256: sha256, entries: entries)
    }

    /// The sha256 of a file's bytes, streamed.
    public static func digest(path: String) throws(PlanFileError) -> String {
        guard let file = fopen(path, "rb") else {
            throw PlanFileError(file: path, line: 0, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var hasher = SHA256Digest()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n > 0 { hasher.update(buffer[0..<n]) }
            if n < buffer.count {
                if ferror(file) != 0 {
                    throw PlanFileError(file: path, line: 0, message: "read error: \(String(cString: strerror(errno)))")
                }
                break
            }
        }
        return hasher.finalizeHex()
    }
}
