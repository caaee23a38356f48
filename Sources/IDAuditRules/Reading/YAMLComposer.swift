import Yams

// MARK: - YAMLComposer

/// Composes rules text into a YAML node tree, turning Yams' errors into `RulesError`s.
///
/// Composing (rather than decoding with `YAMLDecoder`) keeps every scalar's raw text and position: `value: null` stays
/// the text `null`, and every node knows its line.
enum YAMLComposer {
    /// Put in front of a duplicated mapping key so that Yams lets the document through.
    ///
    /// Yams rejects a mapping with a duplicated key before any tree exists, naming only the key and the line of its
    /// first occurrence; the user needs the key path and the line of the repeat. So the first occurrence is renamed
    /// by prefixing this private-use character (printable to YAML, never written by hand), the document is composed
    /// again, and `RuleSetReader` strips the prefix and reports the repeat itself. The n-th rename prefixes n
    /// markers, so that two renamed keys never collide (a key given three times is renamed twice). Only keys are
    /// ever marked.
    static let duplicateMarker: Unicode.Scalar = "\u{E000}"

    /// How many duplicated keys one file may have before we give up renaming and report Yams' own finding.
    private static let maximumRenames = 100

    /// The root node of `text`, or nil when the document is empty (nothing, or only comments).
    static func compose(_ text: String, file: String) throws(RulesError) -> Node? {
        var source = text
        var lastDuplicate: (keys: [String], mark: Mark)?
        for renames in 0...maximumRenames {
            do {
                return try Yams.compose(yaml: source)
            } catch let error as YamlError {
                guard case .duplicatedKeysInMapping(let keys, let context) = error else {
                    throw rulesError(for: error, in: source, file: file)
                }
                lastDuplicate = (keys, context.mark)
                guard renames < maximumRenames,
                    let marked = markingKey(at: context.mark, in: source, markers: renames + 1)
                else { break }
                source = marked
            } catch {
                throw RulesError(code: .invalidYAML, file: file, line: nil, key: nil, message: "invalid YAML: \(error)")
            }
        }
        let keys = lastDuplicate?.keys
            .map { quoted(String(String.UnicodeScalarView($0.unicodeScalars.drop { $0 == duplicateMarker }))) }
            .joined(separator: ", ") ?? ""
        throw RulesError(
            code: .duplicateKey, file: file, line: lastDuplicate?.mark.line, key: nil,
            message: "duplicate key \(keys) in one mapping (first given on this line); give each key once"
        )
    }

    // MARK: - Duplicate keys

    /// `text` with `markers` copies of `duplicateMarker` inserted at the start of the key scalar that `mark` points
    /// at, or nil when the mark does not point at a plain or quoted scalar (an anchor, a tag, a complex key).
    ///
    /// libyaml counts lines at `\n`, `\r\n`, `\r`, NEL, LS and PS, and columns in Unicode scalars, after a leading BOM.
    private static func markingKey(at mark: Mark, in text: String, markers: Int) -> String? {
        let scalars = Array(text.unicodeScalars)
        var index = scalars.first == "\u{FEFF}" ? 1 : 0
        var line = 1
        while line < mark.line {
            guard index < scalars.count else { return nil }
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "\r":
                if index < scalars.count, scalars[index] == "\n" { index += 1 }
                line += 1
            case "\n", "\u{85}", "\u{2028}", "\u{2029}":
                line += 1
            default:
                break
            }
        }
        index += mark.column - 1
        guard mark.column >= 1, index < scalars.count else { return nil }
        let first = scalars[index]
        let insertion: Int
        switch first {
        case "\"", "'":
            insertion = index + 1
        case "&", "*", "!", "|", ">", "%", "@", "`", "[", "]", "{", "}", ",", "#", " ", "\t", "\r", "\n":
            return nil
        default:
            insertion = index
        }
        var marked = String.UnicodeScalarView()
        marked.append(contentsOf: scalars[..<insertion])
        marked.append(contentsOf: repeatElement(duplicateMarker, count: markers))
        marked.append(contentsOf: scalars[insertion...])
        return String(marked)
    }

    // MARK: - Yams errors

    /// A `RulesError` naming the line Yams reports, with libyaml's own wording of the problem.
    private static func rulesError(for error: YamlError, in source: String, file: String) -> RulesError {
        func syntax(_ problem: String, _ mark: Mark, _ context: YamlError.Context?) -> RulesError {
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text) on line \(context.mark.line))" }
            return RulesError(code: .invalidYAML, file: file, line: mark.line, key: nil, message: message)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return syntax(problem, mark, context)
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in 1 + source.prefix(offset).reduce(0) { $1.isNewline ? $0 + 1 : $0 } }
            return RulesError(code: .invalidYAML, file: file, line: line, key: nil, message: "invalid YAML: \(problem)")
        default:
            return RulesError(code: .invalidYAML, file: file, line: nil, key: nil, message: "invalid YAML: \(error)")
        }
    }
}

// MARK: - Quoting

/// `text` in double quotes, with quotes, backslashes and control characters escaped, for messages.
func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
