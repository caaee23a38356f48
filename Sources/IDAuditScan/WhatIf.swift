import IDAuditCore
import IDAuditStore

/// Two rule sets evaluated on the same store, per identifier type: what tightening or loosening a rule would do,
/// before anyone changes it in Segment (which warns against tightening rules blind).
public struct WhatIfReport: Sendable, Equatable {
    /// One identifier type's figures.
    public struct TypeDelta: Sendable, Equatable {
        /// The identifier type.
        public var type: String
        /// Profiles with excess of this type, and excess identifiers, under the current rules.
        public var current: (profiles: Int, identifiers: Int)
        /// The same under the proposed rules.
        public var proposed: (profiles: Int, identifiers: Int)
        /// Identifiers the proposed rules add to the excess, and on how many profiles.
        public var added: (profiles: Int, identifiers: Int)
        /// Identifiers the proposed rules take out of the excess, and on how many profiles.
        public var removed: (profiles: Int, identifiers: Int)

        public static func == (a: Self, b: Self) -> Bool {
            a.type == b.type && a.current == b.current && a.proposed == b.proposed && a.added == b.added
                && a.removed == b.removed
        }
    }

    /// Profiles evaluated.
    public var profiles = 0
    /// Per type, in byte order; types without excess under either rule set are left out.
    public var types: [TypeDelta] = []

    /// The per-type table and one sentence per changed type, as `idaudit whatif` prints them.
    public func render(currentName: String, proposedName: String) -> String {
        func n(_ v: Int) -> String { NumberText.grouped(v) }
        var out = "evaluated \(n(profiles)) profiles under \(currentName) (current) and \(proposedName) (proposed)\n"
        guard !types.isEmpty else { return out + "neither rule set puts any identifier in excess\n" }
        let width = max(12, types.map { $0.type.count }.max() ?? 12)
        func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
            s.count >= w ? s : (left ? String(repeating: " ", count: w - s.count) + s : s + String(repeating: " ", count: w - s.count))
        }
        out += "\(pad("type", width))  \(pad("current profiles", 17, left: true))  \(pad("identifiers", 12, left: true))"
        out += "  \(pad("proposed profiles", 18, left: true))  \(pad("identifiers", 12, left: true))  difference\n"
        for t in types {
            let diff = t.proposed.identifiers - t.current.identifiers
            out += "\(pad(t.type, width))  \(pad(n(t.current.profiles), 17, left: true))"
            out += "  \(pad(n(t.current.identifiers), 12, left: true))  \(pad(n(t.proposed.profiles), 18, left: true))"
            out += "  \(pad(n(t.proposed.identifiers), 12, left: true))  \(diff > 0 ? "+" : "")\(n(diff))\n"
        }
        for t in types where t.added.identifiers > 0 || t.removed.identifiers > 0 {
            out += "\(t.type): the proposed rules put "
            var parts: [String] = []
            if t.added.identifiers > 0 {
                parts.append("\(n(t.added.identifiers)) more identifiers on \(n(t.added.profiles)) profiles in excess")
            }
            if t.removed.identifiers > 0 {
                parts.append("\(n(t.removed.identifiers)) fewer on \(n(t.removed.profiles)) profiles")
            }
            out += parts.joined(separator: ", and ") + "\n"
        }
        return out
    }
}

/// Builds ``WhatIfReport``s: one pass over the store, each profile evaluated under both rule sets, nothing written.
public enum WhatIf {
    /// Compares `current` and `proposed` on every profile of `store`.
    public static func compare(
        store: ProfileStore, current: RuleSet, proposed: RuleSet, progress: (@Sendable (Int) -> Void)? = nil
    ) throws -> WhatIfReport {
        let a = Evaluator(rules: current)
        let b = Evaluator(rules: proposed)
        var totals: [ByteString: WhatIfReport.TypeDelta] = [:]
        var report = WhatIfReport()
        var countA: [ByteString: Int] = [:]
        var countB: [ByteString: Int] = [:]
        try store.forEachProfile { profile in
            report.profiles += 1
            if report.profiles & 0x3FFF == 0 { progress?(report.profiles) }
            countA.removeAll(keepingCapacity: true)
            countB.removeAll(keepingCapacity: true)
            for line in a.evaluate(profile).lines { countA[ByteString(line.type), default: 0] += 1 }
            for line in b.evaluate(profile).lines { countB[ByteString(line.type), default: 0] += 1 }
            for type in Set(countA.keys).union(countB.keys) {
                let x = countA[type] ?? 0
                let y = countB[type] ?? 0
                var t = totals[type] ?? WhatIfReport.TypeDelta(
                    type: type.string, current: (0, 0), proposed: (0, 0), added: (0, 0), removed: (0, 0))
                if x > 0 { t.current = (t.current.profiles + 1, t.current.identifiers + x) }
                if y > 0 { t.proposed = (t.proposed.profiles + 1, t.proposed.identifiers + y) }
                if y > x { t.added = (t.added.profiles + 1, t.added.identifiers + y - x) }
                if x > y { t.removed = (t.removed.profiles + 1, t.removed.identifiers + x - y) }
                totals[type] = t
            }
        }
        report.types = totals.values.sorted { ByteOrder.less($0.type, $1.type) }
        return report
    }
}
