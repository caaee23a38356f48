import Foundation
import IDAuditCore
import IDAuditEngine
import IDAuditRules
import IDAuditSQL
import IDAuditSample
import IDAuditScan
import IDAuditStore
import IDAuditTestSupport
@testable import IDAuditWarehouse
import PostgresNIO
import Testing

/// The engines the tests can reach: PostgreSQL at `IDAUDIT_TEST_PG_URL` (`.ci/run` starts one), DuckDB through the
/// `duckdb` Python package, Spark through `spark-submit` (pyspark) with Java. Tests of an engine that is not there
/// are skipped; `.ci/run` installs and starts all three.
enum TestEngines {
    static let pgURL = ProcessInfo.processInfo.environment["IDAUDIT_TEST_PG_URL"]
    static var postgres: Bool { pgURL != nil }
    static let duckdb = succeeds("python3", ["-c", "import duckdb"])
    static let clickhouse = succeeds("python3", ["-c", "import chdb"])
    static let spark = succeeds("sh", ["-c", "python3 -c 'import pyspark' && command -v java"])

    static func succeeds(_ tool: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Spark in local mode with the 1 GB heap these small fixtures need: three suites start a JVM each at once, and
    /// the default for real runs (a quarter of the machine's memory each) starved the other suites' timing tests.
    static func sparkEngine() -> ProcessEngine {
        var engine = ProcessEngine(dialect: .spark)
        engine.conf["spark.driver.memory"] = "1g"
        return engine
    }

    static func pg(schema: String) throws -> WarehouseConfiguration {
        try WarehouseConfiguration.parse(url: pgURL ?? "", schema: schema, statementTimeoutSeconds: 300)
    }

    /// The role scans run as: exactly the README's grants for PostgreSQL, never a superuser (`USAGE` on the source
    /// schema, `SELECT` on its tables, the results schema owned by the role; no `CREATE` on the database). Made by the
    /// superuser the tests load data with; `database` is the URL's unless given.
    static let auditor = "idaudit_auditor"

    static func auditor(source: String, results: String = "idaudit_results", database: String? = nil) async throws
        -> WarehouseConfiguration
    {
        var admin = pgURL ?? ""
        if let database { admin = admin.replacing(/\/[^\/]*$/, with: "/" + database) }
        let superuser = try WarehouseConfiguration.parse(url: admin, schema: "public", statementTimeoutSeconds: 300)
        _ = try await WarehouseReader(configuration: superuser).withSession(readOnly: false) { connection, logger in
            for statement in [
                "DO $r$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(auditor)') THEN "
                    + "CREATE ROLE \(auditor) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $r$",
                "REVOKE CREATE ON DATABASE \(database ?? "postgres") FROM PUBLIC",
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                "GRANT USAGE ON SCHEMA \(source) TO \(auditor)",
                "GRANT SELECT ON ALL TABLES IN SCHEMA \(source) TO \(auditor)",
                "CREATE SCHEMA IF NOT EXISTS \(results) AUTHORIZATION \(auditor)",
                "ALTER SCHEMA \(results) OWNER TO \(auditor)",
            ] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
        let url = admin.replacing(/\/\/[^@\/]*@/, with: "//\(auditor)@")
        return try WarehouseConfiguration.parse(url: url, schema: source, statementTimeoutSeconds: 300)
    }

    /// Writes Parquet copies of an export's CSV files with typed columns (timestamps, integer SEQ), as a warehouse
    /// unload writes them, through DuckDB.
    static func parquet(from export: String, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = """
            import duckdb, sys
            src, dst = sys.argv[1], sys.argv[2]
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            for t in ("id_graph_updates", "external_id_mapping_updates"):
                rel = con.execute(f"SELECT * FROM read_csv('{src}/{t}.csv', header = true, all_varchar = true) LIMIT 0")
                cols = [d[0] for d in rel.description]
                def typed(c):
                    l = c.lower()
                    if l in ("timestamp", "received_at"): return f'CAST(NULLIF("{c}", \\'\\') AS TIMESTAMPTZ) AS "{c}"'
                    if l == "seq": return f'CAST("{c}" AS BIGINT) AS "{c}"'
                    return f'"{c}"'
                sel = ", ".join(typed(c) for c in cols)
                con.execute(f"COPY (SELECT {sel} FROM read_csv('{src}/{t}.csv', header = true, all_varchar = true)) TO '{dst}/{t}.parquet' (FORMAT parquet)")
            """
        let file = directory + "/make.py"
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        guard succeeds("python3", [file, export, directory]) else { throw EngineError("could not write Parquet") }
        try FileManager.default.removeItem(atPath: file)
    }
}

/// Issue 11: the whole plan computed inside each engine equals the SQLite store's plan, line for line, with the same
/// totals, histograms and top offenders, for three rule files and typed or all-text inputs.
@Suite(.serialized)
struct EngineParityTests {
    static let now = Instant(parsing: "2026-11-25 00:00:00")!

    /// Rule files: the shipped ones, and one with windows, a default, blocked patterns and protected values.
    static let ruleTexts: [(String, String)] = [
        ("segment-defaults", try! String(contentsOfFile: repoRoot + "/rules/segment-defaults.yaml", encoding: .utf8)),
        ("segment-recommended", try! String(contentsOfFile: repoRoot + "/rules/segment-recommended.yaml", encoding: .utf8)),
        (
            "windows",
            """
            default: {limit: 2, frequency: monthly}
            identifiers:
              user_id: {limit: 1}
              email: {limit: 1, frequency: weekly}
              anonymous_id: {limit: 3, frequency: daily}
            blocked:
              - pattern: "^[0-9-]*$"
                types: [phone]
              - value: "null"
            protected:
              - {type: email, value: "ceo@x.com"}
              - {type: email, value: "boss@x.com"}
            caps: {merges: 2, mappings: 6}
            """
        ),
    ]

    static var repoRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// A sample export (merges, REMOVED rows, blocked values) plus hand-made edge cases: a REMOVED then CREATED
    /// identifier, equal SEQs broken by ID, merge chains of three and of 21 segments (more hops than rounds: only
    /// pointer jumping resolves it), a row whose TIMESTAMP is empty, rows delivered twice.
    static func export(in dir: TemporaryDirectory) throws -> String {
        let path = dir.file("export")
        _ = try SampleGenerator.write(SampleOptions(profiles: 400, seed: 5), to: path)
        let extraMapping = [
            "x01,use_X1,,email,back@x.com,2026-11-01 12:00:00,2026-11-01 12:00:00,100,,,,,,,,CREATED",
            "x02,use_X1,,email,back@x.com,2026-11-02 12:00:00,2026-11-02 12:00:00,200,,,,,,,,REMOVED",
            "x03,use_X2,,email,back@x.com,2026-11-03 12:00:00,2026-11-03 12:00:00,300,,,,,,,,CREATED",
            "x04,use_X2,,email,old@x.com,2026-10-01 12:00:00,2026-10-01 12:00:00,50,,,,,,,,CREATED",
            "x05,use_X3,,user_id,ux3,2026-10-02 12:00:00,2026-10-02 12:00:00,60,,,,,,,,",
            "x07,use_X3,,user_id,ux3b,,2026-10-03 12:00:00,70,,,,,,,,CREATED",
            "x06,use_X3,,user_id,ux3c,2026-10-03 12:00:00,2026-10-03 12:00:00,70,,,,,,,,CREATED",
            "x08,use_X1,,email,ceo@x.com,2026-09-01 12:00:00,2026-09-01 12:00:00,40,,,,,,,,CREATED",
            "x09,use_X1,,phone,000-000,2026-09-01 12:00:00,2026-09-01 12:00:00,41,,,,,,,,CREATED",
            // Weekly email limit: near@x.com (Nov 2) and back@x.com (first seen again Nov 3) share a window, and the
            // older one, near@x.com, is excess, but only if back@x.com's REMOVED row is honoured.
            "x10,use_X3,,email,near@x.com,2026-11-02 18:00:00,2026-11-02 18:00:00,250,,,,,,,,CREATED",
            // Rows delivered twice (overlapping exports): the store keeps one; the SQL must not be misled.
            "x02,use_X1,,email,back@x.com,2026-11-02 12:00:00,2026-11-02 12:00:00,200,,,,,,,,REMOVED",
            "x03,use_X2,,email,back@x.com,2026-11-03 12:00:00,2026-11-03 12:00:00,300,,,,,,,,CREATED",
            // One ID delivered twice with other contents: the greatest copy (REMOVED, same SEQ) wins everywhere.
            "x11,use_X4,,email,dup@x.com,2026-11-05 12:00:00,2026-11-05 12:00:00,400,,,,,,,,CREATED",
            "x11,use_X4,,email,dup@x.com,2026-11-05 12:00:00,2026-11-05 12:00:00,400,,,,,,,,REMOVED",
            // A protected value inside a window (weekly email limit 1): e1 then e2 are evicted around boss@x.com.
            "x12,use_X4,,email,e1@x.com,2026-11-10 12:00:00,2026-11-10 12:00:00,410,,,,,,,,CREATED",
            "x13,use_X4,,email,boss@x.com,2026-11-11 12:00:00,2026-11-11 12:00:00,411,,,,,,,,CREATED",
            "x14,use_X4,,email,e2@x.com,2026-11-12 12:00:00,2026-11-12 12:00:00,412,,,,,,,,CREATED",
            // Equal SEQ and time, broken by value; group_id on a profile without a user_id (not remediable).
            "x15,use_X4,,phone,+15550001,2026-11-13 12:00:00,2026-11-13 12:00:00,420,,,,,,,,CREATED",
            "x16,use_X4,,phone,+15550000,2026-11-13 12:00:00,2026-11-13 12:00:00,420,,,,,,,,CREATED",
            "x17,use_X4,,phone,+15550002,2026-11-13 12:00:00,2026-11-13 12:00:00,420,,,,,,,,CREATED",
            "x18,use_X4,,group_id,g1,2026-11-13 12:00:00,2026-11-13 12:00:00,421,,,,,,,,CREATED",
            "x19,use_X4,,group_id,g2,2026-11-14 12:00:00,2026-11-14 12:00:00,422,,,,,,,,CREATED",
            "x20,use_X4,,group_id,g3,2026-11-15 12:00:00,2026-11-15 12:00:00,423,,,,,,,,CREATED",
            "x21,use_X4,,group_id,null,2026-11-16 12:00:00,2026-11-16 12:00:00,424,,,,,,,,CREATED",
            // A chain of 21 segments (below): use_C0 and use_C9 are one profile, use_C20, with two user_ids.
            "x22,use_C0,,user_id,chain-first,2026-11-01 12:00:00,2026-11-01 12:00:00,430,,,,,,,,CREATED",
            "x23,use_C9,,user_id,chain-middle,2026-11-02 12:00:00,2026-11-02 12:00:00,431,,,,,,,,CREATED",
        ]
        let extraGraph = [
            "use_X1,use_X2,identify,e1,2026-11-02T00:00:00Z,10,",
            "use_X2,use_X3,identify,e2,2026-11-03T00:00:00Z,11,",
            "use_X3,use_X3,identify,e3,2026-11-03T00:00:00Z,12,",
        ] + (0..<20).map { "use_C\($0),use_C\($0 + 1),identify,c\($0),2026-11-04T00:00:00Z,\(20 + $0)," }
        for (file, lines) in [("external_id_mapping_updates.csv", extraMapping), ("id_graph_updates.csv", extraGraph)] {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path + "/" + file))
            handle.seekToEndOfFile()
            handle.write((lines.joined(separator: "\n") + "\n").data(using: .utf8)!)
            try handle.close()
        }
        return path
    }


