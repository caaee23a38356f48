import IDAuditCore

// MARK: - Summary for humans

extension RuleSet {
    /// The rule set in a few aligned lines, for the start of a report or `--dry-run` output.
    ///
    /// ```
    /// limits:
    ///   anonymous_id  5 weekly
    ///   user_id       1 ever
    ///   other types   5 ever
    /// blocked:
    ///   pattern "^[0-]*$"  every type
    ///   value "null"       phone, user_id
    /// protected: 1 identifier
    /// ```
    /// Types are sorted by their UTF-8 bytes so the output is the same on every machine. Protected identifiers are
    /// counted, not listed: they are often e-mail addresses, which do not belong in logs.
    package func humanReadableSummary() -> String {
        var lines: [String] = []

        var limitRows = limits.keys.sorted().map { type in (type.string, limits[type]!.summary) }
        limitRows.append(("other types", defaultLimit?.summary ?? "no limit"))
        lines.append("limits:")
        lines += Self.aligned(limitRows)

        if blocked.isEmpty {
            lines.append("blocked: none")
        } else {
            lines.append("blocked:")
            lines += Self.aligned(blocked.map { entry in
                let types = entry.types.map { $0.sorted().map(\.string).joined(separator: ", ") }
                return (entry.summary, types ?? "every type")
            })
        }

        switch protected.count {
        case 0: lines.append("protected: none")
        case 1: lines.append("protected: 1 identifier")
        case let count: lines.append("protected: \(count) identifiers")
        }
        return lines.joined(separator: "\n")
    }

    /// `rows` indented by two spaces, with the second column aligned two spaces after the longest first column.
    private static func aligned(_ rows: [(String, String)]) -> [String] {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { first, second in
            "  " + first + String(repeating: " ", count: width - first.count + 2) + second
        }
    }
}
