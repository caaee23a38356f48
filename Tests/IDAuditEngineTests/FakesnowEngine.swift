import Foundation
import IDAuditCore
import IDAuditEngine
import IDAuditSQL
import IDAuditTestSupport

/// `scan --source snowflake` (``ProcessEngine`` with Snowflake's dialect, through the official connector) run on
/// fakesnow: Snowflake's SQL parsed by sqlglot and run by DuckDB. A stand-in for Snowflake, which cannot run here:
/// the product's own runner connects with `snowflake.connector.connect` (fakesnow patches it from a `sitecustomize`
/// on the child's PYTHONPATH, over a database folder the export was loaded into first), runs the script's Snowflake
/// text (its statements, casts, `REGEXP_INSTR`, `TO_CHAR` formats, `TO_NUMBER` as the error) with DuckDB's semantics
/// underneath, and fetches the result tables through the connector's cursor. It cannot run the windowed fold
/// (`REDUCE` over lambdas does not bind in fakesnow 0.12) or `ALTER SESSION` (a no-op here: the process runs in
/// UTC), so the tests give it rule files whose limits are `ever`.
struct FakesnowEngine: PlanEngine {
    /// The export whose CSV files are loaded into `PROFILES_SYNC`'s tables.
    var exportDirectory: String
    /// Load every column as VARCHAR (a load without a schema) rather than as Profiles Sync types them.
    var allText: Bool

    var dialect: SQLDialect { .snowflake }
    var description: String { "fakesnow over \(exportDirectory)" }

    static var available: Bool { TestEngines.succeeds("python3", ["-c", "import fakesnow"]) }

    func run(_ scripts: ScriptVariants, into directory: String) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = directory + "/fakesnow-db"
        let site = directory + "/fakesnow-site"
        try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: database)
            try? FileManager.default.removeItem(atPath: site)
        }
        // The warehouse's tables: the export loaded into the database folder.
        let arguments: [String: Any] = [
            "export": exportDirectory, "all_text": allText, "schema": scripts.options.sourceSchema, "db": database,
        ]
        let argumentsFile = site + "/load.json"
        try JSONSerialization.data(withJSONObject: arguments).write(to: URL(fileURLWithPath: argumentsFile))
        try Self.loader.write(toFile: site + "/load.py", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", site + "/load.py", argumentsFile]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw EngineError("fakesnow load: " + (stderr.split(separator: "\n").last.map(String.init) ?? "failed"))
        }
        // The product's runner, its connector patched by fakesnow over that folder.
        try """
            import warnings
            warnings.filterwarnings("ignore")
            import fakesnow
            # Kept in a global: a patch no one holds is collected, and its exit undoes it.
            patched = fakesnow.patch(db_path=\(JSONText.quote(database)), nop_regexes=["^ALTER SESSION.*"])
            patched.__enter__()
            """.write(toFile: site + "/sitecustomize.py", atomically: true, encoding: .utf8)
        var engine = ProcessEngine(dialect: .snowflake)
        engine.environment = ["PYTHONPATH": site, "SNOWFLAKE_DATABASE": "IDAUDIT_TEST", "TZ": "UTC"]
        do {
            try await engine.run(scripts, into: directory)
        } catch let error as EngineError {
            // The runner's message, without the engine's name, as the other stand-ins give it.
            throw EngineError("fakesnow: " + (error.message.components(separatedBy: "Snowflake: ").last ?? error.message))
        }
    }

    /// Loads the export into `PROFILES_SYNC`'s tables of the database folder.
    static let loader = #"""
        import csv, json, os, sys, warnings
        warnings.filterwarnings("ignore")
        import fakesnow, snowflake.connector

        a = json.load(open(sys.argv[1]))
        typed = {"timestamp": "TIMESTAMP_TZ", "received_at": "TIMESTAMP_TZ", "seq": "NUMBER(38, 0)"}
        with fakesnow.patch(db_path=a["db"]):
            con = snowflake.connector.connect(database="IDAUDIT_TEST", schema="PUBLIC")
            cur = con.cursor()
            cur.execute("CREATE DATABASE IF NOT EXISTS IDAUDIT_TEST")
            cur.execute("USE DATABASE IDAUDIT_TEST")
            cur.execute("CREATE SCHEMA IF NOT EXISTS " + a["schema"])
            for table in ("id_graph_updates", "external_id_mapping_updates"):
                path = os.path.join(a["export"], table + ".csv")
                columns = [c.lower() for c in next(csv.reader(open(path, newline="")))]
                kinds = ["VARCHAR" if a["all_text"] else typed.get(c, "VARCHAR") for c in columns]
                cur.execute("CREATE TABLE %s.%s (%s)" % (a["schema"], table, ", ".join(
                    '"%s" %s' % (c.upper(), k) for c, k in zip(columns, kinds))))
                # The rows go in through fakesnow's DuckDB connection (its INSERT parses every row: minutes).
                select = ", ".join('"%s"' % c if k == "VARCHAR" else "NULLIF(\"%s\", '')" % c for c, k in zip(columns, kinds))
                # Every CSV option stated, nothing sniffed (the store's RFC 4180 reading).
                header = next(csv.reader(open(path, newline="", encoding="utf-8-sig")))
                names = "{" + ", ".join("'%s': 'VARCHAR'" % n.replace("'", "''") for n in header) + "}"
                reader = ("read_csv('%s', auto_detect = false, header = true, delim = ',', quote = '\"', escape = '\"', "
                          "columns = %s, allow_quoted_nulls = false, strict_mode = true, null_padding = false)"
                          % (path.replace("'", "''"), names))
                con._duck_conn.execute("INSERT INTO IDAUDIT_TEST.%s.%s SELECT %s FROM %s"
                                       % (a["schema"].upper(), table.upper(), select, reader))
        """#
}