    /// The store's scans of the fixture, one per rule file.
    static func storeScans(_ dir: TemporaryDirectory, export: String) throws -> ProfileStore {
        let store = try ProfileStore(path: dir.file("store.sqlite"))
        _ = try store.ingest(directory: export)
        for (name, text) in ruleTexts {
            let rules = try RulesLoader.parse(text, file: name + ".yaml")
            _ = try Scanner.run(
                store: store, rules: rules,
                options: ScanOptions(outDirectory: dir.file("sqlite-\(name)"), rulesPath: name, full: true), now: now)
            // Hand-computed: the chain's two user_ids land on its last segment; the older one is excess.
            #expect(try dir.read("sqlite-\(name)/plan.csv").contains("\nuse_C20,user_id,chain-first,limit,1,chain-middle,"))
        }
        return store
    }

    /// Runs every rule file on `engine` and compares its folders with the store's.
    func compare(_ engine: any PlanEngine, _ dir: TemporaryDirectory, label: String, schema: String,
                 ruleFiles: [(String, String)] = ruleTexts) async throws {
        for (name, text) in ruleFiles {
            let rules = try RulesLoader.parse(text, file: name + ".yaml")
            let out = "\(label)-\(name)"
            let result = try await EngineScan.run(
                engine: engine, rules: rules,
                options: EngineScan.Options(sourceSchema: schema, targetSchema: "idaudit_results", rulesPath: name,
                                            outDirectory: dir.file(out)),
                now: Self.now)
            #expect(result.planLines > 0, "\(label) \(name)")
            #expect(try dir.read("\(out)/plan.csv") == dir.read("sqlite-\(name)/plan.csv"), "plan.csv: \(label) \(name)")
            let json = { (folder: String) throws -> Substring in
                let text = try dir.read("\(folder)/plan.json")
                let start = text.range(of: "\"groups\":[")!.lowerBound
                let end = text.range(of: "\n]", options: .backwards)!.upperBound
                return text[start..<end]
            }
            #expect(try json(out) == json("sqlite-\(name)"), "plan.json lines: \(label) \(name)")
            func summary(_ folder: String) throws -> [String: String] {
                let object = try JSONSerialization.jsonObject(with: Data(try dir.read("\(folder)/summary.json").utf8))
                let d = object as? [String: Any] ?? [:]
                return Dictionary(uniqueKeysWithValues: ["profiles", "active_identifiers", "profiles_in_violation",
                    "excess_identifiers", "remediable", "excess", "caps"].map { key in
                        let value = d[key] ?? NSNull()
                        let data = try? JSONSerialization.data(
                            withJSONObject: [value], options: [.sortedKeys, .fragmentsAllowed])
                        return (key, data.map { String(decoding: $0, as: UTF8.self) } ?? "")
                    })
            }
            #expect(try summary(out) == summary("sqlite-\(name)"), "summary: \(label) \(name)")
            // Histograms, top offenders and the system caps.
            func body(_ html: String) -> Substring? {
                guard let start = html.range(of: "<section><h2>Identifiers per profile"),
                    let end = html.range(of: "<section><h2>Rules and assumptions")
                else { return nil }
                return html[start.lowerBound..<end.lowerBound]
            }
            let expected = body(try dir.read("sqlite-\(name)/report.html"))
            #expect(expected != nil)
            #expect(body(try dir.read("\(out)/report.html")) == expected, "report: \(label) \(name)")
        }
    }

