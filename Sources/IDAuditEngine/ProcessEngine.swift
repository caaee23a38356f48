import Foundation
import IDAuditSQL

/// DuckDB, ClickHouse, Apache Spark or Snowflake, driven through their Python clients in a child process
/// (``EngineRunner``).
///
/// DuckDB runs in process with the `duckdb` package, ClickHouse with `chdb`, over a database or export files read in
/// place (CSV, `.csv.gz` or Parquet). Spark runs through `spark-submit`: `local[N]` on this machine, or any cluster a
/// `--master` URL names (the driver, which fetches the result tables, runs here; the work runs on the executors).
/// Snowflake runs where the tables are, through the official connector (`snowflake-connector-python`), connected
/// from `SNOWFLAKE_*` variables or the connector's own `connections.toml`.
public struct ProcessEngine: PlanEngine {
    /// The engines this runs: their dialect's name is the runner's branch.
    public static let dialects: Set<SQLDialect> = [.duckdb, .spark, .clickhouse, .snowflake]

    /// The engine, by its dialect.
    public let dialect: SQLDialect
    /// Export files to read in place as the source schema's tables (CSV or Parquet), when the tables are not in
    /// the engine's catalog already.
    public var exportDirectory: String?
    /// DuckDB: the database file (nil: in memory).
    public var database: String?
    /// Spark: the master URL (`local[2]`, `spark://host:7077`, `yarn`).
    public var master = "local[2]"
    /// Spark: more `--conf key=value` settings.
    public var conf: [String: String] = [:]
    /// Spark: the `spark-submit` to run (default: on the PATH, else the one the `pyspark` package ships).
    public var sparkSubmit: String?
    /// The Python for DuckDB (default: `python3` on the PATH).
    public var python = "python3"
    /// Variables added to the child's environment (a connector's settings; never its command line).
    public var environment: [String: String] = [:]
    /// Print each statement's time on stderr.
    public var trace = false
    /// Stop the engine after this many seconds (nil: no limit).
    public var timeout: Double?
    /// Called with a line of progress every few seconds (the statement running, the rows read back).
    public var progress: (@Sendable (String) -> Void)?

    /// The engine of `dialect`, one of ``dialects``.
    public init(dialect: SQLDialect) {
        precondition(Self.dialects.contains(dialect), "ProcessEngine runs \(Self.dialects)")
        self.dialect = dialect
    }

    /// Whether the engine is Spark (run through `spark-submit`, with its settings).
    var isSpark: Bool { dialect == .spark }

    public var description: String {
        if isSpark { return "Spark \(master)" + (exportDirectory.map { " over \($0)" } ?? "") }
        if dialect == .snowflake { return "Snowflake" }
        return dialect.displayName + (exportDirectory.map { " over \($0)" } ?? database.map { " \($0)" } ?? "")
    }

