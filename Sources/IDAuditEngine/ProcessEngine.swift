import Foundation
import IDAuditSQL

/// DuckDB or Apache Spark, driven through their Python clients in a child process (``EngineRunner``).
///
/// DuckDB runs in process with the `duckdb` package, over a database file or export files read in place (CSV,
/// `.csv.gz` or Parquet). Spark runs through `spark-submit`: `local[N]` on this machine, or any cluster a
/// `--master` URL names (the driver, which fetches the result tables, runs here; the work runs on the executors).
public struct ProcessEngine: PlanEngine {
    /// Which engine.
    public enum Kind: String, Sendable {
        case duckdb, spark
    }

    /// The engine.
    public var kind: Kind
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
    /// Print each statement's time on stderr.
    public var trace = false

    /// An engine of `kind`.
    public init(kind: Kind) { self.kind = kind }

    public var dialect: SQLDialect { kind == .duckdb ? .duckdb : .spark }

    public var description: String {
        switch kind {
        case .duckdb: "DuckDB" + (exportDirectory.map { " over \($0)" } ?? database.map { " \($0)" } ?? "")
        case .spark: "Spark \(master)" + (exportDirectory.map { " over \($0)" } ?? "")
        }
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
        }
        for (key, value) in conf { sparkConf[key] = value }
        var arguments: [String: Any] = [
            "engine": kind.rawValue, "out": directory, "target": scripts.options.targetSchema,
            "source_schema": scripts.options.sourceSchema, "variants": scripts.variants,
            "required": ScriptVariants.requiredColumns, "trace": trace,
            "results": ResultTable.allCases.map { [$0.rawValue, $0.query(schema: scripts.options.targetSchema, dialect: dialect)] },
        ]
        if let exportDirectory { arguments["export"] = Self.absolute(exportDirectory) }
        if let database { arguments["database"] = Self.absolute(database) }
        if kind == .spark { arguments["conf"] = sparkConf }
        let argumentsPath = work + "/arguments.json"
        try JSONSerialization.data(withJSONObject: arguments).write(to: URL(fileURLWithPath: argumentsPath))

        let process = Process()
        switch kind {
        case .duckdb:
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [python, runner, argumentsPath]
        case .spark:
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [sparkSubmit ?? Self.findSparkSubmit(python: python), "--master", master] + sparkConf.sorted { $0.key < $1.key }.flatMap {
                ["--conf", "\($0.key)=\($0.value)"]
            } + [runner, argumentsPath]
        }
        // One pipe for both: spark-submit hands the Python driver's stderr to its own stdout.
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        do {
            try process.run()
        } catch {
            throw EngineError("cannot start \(process.arguments?.first ?? "the engine"): \(error)")
        }
        // Read stderr while it runs (a full pipe would block the child).
        let stderrText = await Task.detached { () -> String in
            String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }.value
        process.waitUntilExit()
        if trace { FileHandle.standardError.write(Data(stderrText.utf8)) }
        guard process.terminationStatus == 0 else {
            // The runner's own line; the JVM's log lines may run into it.
            let line = stderrText.split(separator: "\n").compactMap { text -> String? in
                guard let marker = text.range(of: "idaudit-engine-error: ") else { return nil }
                return String(text[marker.upperBound...])
            }.last
            if let line { throw EngineError("\(description): \(line)") }
            let tail = stderrText.split(separator: "\n").suffix(3).joined(separator: " | ")
            let hint =
                kind == .spark && stderrText.contains("JAVA_HOME")
                ? " (Spark needs Java 17 or later: apt-get install openjdk-17-jre-headless)" : ""
            throw EngineError(
                "\(description) failed (exit \(process.terminationStatus))\(hint): \(tail.prefix(600))")
        }
    }
}
