import IDAuditCore
import IDAuditStore

/// The answer to "why is this identifier in the plan?": its profile, merge chain and every identifier's verdict.
public struct Explanation: Sendable {
    /// The identifier asked about.
    public var record: IdentifierRecord
    /// From the identifier's segment id to the canonical id.
    public var chain: [String]
    /// Every segment id merged into the canonical profile.
    public var mergedSegments: [String]
    /// The evaluation of the canonical profile (nil when the identifier is not active).
    public var evaluation: ProfileEvaluation?

    /// The text `idaudit explain` prints.
    public func render() -> String {
        var out = "\(record.type):\(record.value)\n"
        guard record.active, let evaluation else {
            out += "  not active: its latest mapping row is REMOVED (\(record.rows) rows, \(record.removedRows) REMOVED)\n"
            out += "  last seen on segment \(record.segmentID)\n"
            return out
        }
        out += "  profile:   \(evaluation.canonicalID)\n"
        out += "  chain:     \(chain.joined(separator: " -> "))\n"
        if mergedSegments.count > 0 {
            out += "  merged:    \(mergedSegments.count) segment id(s) merged into this profile: "
            out += mergedSegments.prefix(10).joined(separator: ", ") + (mergedSegments.count > 10 ? ", …" : "") + "\n"
        }
        out += "  lookup:    "
            + (evaluation.lookupUserID.isEmpty
                ? "(none: no user_id stays on this profile, so Segment's API cannot address it)"
                : "user_id:\(evaluation.lookupUserID)") + "\n"
        out += "  identifiers (by type, oldest first):\n"
        let typeWidth = max(4, evaluation.verdicts.map { $0.identifier.type.count }.max() ?? 4)
        for outcome in evaluation.types {
            let rule = outcome.limit.map { "limit \($0.summary)" } ?? "no limit"
            out += "    \(outcome.type): \(outcome.counted) counted, \(rule)\n"
        }
        for verdict in evaluation.verdicts {
            let id = verdict.identifier
            let marker = id.type == record.type && id.value == record.value ? "→" : " "
            var status = verdict.status.label
            if verdict.rank > 0 { status += " #\(verdict.rank)" }
            if case .blocked(let entry) = verdict.status { status += " (\(entry))" }
            out += "  \(marker) \(pad(id.type, typeWidth))  \(id.firstSeen)  seq \(id.seq)  \(pad(status, 12))  \(id.value)\n"
        }
        return out
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}

/// Builds ``Explanation``s.
public enum Explainer {
    /// Explains `type:value`; nil when the store has no row for it.
    public static func explain(type: String, value: String, store: ProfileStore, rules: RuleSet) throws -> Explanation? {
        guard let record = try store.identifier(type: type, value: value) else { return nil }
        guard record.active else {
            return Explanation(record: record, chain: [record.segmentID], mergedSegments: [], evaluation: nil)
        }
        let chain = try store.mergeChain(from: record.segmentID)
        let merged = try store.mergedSegments(into: record.canonicalID)
        let profile = try store.profile(canonicalID: record.canonicalID)
        let evaluation = profile.map { Evaluator(rules: rules).evaluate($0) }
        return Explanation(record: record, chain: chain, mergedSegments: merged, evaluation: evaluation)
    }
}