    /// Issue 12: an export scanned once, with no store kept, gives the store scan's folder: the same plan.csv and
    /// plan.json, summary.json and reports, but for the source's name and the run's number; caps included.
    @Test func anExportScannedOnceEqualsTheStoreScan() throws {
        let dir = try TemporaryDirectory("engine-export-once")
        let export = try Self.export(in: dir)
        let store = try Self.storeScans(dir, export: export)
        let capped = ("capped", Self.ruleTexts[1].1 + "\ncaps: {merges: 2, mappings: 6}\n")
        let rules = try RulesLoader.parse(capped.1, file: "capped.yaml")
        _ = try Scanner.run(
            store: store, rules: rules,
            options: ScanOptions(outDirectory: dir.file("sqlite-capped"), rulesPath: "capped", full: true), now: Self.now)
        #expect(try store.capCounts(rules.caps).allSatisfy { $0.atOrOver + $0.near > 0 })
        // What differs by design: the source (store or export, and its path) and the run's number.
        func normalized(_ text: String) -> String {
            text.replacing(/"store": "[^"]*"|"export": "[^"]*"/, with: "SOURCE")
                .replacing(/"run": ?[0-9]+|· run [0-9]+/, with: "RUN")
                .replacing(/(store|export) <code>[^<]*<\/code>|(store|export) [^ \n|]*(sqlite|export)[^ \n|<]*/, with: "SOURCE")
        }
        for (name, text) in Self.ruleTexts + [capped] {
            let rules = try RulesLoader.parse(text, file: name + ".yaml")
            _ = try ExportScan.run(
                exportDirectory: export, rules: rules, options: ScanOptions(outDirectory: dir.file("once-\(name)"), rulesPath: name),
                rejectsPath: nil, now: Self.now)
            #expect(try dir.read("once-\(name)/plan.csv") == dir.read("sqlite-\(name)/plan.csv"), "\(name)")
            for file in ["plan.json", "summary.json", "report.html", "report.md"] {
                let once = normalized(try dir.read("once-\(name)/\(file)"))
                let stored = normalized(try dir.read("sqlite-\(name)/\(file)"))
                #expect(once == stored, "\(name) \(file)")
                if once != stored {
                    let a = once.split(separator: "\n"), b = stored.split(separator: "\n")
                    if let i = Array(zip(a, b)).firstIndex(where: { $0.0 != $0.1 }) { print("\(file): \(a[i])\n  vs \(b[i])") }
                }
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.file("once-\(name)"))
            #expect(leftovers.sorted() == ["plan.csv", "plan.json", "report.html", "report.md", "summary.json"])
        }
    }

