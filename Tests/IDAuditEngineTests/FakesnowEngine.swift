import Foundation
import IDAuditEngine
import IDAuditSQL
import IDAuditTestSupport

/// Snowflake's form of the plan script, run on fakesnow: Snowflake's SQL parsed by sqlglot and run by DuckDB, in a
/// Python process. A stand-in for Snowflake, which cannot run here: it executes the script's Snowflake text (its
/// statements, casts, `REGEXP_INSTR`, `TO_CHAR` formats, `TO_NUMBER` as the error), with DuckDB's semantics
/// underneath. It cannot run the windowed fold (`REDUCE` over lambdas does not bind in fakesnow 0.12) or
/// `ALTER SESSION` (skipped: the process runs in UTC), so the tests give it rule files whose limits are `ever`.
struct FakesnowEngine: PlanEngine {
    /// The export whose CSV files are loaded into `PROFILES_SYNC`'s tables.
    var exportDirectory: String
    /// Load every column as VARCHAR (a load without a schema) rather than as Profiles Sync types them.
    var allText: Bool

    var dialect: SQLDialect { .snowflake }
    var description: String { "fakesnow over \(exportDirectory)" }

    static var available: Bool { TestEngines.succeeds("python3", ["-c", "import fakesnow"]) }

    func run(_ scripts: ScriptVariants, into directory: String) async throws {
        func header(_ table: String) throws -> Set<String> {
            Set(try String(contentsOfFile: exportDirectory + "/\(table).csv", encoding: .utf8)
                .prefix { $0 != "\n" && $0 != "\r\n" }.lowercased().split(separator: ",").map(String.init))
        }
        let statements = scripts.statements(
            for: SourceColumns(graph: try header("id_graph_updates"), mapping: try header("external_id_mapping_updates")))
        let queries = ResultTable.allCases.map {
            [$0.rawValue, $0.query(schema: scripts.options.targetSchema, dialect: .snowflake)]
        }
        let arguments: [String: Any] = [
            "statements": statements, "queries": queries, "export": exportDirectory, "all_text": allText,
            "schema": scripts.options.sourceSchema, "out": directory,
        ]
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let argumentsFile = directory + "/fakesnow-arguments.json"
        try JSONSerialization.data(withJSONObject: arguments).write(to: URL(fileURLWithPath: argumentsFile))
        let harness = directory + "/fakesnow-harness.py"
        try Self.harness.write(toFile: harness, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(atPath: argumentsFile)
            try? FileManager.default.removeItem(atPath: harness)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", harness, argumentsFile]
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw EngineError("fakesnow: " + (stderr.split(separator: "\n").last.map(String.init) ?? "failed"))
        }
    }

    static let harness = #"""
        import csv, decimal, json, os, sys, warnings
        warnings.filterwarnings("ignore")
        import fakesnow, snowflake.connector

        a = json.load(open(sys.argv[1]))
        typed = {"timestamp": "TIMESTAMP_TZ", "received_at": "TIMESTAMP_TZ", "seq": "NUMBER(38, 0)"}
        with fakesnow.patch():
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
                # The rows go in through fakesnow's DuckDB connection (its INSERT parses every row: minutes); the
                # script's statements all go through fakesnow.
                select = ", ".join('"%s"' % c if k == "VARCHAR" else "NULLIF(\"%s\", '')" % c for c, k in zip(columns, kinds))
                # Every CSV option stated, nothing sniffed (the store's RFC 4180 reading).
                header = next(csv.reader(open(path, newline="", encoding="utf-8-sig")))
                names = "{" + ", ".join("'%s': 'VARCHAR'" % n.replace("'", "''") for n in header) + "}"
                reader = ("read_csv('%s', auto_detect = false, header = true, delim = ',', quote = '\"', escape = '\"', "
                          "columns = %s, allow_quoted_nulls = false, strict_mode = true, null_padding = false)"
                          % (path.replace("'", "''"), names))
                con._duck_conn.execute("INSERT INTO IDAUDIT_TEST.%s.%s SELECT %s FROM %s"
                                       % (a["schema"].upper(), table.upper(), select, reader))
            for sql in a["statements"]:
                if sql.lstrip().upper().startswith("ALTER SESSION"):
                    continue
                try:
                    cur.execute(sql)
                except Exception as e:
                    text = " ".join(str(e).split())
                    marker = text.find("idaudit:")
                    if marker >= 0:
                        # DuckDB's cast error around the message: Could not convert string "idaudit: ..." to DECIMAL
                        end = text.rfind('" to ')
                        sys.exit(text[marker:end if end > marker else len(text)])
                    sys.exit("%s in: %s" % (text[:300], " ".join(sql.split())[:200]))
            def cell(v):
                if v is None: return ""
                if v is True: return "true"
                if v is False: return "false"
                if isinstance(v, (float, decimal.Decimal)) and v == int(v): return str(int(v))
                return v
            for name, sql in a["queries"]:
                cur.execute(sql)
                with open(os.path.join(a["out"], name + ".csv"), "w", newline="") as f:
                    w = csv.writer(f, lineterminator="\n")
                    w.writerow([d[0].lower() for d in cur.description])
                    for row in cur.fetchall():
                        w.writerow([cell(v) for v in row])
        """#
}
