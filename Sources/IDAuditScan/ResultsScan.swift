import Foundation
import IDAuditCSV
import IDAuditCore
import IDAuditEngine

/// A scan of result tables the user's warehouse computed and unloaded (`scan --results DIR`): the plan script ran
/// there (`idaudit sql`), its six tables were unloaded as CSV, and this writes the same folder any scan writes.
public enum ResultsScan {
    /// Reads the unloaded tables in `directory`, checks them against `rules`, and writes the plan folder. The plan
    /// lines are stamped with the time the warehouse ran the script (the plan table's `generated_at`), so the plan's
    /// age is the data's; `now` stands in for an empty plan.
    public static func run(directory: String, rules: RuleSet, options: ScanOptions, now: Instant) throws -> ScanResult {
        try makeDirectories(options.outDirectory)
        let dir = options.outDirectory.hasSuffix("/") ? String(options.outDirectory.dropLast()) : options.outDirectory
        let work = dir + "/.results-\(getpid())"
        try makeDirectories(work)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let unload = UnloadedResults(directory: directory)
        let generatedAt = try unload.normalize(into: work, rulesSHA256: rules.sha256)
        let source = EngineResults(
            folder: work, planFields: [("source", "\"results\""), ("results", JSONText.quote(directory))],
            reportLabel: "result tables unloaded to \(directory)")
        return try ScanPipeline.run(source: source, rules: rules, options: options, now: generatedAt ?? now)
    }
}

/// The six result tables as warehouses unload them: one file or many (Snowflake `COPY INTO` single or split,
/// BigQuery `EXPORT DATA` shards `name-000000000000.csv`, Redshift `UNLOAD` parts `name_0000_part_00` or
/// `name0000_part_00`, Spark and Databricks folders of `part-*.csv`), with or without a header, plain or gzip. Every
/// file is read as RFC 4180 with the script's columns; rows are sorted as the engine path reads them.
struct UnloadedResults {
    let directory: String

    /// The files holding `table`, in name order.
    func files(of table: ResultTable) throws -> [String] {
        let fm = FileManager.default
        let entries: [String]
        do {
            entries = try fm.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw ResultsError("\(directory): cannot list the folder (\(error.localizedDescription))")
        }
        var found: [String] = []
        func consider(_ path: String, name: String) throws {
            if name.hasSuffix(".parquet") {
                throw ResultsError(
                    "\(path): Parquet is not read here: unload the result tables as CSV (a header or none, plain or "
                        + "gzip)")
            }
            found.append(path)
        }
        for name in entries where !name.hasPrefix(".") && !name.hasPrefix("_") {
            let path = directory + "/" + name
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            var stem = name.hasSuffix(".gz") ? String(name.dropLast(3)) : name
            for suffix in [".csv", ".parquet"] where stem.hasSuffix(suffix) { stem = String(stem.dropLast(suffix.count)) }
            guard stem == table.rawValue || Self.isPart(stem, of: table.rawValue) else { continue }
            if isDirectory.boolValue {
                // A folder of parts (Spark, Databricks): its data files, not _SUCCESS or .crc.
                let parts = (try? fm.contentsOfDirectory(atPath: path).sorted()) ?? []
                for part in parts where !part.hasPrefix(".") && !part.hasPrefix("_") && !part.hasSuffix(".crc") {
                    try consider(path + "/" + part, name: part)
                }
            } else {
                try consider(path, name: name)
            }
        }
        guard !found.isEmpty else {
            throw ResultsError(
                "\(directory): no \(table.rawValue).csv (or parts \(table.rawValue)-*, \(table.rawValue)_*, a folder "
                    + "\(table.rawValue)/): unload the six result tables of one run of `idaudit sql` there")
        }
        return found
    }

    /// `idaudit_plan-000000000000` (BigQuery), `idaudit_plan_0000_part_00` (Redshift), `idaudit_plan0000_part_00`,
    /// `idaudit_plan_0_0_0` (Snowflake): the table's name, then a separator or digits, then digits and `_part_`.
    static func isPart(_ stem: String, of table: String) -> Bool {
        guard stem.hasPrefix(table) else { return false }
        let rest = stem.dropFirst(table.count)
        guard let first = rest.first, first == "-" || first == "_" || first.isASCII && first.isNumber else {
            return false
        }
        return rest.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "-" || $0 == "_" || $0.isLetter) }
            && rest.contains { $0.isNumber }
    }

    /// Reads every table, checks the plan's stamps against `rulesSHA256`, and writes each table sorted, with a header,
    /// into `folder`; returns the plan's `generated_at` (nil for an empty plan).
    func normalize(into folder: String, rulesSHA256: String) throws -> Instant? {
        var generatedAt: Instant?
        for table in ResultTable.allCases {
            var rows: [[String]] = []
            var stamp: (generated: String, rules: String, file: String)?
            for path in try files(of: table) {
                let reader = try CSVReader(path: path)
                var first = true
                while try reader.next() {
                    var row: [String] = []
                    for index in 0..<reader.fieldCount {
                        guard let text = reader.string(at: index) else {
                            throw ResultsError("\(path):\(reader.line): field \(index + 1) is not valid UTF-8")
                        }
                        row.append(text)
                    }
                    defer { first = false }
                    if first, row.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) == table.columns {
                        continue  // the header (no data row can equal it: each table has an integer column)
                    }
                    guard row.count == table.columns.count else {
                        throw ResultsError(
                            "\(path):\(reader.line): \(row.count) fields; \(table.rawValue) has \(table.columns.count) "
                                + "(\(table.columns.joined(separator: ","))): unload it as CSV with `,` between "
                                + "fields and `\"` around them")
                    }
                    if table == .plan {
                        let (generated, rules) = (row[12], row[13])
                        if let stamp {
                            guard stamp.generated == generated, stamp.rules == rules else {
                                throw ResultsError(
                                    "\(path):\(reader.line): generated_at \(generated) and rules_sha256 "
                                        + "\(rules.prefix(12)) differ from \(stamp.file)'s (\(stamp.generated), "
                                        + "\(stamp.rules.prefix(12))): the tables of two runs are mixed; unload one run")
                            }
                        } else {
                            guard rules == rulesSHA256 else {
                                throw ResultsError(
                                    "\(path):\(reader.line): the tables were made with other rules (rules_sha256 "
                                        + "\(rules.prefix(12)), the rules given \(rulesSHA256.prefix(12))): pass the "
                                        + "rules file the script was printed from")
                            }
                            guard let time = Instant(parsing: generated) else {
                                throw ResultsError("\(path):\(reader.line): generated_at \"\(generated)\" is not a time")
                            }
                            generatedAt = time
                            stamp = (generated, rules, path)
                        }
                    }
                    rows.append(row)
                }
            }
            rows.sort(by: table.before)
            let out = try OutputFile(path: folder + "/" + table.rawValue + ".csv")
            try out.writeCSVRecord(table.columns)
            for row in rows { try out.writeCSVRecord(row) }
            try out.commit()
        }
        return generatedAt
    }
}

/// Unloaded result tables that cannot be read.
public struct ResultsError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, naming the file.
    public var description: String
    init(_ description: String) { self.description = description }
}