    @Test(.enabled(if: TestEngines.duckdb, "pip install duckdb to run"))
    func duckdbOverCSVAndParquet() async throws {
        let dir = try TemporaryDirectory("engine-duckdb")
        let export = try Self.export(in: dir)
        _ = try Self.storeScans(dir, export: export)
        var csv = ProcessEngine(dialect: .duckdb)
        csv.exportDirectory = export
        try await compare(csv, dir, label: "duckdb-csv", schema: "profiles_sync")
        try TestEngines.parquet(from: export, to: dir.file("parquet"))
        var parquet = ProcessEngine(dialect: .duckdb)
        parquet.exportDirectory = dir.file("parquet")
        try await compare(parquet, dir, label: "duckdb-parquet", schema: "profiles_sync")
    }

    @Test(.enabled(if: TestEngines.clickhouse, "pip install chdb to run"))
    func clickhouseOverCSVAndParquet() async throws {
        let dir = try TemporaryDirectory("engine-clickhouse")
        let export = try Self.export(in: dir)
        _ = try Self.storeScans(dir, export: export)
        var csv = ProcessEngine(dialect: .clickhouse)
        csv.exportDirectory = export
        try await compare(csv, dir, label: "clickhouse-csv", schema: "profiles_sync")
        guard TestEngines.duckdb else { return }
        try TestEngines.parquet(from: export, to: dir.file("parquet"))
        var parquet = ProcessEngine(dialect: .clickhouse)
        parquet.exportDirectory = dir.file("parquet")
        try await compare(parquet, dir, label: "clickhouse-parquet", schema: "profiles_sync")
    }

    @Test(.enabled(if: TestEngines.spark, "pip install pyspark and Java 17 to run"))
    func sparkOverCSVAndParquet() async throws {
        let dir = try TemporaryDirectory("engine-spark")
        let export = try Self.export(in: dir)
        _ = try Self.storeScans(dir, export: export)
        var csv = TestEngines.sparkEngine()
        csv.exportDirectory = export
        try await compare(csv, dir, label: "spark-csv", schema: "profiles_sync")
        guard TestEngines.duckdb else { return }
        try TestEngines.parquet(from: export, to: dir.file("parquet"))
        var parquet = TestEngines.sparkEngine()
        parquet.exportDirectory = dir.file("parquet")
        try await compare(parquet, dir, label: "spark-parquet", schema: "profiles_sync", ruleFiles: [Self.ruleTexts[2]])
    }

    @Test(.enabled(if: TestEngines.postgres, "set IDAUDIT_TEST_PG_URL (scripts/start-test-postgres.sh) to run"))
    func postgresTypedAndText() async throws {
        let dir = try TemporaryDirectory("engine-pg")
        let export = try Self.export(in: dir)
        _ = try Self.storeScans(dir, export: export)
        for (schema, allText) in [("t_engine_typed", false), ("t_engine_text", true)] {
            let counts = try await WarehouseLoader.load(
                exportDirectory: export, schema: schema, configuration: try TestEngines.pg(schema: schema),
                allText: allText)
            #expect((counts["external_id_mapping_updates"] ?? 0) > 1000)
            try await compare(
                PostgresEngine(configuration: try await TestEngines.auditor(source: schema)), dir,
                label: allText ? "pg-text" : "pg-typed", schema: schema)
        }
    }
}

extension EngineParityTests {
    /// The Redshift form, executed on PostgreSQL (Redshift's SQL derives from it; no Redshift runs here): the same
    /// plan, summary, histogram and caps as the store's, typed and all-text inputs, windows walked by its recursive
    /// CTE.
    @Test(.enabled(if: TestEngines.postgres, "set IDAUDIT_TEST_PG_URL (scripts/start-test-postgres.sh) to run"))
    func redshiftFormOnPostgres() async throws {
        let dir = try TemporaryDirectory("engine-redshift")
        let export = try Self.export(in: dir)
        _ = try Self.storeScans(dir, export: export)
        for (schema, allText) in [("t_redshift_typed", false), ("t_redshift_text", true)] {
            _ = try await WarehouseLoader.load(
                exportDirectory: export, schema: schema, configuration: try TestEngines.pg(schema: schema),
                allText: allText)
            try await compare(
                PostgresEngine(configuration: try await TestEngines.auditor(source: schema), dialect: .redshift), dir,
                label: allText ? "redshift-text" : "redshift-typed", schema: schema)
        }
    }

