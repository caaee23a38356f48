import IDAuditCSV
import IDAuditCore
import IDAuditEngine
import IDAuditSQL
import Logging
import PostgresNIO

/// PostgreSQL (and, for its SQL, Redshift's PostgreSQL-compatible form) as a plan engine: the script runs in one
/// read-write session, its result tables are committed together, and they are read back in a read-only transaction.
///
/// The session needs to read the source schema, create temporary tables and a temporary function (granted to every
/// user by default), and create the target schema or tables in it:
/// `GRANT USAGE ON SCHEMA profiles_sync TO auditor; GRANT SELECT ON ALL TABLES IN SCHEMA profiles_sync TO auditor;
/// CREATE SCHEMA idaudit AUTHORIZATION auditor;` (or `GRANT CREATE ON SCHEMA idaudit TO auditor`).
package struct PostgresEngine: PlanEngine {
    /// Where to connect (the schema in it is the source schema's default).
    package let configuration: WarehouseConfiguration

    /// The script's dialect: `.postgres`, or `.redshift` (Redshift's PostgreSQL-derived SQL, which PostgreSQL also
    /// runs: the tests execute the Redshift form this way, since no Redshift runs here).
    package let dialect: SQLDialect

    /// An engine on `configuration` running `dialect`'s script (`.postgres` or `.redshift`).
    package init(configuration: WarehouseConfiguration, dialect: SQLDialect = .postgres) {
        precondition(dialect == .postgres || dialect == .redshift, "PostgresEngine runs the postgres or redshift script")
        self.configuration = configuration
        self.dialect = dialect
    }

    package var description: String { "PostgreSQL \(configuration.description)" }

    package func run(_ scripts: ScriptVariants, into directory: String) async throws {
        let session = WarehouseReader(configuration: configuration)
        let source = scripts.options.sourceSchema
        let target = scripts.options.targetSchema
        do {
            try await session.withSession(readOnly: false) { connection, logger in
                // One run at a time writes and reads a target schema: a second waits here for the first to end (the
                // script drops the previous results first, so a run meeting another halfway would read its tables).
                try await connection.query(
                    "SELECT pg_advisory_lock(hashtext('idaudit'), hashtext(\(target)))", logger: logger)
                if dialect == .redshift { try await Self.actAsRedshift(connection, logger) }
                let columns = try await session.describe(connection, logger, schema: source)
                var statements = scripts.statements(for: columns)
                // Redshift's form creates the results schema with CREATE SCHEMA IF NOT EXISTS, which PostgreSQL
                // refuses a user without CREATE on the database even when the schema exists: not sent when it does.
                let rows = try await connection.query(
                    "SELECT count(*) FROM pg_namespace WHERE nspname = \(target.lowercased())", logger: logger)
                var exists = false
                for try await count in rows.decode(Int.self) { exists = count > 0 }
                if exists {
                    let create = dialect.sql.createSchemaIfMissing(target)
                    statements.removeAll { $0 == create }
                }
                for statement in statements {
                    // Rows are read to the end: a check's error arrives with its rows.
                    for try await _ in try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) {}
                }
                try await connection.query(PostgresQuery(unsafeSQL: "BEGIN READ ONLY"), logger: logger)
                for table in ResultTable.allCases {
                    try await Self.fetch(
                        table.query(schema: target, dialect: dialect), to: directory + "/\(table.rawValue).csv",
                        connection, logger)
                }
                try await connection.query(PostgresQuery(unsafeSQL: "COMMIT"), logger: logger)
            }
        } catch let error as WarehouseError {
            throw EngineError(error.message)
        } catch let error as PSQLError {
            throw EngineError(Self.explain(error, configuration))
        } catch let error as EngineError {
            throw error
        } catch {
            throw EngineError("\(description): \(error)")
        }
    }

    /// Makes the session read the Redshift form as Redshift would, or refuses the database.
    ///
    /// Redshift reads backslash escapes in every string literal (its QUOTE_LITERAL doubles backslashes), as
    /// PostgreSQL does with `standard_conforming_strings` off; and it compares text by its bytes, which the form
    /// relies on without a COLLATE clause (Redshift has no "C" collation), so a database whose default collation is
    /// not C would decide ties between IDs in another order.
    static func actAsRedshift(_ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.query("SET standard_conforming_strings = off", logger: logger)
        try await connection.query("SET escape_string_warning = off", logger: logger)
        let rows = try await connection.query(
            "SELECT datcollate::text, COALESCE(to_jsonb(d) ->> 'datlocprovider', 'c') FROM pg_database AS d WHERE datname = current_database()",
            logger: logger)
        for try await (collation, provider) in rows.decode((String, String).self)
        where provider != "c" || !["C", "POSIX"].contains(collation) {
            throw EngineError(
                "the Redshift form runs on PostgreSQL only in a database whose default collation is C (this one's is "
                    + "\(provider == "c" ? collation : "ICU's"), which orders text otherwise than Redshift's bytes)")
        }
    }

    /// A query's rows as a CSV file (every column read as text).
    static func fetch(
        _ query: String, to path: String, _ connection: PostgresConnection, _ logger: Logger
    ) async throws {
        let file = try OutputFile(path: path)
        let rows = try await connection.query(PostgresQuery(unsafeSQL: query), logger: logger)
        var headerWritten = false
        for try await row in rows {
            if !headerWritten {
                try file.writeCSVRecord(row.map(\.columnName))
                headerWritten = true
            }
            var fields: [String] = []
            for cell in row {
                switch cell.dataType {
                case _ where cell.bytes == nil: fields.append("")
                case .int2, .int4, .int8, .numeric: fields.append(String(try cell.decode(Int64.self)))
                default: fields.append(try cell.decode(String.self))
                }
            }
            try file.writeCSVRecord(fields)
        }
        if !headerWritten { try file.writeCSVRecord(Self.columns(of: query)) }
        try file.commit()
    }

    /// The columns of an empty result (PostgresNIO gives no row to name them from): every result table's.
    static func columns(of query: String) -> [String] {
        switch ResultTable.allCases.first(where: { query.contains(".\($0.rawValue) ") }) {
        case .plan: PlanLine.csvColumns
        case .summary: ["metric", "type", "reason", "count", "remediable"]
        case .histogram: ["type", "counted", "profiles"]
        case .caps: ["cap", "profile", "n"]
        case .kept, .offenders, nil: ["segment_id", "type", "value", "first_seen", "seq"]
        }
    }

    /// PostgreSQL's errors as one line a person can act on; the script's own errors keep their text.
    static func explain(_ error: PSQLError, _ c: WarehouseConfiguration) -> String {
        if let message = error.serverInfo?[.message], let marker = message.firstRange(of: "idaudit:") {
            var text = message[marker.lowerBound...]
            while let last = text.last, last == "\"" || last == "'" { text = text.dropLast() }
            return String(text)
        }
        if let state = error.serverInfo?[.sqlState], state == "42501" {
            return "PostgreSQL refused a grant (\(error.serverInfo?[.message] ?? "permission denied")): the scan "
                + "reads the source schema and creates its result tables in the target schema; see the README for "
                + "the grants"
        }
        return WarehouseReader.explain(error, c).message
    }
}
