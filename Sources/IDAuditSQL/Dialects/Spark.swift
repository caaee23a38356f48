/// Spark SQL (Databricks).
package struct Spark: Dialect {
    package init() {}

    package var displayName: String { "Spark SQL (Databricks)" }
    package var text: String { "STRING" }

    /// Spark's `\uXXXX` is a UTF-16 unit: a pair for a supplementary character.
    package func literal(_ value: String) -> String {
        Literal.escaped(value, quote: "\\'") { String($0).utf16.map { "\\u" + Literal.hex(UInt32($0), 4) }.joined() }
    }

    package func column(_ name: String) -> String { "`\(name)`" }
    package func pmod(_ a: String, _ b: String) -> String { "pmod(\(a), \(b))" }
    package func floorDiv(_ a: String, _ b: String) -> String { "((\(a) - \(pmod(a, b))) div \(b))" }

    /// ANSI mode, so a cast or arithmetic that cannot be done stops the run rather than give NULL (Spark 4's default;
    /// Spark 3's was off).
    package var sessionSetup: [String] { ["SET spark.sql.session.timeZone = UTC", "SET spark.sql.ansi.enabled = true"] }
    package func position(of needle: String, in haystack: String) -> String { "instr(\(haystack), \(needle))" }
    package func trimLeadingZeros(_ text: String) -> String { "TRIM(LEADING '0' FROM \(text))" }
    package func quotient(_ a: String, _ b: String) -> String { "((\(a)) div (\(b)))" }
    package var nowMicros: String { "unix_micros(current_timestamp())" }
    package func isoSeconds(_ seconds: String) -> String {
        "date_format(timestamp_seconds(\(seconds)), \"yyyy-MM-dd'T'HH:mm:ss\")"
    }

    /// Java's `$` also matches before a final line terminator: `\z` is the end of the text.
    package var endAnchor: String { "\\z" }
    package func search(_ value: String, _ pattern: String) -> String { "(\(value) RLIKE \(pattern))" }
    package func fail(_ message: String) -> String { "raise_error(\(message))" }

    /// Spark's cached views keep their whole lineage, and the merge rounds (each reading the previous round twice)
    /// would make it grow exponentially; a table written and read back starts afresh. Work tables are dropped at the
    /// end.
    package var usesWorkTables: Bool { true }
    package func temporaryTable(_ name: String, _ select: String) -> [String] {
        ["DROP TABLE IF EXISTS \(name)", "CREATE TABLE \(name) AS\n\(select)"]
    }
    /// Spark has no transactions.
    package var transaction: (begin: String, commit: String)? { nil }

    /// The fold: `aggregate` over each group's candidates as structs.
    package func windowedEvictions(_ fold: WindowFold) -> String {
        LambdaSpelling(
            lambda: { $0.count == 1 ? "\($0[0]) -> \($1)" : "(\($0.joined(separator: ", "))) -> \($1)" },
            filter: { "filter(\($0), \($1))" },
            append: { "concat(\($0), array(\($1)))" },
            size: { "size(\($0))" },
            field: { "\($0).\($1)" },
            firstNumber: { "aggregate(filter(\($0), \($1)), CAST(NULL AS BIGINT), (v, e) -> coalesce(v, e.n))" },
            accumulator: { "named_struct('k', \($0), 'e', \($1))" },
            choose: { "CASE WHEN \($0)\n        THEN \($1)\n        ELSE \($2) END" },
            candidates: """
                array_sort(collect_list(named_struct('n', CAST(cpos AS BIGINT), 't', first_seen, 'p', prot = 1,
                        'w', w, 'l', CAST(lim AS BIGINT))))
                """,
            empty: """
                named_struct('k', CAST(array() AS ARRAY<STRUCT<n: BIGINT, t: BIGINT, p: BOOLEAN, w: BIGINT, \
                l: BIGINT>>), 'e', CAST(array() AS ARRAY<BIGINT>))
                """,
            reduce: { "aggregate(\($0),\n        \($1),\n        \($2),\n        acc -> acc.e)" },
            explode: { "SELECT profile, type, explode(evicted) AS cpos FROM (\n\($0)\n) AS folded" }
        ).evictions(fold)
    }
}
