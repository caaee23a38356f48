/// The engines the plan script is written for, by name: the registry. Each name maps to its ``Dialect`` (one file per
/// engine in `Dialects/`), which holds everything about its SQL.
public enum SQLDialect: String, Sendable, CaseIterable {
    case postgres, redshift, snowflake, bigquery, spark, duckdb, clickhouse

    /// The dialect's SQL.
    package var sql: any Dialect {
        switch self {
        case .postgres: Postgres()
        case .redshift: Redshift()
        case .snowflake: Snowflake()
        case .bigquery: BigQuery()
        case .spark: Spark()
        case .duckdb: DuckDB()
        case .clickhouse: ClickHouse()
        }
    }

    /// Other names a dialect answers to: `databricks` is Spark SQL under its product name.
    static let aliases: [String: SQLDialect] = ["databricks": .spark]

    /// Reads a dialect name (or an alias).
    public init?(name: String) {
        let lower = name.lowercased()
        guard let dialect = Self.aliases[lower] ?? SQLDialect(rawValue: lower) else { return nil }
        self = dialect
    }

    /// The names `--dialect` takes.
    public static let names = ["postgres", "redshift", "snowflake", "bigquery", "spark", "databricks", "duckdb", "clickhouse"]

    /// The engine's name, for messages.
    public var displayName: String { sql.displayName }
}
