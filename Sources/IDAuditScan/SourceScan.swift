import IDAuditCSV
import IDAuditCore
import IDAuditStore
import IDAuditWarehouse

/// What a warehouse scan wrote.
public struct SourceScanResult: Sendable {
    /// Totals over the profiles scanned.
    public var totals: ScanTotals
    /// Plan lines.
    public var planLines: Int
    /// Of those, remediable.
    public var remediableLines: Int
    /// The files written.
    public var files: [String]
    /// The summary written.
    public var summaryJSON: String
}

/// `plan.csv`, `plan.json` and `summary.json` written as lines arrive (temp files, renamed at the end).
final class PlanOutput {
    let dir: String
    private let csv: OutputFile
    private let json: OutputFile
    private(set) var lines = 0
    private(set) var remediable = 0
    private let suffix: [UInt8]

    init(outDirectory: String, stamp: PlanStamp, header: [(String, String)]) throws {
        suffix = stamp.recordSuffix
        try makeDirectories(outDirectory)
        dir = outDirectory.hasSuffix("/") ? String(outDirectory.dropLast()) : outDirectory
        csv = try OutputFile(path: dir + "/plan.csv")
        json = try OutputFile(path: dir + "/plan.json")
        try csv.writeCSVRecord(PlanLine.csvColumns)
        try json.write("{\n\"format\":\"idaudit-plan/1\",\n")
        for (key, value) in header { try json.write("\(JSONText.quote(key)):\(value),\n") }
        try json.write("\"assumptions\":\(Scanner.assumptionsJSON),\n\"lines\":[\n")
    }

    func add(csvRecord: some Sequence<UInt8>, json object: some Sequence<UInt8>, remediable isRemediable: Bool) throws {
        try csv.write(bytes: csvRecord)
        try csv.write(bytes: suffix)
        if lines > 0 { try json.write(bytes: ",\n".utf8) }
        try json.write(bytes: object)
        lines += 1
        if isRemediable { remediable += 1 }
    }

    func finish(summary: String) throws -> [String] {
        try json.write("\n]\n}\n")
        try json.commit()
        try csv.commit()
        try OutputFile.write(summary, to: dir + "/summary.json")
        return [dir + "/plan.csv", dir + "/plan.json", dir + "/summary.json"]
    }
}

/// `summary.json`: of a store scan or a warehouse scan.
enum SourceSummary {
    static func json(
        source: [(String, String)], totals: ScanTotals, planLines: Int, remediable: Int, rulesSHA256: String?,
        now: Instant, extra: [(String, String)] = []
    ) -> String {
        var out = "{\n  \"format\": \"idaudit-summary/1\",\n  \"generated_at\": \"\(now)\",\n"
        for (key, value) in source { out += "  \(JSONText.quote(key)): \(value),\n" }
        if let rulesSHA256 { out += "  \"rules_sha256\": \"\(rulesSHA256)\",\n" }
        out += "  \"profiles\": \(totals.profiles),\n"
        out += "  \"active_identifiers\": \(totals.identifiers),\n"
        out += "  \"profiles_in_violation\": \(totals.profilesInViolation),\n"
        out += "  \"excess_identifiers\": \(planLines),\n"
        out += "  \"remediable\": \(remediable),\n"
        for (key, value) in extra { out += "  \(JSONText.quote(key)): \(value),\n" }
        out += "  \"not_remediable\": \(planLines - remediable),\n"
        out += "  \"excess\": [\n"
        out += totals.excess.map {
            "    {\"type\": \(JSONText.quote($0.type)), \"reason\": \"\($0.reason.rawValue)\", \"count\": \($0.count), "
                + "\"remediable\": \($0.remediable)}"
        }.joined(separator: ",\n")
        out += (totals.excess.isEmpty ? "" : "\n") + "  ]\n}\n"
        return out
    }
}

/// Accumulates totals as evaluations stream by.
struct TotalsAccumulator {
    var totals = ScanTotals()
    var tally = ExcessTally()

