import Foundation

/// Where the warehouse is and how to read it: from `IDAUDIT_PG_URL` (`postgres://user@host:port/database`), the
/// password from `PGPASSWORD` or `~/.pgpass`, never from the command line.
package struct WarehouseConfiguration: Sendable {
    /// The host (or a Unix socket directory, when it starts with `/`).
    package var host: String
    /// The port.
    package var port: Int
    /// The user.
    package var user: String
    /// The password, if any (never printed).
    package var password: String?
    /// The database.
    package var database: String
    /// The schema holding the Profiles Sync tables.
    package var schema: String
    /// The longest a statement may run, in seconds.
    package var statementTimeoutSeconds: Int

    /// Creates a configuration.
    package init(
        host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
        schema: String = "profiles_sync", statementTimeoutSeconds: Int = 3600
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.schema = schema
        self.statementTimeoutSeconds = statementTimeoutSeconds
    }

    /// `host:port/database` as user, without the password: for messages.
    package var description: String { "\(user)@\(host):\(port)/\(database)" }

    /// Reads the URL (from the environment) and finds the password: the URL's own (it came from the environment
    /// too), else `PGPASSWORD`, else a matching `~/.pgpass` line (`host:port:database:user:password`, `*` matches
    /// anything).
    package static func parse(
        url text: String, schema: String, statementTimeoutSeconds: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(WarehouseError) -> WarehouseConfiguration {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql" else {
            throw WarehouseError("IDAUDIT_PG_URL must look like postgres://user@host:5432/database")
        }
        guard let host = url.host, !host.isEmpty else { throw WarehouseError("IDAUDIT_PG_URL has no host") }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw WarehouseError("IDAUDIT_PG_URL has no database (…/analytics)") }
        guard schema.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
            throw WarehouseError("--schema \(schema): expected an SQL identifier (letters, digits, _)")
        }
        let user = url.user ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        var config = WarehouseConfiguration(
            host: host.removingPercentEncoding ?? host, port: url.port ?? 5432, user: user, database: database,
            schema: schema, statementTimeoutSeconds: statementTimeoutSeconds)
        config.password = url.password ?? environment["PGPASSWORD"] ?? pgpass(config, environment: environment)
        return config
    }

    static func pgpass(_ c: WarehouseConfiguration, environment: [String: String]) -> String? {
        let path = environment["PGPASSFILE"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.pgpass")
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5 else { continue }
            let wanted = [c.host, String(c.port), c.database, c.user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }
}

/// A warehouse that cannot be read: a message a person can act on, never a stack trace.
package struct WarehouseError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to do.
    package var message: String

    /// Creates an error.
    package init(_ message: String) { self.message = message }

    package var description: String { message }
}