    /// A database whose default collation is ICU's en-US, as many are: the script compares bytes all the same (its
    /// text is in the "C" collation), and gives the store's plan.
    @Test(.enabled(if: TestEngines.postgres, "set IDAUDIT_TEST_PG_URL (scripts/start-test-postgres.sh) to run"))
    func postgresWithAnICUDefaultCollation() async throws {
        let dir = try TemporaryDirectory("engine-pg-icu")
        let export = try Self.export(in: dir)
        _ = try Self.storeScans(dir, export: export)
        _ = try await WarehouseReader(configuration: try TestEngines.pg(schema: "public")).withSession(readOnly: false) {
            connection, logger in
            try await connection.query("DROP DATABASE IF EXISTS idaudit_icu", logger: logger)
            try await connection.query(
                "CREATE DATABASE idaudit_icu TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'",
                logger: logger)
        }
        let url = TestEngines.pgURL!.replacing(/\/postgres$/, with: "/idaudit_icu")
        let configuration = try WarehouseConfiguration.parse(url: url, schema: "t_icu", statementTimeoutSeconds: 300)
        _ = try await WarehouseLoader.load(exportDirectory: export, schema: "t_icu", configuration: configuration)
        try await compare(
            PostgresEngine(configuration: try await TestEngines.auditor(source: "t_icu", database: "idaudit_icu")), dir,
            label: "pg-icu", schema: "t_icu", ruleFiles: [Self.ruleTexts[2]])
        // Redshift's form has no COLLATE (Redshift compares bytes and has no "C" collation): PostgreSQL runs it
        // faithfully only where the default collation is C, and refuses elsewhere (issue 18: ties between IDs such
        // as B2 and b2 flipped).
        await #expect {
            try await compare(
                PostgresEngine(
                    configuration: try await TestEngines.auditor(source: "t_icu", database: "idaudit_icu"),
                    dialect: .redshift), dir, label: "redshift-icu",
                schema: "t_icu", ruleFiles: [Self.ruleTexts[2]])
        } throws: { "\($0)".hasPrefix("the Redshift form runs on PostgreSQL only in a database whose default collation is C") }
    }

    /// Rule files whose limits are all `ever` (fakesnow cannot run the windowed fold): the shipped defaults, and
    /// the windows file with its windows made `ever` (blocked patterns, protected values and caps as they are).
    static let everRuleTexts = [ruleTexts[0], ("ever", ruleTexts[2].1.replacing(/, frequency: [a-z]+/, with: ""))]

    /// Snowflake's form, executed on fakesnow (Snowflake's SQL through sqlglot onto DuckDB; no Snowflake runs here):
    /// the same plan, summary, histograms, offenders and caps as the store's, typed and all-text tables.
    @Test(.enabled(if: FakesnowEngine.available, "pip install fakesnow to run"))
    func snowflakeFormOnFakesnow() async throws {
        let dir = try TemporaryDirectory("engine-fakesnow")
        let export = try Self.export(in: dir)
        let store = try Self.storeScans(dir, export: export)
        let (name, text) = Self.everRuleTexts[1]
        _ = try Scanner.run(
            store: store, rules: try RulesLoader.parse(text, file: name + ".yaml"),
            options: ScanOptions(outDirectory: dir.file("sqlite-\(name)"), rulesPath: name, full: true), now: Self.now)
        for allText in [false, true] {
            try await compare(
                FakesnowEngine(exportDirectory: export, allText: allText), dir,
                label: allText ? "fakesnow-text" : "fakesnow-typed", schema: "profiles_sync", ruleFiles: Self.everRuleTexts)
        }
    }

    /// Rules whose windows keep few values, with protected values inside them: long walks, many evictions.
    static let tightWindows = """
        default: {limit: 2, frequency: monthly}
        identifiers:
          user_id: {limit: 1}
          email: {limit: 2, frequency: weekly}
          anonymous_id: {limit: 1, frequency: daily}
          phone: {limit: 3, frequency: weekly}
        protected:
          - {type: email, value: "v1"}
          - {type: email, value: "v2"}
          - {type: anonymous_id, value: "v3"}
          - {type: phone, value: "v4"}
          - {type: phone, value: "v5"}
          - {type: phone, value: "v6"}
          - {type: phone, value: "v7"}
        """

    /// Two walks of one semantics, PostgreSQL's PL/pgSQL function and Redshift's recursive CTE, against the store's
    /// evaluator on random exports where a few profiles hold dozens of values of a type each over a month: every
    /// plan equal, byte for byte.
    @Test(.enabled(if: TestEngines.postgres, "set IDAUDIT_TEST_PG_URL (scripts/start-test-postgres.sh) to run"),
          arguments: 0..<4)
    func windowWalksEqualTheEvaluatorOnRandomExports(seed: UInt64) async throws {
        let dir = try TemporaryDirectory("engine-walks")
        let random = RandomExport(seed: seed, segmentCount: 5, mappingRows: 1500, valueCount: 40)
        let export = try ExportFixture.write(in: dir, "export", graph: random.graph, mapping: random.mapping)
        let rules = try RulesLoader.parse(Self.tightWindows, file: "tight.yaml")
        let store = try ProfileStore(path: dir.file("store.sqlite"))
        _ = try store.ingest(directory: export)
        _ = try Scanner.run(
            store: store, rules: rules,
            options: ScanOptions(outDirectory: dir.file("sqlite"), rulesPath: "tight", full: true), now: Self.now)
        let expected = try dir.read("sqlite/plan.csv")
        let evictions = expected.split(separator: "\n").filter { $0.contains(",weekly,") || $0.contains(",daily,") }
        #expect(evictions.count > 15, "seed \(seed): the walks should evict many values, not \(evictions.count)")
        let schema = "t_walks_\(seed)"
        _ = try await WarehouseLoader.load(
            exportDirectory: export, schema: schema, configuration: try TestEngines.pg(schema: schema), allText: false)
        for dialect in [SQLDialect.postgres, .redshift] {
            _ = try await EngineScan.run(
                engine: PostgresEngine(configuration: try await TestEngines.auditor(source: schema), dialect: dialect),
                rules: rules,
                options: EngineScan.Options(sourceSchema: schema, targetSchema: "idaudit_results", rulesPath: "tight",
                                            outDirectory: dir.file("\(dialect)")),
                now: Self.now)
            #expect(try dir.read("\(dialect)/plan.csv") == expected, "seed \(seed): \(dialect)")
        }
    }
}

/// Bad input on an engine: one line naming what and where, nothing half-written.
@Suite(.serialized)
struct EngineErrorTests {
    static let rules = try! RulesLoader.parse("identifiers: {email: {limit: 1}}", file: "r.yaml")

    func scan(_ engine: any PlanEngine, schema: String = "profiles_sync", dir: TemporaryDirectory) async throws {
        _ = try await EngineScan.run(
            engine: engine, rules: Self.rules,
            options: EngineScan.Options(sourceSchema: schema, targetSchema: "idaudit_results", rulesPath: "r",
                                        outDirectory: dir.file("o")),
            now: EngineParityTests.now)
    }

