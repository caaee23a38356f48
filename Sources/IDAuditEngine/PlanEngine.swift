import IDAuditCore
import IDAuditSQL

/// An engine that computes the whole plan where the data lives: it runs a ``PlanScript`` and hands back the result
/// tables as CSV files, so idaudit reads only the plan and its aggregates, never the identifiers.
///
/// Implementations: ``ProcessEngine`` (DuckDB, Apache Spark) beside this protocol, and PostgreSQL in
/// `IDAuditWarehouse`. A new engine is one new type that runs the dialect's script and fetches ``ResultTable``s.
public protocol PlanEngine: Sendable {
    /// The dialect its scripts are written in.
    var dialect: SQLDialect { get }
    /// What it is, for messages and reports: "DuckDB over export/", "Spark local[2]".
    var description: String { get }

    /// Runs the script that fits the source tables' columns (``ScriptVariants``) and writes each of
    /// ``ResultTable/allCases`` as `<name>.csv` (a header, then the rows in the table's order) into `directory`.
    ///
    /// - Throws: ``EngineError``, naming what failed (a missing table or column, a refused grant, a merge cycle).
    func run(_ scripts: ScriptVariants, into directory: String) async throws
}

/// The source tables' optional columns, which choose the script's variant: `__operation` and `received_at` in
/// `external_id_mapping_updates`, `timestamp` in `id_graph_updates`.
public struct SourceColumns: Hashable, Sendable {
    /// `external_id_mapping_updates` has `__operation`.
    public var operation: Bool
    /// `external_id_mapping_updates` has `received_at`.
    public var receivedAt: Bool
    /// `id_graph_updates` has `timestamp`.
    public var graphTimestamp: Bool

    /// The columns present.
    public init(operation: Bool, receivedAt: Bool, graphTimestamp: Bool) {
        self.operation = operation
        self.receivedAt = receivedAt
        self.graphTimestamp = graphTimestamp
    }

    /// The columns present in tables with these (lower-case) column names.
    public init(graph: Set<String>, mapping: Set<String>) {
        self.init(
            operation: mapping.contains("__operation"), receivedAt: mapping.contains("received_at"),
            graphTimestamp: graph.contains("timestamp"))
    }

    /// The variant's key: `op`, `+received` and `+graphtime` for the columns present (the engine runner computes
    /// the same key in Python).
    public var key: String {
        (operation ? "op" : "") + (receivedAt ? "+received" : "") + (graphTimestamp ? "+graphtime" : "")
    }

    /// Every combination.
    public static let all: [SourceColumns] = [true, false].flatMap { o in
        [true, false].flatMap { r in [true, false].map { g in SourceColumns(operation: o, receivedAt: r, graphTimestamp: g) } }
    }
}

/// The plan script in every variant the source tables' columns may call for (``SourceColumns``): an engine checks
/// which columns exist, then runs the matching variant.
public struct ScriptVariants: Sendable {
    /// The options they share.
    public let options: PlanScript.Options
    /// The variants, by ``SourceColumns/key``.
    public let variants: [String: [String]]
    /// The columns each source table must have.
    public static let requiredColumns: [String: [String]] = [
        "id_graph_updates": ["segment_id", "canonical_segment_id", "seq"],
        "external_id_mapping_updates": ["id", "segment_id", "external_id_type", "external_id_value", "seq", "timestamp"],
    ]

    /// Writes every variant of the script for `rules`.
    public init(rules: RuleSet, options: PlanScript.Options) throws(PlanScriptError) {
        self.options = options
        var variants: [String: [String]] = [:]
        for columns in SourceColumns.all {
            var o = options
            o.hasOperation = columns.operation
            o.hasReceivedAt = columns.receivedAt
            o.graphHasTimestamp = columns.graphTimestamp
            variants[columns.key] = try PlanScript(rules: rules, options: o).statements
        }
        self.variants = variants
    }

    /// The statements for the columns found.
    public func statements(for columns: SourceColumns) -> [String] { variants[columns.key] ?? [] }
}

/// A result table the script writes, and how idaudit reads it back: in byte order, so files from every engine
/// compare equal.
public enum ResultTable: String, Sendable, CaseIterable {
    case plan = "idaudit_plan"
    case summary = "idaudit_summary"
    case histogram = "idaudit_histogram"
    case kept = "idaudit_kept"
    case offenders = "idaudit_offenders"
    case caps = "idaudit_caps"

    /// Its columns, in the script's order (the header an unload may or may not carry).
    public var columns: [String] {
        switch self {
        case .plan: PlanLine.csvColumns
        case .summary: ["metric", "type", "reason", "count", "remediable"]
        case .histogram: ["type", "counted", "profiles"]
        case .kept, .offenders: ["segment_id", "type", "value", "first_seen", "seq"]
        case .caps: ["cap", "profile", "n"]
        }
    }

    /// The order ``query(schema:dialect:)`` reads it in, for rows read otherwise (an unload in parts): whether row
    /// `a` comes before `b` (text compared by bytes, integers as numbers).
    public func before(_ a: [String], _ b: [String]) -> Bool {
        let keys: [(Int, Bool)] =  // (column, numeric)
            switch self {
            case .plan: [(0, false), (1, false), (4, true)]
            case .summary: [(0, false), (1, false), (2, false)]
            case .histogram: [(0, false), (1, true)]
            case .kept, .offenders: [(0, false), (1, false), (3, true), (4, true), (2, false)]
            case .caps: [(0, false), (1, false)]
            }
        for (column, numeric) in keys {
            let (x, y) = (a[column], b[column])
            if numeric, let i = Int64(x), let j = Int64(y) {
                if i != j { return i < j }
            } else if !ByteOrder.equal(x, y) {
                return ByteOrder.less(x, y)
            }
        }
        return false
    }

    /// The query that reads it from `schema`, ordered.
    public func query(schema: String, dialect: SQLDialect) -> String {
        func b(_ c: String) -> String { dialect.sql.bytes(c) }
        let order: String
        switch self {
        case .plan: order = "\(b("segment_id")), \(b("type")), rank"
        case .summary: order = "metric, \(b("type")), reason"
        case .histogram: order = "\(b("type")), counted"
        case .kept, .offenders: order = "\(b("segment_id")), \(b("type")), first_seen, seq, \(b("value"))"
        case .caps: order = "cap, \(b("profile"))"
        }
        return "SELECT * FROM \(schema).\(rawValue) ORDER BY \(order)"
    }
}

/// An engine that could not compute the plan: one line naming what and where.
public struct EngineError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for a person.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
