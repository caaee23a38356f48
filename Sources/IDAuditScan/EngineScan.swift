import Foundation
import IDAuditCSV
import IDAuditCore
import IDAuditEngine
import IDAuditSQL

/// A scan computed by an engine where the data lives (`scan --source duckdb|spark|postgres`): the engine runs the
/// plan script and idaudit reads back only the result tables, then writes the same folder a store scan writes.
public enum EngineScan {
    /// What the engine is asked to read and where it writes its tables.
    public struct Options: Sendable {
        /// The schema holding the Profiles Sync tables.
        public var sourceSchema: String
        /// The schema the result tables go to.
        public var targetSchema: String
        /// The rules file's path, recorded in the outputs.
        public var rulesPath: String
        /// The output folder.
        public var outDirectory: String
        /// Hash identifier values in the reports.
        public var redact = false
        /// A previous scan's output folder to compare with (`--previous`).
        public var previousFolder: String?
        /// The rounds of pointer jumping for merge chains (``PlanScript/Options/mergeRounds``).
        public var mergeRounds = PlanScript.defaultMergeRounds

        /// Options.
        public init(sourceSchema: String, targetSchema: String, rulesPath: String, outDirectory: String) {
            self.sourceSchema = sourceSchema
            self.targetSchema = targetSchema
            self.rulesPath = rulesPath
            self.outDirectory = outDirectory
        }
    }

    /// Runs the plan script on `engine` and writes plan.csv, plan.json, summary.json and the reports.
    public static func run(
        engine: any PlanEngine, rules: RuleSet, options: Options, now: Instant
    ) async throws -> ScanResult {
        var scriptOptions = PlanScript.Options(
            dialect: engine.dialect, sourceSchema: options.sourceSchema, targetSchema: options.targetSchema)
        scriptOptions.generatedAt = now
        scriptOptions.mergeRounds = options.mergeRounds
        let scripts = try ScriptVariants(rules: rules, options: scriptOptions)
        try makeDirectories(options.outDirectory)
        let dir = options.outDirectory.hasSuffix("/") ? String(options.outDirectory.dropLast()) : options.outDirectory
        let results = dir + "/.results-\(getpid())"
        try makeDirectories(results)
        defer { try? FileManager.default.removeItem(atPath: results) }
        try await engine.run(scripts, into: results)
        var scanOptions = ScanOptions(outDirectory: dir, rulesPath: options.rulesPath)
        scanOptions.redact = options.redact
        scanOptions.previousFolder = options.previousFolder
        let source = EngineResults(
            folder: results,
            planFields: [
                ("source", JSONText.quote(engine.dialect.rawValue)), ("engine", JSONText.quote(engine.description)),
                ("schema", JSONText.quote(options.sourceSchema)),
                ("results_schema", JSONText.quote(options.targetSchema)),
            ],
            reportLabel: engine.description + ", schema " + options.sourceSchema)
        return try ScanPipeline.run(source: source, rules: rules, options: scanOptions, now: now)
    }
}

/// The result tables an engine wrote (unloaded as CSV into a folder) as a scan source: the plan table read back in
/// plan order, with each group's kept values; totals, histogram, offender profiles and cap counts from their tables.
struct EngineResults: ScanSource {
    /// The folder holding `idaudit_plan.csv` and the other result tables, each sorted as ``PlanTable`` reads it,
    /// with a header.
    let folder: String
    /// What plan.json and summary.json say of the source (the engine and its schemas; an unload folder).
    let planFields: [(String, String)]
    /// What the reports say was scanned.
    let reportLabel: String

    var summaryFields: [(String, String)] { planFields }

