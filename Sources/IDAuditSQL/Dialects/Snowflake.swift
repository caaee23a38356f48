/// Snowflake.
package struct Snowflake: Dialect {
    package init() {}

    package var displayName: String { "Snowflake" }
    package var text: String { "VARCHAR" }

    /// Pieces joined by `||` with `CHR(code point)` between them; its literals also read backslash escapes, so its
    /// backslashes are doubled.
    package func literal(_ value: String) -> String {
        Literal.concatenated(value, chr: "CHR", backslashEscapes: true)
    }

    package func column(_ name: String) -> String { "\"\(name.uppercased())\"" }

    /// Snowflake turns a timestamp column into text with the session's output format, milliseconds by default: the
    /// script reads times as text, so the formats keep every digit.
    package var sessionSetup: [String] {
        [
            "ALTER SESSION SET TIMEZONE = 'UTC'",
            "ALTER SESSION SET TIMESTAMP_OUTPUT_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZHTZM'",
            "ALTER SESSION SET TIMESTAMP_TZ_OUTPUT_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZHTZM'",
            "ALTER SESSION SET TIMESTAMP_LTZ_OUTPUT_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZHTZM'",
            "ALTER SESSION SET TIMESTAMP_NTZ_OUTPUT_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9'",
        ]
    }
    package func position(of needle: String, in haystack: String) -> String { "CHARINDEX(\(needle), \(haystack))" }
    package func quotient(_ a: String, _ b: String) -> String { "FLOOR((\(a)) / (\(b)))" }
    package var nowMicros: String { "DATE_PART(epoch_microsecond, CURRENT_TIMESTAMP())" }
    package func isoSeconds(_ seconds: String) -> String {
        "TO_CHAR(TO_TIMESTAMP_NTZ(\(seconds), 0), 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    }

    package func search(_ value: String, _ pattern: String) -> String { "(REGEXP_INSTR(\(value), \(pattern)) > 0)" }
    /// No error function: a conversion that cannot succeed carries the message into the engine's error.
    package func fail(_ message: String) -> String { "TO_NUMBER(\(message))" }

    package func temporaryTable(_ name: String, _ select: String) -> [String] {
        ["CREATE OR REPLACE TEMPORARY TABLE \(name) AS\n\(select)"]
    }
    package func resultTable(_ table: String, _ select: String) -> [String] {
        ["CREATE OR REPLACE TABLE \(table) AS\n\(select)"]
    }
    /// Snowflake commits each DDL statement.
    package var transaction: (begin: String, commit: String)? { nil }

    /// The fold: `REDUCE` over each group's candidates as objects.
    package func windowedEvictions(_ fold: WindowFold) -> String {
        LambdaSpelling(
            lambda: { $0.count == 1 ? "\($0[0]) -> \($1)" : "(\($0.joined(separator: ", "))) -> \($1)" },
            filter: { "FILTER(\($0), \($1))" },
            append: { "ARRAY_APPEND(\($0), \($1))" },
            size: { "ARRAY_SIZE(\($0))" },
            field: { record, name in
                switch name {
                case "k", "e": "\(record):\(name)"
                case "p": "\(record):p::BOOLEAN"
                default: "\(record):\(name)::NUMBER"
                }
            },
            firstNumber: { "FILTER(\($0), \($1))[0]:n::NUMBER" },
            accumulator: { "OBJECT_CONSTRUCT('k', \($0), 'e', \($1))" },
            choose: { "IFF(\($0),\n        \($1),\n        \($2))" },
            candidates: """
                ARRAY_AGG(OBJECT_CONSTRUCT('n', cpos, 't', first_seen, 'p', prot = 1, 'w', w, 'l', lim))
                        WITHIN GROUP (ORDER BY cpos)
                """,
            empty: "OBJECT_CONSTRUCT('k', ARRAY_CONSTRUCT(), 'e', ARRAY_CONSTRUCT())",
            reduce: { "REDUCE(\($0),\n        \($1),\n        \($2)):e" },
            explode: { "SELECT f.profile, f.type, v.value::NUMBER AS cpos FROM (\n\($0)\n) AS f, LATERAL FLATTEN(input => f.evicted) AS v" }
        ).evictions(fold)
    }
}
