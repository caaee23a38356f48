import IDAuditCore
import IDAuditStore

/// The answer to "why is this identifier in the plan?": its profile, merge chain and every identifier's verdict.
public struct Explanation: Sendable {
    /// What was asked about: `type:value`, or `segment_id:<id>`.
    public var subject: String
    /// The identifier asked about (nil when asked by segment id).
    public var record: IdentifierRecord?
    /// From the asked segment id (or the identifier's) to the canonical id.
    public var chain: [String]
    /// Every segment id merged into the canonical profile.
    public var mergedSegments: [String]
    /// The evaluation of the canonical profile (nil when the identifier is not active or the profile is empty).
    public var evaluation: ProfileEvaluation?

    /// The text `idaudit explain` prints.
    public func render() -> String {
        var out = "\(subject)\n"
        if let record, !record.active {
            out += "  not active: its latest mapping row is REMOVED, so it is on no profile and in no plan\n"
            out += renderHistory(record)
            return out
        }
        guard let evaluation else {
            out += "  profile \(chain.last ?? "?") holds no active identifier\n"
            return out
        }
        out += "  profile:   \(evaluation.canonicalID)\n"
        out += "  chain:     \(chain.joined(separator: " -> "))\n"
        if !mergedSegments.isEmpty {
            out += "  merged:    \(mergedSegments.count) segment id(s) merged into this profile: "
            out += mergedSegments.prefix(10).joined(separator: ", ") + (mergedSegments.count > 10 ? ", …" : "") + "\n"
        }
        out += "  lookup:    "
            + (evaluation.lookupUserID.isEmpty
                ? "(none: no user_id stays on this profile, so Segment's API cannot address it)"
                : "user_id:\(evaluation.lookupUserID)") + "\n"
        out += "  rules:\n"
        for outcome in evaluation.types {
            let rule = outcome.limit.map { "limit \($0.summary)" } ?? "no limit"
            let deleted = evaluation.verdicts.filter { ByteOrder.equal($0.identifier.type, outcome.type) && $0.rank > 0 }
                .count
            out += "    \(outcome.type): \(outcome.counted) counted toward the limit, \(rule), \(deleted) to delete\n"
        }
        out += "  identifiers, in time order (first_seen, seq):\n"
        let typeWidth = max(4, evaluation.verdicts.map { $0.identifier.type.count }.max() ?? 4)
        let ordered = evaluation.verdicts.sorted { ProfileIdentifier.oldestFirst($0.identifier, $1.identifier) }
        for verdict in ordered {
            let id = verdict.identifier
            let isSubject = record.map { ByteOrder.equal($0.type, id.type) && ByteOrder.equal($0.value, id.value) } ?? false
            var status = verdict.status.label
            if verdict.rank > 0 { status += " #\(verdict.rank)" }
            if case .blocked(let entry) = verdict.status { status += " (\(entry))" }
            out += "  \(isSubject ? "→" : " ") \(id.firstSeen)  \(pad(id.type, typeWidth))  \(pad(status, 12))  \(id.value)"
            out += "  (seq \(id.seq))\n"
        }
        return out
    }

    private func renderHistory(_ record: IdentifierRecord) -> String {
        var out = "  rows (SEQ order):\n"
        for row in record.history {
            out += "    seq \(row.seq)  \(row.time)  \(row.removed ? "REMOVED" : "CREATED")  on \(row.segmentID)  (ID \(row.id))\n"
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
    ///
    /// The type `segment_id` explains the profile a segment id belongs to (merged or canonical): the way to find the
    /// user_id a profile known only by segment id must be addressed by.
    public static func explain(type: String, value: String, store: ProfileStore, rules: RuleSet) throws -> Explanation? {
        if ByteOrder.equal(type, "segment_id") {
            let chain = try store.mergeChain(from: value)
            guard let canonical = chain.last else { return nil }
            let profile = try store.profile(canonicalID: canonical)
            if profile == nil, chain.count == 1 { return nil }
            return Explanation(
                subject: "segment_id:\(value)", record: nil, chain: chain,
                mergedSegments: try store.mergedSegments(into: canonical),
                evaluation: profile.map { Evaluator(rules: rules).evaluate($0) })
        }
        guard let record = try store.identifier(type: type, value: value) else { return nil }
        guard record.active else {
            return Explanation(
                subject: "\(type):\(value)", record: record, chain: [record.segmentID], mergedSegments: [],
                evaluation: nil)
        }
        let chain = try store.mergeChain(from: record.segmentID)
        let merged = try store.mergedSegments(into: record.canonicalID)
        let profile = try store.profile(canonicalID: record.canonicalID)
        let evaluation = profile.map { Evaluator(rules: rules).evaluate($0) }
        return Explanation(
            subject: "\(type):\(value)", record: record, chain: chain, mergedSegments: merged, evaluation: evaluation)
    }
}
