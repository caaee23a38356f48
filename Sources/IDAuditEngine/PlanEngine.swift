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

/// The plan script in the variants the source tables may call for: with or without `__operation` and
/// `received_at` (an engine checks which columns exist, then runs the matching variant).
public struct ScriptVariants: Sendable {
    /// The options they share.
    public let options: PlanScript.Options
    /// The variants, by ``key(hasOperation:hasReceivedAt:)``.
    public let variants: [String: [String]]
    /// The columns each source table must have.
    public static let requiredColumns: [String: [String]] = [
        "id_graph_updates": ["segment_id", "canonical_segment_id", "seq"],
        "external_id_mapping_updates": ["id", "segment_id", "external_id_type", "external_id_value", "seq", "timestamp"],
    ]

    /// Writes the four variants of the script for `rules`.
    public init(rules: RuleSet, options: PlanScript.Options) throws(PlanScriptError) {
        self.options = options
        var variants: [String: [String]] = [:]
        for operation in [true, false] {
            for receivedAt in [true, false] {
                var o = options
                o.hasOperation = operation
                o.hasReceivedAt = receivedAt
                variants[Self.key(hasOperation: operation, hasReceivedAt: receivedAt)] =
                    try PlanScript(rules: rules, options: o).statements
            }
        }
        self.variants = variants
    }

    /// The variant's key: `op+received`, `op`, `+received` or empty.
    public static func key(hasOperation: Bool, hasReceivedAt: Bool) -> String {
        (hasOperation ? "op" : "") + (hasReceivedAt ? "+received" : "")
    }

    /// The statements for the columns found.
    public func statements(hasOperation: Bool, hasReceivedAt: Bool) -> [String] {
        variants[Self.key(hasOperation: hasOperation, hasReceivedAt: hasReceivedAt)] ?? []
    }
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

    /// The query that reads it from `schema`, ordered.
    public func query(schema: String, dialect: SQLDialect) -> String {
        func b(_ c: String) -> String { dialect == .postgres ? "\(c) COLLATE \"C\"" : c }
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
