/// A problem with an export being ingested: names the file, the line and what is wrong.
public struct IngestError: Error, Sendable, CustomStringConvertible {
    /// Broad classes of ingest problems.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case missingFile, missingColumn, malformedRow, malformedCSV, mergeCycle, io
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A required export file is not in the folder.
        public static let missingFile = Code(.missingFile)
        /// The header lacks a required column.
        public static let missingColumn = Code(.missingColumn)
        /// A row has a bad value or the wrong number of fields.
        public static let malformedRow = Code(.malformedRow)
        /// The file is not valid CSV (an unterminated quote, ...).
        public static let malformedCSV = Code(.malformedCSV)
        /// `id_graph_updates` loops back on itself.
        public static let mergeCycle = Code(.mergeCycle)
        /// Reading or writing failed.
        public static let io = Code(.io)

        public var description: String { wrapped.rawValue }
    }

    /// What kind of problem.
    public var code: Code
    /// The file (empty when the problem is not in one file).
    public var file: String
    /// The 1-based line, 0 when the problem is not on one line.
    public var line: Int
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(code: Code, file: String, line: Int, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if file.isEmpty { return message }
        return line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}
