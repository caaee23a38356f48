// MARK: - RulesError

/// A rules file that cannot be read or does not follow the format, with the place to fix it.
///
/// The description reads `file:line: key: message`, for example
/// `rules.yaml:4: identifiers.email.frequency: unknown frequency "hourly"; expected one of ever, daily, weekly,
/// monthly, annually`. The key path joins mapping keys with `.` and writes list positions as `[n]`, counted from 0
/// as in jq and JSONPath.
package struct RulesError: Error, CustomStringConvertible, Sendable {
    /// What kind of problem the file has, for callers that react to some kinds differently.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case unreadableFile = "unreadable file"
            case invalidEncoding = "invalid encoding"
            case invalidYAML = "invalid YAML"
            case wrongKind = "wrong kind of node"
            case unknownKey = "unknown key"
            case missingKey = "missing key"
            case duplicateKey = "duplicate key"
            case emptyValue = "empty value"
            case invalidLimit = "invalid limit"
            case unknownFrequency = "unknown frequency"
            case invalidPattern = "invalid pattern"
            case invalidEntry = "invalid entry"
        }

        private var wrapped: Wrapped

        private init(_ wrapped: Wrapped) {
            self.wrapped = wrapped
        }

        /// The file does not exist or cannot be read.
        package static var unreadableFile: Self { Self(.unreadableFile) }
        /// The file is not valid UTF-8.
        package static var invalidEncoding: Self { Self(.invalidEncoding) }
        /// The file is not valid YAML (the YAML parser's own complaint).
        package static var invalidYAML: Self { Self(.invalidYAML) }
        /// A list where a mapping is expected, a mapping where a value is expected, and so on.
        package static var wrongKind: Self { Self(.wrongKind) }
        /// A key the format does not define, at any level.
        package static var unknownKey: Self { Self(.unknownKey) }
        /// A required key is absent: `limit` in a limit, `type` or `value` in a protected entry.
        package static var missingKey: Self { Self(.missingKey) }
        /// The same key twice in one mapping, such as an identifier type listed twice.
        package static var duplicateKey: Self { Self(.duplicateKey) }
        /// An empty value, type or pattern where text is required.
        package static var emptyValue: Self { Self(.emptyValue) }
        /// A limit that is negative, not a whole number, or too large.
        package static var invalidLimit: Self { Self(.invalidLimit) }
        /// A frequency other than `ever`, `daily`, `weekly`, `monthly`, `annually`.
        package static var unknownFrequency: Self { Self(.unknownFrequency) }
        /// A blocked pattern that is not a valid ICU regular expression.
        package static var invalidPattern: Self { Self(.invalidPattern) }
        /// A blocked entry with neither or both of `value` and `pattern`.
        package static var invalidEntry: Self { Self(.invalidEntry) }

        /// The kind in words, such as `unknown key`.
        package var description: String { wrapped.rawValue }
    }

    /// What kind of problem this is.
    package var code: Code
    /// The rules file, as the caller named it.
    package var file: String
    /// The 1-based line the problem is on; nil when it concerns the whole file (it cannot be read).
    package var line: Int?
    /// The key path of the offending entry, such as `identifiers.email.frequency` or `blocked[2].pattern`; nil when
    /// the problem is not tied to one entry (YAML syntax, the file as a whole).
    package var key: String?
    /// What is wrong and, where it helps, how to fix it.
    package var message: String

    /// Creates an error.
    package init(code: Code, file: String, line: Int?, key: String?, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `file:line: key: message`, leaving out the line or key when there is none.
    package var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key, !key.isEmpty { text += "\(key): " }
        return text + message
    }
}
