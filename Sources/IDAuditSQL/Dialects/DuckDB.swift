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
        let element = "STRUCT(n BIGINT, t BIGINT, p BOOLEAN, w BIGINT, l BIGINT)"
        let win = "list_filter(list_append(acc.k, x), lambda e: e.t > x.t - x.w)"
        let victim = "list_filter(\(win), lambda e: NOT e.p)[1].n"
        return """
            SELECT profile, type, UNNEST(evicted) AS cpos FROM (
                SELECT profile, type, list_reduce(
                    list({'n': cpos, 't': first_seen, 'p': prot = 1, 'w': w, 'l': lim} ORDER BY cpos),
                    lambda acc, x: CASE WHEN len(\(win)) > x.l AND \(victim) IS NOT NULL
                        THEN {'k': list_filter(\(win), lambda e: e.n <> \(victim)), 'e': list_append(acc.e, \(victim))}
                        ELSE {'k': \(win), 'e': acc.e} END,
                    {'k': CAST([] AS \(element)[]), 'e': CAST([] AS BIGINT[])}
                ).e AS evicted
                \(fold.groups)
            ) AS folded
            """
    }
}
