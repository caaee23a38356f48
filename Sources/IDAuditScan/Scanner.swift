#if canImport(Glibc)
    import Glibc
#endif
import IDAuditCSV
import IDAuditCore
import IDAuditStore

/// Options for a scan.
public struct ScanOptions: Sendable {
    /// The folder the plan and summary go to (created when missing).
    public var outDirectory: String
    /// The rules file's path, recorded in the outputs.
    public var rulesPath: String
    /// Re-evaluate every profile even when the cache is current.
    public var full: Bool
    /// Called with the number of profiles evaluated so far.
    public var progress: (@Sendable (Int) -> Void)?
    /// Replace identifier values in `report.html` and `report.md` with a stable short hash.
    public var redact = false
    /// A previous scan's output folder to compare with (`--previous`), instead of the store's previous run.
    public var previousFolder: String?

    /// Creates options.
    public init(outDirectory: String, rulesPath: String, full: Bool = false, progress: (@Sendable (Int) -> Void)? = nil) {
        self.outDirectory = outDirectory
        self.rulesPath = rulesPath
        self.full = full
        self.progress = progress
    }
}

/// The batch analyzer: evaluates the store's profiles against a rule set and writes the remediation plan.
public enum Scanner {
    /// Refreshes the store's evaluation (only the profiles changed since the last scan, unless `options.full`) and
    /// writes the plan folder (``ScanPipeline``).
    public static func run(store: ProfileStore, rules: RuleSet, options: ScanOptions, now: Instant) throws -> ScanResult {
        try ScanPipeline.run(source: StoreSource(store: store, rulesPath: options.rulesPath), rules: rules, options: options, now: now)
    }

    /// The assumptions every report states: Segment does not document window semantics.
    public static let assumptions: [(String, String)] = [
        ("windows", "sliding windows over first_seen: daily 86,400 s, weekly 7 days, monthly 30 days, annually 365 days"),
        ("oldest_first", "ascending (first_seen, seq, value); the oldest identifiers beyond the limit are excess"),
        ("first_seen", "time of the first CREATED row after the last REMOVED row (TIMESTAMP, or RECEIVED_AT when empty)"),
        ("lookup", "a deletion is addressed by the newest user_id that stays on the profile (Segment requires one)"),
    ]

    static var assumptionsJSON: String {
        "{" + assumptions.map { "\(JSONText.quote($0.0)):\(JSONText.quote($0.1))" }.joined(separator: ",") + "}"
    }
}

/// The store as a scan source: its cached evaluation refreshed, its plan lines rendered in plan order, this run
/// recorded in its history and compared with the previous run under the same rules.
struct StoreSource: ScanSource {
    let store: ProfileStore
    let rulesPath: String
    /// The report's top offenders.
    var offenderCount = 20

    var planFields: [(String, String)] { [] }
    var summaryFields: [(String, String)] {
        [("store", JSONText.quote(store.path)), ("rules_file", JSONText.quote(rulesPath))]
    }
    var reportLabel: String { "store \(store.path)" }

    func scan(into output: PlanOutput, rules: RuleSet, options: ScanOptions, now: Instant) throws -> ScanFacts {
        let trace = PhaseTrace()
        let evaluator = Evaluator(rules: rules)
        var facts = ScanFacts()
        facts.refresh = try store.refreshScan(evaluator: evaluator, full: options.full, progress: options.progress)
        facts.totals = try store.scanTotals()
        trace.mark("totals")
        let run = try store.recordRun(at: now, rulesSHA256: rules.sha256, profiles: facts.totals.profiles)
        facts.run = run
        facts.previous = try run.previousRunID.flatMap { id in try store.runs().first { $0.id == id } }
        trace.mark("run history")
        try store.forEachRenderedPlanLine { csvRecord, jsonEntry, isRemediable, rank in
            try output.add(csvRecord: csvRecord, json: jsonEntry, remediable: isRemediable, rank: rank)
        }
        trace.mark("plan lines")
        facts.caps = try store.capCounts(rules.caps)
        facts.histogram = try store.scanHistogram()
        // The cache keeps counts, not verdicts: the few profiles the report shows are evaluated again for theirs.
        let redactor = Redactor(enabled: options.redact)
        for (id, excess) in try store.topOffenders(offenderCount) {
            guard let profile = try store.profile(canonicalID: id) else { continue }
            facts.offenders.append(ReportData.Offender(evaluator.evaluate(profile), excess: excess, redactor: redactor))
        }
        return facts
    }
}
