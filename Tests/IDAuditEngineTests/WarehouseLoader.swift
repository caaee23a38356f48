import Foundation
import IDAuditCSV
import IDAuditWarehouse
import Logging
import PostgresNIO

/// Loads a Profiles Sync export folder into PostgreSQL tables shaped as Profiles Sync writes them in a warehouse
/// (lower-case names; TIMESTAMP columns as timestamptz, SEQ as bigint, the rest text): the tests' fixture loader, not
/// part of the product. `scripts/load-postgres.sh` does the same with psql's COPY, faster, for big exports.
enum WarehouseLoader {
    /// Drops and creates `schema`, then loads both tables; returns the rows loaded per table.
    ///
    /// - Parameter allText: every column as text, as a CSV load without a schema leaves them (default: typed as
    ///   Profiles Sync creates them).
    static func load(
        exportDirectory: String, schema: String, configuration: WarehouseConfiguration, allText: Bool = false
    ) async throws -> [String: Int] {
        var config = configuration
        config.schema = schema
        let files = try ["id_graph_updates", "external_id_mapping_updates"].map { table -> (String, String) in
            for suffix in [".csv", ".csv.gz"] {
                let path = exportDirectory + "/" + table + suffix
                if FileManager.default.fileExists(atPath: path) { return (table, path) }
            }
            throw WarehouseError("no \(table).csv in \(exportDirectory)")
        }
        return try await WarehouseWriter(configuration: config).withWriteSession { connection, logger in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \"\(schema)\""), logger: logger)
            var counts: [String: Int] = [:]
            for (table, path) in files {
                counts[table] = try await loadTable(
                    table, path: path, schema: schema, allText: allText, connection, logger)
            }
            return counts
        }
    }

    static func columnType(_ name: String) -> String {
        switch name {
        case "timestamp", "received_at", "uuid_ts", "original_timestamp", "sent_at": "timestamptz"
        case "seq": "bigint"
        default: "text"
        }
    }

    static func loadTable(
        _ table: String, path: String, schema: String, allText: Bool, _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws -> Int {
        let reader = try CSVReader(path: path)
        guard try reader.next() else { throw WarehouseError("\(path): empty file") }
        let names = reader.allFields().map { $0.lowercased() }
        let types = names.map { allText ? "text" : columnType($0) }
        let definitions = zip(names, types).map { "\"\($0)\" \($1)" }.joined(separator: ", ")
        try await connection.query(
            PostgresQuery(unsafeSQL: "CREATE TABLE \"\(schema)\".\(table) (\(definitions))"), logger: logger)
        let perRow = names.count
        let batchRows = max(1, 30_000 / perRow)
        var rows = 0
        var batch: [[String?]] = []
        func flush() async throws {
            guard !batch.isEmpty else { return }
            var binds = PostgresBindings(capacity: batch.count * perRow)
            var values: [String] = []
            var n = 0
            for row in batch {
                var placeholders: [String] = []
                for (i, field) in row.enumerated() {
                    n += 1
                    binds.append(field)
                    placeholders.append("$\(n)::\(types[i])")
                }
                values.append("(" + placeholders.joined(separator: ",") + ")")
            }
            let sql = "INSERT INTO \"\(schema)\".\(table) VALUES " + values.joined(separator: ",")
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
            batch.removeAll(keepingCapacity: true)
        }
        while try reader.next() {
            var row: [String?] = []
            for i in 0..<perRow {
                let text = i < reader.fieldCount ? reader.string(at: i) ?? "" : ""
                row.append(text.isEmpty && types[i] != "text" ? nil : text)
            }
            batch.append(row)
            rows += 1
            if batch.count == batchRows { try await flush() }
        }
        try await flush()
        return rows
    }
}

/// A read-write session, for the loader only (scans use the read-only ``WarehouseReader``).
struct WarehouseWriter {
    let configuration: WarehouseConfiguration

    func withWriteSession<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        try await WarehouseReader(configuration: configuration).withSession(readOnly: false) { connection, logger in
            try await connection.query(PostgresQuery(unsafeSQL: "SET timezone = 'UTC'"), logger: logger)
            return try await body(connection, logger)
        }
    }
}
