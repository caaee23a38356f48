import IDAuditCore
import Yams

// MARK: - RuleSetReader

/// Reads a composed rules document into a `RuleSet`, checking every node against the format.
///
/// Scalars are read as their raw text, never through YAML's type resolution: `value: null` is the four letters
/// `null`, `value: -1` is the text `-1`, and identifier types are matched exactly as written.
struct RuleSetReader {
    /// The file name errors carry.
    let file: String

    /// The rule set in `root`; nil or an empty document is a valid, empty rule set.
    func read(_ root: Node?, sha256: String) throws(RulesError) -> RuleSet {
        var rules = RuleSet(sha256: sha256)
        guard let root, !isNull(root) else { return rules }
        let entries = try entries(
            of: root, at: .root, allowedKeys: ["default", "identifiers", "blocked", "protected", "caps"],
            expecting: "a mapping with the keys default, identifiers, blocked, protected and caps"
        )
        for entry in entries {
            let path = NodePath.root.appending(key: entry.key)
            // An empty section (every line commented out) reads as YAML null: treat it as absent, not as an error.
            if isNull(entry.value) { continue }
            switch entry.key {
            case "default": rules.defaultLimit = try readLimit(entry.value, at: path, keyLine: entry.line)
            case "identifiers": rules.limits = try readIdentifiers(entry.value, at: path)
            case "blocked": rules.blocked = try readBlocked(entry.value, at: path)
            case "caps": rules.caps = try readCaps(entry.value, at: path)
            default: rules.protected = try readProtected(entry.value, at: path)
            }
        }
        return rules
    }

    // MARK: - Limits

    private func readIdentifiers(_ node: Node, at path: NodePath) throws(RulesError) -> [ByteString: IdentifierLimit] {
        let entries = try entries(
            of: node, at: path, allowedKeys: nil,
            expecting: "a mapping from identifier type to limit, such as user_id: {limit: 1}"
        )
        var limits: [ByteString: IdentifierLimit] = [:]
        for entry in entries {
            let entryPath = path.appending(key: entry.key)
            if entry.key.isEmpty {
                throw error(.emptyValue, line: entry.line, at: entryPath, "the identifier type is empty")
            }
            limits[ByteString(entry.key)] = try readLimit(entry.value, at: entryPath, keyLine: entry.line)
        }
        return limits
    }

    /// A `{limit: n, frequency: f}` mapping; `keyLine` is where its key is, for a missing `limit`.
    private func readLimit(_ node: Node, at path: NodePath, keyLine: Int) throws(RulesError) -> IdentifierLimit {
        let entries = try entries(
            of: node, at: path, allowedKeys: ["limit", "frequency"],
            expecting: "a mapping such as {limit: 5, frequency: weekly}"
        )
        var limit: Int?
        var frequency = Frequency.ever
        for entry in entries {
            let entryPath = path.appending(key: entry.key)
            if entry.key == "limit" {
                limit = try readCount(entry.value, at: entryPath)
            } else {
                frequency = try readFrequency(entry.value, at: entryPath)
            }
        }
        guard let limit else {
            throw error(
                .missingKey, line: keyLine, at: path.appending(key: "limit"),
                "missing limit; write for example {limit: 5} (a whole number, 0 or more)"
            )
        }
        return IdentifierLimit(limit: limit, frequency: frequency)
    }

    private func readCount(_ node: Node, at path: NodePath) throws(RulesError) -> Int {
        let text = try scalarText(node, at: path, expecting: "a whole number, 0 or more")
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        let isWhole = !digits.isEmpty && digits.unicodeScalars.allSatisfy { ("0"..."9").contains($0) }
        guard isWhole else {
            let shown = isNull(node) ? "nothing" : quoted(text)
            throw error(
                .invalidLimit, line: line(of: node), at: path, "limit must be a whole number, 0 or more; got \(shown)"
            )
        }
        guard !text.hasPrefix("-") else {
            throw error(.invalidLimit, line: line(of: node), at: path, "limit must not be negative; got \(text)")
        }
        guard let count = Int(text) else {
            throw error(.invalidLimit, line: line(of: node), at: path, "limit \(text) is too large")
        }
        return count
    }

    private func readFrequency(_ node: Node, at path: NodePath) throws(RulesError) -> Frequency {
        let allowed = Frequency.allCases.map(\.rawValue)
        let text = try scalarText(node, at: path, expecting: "one of \(allowed.joined(separator: ", "))")
        guard let frequency = Frequency(rawValue: text) else {
            throw error(
                .unknownFrequency, line: line(of: node), at: path,
                "unknown frequency \(quoted(text)); expected one of \(allowed.joined(separator: ", "))"
            )
        }
        return frequency
    }