    mutating func add(_ evaluation: ProfileEvaluation, identifiers: Int) {
        totals.profiles += 1
        totals.identifiers += identifiers
        if !evaluation.lines.isEmpty { totals.profilesInViolation += 1 }
        for line in evaluation.lines { tally.add(type: line.type, reason: line.reason, remediable: line.remediable) }
    }

    func finish() -> ScanTotals {
        var out = totals
        out.excess = tally.excess
        return out
    }
}

/// A scan of a PostgreSQL warehouse in place (`scan --source postgres`): rows stream in per canonical profile,
/// ordered by canonical id, and each profile is evaluated and written as it arrives.
public enum WarehouseScan {
    /// Scans the warehouse and writes the plan.
    public static func run(
        reader: WarehouseReader, rules: RuleSet, rulesPath: String, outDirectory: String, now: Instant,
        redact: Bool = false, progress: (@Sendable (Int) -> Void)? = nil
    ) async throws -> SourceScanResult {
        var header: [(String, String)] = [
            ("source", "\"postgres\""), ("schema", JSONText.quote(reader.configuration.schema)),
        ]
        header += [
            ("rules_file", JSONText.quote(rulesPath)), ("rules_sha256", "\"\(rules.sha256)\""),
            ("generated_at", "\"\(now)\""),
        ]
        let sink = WarehouseSink(
            output: try PlanOutput(
                outDirectory: outDirectory, stamp: PlanStamp(generatedAt: now, rulesSHA256: rules.sha256),
                header: header),
            rules: rules,
            report: ReportCollector(redact: redact))
        try await reader.forEachProfile { profile in
            try sink.add(profile)
            if sink.profiles & 0x3FFF == 0 { progress?(sink.profiles) }
        }
        let totals = sink.accumulator.finish()
        let source = "PostgreSQL \(reader.configuration.description), schema \(reader.configuration.schema)"
        let report = ReportData(
            collected: sink.report, source: source, rulesPath: rulesPath, rules: rules, totals: totals,
            excess: sink.output.lines, remediable: sink.output.remediable, now: now)
        try OutputFile.write(HTMLReport.render(report), to: sink.output.dir + "/report.html")
        try OutputFile.write(MarkdownReport.render(report), to: sink.output.dir + "/report.md")
        let summary = SourceSummary.json(
            source: header.filter { $0.0 == "source" || $0.0 == "schema" }, totals: totals,
            planLines: sink.output.lines, remediable: sink.output.remediable, rulesSHA256: rules.sha256, now: now)
        let files =
            try sink.output.finish(summary: summary) + [sink.output.dir + "/report.html", sink.output.dir + "/report.md"]
        return SourceScanResult(
            totals: totals, planLines: sink.output.lines, remediableLines: sink.output.remediable, files: files,
            summaryJSON: summary)
    }
}

/// Evaluates and writes warehouse profiles. `@unchecked Sendable`: the reader calls it from one task, one profile
/// after another (the row stream is sequential), never concurrently.
final class WarehouseSink: @unchecked Sendable {
    let output: PlanOutput
    let evaluator: Evaluator
    let report: ReportCollector
    var accumulator = TotalsAccumulator()
    var profiles = 0

    init(output: PlanOutput, rules: RuleSet, report: ReportCollector) {
        self.output = output
        self.report = report
        evaluator = Evaluator(rules: rules)
    }

    func add(_ profile: Profile) throws {
        let evaluation = evaluator.evaluate(profile)
        accumulator.add(evaluation, identifiers: profile.identifiers.count)
        report.add(evaluation)
        profiles += 1
        guard !evaluation.lines.isEmpty else { return }
        for (line, json) in zip(evaluation.lines, evaluation.jsonLines) {
            try output.add(csvRecord: line.csvRecord.utf8, json: json.utf8, remediable: line.remediable)
        }
    }
}
