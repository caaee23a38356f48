import IDAuditCSV
import IDAuditCore
import IDAuditStore

/// A one-shot scan straight from a Profiles Sync export, with no store (`scan --export DIR`): for nightly CI jobs on
/// a fresh runner. The export is read, sorted and folded with bounded memory (``ExportProfiles``), each profile is
/// evaluated as it comes, and the plan lines go straight to the plan files: the output folder is a store scan's, the
/// rules are the same code. History comes from `--previous`.
public enum ExportScan {
    /// Scans `exportDirectory` and writes the plan folder; bad rows stop it (`file:line`) or go to `rejectsPath`.
    public static func run(
        exportDirectory: String, rules: RuleSet, options: ScanOptions, rejectsPath: String?, now: Instant
    ) throws -> ScanResult {
        try ScanPipeline.run(
            source: ExportSource(directory: exportDirectory, rejectsPath: rejectsPath, rulesPath: options.rulesPath),
            rules: rules, options: options, now: now)
    }
}

/// An export as a scan source: read, sorted and folded with bounded memory, each profile evaluated as it comes (on a
/// thread of its own) and its plan lines written at once. It keeps no history: this is a first run, unless
/// `--previous` gives one to compare with.
struct ExportSource: ScanSource {
    let directory: String
    let rejectsPath: String?
    let rulesPath: String

    var planFields: [(String, String)] { [] }
    var summaryFields: [(String, String)] {
        [("export", JSONText.quote(directory)), ("rules_file", JSONText.quote(rulesPath))]
    }
    var reportLabel: String { "export \(directory)" }

    func scan(into output: PlanOutput, rules: RuleSet, options: ScanOptions, now: Instant) throws -> ScanFacts {
        let evaluator = Evaluator(rules: rules)
        let redactor = Redactor(enabled: options.redact)
        var totals = ScanTotals()
        var tally = ExcessTally()
        var histogram: [ByteString: [Int: Int]] = [:]
        var mappings: [(profile: String, count: Int)] = []
        let nearMappings = SystemCaps.nearThreshold(rules.caps.mappings)
        var top = TopOffenders(count: 20)
        let pipeline = EvaluationPipeline({ evaluator.rendered($0) }) { (profile: RenderedProfile) in
            let evaluation = profile.evaluation
            totals.profiles += 1
            totals.identifiers += profile.identifiers
            if profile.identifiers >= nearMappings { mappings.append((evaluation.canonicalID, profile.identifiers)) }
            for outcome in evaluation.types {
                histogram[ByteString(outcome.type), default: [:]][outcome.counted, default: 0] += 1
            }
            guard !evaluation.lines.isEmpty else { return }
            totals.profilesInViolation += 1
            for (line, (csv, json)) in zip(evaluation.lines, zip(profile.csv, profile.json)) {
                try output.add(csvRecord: csv.utf8, json: json.utf8, remediable: line.remediable, rank: line.rank)
                tally.add(type: line.type, reason: line.reason, remediable: line.remediable)
            }
            top.consider(evaluation)
            if totals.profiles & 0x3FFF == 0 { options.progress?(totals.profiles) }
        }
        let read = try ExportProfiles.read(
            directory: directory, options: IngestOptions(rejectsPath: rejectsPath), workDirectory: output.dir
        ) { try pipeline.submit($0) }
        try pipeline.finish()
        totals.excess = tally.excess

        var facts = ScanFacts()
        facts.totals = totals
        facts.histogram = histogram
        facts.offenders = top.profiles.map { ReportData.Offender($0, excess: $0.lines.count, redactor: redactor) }
        facts.caps = [
            CapCount.counting(
                "merges", cap: rules.caps.merges,
                counts: read.merged.lazy.map { (profile: $0.key.string, count: $0.value) }),
            CapCount.counting("mappings", cap: rules.caps.mappings, counts: mappings),
        ]
        facts.refresh = ScanRefresh(full: true, evaluatedProfiles: totals.profiles)
        facts.run = ScanRun(
            id: 1, at: now, rulesSHA256: rules.sha256, profiles: totals.profiles, excess: output.lines,
            new: output.lines, persisting: 0, resolved: 0)
        return facts
    }
}

/// A profile's evaluation with its plan lines rendered (the CPU-heavy part, done on the evaluation thread).
struct RenderedProfile: Sendable {
    var evaluation: ProfileEvaluation
    var identifiers: Int
    var csv: [String]
    var json: [String]
}

extension Evaluator {
    /// Evaluates `profile` and renders its plan lines as plan.csv records and plan.json objects.
    func rendered(_ profile: Profile) -> RenderedProfile {
        let evaluation = evaluate(profile)
        return RenderedProfile(
            evaluation: evaluation, identifiers: profile.identifiers.count, csv: evaluation.lines.map(\.csvRecord),
            json: evaluation.jsonLines)
    }
}

/// The report's top offending profiles, kept as profiles go by: most excess first, ties by canonical id bytes (the
/// store's `ORDER BY excess DESC, canonical_id`).
struct TopOffenders {
    let count: Int
    private(set) var profiles: [ProfileEvaluation] = []

    init(count: Int) { self.count = count }

    mutating func consider(_ evaluation: ProfileEvaluation) {
        func before(_ a: ProfileEvaluation, _ b: ProfileEvaluation) -> Bool {
            a.lines.count != b.lines.count
                ? a.lines.count > b.lines.count : ByteOrder.less(a.canonicalID, b.canonicalID)
        }
        if profiles.count == count, let last = profiles.last, !before(evaluation, last) { return }
        let at = profiles.firstIndex { before(evaluation, $0) } ?? profiles.count
        profiles.insert(evaluation, at: at)
        if profiles.count > count { profiles.removeLast() }
    }
}
