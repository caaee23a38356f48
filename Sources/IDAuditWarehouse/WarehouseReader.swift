import IDAuditCore
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// Reads a Profiles Sync schema in PostgreSQL: one read-only session with a statement timeout, the heavy set work
/// in SQL (``WarehouseSQL``), and profiles handed to the caller one at a time as the rows stream in, so memory is
/// bounded by the largest profile, not by the tables.
public struct WarehouseReader: Sendable {
    /// Where to read.
    public let configuration: WarehouseConfiguration

    /// A reader.
    public init(configuration: WarehouseConfiguration) { self.configuration = configuration }

    /// Runs `body` on one connection in a read-only session with the statement timeout.
    func withSession<T: Sendable>(
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

    /// Checks that the tables and columns exist; returns which optional columns the mapping table has.
    func describe(_ connection: PostgresConnection, _ logger: Logger) async throws -> (operation: Bool, receivedAt: Bool) {
        let schema = configuration.schema
        var present: [String: Set<String>] = [:]
        let rows = try await connection.query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = \(schema)",
            logger: logger)
        for try await (table, column) in rows.decode((String, String).self) {
            present[table.lowercased(), default: []].insert(column.lowercased())
        }
        for (table, columns) in WarehouseSQL.requiredColumns {
            guard let have = present[table] else {
                throw WarehouseError(
                    "table \(schema).\(table) not found in \(configuration.description) (or not readable); "
                        + "Profiles Sync writes id_graph_updates and external_id_mapping_updates: check --schema")
            }
            for column in columns where !have.contains(column) {
                throw WarehouseError("column \(column) missing from \(schema).\(table)")
            }
        }
        let mapping = present["external_id_mapping_updates"] ?? []
        return (mapping.contains("__operation"), mapping.contains("received_at"))
    }

    /// Streams every canonical profile with its active identifiers, in canonical id byte order, to `body`.
    public func forEachProfile(_ body: @escaping @Sendable (Profile) async throws -> Void) async throws {
        do {
            try await withSession { connection, logger in
                let columns = try await describe(connection, logger)
                let sql = WarehouseSQL.activeIdentifiers(
                    schema: configuration.schema, hasOperation: columns.operation, hasReceivedAt: columns.receivedAt)
                let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                var current: String?
                var identifiers: [ProfileIdentifier] = []
                for try await (canonical, type, value, firstSeen, seq, cycle) in rows.decode(
                    (String, String, String, Int64, Int64, String?).self)
                {
                    if let cycle {
                        throw WarehouseError(
                            "merge cycle: segment \(cycle)'s chain in \(configuration.schema).id_graph_updates is longer "
                                + "than \(WarehouseSQL.maxMergeDepth) steps (a cycle); fix the graph rows")
                    }
                    if canonical != current {
                        if let current, !identifiers.isEmpty {
                            try await body(Profile(canonicalID: current, identifiers: identifiers))
                        }
                        current = canonical
                        identifiers.removeAll(keepingCapacity: true)
                    }
                    identifiers.append(
                        ProfileIdentifier(type: type, value: value, firstSeen: Instant(microseconds: firstSeen), seq: seq))
                }
                if let current, !identifiers.isEmpty {
                    try await body(Profile(canonicalID: current, identifiers: identifiers))
                }
            }
        } catch let error as WarehouseError {
            throw error
        } catch let error as PSQLError {
            throw Self.explain(error, configuration)
        } catch {
            throw WarehouseError("\(configuration.description): \(error)")
        }
    }

    private static func binds(_ values: [String]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count)
        for value in values { binds.append(value) }
        return binds
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
