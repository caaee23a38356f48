import IDAuditCore
import IDAuditEngine
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// A PostgreSQL session on the warehouse: one connection with a statement timeout, read-only unless asked.
package struct WarehouseReader: Sendable {
    /// Where to read.
    package let configuration: WarehouseConfiguration

    /// A reader.
    package init(configuration: WarehouseConfiguration) { self.configuration = configuration }

    /// Runs `body` on one connection in a read-only session with the statement timeout.
    package func withSession<T: Sendable>(
        readOnly: Bool = true, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        var quiet = Logger(label: "idaudit.warehouse")
        quiet.logLevel = .critical
        let logger = quiet
        let c = configuration
        var config: PostgresConnection.Configuration
        if c.host.hasPrefix("/") {
            config = PostgresConnection.Configuration(
                unixSocketPath: c.host + "/.s.PGSQL.\(c.port)", username: c.user, password: c.password,
                database: c.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS =
                c.host == "127.0.0.1" || c.host == "localhost" || c.host == "::1"
                ? .disable : .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            config = PostgresConnection.Configuration(
                host: c.host, port: c.port, username: c.user, password: c.password, database: c.database, tls: tls)
        }
        config.options.connectTimeout = .seconds(10)
        // One connection, no pool: a scan is one long read, and a refused connection should fail at once.
        let connection = try await PostgresConnection.connect(configuration: config, id: 1, logger: logger)
        do {
            if readOnly {
                try await connection.query(
                    PostgresQuery(unsafeSQL: "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"), logger: logger)
            }
            try await connection.query(
                PostgresQuery(unsafeSQL: "SET statement_timeout = '\(c.statementTimeoutSeconds)s'"), logger: logger)
            let result = try await body(connection, logger)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Which optional columns the mapping table has, after checking that the tables and required columns exist.
    func describe(
        _ connection: PostgresConnection, _ logger: Logger, schema: String
    ) async throws -> SourceColumns {
        var present: [String: Set<String>] = [:]
        let rows = try await connection.query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = \(schema)",
            logger: logger)
        for try await (table, column) in rows.decode((String, String).self) {
            present[table.lowercased(), default: []].insert(column.lowercased())
        }
        for (table, columns) in ScriptVariants.requiredColumns.sorted(by: { $0.key < $1.key }) {
            guard let have = present[table] else {
                throw WarehouseError(
                    "table \(schema).\(table) not found in \(configuration.description) (or not readable); "
                        + "Profiles Sync writes id_graph_updates and external_id_mapping_updates: check --schema")
            }
            for column in columns where !have.contains(column) {
                throw WarehouseError("column \(column) missing from \(schema).\(table)")
            }
        }
        return SourceColumns(
            graph: present["id_graph_updates"] ?? [], mapping: present["external_id_mapping_updates"] ?? [])
    }

    /// PostgreSQL's errors as one line a person can act on.
    static func explain(_ error: PSQLError, _ c: WarehouseConfiguration) -> WarehouseError {
        if let info = error.serverInfo {
            let message = info[.message] ?? "error"
            let state = info[.sqlState] ?? ""
            switch state {
            case "28P01", "28000":
                return WarehouseError(
                    "PostgreSQL refused \(c.description): \(message) (set the password in PGPASSWORD or ~/.pgpass)")
            case "57014":
                return WarehouseError("the query ran longer than --statement-timeout \(c.statementTimeoutSeconds) s: \(message)")
            case "3D000":
                return WarehouseError("PostgreSQL at \(c.host):\(c.port): \(message)")
            default:
                return WarehouseError("PostgreSQL (\(c.description)): \(message) [SQLSTATE \(state)]")
            }
        }
        switch error.code {
        case .connectionError, .unexpectedBackendMessage, .serverClosedConnection, .clientClosedConnection:
            let cause = error.underlying.map { "\($0)" } ?? "\(error.code)"
            return WarehouseError("cannot reach PostgreSQL at \(c.host):\(c.port): \(cause)")
        default:
            return WarehouseError("PostgreSQL (\(c.description)): \(error.code)")
        }
    }
}