    static func cycleExport(_ dir: TemporaryDirectory) throws -> String {
        try ExportFixture.write(
            in: dir, "cycle",
            graph: [ExportFixture.graph("use_B", "use_C", seq: 1), ExportFixture.graph("use_C", "use_B", seq: 2),
                    ExportFixture.graph("use_A", "use_B", seq: 3)],
            mapping: [ExportFixture.mapping("m1", "use_A", "email", "a@x.com", day: 1, seq: 1)])
    }

    /// Rows an ingest refuses, naming their line; the script stops, naming the row: (graph, mapping, the message
    /// after the table's name).
    static let refusedRows: [(graph: [String], mapping: [String], message: String)] = [
        ([], ["m2,use_A,email,b@x.com,,,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has no time: timestamp and received_at are both empty"),
        ([], ["m2,use_A,email,,2026-11-02 12:00:00,2026-11-02 12:00:00,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has an empty EXTERNAL_ID_VALUE"),
        ([], ["m2,,email,b@x.com,2026-11-02 12:00:00,2026-11-02 12:00:00,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has an empty SEGMENT_ID"),
        ([], [",use_A,email,b@x.com,2026-11-02 12:00:00,2026-11-02 12:00:00,2,CREATED"],
         "external_id_mapping_updates: a row with an empty ID, of segment use_A"),
        ([], ["m2,use_A,email,b@x.com,2026-11-02 12:00:00,2026-11-02 12:00:00,2,DELETED"],
         "external_id_mapping_updates: the row with ID m2 has __operation \"DELETED\"; expected CREATED, REMOVED or empty"),
        (["use_A,,2026-11-01 00:00:00,4"], [],
         "id_graph_updates: a row of segment use_A has an empty CANONICAL_SEGMENT_ID"),
        // Issue 18: one grammar for times and SEQ on every engine, the store's.
        (["use_A,use_A,soon,4"], [], "id_graph_updates: a row of segment use_A has TIMESTAMP \"soon\", \(notATime)"),
        ([], ["m2,use_A,email,b@x.com, ,2026-11-02 12:00:00,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has TIMESTAMP \" \", \(notATime)"),
        ([], ["m2,use_A,email,b@x.com,2026-11-02 12:00:00 America/New_York,,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has TIMESTAMP \"2026-11-02 12:00:00 America/New_York\", \(notATime)"),
        ([], ["m2,use_A,email,b@x.com,2026-11-02 12:00:00 PST,,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has TIMESTAMP \"2026-11-02 12:00:00 PST\", \(notATime)"),
        ([], ["m2,use_A,email,b@x.com,2026-11-02,,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has TIMESTAMP \"2026-11-02\", \(notATime)"),
        ([], ["m2,use_A,email,b@x.com,2026-02-29 12:00:00,,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has TIMESTAMP \"2026-02-29 12:00:00\", \(notATime)"),
        ([], ["m2,use_A,email,b@x.com,2026-11-02 12:00:00,yesterday,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has RECEIVED_AT \"yesterday\", \(notATime)"),
        ([], ["m2,use_A,email,b@x.com,2026-11-02 12:00:00,, 9,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has SEQ \" 9\", not an integer"),
        ([], ["m2,use_A,email,b@x.com,2026-11-02 12:00:00,,7.0,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has SEQ \"7.0\", not an integer"),
        ([], ["m2,use_A,email,b@x.com,2026-11-02 12:00:00,,7.5,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has SEQ \"7.5\", not an integer"),
        ([], ["m2,use_A,email,b@x.com,2026-11-02 12:00:00,,9223372036854775808,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has SEQ \"9223372036854775808\", out of range (64 bits)"),
        (["use_A,use_A,2026-11-01 00:00:00,-9223372036854775809"], [],
         "id_graph_updates: a row of segment use_A has SEQ \"-9223372036854775809\", out of range (64 bits)"),
        ([], ["m2,use_A,email,b@x.com,0000-03-01 12:00:00,,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has TIMESTAMP \"0000-03-01 12:00:00\", \(notATime)"),
        ([], ["m2,use_A,email,b@x.com,0001-01-01 00:30:00+01,,2,CREATED"],
         "external_id_mapping_updates: the row with ID m2 has a time outside the years 0001 to 9999 (UTC)"),
    ]

    /// What a refusal says a time must look like.
    static let notATime =
        "not a time: expected YYYY-MM-DD HH:MM:SS[.fraction], T or a space between, then nothing (UTC), Z, UTC, GMT "
        + "or an offset +HH:MM, +HHMM or +HH, after a space or not"

    static func refusedExport(_ dir: TemporaryDirectory, _ index: Int) throws -> String {
        let bad = refusedRows[index]
        return try ExportFixture.write(
            in: dir, "refused\(index)", graph: [ExportFixture.graph("use_A", "use_A", seq: 1)] + bad.graph,
            mapping: [ExportFixture.mapping("m1", "use_A", "email", "a@x.com", day: 1, seq: 1)] + bad.mapping)
    }

    @Test(.enabled(if: TestEngines.duckdb, "pip install duckdb to run"), arguments: refusedRows.indices)
    func duckdbNamesARowAnIngestRefuses(_ index: Int) async throws {
        let dir = try TemporaryDirectory("engine-refused-duckdb")
        var engine = ProcessEngine(dialect: .duckdb)
        engine.exportDirectory = try Self.refusedExport(dir, index)
        await #expect {
            try await scan(engine, dir: dir)
        } throws: { "\($0)".hasSuffix("idaudit: profiles_sync.\(Self.refusedRows[index].message)") }
        #expect(!FileManager.default.fileExists(atPath: dir.file("o/plan.csv")))
    }

    @Test(.enabled(if: TestEngines.clickhouse, "pip install chdb to run"), arguments: refusedRows.indices)
    func clickhouseNamesARowAnIngestRefuses(_ index: Int) async throws {
        let dir = try TemporaryDirectory("engine-refused-clickhouse")
        var engine = ProcessEngine(dialect: .clickhouse)
        engine.exportDirectory = try Self.refusedExport(dir, index)
        await #expect {
            try await scan(engine, dir: dir)
        } throws: { "\($0)".hasSuffix("idaudit: profiles_sync.\(Self.refusedRows[index].message)") }
        #expect(!FileManager.default.fileExists(atPath: dir.file("o/plan.csv")))
    }

    @Test(.enabled(if: TestEngines.postgres, "set IDAUDIT_TEST_PG_URL to run"), arguments: refusedRows.indices)
    func postgresAndRedshiftNameARowAnIngestRefuses(_ index: Int) async throws {
        let dir = try TemporaryDirectory("engine-refused-pg")
        let schema = "t_engine_refused\(index)"
        _ = try await WarehouseLoader.load(
            exportDirectory: try Self.refusedExport(dir, index), schema: schema,
            configuration: try TestEngines.pg(schema: schema), allText: true)
        for dialect in [SQLDialect.postgres, .redshift] {
            await #expect {
                try await scan(PostgresEngine(configuration: try await TestEngines.auditor(source: schema), dialect: dialect),
                               schema: schema, dir: dir)
            } throws: { "\($0)" == "idaudit: \(schema).\(Self.refusedRows[index].message)" }
        }
    }

    @Test(.enabled(if: FakesnowEngine.available, "pip install fakesnow to run"), arguments: refusedRows.indices)
    func snowflakeNamesARowAnIngestRefuses(_ index: Int) async throws {
        let dir = try TemporaryDirectory("engine-refused-fakesnow")
        let engine = FakesnowEngine(exportDirectory: try Self.refusedExport(dir, index), allText: true)
        await #expect {
            try await scan(engine, dir: dir)
        } throws: { "\($0)".hasSuffix("idaudit: profiles_sync.\(Self.refusedRows[index].message)") }
    }

    @Test(.enabled(if: TestEngines.duckdb, "pip install duckdb to run"))
    func duckdbNamesACycleAndAMissingTable() async throws {
        let dir = try TemporaryDirectory("engine-errors-duckdb")
        var engine = ProcessEngine(dialect: .duckdb)
        engine.exportDirectory = try Self.cycleExport(dir)
        await #expect {
            try await scan(engine, dir: dir)
        } throws: {
            "\($0)".contains(
                "idaudit: merge cycle in profiles_sync.id_graph_updates: segment use_B is on a chain that never "
                    + "reaches a canonical profile within 4,096 merges: a cycle, or a longer chain, which --merge-rounds 13 "
                    + "follows up to 8,192 merges")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("o/plan.csv")))
        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: true)
        engine.exportDirectory = dir.file("empty")
        await #expect {
            try await scan(engine, dir: dir)
        } throws: { "\($0)".contains("no id_graph_updates.csv, .csv.gz or .parquet in the export folder") }
        let noColumn = try ExportFixture.write(in: dir, "nocolumn", graph: [], mapping: [])
        try "ID,SEGMENT_ID,EXTERNAL_ID_TYPE,EXTERNAL_ID_VALUE,TIMESTAMP\n".write(
            toFile: noColumn + "/external_id_mapping_updates.csv", atomically: true, encoding: .utf8)
        engine.exportDirectory = noColumn
        await #expect {
            try await scan(engine, dir: dir)
        } throws: { "\($0)".contains("column seq missing from profiles_sync.external_id_mapping_updates") }
    }

    /// Issue 18: a chain longer than the rounds reach is said to be one, with the option that follows it; with that
    /// option the plan is the store's.
    @Test(.enabled(if: TestEngines.duckdb, "pip install duckdb to run"))
    func aChainLongerThanTheRoundsIsNamedAndFollowedWithMoreRounds() async throws {
        let dir = try TemporaryDirectory("engine-long-chain")
        let graph = (0..<4097).map { ExportFixture.graph("use_L\($0)", "use_L\($0 + 1)", seq: $0 + 1) }
        let export = try ExportFixture.write(
            in: dir, "chain", graph: graph,
            mapping: [ExportFixture.mapping("m1", "use_L0", "email", "a@x.com", day: 1, seq: 1),
                      ExportFixture.mapping("m2", "use_L4097", "email", "b@x.com", day: 2, seq: 2)])
        var engine = ProcessEngine(dialect: .duckdb)
        engine.exportDirectory = export
        await #expect {
            try await scan(engine, dir: dir)
        } throws: {
            "\($0)".contains("within 4,096 merges: a cycle, or a longer chain, which --merge-rounds 13 follows up to 8,192 merges")
        }
        let store = try ProfileStore(path: dir.file("store.sqlite"))
        _ = try store.ingest(directory: export)
        _ = try Scanner.run(
            store: store, rules: Self.rules,
            options: ScanOptions(outDirectory: dir.file("sqlite"), rulesPath: "r", full: true), now: EngineParityTests.now)
        var options = EngineScan.Options(
            sourceSchema: "profiles_sync", targetSchema: "idaudit_results", rulesPath: "r", outDirectory: dir.file("o"))
        options.mergeRounds = 13
        _ = try await EngineScan.run(engine: engine, rules: Self.rules, options: options, now: EngineParityTests.now)
        #expect(try dir.read("o/plan.csv") == dir.read("sqlite/plan.csv"))
        #expect(try dir.read("o/plan.csv").contains("\nuse_L4097,email,a@x.com,limit,1,"))
    }

    @Test(.enabled(if: TestEngines.postgres, "set IDAUDIT_TEST_PG_URL to run"))
    func postgresNamesACycleAndLeavesNoResultTables() async throws {
        let dir = try TemporaryDirectory("engine-errors-pg")
        let schema = "t_engine_cycle"
        _ = try await WarehouseLoader.load(
            exportDirectory: try Self.cycleExport(dir), schema: schema, configuration: try TestEngines.pg(schema: schema))
        // Issue 18: a run that fails leaves none of the previous run's result tables, which a reader would take for
        // its own.
        let good = "t_engine_good"
        _ = try await WarehouseLoader.load(
            exportDirectory: try ExportFixture.write(
                in: dir, "good", graph: [ExportFixture.graph("use_A", "use_A", seq: 1)],
                mapping: [ExportFixture.mapping("m1", "use_A", "email", "a@x.com", day: 1, seq: 1),
                          ExportFixture.mapping("m2", "use_A", "email", "b@x.com", day: 2, seq: 2)]),
            schema: good, configuration: try TestEngines.pg(schema: good))
        try await scan(PostgresEngine(configuration: try await TestEngines.auditor(source: good)), schema: good, dir: dir)
        func resultTables() async throws -> Int {
            try await WarehouseReader(configuration: try TestEngines.pg(schema: "public")).withSession { connection, logger in
                var n = 0
                let rows = try await connection.query(
                    "SELECT count(*)::int8 FROM information_schema.tables WHERE table_schema = 'idaudit_results'",
                    logger: logger)
                for try await count in rows.decode(Int64.self) { n = Int(count) }
                return n
            }
        }
        #expect(try await resultTables() == 6)
        let engine = PostgresEngine(configuration: try await TestEngines.auditor(source: schema))
        await #expect {
            try await scan(engine, schema: schema, dir: dir)
        } throws: { "\($0)".hasPrefix("idaudit: merge cycle in \(schema).id_graph_updates: segment use_B is on a chain that never reaches a canonical profile within 4,096 merges") }
        #expect(try await resultTables() == 0)
        await #expect {
            try await scan(engine, schema: "no_such_schema", dir: dir)
        } throws: { "\($0)".contains("table no_such_schema.external_id_mapping_updates not found") || "\($0)".contains("table no_such_schema.id_graph_updates not found") }
    }

    @Test(.enabled(if: TestEngines.postgres, "set IDAUDIT_TEST_PG_URL to run"))
    func anUnknownUserIsRefusedWithTheReason() async throws {
        var config = try TestEngines.pg(schema: "s")
        config.user = "nobody_here"
        let dir = try TemporaryDirectory("pg-user")
        await #expect {
            try await scan(PostgresEngine(configuration: config), dir: dir)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("PostgreSQL refused nobody_here@127.0.0.1") && text.contains("\"nobody_here\" does not exist")
        }
    }

    @Test func anUnreachableHostIsSaidPlainly() async throws {
        let config = try WarehouseConfiguration.parse(
            url: "postgres://postgres@127.0.0.1:9/postgres", schema: "s", statementTimeoutSeconds: 5)
        let dir = try TemporaryDirectory("pg-unreachable")
        await #expect {
            try await scan(PostgresEngine(configuration: config), dir: dir)
        } throws: { "\($0)".hasPrefix("cannot reach PostgreSQL at 127.0.0.1:9") }
    }
}

