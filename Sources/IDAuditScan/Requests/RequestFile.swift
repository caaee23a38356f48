import IDAuditCSV
import IDAuditCore

/// One line of a deletion request file: an identifier a user wants deleted.
public struct DeletionRequest: Sendable, Equatable {
    /// The 1-based line the request starts on.
    public var line: Int
    /// The identifier type.
    public var type: String
    /// The identifier value.
    public var value: String
    /// Any segment id of the profile the user means (merged or canonical), when given.
    public var segmentID: String?
    /// The user's note, kept in plan.json.
    public var note: String?

    /// Creates a request.
    public init(line: Int, type: String, value: String, segmentID: String? = nil, note: String? = nil) {
        self.line = line
        self.type = type
        self.value = value
        self.segmentID = segmentID
        self.note = note
    }
}

/// A request file that cannot be read, or a bad line in it: `file:line: what is wrong`.
public typealias RequestFileError = FileLineError

/// Reads request CSV files: a header with `type` and `value` (any case, any order), optional `segment_id` and `note`;
/// other columns are ignored; quoting as in an export; `.csv.gz` accepted.
public enum RequestFile {
    /// Reads every request, or throws at the first bad line unless `rejectsPath` is given: then bad lines go there
    /// (`file,line,reason,record`) and the rest is returned with the count of rejected lines.
    public static func read(path: String, rejectsPath: String?) throws -> (requests: [DeletionRequest], rejected: Int) {
        let reader: CSVReader
        do {
            reader = try CSVReader(path: path)
        } catch {
            throw RequestFileError(file: path, line: 0, message: error.message)
        }
        func next() throws -> Bool {
            do {
                return try reader.next()
            } catch let error as CSVError {
                throw RequestFileError(file: error.path, line: error.line, message: error.message)
            }
        }
        guard try next() else { throw RequestFileError(file: path, line: 1, message: "empty file: no header row") }
        var positions: [String: Int] = [:]
        for (i, name) in reader.allFields().enumerated() {
            let key = name.trimmingCharacters(in: " \t").lowercased()
            if positions[key] == nil { positions[key] = i }
        }
        let width = reader.fieldCount
        guard let typeColumn = positions["type"], let valueColumn = positions["value"] else {
            let missing = positions["type"] == nil ? "type" : "value"
            throw RequestFileError(
                file: path, line: 1, message: "missing required column \(missing) (the header needs type and value)")
        }
        let segmentColumn = positions["segment_id"]
        let noteColumn = positions["note"]
        let rejects = try rejectsPath.map { rejectsPath throws -> OutputFile in
            let file = try OutputFile(path: rejectsPath)
            try file.writeCSVRecord(["file", "line", "reason", "record"])
            return file
        }
        var requests: [DeletionRequest] = []
        var rejected = 0
        while try next() {
            func field(_ i: Int, _ name: String) throws -> String {
                guard let text = reader.string(at: i) else { throw RequestFileError(file: path, line: reader.line, message: "\(name) is not valid UTF-8") }
                return text
            }
            do {
                guard reader.fieldCount == width else {
                    throw RequestFileError(
                        file: path, line: reader.line, message: "expected \(width) fields, found \(reader.fieldCount)")
                }
                let type = try field(typeColumn, "type")
                let value = try field(valueColumn, "value")
                guard !type.isEmpty else { throw RequestFileError(file: path, line: reader.line, message: "type is empty") }
                guard !value.isEmpty else { throw RequestFileError(file: path, line: reader.line, message: "value is empty") }
                let segment = try segmentColumn.map { try field($0, "segment_id") }.flatMap { $0.isEmpty ? nil : $0 }
                let note = try noteColumn.map { try field($0, "note") }.flatMap { $0.isEmpty ? nil : $0 }
                requests.append(DeletionRequest(line: reader.line, type: type, value: value, segmentID: segment, note: note))
            } catch let error as RequestFileError {
                guard let rejects else { throw error }
                rejected += 1
                try rejects.writeCSVRecord([path, String(reader.line), error.message, reader.rawRecord()])
            }
        }
        try rejects?.commit()
        return (requests, rejected)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
