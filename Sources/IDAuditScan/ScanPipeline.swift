import IDAuditCSV
import IDAuditCore
import IDAuditStore

/// What a scan source found besides its plan lines: everything the summary, the reports and the terminal show.
/// Reports are made of these facts alone; they never evaluate rules again.
struct ScanFacts: Sendable {
    /// Totals over the profiles scanned.
    var totals = ScanTotals()
    /// Per type (compared as bytes): profiles by identifiers counted toward the limit.
    var histogram: [ByteString: [Int: Int]] = [:]
    /// The top offending profiles, with their verdicts.
    var offenders: [ReportData.Offender] = []
    /// Profiles at or near Segment's system caps.
    var caps: [CapCount] = []
    /// How a cached evaluation was refreshed (nil: the source keeps none, an engine).
    var refresh: ScanRefresh?
    /// This run in the source's own history (nil: the source keeps none; `--previous` may still give one).
    var run: ScanRun?
    /// The run it was compared with, from the source's history.
    var previous: ScanRun?

    /// Empty facts.
    init() {}
}

/// Where a scan's profiles come from: the store (incremental), an export (streamed, no store), or an engine's result
/// tables. A source writes its plan lines in plan order and returns the facts; ``ScanPipeline`` does the rest, the same
/// way for every source (the comparison with a previous scan, plan.json's history, the reports, summary.json last).
protocol ScanSource {
    /// plan.json's keys naming the source, before the rules' (JSON values).
    var planFields: [(String, String)] { get }
    /// summary.json's keys naming the source (JSON values).
    var summaryFields: [(String, String)] { get }
    /// What the reports say was scanned.
    var reportLabel: String { get }
    /// Writes the plan lines, in plan order, to `output`; returns what the scan found.
    func scan(into output: PlanOutput, rules: RuleSet, options: ScanOptions, now: Instant) throws -> ScanFacts
}

/// What a scan found and wrote.
public struct ScanResult: Sendable {
    /// How the cached evaluation was refreshed (nil for an engine, which keeps none).
    public var refresh: ScanRefresh?
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
    /// This run with its comparison to the previous one (the store's history, or `--previous`); nil when there is
    /// neither.
    public var run: ScanRun?
}

/// The one scan pipeline: a source's plan lines and facts into the plan folder. Each file is written under a temporary
/// name and renamed into place, `summary.json` last, so a crash never leaves half a folder.
enum ScanPipeline {
    /// Runs `source` and writes plan.csv, plan.json, report.html, report.md and summary.json to the out folder.
    static func run(source: some ScanSource, rules: RuleSet, options: ScanOptions, now: Instant) throws
        -> ScanResult
    {
        let trace = PhaseTrace()
        let output = try PlanOutput(
            outDirectory: options.outDirectory, stamp: PlanStamp(generatedAt: now, rulesSHA256: rules.sha256),
            header: source.planFields + PlanOutput.header(rulesPath: options.rulesPath, rules: rules, now: now))
        let dir = output.dir
        let facts = try source.scan(into: output, rules: rules, options: options, now: now)
        try output.commitCSV()
        trace.mark("plan.csv")

        var run = facts.run
        var previous = facts.previous
        if let folder = options.previousFolder {
            let compared = try PreviousScan.compare(
                currentPlan: dir + "/plan.csv", previousFolder: folder, rulesSHA256: rules.sha256,
                profiles: facts.totals.profiles, at: now)
            run = compared.run
            if let id = facts.run?.id { run?.id = id }
            previous = compared.previous
        }
        try output.commitJSON(history: run, previousFolder: options.previousFolder)
        trace.mark("plan.json")

        // The reports for people come before summary.json, which completes an output folder.
        let report = ReportData(
            generatedAt: now, source: source.reportLabel, rulesPath: options.rulesPath, rules: rules,
            totals: facts.totals, excess: output.lines, remediable: output.remediable, run: run, previous: previous,
            histogram: facts.histogram, offenders: facts.offenders, caps: facts.caps, redacted: options.redact)
        try OutputFile.write(HTMLReport.render(report), to: dir + "/report.html")
        try OutputFile.write(MarkdownReport.render(report), to: dir + "/report.md")
        trace.mark("reports")
        var extra: [(String, String)] = []
        if let refresh = facts.refresh {
            extra.append(
                ("evaluation", "{\"full\": \(refresh.full), \"profiles_evaluated\": \(refresh.evaluatedProfiles)}"))
        }
        if let run { extra.append(("history", HistoryJSON.object(run, previousFolder: options.previousFolder))) }
        extra.append(("caps", CapsJSON.object(facts.caps)))
        let summary = SummaryJSON.text(
            source: source.summaryFields, totals: facts.totals, planLines: output.lines,
            remediable: output.remediable, rulesSHA256: rules.sha256, now: now, extra: extra)
        try OutputFile.write(summary, to: dir + "/summary.json")
        trace.mark("summary")
        return ScanResult(
            refresh: facts.refresh, totals: facts.totals, planLines: output.lines, remediableLines: output.remediable,
            files: [
                dir + "/plan.csv", dir + "/plan.json", dir + "/report.html", dir + "/report.md", dir + "/summary.json",
            ], summaryJSON: summary, run: run)
    }
}