/// Parsing the connection settings needs no server.
struct WarehouseConfigurationTests {
    @Test func theURLAndThePasswordSources() throws {
        let c = try WarehouseConfiguration.parse(
            url: "postgres://auditor@warehouse:6543/analytics", schema: "profiles_sync", statementTimeoutSeconds: 60,
            environment: ["PGPASSWORD": "s3cret"])
        #expect(c.host == "warehouse")
        #expect(c.port == 6543)
        #expect(c.user == "auditor")
        #expect(c.database == "analytics")
        #expect(c.password == "s3cret")
        #expect(!c.description.contains("s3cret"))
        let dir = try TemporaryDirectory("pgpass")
        let pgpass = try dir.write("pgpass", "# comment\nother:*:*:*:no\nwarehouse:6543:*:auditor:from-file\n")
        let d = try WarehouseConfiguration.parse(
            url: "postgres://auditor@warehouse:6543/analytics", schema: "s", statementTimeoutSeconds: 60,
            environment: ["PGPASSFILE": pgpass])
        #expect(d.password == "from-file")
    }

    @Test(arguments: ["mysql://x@y/z", "postgres://x@y", "postgres://x@y/z"])
    func badSettingsAreRefused(_ url: String) {
        let schema = url == "postgres://x@y/z" ? "bad schema" : "s"
        #expect(throws: WarehouseError.self) {
            try WarehouseConfiguration.parse(url: url, schema: schema, statementTimeoutSeconds: 1, environment: [:])
        }
    }
}