    /// `spark-submit` on the PATH, else in the `pyspark` package's `bin/` (a pip install may not have put it on the
    /// PATH yet, as with pyenv before a rehash).
    static func findSparkSubmit(python: String) -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/spark-submit"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = [python, "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"]
        let out = Pipe()
        probe.standardOutput = out
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return "spark-submit" }
        let directory = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        probe.waitUntilExit()
        let candidate = directory + "/bin/spark-submit"
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : "spark-submit"
    }

    /// The heap of a local run's JVM: a quarter of the machine's memory, from 2 to 16 GB.
    static var localDriverMemory: String {
        let gigabytes = Int(ProcessInfo.processInfo.physicalMemory >> 30) / 4
        return "\(min(16, max(2, gigabytes)))g"
    }

    /// A path made absolute (an engine resolves relative paths against its own folders).
    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    public func run(_ scripts: ScriptVariants, into directory: String) async throws {
        let work = directory + "/.engine"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let runner = work + "/runner.py"
        try EngineRunner.source.write(toFile: runner, atomically: true, encoding: .utf8)
        var sparkConf = [
            "spark.sql.session.timeZone": "UTC", "spark.driver.host": "127.0.0.1", "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "8",
        ]
        if master.hasPrefix("local") {
            // A local run keeps its tables in the run's folder, not in a spark-warehouse/ wherever it was started.
            sparkConf["spark.sql.warehouse.dir"] = work + "/warehouse"
            // In local mode the driver's JVM runs the executors too, and Spark's default heap is 1 GB: at 1 M profiles
            // with heavy excess it ran out of heap (issue 18: a stall in the result fetch, then OutOfMemoryError
            // reading a work table). A quarter of the machine's memory, 2 to 16 GB, unless --spark-conf says.
            sparkConf["spark.driver.memory"] = Self.localDriverMemory
        }
        for (key, value) in conf { sparkConf[key] = value }
        var arguments: [String: Any] = [
            "engine": dialect.rawValue, "out": directory, "target": scripts.options.targetSchema,
            "source_schema": scripts.options.sourceSchema, "variants": scripts.variants,
            "required": ScriptVariants.requiredColumns, "trace": trace,
            "results": ResultTable.allCases.map { [$0.rawValue, $0.query(schema: scripts.options.targetSchema, dialect: dialect)] },
        ]
        if let exportDirectory { arguments["export"] = Self.absolute(exportDirectory) }
        if let database { arguments["database"] = Self.absolute(database) }
        if isSpark { arguments["conf"] = sparkConf }
        let argumentsPath = work + "/arguments.json"
        try JSONSerialization.data(withJSONObject: arguments).write(to: URL(fileURLWithPath: argumentsPath))

        let command =
            isSpark
            ? [sparkSubmit ?? Self.findSparkSubmit(python: python), "--master", master]
                + sparkConf.sorted { $0.key < $1.key }.flatMap { ["--conf", "\($0.key)=\($0.value)"] }
                + [runner, argumentsPath]
            : [python, runner, argumentsPath]
        let (timeout, description) = (timeout, description)
        let progress = progress.map { report in { @Sendable (line: String) in report("\(description): \(line)") } }
        // The child's output is read until it ends (a full pipe would block the child) on a thread of its own, not
        // the concurrency pool's: a run of minutes blocking one of a 2-core machine's two pool threads stalled every
        // other task (three Spark runs at once stalled the test suite's HTTP tests for 200 s).
        let (commandLine, environment) = (command, environment)
        let run = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<EngineProcess.Outcome, any Error>) in
            Thread {
                continuation.resume(with: Result { try EngineProcess.run(commandLine, environment: environment, timeout: timeout, progress: progress) })
            }.start()
        }
        if trace { FileHandle.standardError.write(Data(run.log.joined(separator: "\n").utf8)) }
        if run.timedOut {
            throw EngineError(
                "\(description) ran longer than --timeout \(Int(timeout ?? 0)) s and was stopped"
                    + Self.lastLines(run.log))
        }
        guard run.status == 0 else {
            // The runner's own line; the JVM's log lines may run into it.
            let line = run.log.compactMap { text -> String? in
                guard let marker = text.range(of: "idaudit-engine-error: ") else { return nil }
                return String(text[marker.upperBound...])
            }.last
            if let line { throw EngineError("\(description): \(line)") }
            let hint =
                isSpark && run.log.contains { $0.contains("JAVA_HOME") }
                ? " (Spark needs Java 17 or later: apt-get install openjdk-17-jre-headless)" : ""
            throw EngineError("\(description) failed (exit \(run.status))\(hint)" + Self.lastLines(run.log))
        }
    }

    /// The engine's last log lines, for an error: what it said before it failed.
    static func lastLines(_ log: [String]) -> String {
        let tail = log.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.suffix(8)
        guard !tail.isEmpty else { return "" }
        return "; its last log lines:\n" + tail.map { "  " + String($0.prefix(300)) }.joined(separator: "\n")
    }
}