    /// `caps: {merges: 100, mappings: 1000}`: Segment's system limits, either key optional.
    private func readCaps(_ node: Node, at path: NodePath) throws(RulesError) -> SystemCaps {
        let entries = try entries(
            of: node, at: path, allowedKeys: ["merges", "mappings"],
            expecting: "a mapping such as {merges: 100, mappings: 1000}")
        var caps = SystemCaps()
        for entry in entries {
            let entryPath = path.appending(key: entry.key)
            let count = try readCount(entry.value, at: entryPath)
            guard count > 0 else {
                throw error(.invalidLimit, line: line(of: entry.value), at: entryPath, "a cap must be 1 or more")
            }
            if entry.key == "merges" { caps.merges = count } else { caps.mappings = count }
        }
        return caps
    }

    // MARK: - Blocked values

    private func readBlocked(_ node: Node, at path: NodePath) throws(RulesError) -> [BlockedEntry] {
        let items = try elements(
            of: node, at: path, expecting: #"a list of entries such as - value: "null" or - pattern: "^[0-]*$""#
        )
        var blocked: [BlockedEntry] = []
        for (index, item) in items.enumerated() {
            let itemPath = path.appending(index: index)
            let entries = try entries(
                of: item, at: itemPath, allowedKeys: ["value", "pattern", "types"],
                expecting: #"a mapping such as {value: "null"} or {pattern: "^[0-]*$", types: [user_id]}"#
            )
            let value = entries.first { $0.key == "value" }
            let pattern = entries.first { $0.key == "pattern" }
            let matcher: BlockedEntry.Matcher
            switch (value, pattern) {
            case (let value?, nil):
                matcher = .value(try text(value.value, at: itemPath.appending(key: "value"), what: "value"))
            case (nil, let pattern?):
                matcher = .pattern(try readPattern(pattern.value, at: itemPath.appending(key: "pattern")))
            case (.some, .some):
                throw error(
                    .invalidEntry, line: line(of: item), at: itemPath,
                    "an entry has either value or pattern, not both; write two entries"
                )
            case (nil, nil):
                throw error(
                    .invalidEntry, line: line(of: item), at: itemPath,
                    "an entry needs value (an exact match) or pattern (a regular expression)"
                )
            }
            var types: Set<ByteString>?
            if let typesEntry = entries.first(where: { $0.key == "types" }) {
                types = try readTypes(typesEntry.value, at: itemPath.appending(key: "types"))
            }
            blocked.append(BlockedEntry(matcher: matcher, types: types))
        }
        return blocked
    }

    private func readPattern(_ node: Node, at path: NodePath) throws(RulesError) -> CompiledPattern {
        let source = try text(node, at: path, what: "pattern", allowsEmpty: false)
        do {
            return try CompiledPattern(source)
        } catch {
            // Foundation's error says only "The value is invalid", so it is left out in favour of what to check.
            throw self.error(
                .invalidPattern, line: line(of: node), at: path,
                "pattern \(quoted(source)) is not a valid regular expression (ICU syntax); "
                    + "check its brackets, parentheses, quantifiers and backslash escapes"
            )
        }
    }

    private func readTypes(_ node: Node, at path: NodePath) throws(RulesError) -> Set<ByteString> {
        let items = try elements(of: node, at: path, expecting: "a list of identifier types such as [user_id, phone]")
        guard !items.isEmpty else {
            throw error(
                .emptyValue, line: line(of: node), at: path,
                "types is empty; list identifier types, or remove types to apply the entry to every type"
            )
        }
        var types: Set<ByteString> = []
        for (index, item) in items.enumerated() {
            types.insert(ByteString(try text(item, at: path.appending(index: index), what: "type", allowsEmpty: false)))
        }
        return types
    }

    // MARK: - Protected identifiers

    private func readProtected(_ node: Node, at path: NodePath) throws(RulesError) -> Set<ProtectedIdentifier> {
        let items = try elements(
            of: node, at: path, expecting: "a list of entries such as - {type: email, value: ceo@example.com}"
        )
        var protected: Set<ProtectedIdentifier> = []
        for (index, item) in items.enumerated() {
            let itemPath = path.appending(index: index)
            let entries = try entries(
                of: item, at: itemPath, allowedKeys: ["type", "value"],
                expecting: "a mapping such as {type: email, value: ceo@example.com}"
            )
            guard let type = entries.first(where: { $0.key == "type" }) else {
                throw error(
                    .missingKey, line: line(of: item), at: itemPath.appending(key: "type"),
                    "missing type; write for example {type: email, value: ceo@example.com}"
                )
            }
            guard let value = entries.first(where: { $0.key == "value" }) else {
                throw error(
                    .missingKey, line: line(of: item), at: itemPath.appending(key: "value"),
                    "missing value; write for example {type: email, value: ceo@example.com}"
                )
            }
            protected.insert(
                ProtectedIdentifier(
                    type: try text(type.value, at: itemPath.appending(key: "type"), what: "type", allowsEmpty: false),
                    value: try text(value.value, at: itemPath.appending(key: "value"), what: "value")
                )
            )
        }
        return protected
    }

