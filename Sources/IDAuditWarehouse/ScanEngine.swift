import Foundation
import IDAuditEngine
import IDAuditSQL

/// The engines `scan --source` runs the whole scan in, by name: the registry. Each name gives its dialect (the SQL,
/// in `IDAuditSQL/Dialects/`) and how idaudit reaches the engine (a PostgreSQL session, or the engine's Python
/// client in a child process). Adding an engine is its dialect's file, a case here, and its runner.
package enum ScanEngine: String, CaseIterable, Sendable {
    case postgres, duckdb, spark, clickhouse, snowflake

    /// The dialect its script is written in.
    package var dialect: SQLDialect {
        switch self {
        case .postgres: .postgres
        case .duckdb: .duckdb
        case .spark: .spark
        case .clickhouse: .clickhouse
        case .snowflake: .snowflake
        }
    }

    /// What `--source` says of it.
    package var help: String {
        switch self {
        case .postgres: "postgres (IDAUDIT_PG_URL)"
        case .duckdb: "duckdb (--export DIR in place, or --database FILE)"
        case .spark: "spark (--master, --export DIR or the catalog's tables)"
        case .clickhouse: "clickhouse (chdb, in process: --export DIR in place, or --database DIR)"
        case .snowflake: "snowflake (the tables in Snowflake; SNOWFLAKE_* or connections.toml)"
        }
    }

    /// Why `settings` cannot run this engine (a usage error), or nil.
    package func problem(with settings: EngineSettings) -> String? {
        switch self {
        case .postgres:
            settings.environment["IDAUDIT_PG_URL"] == nil
                ? "--source postgres reads IDAUDIT_PG_URL (postgres://user@host:5432/database); the password comes "
                    + "from PGPASSWORD or ~/.pgpass, never from the command line" : nil
        case .duckdb:
            settings.exportDirectory == nil && settings.database == nil
                ? "--source duckdb reads --export DIR (files in place) or --database FILE" : nil
        case .clickhouse:
            settings.exportDirectory == nil && settings.database == nil
                ? "--source clickhouse reads --export DIR (files in place) or --database DIR (a chdb database)" : nil
        case .spark:
            settings.conf.first { !$0.contains("=") }.map { "--spark-conf \($0): expected key=value" }
        case .snowflake:
            settings.exportDirectory != nil || settings.database != nil
                ? "--source snowflake reads the --schema tables in Snowflake (the connection's database: "
                    + "SNOWFLAKE_DATABASE); --export and --database are for duckdb, clickhouse and spark" : nil
        }
    }

    /// The engine, set up from `settings` (checked with ``problem(with:)`` first).
    package func engine(_ settings: EngineSettings) throws -> any PlanEngine {
        if let problem = problem(with: settings) { throw EngineError(problem) }
        switch self {
        case .postgres:
            return PostgresEngine(
                configuration: try WarehouseConfiguration.parse(
                    url: settings.environment["IDAUDIT_PG_URL"] ?? "", schema: settings.schema,
                    statementTimeoutSeconds: settings.statementTimeoutSeconds, environment: settings.environment))
        case .duckdb, .spark, .clickhouse, .snowflake:
            var process = ProcessEngine(dialect: dialect)
            process.exportDirectory = settings.exportDirectory
            process.database = settings.database
            process.master = settings.master
            for setting in settings.conf {
                let equals = setting.firstIndex(of: "=") ?? setting.endIndex
                process.conf[String(setting[..<equals])] = String(setting[equals...].dropFirst())
            }
            process.trace = settings.environment["IDAUDIT_TRACE"] != nil
            process.timeout = settings.timeout
            process.progress = settings.progress
            return process
        }
    }
}

/// What a user sets for an engine (each engine reads its own).
package struct EngineSettings: Sendable {
    /// The schema holding the Profiles Sync tables.
    package var schema = "profiles_sync"
    /// Files to read in place as those tables (DuckDB, Spark).
    package var exportDirectory: String?
    /// DuckDB: a database file.
    package var database: String?
    /// Spark: the master URL.
    package var master = "local[2]"
    /// Spark: `key=value` settings.
    package var conf: [String] = []
    /// PostgreSQL: the longest a statement may run, in seconds.
    package var statementTimeoutSeconds = 3600
    /// Process engines: stop after this many seconds.
    package var timeout: Double?
    /// Process engines: a line of progress every few seconds.
    package var progress: (@Sendable (String) -> Void)?
    /// Where URLs, passwords and tracing come from.
    package var environment: [String: String] = ProcessInfo.processInfo.environment

    /// Settings with every default.
    package init() {}
}
