import IDAuditCSV
import IDAuditCore
import IDAuditStore

/// How much excess a nightly scan tolerates before it fails: a count of identifiers, or a percent of profiles.
public enum FailThreshold: Sendable, Equatable, CustomStringConvertible {
    /// Fail when more identifiers than this are in excess.
    case identifiers(Int)
    /// Fail when more than this percent of the profiles are in violation.
    case percentOfProfiles(Double)

    /// Parses `250` or `0.5%`; nil for anything else (negative numbers included).
    public init?(_ text: String) {
        if text.hasSuffix("%") {
            guard let value = Double(text.dropLast()), value >= 0, value.isFinite else { return nil }
            self = .percentOfProfiles(value)
        } else {
            guard let value = Int(text), value >= 0 else { return nil }
            self = .identifiers(value)
        }
    }

    public var description: String {
        switch self {
        case .identifiers(let n): return "\(n) identifiers"
        case .percentOfProfiles(let p): return "\(p)% of profiles"
        }
    }
}

/// The exit-code ladder data-quality tools use (Soda, dbt): what a CI job gates on.
public enum ScanOutcome: Int32, Sendable {
    /// Nothing is in excess.
    case clean = 0
    /// Some excess, at or below the threshold: a warning.
    case warning = 1
    /// Excess above the threshold: a failure.
    case failure = 2

    /// The outcome of `totals` against `threshold`.
    public static func of(_ totals: ScanTotals, planLines: Int, threshold: FailThreshold) -> ScanOutcome {
        guard planLines > 0 else { return .clean }
        switch threshold {
        case .identifiers(let n):
            return planLines > n ? .failure : .warning
        case .percentOfProfiles(let p):
            let share = totals.profiles == 0 ? 0 : Double(totals.profilesInViolation) * 100 / Double(totals.profiles)
            return share > p ? .failure : .warning
        }
    }
}

/// A JUnit XML report of a scan: one test case per rule and identifier type, so CI systems list what broke.
public enum JUnitReport {
    /// The report for `totals` under `rules`: for every type with a limit or with excess, a `limit` case and a
    /// `blocked values` case that fail when the type has excess of that kind.
    public static func xml(totals: ScanTotals, rules: RuleSet, rulesPath: String) -> String {
        var types = Set(rules.limits.keys)
        for e in totals.excess { types.insert(ByteString(e.type)) }
        var cases: [(name: String, failure: String?)] = []
        for type in types.sorted().map(\.string) {
            let limitExcess = totals.excess.first { ByteOrder.equal($0.type, type) && $0.reason == .limit }
            let blockedExcess = totals.excess.first { ByteOrder.equal($0.type, type) && $0.reason == .blocked }
            let limit = rules.limit(for: type).map { "limit \($0.summary)" } ?? "no limit"
            cases.append(
                (
                    "\(type): \(limit)",
                    limitExcess.map {
                        "\($0.count) identifiers over the limit (\($0.remediable) remediable through Segment's API)"
                    }
                ))
            cases.append(
                (
                    "\(type): blocked values",
                    blockedExcess.map { "\($0.count) blocked values present (\($0.remediable) remediable)" }
                ))
        }
        let failures = cases.filter { $0.failure != nil }.count
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"idaudit\" tests=\"\(cases.count)\" failures=\"\(failures)\">\n"
        out += "  <testsuite name=\"\(escape(rulesPath))\" tests=\"\(cases.count)\" failures=\"\(failures)\">\n"
        for c in cases {
            out += "    <testcase classname=\"idaudit.scan\" name=\"\(escape(c.name))\""
            if let failure = c.failure {
                out += ">\n      <failure message=\"\(escape(failure))\"/>\n    </testcase>\n"
            } else {
                out += "/>\n"
            }
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                if c.value < 0x20, c != "\n", c != "\t" { out += "&#\(c.value);" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }
}