    // MARK: - Nodes

    /// One key of a mapping, with the line of the key.
    private struct Entry {
        var key: String
        var value: Node
        var line: Int
    }

    /// The entries of the mapping `node`, in file order, after checking that every key is text, is one of
    /// `allowedKeys` (when given) and appears once.
    private func entries(
        of node: Node, at path: NodePath, allowedKeys: [String]?, expecting expected: String
    ) throws(RulesError) -> [Entry] {
        guard case .mapping(let mapping) = node else {
            throw wrongKind(node, at: path, expecting: expected)
        }
        var entries: [Entry] = []
        // By bytes: two types that differ only in Unicode normalization are two keys, not a duplicate.
        var firstLines: [ByteString: Int] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                throw wrongKind(keyNode, at: path, expecting: "a key written as text")
            }
            var key = scalar.string
            while key.unicodeScalars.first == YAMLComposer.duplicateMarker {
                key.unicodeScalars.removeFirst()
            }
            let keyLine = line(of: keyNode)
            if let allowedKeys, !allowedKeys.contains(key) {
                throw error(
                    .unknownKey, line: keyLine, at: path.appending(key: key),
                    "unknown key; expected one of \(allowedKeys.joined(separator: ", "))"
                )
            }
            if let firstLine = firstLines[ByteString(key)] {
                throw error(
                    .duplicateKey, line: keyLine, at: path.appending(key: key),
                    "duplicate key, first given on line \(firstLine); give each key once"
                )
            }
            firstLines[ByteString(key)] = keyLine
            entries.append(Entry(key: key, value: value, line: keyLine))
        }
        return entries
    }

    /// The elements of the list `node`.
    private func elements(of node: Node, at path: NodePath, expecting expected: String) throws(RulesError) -> [Node] {
        guard case .sequence(let sequence) = node else {
            throw wrongKind(node, at: path, expecting: expected)
        }
        return Array(sequence)
    }

    /// The raw text of the scalar `node`.
    private func scalarText(_ node: Node, at path: NodePath, expecting expected: String) throws(RulesError) -> String {
        guard case .scalar(let scalar) = node else {
            throw wrongKind(node, at: path, expecting: expected)
        }
        return scalar.string
    }

    /// The raw text of a value, type or pattern.
    ///
    /// An empty plain scalar (`value:` with nothing after it) is an error: it is more likely a slip than a wish to
    /// match the empty string, which `""` states. With `allowsEmpty: false`, `""` is an error too.
    private func text(
        _ node: Node, at path: NodePath, what: String, allowsEmpty: Bool = true
    ) throws(RulesError) -> String {
        guard case .scalar(let scalar) = node else {
            throw wrongKind(node, at: path, expecting: "a \(what) written as text")
        }
        guard scalar.string.isEmpty else { return scalar.string }
        if allowsEmpty, scalar.style != .plain { return "" }
        let hint = allowsEmpty ? #"; write "" to mean the empty text"# : ""
        throw error(.emptyValue, line: line(of: node), at: path, "\(what) is empty\(hint)")
    }

    /// Whether `node` is YAML's null written plainly: nothing, `~` or `null`.
    ///
    /// Only used where a mapping or list is expected; where text is expected, `null` is the text `null`.
    private func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    private func line(of node: Node) -> Int {
        node.mark?.line ?? 1
    }

    // MARK: - Errors

    private func error(_ code: RulesError.Code, line: Int, at path: NodePath, _ message: String) -> RulesError {
        RulesError(
            code: code, file: file, line: line, key: path.description.isEmpty ? nil : path.description, message: message
        )
    }

    private func wrongKind(_ node: Node, at path: NodePath, expecting expected: String) -> RulesError {
        let found: String
        switch node {
        case .scalar(let scalar): found = isNull(node) ? "nothing" : "the text \(quoted(scalar.string))"
        case .mapping: found = "a mapping"
        case .sequence: found = "a list"
        case .alias: found = "an alias"
        }
        return error(.wrongKind, line: line(of: node), at: path, "expected \(expected), found \(found)")
    }
}
