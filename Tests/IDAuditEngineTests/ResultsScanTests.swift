import Foundation
import IDAuditCore
import IDAuditEngine
import IDAuditRules
import IDAuditSQL
import IDAuditScan
import IDAuditTestSupport
import Testing

/// `scan --results DIR`: the script run where the data lives, its six tables unloaded as a warehouse unloads them,
/// read back into the same folder as any scan. DuckDB plays the warehouse: it runs the printed script over the
/// fixture export, then unloads each table its own way (parts without a header, gzip with one, a BigQuery-style
/// shard, a Redshift-style part).
extension EngineParityTests {
    /// Runs the DuckDB script for `rules` (stamped `now`) over `export` and unloads the result tables into `unload`.
    static func runAndUnload(rules: RuleSet, export: String, unload: String) throws {
        var options = PlanScript.Options(dialect: .duckdb, sourceSchema: "profiles_sync", targetSchema: "idaudit_results")
        options.generatedAt = Self.now
        let script = try PlanScript(rules: rules, options: options).statements.joined(separator: ";\n\n") + ";\n"
        let path = unload + ".sql"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let python = #"""
            import csv, duckdb, os, sys
            script, export, unload = sys.argv[1:4]
            con = duckdb.connect()
            con.execute("CREATE SCHEMA profiles_sync")
            for table in ("id_graph_updates", "external_id_mapping_updates"):
                path = os.path.join(export, table + ".csv")
                names = [n.strip().lower() for n in next(csv.reader(open(path, encoding="utf-8")))]
                columns = "{" + ", ".join("'%s': 'VARCHAR'" % n for n in names) + "}"
                con.execute("CREATE VIEW profiles_sync.%s AS SELECT * FROM read_csv('%s', auto_detect = false, "
                            "header = true, delim = ',', quote = '\"', escape = '\"', columns = %s, strict_mode = true)"
                            % (table, path, columns))
            con.execute(open(script, encoding="utf-8").read())
            os.makedirs(unload, exist_ok=True)
            def copy(table, target, options):
                con.execute("COPY (SELECT * FROM idaudit_results.%s) TO '%s' (FORMAT CSV, %s)"
                            % (table, os.path.join(unload, target), options))
            copy("idaudit_plan", "idaudit_plan", "HEADER false, PER_THREAD_OUTPUT true")     # a folder of parts
            copy("idaudit_kept", "idaudit_kept.csv.gz", "HEADER true, COMPRESSION gzip")
            copy("idaudit_offenders", "idaudit_offenders-000000000000.csv", "HEADER false")  # BigQuery's shard
            copy("idaudit_summary", "idaudit_summary_0000_part_00", "HEADER true")           # Redshift's part
            copy("idaudit_histogram", "idaudit_histogram.csv", "HEADER false")
            copy("idaudit_caps", "idaudit_caps.csv", "HEADER true")
            """#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", python, path, export, unload]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(text)")
    }

    @Test(.enabled(if: TestEngines.duckdb, "pip install duckdb to run"))
    func unloadedResultTablesEqualTheStore() throws {
        let dir = try TemporaryDirectory("engine-results")
        let export = try Self.export(in: dir)
        _ = try Self.storeScans(dir, export: export)
        for (name, text) in Self.ruleTexts {
            let rules = try RulesLoader.parse(text, file: name + ".yaml")
            let unload = dir.file("unload-\(name)")
            try Self.runAndUnload(rules: rules, export: export, unload: unload)
            let out = "results-\(name)"
            // `now` is not the stamp: the plan's time is the warehouse run's, from its plan table.
            let result = try ResultsScan.run(
                directory: unload, rules: rules,
                options: ScanOptions(outDirectory: dir.file(out), rulesPath: name), now: Instant(microseconds: 0))
            #expect(result.planLines > 0)
            #expect(try dir.read("\(out)/plan.csv") == dir.read("sqlite-\(name)/plan.csv"), "plan.csv: \(name)")
            let lines = { (folder: String) throws -> Substring in
                let text = try dir.read("\(folder)/plan.json")
                let start = text.range(of: "\"groups\":[")!.lowerBound
                return text[start..<text.range(of: "\n]", options: .backwards)!.upperBound]
            }
            #expect(try lines(out) == lines("sqlite-\(name)"), "plan.json lines: \(name)")
            let summary = try dir.read("\(out)/summary.json")
            #expect(summary.contains("\"source\": \"results\""))
            #expect(summary.contains("\"excess_identifiers\": \(result.planLines),"))
            // The work folder is gone: the output folder holds the scan's files only.
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.file(out)).sorted()
            #expect(files == ["plan.csv", "plan.json", "report.html", "report.md", "summary.json"])
        }
    }

    @Test(.enabled(if: TestEngines.duckdb, "pip install duckdb to run"))
    func tablesOfAnotherRunOrOtherRulesAreRefusedNamingTheFile() throws {
        let dir = try TemporaryDirectory("engine-results-refused")
        let export = try Self.export(in: dir)
        let (name, text) = Self.ruleTexts[0]
        let rules = try RulesLoader.parse(text, file: name + ".yaml")
        let unload = dir.file("unload")
        try Self.runAndUnload(rules: rules, export: export, unload: unload)
        let scanOptions = ScanOptions(outDirectory: dir.file("out"), rulesPath: name)
        // Other rules.
        let other = try RulesLoader.parse(Self.ruleTexts[1].1, file: "other.yaml")
        #expect {
            try ResultsScan.run(directory: unload, rules: other, options: scanOptions, now: Self.now)
        } throws: { "\($0)".contains("the tables were made with other rules") }
        // A part of another run beside this run's parts.
        let parts = try FileManager.default.contentsOfDirectory(atPath: unload + "/idaudit_plan").sorted()
        let texts = try parts.map { try String(contentsOfFile: unload + "/idaudit_plan/" + $0, encoding: .utf8) }
        let line = try #require(texts.first { !$0.isEmpty }?.split(separator: "\n").first)
        let later = line.replacingOccurrences(of: "2026-11-25T00:00:00Z", with: "2026-11-26T00:00:00Z")
        try (later + "\n").write(toFile: unload + "/idaudit_plan/zz-later.csv", atomically: true, encoding: .utf8)
        #expect {
            try ResultsScan.run(directory: unload, rules: rules, options: scanOptions, now: Self.now)
        } throws: { "\($0)".contains("zz-later.csv:1: generated_at 2026-11-26T00:00:00Z") && "\($0)".contains("two runs") }
        // Parquet is named, not guessed at; a missing table is named.
        try FileManager.default.removeItem(atPath: unload + "/idaudit_plan/zz-later.csv")
        try Data().write(to: URL(fileURLWithPath: unload + "/idaudit_caps.parquet"))
        #expect {
            try ResultsScan.run(directory: unload, rules: rules, options: scanOptions, now: Self.now)
        } throws: { "\($0)".contains("idaudit_caps.parquet: Parquet is not read here") }
        try FileManager.default.removeItem(atPath: unload + "/idaudit_caps.parquet")
        try FileManager.default.removeItem(atPath: unload + "/idaudit_caps.csv")
        #expect {
            try ResultsScan.run(directory: unload, rules: rules, options: scanOptions, now: Self.now)
        } throws: { "\($0)".contains("no idaudit_caps.csv") }
    }
}
