import Foundation
import IDAuditCore

// MARK: - RulesLoader

/// Reads rules files: identifier limits, blocked values and protected identifiers, written in YAML.
///
/// The format, in full:
/// ```yaml
/// default: {limit: 5, frequency: ever}      # optional: types without an entry of their own
/// identifiers:
///   user_id: {limit: 1}                     # frequency: ever (the default) | daily | weekly | monthly | annually
///   anonymous_id: {limit: 5, frequency: weekly}
/// blocked:                                  # values that are never acceptable
///   - value: "null"                         # exact match
///   - pattern: "^[0-]*$"                    # regular expression (ICU syntax), unanchored search
///     types: [user_id, phone]               # optional: the entry applies to these types only
/// protected:                                # never proposed for deletion
///   - {type: email, value: ceo@example.com}
/// ```
/// A type with no entry of its own and no `default` has no limit. Values and types are literal text matched exactly:
/// unquoted `value: null` and `value: -1` are the texts `null` and `-1`. An empty file, or one with only comments, is
/// a valid rule set with no limits, no blocked values and no protected identifiers; so is a section left empty
/// (`blocked:` with every entry commented out).
///
/// Every mistake is reported as a `RulesError` naming the file, the line and the key path, such as
/// `rules.yaml:7: blocked[1].pattern: pattern "(" is not a valid regular expression ...`.
package enum RulesLoader {
    /// Reads the rules file at `path`; its SHA-256 is taken over the file's exact bytes.
    package static func load(path: String) throws(RulesError) -> RuleSet {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RulesError(
                code: .unreadableFile, file: path, line: nil, key: nil,
                message: "cannot read the rules file: \(reason(cannotRead: path, error))"
            )
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw RulesError(
                code: .invalidEncoding, file: path, line: firstInvalidUTF8Line(data), key: nil,
                message: "the rules file is not valid UTF-8"
            )
        }
        return try parse(text, sha256: SHA256Digest.hex(of: data), file: path)
    }

    /// Reads rules from `text`, naming `file` in errors; the SHA-256 is taken over `text`'s UTF-8 bytes.
    package static func parse(_ text: String, file: String) throws(RulesError) -> RuleSet {
        try parse(text, sha256: SHA256Digest.hex(of: text.utf8), file: file)
    }

    // MARK: - Helpers

    private static func parse(_ text: String, sha256: String, file: String) throws(RulesError) -> RuleSet {
        let root = try YAMLComposer.compose(text, file: file)
        return try RuleSetReader(file: file).read(root, sha256: sha256)
    }

    /// Why `path` cannot be read, in words that say what to check.
    private static func reason(cannotRead path: String, _ error: any Error) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            return "no such file"
        }
        if isDirectory.boolValue {
            return "it is a directory"
        }
        return error.localizedDescription
    }

    /// The 1-based line of the first byte sequence in `data` that is not UTF-8.
    private static func firstInvalidUTF8Line(_ data: Data) -> Int? {
        var bytes = data.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var line = 1
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let encoded):
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") { line += 1 }
            case .error:
                return line
            case .emptyInput:
                return nil
            }
        }
    }
}
