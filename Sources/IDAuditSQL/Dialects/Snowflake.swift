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
        let win = "FILTER(ARRAY_APPEND(acc:k, x), e -> e:t::NUMBER > x:t::NUMBER - x:w::NUMBER)"
        let victim = "FILTER(\(win), e -> NOT e:p::BOOLEAN)[0]:n::NUMBER"
        return """
            SELECT f.profile, f.type, v.value::NUMBER AS cpos FROM (
                SELECT profile, type, REDUCE(
                    ARRAY_AGG(OBJECT_CONSTRUCT('n', cpos, 't', first_seen, 'p', prot = 1, 'w', w, 'l', lim))
                        WITHIN GROUP (ORDER BY cpos),
                    OBJECT_CONSTRUCT('k', ARRAY_CONSTRUCT(), 'e', ARRAY_CONSTRUCT()),
                    (acc, x) -> IFF(ARRAY_SIZE(\(win)) > x:l::NUMBER AND \(victim) IS NOT NULL,
                        OBJECT_CONSTRUCT('k', FILTER(\(win), e -> e:n::NUMBER <> \(victim)),
                            'e', ARRAY_APPEND(acc:e, \(victim))),
                        OBJECT_CONSTRUCT('k', \(win), 'e', acc:e))):e AS evicted
                \(fold.groups)
            ) AS f, LATERAL FLATTEN(input => f.evicted) AS v
            """
    }
}
