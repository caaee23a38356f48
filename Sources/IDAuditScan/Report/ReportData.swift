import IDAuditCore
import IDAuditStore

/// Everything a scan report shows, gathered once and rendered as HTML and Markdown.
public struct ReportData: Sendable {
    /// One identifier of an offending profile, in time order.
    public struct Row: Sendable, Equatable {
        /// When it was first seen.
        public var firstSeen: Instant
        /// The type.
        public var type: String
        /// The value (already redacted when asked).
        public var value: String
        /// kept, excess, blocked or protected.
        public var status: String
        /// Why.
        public var why: String
    }

    /// A profile among the top offenders.
    public struct Offender: Sendable {
        /// The canonical profile.
        public var canonicalID: String
        /// Its excess identifiers.
        public var excess: Int
        /// The user_id deletions are addressed by (redacted when asked), empty when none.
        public var lookupUserID: String
        /// Its identifiers, oldest first.
        public var rows: [Row]
    }

    /// When the scan ran.
    public var generatedAt: Instant
    /// What was scanned, for people: `store <code>idaudit.sqlite</code>`-style text without markup.
    public var source: String
    /// The rules file.
    public var rulesPath: String
    /// The rules.
    public var rules: RuleSet
    /// The scan's totals.
    public var totals: ScanTotals
    /// Plan lines (excess identifiers).
    public var excess: Int
    /// Of those, remediable.
    public var remediable: Int
    /// This run and its comparison with the previous one; nil for scans that keep no history (a warehouse).
    public var run: ScanRun?
    /// The previous run with the same rules, if any.
    public var previous: ScanRun?
    /// Per type (compared as bytes): profiles by identifiers counted toward the limit.
    public var histogram: [ByteString: [Int: Int]]
    /// The top offending profiles.
    public var offenders: [Offender]
    /// The profiles at or near Segment's system caps (empty when the source does not count them).
    public var caps: [CapCount] = []
    /// Whether identifier values are replaced by hashes.
    public var redacted: Bool

    /// Gathers the report of the scan just recorded as `run`.
    public static func gather(
        store: ProfileStore, rules: RuleSet, rulesPath: String, totals: ScanTotals, excess: Int, remediable: Int,
        run: ScanRun, now: Instant, redact: Bool, offenders count: Int = 20
    ) throws -> ReportData {
        let redactor = Redactor(enabled: redact)
        let evaluator = Evaluator(rules: rules)
        var offenders: [Offender] = []
        for (id, excess) in try store.topOffenders(count) {
            guard let profile = try store.profile(canonicalID: id) else { continue }
            offenders.append(Offender(evaluator.evaluate(profile), excess: excess, redactor: redactor))
        }
        let previous = try run.previousRunID.flatMap { id in try store.runs().first { $0.id == id } }
        return ReportData(
            generatedAt: now, source: "store \(store.path)", rulesPath: rulesPath, rules: rules, totals: totals,
            excess: excess, remediable: remediable, run: run, previous: previous, histogram: try store.scanHistogram(),
            offenders: offenders, redacted: redact)
    }

    fileprivate static func rows(_ evaluation: ProfileEvaluation, redactor: Redactor) -> [Row] {
        evaluation.verdicts.sorted { ProfileIdentifier.oldestFirst($0.identifier, $1.identifier) }.map { verdict in
            Row(
                firstSeen: verdict.identifier.firstSeen, type: verdict.identifier.type,
                value: redactor.value(verdict.identifier.value), status: verdict.status.label,
                why: why(verdict, evaluation: evaluation))
        }
    }

    private static func why(_ verdict: IdentifierVerdict, evaluation: ProfileEvaluation) -> String {
        let limit = evaluation.types.first { ByteOrder.equal($0.type, verdict.identifier.type) }?.limit
        switch verdict.status {
        case .kept:
            return limit.map { "within the limit (\($0.summary))" } ?? "no limit for this type"
        case .protected:
            return "protected value: never deleted, counts toward the limit"
        case .blocked(let entry):
            return "blocked value (\(entry)); deletion rank \(verdict.rank)"
        case .excess:
            return "beyond the limit (\(limit?.summary ?? "?")): older than the kept ones; deletion rank \(verdict.rank)"
        }
    }

    /// The change in excess identifiers since the previous run, if there is one.
    public var excessChange: Int? { previous.map { excess - $0.excess } }

    /// "Since run 4" (the store's history) or "Since the previous scan" (`--previous DIR`, run 0).
    var previousLabel: String {
        guard let id = previous?.id, id > 0 else { return "Since the previous scan" }
        return "Since run \(id)"
    }
}

extension ReportData.Offender {
    /// An offender from its evaluation.
    init(_ evaluation: ProfileEvaluation, excess: Int, redactor: Redactor) {
        self.init(
            canonicalID: evaluation.canonicalID, excess: excess, lookupUserID: redactor.value(evaluation.lookupUserID),
            rows: ReportData.rows(evaluation, redactor: redactor))
    }
}

/// Replaces identifier values with a stable short hash: `#` and the first 10 hex digits of their sha256.
public struct Redactor: Sendable {
    /// Whether values are replaced.
    public var enabled: Bool

    /// A redactor.
    public init(enabled: Bool) { self.enabled = enabled }

    /// The value, or its hash.
    public func value(_ value: String) -> String {
        guard enabled, !value.isEmpty else { return value }
        return "#" + SHA256Digest.hex(of: Array(value.utf8)).prefix(10)
    }
}

/// The downstream checklist the seeds call for, shared by both report formats.
enum DownstreamChecklist {
    static let items: [String] = [
        "Segment's deletion does not reach downstream destinations: Braze, Amplitude, Facebook, Engage Audiences, "
            + "Journeys, Linked Audiences keep the identifiers. Update them separately "
            + "(idaudit apply --target insider cleans an Insider One copy).",
        "Profiles Sync: before deleting, add the __operation column to external_id_mapping_updates (default CREATED, "
            + "deleted REMOVED) and check that BI tools, pipelines and models handle REMOVED rows.",
        "Replaying events from the Event Archive reintroduces deleted identifiers; so can Engage-generated events "
            + "when an identifier is deleted within 5 minutes of an event that references it. A space rebuild does "
            + "not replay deletions: run them again afterwards. Scan again after the next export: reintroduced "
            + "identifiers are counted apart.",
        "This is not a GDPR deletion: identifiers stay in the event archive.",
        "Deleting needs one of the roles Workspace Owner, Identity Admin, or Unify and Engage Admin, and the "
            + "feature activated for the space (403 otherwise).",
    ]
}
