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
    /// What was scanned, when it is not the store itself (a one-shot scan of an export through a passing store).
    public var sourceLabel: (key: String, value: String)?

    /// Creates options.
    public init(outDirectory: String, rulesPath: String, full: Bool = false, progress: (@Sendable (Int) -> Void)? = nil) {
        self.outDirectory = outDirectory
        self.rulesPath = rulesPath
        self.full = full
        self.progress = progress
    }
}

/// What a scan found and wrote.
public struct ScanResult: Sendable {
    /// How the cached evaluation was refreshed.
    public var refresh: ScanRefresh
    /// Totals.
    public var totals: ScanTotals
    /// Plan lines written.
    public var planLines: Int
    /// Remediable plan lines.
    public var remediableLines: Int
    /// The files written.
    public var files: [String]
    /// The text of `summary.json`.
    public var summaryJSON: String
    /// The run this scan was recorded as, with its comparison to the previous run under the same rules.
    public var run: ScanRun
}

/// The batch analyzer: evaluates the store's profiles against a rule set and writes the remediation plan.
public enum Scanner {
    /// Refreshes the evaluation and writes `plan.csv`, `plan.json` and `summary.json` to the out folder.
    ///
    /// Each file is written under a temporary name and renamed into place, `summary.json` last, so a crash never
    /// leaves half a plan.
    public static func run(store: ProfileStore, rules: RuleSet, options: ScanOptions, now: Instant) throws -> ScanResult {
        let trace = PhaseTrace()
        let refresh = try store.refreshScan(evaluator: Evaluator(rules: rules), full: options.full, progress: options.progress)
        let totals = try store.scanTotals()
        trace.mark("totals")
        let run = try store.recordRun(at: now, rulesSHA256: rules.sha256, profiles: totals.profiles)
        trace.mark("run history")
        let output = try PlanOutput(
            outDirectory: options.outDirectory, stamp: PlanStamp(generatedAt: now, rulesSHA256: rules.sha256),
            header: PlanOutput.header(rulesPath: options.rulesPath, rules: rules, now: now))
        let dir = output.dir
        try store.forEachRenderedPlanLine { csvRecord, jsonEntry, isRemediable, rank in
            try output.add(csvRecord: csvRecord, json: jsonEntry, remediable: isRemediable, rank: rank)
        }
        try output.commitCSV()
        let count = output.lines
        let remediable = output.remediable
        var reported = run
        var previous: ScanRun?
        if let folder = options.previousFolder {
            let compared = try PreviousScan.compare(
                currentPlan: dir + "/plan.csv", previousFolder: folder, rulesSHA256: rules.sha256,
                profiles: totals.profiles, at: now)
            reported = compared.run
            reported.id = run.id
            previous = compared.previous
        }
        try output.commitJSON(history: reported, previousFolder: options.previousFolder)
        trace.mark("plan files")
        let caps = try store.capCounts(rules.caps)
        let summary = SummaryFile.json(
            totals: totals, planLines: count, remediable: remediable, rulesPath: options.rulesPath,
            rulesSHA256: rules.sha256, source: options.sourceLabel ?? ("store", store.path), refresh: refresh,
            run: reported, previousFolder: options.previousFolder, caps: caps, now: now)
        // The reports for people come before summary.json, which completes an output folder.
        var report = try ReportData.gather(
            store: store, rules: rules, rulesPath: options.rulesPath, totals: totals, excess: count,
            remediable: remediable, run: reported, now: now, redact: options.redact)
        if let previous { report.previous = previous }
        report.caps = caps
        if let label = options.sourceLabel { report.source = "\(label.key) \(label.value)" }
        try OutputFile.write(HTMLReport.render(report), to: dir + "/report.html")
        try OutputFile.write(MarkdownReport.render(report), to: dir + "/report.md")
        trace.mark("reports")
        try OutputFile.write(summary, to: dir + "/summary.json")
        trace.mark("summary")
        return ScanResult(
            refresh: refresh, totals: totals, planLines: count, remediableLines: remediable,
            files: [
                dir + "/plan.csv", dir + "/plan.json", dir + "/report.html", dir + "/report.md", dir + "/summary.json",
            ], summaryJSON: summary, run: reported)
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

/// `summary.json` of a store scan: the common summary, with the evaluation and the run history.
enum SummaryFile {
    static func json(
        totals: ScanTotals, planLines: Int, remediable: Int, rulesPath: String, rulesSHA256: String,
        source: (key: String, value: String),
        refresh: ScanRefresh, run: ScanRun, previousFolder: String?, caps: [CapCount], now: Instant
    ) -> String {
        let history = HistoryJSON.object(run, previousFolder: previousFolder)
        return SourceSummary.json(
            source: [(source.key, JSONText.quote(source.value)), ("rules_file", JSONText.quote(rulesPath))], totals: totals,
            planLines: planLines, remediable: remediable, rulesSHA256: rulesSHA256, now: now,
            extra: [
                ("evaluation", "{\"full\": \(refresh.full), \"profiles_evaluated\": \(refresh.evaluatedProfiles)}"),
                ("history", history),
                ("caps", CapsJSON.object(caps)),
            ])
    }
}