    func scan(into output: PlanOutput, rules: RuleSet, options: ScanOptions, now: Instant) throws -> ScanFacts {
        let results = folder
        var kept = try ResultReader(results + "/idaudit_kept.csv")
        var keptRow = try kept.next()
        var plan = try ResultReader(results + "/idaudit_plan.csv")
        var group: [PlanLine] = []
        func flush() throws {
            guard let first = group.first else { return }
            var values: [String] = []
            // Kept rows are only written for groups with deletions, in the plan's (segment, type) order.
            while let row = keptRow, ResultReader.less(row[0], row[1], than: first.segmentID, first.type) {
                keptRow = try kept.next()
            }
            while let row = keptRow, ByteOrder.equal(row[0], first.segmentID), ByteOrder.equal(row[1], first.type) {
                values.append(row[2])
                keptRow = try kept.next()
            }
            let counted = values.count + group.count { $0.reason == .limit }
            let limit = group.first { $0.reason == .limit }?.limit
            for line in group {
                try output.add(
                    csvRecord: line.csvRecord.utf8,
                    json: line.jsonEntry(line.jsonObject, limit: limit, counted: counted, kept: values).utf8,
                    remediable: line.remediable, rank: line.rank)
            }
            group.removeAll(keepingCapacity: true)
        }
        var tally = ExcessTally()
        while let row = try plan.next() {
            let line = try EngineScan.planLine(row, file: plan.path, line: plan.line)
            if let first = group.first,
                !(ByteOrder.equal(first.segmentID, line.segmentID) && ByteOrder.equal(first.type, line.type))
            {
                try flush()
            }
            group.append(line)
            tally.add(type: line.type, reason: line.reason, remediable: line.remediable)
        }
        try flush()

        var facts = ScanFacts()
        var summary = try ResultReader(results + "/idaudit_summary.csv")
        while let row = try summary.next() {
            let count = Int(row[3]) ?? 0
            switch row[0] {
            case "profiles": facts.totals.profiles = count
            case "active_identifiers": facts.totals.identifiers = count
            case "profiles_in_violation": facts.totals.profilesInViolation = count
            default: break
            }
        }
        facts.totals.excess = tally.excess

        var histogramRows = try ResultReader(results + "/idaudit_histogram.csv")
        while let row = try histogramRows.next() {
            facts.histogram[ByteString(row[0]), default: [:]][Int(row[1]) ?? 0] = Int(row[2]) ?? 0
        }

        // The engine lists the offenders' identifiers; their verdicts come from the same rules, in process.
        let evaluator = Evaluator(rules: rules)
        let redactor = Redactor(enabled: options.redact)
        var offenderRows = try ResultReader(results + "/idaudit_offenders.csv")
        var current: Profile?
        func addOffender() {
            guard let profile = current else { return }
            let evaluation = evaluator.evaluate(profile)
            facts.offenders.append(ReportData.Offender(evaluation, excess: evaluation.lines.count, redactor: redactor))
        }
        while let row = try offenderRows.next() {
            let identifier = ProfileIdentifier(
                type: row[1], value: row[2], firstSeen: Instant(microseconds: Int64(row[3]) ?? 0),
                seq: Int64(row[4]) ?? 0)
            if let profile = current, ByteOrder.equal(profile.canonicalID, row[0]) {
                current?.identifiers.append(identifier)
            } else {
                addOffender()
                current = Profile(canonicalID: row[0], identifiers: [identifier])
            }
        }
        addOffender()
        facts.offenders.sort {
            $0.excess != $1.excess ? $0.excess > $1.excess : ByteOrder.less($0.canonicalID, $1.canonicalID)
        }

        var capRows: [String: [(profile: String, count: Int)]] = [:]
        var capsTable = try ResultReader(results + "/idaudit_caps.csv")
        while let row = try capsTable.next() { capRows[row[0], default: []].append((row[1], Int(row[2]) ?? 0)) }
        facts.caps = [
            CapCount.counting("merges", cap: rules.caps.merges, counts: capRows["merges"] ?? []),
            CapCount.counting("mappings", cap: rules.caps.mappings, counts: capRows["mappings"] ?? []),
        ]
        return facts
    }
}

extension EngineScan {
    /// A plan table row (plan.csv's columns) as a plan line.
    static func planLine(_ f: [String], file: String, line: Int) throws -> PlanLine {
        guard f.count >= 12, let reason = ExcessReason(rawValue: f[3]), let rank = Int(f[4]),
            let firstSeen = Instant(parsing: f[7]), let seq = Int64(f[8])
        else {
            throw EngineError("\(file):\(line): not a plan row the script writes: \(f.prefix(12).joined(separator: ","))")
        }
        var limit: IdentifierLimit?
        if let count = Int(f[9]), let frequency = Frequency(rawValue: f[10]) {
            limit = IdentifierLimit(limit: count, frequency: frequency)
        }
        return PlanLine(
            segmentID: f[0], type: f[1], value: f[2], reason: reason, rank: rank, lookupUserID: f[5],
            remediable: f[6] == "true", firstSeen: firstSeen, seq: seq, limit: limit,
            matched: f[11].isEmpty ? nil : f[11])
    }
}

/// One result table's CSV file, row by row (fields as text; an empty field is an empty string).
struct ResultReader {
    let path: String
    private let reader: CSVReader
    private(set) var columns: [String] = []
    var line: Int { reader.line }

    init(_ path: String) throws {
        self.path = path
        reader = try CSVReader(path: path)
        guard try reader.next() else { throw EngineError("\(path): the engine wrote no header") }
        columns = reader.allFields()
    }

    mutating func next() throws -> [String]? {
        guard try reader.next() else { return nil }
        let fields = reader.allFields()
        guard fields.count == columns.count else {
            throw EngineError("\(path):\(reader.line): \(fields.count) fields; the header has \(columns.count)")
        }
        return fields
    }

    /// Whether (segment, type) sorts before (otherSegment, otherType), by bytes.
    static func less(_ segment: String, _ type: String, than otherSegment: String, _ otherType: String) -> Bool {
        if !ByteOrder.equal(segment, otherSegment) { return ByteOrder.less(segment, otherSegment) }
        return ByteOrder.less(type, otherType)
    }
}
