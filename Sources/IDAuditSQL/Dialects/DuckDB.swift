/// DuckDB.
package struct DuckDB: Dialect {
    package init() {}

    package var displayName: String { "DuckDB" }
    package var text: String { "VARCHAR" }

    /// Pieces joined by `||` with `chr(code point)` between them (its literals are standard: no backslash escapes).
    package func literal(_ value: String) -> String {
        Literal.concatenated(value, chr: "chr", backslashEscapes: false)
    }

    package func floorDiv(_ a: String, _ b: String) -> String { "((\(a) - \(pmod(a, b))) // \(b))" }

    package var sessionSetup: [String] { ["SET TimeZone = 'UTC'"] }
    package func quotient(_ a: String, _ b: String) -> String { "((\(a)) // (\(b)))" }
    package var nowMicros: String { "epoch_us(CURRENT_TIMESTAMP)" }
    package func isoSeconds(_ seconds: String) -> String {
        "strftime(make_timestamp(\(seconds) * 1000000), '%Y-%m-%dT%H:%M:%S')"
    }

    package func search(_ value: String, _ pattern: String) -> String { "regexp_matches(\(value), \(pattern))" }
    package func fail(_ message: String) -> String { "error(\(message))" }

    package func resultTable(_ table: String, _ select: String) -> [String] {
        ["CREATE OR REPLACE TABLE \(table) AS\n\(select)"]
    }

    /// The fold: `list_reduce` over each group's candidates as structs.
    package func windowedEvictions(_ fold: WindowFold) -> String {
        LambdaSpelling(
            lambda: { "lambda \($0.joined(separator: ", ")): \($1)" },
            filter: { "list_filter(\($0), \($1))" },
            append: { "list_append(\($0), \($1))" },
            size: { "len(\($0))" },
            field: { "\($0).\($1)" },
            firstNumber: { "list_filter(\($0), \($1))[1].n" },
            accumulator: { "{'k': \($0), 'e': \($1)}" },
            choose: { "CASE WHEN \($0)\n        THEN \($1)\n        ELSE \($2) END" },
            candidates: "list({'n': cpos, 't': first_seen, 'p': prot = 1, 'w': w, 'l': lim} ORDER BY cpos)",
            empty: "{'k': CAST([] AS STRUCT(n BIGINT, t BIGINT, p BOOLEAN, w BIGINT, l BIGINT)[]), 'e': CAST([] AS BIGINT[])}",
            reduce: { "list_reduce(\($0),\n        \($2),\n        \($1)).e" },
            explode: { "SELECT profile, type, UNNEST(evicted) AS cpos FROM (\n\($0)\n) AS folded" }
        ).evictions(fold)
    }
}