/// The registry `scan --source` reads: each engine's dialect, and the settings it refuses as a usage error.
struct ScanEngineTests {
    @Test func everyEngineNamesItsDialectAndRefusesWhatItCannotRead() throws {
        #expect(ScanEngine.allCases.map(\.dialect) == [.postgres, .duckdb, .spark, .clickhouse, .snowflake])
        var settings = EngineSettings()
        settings.environment = [:]
        #expect(ScanEngine.postgres.problem(with: settings)?.contains("IDAUDIT_PG_URL") == true)
        #expect(ScanEngine.duckdb.problem(with: settings)?.contains("--export") == true)
        #expect(ScanEngine.clickhouse.problem(with: settings)?.contains("--export") == true)
        #expect(ScanEngine.snowflake.problem(with: settings) == nil)
        settings.exportDirectory = "unload/"
        #expect(ScanEngine.duckdb.problem(with: settings) == nil)
        #expect(ScanEngine.snowflake.problem(with: settings)?.contains("reads the --schema tables in Snowflake") == true)
        settings.exportDirectory = nil
        settings.conf = ["spark.executor.memory"]
        #expect(ScanEngine.spark.problem(with: settings) == "--spark-conf spark.executor.memory: expected key=value")
        settings.conf = ["spark.executor.memory=8g"]
        let spark = try #require(try ScanEngine.spark.engine(settings) as? ProcessEngine)
        #expect(spark.dialect == .spark && spark.conf["spark.executor.memory"] == "8g")
        let snowflake = try #require(try ScanEngine.snowflake.engine(settings) as? ProcessEngine)
        #expect(snowflake.dialect == .snowflake && snowflake.description == "Snowflake")
    }
}
